/**
 * The training pipeline: labelled table → features (leakage guard) → grouped stratified split → preprocessing
 * fitted on the training split → model → honest metrics on the test split → importance. Pure: no DB, no GraphQL.
 */
import { getModelSpec } from './catalog.js';
import { binaryTask, featureMatrix, selectFeatures, type LabeledTable } from './data/dataset.js';
import { groupedStratifiedSplit, type SplitSizes } from './data/split.js';
import { evaluate, jsonSafe, type Metrics } from './evaluate.js';
import { normaliseImportance, permutationImportance } from './explain/permutation.js';
import { sampleBackground } from './explain/shapley.js';
import { trainerFor } from './models/registry.js';
import { fitPreprocessor, type PreprocessorJSON } from './preprocess.js';
import { Random } from './random.js';
import { takeLabels, takeRows, throwIfAborted, type HistoryPoint, type Hyperparameters, type Matrix, type ModelTypeId, type SerializedModel, type StepProgress } from './types.js';

export type Task = 'THREE_CLASS' | 'BINARY';
export type Stage = 'QUEUED' | 'LOADING' | 'PREPROCESSING' | 'TRAINING' | 'EVALUATING' | 'EXPLAINING' | 'DONE';

export interface PipelineConfig {
  modelType: ModelTypeId;
  /** Validated and complete (catalog.validateHyperparameters). */
  hyperparameters: Hyperparameters;
  /** Null: the dataset's default (physics-only) features. */
  features: string[] | null;
  useVettingFeatures: boolean;
  task: Task;
  split: SplitSizes;
  seed: number;
}

export interface PipelineHooks {
  signal?: AbortSignal;
  /** Threads the model may use (random forest). */
  threads?: number;
  onStage?: (stage: Stage, message: string) => void;
  onStep?: (progress: StepProgress) => void;
}

export interface FeatureImportanceEntry {
  feature: string;
  /** The model's own importance (gain / impurity decrease / |weights|), normalised to sum 1. */
  importance: number;
  /** Macro-F1 drop on the test split when the feature is shuffled: mean and std over repeats. */
  permutationMean: number;
  permutationStd: number;
  /** Permutation importance normalised to sum 1 (negative drops count as 0). */
  permutationImportance: number;
}

/** Everything the prediction path needs, JSON-safe. */
export interface PipelineArtifact {
  formatVersion: 1;
  modelType: ModelTypeId;
  task: Task;
  classes: string[];
  features: string[];
  /** Every column of the training table: columns of it that are not features are ignored silently at prediction. */
  tableColumns: string[];
  labelColumn: string;
  idColumns: string[];
  mission: string | null;
  usesVettingFeatures: boolean;
  preprocessor: PreprocessorJSON;
  model: SerializedModel;
  /** A seeded sample of raw training rows (null = missing): the background of model-agnostic explanations. */
  background: (number | null)[][];
}

export interface SplitCounts {
  train: number;
  validation: number;
  test: number;
}

export interface PipelineResult {
  artifact: PipelineArtifact;
  features: string[];
  usesVettingFeatures: boolean;
  metrics: Metrics;
  featureImportance: FeatureImportanceEntry[];
  history: HistoryPoint[];
  splitCounts: SplitCounts;
  /** Test rows permutation importance was computed on (all of them unless the model predicts slowly). */
  permutationRows: number;
  timings: { preprocessSeconds: number; fitSeconds: number; evaluateSeconds: number; explainSeconds: number };
}

const BACKGROUND_ROWS = 64;
const PERMUTATION_REPEATS = 5;
const KERNEL_PERMUTATION_ROWS = 500;

/** `count` distinct row indices out of `total`, seeded, in ascending order. */
function seededSample(total: number, count: number, seed: number): Int32Array {
  const indices = Int32Array.from({ length: total }, (_, i) => i);
  new Random(seed).shuffle(indices);
  return indices.subarray(0, count).sort();
}

const seconds = (start: number) => (performance.now() - start) / 1000;

function matrixToRows(X: Matrix): (number | null)[][] {
  const rows: (number | null)[][] = [];
  for (let i = 0; i < X.rows; i++) {
    const row: (number | null)[] = [];
    for (let j = 0; j < X.cols; j++) {
      const v = X.data[i * X.cols + j];
      row.push(Number.isNaN(v) ? null : v);
    }
    rows.push(row);
  }
  return rows;
}

/** The table the task trains on: all classes, or planet vs false positive on dispositioned rows. */
export function taskTable(table: LabeledTable, task: Task): LabeledTable {
  return task === 'BINARY' ? binaryTask(table) : table;
}

export async function trainPipeline(table: LabeledTable, config: PipelineConfig, hooks: PipelineHooks = {}): Promise<PipelineResult> {
  const { signal } = hooks;
  const stage = (name: Stage, message: string) => hooks.onStage?.(name, message);
  const spec = getModelSpec(config.modelType);

  stage('PREPROCESSING', 'Selecting features and splitting by star');
  let started = performance.now();
  const data = taskTable(table, config.task);
  const { features, usesVettingFeatures } = selectFeatures(data, {
    features: config.features ?? undefined,
    useVettingFeatures: config.useVettingFeatures,
  });
  const X = featureMatrix(data, features);
  const split = groupedStratifiedSplit(data.labels, data.groups, data.classes.length, config.split, config.seed);
  const rawTrain = takeRows(X, split.train);
  const preprocessor = fitPreprocessor(rawTrain, spec.preprocessing);
  const Xtrain = preprocessor.transform(rawTrain);
  const ytrain = takeLabels(data.labels, split.train);
  const Xtest = preprocessor.transform(takeRows(X, split.test));
  const ytest = takeLabels(data.labels, split.test);
  const validation =
    split.validation.length > 0
      ? { X: preprocessor.transform(takeRows(X, split.validation)), y: takeLabels(data.labels, split.validation) }
      : undefined;
  const preprocessSeconds = seconds(started);
  throwIfAborted(signal);

  stage('TRAINING', `Training ${spec.name} on ${split.train.length} rows × ${features.length} features`);
  started = performance.now();
  const model = await trainerFor(config.modelType).fit(Xtrain, ytrain, data.classes.length, config.hyperparameters, {
    seed: config.seed,
    signal,
    onStep: hooks.onStep,
    validation,
    threads: hooks.threads ?? 1,
  });
  const fitSeconds = seconds(started);
  throwIfAborted(signal);

  stage('EVALUATING', `Evaluating on ${split.test.length} held-out rows`);
  started = performance.now();
  const proba = model.predictProba(Xtest);
  let majorityClass = 0;
  const trainCounts = new Array<number>(data.classes.length).fill(0);
  for (const label of ytrain) trainCounts[label]++;
  trainCounts.forEach((count, c) => {
    if (count > trainCounts[majorityClass]) majorityClass = c;
  });
  const metrics = evaluate(ytest, proba, data.classes, { majorityClass });
  const evaluateSeconds = seconds(started);
  throwIfAborted(signal);

  stage('EXPLAINING', 'Computing feature importance');
  started = performance.now();
  const own = model.featureImportance();
  // Permutation importance costs features × repeats predictions of the test split; a kernel SVM predicts slowly
  // (every support vector per row), so it gets a seeded subsample. A fixed cap, not a time budget, keeps runs
  // reproducible.
  const permutationCap = spec.family === 'kernel' ? KERNEL_PERMUTATION_ROWS : Infinity;
  const sample = Xtest.rows > permutationCap ? seededSample(Xtest.rows, permutationCap, config.seed) : null;
  const Xperm = sample ? takeRows(Xtest, sample) : Xtest;
  const yperm = sample ? takeLabels(ytest, sample) : ytest;
  const permutation = permutationImportance((M) => model.predictProba(M), Xperm, yperm, data.classes.length, {
    repeats: PERMUTATION_REPEATS,
    seed: config.seed,
    signal,
  });
  const permutationShare = normaliseImportance(permutation.mean);
  const featureImportance = features
    .map((feature, j) => ({
      feature,
      importance: own[j] ?? 0,
      permutationMean: permutation.mean[j],
      permutationStd: permutation.std[j],
      permutationImportance: permutationShare[j],
    }))
    .sort((a, b) => b.importance - a.importance || b.permutationImportance - a.permutationImportance);
  const explainSeconds = seconds(started);

  const artifact: PipelineArtifact = {
    formatVersion: 1,
    modelType: config.modelType,
    task: config.task,
    classes: data.classes,
    features,
    tableColumns: data.table.columns,
    labelColumn: data.labelColumn,
    idColumns: data.idColumns,
    mission: data.source.kind === 'nasa' ? data.source.mission : null,
    usesVettingFeatures,
    preprocessor: preprocessor.toJSON(),
    model: model.toJSON(),
    background: matrixToRows(sampleBackground(rawTrain, config.seed, BACKGROUND_ROWS)),
  };
  return {
    artifact,
    features,
    usesVettingFeatures,
    metrics: jsonSafe(metrics) as unknown as Metrics,
    featureImportance: jsonSafe(featureImportance) as unknown as FeatureImportanceEntry[],
    history: jsonSafe(model.history()) as unknown as HistoryPoint[],
    splitCounts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    permutationRows: Xperm.rows,
    timings: { preprocessSeconds, fitSeconds, evaluateSeconds, explainSeconds },
  };
}
