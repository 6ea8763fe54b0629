/**
 * The training pipeline: labelled table → features (leakage guard) → grouped stratified split → preprocessing
 * fitted on the training split → model → honest metrics on the test split → importance. Pure: no DB, no GraphQL.
 */
import { getModelSpec } from './catalog.js';
import { binaryTask, featureMatrix, selectFeatures, type LabeledTable } from './data/dataset.js';
import { checkedSplit, type SplitSizes } from './data/split.js';
import { evaluate, jsonSafe, plainNumbers, type Metrics } from './evaluate.js';
import { permutationImportance, type PermutationResult } from './explain/permutation.js';
import { hasLinearScores, linearPermutationImportance } from './explain/linear-permutation.js';
import { svmPermutationImportance } from './explain/svm-permutation.js';
import { SvmClassifier } from './models/svm/model.js';
import { sharesOfPositiveDrops } from './importance.js';
import { forestPathLength, forestPermutationImportance, type TreeSum } from './explain/tree-permutation.js';
import { ForestModel } from './models/trees/forest.js';
import { BoostedTreesModel } from './models/trees/boosting.js';
import type { PackedTrees } from './models/trees/structure.js';
import { predictThreads, startPredictHelper } from './models/trees/predict-parallel.js';
import { sampleBackground } from './explain/shapley.js';
import { trainerFor } from './models/registry.js';
import { badInput } from '../domain/errors.js';
import { fitPreprocessor, type PreprocessorJSON } from './preprocess.js';
import {
  applyCalibration,
  calibrationMeasures,
  fitCalibration,
  type CalibrationJSON,
  type CalibrationMeasures,
  type CalibrationMethod,
} from './selection/calibration.js';
import {
  scalarMetrics,
  type CvProgress,
  type FoldResult,
  type MetricSummary,
  type ScalarMetrics,
} from './selection/cross-validate.js';
import { crossValidateRun, rowIdsOf } from './selection/run-cv.js';
import { tuneDecision, type DecisionTuning, type DecisionTuningInfo } from './selection/decision-tuning.js';
import { evaluateCrossMission, type CrossMissionResult } from './selection/cross-mission.js';
import {
  takeLabels,
  takeRows,
  throwIfAborted,
  type HistoryPoint,
  type Hyperparameters,
  type Matrix,
  type ModelTypeId,
  type SerializedModel,
  type StepProgress,
  type TrainedClassifier,
} from './types.js';

import type { SplitCounts, Task } from '../domain/data.js';
import { DECISION_TUNING_NEEDS, type PipelineStage, type PostFitStage } from '../domain/run.js';
export type { PostFitStage, SplitCounts, Task };
/** The stages the pipeline reports (queue states belong to the run's status, src/domain/run.ts). */
export type Stage = PipelineStage;

export const CALIBRATE_ON = ['VALIDATION', 'OUT_OF_FOLD'] as const;
/** The held-out rows calibrators are fitted on: the validation split, or the cross-validation's out-of-fold rows. */
export type CalibrateOn = (typeof CALIBRATE_ON)[number];
export const REFIT_MODES = ['NONE', 'TRAIN_VALIDATION', 'ALL_LABELLED'] as const;
/** What the model used for predictions is refitted on after evaluation (NONE: the evaluated model). */
export type RefitMode = (typeof REFIT_MODES)[number];
export type { CalibrationMethod, DecisionTuning, DecisionTuningInfo };

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
  /** Model selection (issue 14); runs stored before it lack these (= off). Folds of cross-validation, 2–10. */
  cvFolds?: number | null;
  calibration?: CalibrationMethod | null;
  calibrateOn?: CalibrateOn | null;
  refit?: RefitMode | null;
  /** MACRO_F1: per-class scales fitted on out-of-fold predictions (with cvFolds), else on the validation split. */
  decisionTuning?: DecisionTuning | null;
  /** Another NASA table: a model on the harmonised features is trained on this run's mission and evaluated there. */
  crossMission?: string | null;
}

export interface PipelineHooks {
  signal?: AbortSignal;
  /** Threads the model may use (random forest). */
  threads?: number;
  onStage?: (stage: Stage, message: string) => void;
  onStep?: (progress: StepProgress) => void;
  /** Steps of the stages after fitting, so progress never stalls there (the caller throttles). */
  onStageStep?: (stage: PostFitStage, progress: StepProgress) => void;
  /** Cross-validation: a fold starts, a step of a fold's model, a fold is done. */
  onFold?: (event: CvProgress) => void;
  /** The other mission's table (config.crossMission), loaded by the caller. */
  crossMissionTable?: LabeledTable;
}

/** What cross-validation of a run found (stored with the run; the out-of-fold predictions are stored apart). */
export interface CrossValidationInfo {
  folds: number;
  seed: number | null;
  /** Train + validation rows cross-validated (the test split stays held out). */
  rows: number;
  groupedBy: 'STAR' | 'ROW';
  /** Stars whose rows fell in more than one fold: 0 by construction, counted from the folds as stored. */
  starsInSeveralFolds: number;
  perFold: FoldResult[];
  /** Every metric's mean ± sample sd over the folds. */
  summary: Record<string, MetricSummary>;
  /** The out-of-fold predictions scored as one evaluation. */
  pooled: ScalarMetrics;
  fitSeconds: number;
}

export interface CalibrationInfo {
  method: CalibrationMethod;
  fittedOn: CalibrateOn;
  fittedRows: number;
  description: string;
  /** The rows the calibrators were fitted on, before and after (in-sample for the calibrators). */
  calibrationRows: { before: CalibrationMeasures; after: CalibrationMeasures };
  /** The held-out test split, before and after (the run's metrics are the after). */
  test: { before: CalibrationMeasures; after: CalibrationMeasures };
}

export interface RefitInfo {
  on: Exclude<RefitMode, 'NONE'>;
  rows: number;
  seconds: number;
  description: string;
}

/** The test split as the run's metrics scored it: what a paired comparison of two runs needs. */
export interface HeldOutPredictions {
  rowIds: string[];
  /** Star of each row (null: the data has no star column). */
  groups: string[] | null;
  labels: number[];
  /** rows × classes, row-major. */
  proba: Float64Array;
  calibrated: boolean;
  /** Decision tuning: `proba` are untuned; the run's metrics scored them scaled by these and renormalised. */
  classScales?: number[];
}

/** Predictions of rows with their identifying columns (the prediction-batch shape). */
export interface IdentifiedPredictions {
  classes: string[];
  idColumns: string[];
  ids: Record<string, string>[];
  probabilities: Float64Array;
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
  /** 95 % confidence half-width of permutationMean over the repeats (null where not computed). */
  permutationCi95: number | null;
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
  /** Applied to the model's probabilities when present (calibration run option). */
  calibration?: CalibrationJSON;
  /** Decision tuning: per-class scales applied (then renormalised) after calibration. */
  classScales?: number[];
}

/** What a fitted run keeps for prediction, from its task table and what it fitted (the one shape of an artefact). */
export function packArtifact(
  data: LabeledTable,
  fitted: {
    modelType: ModelTypeId;
    config: Pick<PipelineConfig, 'task' | 'seed'>;
    features: string[];
    usesVettingFeatures: boolean;
    preprocessor: PreprocessorJSON;
    model: SerializedModel;
    rawTrain: Matrix;
    calibration?: CalibrationJSON;
    classScales?: number[];
  },
): PipelineArtifact {
  const { modelType, config, features, usesVettingFeatures, preprocessor, model, rawTrain } = fitted;
  return {
    formatVersion: 1,
    modelType,
    task: config.task,
    classes: data.classes,
    features,
    tableColumns: data.table.columns,
    labelColumn: data.labelColumn,
    idColumns: data.idColumns,
    mission: data.source.kind === 'nasa' ? data.source.mission : null,
    usesVettingFeatures,
    preprocessor,
    model,
    background: matrixToRows(sampleBackground(rawTrain, config.seed, BACKGROUND_ROWS)),
    ...(fitted.calibration ? { calibration: fitted.calibration } : {}),
    ...(fitted.classScales ? { classScales: fitted.classScales } : {}),
  };
}

export interface PipelineResult {
  artifact: PipelineArtifact;
  features: string[];
  usesVettingFeatures: boolean;
  metrics: Metrics;
  featureImportance: FeatureImportanceEntry[];
  history: HistoryPoint[];
  splitCounts: SplitCounts;
  /** Trainable but worth knowing: tiny classes (see checkedSplit). */
  warnings: string[];
  /** Test rows each permutation repeat scored (all of them unless the model predicts slowly). */
  permutationRows: number;
  /** What the importance figures are: stored with the run, so a user knows how they were computed. */
  explanation: ExplanationInfo;
  crossValidation?: CrossValidationInfo;
  /** With cross-validation: every train + validation row's out-of-fold probabilities, with its fold in `ids`. */
  outOfFold?: IdentifiedPredictions;
  calibration?: CalibrationInfo;
  decisionTuning?: DecisionTuningInfo;
  refit?: RefitInfo;
  heldOut: HeldOutPredictions;
  crossMission?: CrossMissionResult;
  timings: {
    preprocessSeconds: number;
    fitSeconds: number;
    evaluateSeconds: number;
    explainSeconds: number;
    permutationSeconds: number;
  };
}

export type PermutationMethod = 'FOREST_EXACT' | 'LINEAR_EXACT' | 'MODEL_PREDICT';

export interface PermutationInfo {
  /**
   * FOREST_EXACT: random forests, decision trees and boosted trees; each shuffled copy's probabilities (boosting:
   * class margins) are the original ones plus the changes of the trees whose leaf moves (exactly what predicting
   * the copy gives, far fewer tree walks).
   * LINEAR_EXACT: logistic regression and PCA + LR; each shuffled copy's scores are the original ones moved by the
   * shuffled feature's change times its weight (exactly the classes predicting the copy gives, every test row).
   * MODEL_PREDICT: the model predicts every shuffled copy.
   */
  method: PermutationMethod;
  description: string;
  /** What a feature's importance is: the drop of this score when the feature is shuffled. */
  metric: 'macro-F1';
  /** Test rows each repeat scored, of `rowsTotal`. */
  rowsPerRepeat: number;
  rowsTotal: number;
  /** ALL: every repeat scores every test row; SAMPLE_PER_REPEAT: each its own seeded sample; FIXED_SAMPLE: one sample. */
  sampling: 'ALL' | 'SAMPLE_PER_REPEAT' | 'FIXED_SAMPLE';
  repeats: number;
  seed: number;
  /** Largest 95 % confidence half-width of a feature's mean drop (t over repeats); null where not computed. */
  maxCi95: number | null;
  seconds: number;
}

export interface ExplanationInfo {
  permutation: PermutationInfo;
}

export const BACKGROUND_ROWS = 64;
const PERMUTATION_REPEATS = 5;
/**
 * Test rows each permutation repeat scores when the model predicts every shuffled copy: its own stratified, seeded
 * sample (issue 17: everything after fitting ≤ 25 % of the fit at 200,000 rows). 2,000 rows put the 95 % interval
 * of a feature's macro-F1 drop at about ±0.01–0.02 (stated per run, `maxCi95`); 20 features × 5 repeats × 2,000
 * rows is 200,000 predictions whatever the table's size. A kernel SVM predicts slowly (every support vector per
 * row): 500. Tree ensembles' exact permutation scores at most as many (treePermutationRows).
 */
const PERMUTATION_SAMPLE_ROWS = 2_000;
const KERNEL_PERMUTATION_ROWS = 500;
/**
 * Forest permutation work allowed, in node visits (rows per repeat × repeats × features × Σ mean leaf depth of the
 * trees). Measured (bench:progress): a 1,000-tree Kepler forest (Σ depth ≈ 13,400) gets ~450 rows per repeat and
 * takes 2–5 s on a busy 2-core machine. A fixed budget, not a clock, keeps runs reproducible. Above it, each repeat
 * scores its own seeded sample of rows, never fewer than MIN_SAMPLE_ROWS; the CI95 then says how close that is.
 */
const FOREST_PERMUTATION_BUDGET = 0.9e9;
const MIN_SAMPLE_ROWS = 400;
/**
 * Tree ensembles' permutation sized to their fit (issue 17 goal 4: everything after fitting ≤ 25 % of the fit; the
 * permutation's share ~12 %): test rows each repeat scores per training row. A fit and the exact permutation both
 * grow with the trees and their depth, so the ratio holds whatever the hyperparameters; it is a count, not a clock,
 * so a run stays reproducible. Measured with bench:post-fit at 50,000 rows (35,000 training rows): a default random
 * forest fits in ~5.6 CPU s and its exact permutation costs ~0.8 ms per scored row; boosting fits in ~1.6 s and
 * costs ~0.4 ms per row; a single tree fits in ~0.8 s and costs ~0.03 ms per row. Bounded by
 * PERMUTATION_SAMPLE_ROWS whatever the table's size: the interval depends on the rows scored, not on the rows
 * the table has (largest ±CI95 0.017 at 2,000 rows × 5 repeats, 0.010 at 3,500, on bench:scale's 50,000-row table,
 * forest and boosting alike), while the cost grows with them.
 */
const PERMUTATION_ROWS_PER_TRAINING_ROW: Partial<Record<ModelTypeId, number>> = {
  random_forest: 0.025,
  xgboost: 0.012,
  decision_tree: 0.1,
};

/**
 * Test rows each repeat of a tree ensemble's exact permutation scores: sized to the fit (`trainRows`, see
 * PERMUTATION_ROWS_PER_TRAINING_ROW) and to the work budget (Σ mean leaf depth of the trees), never fewer than
 * MIN_SAMPLE_ROWS nor more than PERMUTATION_SAMPLE_ROWS (nor than the split has).
 */
export function treePermutationRows(
  modelType: ModelTypeId,
  testRows: number,
  features: number,
  pathLength: number,
  repeats: number,
  trainRows?: number,
): number {
  const affordable = Math.floor(FOREST_PERMUTATION_BUDGET / Math.max(1, repeats * features * pathLength));
  const perTrainingRow = PERMUTATION_ROWS_PER_TRAINING_ROW[modelType];
  const sized =
    trainRows !== undefined && perTrainingRow !== undefined
      ? Math.floor(perTrainingRow * trainRows)
      : Number.POSITIVE_INFINITY;
  return Math.min(testRows, Math.max(MIN_SAMPLE_ROWS, Math.min(affordable, sized, PERMUTATION_SAMPLE_ROWS)));
}

interface ExplainedPermutation {
  result: PermutationResult & { ci95: Float64Array };
  info: PermutationInfo;
  totalSteps: number;
}

/** Permutation importance by the fastest exact route the model allows, with live steps and a record of the method. */
export function explainPermutation(
  model: TrainedClassifier,
  X: Matrix,
  y: Int32Array,
  /** The evaluation's probabilities on X: the unshuffled baseline, not predicted again. */
  proba: Float64Array,
  numClasses: number,
  family: string,
  seed: number,
  signal: AbortSignal | undefined,
  onStep: (done: number, total: number, message: string) => void,
  /** Rows the model was fitted on: tree ensembles size their sample to the fit. */
  trainRows?: number,
  /** Tree ensembles and the SVM: 2 shares the permutation with the prediction helper thread (trees or sample rows). */
  threads = 1,
): ExplainedPermutation {
  const started = performance.now();
  const repeats = PERMUTATION_REPEATS;
  if (hasLinearScores(model)) {
    // O(rows × classes) per shuffle instead of a predict, on the bounded sample the other models score: scoring every
    // test row cost 0.07–0.09 CPU s at 200,000 rows, a quarter of the fit (issue 17 goal 4).
    const result = linearPermutationImportance(model.linearScores(), X, y, numClasses, {
      repeats,
      seed,
      signal,
      rowsPerRepeat: PERMUTATION_SAMPLE_ROWS,
      baselineProba: proba,
      onProgress: (done, total) => {
        onStep(done, total, `Permutation importance: feature ${done} of ${total} (${repeats} shuffles each)`);
      },
    });
    const sampled = result.rowsPerRepeat < X.rows;
    const maxCi95 = result.ci95.length > 0 ? Math.max(...result.ci95) : null;
    return {
      result,
      totalSteps: X.cols,
      info: {
        method: 'LINEAR_EXACT',
        description:
          `Macro-F1 drop when one feature is shuffled, ${repeats} shuffles per feature, each scored on ` +
          (sampled
            ? `its own stratified seeded sample of ${result.rowsPerRepeat} of the ${X.rows} test rows`
            : `all ${X.rows} test rows`) +
          "; a shuffled copy's class scores are the model's scores moved by the feature's change times its weight " +
          '(exactly what predicting the copy gives). ±CI95 over the shuffles' +
          (sampled
            ? ` includes the row sampling${maxCi95 !== null ? ` (at most ±${maxCi95.toFixed(3)} here)` : ''}.`
            : '.'),
        metric: 'macro-F1',
        rowsPerRepeat: result.rowsPerRepeat,
        rowsTotal: X.rows,
        sampling: sampled ? 'SAMPLE_PER_REPEAT' : 'ALL',
        repeats,
        seed,
        maxCi95,
        seconds: seconds(started),
      },
    };
  }
  const ensemble = treeEnsemble(model);
  if (ensemble) {
    const rowsPerRepeat = treePermutationRows(
      model.modelType,
      X.rows,
      X.cols,
      forestPathLength(ensemble.allTrees),
      repeats,
      trainRows,
    );
    let total = ensemble.trees.treeCount;
    const result = forestPermutationImportance(
      ensemble.trees,
      X,
      y,
      numClasses,
      {
        repeats,
        seed,
        signal,
        rowsPerRepeat,
        baselineProba: proba,
        threads,
        onProgress: (done, all) => {
          total = all;
          onStep(
            done,
            all,
            `Permutation importance: tree ${done} of ${all} (${X.cols} features × ${repeats} shuffles)`,
          );
        },
      },
      ensemble.sum,
    );
    const sampled = result.rowsPerRepeat < X.rows;
    const maxCi95 = result.ci95.length > 0 ? Math.max(...result.ci95) : null;
    return {
      result,
      totalSteps: total,
      info: {
        method: 'FOREST_EXACT',
        description:
          `Macro-F1 drop when one feature is shuffled, ${repeats} shuffles per feature, ` +
          (sampled
            ? `each scored on its own stratified seeded sample of ${result.rowsPerRepeat} of the ${X.rows} test rows ` +
              `(sized to the fit, about an eighth of its cost, and at most ${PERMUTATION_SAMPLE_ROWS})`
            : `each scored on all ${X.rows} test rows`) +
          `; the shuffled copies are predicted exactly, re-walking only the trees whose leaf moves. ±CI95 over the shuffles` +
          (sampled
            ? ` includes the row sampling${maxCi95 !== null ? ` (at most ±${maxCi95.toFixed(3)} here)` : ''}.`
            : '.'),
        metric: 'macro-F1',
        rowsPerRepeat: result.rowsPerRepeat,
        rowsTotal: X.rows,
        sampling: sampled ? 'SAMPLE_PER_REPEAT' : 'ALL',
        repeats,
        seed,
        maxCi95,
        seconds: seconds(started),
      },
    };
  }
  // Other models predict every shuffled copy, of a bounded stratified sample of rows per repeat.
  const sampleRows = family === 'kernel' ? KERNEL_PERMUTATION_ROWS : PERMUTATION_SAMPLE_ROWS;
  const options = { repeats, seed, signal, rowsPerRepeat: sampleRows, baselineProba: proba };
  // The SVM predicts a shuffled copy by moving each row's kernel dots by the one changed coordinate (same figures).
  const result =
    model instanceof SvmClassifier
      ? svmPermutationImportance(model, X, y, numClasses, {
          ...options,
          threads,
          onProgress: (done, total) => {
            onStep(done, total, `Permutation importance: shuffle ${done} of ${total} (all ${X.cols} features)`);
          },
        })
      : permutationImportance((M) => model.predictProba(M), X, y, numClasses, {
          ...options,
          onProgress: (done, total) => {
            onStep(done, total, `Permutation importance: feature ${done} of ${total} (${repeats} shuffles each)`);
          },
        });
  const sampled = result.rowsPerRepeat < X.rows;
  const maxCi95 = result.ci95.length > 0 ? Math.max(...result.ci95) : null;
  return {
    result,
    totalSteps: model instanceof SvmClassifier ? repeats : X.cols,
    info: {
      method: 'MODEL_PREDICT',
      description:
        `Macro-F1 drop when one feature is shuffled, ${repeats} shuffles per feature, the model predicting every shuffled copy of ` +
        (sampled
          ? `its own stratified seeded sample of ${result.rowsPerRepeat} of the ${X.rows} test rows per shuffle. ±CI95 over the shuffles includes the row sampling` +
            (maxCi95 !== null ? ` (at most ±${maxCi95.toFixed(3)} here).` : '.')
          : `all ${X.rows} test rows.`),
      metric: 'macro-F1',
      rowsPerRepeat: result.rowsPerRepeat,
      rowsTotal: X.rows,
      sampling: sampled ? 'SAMPLE_PER_REPEAT' : 'ALL',
      repeats,
      seed,
      maxCi95,
      seconds: seconds(started),
    },
  };
}

/**
 * A tree ensemble's trees to walk and how their outputs decide the class (exact permutation), or null. `allTrees`:
 * every tree of the model, whose path length sizes the row sample (the same sample whichever trees are walked).
 */
function treeEnsemble(model: TrainedClassifier): { trees: PackedTrees; sum: TreeSum; allTrees: PackedTrees } | null {
  if (model instanceof ForestModel) return { trees: model.trees, sum: { kind: 'mean' }, allTrees: model.trees };
  if (model instanceof BoostedTreesModel) {
    const classZero = model.mirroredTrees();
    return classZero
      ? { trees: classZero, sum: { kind: 'mirrored' }, allTrees: model.trees }
      : { trees: model.trees, sum: { kind: 'margin', base: model.baseScore }, allTrees: model.trees };
  }
  return null;
}

/**
 * Boosting evaluates on two threads from this many tree steps (test rows × Σ mean leaf depth of the trees walked).
 * The prediction helper is a fresh thread in every run (endPredictHelper) and its first walks run unoptimised code:
 * at 50,000 rows (10,000 test rows × 100 depth-6 trees, ~6 M steps) its half cost it ~0.04 CPU s while this thread
 * waited, and this thread alone, warmed (warm-up.ts), predicts every row in ~0.025 s. At 200,000 rows (~24 M steps;
 * 0.08–0.14 s on this thread alone) half the walks outweigh the helper's cold start.
 */
export const PARALLEL_EVALUATION_MIN_STEPS = 20_000_000;

/** The model as the evaluation predicts with it: boosting on this thread alone when its test split is small. */
function evaluationPredictor(
  model: TrainedClassifier,
  rows: number,
  threads: number,
): Pick<TrainedClassifier, 'predictProba'> {
  if (!(model instanceof BoostedTreesModel) || threads < 2) return model;
  const walked = model.mirroredTrees() ?? model.trees;
  if (rows * forestPathLength(walked) >= PARALLEL_EVALUATION_MIN_STEPS) return model;
  return { predictProba: (X) => model.predictProba(X, 1) };
}

/** Test-split predictions go in this many slices, each one a progress step (the last step is the metrics). */
const EVALUATION_CHUNKS = 10;

/**
 * predictProba over row slices with a step after each (a 1,000-tree forest or a kernel SVM takes seconds on the
 * test split). Models predict rows independently, so the result equals one call on all rows.
 */
export function predictInSteps(
  model: { predictProba(X: Matrix): Float64Array },
  X: Matrix,
  numClasses: number,
  signal: AbortSignal | undefined,
  onStep: (step: number, totalSteps: number, rowsDone: number) => void,
): Float64Array {
  const out = new Float64Array(X.rows * numClasses);
  const size = Math.max(1, Math.ceil(X.rows / EVALUATION_CHUNKS));
  // A linear model only reads its rows: views. Copying a 60,000-row test split cost ~0.03 CPU s (200,000-row table).
  const views = hasLinearScores(model);
  for (let chunk = 0; chunk < EVALUATION_CHUNKS; chunk++) {
    throwIfAborted(signal);
    const start = Math.min(X.rows, chunk * size);
    const end = Math.min(X.rows, start + size);
    if (end > start) {
      // Otherwise a copy, not a view: a model may hand `data.buffer` on (TensorFlow.js, another thread).
      const data = views ? X.data.subarray(start * X.cols, end * X.cols) : X.data.slice(start * X.cols, end * X.cols);
      const slice = { rows: end - start, cols: X.cols, data };
      out.set(model.predictProba(slice), start * numClasses);
    }
    onStep(chunk + 1, EVALUATION_CHUNKS + 1, end);
  }
  return out;
}

const seconds = (start: number) => (performance.now() - start) / 1000;

export function matrixToRows(X: Matrix): (number | null)[][] {
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

/**
 * Whether a config can train on a table: the split it would make (deterministic: same seed, same rows) must hold
 * every class in every split (see checkedSplit). Throws BAD_USER_INPUT otherwise; returns the run's warnings.
 */
export function checkTrainable(
  table: LabeledTable,
  config: Pick<PipelineConfig, 'task' | 'split' | 'seed'>,
): { warnings: string[]; splitCounts: SplitCounts } {
  const data = taskTable(table, config.task);
  const { split, warnings } = checkedSplit(data.labels, data.groups, data.classes, config.split, config.seed);
  return {
    warnings,
    splitCounts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
  };
}

/**
 * Tree ensembles evaluate and permute on two threads: their prediction helper starts early, ready by the evaluation.
 * The training thread calls this as a task begins, while the data loads (src/ml/worker.ts); this pipeline calls it
 * again (a no-op then) for its other callers.
 */
export function prestartPredictHelper(modelType: ModelTypeId, threads: number): void {
  if (Math.min(threads, predictThreads.count) >= 2 && (modelType === 'random_forest' || modelType === 'xgboost'))
    startPredictHelper();
}

export async function trainPipeline(
  table: LabeledTable,
  config: PipelineConfig,
  hooks: PipelineHooks = {},
): Promise<PipelineResult> {
  const { signal } = hooks;
  const stage = (name: Stage, message: string) => hooks.onStage?.(name, message);
  const spec = getModelSpec(config.modelType);
  const threads = Math.min(hooks.threads ?? 1, predictThreads.count);
  prestartPredictHelper(config.modelType, threads);

  stage('PREPROCESSING', 'Selecting features and splitting by star');
  let started = performance.now();
  const data = taskTable(table, config.task);
  const { features, usesVettingFeatures } = selectFeatures(data, {
    features: config.features ?? undefined,
    useVettingFeatures: config.useVettingFeatures,
  });
  const X = featureMatrix(data, features);
  // Refuses data too small for the split (the service checked this at start; the data may have changed since).
  const { split, warnings } = checkedSplit(data.labels, data.groups, data.classes, config.split, config.seed);
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

  // The rows the run may learn from, ascending: cross-validation, out-of-fold calibration and a TRAIN_VALIDATION refit
  // use them. Built when first needed and without a plain array between (spread + Int32Array.from + sort cost 30–70 ms
  // at 200,000 rows, on every run, counted after the fit).
  let learnRowsMemo: Int32Array | undefined;
  const learnRows = (): Int32Array => {
    if (!learnRowsMemo) {
      learnRowsMemo = new Int32Array(split.train.length + split.validation.length);
      learnRowsMemo.set(split.train);
      learnRowsMemo.set(split.validation, split.train.length);
      learnRowsMemo.sort();
    }
    return learnRowsMemo;
  };
  let crossValidation: CrossValidationInfo | undefined;
  let outOfFold: IdentifiedPredictions | undefined;
  let outOfFoldProba: Float64Array | undefined;
  if (config.cvFolds) {
    stage(
      'CROSS_VALIDATING',
      `Cross-validating ${spec.name}: ${config.cvFolds} folds grouped by star over the ${learnRows().length} ` +
        'train + validation rows (the test split stays held out)',
    );
    const cv = await crossValidateRun(table, config, config.cvFolds, {
      signal,
      threads: hooks.threads,
      onProgress: hooks.onFold,
    });
    crossValidation = {
      folds: cv.folds,
      seed: cv.seed,
      rows: learnRows().length,
      groupedBy: data.groups ? 'STAR' : 'ROW',
      starsInSeveralFolds: starsInSeveralFolds(data.groups, learnRows(), cv.foldOf),
      perFold: cv.perFold,
      summary: cv.summary,
      pooled: scalarMetrics(cv.pooled),
      fitSeconds: cv.fitSeconds,
    };
    outOfFoldProba = cv.outOfFold;
    const { idColumns, ids } = identify(data, learnRows());
    outOfFold = {
      classes: data.classes,
      idColumns: [...idColumns, 'fold'],
      ids: ids.map((row, i) => ({ ...row, fold: String(cv.foldOf[i] + 1) })),
      probabilities: cv.outOfFold,
    };
    throwIfAborted(signal);
  }

  // The SVM is quadratic in its rows: above max_train_rows it trains on a stratified sample, and the run says so.
  const maxTrainRows = config.hyperparameters.max_train_rows;
  const sampledRows =
    config.modelType === 'svm' && typeof maxTrainRows === 'number' && split.train.length > maxTrainRows
      ? maxTrainRows
      : null;
  if (sampledRows !== null)
    warnings.push(
      `The SVM trained on a stratified sample of ${sampledRows} of the ${split.train.length} training rows ` +
        '(max_train_rows, up to 100,000): its cost grows with the square of the rows. Raise max_train_rows for more, ' +
        'or use a tree model, which trains on every row.',
    );
  stage(
    'TRAINING',
    sampledRows !== null
      ? `Training ${spec.name} on a stratified sample of ${sampledRows} of ${split.train.length} rows × ${features.length} features`
      : `Training ${spec.name} on ${split.train.length} rows × ${features.length} features`,
  );
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
  // Tree ensembles predict and permute on two threads, the SVM permutes on two: the helper starts while the first
  // slices are predicted (restarted if it ended idle during a long fit). Not for a single tree: its permutation and
  // slices stay on this thread, and starting an unused thread (~0.15 s of CPU) took a 10k-row tree's explain 0.03 → 0.1 s.
  const ensembleTrees = treeEnsemble(model)?.trees.treeCount ?? 0;
  if (threads >= 2 && (ensembleTrees >= 2 || model instanceof SvmClassifier)) startPredictHelper();
  const proba = predictInSteps(
    evaluationPredictor(model, Xtest.rows, threads),
    Xtest,
    data.classes.length,
    signal,
    (step, totalSteps, rows) =>
      hooks.onStageStep?.('EVALUATING', {
        step,
        totalSteps,
        message: `Predicted ${rows} of ${Xtest.rows} held-out rows`,
      }),
  );
  // The validation split's predictions, made once for calibration and decision tuning alike.
  let validationProba: Float64Array | undefined;
  const predictValidation = (X: Matrix) => (validationProba ??= model.predictProba(X));
  const calibrated = config.calibration
    ? calibrate(config.calibration, config.calibrateOn ?? 'VALIDATION', {
        predictValidation,
        validation,
        outOfFoldProba,
        outOfFoldLabels: takeLabels(data.labels, learnRows()),
        testLabels: ytest,
        testProba: proba,
        classes: data.classes,
      })
    : undefined;
  const probabilities = calibrated ? calibrated.testProba : proba;
  // Decision tuning sees the probabilities the run reports (calibrated, if it calibrates), on held-out rows only.
  const tuneOn = () => {
    const decided = (p: Float64Array) => (calibrated ? applyCalibration(calibrated.calibration, p) : p);
    const fit = outOfFoldProba
      ? { on: 'OUT_OF_FOLD' as const, labels: takeLabels(data.labels, learnRows()), proba: decided(outOfFoldProba) }
      : validation
        ? { on: 'VALIDATION' as const, labels: validation.y, proba: decided(predictValidation(validation.X)) }
        : null;
    if (!fit) throw badInput(DECISION_TUNING_NEEDS, 'decisionTuning');
    return tuneDecision(fit, { labels: ytest, proba: probabilities }, data.classes);
  };
  const tuned = config.decisionTuning === 'MACRO_F1' ? tuneOn() : undefined;
  const scored = tuned ? tuned.testProba : probabilities;
  let majorityClass = 0;
  const trainCounts = new Array<number>(data.classes.length).fill(0);
  for (const label of ytrain) trainCounts[label]++;
  trainCounts.forEach((count, c) => {
    if (count > trainCounts[majorityClass]) majorityClass = c;
  });
  const metrics = evaluate(ytest, scored, data.classes, { majorityClass });
  const heldOut = heldOutPredictions(data, split.test, ytest, probabilities, {
    calibrated: calibrated !== undefined,
    classScales: tuned?.classScales,
  });
  let crossMission: CrossMissionResult | undefined;
  if (config.crossMission) {
    const other = hooks.crossMissionTable;
    if (!other) throw new Error('crossMission is set but its table was not loaded');
    hooks.onStageStep?.('EVALUATING', {
      step: EVALUATION_CHUNKS,
      totalSteps: EVALUATION_CHUNKS + 1,
      message: `Cross-mission: training on this mission's harmonised features, evaluating on ${config.crossMission}`,
    });
    crossMission = await evaluateCrossMission(table, other, {
      modelType: config.modelType,
      hyperparameters: config.hyperparameters,
      task: config.task,
      seed: config.seed,
      threads: hooks.threads,
    });
    throwIfAborted(signal);
  }
  hooks.onStageStep?.('EVALUATING', {
    step: EVALUATION_CHUNKS + 1,
    totalSteps: EVALUATION_CHUNKS + 1,
    message: 'Metrics and curves computed',
  });
  const evaluateSeconds = seconds(started);
  throwIfAborted(signal);

  stage('EXPLAINING', `Permutation importance of ${features.length} features`);
  started = performance.now();
  const own = model.featureImportance();
  const explained = explainPermutation(
    model,
    Xtest,
    ytest,
    proba,
    data.classes.length,
    spec.family,
    config.seed,
    signal,
    (done, total, message) =>
      // One step more than the permutation's own: the artifact below.
      hooks.onStageStep?.('EXPLAINING', { step: done, totalSteps: total + 1, message }),
    split.train.length,
    threads,
  );
  const { result: permutation, info: permutationInfo } = explained;
  const permutationShare = sharesOfPositiveDrops(permutation.mean);
  const featureImportance = features
    .map((feature, j) => ({
      feature,
      importance: own[j] ?? 0,
      permutationMean: permutation.mean[j],
      permutationStd: permutation.std[j],
      permutationCi95: permutation.ci95[j],
      permutationImportance: permutationShare[j],
    }))
    .sort((a, b) => b.importance - a.importance || b.permutationImportance - a.permutationImportance);
  const explainSteps = explained.totalSteps + 1;
  const explainSeconds = seconds(started);

  // Refit for use: the stored model learns from more rows; the metrics above stay those of the evaluated model.
  let used = { model, preprocessor, rawTrain };
  let refit: RefitInfo | undefined;
  if (config.refit && config.refit !== 'NONE') {
    const on = config.refit;
    const rows = on === 'ALL_LABELLED' ? Int32Array.from({ length: data.labels.length }, (_, i) => i) : learnRows();
    const what = on === 'ALL_LABELLED' ? 'every labelled row' : 'train + validation';
    stage('REFITTING', `Refitting ${spec.name} on ${what} (${rows.length} rows) for predictions`);
    started = performance.now();
    const raw = takeRows(X, rows);
    const refitPreprocessor = fitPreprocessor(raw, spec.preprocessing);
    const refitModel = await trainerFor(config.modelType).fit(
      refitPreprocessor.transform(raw),
      takeLabels(data.labels, rows),
      data.classes.length,
      config.hyperparameters,
      {
        seed: config.seed,
        signal,
        threads: hooks.threads ?? 1,
        onStep: (progress) => hooks.onStageStep?.('REFITTING', progress),
      },
    );
    used = { model: refitModel, preprocessor: refitPreprocessor, rawTrain: raw };
    refit = {
      on,
      rows: rows.length,
      seconds: seconds(started),
      description:
        `The stored model was refitted on ${what} (${rows.length} rows) after evaluation; predictions and ` +
        `explanations use it. The run's metrics${crossValidation ? ', cross-validation' : ''} and importance remain ` +
        `the held-out evaluation of the model trained on the ${split.train.length} training rows` +
        (on === 'ALL_LABELLED'
          ? ' (the refitted model has seen the test rows, so it cannot be scored on them).'
          : '.') +
        (calibrated ? ' The calibrators fitted on the evaluated model are kept.' : '') +
        (tuned ? " The decision's class scales fitted on the evaluated model are kept." : ''),
    };
    throwIfAborted(signal);
  }

  const artifact = packArtifact(data, {
    modelType: config.modelType,
    config,
    features,
    usesVettingFeatures,
    preprocessor: used.preprocessor.toJSON(),
    model: used.model.toJSON(),
    rawTrain: used.rawTrain,
    calibration: calibrated?.calibration,
    classScales: tuned?.classScales,
  });
  hooks.onStageStep?.(refit ? 'REFITTING' : 'EXPLAINING', {
    step: refit ? 1 : explainSteps,
    totalSteps: refit ? 1 : explainSteps,
    message: refit ? 'Refitted; model packed' : 'Feature importance done; model packed',
  });
  return {
    artifact,
    features,
    usesVettingFeatures,
    // evaluate() already answers JSON-safe figures: no second deep copy.
    metrics,
    featureImportance: jsonSafe(featureImportance) as unknown as FeatureImportanceEntry[],
    history: jsonSafe(model.history()) as unknown as HistoryPoint[],
    splitCounts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    warnings,
    permutationRows: permutationInfo.rowsPerRepeat,
    explanation: { permutation: permutationInfo },
    ...(crossValidation ? { crossValidation: jsonSafe(crossValidation) as unknown as CrossValidationInfo } : {}),
    ...(outOfFold ? { outOfFold } : {}),
    ...(calibrated ? { calibration: jsonSafe(calibrated.info) as unknown as CalibrationInfo } : {}),
    ...(tuned ? { decisionTuning: tuned.info } : {}),
    ...(refit ? { refit } : {}),
    heldOut,
    ...(crossMission ? { crossMission: jsonSafe(crossMission) as unknown as CrossMissionResult } : {}),
    timings: {
      preprocessSeconds,
      fitSeconds,
      evaluateSeconds,
      explainSeconds,
      permutationSeconds: permutationInfo.seconds,
    },
  };
}

/**
 * The test split as the run's metrics scored it, in plain arrays (stored as JSON): a trained run's and an ensemble's.
 * Counted loops, not Array.from's iterator (40,000 labels: 5-28 ms cold, a counted loop ~1-3 ms).
 */
export function heldOutPredictions(
  data: LabeledTable,
  testRows: Int32Array,
  labels: Int32Array,
  proba: Float64Array,
  decision: { calibrated: boolean; classScales: number[] | undefined },
): HeldOutPredictions {
  return {
    rowIds: rowIdsOf(data, testRows),
    groups: data.groups ? testGroups(data.groups, testRows) : null,
    labels: plainNumbers(labels),
    // A copy: the evaluation's own array stays the pipeline's.
    proba: proba.slice(),
    calibrated: decision.calibrated,
    ...(decision.classScales ? { classScales: decision.classScales } : {}),
  };
}

/**
 * Held-out predictions as test_predictions stores them and the training thread hands them to the server: all but the
 * probabilities as the UTF-8 bytes of their JSON text (the server stores the text as is), the probabilities as
 * float64s. Cloning 40,000 rows' ids as array elements (~20 ms each side) held the server's event loop; bytes clone
 * as one copy (a 3 MB string clones at ~20 ms each side too). Writing 120,000 probabilities as JSON text took ~25 ms,
 * parsing them back ~50 ms.
 */
export interface HeldOutForStorage {
  rows: number;
  json: Uint8Array;
  proba: Float64Array;
}

export function heldOutForStorage(heldOut: HeldOutPredictions): HeldOutForStorage {
  const { proba, ...described } = heldOut;
  return { rows: heldOut.rowIds.length, json: Buffer.from(JSON.stringify(described), 'utf8'), proba };
}

/** The star of each test row (its row number where it has none), by a counted loop (Array.from iterates slowly). */
function testGroups(groups: readonly string[], rows: Int32Array): string[] {
  const out = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = groups[rows[i]] ?? String(rows[i]);
  return out;
}

/** Stars (groups) of `rows` that `foldOf` (in the order of `rows`) puts in more than one fold. */
export function starsInSeveralFolds(groups: readonly string[] | null, rows: Int32Array, foldOf: Int32Array): number {
  if (!groups) return 0;
  const foldOfStar = new Map<string, number>();
  const split = new Set<string>();
  rows.forEach((r, i) => {
    const star = groups[r];
    const seen = foldOfStar.get(star);
    if (seen === undefined) foldOfStar.set(star, foldOf[i]);
    else if (seen !== foldOf[i]) split.add(star);
  });
  return split.size;
}

/** The id columns the table has and each row's values of them. */
function identify(data: LabeledTable, rows: Int32Array): { idColumns: string[]; ids: Record<string, string>[] } {
  const idColumns = data.idColumns.filter((c) => data.table.columns.includes(c));
  const index = idColumns.map((c) => data.table.columns.indexOf(c));
  const ids = Array.from(rows, (r) => Object.fromEntries(idColumns.map((c, i) => [c, data.table.cell(r, index[i])])));
  return { idColumns, ids };
}

interface CalibrationInput {
  predictValidation: (X: Matrix) => Float64Array;
  validation: { X: Matrix; y: Int32Array } | undefined;
  outOfFoldProba: Float64Array | undefined;
  outOfFoldLabels: Int32Array;
  testLabels: Int32Array;
  testProba: Float64Array;
  classes: string[];
}

/**
 * Calibrators fitted on held-out rows the model did not learn from (the validation split, or out-of-fold
 * predictions of cross-validation, as scikit-learn's CalibratedClassifierCV(ensemble=False)), measured there and
 * on the test split before and after.
 */
function calibrate(
  method: CalibrationMethod,
  on: CalibrateOn,
  input: CalibrationInput,
): { calibration: CalibrationJSON; testProba: Float64Array; info: CalibrationInfo } {
  let labels: Int32Array;
  let proba: Float64Array;
  if (on === 'OUT_OF_FOLD') {
    if (!input.outOfFoldProba)
      throw badInput('calibrateOn OUT_OF_FOLD needs cross-validation: set cvFolds (2–10).', 'calibrateOn');
    labels = input.outOfFoldLabels;
    proba = input.outOfFoldProba;
  } else {
    if (!input.validation)
      throw badInput(
        'calibrateOn VALIDATION needs a validation split: set split.validation above 0, or calibrate OUT_OF_FOLD with cvFolds.',
        'calibrateOn',
      );
    labels = input.validation.y;
    proba = input.predictValidation(input.validation.X);
  }
  const k = input.classes.length;
  const calibration = fitCalibration(proba, labels, k, method);
  const testProba = applyCalibration(calibration, input.testProba);
  const where = on === 'OUT_OF_FOLD' ? 'the out-of-fold predictions' : 'the validation split';
  return {
    calibration,
    testProba,
    info: {
      method,
      fittedOn: on,
      fittedRows: labels.length,
      description:
        `${method === 'sigmoid' ? 'Platt (sigmoid)' : 'Isotonic'} calibration ` +
        `${k === 2 ? 'of the planet probability' : 'one-vs-rest per class, rows renormalised'}, fitted on ${where} ` +
        `(${labels.length} rows). The run's metrics and predictions use the calibrated probabilities; importance ` +
        'and TreeSHAP explanations are of the uncalibrated model.',
      calibrationRows: {
        before: calibrationMeasures(labels, proba, input.classes),
        after: calibrationMeasures(labels, applyCalibration(calibration, proba), input.classes),
      },
      test: {
        before: calibrationMeasures(input.testLabels, input.testProba, input.classes),
        after: calibrationMeasures(input.testLabels, testProba, input.classes),
      },
    },
  };
}
