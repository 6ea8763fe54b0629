/**
 * The checkers of what sessions, datasets, prediction batches and searches store as JSON, one per stored type
 * (a run's are in stored-run.ts): src/db/stored-columns.ts applies them to every row read.
 */
import type { Dimension, Resource, SearchSpace } from '../ml/selection/search-space.js';
import type { StoredColumn, StoredDatasetDetails, StoredPreview } from './dataset-store.js';
import {
  arrayOf,
  fieldsOf,
  byTag,
  isBoolean,
  isInteger,
  isJson,
  isNumber,
  isString,
  isStrings,
  nullable,
  objectOf,
  oneOf,
  optional,
  recordOf,
  type Checker,
} from './json.js';
import type { PredictionSummary } from './prediction.js';
import { DECISION_TUNING_VALUES } from './run.js';
import { SEARCH_SCORINGS, SEARCH_STRATEGIES, type SearchConfig, type SearchTrial } from './search.js';
import type { JsonObject, StepperProgress } from './session.js';
import {
  checkHyperparameterValue,
  checkHyperparameters,
  checkModelTypeId,
  checkSearchRunConfig,
} from './stored-run.js';

// Datasets

const checkStoredColumn: Checker<StoredColumn> = fieldsOf<StoredColumn>()({
  name: isString,
  type: oneOf(['numeric', 'text'] as const),
  missingShare: isNumber,
  min: optional(isNumber),
  max: optional(isNumber),
  distinct: optional(isNumber),
});

/** An upload's summary (rows stored before migration 0002 have none: the column is null). */
export const checkDatasetDetails: Checker<StoredDatasetDetails> = fieldsOf<StoredDatasetDetails>()({
  rowCount: isInteger,
  columns: arrayOf(checkStoredColumn),
  labelColumn: isString,
  groupColumn: nullable(isString),
  classes: isStrings,
  classCounts: arrayOf(objectOf({ label: isString, count: isInteger })),
  featureColumns: isStrings,
  featureCandidates: isStrings,
  vettingColumns: isStrings,
  idColumns: isStrings,
});

export const checkPreview: Checker<StoredPreview> = fieldsOf<StoredPreview>()({
  columns: isStrings,
  rows: arrayOf(arrayOf(nullable(isString))),
});

// Sessions

export const checkStepperProgress: Checker<StepperProgress> = fieldsOf<StepperProgress>()({
  step1: isBoolean,
  step2: isBoolean,
  step3: isBoolean,
});

/** A client's free-form settings: any JSON object, kept as it is (bounded when written: checkJsonShape). */
export const checkJsonObject: Checker<JsonObject> = recordOf(isJson);

// Prediction batches

export const checkPredictionSummary: Checker<PredictionSummary> = fieldsOf<PredictionSummary>()({
  rowCount: isInteger,
  counts: arrayOf(objectOf({ label: isString, count: isInteger })),
  meanConfidence: isNumber,
  meanProbabilities: arrayOf(objectOf({ label: isString, probability: isNumber })),
  rowsWithoutFeatures: isInteger,
  missingFeatures: isStrings,
});

/** A predicted row's identifying columns. */
export const checkRowIds: Checker<Record<string, string>> = recordOf(isString);

// Searches

const numericDimension = <K extends 'int' | 'float'>(kind: K) =>
  objectOf({ name: isString, kind: oneOf([kind]), low: isNumber, high: isNumber, log: optional(isBoolean) });
const checkDimension: Checker<Dimension> = byTag('kind', {
  int: numericDimension('int'),
  float: numericDimension('float'),
  choice: objectOf({ name: isString, kind: oneOf(['choice'] as const), values: arrayOf(checkHyperparameterValue) }),
});
const checkResource: Checker<Resource> = byTag('kind', {
  param: objectOf({
    kind: oneOf(['param'] as const),
    param: oneOf(['n_estimators', 'epochs'] as const),
    full: isNumber,
    least: isNumber,
  }),
  rows: objectOf({ kind: oneOf(['rows'] as const) }),
});
const checkSearchSpace: Checker<SearchSpace> = fieldsOf<SearchSpace>()({
  modelType: checkModelTypeId,
  dimensions: arrayOf(checkDimension),
  fixed: checkHyperparameters,
  resource: checkResource,
});

/** A search as started: searches stored before decision tuning lack it (= NONE, left missing as they were). */
export const checkSearchConfig: Checker<SearchConfig> = fieldsOf<SearchConfig>()({
  strategy: oneOf(SEARCH_STRATEGIES),
  scoring: oneOf(SEARCH_SCORINGS),
  cvFolds: isInteger,
  budgetSeconds: isNumber,
  maxTrials: nullable(isInteger),
  seed: isInteger,
  spaces: arrayOf(checkSearchSpace),
  datasetId: isString,
  run: checkSearchRunConfig,
  decisionTuning: optional(oneOf(DECISION_TUNING_VALUES)),
});

export const checkSearchTrial: Checker<SearchTrial> = fieldsOf<SearchTrial>()({
  trial: isInteger,
  candidate: isInteger,
  modelType: checkModelTypeId,
  params: checkHyperparameters,
  rung: isInteger,
  resourceShare: isNumber,
  resourceAmount: isNumber,
  status: oneOf(['RUNNING', 'DONE', 'FAILED'] as const),
  score: optional(nullable(isNumber)),
  sd: optional(nullable(isNumber)),
  foldScores: optional(arrayOf(isNumber)),
  fitSeconds: optional(isNumber),
  seconds: optional(isNumber),
  error: optional(isString),
});
