/**
 * Tables. JSON columns hold plain values (config snapshots, metrics); they are typed `unknown` here and every row
 * read is checked field by field into its src/domain type (stored-columns.ts, `Row` in store.ts). Enum columns have
 * no CHECK constraint (the SQL is the same) and are checked when read. Ids are server-made random strings.
 */
import { sqliteTable, text, integer, real, blob, index, primaryKey } from 'drizzle-orm/sqlite-core';
import { TASKS } from '../domain/data.js';
import { RUN_STAGES, RUN_STATUSES } from '../domain/run.js';
import { DATA_SOURCES } from '../domain/session.js';
import { SEARCH_SCORINGS, SEARCH_STRATEGIES } from '../domain/search.js';
import type { Row } from './store.js';

const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull();

/** Uploaded CSV datasets. The NASA missions are not rows here: they come from the data folder. */
export const datasets = sqliteTable(
  'datasets',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** Server-made file name inside UPLOAD_DIR (never a client path). */
    fileName: text('file_name').notNull(),
    originalName: text('original_name'),
    /** NASA mission whose format the upload has, or null for a custom CSV. */
    mission: text('mission'),
    labelColumn: text('label_column').notNull(),
    rowCount: integer('row_count').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    checksum: text('checksum').notNull(),
    /** What listing needs (row count, columns, classes…), stored at upload so no request parses the CSV; null before 0002. */
    details: text('details', { mode: 'json' }),
    /** The first rows (column order + cells), stored at upload so previewRows within them reads no CSV; null before 0002. */
    preview: text('preview', { mode: 'json' }),
    /** The owner (src/services/owners.ts) who created it; null for rows older than migration 0004. */
    ownerId: text('owner_id'),
    /**
     * true when it was created without an owner token (the original web client, curl): anyone holding its unguessable
     * id may use it, as the original server's contract had it; it is never listed to anyone but its owner.
     */
    sharedById: integer('shared_by_id', { mode: 'boolean' }).notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index('datasets_owner_idx').on(t.ownerId, t.createdAt)],
);

/**
 * The bytes of an upload, gzip-compressed, so that every process (a worker on another machine) can read it; the file
 * in UPLOAD_DIR is a local cache of it (migration 0003).
 */
export const datasetFiles = sqliteTable('dataset_files', {
  datasetId: text('dataset_id')
    .primaryKey()
    .references(() => datasets.id, { onDelete: 'cascade' }),
  /** gzip of the CSV as uploaded. */
  bytes: blob('bytes', { mode: 'buffer' }).notNull(),
  /** Size of the CSV (uncompressed) and its sha256, as on the datasets row. */
  sizeBytes: integer('size_bytes').notNull(),
  checksum: text('checksum').notNull(),
  createdAt: createdAt(),
});

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    datasetId: text('dataset_id'),
    modelType: text('model_type'),
    hyperparameters: text('hyperparameters', { mode: 'json' }).notNull(),
    features: text('features', { mode: 'json' }),
    task: text('task', { enum: TASKS }).notNull(),
    trainShare: real('train_share').notNull(),
    validationShare: real('validation_share').notNull(),
    testShare: real('test_share').notNull(),
    seed: integer('seed').notNull(),
    useVettingFeatures: integer('use_vetting_features', { mode: 'boolean' }).notNull(),
    // The original web client's stepper (1 data → 2 model → 3 hyperparameters), persisted with the session.
    currentStep: integer('current_step').notNull().default(1),
    stepProgress: text('step_progress', { mode: 'json' }),
    /** The data source the user chose; null = the chosen dataset's kind. `user` with no upload yet has no dataset. */
    dataSource: text('data_source', { enum: DATA_SOURCES }),
    preprocessingConfig: text('preprocessing_config', { mode: 'json' }),
    /** The data the session's results predict; null = the held-out test split of the trained run. */
    testDatasetId: text('test_dataset_id'),
    /** Model-selection options (cvFolds, calibration, refit, cross-mission); null = all off (migration SQLite 0006, PostgreSQL 0003). */
    selection: text('selection', { mode: 'json' }),
    createdAt: createdAt(),
    /** Last change or use: a session idle longer than SESSION_IDLE_HOURS is swept with its runs. */
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** The owner (src/services/owners.ts) who created it; null for rows older than migration 0004. */
    ownerId: text('owner_id'),
    /**
     * true when it was created without an owner token (the original web client, curl): anyone holding its unguessable
     * id may use it, as the original server's contract had it; it is never listed to anyone but its owner.
     */
    sharedById: integer('shared_by_id', { mode: 'boolean' }).notNull().default(true),
  },
  (t) => [index('sessions_owner_idx').on(t.ownerId, t.createdAt), index('sessions_updated_idx').on(t.updatedAt)],
);

export const trainingRuns = sqliteTable(
  'training_runs',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** Monotonic per database: FIFO order of the queue and cursor of run paging. */
    seq: integer('seq').notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    stage: text('stage', { enum: RUN_STAGES }).notNull(),
    progress: real('progress').notNull(),
    step: integer('step').notNull(),
    totalSteps: integer('total_steps').notNull(),
    message: text('message'),
    /** Immutable snapshot of the session config that this run trains. */
    config: text('config', { mode: 'json' }).notNull(),
    datasetId: text('dataset_id').notNull(),
    modelType: text('model_type').notNull(),
    datasetChecksum: text('dataset_checksum'),
    versions: text('versions', { mode: 'json' }),
    metrics: text('metrics', { mode: 'json' }),
    featureImportance: text('feature_importance', { mode: 'json' }),
    timings: text('timings', { mode: 'json' }),
    details: text('details', { mode: 'json' }),
    error: text('error'),
    /** 1 for the first try; a queue that retries a run after its worker died counts up (migration 0003). */
    attempt: integer('attempt').notNull().default(1),
    createdAt: createdAt(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('training_runs_session_idx').on(t.sessionId, t.seq),
    index('training_runs_status_idx').on(t.status, t.seq),
  ],
);

/** Every progress event of a run, so the loss curve can be drawn after the fact. */
export const progressEvents = sqliteTable(
  'progress_events',
  {
    runId: text('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    stage: text('stage', { enum: RUN_STAGES }).notNull(),
    progress: real('progress').notNull(),
    step: integer('step').notNull(),
    totalSteps: integer('total_steps').notNull(),
    metrics: text('metrics', { mode: 'json' }),
    message: text('message'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
);

/** The trained artefact of a successful run: preprocessing + model, serialised. */
export const models = sqliteTable('models', {
  runId: text('run_id')
    .primaryKey()
    .references(() => trainingRuns.id, { onDelete: 'cascade' }),
  format: text('format').notNull(),
  bytes: blob('bytes', { mode: 'buffer' }).notNull(),
  sizeBytes: integer('size_bytes').notNull(),
  createdAt: createdAt(),
});

/**
 * The held-out test split as a run's metrics scored it (row ids, stars, true classes, probabilities): what
 * TrainingRun.testPredictions pages and compareRuns reads. Apart from the run row, so reading a run does not parse
 * tens of thousands of rows (a 200,000-row table holds out 60,000). Checked field by field when read (held-out.ts).
 */
export const testPredictions = sqliteTable('test_predictions', {
  runId: text('run_id')
    .primaryKey()
    .references(() => trainingRuns.id, { onDelete: 'cascade' }),
  rowCount: integer('row_count').notNull(),
  predictions: text('predictions', { mode: 'json' }).notNull(),
  /**
   * The probabilities (rows × classes, row-major) as little-endian float64s; `predictions` holds the rest. Null
   * in rows stored before this column existed, whose `predictions` JSON holds them. Binary: writing and parsing 120,000
   * numbers as JSON text took ~30 + ~50 ms of a 200,000-row run's after-fit time and of every page read.
   */
  proba: blob('proba', { mode: 'buffer' }),
});

export const predictions = sqliteTable(
  'predictions',
  {
    id: text('id').primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id'),
    source: text('source').notNull(),
    rowCount: integer('row_count').notNull(),
    classes: text('classes', { mode: 'json' }).notNull(),
    idColumns: text('id_columns', { mode: 'json' }).notNull(),
    summary: text('summary', { mode: 'json' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('predictions_run_idx').on(t.runId)],
);

export const predictionRows = sqliteTable(
  'prediction_rows',
  {
    predictionId: text('prediction_id')
      .notNull()
      .references(() => predictions.id, { onDelete: 'cascade' }),
    rowIndex: integer('row_index').notNull(),
    ids: text('ids', { mode: 'json' }).notNull(),
    label: text('label').notNull(),
    confidence: real('confidence').notNull(),
    /** Probabilities in the run's class order. */
    probabilities: text('probabilities', { mode: 'json' }).notNull(),
    warnings: text('warnings', { mode: 'json' }),
  },
  (t) => [primaryKey({ columns: [t.predictionId, t.rowIndex] })],
);

/**
 * Server-wide values every process must agree on (migration 0004): `owner_key`, the key signing owner tokens when
 * SECRET_KEY is not set, made once by the first server so a restart or a second server keeps tokens valid.
 */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** Hyperparameter searches (issue 14 item 2): a queued job like a run; its best trial is refitted as a run. */
export const searches = sqliteTable(
  'searches',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    strategy: text('strategy', { enum: SEARCH_STRATEGIES }).notNull(),
    scoring: text('scoring', { enum: SEARCH_SCORINGS }).notNull(),
    /** Spaces, budget, seed and the session's config, as started (immutable). */
    config: text('config', { mode: 'json' }).notNull(),
    /** Every trial in start order (the leaderboard is derived from them: leaderboardOf). */
    trials: text('trials', { mode: 'json' }).notNull(),
    /** The run refitting the best trial's parameters. */
    bestRunId: text('best_run_id'),
    message: text('message'),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('searches_session_idx').on(t.sessionId, t.createdAt), index('searches_status_idx').on(t.status)],
);

// Rows as services see them: JSON columns checked and typed (stored-columns.ts).
export type DatasetRow = Row<'datasets'>;
export type SessionRow = Row<'sessions'>;
export type TrainingRunRow = Row<'trainingRuns'>;
export type ProgressEventRow = Row<'progressEvents'>;
export type PredictionRow = Row<'predictions'>;
export type PredictionRowRow = Row<'predictionRows'>;
export type SearchRow = Row<'searches'>;
