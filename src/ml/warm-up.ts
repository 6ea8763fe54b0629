/**
 * A training thread's JIT warm-up (src/services/worker-pool.ts runs it on a fresh training thread before its first
 * task): the hot code of loading, fitting, evaluating, permuting and packing, run once per model family on a tiny
 * seeded table, so a run's first fit and after-fit steps run optimised code (cold, a 10,000-row logistic regression's
 * fit + evaluation + importance took 0.21 s against 0.04 s warm; a boosting fit at 20,000 rows 1.02 CPU s against
 * 0.48). Nothing it builds is kept: its results are thrown away, and models are seeded, so no run's result changes.
 */
import { availableParallelism } from 'node:os';
import { encodeArtifactParts, gzipArtifactParts } from './artifact.js';
import { defaultHyperparameters } from './catalog.js';
import { ColumnTable } from './data/columns.js';
import { customLabeledTable } from './data/dataset.js';
import { DEFAULT_SPLIT_SIZES } from './data/split.js';
import { HALVED_BUILD_MIN_ROWS } from './models/trees/grow-gradient.js';
import { xgboostTrainer } from './models/trees/index.js';
import { syntheticCsv } from './data/synthetic-table.js';
import { evaluate } from './evaluate.js';
import { linearPermutationImportance } from './explain/linear-permutation.js';
import { loadModel } from './models/registry.js';
import { trainPipeline } from './pipeline.js';
import { Random } from './random.js';
import type { Hyperparameters, Matrix, ModelTypeId, TrainedClassifier } from './types.js';

/** Rows of the warm-up table: enough loop iterations for V8 to optimise the hot loops, each step tens of ms cold. */
const WARM_UP_ROWS = 400;

/**
 * Rows of a test-split-sized warm-up of the evaluation: the warm-up table's 80 test rows leave its loops cold, and a
 * 200,000-row run's first evaluation of 40,000 rows then took ~0.13–0.15 CPU s against ~0.03 s after this (load ~12;
 * bench:scale's logistic regression: evaluate 0.117 s for a 0.22 s fit). Costs ~0.1 CPU s more per warm-up.
 */
const WARM_UP_TEST_ROWS = 6_000;

/** The tree families, whose evaluation walks a test split through every tree (warmUpTreePredict). */
const TREE_MODELS: ReadonlySet<ModelTypeId> = new Set(['decision_tree', 'random_forest', 'xgboost']);

/**
 * Rows per predict call of warmUpTreePredict: the warm-up ensembles' few trees × these stay below
 * PARALLEL_PREDICT_MIN_WORK, so the warm-up never starts the prediction helper thread.
 */
const WARM_UP_PREDICT_SLICE = 1_000;

/** The families warmed, smallest first; the ensembles with few trees (their per-tree code is what gets optimised). */
const WARM_UP_MODELS: readonly { modelType: ModelTypeId; hyperparameters?: Hyperparameters }[] = [
  { modelType: 'logistic_regression' },
  { modelType: 'pca' },
  { modelType: 'decision_tree' },
  { modelType: 'random_forest', hyperparameters: { n_estimators: 8 } },
  { modelType: 'xgboost', hyperparameters: { n_estimators: 8 } },
];

/** A small synthetic table (bench:scale's kind) as CSV bytes. */
function warmUpCsv(): Uint8Array {
  return new TextEncoder().encode([...syntheticCsv(WARM_UP_ROWS)].join(''));
}

/** Thrown from the pipeline's progress hooks to end a warm-up a real task is waiting for. */
class WarmUpStopped extends Error {}

/**
 * Runs the warm-up, one model family at a time, and ends early once `stop[0]` is set, which the pool does when a real
 * task arrives: the flag is read at every progress step of the pipeline (a tree, a round, an epoch, a feature) and
 * between families. Answers how many families it warmed.
 */
export async function warmUp(stop: Int32Array): Promise<number> {
  const stopped = () => Atomics.load(stop, 0) !== 0;
  const check = () => {
    if (stopped()) throw new WarmUpStopped();
  };
  if (stopped()) return 0;
  const table = customLabeledTable(await ColumnTable.readBytes(warmUpCsv()), 'label');
  let warmed = 0;
  for (const { modelType, hyperparameters } of WARM_UP_MODELS) {
    // A macrotask between families: the stop flag is read after whatever else the thread has to do.
    await new Promise((resolve) => setImmediate(resolve));
    if (stopped()) break;
    let result: Awaited<ReturnType<typeof trainPipeline>>;
    try {
      result = await trainPipeline(
        table,
        {
          modelType,
          hyperparameters: { ...defaultHyperparameters(modelType), ...hyperparameters },
          features: null,
          useVettingFeatures: false,
          task: 'THREE_CLASS',
          split: DEFAULT_SPLIT_SIZES,
          seed: 1,
        },
        { threads: 1, onStage: check, onStep: check, onStageStep: check },
      );
    } catch (error) {
      if (error instanceof WarmUpStopped) break;
      throw error;
    }
    await gzipArtifactParts(encodeArtifactParts(result.artifact), () => undefined);
    if (TREE_MODELS.has(modelType)) warmUpTreePredict(await loadModel(result.artifact.model), result.features.length);
    warmed++;
  }
  await new Promise((resolve) => setImmediate(resolve));
  try {
    if (!stopped() && availableParallelism() >= 2) await warmUpBoosting(check);
  } catch (error) {
    if (!(error instanceof WarmUpStopped)) throw error;
  }
  await new Promise((resolve) => setImmediate(resolve));
  if (!stopped()) warmUpTestSplit(stopped);
  return warmed;
}

/**
 * WARM_UP_TEST_ROWS seeded rows (5 % missing) predicted by a warm-up tree model. The warm-up table's 80 test rows
 * left the tree walks cold: a 50,000-row boosting run's first evaluation (10,000 rows, 100 trees) then took
 * 0.08-0.09 CPU s of this thread against ~0.02 s warm (bench:post-fit's table, load 9-15).
 */
function warmUpTreePredict(model: TrainedClassifier, cols: number): void {
  const random = new Random(2);
  const slice: Matrix = { rows: WARM_UP_PREDICT_SLICE, cols, data: new Float64Array(WARM_UP_PREDICT_SLICE * cols) };
  for (let i = 0; i < slice.data.length; i++) slice.data[i] = random.next() < 0.05 ? Number.NaN : 4 * random.next() - 2;
  for (let done = 0; done < WARM_UP_TEST_ROWS; done += WARM_UP_PREDICT_SLICE) model.predictProba(slice);
}

/** Features of the test-split-sized warm-up of the linear permutation. */
const WARM_UP_FEATURES = 20;

/**
 * evaluate() and a linear model's sampled permutation importance on WARM_UP_TEST_ROWS seeded rows of two and of three
 * classes, checking the stop flag between them. The warm-up table's 80 test rows are below the permutation's row
 * sample, so its sampled path (the stratified draws, the gathering) stayed cold for a run's first linear model.
 */
function warmUpTestSplit(stopped: () => boolean): void {
  const random = new Random(1);
  for (const k of [2, 3]) {
    if (stopped()) return;
    const y = Int32Array.from({ length: WARM_UP_TEST_ROWS }, () => random.int(k));
    const proba = new Float64Array(WARM_UP_TEST_ROWS * k);
    for (let i = 0; i < WARM_UP_TEST_ROWS; i++) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += proba[i * k + c] = random.next() + (c === y[i] ? 0.5 : 0);
      for (let c = 0; c < k; c++) proba[i * k + c] /= sum;
    }
    evaluate(
      y,
      proba,
      Array.from({ length: k }, (_, c) => `class ${c}`),
      { majorityClass: 0 },
    );
    if (stopped()) return;
    const outputs = k === 2 ? 1 : k;
    const X = {
      rows: WARM_UP_TEST_ROWS,
      cols: WARM_UP_FEATURES,
      data: new Float64Array(WARM_UP_TEST_ROWS * WARM_UP_FEATURES),
    };
    // A stream of its own: the evaluation's rows stay those drawn before.
    const draws = new Random(k);
    for (let i = 0; i < X.data.length; i++) X.data[i] = draws.next() - 0.5;
    const weights = Float64Array.from({ length: outputs * WARM_UP_FEATURES }, () => draws.next() - 0.5);
    linearPermutationImportance({ outputs, weights, intercept: new Float64Array(outputs) }, X, y, k, {
      seed: 1,
      rowsPerRepeat: WARM_UP_TEST_ROWS / 3,
      baselineProba: proba,
    });
  }
}

/** Rows of the two-thread boosting warm-up: its top nodes build their histograms in halves, as a large run's do. */
const WARM_UP_BOOSTING_ROWS = 3 * HALVED_BUILD_MIN_ROWS;

/** Its rounds: enough calls for V8 to optimise the growing thread's large `grow` and `boost` before a run's fit. */
const WARM_UP_BOOSTING_ROUNDS = 60;

/**
 * A two-thread boosting fit on seeded rows (2 classes, 0.5 % missing, a validation split tracked each round, as a
 * run's fit): the families above fit on one thread and 280 rows, below the helper's and the halved builds' row
 * thresholds, so a run's first boosting fit compiled its growing code (TurboFan, on V8's background threads, beside
 * the fit's two) and met a helper thread started cold. The helper stays, idle and warmed, for the run's fit
 * (grow-helper.ts keeps it).
 */
async function warmUpBoosting(check: () => void): Promise<void> {
  const random = new Random(3);
  const rowsOf = (rows: number) => {
    const data = new Float64Array(rows * WARM_UP_FEATURES);
    const y = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const row = i * WARM_UP_FEATURES;
      for (let j = 0; j < WARM_UP_FEATURES; j++)
        data[row + j] = random.next() < 0.005 ? Number.NaN : 2 * random.next() - 1;
      y[i] = data[row] + 0.5 * data[row + 1] * data[row + 2] + 0.3 * random.next() > 0.1 ? 1 : 0;
    }
    return { X: { rows, cols: WARM_UP_FEATURES, data }, y };
  };
  const { X, y } = rowsOf(WARM_UP_BOOSTING_ROWS);
  const validation = rowsOf(Math.ceil(WARM_UP_BOOSTING_ROWS / 7));
  const hyperparameters = { ...defaultHyperparameters('xgboost'), n_estimators: WARM_UP_BOOSTING_ROUNDS };
  // The pipeline's options, in its order (the same object shape at the call sites V8 optimises).
  await xgboostTrainer.fit(X, y, 2, hyperparameters, {
    seed: 1,
    signal: undefined,
    onStep: check,
    validation,
    threads: 2,
  });
}
