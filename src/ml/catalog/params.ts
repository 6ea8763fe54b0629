/**
 * The typed parameters each trainer receives. They come only from here: `resolveParams` validates raw input through
 * the catalog (coercion, bounds, defaults), `storedParams` reads back what a saved model was trained with. Trainers
 * never coerce or default a parameter themselves.
 */
import type { HyperparameterValue, Hyperparameters, ModelTypeId } from '../types.js';
import {
  ACTIVATIONS,
  GAMMA_WORDS,
  MAX_FEATURES,
  OOF_WEIGHTS,
  SVM_KERNELS,
  TREE_CRITERIA,
  cloneValue,
  defaultHyperparameters,
  getModelSpec,
} from './specs.js';
import { validateHyperparameters } from './validate.js';

export type TreeCriterion = (typeof TREE_CRITERIA)[number];
export type MaxFeatures = (typeof MAX_FEATURES)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type SvmKernel = (typeof SVM_KERNELS)[number];
export type GammaWord = (typeof GAMMA_WORDS)[number];

export interface DecisionTreeParams {
  /** null: grow until leaves are pure or too small. */
  max_depth: number | null;
  min_samples_split: number;
  min_samples_leaf: number;
  criterion: TreeCriterion;
}

export interface RandomForestParams extends DecisionTreeParams {
  n_estimators: number;
  max_features: MaxFeatures;
  bootstrap: boolean;
}

export interface XgboostParams {
  n_estimators: number;
  max_depth: number;
  learning_rate: number;
  reg_lambda: number;
  reg_alpha: number;
  gamma: number;
  min_child_weight: number;
  subsample: number;
  colsample_bytree: number;
  /** null: train every round. */
  early_stopping_rounds: number | null;
  max_bin: number;
}

export interface NeuralNetworkParams {
  hidden_layers: number[];
  activation: Activation;
  dropout_rate: number;
  batch_norm: boolean;
  learning_rate: number;
  epochs: number;
  batch_size: number;
  /** L2 penalty on the kernels, scikit-learn's `alpha`. */
  alpha: number;
  /** 0: no early stopping. */
  early_stopping_patience: number;
  /** Smallest loss decrease that counts as an improvement for early stopping (scikit-learn's `tol`). */
  tol: number;
}

export interface LogisticRegressionParams {
  C: number;
  max_iter: number;
}

export interface SvmParams {
  C: number;
  kernel: SvmKernel;
  gamma: number | GammaWord;
  degree: number;
  coef0: number;
  max_train_rows: number;
}

export interface PcaParams extends LogisticRegressionParams {
  /** A share of variance in (0, 1), or a whole number of components ≥ 1. */
  n_components: number;
}

export interface SoftVotingParams {
  /** Run ids, 2–10 (checked against the runs when a run starts). */
  members: string[];
  /** One per member; null: equal; 'oof': fitted on the members' out-of-fold predictions. */
  weights: number[] | typeof OOF_WEIGHTS | null;
}

/** Model type id → the parameters its trainer receives. */
export interface ModelParams {
  random_forest: RandomForestParams;
  xgboost: XgboostParams;
  neural_network: NeuralNetworkParams;
  logistic_regression: LogisticRegressionParams;
  decision_tree: DecisionTreeParams;
  svm: SvmParams;
  pca: PcaParams;
  soft_voting: SoftVotingParams;
}

export type ParamsOf<M extends ModelTypeId> = ModelParams[M];

// Typed reads of a complete, checked parameter set. A wrong type here is a bug or a corrupt stored model, never
// user input (the catalog has refused that already): it throws a TypeError instead of guessing.

function wrongType(name: string, expected: string, value: unknown): never {
  throw new TypeError(
    `hyperparameter ${name}: expected ${expected}, got ${Array.isArray(value) ? 'a list' : typeof value}`,
  );
}

function num(v: Hyperparameters, name: string): number {
  const value = v[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : wrongType(name, 'a number', value);
}

function numOrNull(v: Hyperparameters, name: string): number | null {
  return v[name] === null ? null : num(v, name);
}

function bool(v: Hyperparameters, name: string): boolean {
  const value = v[name];
  return typeof value === 'boolean' ? value : wrongType(name, 'true or false', value);
}

function oneOf<T extends string>(v: Hyperparameters, name: string, words: readonly T[]): T {
  const value = v[name];
  return words.find((w) => w === value) ?? wrongType(name, `one of ${words.join(', ')}`, value);
}

function ints(v: Hyperparameters, name: string): number[] {
  const value = v[name];
  return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isInteger(item))
    ? value.filter((item) => typeof item === 'number')
    : wrongType(name, 'a list of integers', value);
}

function strings(v: Hyperparameters, name: string): string[] {
  const value = v[name];
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
    ? value.filter((item) => typeof item === 'string')
    : wrongType(name, 'a list of run ids', value);
}

function weights(v: Hyperparameters, name: string): number[] | typeof OOF_WEIGHTS | null {
  const value = v[name];
  if (value === null || value === OOF_WEIGHTS) return value;
  return Array.isArray(value) && value.every((item) => typeof item === 'number')
    ? value.filter((item) => typeof item === 'number')
    : wrongType(name, `a list of numbers, '${OOF_WEIGHTS}' or null`, value);
}

function isParamValue(value: unknown): value is HyperparameterValue {
  if (Array.isArray(value))
    return value.every((item) => typeof item === 'number') || value.every((item) => typeof item === 'string');
  return value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}

function decisionTree(v: Hyperparameters): DecisionTreeParams {
  return {
    max_depth: numOrNull(v, 'max_depth'),
    min_samples_split: num(v, 'min_samples_split'),
    min_samples_leaf: num(v, 'min_samples_leaf'),
    criterion: oneOf(v, 'criterion', TREE_CRITERIA),
  };
}

function logistic(v: Hyperparameters): LogisticRegressionParams {
  return { C: num(v, 'C'), max_iter: num(v, 'max_iter') };
}

const READERS: { [M in ModelTypeId]: (v: Hyperparameters) => ModelParams[M] } = {
  random_forest: (v) => ({
    n_estimators: num(v, 'n_estimators'),
    ...decisionTree(v),
    max_features: oneOf(v, 'max_features', MAX_FEATURES),
    bootstrap: bool(v, 'bootstrap'),
  }),
  xgboost: (v) => ({
    n_estimators: num(v, 'n_estimators'),
    max_depth: num(v, 'max_depth'),
    learning_rate: num(v, 'learning_rate'),
    reg_lambda: num(v, 'reg_lambda'),
    reg_alpha: num(v, 'reg_alpha'),
    gamma: num(v, 'gamma'),
    min_child_weight: num(v, 'min_child_weight'),
    subsample: num(v, 'subsample'),
    colsample_bytree: num(v, 'colsample_bytree'),
    early_stopping_rounds: numOrNull(v, 'early_stopping_rounds'),
    max_bin: num(v, 'max_bin'),
  }),
  neural_network: (v) => ({
    hidden_layers: ints(v, 'hidden_layers'),
    activation: oneOf(v, 'activation', ACTIVATIONS),
    dropout_rate: num(v, 'dropout_rate'),
    batch_norm: bool(v, 'batch_norm'),
    learning_rate: num(v, 'learning_rate'),
    epochs: num(v, 'epochs'),
    batch_size: num(v, 'batch_size'),
    alpha: num(v, 'alpha'),
    early_stopping_patience: num(v, 'early_stopping_patience'),
    tol: num(v, 'tol'),
  }),
  logistic_regression: logistic,
  decision_tree: decisionTree,
  svm: (v) => ({
    C: num(v, 'C'),
    kernel: oneOf(v, 'kernel', SVM_KERNELS),
    gamma: typeof v.gamma === 'string' ? oneOf(v, 'gamma', GAMMA_WORDS) : num(v, 'gamma'),
    degree: num(v, 'degree'),
    coef0: num(v, 'coef0'),
    max_train_rows: num(v, 'max_train_rows'),
  }),
  pca: (v) => ({ n_components: num(v, 'n_components'), ...logistic(v) }),
  soft_voting: (v) => ({ members: strings(v, 'members'), weights: weights(v, 'weights') }),
};

/**
 * The parameters to train with: `raw` (user input, a form's strings, or an already resolved set) checked by the
 * catalog, defaults filled. Unknown names and bad values are refused here, as BAD_USER_INPUT AppErrors.
 */
export function resolveParams<M extends ModelTypeId>(modelType: M, raw: unknown): ModelParams[M] {
  return READERS[modelType](validateHyperparameters(modelType, raw));
}

/**
 * The parameters a saved model was trained with, exactly as stored: no coercion and no bounds (a catalog change
 * must not alter or refuse a stored model). Models saved before they stored their full parameters lack some or all
 * of them: those are the catalog's defaults (the defaults they were trained with, unless a default changed since).
 * Names the catalog does not know (older formats stored engine settings too) are ignored.
 */
export function storedParams<M extends ModelTypeId>(modelType: M, stored: unknown): ModelParams[M] {
  const values = defaultHyperparameters(modelType);
  if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) {
    const record = stored as Record<string, unknown>;
    for (const spec of getModelSpec(modelType).hyperparameters) {
      const value = record[spec.name];
      if (value === undefined) continue;
      values[spec.name] = isParamValue(value) ? cloneValue(value) : wrongType(spec.name, 'a parameter value', value);
    }
  }
  return READERS[modelType](values);
}
