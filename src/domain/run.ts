/**
 * A training run as every layer sees it: its status and stage, its progress events, the JSON it stores (config,
 * metrics, importance, timings, details) and the rule for when a session can train. Storage columns, GraphQL types,
 * REST and the ML worker are all typed from here. Pure: no GraphQL, DB or HTTP imports (the ML result types it
 * stores are the ML layer's own, imported as types).
 */
import type { Metrics } from '../ml/evaluate.js';
import type {
  CalibrateOn,
  CalibrationInfo,
  CalibrationMethod,
  RefitMode,
  CrossValidationInfo,
  DecisionTuning,
  DecisionTuningInfo,
  ExplanationInfo,
  FeatureImportanceEntry,
  HeldOutPredictions,
  PipelineConfig,
  RefitInfo,
} from '../ml/pipeline.js';
import type { CrossMissionResult } from '../ml/selection/cross-mission.js';
import type { EnsembleInfo } from '../ml/selection/ensemble-run.js';
import type { HistoryPoint, Hyperparameters, ModelTypeId } from '../ml/types.js';
import type { SplitCounts } from './data.js';
import { fieldsOf, integerIn, isString, nullable, oneOf, storedColumn, withDefault, type Checker } from './json.js';

// ---------------------------------------------------------------------------------------------------------------
// Status and stage

/** Where a run is in its life: waiting in the queue, training, or ended (the last three). */
export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type TerminalStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set<TerminalStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export function isTerminal(status: RunStatus): status is TerminalStatus {
  return TERMINAL_STATUSES.has(status);
}

/** Waiting or training: a session with such a run cannot start another. */
export function isActive(status: RunStatus): status is 'QUEUED' | 'RUNNING' {
  return status === 'QUEUED' || status === 'RUNNING';
}

/** The stages the training pipeline reports, in order (the ML worker knows nothing of queues). */
export const PIPELINE_STAGES = [
  'LOADING',
  'PREPROCESSING',
  'CROSS_VALIDATING',
  'TRAINING',
  'EVALUATING',
  'EXPLAINING',
  'REFITTING',
  'SAVING',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];
/**
 * Stages after fitting: they count steps of their own (rows predicted, features permuted, the refit's trees /
 * rounds / epochs, bytes compressed).
 */
export type PostFitStage = Extract<PipelineStage, 'EVALUATING' | 'EXPLAINING' | 'REFITTING' | 'SAVING'>;

/** A run's stage: QUEUED before the pipeline starts, DONE after it succeeded, else the pipeline's stage. */
export const RUN_STAGES = ['QUEUED', ...PIPELINE_STAGES, 'DONE'] as const;
export type RunStage = (typeof RUN_STAGES)[number];

// ---------------------------------------------------------------------------------------------------------------
// Progress

/** Latest loss / validation figures of a step, where the model has them. */
export interface ProgressMetrics {
  loss?: number;
  valLoss?: number;
  valAccuracy?: number;
  /** CROSS_VALIDATING: the fold under way (1-based) and the number of folds (stored with the event's figures). */
  fold?: number;
  folds?: number;
}

export interface TrainingProgressEvent {
  runId: string;
  /** Per run, increasing: a client that reconnects skips what it has seen. */
  seq: number;
  status: RunStatus;
  stage: RunStage;
  /** 0..1 over the whole run. */
  progress: number;
  step: number;
  totalSteps: number;
  metrics: ProgressMetrics | null;
  message: string | null;
  etaSeconds: number | null;
  at: Date;
  /** 1-based place in the queue while QUEUED. */
  queuePosition: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// What a run stores (JSON columns)

/** The immutable snapshot of the session's config that a run trains (what the ML pipeline receives). */
export type RunConfig = PipelineConfig & {
  /** The session's time budget when it set one below MAX_TRAINING_SECONDS (the runner stops the run there). */
  maxTrainingSeconds?: number | null;
};

/** Seconds per part of a run; runs stored by older versions may lack the newer parts. */
export interface RunTimings {
  queuedSeconds?: number;
  loadSeconds?: number;
  preprocessSeconds?: number;
  fitSeconds?: number;
  evaluateSeconds?: number;
  explainSeconds?: number;
  permutationSeconds?: number;
  /**
   * Before the fit, outside the pipeline: from RUNNING until the training thread began the task (the dataset's
   * checksum and location, a thread started or waited for). Not part of "after fit".
   */
  startSeconds?: number;
  /** After the fit, in the training thread: the artefact encoded and gzipped. */
  packSeconds?: number;
  /** The training thread's result handed to the server (structured clone, its last progress messages awaited). */
  handOffSeconds?: number;
  /** Storing the gzipped artefact (table `models`). */
  saveModelSeconds?: number;
  /** Storing the held-out test predictions (table `test_predictions`). */
  saveTestPredictionsSeconds?: number;
  /** From RUNNING until the results were ready to write in the run's row (that last write is not in it). */
  totalSeconds?: number;
}

/** Test-split metrics of a succeeded run. */
export type RunMetrics = Metrics;
export type { FeatureImportanceEntry, ExplanationInfo, HistoryPoint, Hyperparameters, ModelTypeId };
export type {
  CalibrateOn,
  CalibrationInfo,
  CalibrationMethod,
  CrossMissionResult,
  CrossValidationInfo,
  DecisionTuning,
  DecisionTuningInfo,
  HeldOutPredictions,
  RefitInfo,
  RefitMode,
};

/**
 * What a run learnt beyond its metrics. `warnings` is set when the run is queued, the rest when it succeeded; runs
 * stored by older versions may lack any of it.
 */
export interface RunDetails {
  /** Trainable but worth knowing, e.g. a class with very few rows. */
  warnings?: string[];
  /** Loss / validation figures per tree, round or epoch. */
  history?: HistoryPoint[];
  splitCounts?: SplitCounts;
  /** The features the model used. */
  features?: string[];
  usesVettingFeatures?: boolean;
  /** Test rows each permutation repeat scored. */
  permutationRows?: number;
  explanation?: ExplanationInfo;
  /** cvFolds: per-fold metrics and their mean ± sd over train + validation (the test split stays held out). */
  crossValidation?: CrossValidationInfo;
  /** Where the out-of-fold predictions are stored: a prediction batch of the run (source `out-of-fold`). */
  outOfFoldPredictionId?: string;
  calibration?: CalibrationInfo;
  /** decisionTuning: the fitted per-class scales and macro-F1 before / after. */
  decisionTuning?: DecisionTuningInfo;
  refit?: RefitInfo;
  crossMission?: CrossMissionResult;
  /** soft_voting: its member runs and their weights. */
  ensemble?: EnsembleInfo;
}

// ---------------------------------------------------------------------------------------------------------------
// Model selection options (issue 14): a session's, copied into each run's config

export interface SelectionOptions {
  /** Grouped stratified k-fold over train + validation, 2–10; null: off. */
  cvFolds: number | null;
  /** Null: the model's probabilities as they are. */
  calibration: CalibrationMethod | null;
  calibrateOn: CalibrateOn;
  refit: RefitMode;
  /** Another NASA mission to evaluate a harmonised-feature model on; null: none. */
  crossMission: string | null;
  /** MACRO_F1: per-class decision scales fitted on out-of-fold predictions (cvFolds) or the validation split. */
  decisionTuning: DecisionTuning;
  /** Seconds a run may train, at most MAX_TRAINING_SECONDS; null: MAX_TRAINING_SECONDS. */
  maxTrainingSeconds: number | null;
}

export const DEFAULT_SELECTION: SelectionOptions = {
  cvFolds: null,
  calibration: null,
  calibrateOn: 'VALIDATION',
  refit: 'NONE',
  crossMission: null,
  decisionTuning: 'NONE',
  maxTrainingSeconds: null,
};

export const MIN_CV_FOLDS = 2;
export const MAX_CV_FOLDS = 10;
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['sigmoid', 'isotonic'];
export const CALIBRATE_ON_VALUES: readonly CalibrateOn[] = ['VALIDATION', 'OUT_OF_FOLD'];
export const REFIT_VALUES: readonly RefitMode[] = ['NONE', 'TRAIN_VALIDATION', 'ALL_LABELLED'];
export const DECISION_TUNING_VALUES: readonly DecisionTuning[] = ['NONE', 'MACRO_F1'];

/** Why decisionTuning cannot run (the session check and the pipeline say the same). */
export const DECISION_TUNING_NEEDS =
  'decisionTuning MACRO_F1 fits its class scales on held-out rows: set cvFolds (2–10) for out-of-fold predictions, or a validation split above 0.';

/**
 * A session's stored options, checked field by field (the sessions.selection column's checker): a missing field (a
 * row stored before the option existed) reads as its default; a field that is present but not understood means a
 * corrupt row, a server fault, never silently a different configuration.
 */
export const checkSelection: Checker<SelectionOptions> = fieldsOf<SelectionOptions>()({
  cvFolds: withDefault(nullable(integerIn(MIN_CV_FOLDS, MAX_CV_FOLDS)), null),
  calibration: withDefault(nullable(oneOf(CALIBRATION_METHODS)), null),
  calibrateOn: withDefault(oneOf(CALIBRATE_ON_VALUES), DEFAULT_SELECTION.calibrateOn),
  refit: withDefault(oneOf(REFIT_VALUES), DEFAULT_SELECTION.refit),
  crossMission: withDefault(nullable(isString), null),
  decisionTuning: withDefault(oneOf(DECISION_TUNING_VALUES), DEFAULT_SELECTION.decisionTuning),
  // Checked against the server's limit where it is used (the limit may have been lowered since).
  maxTrainingSeconds: withDefault(nullable(integerIn(1, Number.MAX_SAFE_INTEGER)), null),
});

const checkStoredSelection = storedColumn('sessions.selection', checkSelection);

/** A session's options as stored (null: a row stored before them, all off); a malformed value throws (a plain Error). */
export function readSelection(value: unknown): SelectionOptions {
  return value === null || value === undefined ? DEFAULT_SELECTION : checkStoredSelection(value);
}

/**
 * Why options cannot train with this data and split (the field to change and the message), or null. Checked when
 * a session is configured and again when a run starts (the split or the data may have changed in between).
 */
export function selectionProblem(
  selection: SelectionOptions,
  context: { validationShare: number; datasetId: string | null; datasetIsNasa: boolean },
): { field: string; message: string } | null {
  if (selection.calibration !== null) {
    if (selection.calibrateOn === 'OUT_OF_FOLD' && selection.cvFolds === null)
      return { field: 'calibrateOn', message: 'calibrateOn OUT_OF_FOLD needs cross-validation: set cvFolds (2–10).' };
    if (selection.calibrateOn === 'VALIDATION' && context.validationShare <= 0)
      return {
        field: 'calibrateOn',
        message:
          'calibrateOn VALIDATION needs a validation split: set split.validation above 0, or calibrate OUT_OF_FOLD with cvFolds.',
      };
  }
  if (selection.decisionTuning === 'MACRO_F1' && selection.cvFolds === null && context.validationShare <= 0)
    return { field: 'decisionTuning', message: DECISION_TUNING_NEEDS };
  if (selection.crossMission !== null) {
    if (!context.datasetIsNasa)
      return {
        field: 'crossMissionDatasetId',
        message: 'Cross-mission evaluation trains on a NASA mission table (kepler, k2, tess): choose one as datasetId.',
      };
    if (selection.crossMission === context.datasetId)
      return {
        field: 'crossMissionDatasetId',
        message: `crossMissionDatasetId must be another mission than the one trained on (${selection.crossMission}).`,
      };
  }
  return null;
}

/** The `source` of the prediction batch that holds a run's out-of-fold predictions. */
export const OUT_OF_FOLD_SOURCE = 'out-of-fold';

// ---------------------------------------------------------------------------------------------------------------
// When a session can train

/** The parts of a session's config that must be chosen before training. */
export interface TrainableConfig {
  datasetId: string | null;
  modelType: ModelTypeId | null;
}

export type MissingForTraining = 'datasetId' | 'modelType';

/** Why a start is refused for each missing part (the field named is the one to set). */
export const MISSING_FOR_TRAINING: Readonly<Record<MissingForTraining, string>> = {
  datasetId: 'Choose a dataset first (configureSession datasetId).',
  modelType: 'Choose a model type first (configureSession modelType).',
};

/** What must still be chosen before a session can train, in the order a start reports it; empty when nothing is. */
export function missingForTraining(config: TrainableConfig): MissingForTraining[] {
  const missing: MissingForTraining[] = [];
  if (!config.datasetId) missing.push('datasetId');
  if (!config.modelType) missing.push('modelType');
  return missing;
}

/** The data and the model are chosen (narrows the config's type for the start of a run). */
export function hasTrainingChoices<T extends TrainableConfig>(
  config: T,
): config is T & { datasetId: string; modelType: ModelTypeId } {
  return missingForTraining(config).length === 0;
}

/**
 * The one "ready to train" rule: the data and the model are chosen, and no run of the session is waiting or
 * training (a start would then be a CONFLICT).
 */
export function readyToTrain(config: TrainableConfig, hasActiveRun: boolean): boolean {
  return !hasActiveRun && missingForTraining(config).length === 0;
}
