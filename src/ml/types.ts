/**
 * Shared types of the pure ML layer. Nothing here imports GraphQL, services or the DB.
 */
import type { ModelParams } from './catalog/params.js';

/** The fixed class order of the NASA missions (design §2). Custom datasets keep their own sorted labels. */
export const NASA_CLASSES = ['false_positive', 'candidate', 'planet'] as const;
export type NasaClass = (typeof NASA_CLASSES)[number];

/** Row-major dense float64 matrix; `NaN` marks a missing value. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export type ModelTypeId =
  | 'random_forest'
  | 'xgboost'
  | 'neural_network'
  | 'logistic_regression'
  | 'decision_tree'
  | 'svm'
  | 'pca'
  | 'soft_voting';
/** Model types fitted on rows (soft_voting is built from other runs' stored models instead). */
export type FittedModelTypeId = Exclude<ModelTypeId, 'soft_voting'>;

/** The typed parameters of any model (catalog/params.ts). */
export type AnyModelParams = ModelParams[ModelTypeId];

/** `string[]`: run ids (soft_voting `members`). */
export type HyperparameterValue = number | string | boolean | number[] | string[] | null;
export type Hyperparameters = Record<string, HyperparameterValue>;

/** One step of training: a tree, a boosting round or an epoch. */
export interface StepProgress {
  step: number;
  totalSteps: number;
  /** Training loss where the model has one (log loss, cross-entropy). */
  loss?: number;
  /** Loss on the validation split. */
  valLoss?: number;
  /** Accuracy on the validation split. */
  valAccuracy?: number;
  message?: string;
  /**
   * How far into step `step + 1` the model is, 0..1 (a long epoch reports its batches): `step` stays the whole
   * steps done, an integer, and the share of the fit is `stepShare`.
   */
  partial?: number;
}

/** The share of a fit's steps done, 0..1, counting the step under way by its `partial`. */
export function stepShare(progress: Pick<StepProgress, 'step' | 'totalSteps' | 'partial'>): number {
  if (!(progress.totalSteps > 0)) return 0;
  const raw = progress.partial ?? 0;
  const partial = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
  return Math.min(1, Math.max(0, (progress.step + partial) / progress.totalSteps));
}

export interface HistoryPoint {
  step: number;
  loss?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface FitOptions {
  /** Same seed + same data + same params ⇒ identical model. */
  seed: number;
  /** Checked between steps: a trainer throws `AbortError` (see `throwIfAborted`) soon after it fires. */
  signal?: AbortSignal;
  /** Called after every step; the caller throttles what it forwards. */
  onStep?: (progress: StepProgress) => void;
  /** Validation split, for early stopping and history. */
  validation?: { X: Matrix; y: Int32Array };
  /** Threads a trainer may use (random forest trees in parallel). Default 1. */
  threads?: number;
}

/** JSON-safe serialised model; `modelType` and `formatVersion` identify the loader. */
export interface SerializedModel {
  modelType: ModelTypeId;
  formatVersion: number;
  /** The full parameters the model was trained with (absent in models saved before they were stored). */
  params?: AnyModelParams;
  [key: string]: unknown;
}

export interface TrainedClassifier {
  readonly modelType: ModelTypeId;
  readonly numClasses: number;
  readonly numFeatures: number;
  /** The full parameters it was trained with, under the catalog's names; saved with the model. */
  readonly params: AnyModelParams;
  /** rows × numClasses, row-major; each row sums to 1. */
  predictProba(X: Matrix): Float64Array;
  /** The model's own importance per feature (gain/impurity, |weights|), ≥ 0, normalised to sum 1. */
  featureImportance(): Float64Array;
  /** Loss / validation metric per step, for the loss curve. */
  history(): HistoryPoint[];
  /** Serialise; `load(toJSON())` gives bit-identical probabilities. */
  toJSON(): SerializedModel;
}

export interface ModelTrainer {
  readonly modelType: ModelTypeId;
  /**
   * `params`: raw or already resolved hyperparameters. The catalog checks them (an unknown name or a bad value is a
   * BAD_USER_INPUT AppError) and fills defaults; the model receives them typed (models/define.ts).
   */
  fit(
    X: Matrix,
    y: Int32Array,
    numClasses: number,
    params: Hyperparameters,
    options: FitOptions,
  ): Promise<TrainedClassifier>;
  load(json: SerializedModel): Promise<TrainedClassifier>;
}

export function matrix(rows: number, cols: number, data?: Float64Array): Matrix {
  const values = data ?? new Float64Array(rows * cols);
  if (values.length !== rows * cols)
    throw new RangeError(`matrix data has ${values.length} values, expected ${rows}×${cols}`);
  return { rows, cols, data: values };
}

/** Copies the chosen rows of `X` into a new matrix. */
export function takeRows(X: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float64Array(indices.length * X.cols);
  for (let i = 0; i < indices.length; i++) {
    const start = indices[i] * X.cols;
    out.set(X.data.subarray(start, start + X.cols), i * X.cols);
  }
  return { rows: indices.length, cols: X.cols, data: out };
}

export function takeLabels(y: Int32Array, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = y[indices[i]];
  return out;
}

export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'Training was cancelled.') {
    super(message);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}
