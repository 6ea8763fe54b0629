/**
 * A rough, deliberately optimistic estimate of a fit's single-thread CPU seconds from the data's shape and the
 * hyperparameters, so a configuration that cannot finish within the training time budget is refused when it is
 * configured, with the estimate, instead of holding a training slot until the budget stops it.
 *
 * The constants are per-unit CPU costs measured on Kepler (6,694 training rows × 30 features, 3 classes) with this
 * project's trainers and rounded down; each constant says what it came from. Early stopping, subsampling and depth limits only make a fit cheaper, so they are left out: an estimate
 * above the budget means the configuration can run past it at full length, never that it surely will.
 */
import { resolveParams, type ModelParams } from './catalog/params.js';
import type { ModelTypeId } from './types.js';

/** What a fit will see. */
export interface FitShape {
  /** Rows the model is fitted on (the training split). */
  rows: number;
  features: number;
  classes: number;
}

export interface FitCostEstimate {
  seconds: number;
  /** The few numbers that drive the estimate, in words: what to reduce. */
  drivers: string;
}

// The network's products run in a WebAssembly SIMD kernel (src/ml/models/neural/gemm.ts). Measured on Kepler's 30
// features, CPU time under a load average of 19 (so rounded down): (64, 32) at batch 32 0.035 CPU-s per epoch =
// 1.25e-9 s per row × weight, (256, 256) 0.37 s = 7.5e-10; at batch 1 every batch also walks every weight a few
// times whatever its rows (the Adam step, the kernel's transpose and gradient): 8.7e-9 s per row × weight for
// (256, 256) and 9.1e-9 for (64, 64), so batch 1 costs ~10× batch 32.
const NEURAL_SECONDS_PER_ROW_WEIGHT = 5e-10;
const NEURAL_SECONDS_PER_BATCH_WEIGHT = 7e-9;
// Boosting, depth 6, 50 rounds, 3 classes: 1.12 CPU-s = 6.1e-9 s per row × feature × tree × level.
const BOOSTING_SECONDS_PER_ROW_FEATURE_LEVEL = 6e-9;
// Random forest, 50 trees: 1.15 CPU-s with max_features sqrt, 1.12 s for 20 trees with all 30 features:
// 1.9e-8 to 2.6e-8 s per row × log2(rows) × (features tried + 5) per tree.
const FOREST_SECONDS_PER_UNIT = 1.9e-8;
// RBF SVM on 6,694 rows × 30 features, 3 classes one-vs-rest: 8.65 CPU-s = 6.4e-9 s per row² × feature.
const SVM_SECONDS_PER_ROW2_FEATURE = 5e-9;
// Logistic regression (and PCA + LR): 0.70 CPU-s on Kepler ≈ 1.2e-6 s per row × feature × class, all iterations.
const LINEAR_SECONDS_PER_ROW_FEATURE_CLASS = 1e-6;

/** Weights of a dense network with these hidden layers (biases included). */
function networkWeights(features: number, hidden: readonly number[], outputs: number): number {
  let weights = 0;
  let inputs = features;
  for (const units of [...hidden, outputs]) {
    weights += (inputs + 1) * units;
    inputs = units;
  }
  return weights;
}

function forestTreeCost(rows: number, tried: number): number {
  return rows * Math.log2(Math.max(2, rows)) * (tried + 5);
}

function featuresTried(maxFeatures: ModelParams['random_forest']['max_features'], features: number): number {
  switch (maxFeatures) {
    case 'sqrt':
      return Math.max(1, Math.floor(Math.sqrt(features)));
    case 'log2':
      return Math.max(1, Math.floor(Math.log2(features)));
    default:
      return features;
  }
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** A model type with the resolved hyperparameters its trainer receives (`resolveParams`). */
export type ResolvedModel = { [M in ModelTypeId]: { modelType: M; params: ModelParams[M] } }[ModelTypeId];

/** Resolves raw hyperparameters (BAD_USER_INPUT when invalid) into the typed pair `estimateFitCost` reads. */
export function resolveModel(modelType: ModelTypeId, raw: unknown): ResolvedModel {
  switch (modelType) {
    case 'random_forest':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'xgboost':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'neural_network':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'logistic_regression':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'decision_tree':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'svm':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'pca':
      return { modelType, params: resolveParams(modelType, raw) };
    case 'soft_voting':
      return { modelType, params: resolveParams(modelType, raw) };
  }
}

/** "about 3 h 20 min", "about 45 s": the scale a user decides by. */
export function describeSeconds(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  if (hours >= 48) return `about ${Math.round(seconds / 86400).toLocaleString('en-US')} days`;
  return `about ${hours} h ${Math.round((seconds - hours * 3600) / 60)} min`;
}

export function estimateFitCost(model: ResolvedModel, shape: FitShape): FitCostEstimate {
  const { rows, features, classes } = shape;
  // Two classes need one tree / one output column of scores; more need one per class.
  const perClass = classes <= 2 ? 1 : classes;
  switch (model.modelType) {
    case 'neural_network': {
      const p = model.params;
      const weights = networkWeights(features, p.hidden_layers, classes);
      const batches = Math.ceil(rows / p.batch_size);
      const perEpoch = (rows * NEURAL_SECONDS_PER_ROW_WEIGHT + batches * NEURAL_SECONDS_PER_BATCH_WEIGHT) * weights;
      return {
        seconds: p.epochs * perEpoch,
        drivers: `${count(p.epochs)} epochs × ${count(rows)} rows × ${count(weights)} weights (hidden_layers [${p.hidden_layers.join(', ')}]), batch_size ${p.batch_size}`,
      };
    }
    case 'xgboost': {
      const p = model.params;
      const trees = p.n_estimators * perClass;
      return {
        seconds: trees * rows * features * p.max_depth * BOOSTING_SECONDS_PER_ROW_FEATURE_LEVEL,
        drivers: `${count(p.n_estimators)} rounds${perClass > 1 ? ` × ${perClass} classes` : ''} × depth ${p.max_depth} × ${count(rows)} rows × ${features} features`,
      };
    }
    case 'random_forest': {
      const p = model.params;
      const tried = featuresTried(p.max_features, features);
      return {
        seconds: p.n_estimators * forestTreeCost(rows, tried) * FOREST_SECONDS_PER_UNIT,
        drivers: `${count(p.n_estimators)} trees × ${count(rows)} rows × ${tried} features tried per split`,
      };
    }
    case 'decision_tree':
      return {
        seconds: forestTreeCost(rows, features) * FOREST_SECONDS_PER_UNIT,
        drivers: `${count(rows)} rows × ${features} features`,
      };
    case 'svm': {
      const p = model.params;
      const fitted = Math.min(rows, p.max_train_rows);
      return {
        seconds: fitted * fitted * features * SVM_SECONDS_PER_ROW2_FEATURE,
        drivers: `${count(fitted)}² rows (max_train_rows ${count(p.max_train_rows)}) × ${features} features`,
      };
    }
    case 'soft_voting':
      // Nothing is fitted: the members' stored models predict the test split.
      return { seconds: 0, drivers: `${model.params.members.length} stored members, no fit` };
    default:
      return {
        seconds: rows * features * perClass * LINEAR_SECONDS_PER_ROW_FEATURE_CLASS,
        drivers: `${count(rows)} rows × ${features} features`,
      };
  }
}
