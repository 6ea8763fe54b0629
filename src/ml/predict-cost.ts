/**
 * What a `predict` call costs the thread that answers it, estimated before it runs, so the service can answer cheap
 * calls on the event loop and send the rest to the inference worker (hardening issue 12: five parallel 1,000-row SVM
 * predicts stalled `health` for 1.8 s). Work is counted from the model's structure, the unit costs were measured with
 * CPU time on Kepler (2-core EPYC, Node 20, a loaded machine) and rounded up, so an estimate that errs sends a
 * call to the worker rather than a stall to the loop. Measured against estimated: logistic regression load 0.7 / 0.7
 * ms, 1,000 rows 3.9 / 4.5 ms; RBF SVM (0.78 MB stored) load 24 / 55 ms, 1,000 rows 323 / 420 ms; random forest of
 * 100 trees (2.34 MB stored) load 146 / 164 ms, 1,000 rows 8.5 / 12 ms.
 */
import { getModelSpec } from './catalog.js';
import { SvmClassifier } from './models/svm/model.js';
import { treeEnsembleOf } from './models/trees/index.js';
import type { Predictor } from './predictor.js';

/** µs per cell of a row read by `parseRows` (each key given plus each model feature). */
export const PARSE_MICROS_PER_CELL = 0.05;
/** µs per tree node visited on a row's way to its leaf (cache misses included) and per leaf value added. */
export const TREE_MICROS_PER_NODE = 0.006;
/** µs per support vector × feature (one multiply-add of the kernel's dot product; the exp is counted per vector). */
export const SVM_MICROS_PER_CELL = 0.0025;
export const SVM_MICROS_PER_VECTOR = 0.03;
/** µs per weight of the other models (linear, PCA + logistic regression). */
export const DENSE_MICROS_PER_WEIGHT = 0.005;
/** Fixed cost of a call (preprocessing set-up, result objects). */
export const CALL_MICROS = 20;
/** µs per stored (gzipped) byte to turn an artefact into a predictor on the thread: inflate, JSON.parse, checks. */
export const LOAD_MICROS_PER_GZIP_BYTE = 0.07;

/** Per-row cost of a loaded predictor, memoised (a forest's node count is one pass over its covers). */
const perRowMemo = new WeakMap<Predictor, number>();

/** Expected internal nodes a row visits in one tree: Σ cover(internal) / cover(root) (cover = training rows). */
function expectedSplits(cover: Float64Array, feature: Int32Array): number {
  const root = cover[0];
  if (!(root > 0)) return Math.log2(feature.length + 1); // no cover stored: a balanced tree's depth
  let visits = 0;
  for (let node = 0; node < feature.length; node++) if (feature[node] >= 0) visits += cover[node];
  return visits / root;
}

/** Estimated µs to predict one row with `predictor` (parsing included); Infinity for neural networks (worker only). */
export function predictMicrosPerRow(predictor: Predictor): number {
  const memo = perRowMemo.get(predictor);
  if (memo !== undefined) return memo;
  const { model } = predictor;
  const parse = PARSE_MICROS_PER_CELL * (predictor.features.length + predictor.artifact.tableColumns.length);
  let work: number;
  const ensemble = treeEnsembleOf(model);
  if (getModelSpec(model.modelType).family === 'neural') {
    // TensorFlow.js is never loaded on the event loop (~75 MB for good): src/services/predictions.ts.
    work = Infinity;
  } else if (ensemble) {
    work = 0;
    for (const tree of ensemble.trees)
      work += TREE_MICROS_PER_NODE * (expectedSplits(tree.cover, tree.feature) + tree.valueWidth);
  } else if (model instanceof SvmClassifier) {
    const vectors = model.numSupportVectors;
    work = vectors * (SVM_MICROS_PER_CELL * model.numFeatures + SVM_MICROS_PER_VECTOR);
  } else {
    work = DENSE_MICROS_PER_WEIGHT * model.numFeatures * Math.max(model.numClasses, model.numFeatures);
  }
  const perRow = parse + work;
  perRowMemo.set(predictor, perRow);
  return perRow;
}

/** Estimated µs of a `predict` call of `rows` rows with a predictor already loaded on the thread. */
export function predictMicros(predictor: Predictor, rows: number): number {
  return CALL_MICROS + rows * predictMicrosPerRow(predictor);
}

/** Estimated µs to load a predictor from its stored artefact of `gzipBytes` on the thread that will use it. */
export function loadMicros(gzipBytes: number): number {
  return LOAD_MICROS_PER_GZIP_BYTE * gzipBytes;
}
