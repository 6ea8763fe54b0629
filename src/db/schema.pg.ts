/**
 * The PostgreSQL twin of schema.ts: the same tables, columns and row types (checked by schema-check.ts), so services
 * written once against the Store read and write either. Timestamps are `timestamptz` read as Date; JSON is `json`
 * with the same types (not jsonb: the text, so an object's key order, comes back as written, as from SQLite); reals
 * are double precision, blobs bytea as Buffer, booleans native.
 *
 * Tables. JSON columns hold plain values (config snapshots, metrics); they are typed `unknown` here and every row
 * read is checked field by field into its src/domain type (stored-columns.ts, `Row` in store.ts). Enum columns have
 * no CHECK constraint (the SQL is the same) and are checked when read. Ids are server-made random strings.
 */
import {
  pgTable,
  text,
  integer,
  doublePrecision,
  boolean,
  json,
  timestamp,
  customType,
  index,
  primaryKey,
} from 'drizzle-orm/pg-core';
import { TASKS } from '../domain/data.js';
import { RUN_STAGES, RUN_STATUSES } from '../domain/run.js';
import { DATA_SOURCES } from '../domain/session.js';
import { SEARCH_SCORINGS, SEARCH_STRATEGIES } from '../domain/search.js';

/** bytea as a Buffer, as SQLite's blob column gives it. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

const createdAt = () => timestamp('created_at', { mode: 'date', withTimezone: true }).notNull();

/** Uploaded CSV datasets. The NASA missions are not rows here: they come from the data folder. */
export const datasets = pgTable(
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
    details: json('details'),
    /** The first rows (column order + cells), stored at upload so previewRows within them reads no CSV; null before 0002. */
    preview: json('preview'),
    /** The owner (src/services/owners.ts) who created it; null for rows older than migration 0004. */
    ownerId: text('owner_id'),
    /**
     * true when it was created without an owner token (the original web client, curl): anyone holding its unguessable
     * id may use it, as the original server's contract had it; it is never listed to anyone but its owner.
     */
    sharedById: boolean('shared_by_id').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index('datasets_owner_idx').on(t.ownerId, t.createdAt)],
);

/**
 * The bytes of an upload, gzip-compressed, so that every process (a worker on another machine) can read it; the file
 * in UPLOAD_DIR is a local cache of it (migration 0003).
 */
export const datasetFiles = pgTable('dataset_files', {
  datasetId: text('dataset_id')
    .primaryKey()
    .references(() => datasets.id, { onDelete: 'cascade' }),
  /** gzip of the CSV as uploaded. */
  bytes: bytea('bytes').notNull(),
  /** Size of the CSV (uncompressed) and its sha256, as on the datasets row. */
  sizeBytes: integer('size_bytes').notNull(),
  checksum: text('checksum').notNull(),
  createdAt: createdAt(),
});

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    datasetId: text('dataset_id'),
    modelType: text('model_type'),
    hyperparameters: json('hyperparameters').notNull(),
    features: json('features'),
    task: text('task', { enum: TASKS }).notNull(),
    trainShare: doublePrecision('train_share').notNull(),
    validationShare: doublePrecision('validation_share').notNull(),
    testShare: doublePrecision('test_share').notNull(),
    seed: integer('seed').notNull(),
    useVettingFeatures: boolean('use_vetting_features').notNull(),
    // The original web client's stepper (1 data → 2 model → 3 hyperparameters), persisted with the session.
    currentStep: integer('current_step').notNull().default(1),
    stepProgress: json('step_progress'),
    /** The data source the user chose; null = the chosen dataset's kind. `user` with no upload yet has no dataset. */
    dataSource: text('data_source', { enum: DATA_SOURCES }),
    preprocessingConfig: json('preprocessing_config'),
    /** The data the session's results predict; null = the held-out test split of the trained run. */
    testDatasetId: text('test_dataset_id'),
    /** Model-selection options (cvFolds, calibration, refit, cross-mission); null = all off (migration SQLite 0006, PostgreSQL 0003). */
    selection: json('selection'),
    createdAt: createdAt(),
    /** Last change or use: a session idle longer than SESSION_IDLE_HOURS is swept with its runs. */
    updatedAt: timestamp('updated_at', { mode: 'date', withTimezone: true }).notNull(),
    /** The owner (src/services/owners.ts) who created it; null for rows older than migration 0004. */
    ownerId: text('owner_id'),
    /**
     * true when it was created without an owner token (the original web client, curl): anyone holding its unguessable
     * id may use it, as the original server's contract had it; it is never listed to anyone but its owner.
     */
    sharedById: boolean('shared_by_id').notNull().default(true),
  },
  (t) => [index('sessions_owner_idx').on(t.ownerId, t.createdAt), index('sessions_updated_idx').on(t.updatedAt)],
);

export const trainingRuns = pgTable(
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
    progress: doublePrecision('progress').notNull(),
    step: integer('step').notNull(),
    totalSteps: integer('total_steps').notNull(),
    message: text('message'),
    /** Immutable snapshot of the session config that this run trains. */
    config: json('config').notNull(),
    datasetId: text('dataset_id').notNull(),
    modelType: text('model_type').notNull(),
    datasetChecksum: text('dataset_checksum'),
    versions: json('versions'),
    metrics: json('metrics'),
    featureImportance: json('feature_importance'),
    timings: json('timings'),
    details: json('details'),
    error: text('error'),
    /** 1 for the first try; a queue that retries a run after its worker died counts up (migration 0003). */
    attempt: integer('attempt').notNull().default(1),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { mode: 'date', withTimezone: true }),
    finishedAt: timestamp('finished_at', { mode: 'date', withTimezone: true }),
  },
  (t) => [
    index('training_runs_session_idx').on(t.sessionId, t.seq),
    index('training_runs_status_idx').on(t.status, t.seq),
  ],
);

/** Every progress event of a run, so the loss curve can be drawn after the fact. */
export const progressEvents = pgTable(
  'progress_events',
  {
    runId: text('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    at: timestamp('at', { mode: 'date', withTimezone: true }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    stage: text('stage', { enum: RUN_STAGES }).notNull(),
    progress: doublePrecision('progress').notNull(),
    step: integer('step').notNull(),
    totalSteps: integer('total_steps').notNull(),
    metrics: json('metrics'),
    message: text('message'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
);

/** The trained artefact of a successful run: preprocessing + model, serialised. */
export const models = pgTable('models', {
  runId: text('run_id')
    .primaryKey()
    .references(() => trainingRuns.id, { onDelete: 'cascade' }),
  format: text('format').notNull(),
  bytes: bytea('bytes').notNull(),
  sizeBytes: integer('size_bytes').notNull(),
  createdAt: createdAt(),
});

/**
 * The held-out test split as a run's metrics scored it (row ids, stars, true classes, probabilities): what
 * TrainingRun.testPredictions pages and compareRuns reads. Apart from the run row, so reading a run does not parse
 * tens of thousands of rows (a 200,000-row table holds out 60,000). Checked field by field when read (held-out.ts).
 */
export const testPredictions = pgTable('test_predictions', {
  runId: text('run_id')
    .primaryKey()
    .references(() => trainingRuns.id, { onDelete: 'cascade' }),
  rowCount: integer('row_count').notNull(),
  predictions: json('predictions').notNull(),
  /**
   * The probabilities (rows × classes, row-major) as little-endian float64s; `predictions` holds the rest. Null
   * in rows stored before this column existed, whose `predictions` JSON holds them. Binary: writing and parsing 120,000
   * numbers as JSON text took ~30 + ~50 ms of a 200,000-row run's after-fit time and of every page read.
   */
  proba: bytea('proba'),
});

export const predictions = pgTable(
  'predictions',
  {
    id: text('id').primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    datasetId: text('dataset_id'),
    source: text('source').notNull(),
    rowCount: integer('row_count').notNull(),
    classes: json('classes').notNull(),
    idColumns: json('id_columns').notNull(),
    summary: json('summary').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('predictions_run_idx').on(t.runId)],
);

export const predictionRows = pgTable(
  'prediction_rows',
  {
    predictionId: text('prediction_id')
      .notNull()
      .references(() => predictions.id, { onDelete: 'cascade' }),
    rowIndex: integer('row_index').notNull(),
    ids: json('ids').notNull(),
    label: text('label').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    /** Probabilities in the run's class order. */
    probabilities: json('probabilities').notNull(),
    warnings: json('warnings'),
  },
  (t) => [primaryKey({ columns: [t.predictionId, t.rowIndex] })],
);

/**
 * Server-wide values every process must agree on (migration 0004): `owner_key`, the key signing owner tokens when
 * SECRET_KEY is not set, made once by the first server so a restart or a second server keeps tokens valid.
 */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** Hyperparameter searches (issue 14 item 2): a queued job like a run; its best trial is refitted as a run. */
export const searches = pgTable(
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
    config: json('config').notNull(),
    /** Every trial in start order (the leaderboard is derived from them: leaderboardOf). */
    trials: json('trials').notNull(),
    /** The run refitting the best trial's parameters. */
    bestRunId: text('best_run_id'),
    message: text('message'),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { mode: 'date', withTimezone: true }),
    finishedAt: timestamp('finished_at', { mode: 'date', withTimezone: true }),
  },
  (t) => [index('searches_session_idx').on(t.sessionId, t.createdAt), index('searches_status_idx').on(t.status)],
);
