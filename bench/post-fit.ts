/**
 * `npm run bench:post-fit`: where the time after fitting goes (issue 17 goal 4: everything after fitting ≤ 25 % of
 * the fit), step by step, for each model type, on bench:scale's seeded synthetic table. In this process, without
 * the server: the pipeline's own stages (evaluation, importance, packing the artefact) and what the training thread
 * hands to the server afterwards (the binary artefact gzipped as src/ml/worker.ts does — the run's packSeconds —, the
 * result structured-cloned and the held-out test predictions' JSON, serialised by the training thread — both part of
 * its handOffSeconds —, and the run row's JSON, which the server writes to SQLite or PostgreSQL).
 * Starting a training thread comes before the fit and is not here (bench:scale's `start s`).
 * CPU time of this thread per step, steadier than wall time under load; the load average is printed beside.
 * `--repeat n` trains every model n times in this one process: run 1 is cold (a fresh training thread's first run:
 * bench:scale's case), later runs show the same steps with their code optimised, so the two tell apart the work
 * and the JIT's warm-up (at 10,000 rows most of a linear model's after-fit time is the latter).
 *
 * `--threads 2` trains as the service does on two cores: tree ensembles then evaluate and permute on the prediction
 * helper too, and the `thread s` columns show the training thread's own CPU (Linux, 10 ms ticks), what the step takes
 * on a quiet machine; the artefact is gzipped as the training thread does (gzipArtifactParts, two members at once
 * when large), its wall time beside.
 *
 * `--warm-up` first runs the training thread's JIT warm-up (src/ml/warm-up.ts, what the server's kept training thread
 * runs before its first task), so run 1 is the first run the service gives a warmed thread; its CPU is printed.
 *
 *   npm run bench:post-fit -- [--rows 50000] [--models logistic_regression,pca,…] [--repeat 1] [--threads 1] [--warm-up]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeArtifactParts, gzipArtifactParts } from '../src/ml/artifact.js';
import { defaultHyperparameters, MODEL_TYPE_IDS } from '../src/ml/catalog.js';
import { loadDataLocation } from '../src/ml/data/location.js';
import { DEFAULT_SPLIT_SIZES } from '../src/ml/data/split.js';
import { heldOutForStorage, trainPipeline, type Stage } from '../src/ml/pipeline.js';
import { warmUp } from '../src/ml/warm-up.js';
import type { ModelTypeId } from '../src/ml/types.js';
import { writeSyntheticCsv } from './synthetic.js';

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return (at === -1 ? undefined : process.argv[at + 1]) ?? fallback;
}

const rows = Number(argument('rows', '50000'));
const wanted = argument('models', 'logistic_regression,pca,decision_tree,random_forest,xgboost');
const models = wanted.split(',').filter((m): m is ModelTypeId => (MODEL_TYPE_IDS as readonly string[]).includes(m));
const repeat = Math.max(1, Number(argument('repeat', '1')));
const threads = Number(argument('threads', '1'));
const GOAL = 0.25;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-bench-post-fit-'));
const file = path.join(dir, `synthetic-${rows}.csv`);
writeSyntheticCsv(file, rows);
const table = await loadDataLocation({ kind: 'upload', path: file, labelColumn: 'label' });
const load = () => os.loadavg()[0].toFixed(1);
/** CPU seconds of this process since `from` (training runs in this thread here). */
const cpu = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};
/** CPU seconds of this thread so far (user + system ticks of /proc/thread-self/stat), or NaN off Linux. */
const threadCpu = (): number => {
  try {
    const fields = fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
};

console.log(
  `bench:post-fit — ${rows.toLocaleString('en')} rows × 20 features, ${os.cpus().length} cores, Node ${process.version}, ${threads} thread(s); ` +
    `CPU seconds per step (load average beside each model); goal: after fitting ≤ ${GOAL * 100}% of the fit\n`,
);
if (process.argv.includes('--warm-up')) {
  const started = process.cpuUsage();
  const warmed = await warmUp(new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)));
  console.log(`warm-up: ${warmed} model families, ${cpu(started).toFixed(2)} CPU s (load ${load()})\n`);
}
const table_: Record<string, string>[] = [];
for (let run = 1; run <= repeat; run++)
  for (const modelType of models) {
    const marks: { stage: Stage | 'END'; cpu: NodeJS.CpuUsage; thread: number }[] = [];
    const result = await trainPipeline(
      table,
      {
        modelType,
        hyperparameters: defaultHyperparameters(modelType),
        features: null,
        useVettingFeatures: false,
        task: 'THREE_CLASS',
        split: DEFAULT_SPLIT_SIZES,
        seed: 42,
      },
      {
        threads,
        onStage: (stage) => marks.push({ stage, cpu: process.cpuUsage(), thread: threadCpu() }),
      },
    );
    marks.push({ stage: 'END', cpu: process.cpuUsage(), thread: threadCpu() });
    const step = (stage: Stage) => {
      const at = marks.findIndex((m) => m.stage === stage);
      if (at === -1 || at + 1 >= marks.length) return 0;
      return cpu(marks[at].cpu) - cpu(marks[at + 1].cpu);
    };
    /** The training thread's own CPU in a stage (with --threads 2 the helper's share is not in it). */
    const threadStep = (stage: Stage) => {
      const at = marks.findIndex((m) => m.stage === stage);
      return at === -1 || at + 1 >= marks.length ? 0 : marks[at + 1].thread - marks[at].thread;
    };
    // What the worker does next (src/ml/worker.ts) and what crosses to the server.
    let started = process.cpuUsage();
    const packStarted = performance.now();
    const gzipped = await gzipArtifactParts(encodeArtifactParts(result.artifact), () => undefined);
    const packSeconds = cpu(started);
    const packWallSeconds = (performance.now() - packStarted) / 1000;
    const { artifact: _artifact, heldOut, ...rest } = result;
    // The held-out predictions go to their own table (test_predictions) as the training thread serialises them
    // (heldOutForStorage: JSON text as UTF-8 bytes, which the server stores as is, and the probabilities binary).
    started = process.cpuUsage();
    const testPredictions = heldOutForStorage(heldOut);
    const testPredictionsSeconds = cpu(started);
    started = process.cpuUsage();
    const cloned = structuredClone({ ...rest, heldOut: testPredictions });
    const cloneSeconds = cpu(started);
    // The run row's JSON (metrics, importance, explanation).
    started = process.cpuUsage();
    const details = JSON.stringify({
      metrics: cloned.metrics,
      featureImportance: cloned.featureImportance,
      explanation: cloned.explanation,
    });
    const detailsSeconds = cpu(started);
    const fit = step('TRAINING');
    const evaluate = step('EVALUATING');
    // The artefact (model JSON, background) is built at the end of the EXPLAINING stage.
    const explain = step('EXPLAINING');
    const after = evaluate + explain + packSeconds + cloneSeconds + detailsSeconds + testPredictionsSeconds;
    table_.push({
      model: modelType,
      ...(repeat > 1 ? { run: String(run) } : {}),
      load: load(),
      'fit CPU s': fit.toFixed(2),
      'evaluate s': evaluate.toFixed(3),
      'evaluate thread s': threadStep('EVALUATING').toFixed(2),
      'importance + artefact s': explain.toFixed(3),
      'importance thread s': threadStep('EXPLAINING').toFixed(2),
      'encode + gzip s': packSeconds.toFixed(3),
      'encode + gzip wall s': packWallSeconds.toFixed(3),
      'clone to server s': cloneSeconds.toFixed(3),
      'run row JSON s': detailsSeconds.toFixed(3),
      'test preds serialise s': testPredictionsSeconds.toFixed(3),
      'model MB gz': (gzipped.byteLength / 1e6).toFixed(2),
      'run row MB': (details.length / 1e6).toFixed(2),
      'test preds MB': ((testPredictions.json.byteLength + testPredictions.proba.byteLength) / 1e6).toFixed(2),
      'after fit / fit': `${((after / Math.max(fit, 1e-9)) * 100).toFixed(0)}% ${after <= GOAL * fit ? '✓' : '✗'}`,
      permutation: `${result.explanation.permutation.method} ${result.explanation.permutation.rowsPerRepeat} rows × ${result.explanation.permutation.repeats}`,
    });
  }
console.table(table_);
fs.rmSync(dir, { recursive: true, force: true });
