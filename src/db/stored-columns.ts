/**
 * Every JSON column's checker (src/domain/stored-*.ts), applied by the Store to each row it reads: what a service
 * gets from a JSON column is its domain type, checked field by field, never a cast. Text columns holding one of a
 * fixed set of values (status, stage, model type, mission…: TypeScript-only, no CHECK constraint) are checked too. A corrupt or unreadable value
 * fails the read with an Error naming table.column and the field (a masked server fault, logged). The columns are
 * typed `unknown` in both schemas; `Row`/`NewRow` (store.ts) put the checked types on them, for reads and writes.
 * test_predictions.predictions is checked where it is read, against the run's class count (held-out.ts).
 */
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { TASKS } from '../domain/data.js';
import { RUN_STAGES, RUN_STATUSES, checkSelection } from '../domain/run.js';
import { SEARCH_SCORINGS, SEARCH_STRATEGIES } from '../domain/search.js';
import { DATA_SOURCES } from '../domain/session.js';
import { MISSION_IDS } from '../ml/data/missions.js';
import { arrayOf, isNumbers, isStrings, nullable, oneOf, storedColumn, type Checker } from '../domain/json.js';
import {
  checkFeatureImportance,
  checkHyperparameters,
  checkModelTypeId,
  checkProgressMetrics,
  checkRunConfig,
  checkRunDetails,
  checkRunMetrics,
  checkRunTimings,
  checkVersions,
} from '../domain/stored-run.js';
import {
  checkDatasetDetails,
  checkJsonObject,
  checkPredictionSummary,
  checkPreview,
  checkRowIds,
  checkSearchConfig,
  checkSearchTrial,
  checkStepperProgress,
} from '../domain/stored-shapes.js';
import * as schema from './schema.js';

type Checks = Record<string, Checker<unknown>>;

/** The same checkers, each throwing with its table.column (SQL names) in the message. */
function named<C extends Checks>(table: SQLiteTable, checks: C): C {
  const columns = getTableColumns(table);
  const out: Checks = {};
  for (const [key, check] of Object.entries(checks))
    out[key] = storedColumn(`${getTableName(table)}.${columns[key].name}`, check);
  // The same keys, each checker wrapped with its own return type kept.
  return out as C;
}

const status = oneOf(RUN_STATUSES);
const stage = oneOf(RUN_STAGES);

/** Table (Store name) → checked column → its checker; nullable columns allow null. */
export const STORED_JSON = {
  datasets: named(schema.datasets, {
    mission: nullable(oneOf(MISSION_IDS)),
    details: nullable(checkDatasetDetails),
    preview: nullable(checkPreview),
  }),
  sessions: named(schema.sessions, {
    modelType: nullable(checkModelTypeId),
    task: oneOf(TASKS),
    dataSource: nullable(oneOf(DATA_SOURCES)),
    hyperparameters: checkHyperparameters,
    features: nullable(isStrings),
    stepProgress: nullable(checkStepperProgress),
    preprocessingConfig: nullable(checkJsonObject),
    selection: nullable(checkSelection),
  }),
  trainingRuns: named(schema.trainingRuns, {
    status,
    stage,
    modelType: checkModelTypeId,
    config: checkRunConfig,
    versions: nullable(checkVersions),
    metrics: nullable(checkRunMetrics),
    featureImportance: nullable(checkFeatureImportance),
    timings: nullable(checkRunTimings),
    details: nullable(checkRunDetails),
  }),
  progressEvents: named(schema.progressEvents, { status, stage, metrics: nullable(checkProgressMetrics) }),
  predictions: named(schema.predictions, {
    classes: isStrings,
    idColumns: isStrings,
    summary: checkPredictionSummary,
  }),
  predictionRows: named(schema.predictionRows, {
    ids: checkRowIds,
    probabilities: isNumbers,
    warnings: nullable(isStrings),
  }),
  searches: named(schema.searches, {
    status,
    strategy: oneOf(SEARCH_STRATEGIES),
    scoring: oneOf(SEARCH_SCORINGS),
    config: checkSearchConfig,
    trials: arrayOf(checkSearchTrial),
  }),
};

export type StoredJson = typeof STORED_JSON;

const CHECKED: Readonly<Partial<Record<string, readonly (readonly [string, Checker<unknown>])[]>>> = Object.fromEntries(
  Object.entries(STORED_JSON).map(([table, checks]) => [table, Object.entries(checks)]),
);

/** Replaces each JSON column the row holds (a picked query may hold few) with its checked value. */
export function checkStoredRow(table: string, row: Record<string, unknown>): void {
  const checks = CHECKED[table];
  if (!checks) return;
  for (const [key, check] of checks) if (key in row) row[key] = check(row[key]);
}
