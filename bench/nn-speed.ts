/**
 * neural_network fit speed against scikit-learn's MLPClassifier, side by side in one run, on the identical
 * Kepler training matrix (30 physics columns, imputed + standardised; synthetic blobs of the same size when the
 * NASA folder is absent). Both sides: same hidden layers, batch 32, Adam lr 0.001, no dropout, no early stopping,
 * the same number of epochs. Seconds per epoch = fit time / epochs (includes warm-up, both sides); ratios are to
 * scikit-learn, by wall time and by the process's CPU time (steadier when other jobs share the cores).
 *
 * Run: node --import tsx bench/nn-speed.ts [epochs]
 * NN_BEFORE=/path/to/other/neural.ts adds a row for another build of the trainer (before/after comparisons).
 * Timings are wall-clock single runs on a shared 2-core machine: noisy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { neuralNetworkTrainer } from '../src/ml/models/neural/index.js';
import { initTensorflow } from '../src/ml/models/tf-backend.js';
import type { Hyperparameters, ModelTrainer } from '../src/ml/types.js';
import { gaussianBlobs, KEPLER_PHYSICS_30, loadKepler, macroF1, type Dataset } from '../test/unit/models-fixtures.js';

const epochs = Math.max(1, Number(process.argv[2] ?? 10));
const synthetic = process.env.BENCH_SYNTHETIC === '1';
const { train, test }: { train: Dataset; test: Dataset } = synthetic
  ? { train: gaussianBlobs(1, 6700, 30, 3, 1), test: gaussianBlobs(2, 2900, 30, 3, 1) }
  : loadKepler(KEPLER_PHYSICS_30);
const { backend, tf } = await initTensorflow();
const simd = backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : false;
const threads = backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') : false;
console.log(
  `data: ${synthetic ? 'synthetic' : 'Kepler KOI'} ${train.X.rows}×${train.X.cols} train, ${test.X.rows} test; ` +
    `TF.js backend ${backend} (SIMD ${String(simd)}, threads ${String(threads)}); ${epochs} epochs, batch 32`,
);

const architectures = [
  [64, 32],
  [128, 64, 32],
];
interface Timing {
  seconds: number;
  /** CPU seconds of the process: steadier than wall time when other jobs share the cores. */
  cpu: number;
  f1: number;
}

// ---- scikit-learn on the exported matrices ------------------------------------------------------------------
const PYTHON = '/usr/bin/python3';
const sklearnSeconds = new Map<string, Timing>();
const folder = mkdtempSync(path.join(tmpdir(), 'nn-speed-'));
try {
  const toCsv = (d: Dataset): string => {
    const lines: string[] = [];
    for (let i = 0; i < d.X.rows; i++)
      lines.push([...d.X.data.subarray(i * d.X.cols, (i + 1) * d.X.cols), d.y[i]].join(','));
    return lines.join('\n') + '\n';
  };
  writeFileSync(path.join(folder, 'train.csv'), toCsv(train));
  writeFileSync(path.join(folder, 'test.csv'), toCsv(test));
  const script = `
import json, sys, time, warnings
import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.metrics import f1_score
warnings.filterwarnings('ignore')
tr = np.loadtxt(sys.argv[1] + '/train.csv', delimiter=','); te = np.loadtxt(sys.argv[1] + '/test.csv', delimiter=',')
out = {}
for hidden in json.loads(sys.argv[3]):
    clf = MLPClassifier(tuple(hidden), batch_size=32, learning_rate_init=0.001, max_iter=int(sys.argv[2]),
                        n_iter_no_change=10**6, tol=0, random_state=42)
    t = time.perf_counter(); c = time.process_time(); clf.fit(tr[:, :-1], tr[:, -1].astype(int))
    s = time.perf_counter() - t; cpu = time.process_time() - c
    out[','.join(map(str, hidden))] = [s, cpu, f1_score(te[:, -1].astype(int), clf.predict(te[:, :-1]), average='macro')]
print(json.dumps(out))
`;
  if (!existsSync(PYTHON)) {
    console.log(`scikit-learn reference skipped: ${PYTHON} not found`);
  } else {
    const run = spawnSync(PYTHON, ['-c', script, folder, String(epochs), JSON.stringify(architectures)], {
      encoding: 'utf8',
    });
    if (run.status !== 0) console.log(`scikit-learn reference skipped: ${run.stderr.trim().split('\n').at(-1)}`);
    else
      for (const [key, [seconds, cpu, f1]] of Object.entries(
        JSON.parse(run.stdout) as Record<string, [number, number, number]>,
      ))
        sklearnSeconds.set(key, { seconds, cpu, f1 });
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}

// ---- ours ------------------------------------------------------------------------------------------------------
async function fitSeconds(trainer: ModelTrainer, params: Hyperparameters): Promise<Timing> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const model = await trainer.fit(train.X, train.y, 3, params, { seed: 42 });
  const seconds = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpuStart);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
  const f1 = macroF1(model.predictProba(test.X), test.y, 3);
  (model as { dispose?: () => void }).dispose?.();
  return { seconds, cpu, f1 };
}

const trainers: [string, ModelTrainer][] = [['ours', neuralNetworkTrainer]];
if (process.env.NN_BEFORE) {
  const other = (await import(path.resolve(process.env.NN_BEFORE))) as { neuralNetworkTrainer: ModelTrainer };
  trainers.unshift(['ours (NN_BEFORE)', other.neuralNetworkTrainer]);
}

const rows: string[][] = [
  ['network', 'implementation', 'fit s', 's/epoch', 'ratio', 'CPU s/epoch', 'CPU ratio', 'macro-F1'],
];
const cells = (t: Timing, reference: Timing | undefined): string[] => [
  t.seconds.toFixed(2),
  (t.seconds / epochs).toFixed(3),
  reference ? (t.seconds / reference.seconds).toFixed(2) : '–',
  (t.cpu / epochs).toFixed(3),
  reference ? (t.cpu / reference.cpu).toFixed(2) : '–',
  t.f1.toFixed(4),
];
for (const hidden of architectures) {
  const key = hidden.join(',');
  const reference = sklearnSeconds.get(key);
  const label = `[${key}]`;
  if (reference) rows.push([label, 'sklearn MLPClassifier', ...cells(reference, reference)]);
  for (const [name, trainer] of trainers) {
    for (const dropout of [0, 0.2]) {
      const params: Hyperparameters = {
        hidden_layers: hidden,
        epochs,
        batch_size: 32,
        learning_rate: 0.001,
        dropout_rate: dropout,
        early_stopping_patience: 0,
      };
      const result = await fitSeconds(trainer, params);
      rows.push([label, `${name}${dropout > 0 ? ` dropout ${dropout}` : ''}`, ...cells(result, reference)]);
    }
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows)
  console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
