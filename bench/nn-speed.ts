/**
 * `npm run bench:nn-speed`: the neural network against scikit-learn's MLPClassifier on the same settings, side by
 * side in one run, on the identical Kepler training matrix (30 physics columns, imputed + standardised; synthetic
 * blobs of the same size when the NASA folder is absent). Speed issue 16 goal 4: over the seeds, the mean macro-F1
 * within 0.005 of scikit-learn's and fit time ≤ 1.5× (✓/✗ beside each).
 *
 * Goal rows (both sides, every seed = random_state): hidden (64, 32), ReLU, Adam lr 0.001, batch 32, alpha 1e-4
 * (scikit-learn's default L2), no dropout or batch norm (it has neither), every epoch run (no early stopping:
 * n_iter_no_change = epochs there); 3 classes (softmax), and Kepler as 2 classes (false positive vs the rest: one
 * logistic output unit on both sides). Information rows, ours only, one seed: our default dropout 0.2 and the
 * catalog's default layers [128, 64, 32].
 * Times: fit only, median over the seeds, wall and the process's CPU time (steadier when other jobs share the
 * cores), and both per epoch; the ratio goal is on wall time, as measured on a quiet machine. The load average is
 * printed with them, and scikit-learn's BLAS (threadpoolctl: library, kernel, threads; one thread here, as ours).
 * Then where a batch's time goes in our loop (MlpEngine.profile): median µs per phase over the batches of a few
 * epochs of the 3-class goal network.
 *
 *   node --import tsx bench/nn-speed.ts [--seeds 5] [--epochs 50] [--no-reference]
 * NN_BEFORE=/path/to/other/neural/index.ts adds rows for another build of the trainer (before/after comparisons).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { resolveParams } from '../src/ml/catalog.js';
import { BATCH_PHASES, type BatchPhase } from '../src/ml/models/neural/engine.js';
import { buildModel, engineFromModel, neuralNetworkTrainer } from '../src/ml/models/neural/index.js';
import { Random } from '../src/ml/random.js';
import { initTensorflow } from '../src/ml/models/tf-backend.js';
import type { Hyperparameters, ModelTrainer } from '../src/ml/types.js';
import { gaussianBlobs, KEPLER_PHYSICS_30, loadKepler, macroF1, type Dataset } from '../test/unit/models-fixtures.js';
import { median } from './stats.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Math.max(1, Number(process.argv[at + 1]));
}
const numSeeds = flag('seeds', 5);
const epochs = flag('epochs', 50);
const seeds = Array.from({ length: numSeeds }, (_, i) => 42 + i);
const wantReference = !process.argv.includes('--no-reference');
const F1_TOLERANCE = 0.005;
const SPEED_GOAL = 1.5;

const synthetic = process.env.BENCH_SYNTHETIC === '1';
const kepler: { train: Dataset; test: Dataset } = synthetic
  ? { train: gaussianBlobs(1, 6700, 30, 3, 1), test: gaussianBlobs(2, 2900, 30, 3, 1) }
  : loadKepler(KEPLER_PHYSICS_30);
/** Kepler as two classes: false positive (0) vs candidate or confirmed planet (1). */
const binary = (d: Dataset): Dataset => ({ X: d.X, y: d.y.map((label) => (label === 0 ? 0 : 1)), numClasses: 2 });
const tasks: { name: string; train: Dataset; test: Dataset }[] = [
  { name: '3 classes', ...kepler },
  { name: '2 classes', train: binary(kepler.train), test: binary(kepler.test) },
];

const { backend } = await initTensorflow();
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `bench:nn-speed — ${synthetic ? 'synthetic' : 'Kepler KOI'} ${kepler.train.X.rows}×${kepler.train.X.cols} train, ` +
    `${kepler.test.X.rows} test; TF.js backend ${backend} (the training loop is plain TypeScript); ${epochs} epochs; ` +
    `seeds ${seeds.join(',')}; load average ${load()} on ${cpus().length} cores`,
);

interface Run {
  seconds: number;
  cpu: number;
  f1: number;
}
interface Reference {
  runs: Run[];
  /** threadpoolctl's view of the BLAS numpy calls, or why it is unknown. */
  blas: string;
}

// ---- scikit-learn ----------------------------------------------------------------------------------------------
const PYTHON = '/usr/bin/python3';
const SCRIPT = `
import json, sys, time, warnings
import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.metrics import f1_score
warnings.filterwarnings('ignore')
tr = np.loadtxt(sys.argv[1] + '/train.csv', delimiter=','); te = np.loadtxt(sys.argv[1] + '/test.csv', delimiter=',')
config = json.loads(sys.argv[2])
runs = []
for seed in config['seeds']:
    clf = MLPClassifier(tuple(config['hidden']), batch_size=config['batch'], learning_rate_init=config['lr'], alpha=config['alpha'],
                        max_iter=config['epochs'], n_iter_no_change=config['epochs'], random_state=seed)
    t = time.perf_counter(); c = time.process_time(); clf.fit(tr[:, :-1], tr[:, -1].astype(int))
    s = time.perf_counter() - t; cpu = time.process_time() - c
    runs.append({'seconds': s, 'cpu': cpu, 'f1': f1_score(te[:, -1].astype(int), clf.predict(te[:, :-1]), average='macro')})
try:
    from threadpoolctl import threadpool_info
    blas = '; '.join(f"{p['internal_api']} {p['version']} ({p.get('architecture', '?')}) {p['num_threads']} thread(s)"
                     for p in threadpool_info() if p['user_api'] == 'blas') or 'no BLAS found by threadpoolctl'
except ImportError:
    blas = 'unknown (no threadpoolctl)'
print(json.dumps({'runs': runs, 'blas': f"numpy {np.__version__}, {blas}"}))
`;

function reference(train: Dataset, test: Dataset, params: Hyperparameters): Reference | string {
  if (!wantReference) return '--no-reference';
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
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
    const config = {
      seeds,
      hidden: params.hidden_layers,
      batch: params.batch_size,
      lr: params.learning_rate,
      alpha: params.alpha,
      epochs,
    };
    const run = spawnSync(PYTHON, ['-c', SCRIPT, folder, JSON.stringify(config)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    });
    if (run.status !== 0) return run.stderr.trim().split('\n').at(-1) ?? 'failed';
    return JSON.parse(run.stdout) as Reference;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

// ---- ours ------------------------------------------------------------------------------------------------------
async function ours(trainer: ModelTrainer, train: Dataset, test: Dataset, params: Hyperparameters, seed: number) {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const model = await trainer.fit(train.X, train.y, train.numClasses, params, { seed });
  const seconds = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpuStart);
  const f1 = macroF1(model.predictProba(test.X), test.y, train.numClasses);
  (model as { dispose?: () => void }).dispose?.();
  return { seconds, cpu: (cpuUsed.user + cpuUsed.system) / 1e6, f1 };
}

const trainers: [string, ModelTrainer][] = [['ours', neuralNetworkTrainer]];
if (process.env.NN_BEFORE) {
  const other = (await import(path.resolve(process.env.NN_BEFORE))) as { neuralNetworkTrainer: ModelTrainer };
  trainers.unshift(['ours (NN_BEFORE)', other.neuralNetworkTrainer]);
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
const sd = (values: number[]) =>
  values.length < 2 ? 0 : Math.sqrt(values.reduce((s, v) => s + (v - mean(values)) ** 2, 0) / (values.length - 1));
/** Milliseconds per epoch of a fit's seconds (every epoch runs: no early stopping). */
const perEpoch = (seconds: number) => ((1000 * seconds) / epochs).toFixed(1);
const f1Cell = (runs: Run[]) => `${mean(runs.map((r) => r.f1)).toFixed(4)}±${sd(runs.map((r) => r.f1)).toFixed(4)}`;

const rows: string[][] = [
  [
    'task',
    'network',
    'implementation',
    'fit s',
    'CPU s',
    'ms/epoch',
    'CPU ms/epoch',
    'ratio',
    'CPU ratio',
    'speed ≤1.5×',
    'macro-F1',
    'ΔF1',
    'F1 ±0.005',
  ],
];
const shared: Hyperparameters = {
  epochs,
  batch_size: 32,
  learning_rate: 0.001,
  alpha: 0.0001,
  dropout_rate: 0,
  batch_norm: false,
  activation: 'relu',
  early_stopping_patience: 0,
};
for (const { name, train, test } of tasks) {
  const params: Hyperparameters = { ...shared, hidden_layers: [64, 32] };
  const theirs = reference(train, test, params);
  const refRuns = typeof theirs === 'string' ? null : theirs.runs;
  if (typeof theirs === 'string') console.log(`scikit-learn reference skipped (${theirs})`);
  else console.log(`${name}: scikit-learn on ${theirs.blas}`);
  if (refRuns)
    rows.push([
      name,
      '(64, 32)',
      'sklearn MLPClassifier',
      median(refRuns.map((r) => r.seconds)).toFixed(2),
      median(refRuns.map((r) => r.cpu)).toFixed(2),
      perEpoch(median(refRuns.map((r) => r.seconds))),
      perEpoch(median(refRuns.map((r) => r.cpu))),
      '',
      '',
      '',
      f1Cell(refRuns),
      '',
      '',
    ]);
  for (const [label, trainer] of trainers) {
    const runs: Run[] = [];
    for (const seed of seeds) runs.push(await ours(trainer, train, test, params, seed));
    const wall = median(runs.map((r) => r.seconds));
    const cpu = median(runs.map((r) => r.cpu));
    const row = [
      name,
      '(64, 32)',
      label,
      wall.toFixed(2),
      cpu.toFixed(2),
      perEpoch(wall),
      perEpoch(cpu),
      '–',
      '–',
      '',
      f1Cell(runs),
      '–',
      '',
    ];
    if (refRuns) {
      const ratio = wall / median(refRuns.map((r) => r.seconds));
      const delta = mean(runs.map((r) => r.f1)) - mean(refRuns.map((r) => r.f1));
      row[7] = `${ratio.toFixed(2)}×`;
      row[8] = `${(cpu / median(refRuns.map((r) => r.cpu))).toFixed(2)}×`;
      row[9] = ratio <= SPEED_GOAL ? '✓' : '✗';
      row[11] = `${delta >= 0 ? '+' : ''}${delta.toFixed(4)}`;
      row[12] = Math.abs(delta) <= F1_TOLERANCE ? '✓' : '✗';
    }
    rows.push(row);
  }
}
// Information: our extras and defaults, one seed.
const [first] = tasks;
for (const [label, extra] of [
  ['ours, dropout 0.2 (our default)', { hidden_layers: [64, 32], dropout_rate: 0.2 }],
  ['ours, [128, 64, 32] dropout 0.2 (catalog default layers)', { hidden_layers: [128, 64, 32], dropout_rate: 0.2 }],
] as [string, { hidden_layers: number[]; dropout_rate: number }][]) {
  const run = await ours(neuralNetworkTrainer, first.train, first.test, { ...shared, ...extra }, seeds[0]);
  rows.push([
    first.name,
    `(${extra.hidden_layers.join(', ')})`,
    `${label}, seed ${seeds[0]}`,
    run.seconds.toFixed(2),
    run.cpu.toFixed(2),
    perEpoch(run.seconds),
    perEpoch(run.cpu),
    '',
    '',
    '',
    run.f1.toFixed(4),
    '',
    '',
  ]);
}

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows)
  console.log(row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
console.log(
  `\nfit s / CPU s: median over ${seeds.length} seeds; macro-F1: mean±sd over the seeds; ratio = ours / scikit-learn; ` +
    `load average now ${load()}. scikit-learn: MLPClassifier(hidden, batch_size=32, learning_rate_init=0.001, alpha=1e-4, ` +
    `max_iter=${epochs}, n_iter_no_change=${epochs}, random_state=seed), one BLAS thread.`,
);

// ---- where a batch's time goes ---------------------------------------------------------------------------------
// The 3-class goal network trained by the engine itself (as the trainer does), a few epochs with the phase profile
// on; per phase the median over batches (a batch that lost the core to another process lands in the tail).
{
  const { tf } = await initTensorflow();
  const { X, y } = first.train;
  const p = resolveParams('neural_network', { ...shared, hidden_layers: [64, 32] });
  const model = buildModel(tf, X.cols, first.train.numClasses, p, seeds[0]);
  const engine = engineFromModel(model, p, X.cols, 1024, p.learning_rate);
  model.dispose();
  const profile = Object.fromEntries(BATCH_PHASES.map((phase) => [phase, 0])) as Record<BatchPhase, number>;
  const perBatch = new Map<BatchPhase, number[]>(BATCH_PHASES.map((phase) => [phase, []]));
  engine.profile = profile;
  const rng = new Random(seeds[0]);
  const order = Int32Array.from({ length: X.rows }, (_, i) => i);
  const cpuStart = process.cpuUsage();
  const profiledEpochs = 3;
  for (let epoch = 0; epoch < profiledEpochs; epoch++) {
    rng.shuffle(order);
    for (let from = 0; from < X.rows; from += p.batch_size) {
      for (const phase of BATCH_PHASES) profile[phase] = 0;
      engine.trainBatch(X, y, order, from, Math.min(p.batch_size, X.rows - from), rng);
      for (const phase of BATCH_PHASES) perBatch.get(phase)?.push(1000 * profile[phase]);
    }
  }
  const cpuUsed = process.cpuUsage(cpuStart);
  const medians = BATCH_PHASES.map((phase) => median(perBatch.get(phase) ?? [0]));
  const total = medians.reduce((s, v) => s + v, 0);
  const batches = Math.ceil(X.rows / p.batch_size);
  console.log(
    `\nOne batch of the 3-class goal network ((64, 32), batch ${p.batch_size}, ${X.cols} features), ${profiledEpochs} epochs ` +
      `profiled: median µs per phase over ${profiledEpochs * batches} batches (wall clock, load average ${load()})`,
  );
  BATCH_PHASES.forEach((phase, i) => {
    console.log(
      `  ${phase.padEnd(36)} ${medians[i].toFixed(1).padStart(7)} µs  ${((100 * medians[i]) / total).toFixed(1).padStart(5)} %`,
    );
  });
  console.log(
    `  ${'sum of the medians'.padEnd(36)} ${total.toFixed(1).padStart(7)} µs  = ${((total * batches) / 1000).toFixed(1)} ms per epoch; ` +
      `measured with the profile on: ${((cpuUsed.user + cpuUsed.system) / 1000 / profiledEpochs).toFixed(1)} CPU-ms per epoch`,
  );
}
