/**
 * The checkers of what a training run stores as JSON (training_runs config / versions / metrics /
 * feature_importance / timings / details, progress_events metrics), one per stored type: src/db/stored-columns.ts
 * applies them to every row read, so a resolver never sees a value that is not its type. Fields added after rows
 * were first stored read as the value older versions meant (noted where so).
 */
import type { Calibration, CalibrationBin, ClassMetrics, Curve } from '../ml/evaluate.js';
import type { PermutationInfo } from '../ml/pipeline.js';
import { MODEL_TYPE_IDS } from '../ml/catalog/specs.js';
import { MISSION_IDS } from '../ml/data/missions.js';
import { HARMONISED_FEATURES } from '../ml/selection/harmonised-features.js';
import type { CalibrationMeasures, ReliabilityCurve } from '../ml/selection/calibration.js';
import type { FoldResult, MetricSummary, ScalarMetrics } from '../ml/selection/cross-validate.js';
import type { ClassBalance } from '../ml/selection/cross-mission.js';
import type { HyperparameterValue } from '../ml/types.js';
import { TASKS, type SplitCounts, type SplitSizes } from './data.js';
import {
  arrayOf,
  fieldsOf,
  either,
  isBoolean,
  isInteger,
  isNumber,
  isNumbers,
  isString,
  isStrings,
  nullable,
  objectOf,
  oneOf,
  optional,
  optionalOrNull,
  recordOf,
  withDefault,
  type Checker,
} from './json.js';
import {
  CALIBRATE_ON_VALUES,
  CALIBRATION_METHODS,
  DECISION_TUNING_VALUES,
  REFIT_VALUES,
  type CalibrationInfo,
  type CrossMissionResult,
  type CrossValidationInfo,
  type DecisionTuningInfo,
  type ExplanationInfo,
  type FeatureImportanceEntry,
  type HistoryPoint,
  type Hyperparameters,
  type ModelTypeId,
  type ProgressMetrics,
  type RefitInfo,
  type RunConfig,
  type RunDetails,
  type RunMetrics,
  type RunTimings,
} from './run.js';
import type { EnsembleInfo } from '../ml/selection/ensemble-run.js';

const number = isNumber;
const numberOrNull = nullable(isNumber);

export const checkModelTypeId: Checker<ModelTypeId> = oneOf(MODEL_TYPE_IDS);

export const checkHyperparameterValue: Checker<HyperparameterValue> = (value) =>
  value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
    ? value
    : either(isNumbers, isStrings)(value);

/** Any model's hyperparameters (checked against the catalog where they are used: it may have changed since). */
export const checkHyperparameters: Checker<Hyperparameters> = recordOf(checkHyperparameterValue);

const checkSplitSizes: Checker<SplitSizes> = fieldsOf<SplitSizes>()({
  train: number,
  validation: number,
  test: number,
});
const checkSplitCounts: Checker<SplitCounts> = fieldsOf<SplitCounts>()({
  train: isInteger,
  validation: isInteger,
  test: isInteger,
});

/** A run config's fields beside the model (what a search's trials share). */
const runConfigFields = {
  features: nullable(isStrings),
  useVettingFeatures: isBoolean,
  task: oneOf(TASKS),
  split: checkSplitSizes,
  seed: isInteger,
  cvFolds: optional(nullable(isInteger)),
  calibration: optional(nullable(oneOf(CALIBRATION_METHODS))),
  calibrateOn: optional(nullable(oneOf(CALIBRATE_ON_VALUES))),
  refit: optional(nullable(oneOf(REFIT_VALUES))),
  decisionTuning: optional(nullable(oneOf(DECISION_TUNING_VALUES))),
  crossMission: optional(nullable(isString)),
  maxTrainingSeconds: optional(nullable(isNumber)),
};

/** Run config: runs stored before model selection (issue 14) lack its options (= off). */
export const checkRunConfig: Checker<RunConfig> = fieldsOf<RunConfig>()({
  modelType: checkModelTypeId,
  hyperparameters: checkHyperparameters,
  ...runConfigFields,
});

/** A search's shared run config (a run config without the model). */
export const checkSearchRunConfig: Checker<Omit<RunConfig, 'modelType' | 'hyperparameters'>> =
  objectOf(runConfigFields);

/** Library name → version the run was trained with. */
export const checkVersions: Checker<Record<string, string>> = recordOf(isString);

const checkClassMetrics: Checker<ClassMetrics> = fieldsOf<ClassMetrics>()({
  label: isString,
  precision: numberOrNull,
  recall: numberOrNull,
  f1: numberOrNull,
  support: number,
  rocAuc: numberOrNull,
  prAuc: numberOrNull,
});
const checkCurve: Checker<Curve> = fieldsOf<Curve>()({
  label: isString,
  x: isNumbers,
  y: isNumbers,
  thresholds: arrayOf(numberOrNull),
});
const checkCalibrationBin: Checker<CalibrationBin> = fieldsOf<CalibrationBin>()({
  lower: number,
  upper: number,
  count: number,
  meanPredicted: numberOrNull,
  observed: numberOrNull,
});
const checkCalibration: Checker<Calibration> = fieldsOf<Calibration>()({
  topClass: arrayOf(checkCalibrationBin),
  expectedCalibrationError: numberOrNull,
  perClass: arrayOf(objectOf({ label: isString, bins: arrayOf(checkCalibrationBin) })),
});
const averaged = objectOf({ precision: numberOrNull, recall: numberOrNull, f1: numberOrNull });

/** Test-split metrics of a run (also a cross-mission result's). */
export const checkRunMetrics: Checker<RunMetrics> = fieldsOf<RunMetrics>()({
  numSamples: number,
  classes: isStrings,
  accuracy: numberOrNull,
  balancedAccuracy: numberOrNull,
  perClass: arrayOf(checkClassMetrics),
  macro: averaged,
  weighted: averaged,
  rocAucOvrMacro: numberOrNull,
  prAucMacro: numberOrNull,
  logLoss: numberOrNull,
  brierScore: numberOrNull,
  confusionMatrix: objectOf({ labels: isStrings, matrix: arrayOf(isNumbers) }),
  rocCurves: arrayOf(checkCurve),
  prCurves: arrayOf(checkCurve),
  calibration: checkCalibration,
  majorityBaseline: objectOf({ label: isString, accuracy: numberOrNull, macroF1: numberOrNull }),
});

/** Feature importance: runs stored before its confidence interval lack permutationCi95 (= not computed). */
export const checkFeatureImportance: Checker<FeatureImportanceEntry[]> = arrayOf(
  objectOf({
    feature: isString,
    importance: number,
    permutationMean: number,
    permutationStd: number,
    permutationImportance: number,
    permutationCi95: withDefault(numberOrNull, null),
  }),
);

/** Timings: every part is optional (older runs lack the newer parts). */
export const checkRunTimings: Checker<RunTimings> = fieldsOf<RunTimings>()({
  queuedSeconds: optional(number),
  loadSeconds: optional(number),
  preprocessSeconds: optional(number),
  fitSeconds: optional(number),
  evaluateSeconds: optional(number),
  explainSeconds: optional(number),
  permutationSeconds: optional(number),
  startSeconds: optional(number),
  packSeconds: optional(number),
  handOffSeconds: optional(number),
  saveModelSeconds: optional(number),
  saveTestPredictionsSeconds: optional(number),
  totalSeconds: optional(number),
});

/** A non-finite figure is stored as null (jsonSafe): read as not measured. */
const checkHistoryPoint: Checker<HistoryPoint> = fieldsOf<HistoryPoint>()({
  step: number,
  loss: optionalOrNull(number),
  valLoss: optionalOrNull(number),
  valAccuracy: optionalOrNull(number),
});

const checkPermutationInfo: Checker<PermutationInfo> = fieldsOf<PermutationInfo>()({
  method: oneOf(['FOREST_EXACT', 'LINEAR_EXACT', 'MODEL_PREDICT'] as const),
  description: isString,
  metric: oneOf(['macro-F1'] as const),
  rowsPerRepeat: number,
  rowsTotal: number,
  sampling: oneOf(['ALL', 'SAMPLE_PER_REPEAT', 'FIXED_SAMPLE'] as const),
  repeats: number,
  seed: number,
  maxCi95: numberOrNull,
  seconds: number,
});
const checkExplanation: Checker<ExplanationInfo> = fieldsOf<ExplanationInfo>()({ permutation: checkPermutationInfo });

const checkScalarMetrics: Checker<ScalarMetrics> = recordOf(numberOrNull);
const checkMetricSummary: Checker<MetricSummary> = fieldsOf<MetricSummary>()({
  mean: numberOrNull,
  sd: numberOrNull,
  min: numberOrNull,
  max: numberOrNull,
  definedFolds: number,
});
const checkFoldResult: Checker<FoldResult> = fieldsOf<FoldResult>()({
  fold: number,
  trainRows: number,
  testRows: number,
  testClassCounts: isNumbers,
  metrics: checkScalarMetrics,
  fitSeconds: number,
  predictSeconds: number,
});
const checkCrossValidation: Checker<CrossValidationInfo> = fieldsOf<CrossValidationInfo>()({
  folds: number,
  seed: numberOrNull,
  rows: number,
  groupedBy: oneOf(['STAR', 'ROW'] as const),
  starsInSeveralFolds: number,
  perFold: arrayOf(checkFoldResult),
  summary: recordOf(checkMetricSummary),
  pooled: checkScalarMetrics,
  fitSeconds: number,
});

const checkReliabilityCurve: Checker<ReliabilityCurve> = fieldsOf<ReliabilityCurve>()({
  observed: isNumbers,
  predicted: isNumbers,
  counts: isNumbers,
  edges: isNumbers,
});
const checkCalibrationMeasures: Checker<CalibrationMeasures> = fieldsOf<CalibrationMeasures>()({
  brierScore: number,
  binaryBrierScore: numberOrNull,
  logLoss: number,
  expectedCalibrationError: number,
  reliability: arrayOf(objectOf({ label: isString, curve: checkReliabilityCurve })),
});
const beforeAfterMeasures = objectOf({ before: checkCalibrationMeasures, after: checkCalibrationMeasures });
const checkCalibrationInfo: Checker<CalibrationInfo> = fieldsOf<CalibrationInfo>()({
  method: oneOf(CALIBRATION_METHODS),
  fittedOn: oneOf(CALIBRATE_ON_VALUES),
  fittedRows: number,
  description: isString,
  calibrationRows: beforeAfterMeasures,
  test: beforeAfterMeasures,
});

const beforeAfter = objectOf({ before: number, after: number });
const checkDecisionTuningInfo: Checker<DecisionTuningInfo> = fieldsOf<DecisionTuningInfo>()({
  objective: oneOf(['MACRO_F1'] as const),
  fittedOn: oneOf(['OUT_OF_FOLD', 'VALIDATION'] as const),
  fittedRows: number,
  classScales: isNumbers,
  fitted: beforeAfter,
  test: beforeAfter,
  description: isString,
});

const checkRefitInfo: Checker<RefitInfo> = fieldsOf<RefitInfo>()({
  on: oneOf(['TRAIN_VALIDATION', 'ALL_LABELLED'] as const),
  rows: number,
  seconds: number,
  description: isString,
});

const checkClassBalance: Checker<ClassBalance> = fieldsOf<ClassBalance>()({
  mission: oneOf(MISSION_IDS),
  rows: number,
  counts: arrayOf(objectOf({ label: isString, count: number, share: number })),
});
const checkCrossMission: Checker<CrossMissionResult> = fieldsOf<CrossMissionResult>()({
  trainMission: oneOf(MISSION_IDS),
  testMission: oneOf(MISSION_IDS),
  task: oneOf(TASKS),
  features: arrayOf(oneOf(HARMONISED_FEATURES)),
  trainBalance: checkClassBalance,
  testBalance: checkClassBalance,
  metrics: checkRunMetrics,
  fitSeconds: number,
});

const checkEnsembleInfo: Checker<EnsembleInfo> = fieldsOf<EnsembleInfo>()({
  members: arrayOf(objectOf({ runId: isString, modelType: checkModelTypeId, weight: number })),
  weightsFrom: oneOf(['EQUAL', 'GIVEN', 'OUT_OF_FOLD'] as const),
  outOfFold: nullable(objectOf({ rows: number, macroF1: number, equalWeightsMacroF1: number })),
  description: isString,
});

/** What a run learnt beyond its metrics: every part optional (older runs lack the newer parts). */
export const checkRunDetails: Checker<RunDetails> = fieldsOf<RunDetails>()({
  warnings: optional(isStrings),
  history: optional(arrayOf(checkHistoryPoint)),
  splitCounts: optional(checkSplitCounts),
  features: optional(isStrings),
  usesVettingFeatures: optional(isBoolean),
  permutationRows: optional(number),
  explanation: optional(checkExplanation),
  crossValidation: optional(checkCrossValidation),
  outOfFoldPredictionId: optional(isString),
  calibration: optional(checkCalibrationInfo),
  decisionTuning: optional(checkDecisionTuningInfo),
  refit: optional(checkRefitInfo),
  crossMission: optional(checkCrossMission),
  ensemble: optional(checkEnsembleInfo),
});

/** A progress event's figures. */
export const checkProgressMetrics: Checker<ProgressMetrics> = fieldsOf<ProgressMetrics>()({
  loss: optionalOrNull(number),
  valLoss: optionalOrNull(number),
  valAccuracy: optionalOrNull(number),
  fold: optional(number),
  folds: optional(number),
});
