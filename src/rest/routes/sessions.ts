/**
 * The original Flask API's routes. Each one maps request fields to variables of a GraphQL operation, runs it
 * in-process, and maps the result to the envelope: no logic of its own beyond that mapping.
 */
import type { IncomingMessage } from 'node:http';
import type { GraphQLRunner } from './graphql-client.js';
import { HttpError } from './http.js';
import type { PretrainedState } from './custom.js';
import { DATASET_CARDS, ORIGINAL_MODELS, classWords, originalModelValue, trainingStatusWords } from './original.js';
import type { TestRow } from '../services/sessions.js';

export interface RouteContext {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  gql: GraphQLRunner;
  /** Parsed JSON or form body (POST/DELETE routes). */
  body: () => Promise<Record<string, unknown>>;
  /** The parsed multipart body, when the request is multipart/form-data. */
  multipart?: () => Promise<FormData>;
  /** The final API's pretrained models and jobs (per app). */
  pretrained: PretrainedState;
}

export interface RouteResult {
  status?: number;
  data: Record<string, unknown>;
  /** Top-level fields that differ from `data` (see successBody). */
  top?: Record<string, unknown>;
}

const FILE_FIELDS = `id name originalFileName sizeBytes createdAt rowCount columns { name }`;

const SESSION_FIELDS = `
  id datasetId modelType hyperparameters features task seed useVettingFeatures ready missing createdAt updatedAt
  dataset { id name kind mission available }
  split { train validation test }
  latestRun { id status stage progress step totalSteps message }
  workflow { currentStep maxStep trainingReady dataSource preprocessingConfig testDatasetId
    stepProgress { step1Complete step2Complete step3Complete } uploadedDataset { ${FILE_FIELDS} } }
`;

const DATASET_FIELDS = `id name kind mission available hint rowCount labelColumn classes featureColumns classCounts { label count } createdAt`;
const MODEL_FIELDS = `id name description family aliases explanation tfBackend
  hyperparameters { name type default min minExclusive max choices nullable specialValues allowed description }`;

const RUN_PROGRESS_FIELDS = `id status stage progress step totalSteps message queuePosition error createdAt startedAt finishedAt
  modelType datasetId events { seq } timings { totalSeconds fitSeconds }`;

const METRICS_FIELDS = `numSamples classes accuracy balancedAccuracy macroPrecision macroRecall macroF1 weightedF1 rocAucOvr prAucMacro
  logLoss usesVettingFeatures majorityBaselineAccuracy majorityBaselineMacroF1
  perClass { label precision recall f1 support rocAuc prAuc }
  confusionMatrix { labels matrix }`;

interface UploadedFile {
  id: string;
  name: string;
  originalFileName: string | null;
  sizeBytes: number | null;
  createdAt: string | null;
  rowCount: number | null;
  columns: { name: string }[];
}

interface SessionState {
  id: string;
  datasetId: string | null;
  modelType: string | null;
  hyperparameters: Record<string, unknown>;
  features: string[] | null;
  task: string;
  seed: number;
  useVettingFeatures: boolean;
  ready: boolean;
  missing: string[];
  createdAt: string;
  updatedAt: string;
  dataset: { id: string; name: string; kind: 'NASA' | 'UPLOAD'; mission: string | null; available: boolean } | null;
  split: { train: number; validation: number; test: number };
  latestRun: {
    id: string;
    status: string;
    stage: string;
    progress: number;
    step: number;
    totalSteps: number;
    message: string | null;
  } | null;
  workflow: {
    currentStep: number;
    maxStep: number;
    trainingReady: boolean;
    dataSource: 'NASA' | 'USER' | null;
    preprocessingConfig: Record<string, unknown> | null;
    testDatasetId: string | null;
    stepProgress: { step1Complete: boolean; step2Complete: boolean; step3Complete: boolean };
    uploadedDataset: UploadedFile | null;
  };
}

/** An upload in the original's `file_info` words; `dataset_id` replaces its server path. */
export function fileInfo(file: UploadedFile) {
  return {
    dataset_id: file.id,
    original_name: file.originalFileName ?? file.name,
    saved_name: file.id,
    size: file.sizeBytes,
    uploaded_at: file.createdAt,
    num_rows: file.rowCount,
    num_columns: file.columns.length,
    columns: file.columns.map((c) => c.name),
  };
}

function sessionStatusWords(session: SessionState): string {
  const run = session.latestRun;
  if (!run)
    return session.workflow.stepProgress.step1Complete || session.workflow.stepProgress.step2Complete
      ? 'configured'
      : 'initialized';
  return (
    { QUEUED: 'training', RUNNING: 'training', SUCCEEDED: 'trained', FAILED: 'error', CANCELLED: 'cancelled' }[
      run.status
    ] ?? run.status.toLowerCase()
  );
}

/** The session in the original API's words: the stepper's fields and `session_info`, as its web client reads them. */
function stepperView(session: SessionState) {
  const { workflow } = session;
  const dataSource = workflow.dataSource ? workflow.dataSource.toLowerCase() : null;
  return {
    session_id: session.id,
    current_step: workflow.currentStep,
    max_step: workflow.maxStep,
    is_training_ready: workflow.trainingReady,
    step_progress: stepProgressView(session),
    session_info: {
      created_at: session.createdAt,
      updated_at: session.updatedAt,
      status: sessionStatusWords(session),
      current_step: workflow.currentStep,
      data_source: dataSource,
      selected_dataset: dataSource === 'nasa' ? (session.datasetId ?? '') : (session.datasetId ?? ''),
      selected_model: originalModelValue(session.modelType),
      model_type: session.modelType,
      uploaded_file_info: workflow.uploadedDataset ? fileInfo(workflow.uploadedDataset) : null,
      hyperparameters: session.hyperparameters,
      preprocessing_config: workflow.preprocessingConfig ?? {},
      test_dataset: workflow.testDatasetId,
      step_progress: stepProgressView(session),
    },
  };
}

/** The session in the original API's snake_case words. */
function sessionView(session: SessionState) {
  return {
    session_id: session.id,
    data_source: session.workflow.dataSource ? session.workflow.dataSource.toLowerCase() : null,
    dataset: session.datasetId,
    dataset_name: session.dataset?.name ?? null,
    model_type: session.modelType,
    hyperparameters: session.hyperparameters,
    features: session.features,
    task: session.task,
    split: session.split,
    seed: session.seed,
    use_vetting_features: session.useVettingFeatures,
    ready_to_train: session.ready,
    missing: session.missing,
    latest_run: session.latestRun
      ? {
          run_id: session.latestRun.id,
          status: session.latestRun.status,
          stage: session.latestRun.stage,
          progress: Math.round(session.latestRun.progress * 100),
        }
      : null,
    created_at: session.createdAt,
    updated_at: session.updatedAt,
  };
}

function stepProgressView(session: SessionState) {
  const { stepProgress } = session.workflow;
  return {
    step1_complete: stepProgress.step1Complete,
    step2_complete: stepProgress.step2Complete,
    step3_complete: stepProgress.step3Complete,
  };
}

function stringField(body: Record<string, unknown>, name: string, required = true): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') {
    if (required) throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" is required.`);
    return null;
  }
  if (typeof value !== 'string' && typeof value !== 'number')
    throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" must be a string.`);
  return String(value);
}

function sessionIdFrom(ctx: RouteContext, body?: Record<string, unknown>): string {
  const id = (body ? stringField(body, 'session_id', false) : null) ?? ctx.url.searchParams.get('session_id');
  if (!id) throw new HttpError(400, 'BAD_USER_INPUT', '"session_id" is required (query string or body).');
  return id;
}

/** JSON given as an object, or as a JSON string (HTML forms). */
function jsonField(body: Record<string, unknown>, name: string): unknown {
  const value = body[name];
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" must be a JSON object.`);
  }
}

async function requireSession(ctx: RouteContext, id: string): Promise<SessionState> {
  const { session } = await ctx.gql<{ session: SessionState | null }>(
    `query ($id: ID!) { session(id: $id) { ${SESSION_FIELDS} } }`,
    { id },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${id}" was not found.`);
  return session;
}

async function catalogs(ctx: RouteContext) {
  return ctx.gql<{ datasets: ({ id: string; available: boolean } & Record<string, unknown>)[]; models: unknown[] }>(
    `{ datasets { ${DATASET_FIELDS} } models { ${MODEL_FIELDS} } }`,
  );
}

async function latestSuccessfulRunId(ctx: RouteContext, sessionId: string): Promise<string> {
  const { session } = await ctx.gql<{ session: { latestSuccessfulRun: { id: string } | null } | null }>(
    `query ($id: ID!) { session(id: $id) { latestSuccessfulRun { id } } }`,
    { id: sessionId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${sessionId}" was not found.`);
  if (!session.latestSuccessfulRun)
    throw new HttpError(
      409,
      'CONFLICT',
      'This session has no trained model yet: POST /training first and wait until it succeeds.',
    );
  return session.latestSuccessfulRun.id;
}

// ---------------------------------------------------------------------------------------------------------------

/** The select page's data: the original's dataset cards (with availability) and model list, and our catalogs. */
async function selectView(ctx: RouteContext, session: SessionState) {
  const { datasets, models } = await catalogs(ctx);
  const cards: Record<string, Record<string, unknown>> = {};
  for (const dataset of datasets) {
    const card = DATASET_CARDS[dataset.id];
    if (card) cards[dataset.id] = { id: dataset.id, ...card, available: dataset.available };
  }
  if (session.workflow.uploadedDataset) {
    const upload = session.workflow.uploadedDataset;
    cards[upload.id] = {
      id: upload.id,
      name: upload.originalFileName ?? upload.name,
      description: 'Your uploaded CSV',
      img: null,
      color: '#10b981',
      available: true,
    };
  }
  return {
    ...sessionView(session),
    ...stepperView(session),
    session: sessionView(session),
    datasets: cards,
    models: ORIGINAL_MODELS.map(({ value, label }) => ({ value, label })),
    available_datasets: datasets,
    available_models: models,
  };
}

export async function getSelect(ctx: RouteContext): Promise<RouteResult> {
  const existing = ctx.url.searchParams.get('session_id');
  let session: SessionState;
  let status = 200;
  if (existing) {
    session = await requireSession(ctx, existing);
  } else {
    ({ createSession: session } = await ctx.gql<{ createSession: SessionState }>(
      `mutation { createSession { ${SESSION_FIELDS} } }`,
    ));
    status = 201;
  }
  return { status, data: await selectView(ctx, session) };
}

export const CONFIG_TYPES = ['data_source', 'model', 'hyperparameters'] as const;
type ConfigKind = (typeof CONFIG_TYPES)[number] | 'next_step' | 'set_step';
export const ACTIONS: Record<string, ConfigKind> = {
  update_data_source: 'data_source',
  update_model: 'model',
  update_hyperparameters: 'hyperparameters',
  next_step: 'next_step',
  set_step: 'set_step',
};

const CONFIGURE = `mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { ${SESSION_FIELDS} } }`;

export async function postSelect(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const action = stringField(body, 'action', false);
  const configType = stringField(body, 'config_type', false);
  let kind: ConfigKind;
  if (configType) {
    if (!(CONFIG_TYPES as readonly string[]).includes(configType)) {
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        `Unknown config_type "${configType}"; accepted: ${CONFIG_TYPES.join(', ')}.`,
        {},
        'config_type',
      );
    }
    kind = configType as ConfigKind;
  } else if (action) {
    const mapped = ACTIONS[action];
    if (!mapped)
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        `Unknown action "${action}"; accepted: ${Object.keys(ACTIONS).join(', ')}.`,
        {},
        'action',
      );
    kind = mapped;
  } else {
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `Give "config_type" (${CONFIG_TYPES.join(', ')}) or "action" (${Object.keys(ACTIONS).join(', ')}).`,
    );
  }

  await requireSession(ctx, sessionId);
  let session: SessionState;
  if (kind === 'next_step') {
    ({ nextSessionStep: session } = await ctx.gql<{ nextSessionStep: SessionState }>(
      `mutation ($id: ID!) { nextSessionStep(sessionId: $id) { ${SESSION_FIELDS} } }`,
      { id: sessionId },
    ));
  } else if (kind === 'set_step') {
    const raw = stringField(body, 'step');
    const step = Number(raw);
    if (!Number.isInteger(step))
      throw new HttpError(400, 'BAD_USER_INPUT', `"step" must be a whole number, got "${raw}".`, {}, 'step');
    ({ setSessionStep: session } = await ctx.gql<{ setSessionStep: SessionState }>(
      `mutation ($id: ID!, $step: Int!) { setSessionStep(sessionId: $id, step: $step) { ${SESSION_FIELDS} } }`,
      { id: sessionId, step },
    ));
  } else {
    ({ configureSession: session } = await ctx.gql<{ configureSession: SessionState }>(CONFIGURE, {
      input: { sessionId, ...configureInput(kind, body) },
    }));
  }
  return {
    data: {
      action: action ?? configType,
      ...(await selectView(ctx, session)),
      message: `Updated ${kind.replace('_', ' ')}.`,
    },
  };
}

/** The ConfigureSessionInput of a data source, model or hyperparameters form. */
function configureInput(kind: (typeof CONFIG_TYPES)[number], body: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (kind === 'data_source') {
    const source = (stringField(body, 'data_source', false) ?? 'nasa').toLowerCase();
    if (source === 'nasa') {
      input.dataSource = 'NASA';
      input.datasetId = stringField(body, 'dataset', false) ?? stringField(body, 'dataset_id', false);
    } else if (source === 'user' || source === 'upload') {
      // No upload yet is fine: the data step is simply not complete.
      input.dataSource = 'USER';
      input.datasetId = stringField(body, 'dataset_id', false) ?? uploadReference(body, 'uploaded_file_info');
    } else {
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        `Unknown data_source "${source}"; accepted: nasa, user.`,
        {},
        'data_source',
      );
    }
  } else if (kind === 'model') {
    input.modelType = stringField(body, 'model_type');
    if (body.hyperparameters !== undefined) input.hyperparameters = jsonField(body, 'hyperparameters');
  } else {
    const hyperparameters = jsonField(body, 'hyperparameters') ?? flatHyperparameters(body);
    const preprocessing = jsonField(body, 'preprocessing_config');
    if (
      (hyperparameters === undefined || hyperparameters === null) &&
      (preprocessing === undefined || preprocessing === null)
    ) {
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        '"hyperparameters" is required (an object, or one form field per hyperparameter).',
        {},
        'hyperparameters',
      );
    }
    if (hyperparameters !== undefined && hyperparameters !== null) input.hyperparameters = hyperparameters;
    if (preprocessing !== undefined && preprocessing !== null) input.preprocessingConfig = preprocessing;
  }
  return input;
}

const ENVELOPE_FIELDS = new Set(['session_id', 'action', 'config_type', 'hyperparameters', 'preprocessing_config']);

/** A web form posts one field per hyperparameter (`max_depth=6`); the catalog validates names and coerces values. */
function flatHyperparameters(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries = Object.entries(body).filter(([name]) => !ENVELOPE_FIELDS.has(name));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** An upload reference: its id, or a `file_info` object holding `dataset_id` (or `id`) — never a path. */
function uploadReference(body: Record<string, unknown>, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '' || value === 'null') return null;
  let parsed: unknown = value;
  if (typeof value === 'string' && value.trim().startsWith('{')) parsed = jsonField(body, name);
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed === 'object' && parsed !== null) {
    const record = parsed as Record<string, unknown>;
    const id = record.dataset_id ?? record.id;
    if (typeof id === 'string') return id;
  }
  throw new HttpError(
    400,
    'BAD_USER_INPUT',
    `"${name}" must hold the upload's dataset id (the file_info that POST /api/upload-csv returned).`,
    {},
    name,
  );
}

interface RunProgress {
  id: string;
  status: string;
  stage: string;
  progress: number;
  step: number;
  totalSteps: number;
  message: string | null;
  queuePosition: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  modelType: string;
  datasetId: string;
  timings: { totalSeconds: number | null; fitSeconds: number | null } | null;
}

/**
 * 0–100 with one decimal. The original client moves on to the results at 100, so 100 means the model is ready:
 * a run still saving its model, or one that failed late, stays below it.
 */
/** 0–100; 100 only once the run has SUCCEEDED (the clients move on at 100, and the model is stored last). */
export function progressPercent(run: { status: string; progress: number }): number {
  const percent = Math.round(run.progress * 1000) / 10;
  return run.status === 'SUCCEEDED' ? percent : Math.min(percent, 99.9);
}

function progressView(sessionId: string, run: RunProgress) {
  return {
    session_id: sessionId,
    run_id: run.id,
    status: run.status,
    training_status: trainingStatusWords(run.status),
    stage: run.stage,
    progress: progressPercent(run),
    step: run.step,
    total_steps: run.totalSteps,
    message: run.message,
    queue_position: run.queuePosition,
    error: run.error,
    model_type: run.modelType,
    dataset: run.datasetId,
    created_at: run.createdAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    fit_seconds: run.timings?.fitSeconds ?? null,
    total_seconds: run.timings?.totalSeconds ?? null,
  };
}

const RUN_FIELDS_FOR_PROGRESS = RUN_PROGRESS_FIELDS.replace(' events { seq }', '');

export async function postTraining(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const { startTraining } = await ctx.gql<{ startTraining: RunProgress }>(
    `mutation ($id: ID!) { startTraining(sessionId: $id) { ${RUN_FIELDS_FOR_PROGRESS} } }`,
    { id: sessionId },
  );
  const view = progressView(sessionId, startTraining);
  return {
    status: 202,
    data: {
      ...view,
      training_started: true,
      initial_progress: view.progress,
      message: 'Training started',
      next: `Poll GET /training?session_id=${sessionId}, or subscribe to trainingProgress over GraphQL.`,
    },
  };
}

export async function getTraining(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const { session } = await ctx.gql<{ session: { latestRun: RunProgress | null } | null }>(
    `query ($id: ID!) { session(id: $id) { latestRun { ${RUN_FIELDS_FOR_PROGRESS} } } }`,
    { id: sessionId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${sessionId}" was not found.`);
  if (!session.latestRun) {
    return {
      data: {
        session_id: sessionId,
        run_id: null,
        status: 'NOT_STARTED',
        training_status: trainingStatusWords('NOT_STARTED'),
        stage: null,
        progress: 0,
        step: 0,
        total_steps: 0,
        message: 'No training yet: POST /training.',
      },
    };
  }
  return { data: progressView(sessionId, session.latestRun) };
}

const PREDICTION_FIELDS = 'label confidence probabilities { label probability } warnings';
const BATCH_FIELDS = `id runId datasetId source rowCount classes csvUrl createdAt
  summary { rowCount counts { label count } meanConfidence meanProbabilities { label probability } rowsWithoutFeatures missingFeatures }`;

export async function postPredict(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  if (body.test_data_config !== undefined)
    return configureTestData(ctx, sessionId, jsonField(body, 'test_data_config'));
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  const rows =
    jsonField(body, 'rows') ?? (body.instance_data !== undefined ? [jsonField(body, 'instance_data')] : undefined);
  const datasetId = stringField(body, 'dataset_id', false);
  if (rows !== undefined && datasetId)
    throw new HttpError(400, 'BAD_USER_INPUT', 'Give "rows" or "dataset_id", not both.');
  if (rows !== undefined) {
    if (!Array.isArray(rows))
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        '"rows" must be a JSON array of objects (column → value).',
        {},
        'rows',
      );
    const { predict } = await ctx.gql<{ predict: unknown[] }>(
      `query ($run: ID!, $rows: [JSON!]!) { predict(runId: $run, rows: $rows) { ${PREDICTION_FIELDS} } }`,
      { run: runId, rows },
    );
    return { data: { session_id: sessionId, run_id: runId, predictions: predict } };
  }
  if (datasetId) {
    const candidatesOnly = body.candidates_only === true || body.candidates_only === 'true';
    const { predictBatch } = await ctx.gql<{ predictBatch: { id: string } & Record<string, unknown> }>(
      `mutation ($run: ID!, $dataset: ID!, $candidates: Boolean) { predictBatch(runId: $run, datasetId: $dataset, candidatesOnly: $candidates) { ${BATCH_FIELDS} rows(limit: 20, sortByClass: null) { rowIndex ids ${PREDICTION_FIELDS.replace(' warnings', '')} } } }`,
      { run: runId, dataset: datasetId, candidates: candidatesOnly },
    );
    return { data: { session_id: sessionId, run_id: runId, prediction_id: predictBatch.id, batch: predictBatch } };
  }
  throw new HttpError(
    400,
    'BAD_USER_INPUT',
    'Give "test_data_config" (what GET /result predicts), "rows" (a JSON array of objects) or "dataset_id" (an uploaded dataset or a NASA table).',
  );
}

/**
 * The original client's POST /predict: choose what GET /result predicts. A NASA table or an upload; the table the
 * model trained on, or none, means its held-out test split (the rows it never saw).
 */
async function configureTestData(ctx: RouteContext, sessionId: string, config: unknown): Promise<RouteResult> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      '"test_data_config" must be an object: {"data_source": "nasa", "dataset": "kepler"} or {"data_source": "user", "uploaded_file_info": {…}}.',
      {},
      'test_data_config',
    );
  }
  const fields = config as Record<string, unknown>;
  const source = (stringField(fields, 'data_source', false) ?? 'nasa').toLowerCase();
  let datasetId: string | null;
  if (source === 'nasa') datasetId = stringField(fields, 'dataset', false) ?? stringField(fields, 'dataset_id', false);
  else if (source === 'user' || source === 'upload')
    datasetId = stringField(fields, 'dataset_id', false) ?? uploadReference(fields, 'uploaded_file_info');
  else
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `Unknown test_data_config.data_source "${source}"; accepted: nasa, user.`,
      {},
      'test_data_config.data_source',
    );
  const { configureSession } = await ctx.gql<{
    configureSession: {
      workflow: { testDatasetId: string | null };
      latestSuccessfulRun: { id: string; datasetId: string } | null;
    };
  }>(
    `mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { workflow { testDatasetId } latestSuccessfulRun { id datasetId } } }`,
    { input: { sessionId, testData: { datasetId } } },
  );
  const run = configureSession.latestSuccessfulRun;
  const testDataset = configureSession.workflow.testDatasetId;
  return {
    data: {
      session_id: sessionId,
      test_data_configured: true,
      test_config: {
        data_source: source === 'upload' ? 'user' : source,
        dataset: testDataset,
        held_out_split: testDataset === null || (run !== null && testDataset === run.datasetId),
      },
      ready_for_results: run !== null,
      message: run
        ? 'Test data configured: GET /result predicts it.'
        : 'Test data configured; train a model (POST /training) before GET /result.',
    },
  };
}

interface TrainedRun {
  id: string;
  status: string;
  modelType: string;
  datasetId: string;
  features: string[];
  hyperparameters: Record<string, unknown>;
  finishedAt: string;
  metrics: { accuracy: number; macroF1: number; classes: string[] };
  splitCounts: { train: number; validation: number; test: number } | null;
}

const TRAINED_RUN_FIELDS =
  'id status modelType datasetId features hyperparameters finishedAt metrics { accuracy macroF1 classes } splitCounts { train validation test }';

/** The trained model in the original's `model_info` words. */
function modelInfo(run: TrainedRun) {
  return {
    run_id: run.id,
    model_type: run.modelType,
    model_name: originalModelValue(run.modelType),
    dataset: run.datasetId,
    hyperparameters: run.hyperparameters,
    classes: run.metrics.classes.map(classWords),
    feature_count: run.features.length,
    features: run.features,
    train_size: run.splitCounts?.train ?? null,
    test_size: run.splitCounts?.test ?? null,
    accuracy: run.metrics.accuracy,
    macro_f1: run.metrics.macroF1,
    trained_at: run.finishedAt,
  };
}

export async function getPredict(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const { session } = await ctx.gql<{
    session: { latestRun: { status: string } | null; latestSuccessfulRun: TrainedRun | null } | null;
  }>(`query ($id: ID!) { session(id: $id) { latestRun { status } latestSuccessfulRun { ${TRAINED_RUN_FIELDS} } } }`, {
    id: sessionId,
  });
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${sessionId}" was not found.`);
  const run = session.latestSuccessfulRun;
  const trainingStatus = trainingStatusWords(session.latestRun?.status ?? 'NOT_STARTED');
  if (!run) {
    return {
      data: {
        session_id: sessionId,
        model_ready: false,
        training_completed: false,
        training_status: trainingStatus,
        ready_for_prediction: false,
        model_info: null,
        message: 'No trained model yet: POST /training and wait until it succeeds.',
      },
    };
  }
  return {
    data: {
      session_id: sessionId,
      model_ready: true,
      training_completed: true,
      training_status: trainingStatus,
      ready_for_prediction: true,
      model_info: modelInfo(run),
      run_id: run.id,
      model_type: run.modelType,
      dataset: run.datasetId,
      classes: run.metrics.classes,
      features: run.features,
      accuracy: run.metrics.accuracy,
      macro_f1: run.metrics.macroF1,
      trained_at: run.finishedAt,
    },
  };
}

/** A row of `Session.testData` as the GraphQL answer carries it: the service's own shape. */
export type TestRowState = TestRow;

export interface RowPredictionState {
  label: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
}

/** Rows GET /result lists with their explanation; the summary covers every row of the test data. */
export const RESULT_ROWS_DEFAULT = 25;
export const RESULT_ROWS_MAX = 200;
/** GraphQL `predict` takes at most this many rows per call (MAX_PREDICT_ROWS). */
const PREDICT_CHUNK = 1000;
const TEST_ROWS_MAX = 10_000;
/** Aliased fields per request: within the GraphQL alias limit (30). */
const EXPLAIN_BATCH = 25;

export interface PredictedTestData {
  testData: { kind: string; datasetId: string; rowCount: number };
  /** Every test row (up to 10,000) with its prediction, in order. */
  rows: TestRowState[];
  predicted: RowPredictionState[];
  /** The first rows, each with its own explanation. */
  explained: { reasons: string[]; contributions: { feature: string; contribution: number }[] }[];
}

/**
 * The session's test data (its configured dataset, default the held-out test split) predicted by `runId`: every
 * row predicted (in chunks the predict operation accepts), the first `explain` rows explained, in one request.
 */
export async function predictTestData(
  ctx: RouteContext,
  sessionId: string,
  runId: string,
  explain: number,
): Promise<PredictedTestData> {
  const { session } = await ctx.gql<{
    session: { testData: { kind: string; datasetId: string; rowCount: number; rows: TestRowState[] } | null } | null;
  }>(
    `query ($id: ID!, $max: Int!, $run: ID!) { session(id: $id) { testData(limit: $max, runId: $run) { kind datasetId rowCount rows { index ids values actual } } } }`,
    { id: sessionId, max: TEST_ROWS_MAX, run: runId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${sessionId}" was not found.`);
  const testData = session.testData;
  if (!testData)
    throw new HttpError(
      409,
      'CONFLICT',
      'This session has no trained model yet: POST /training first and wait until it succeeds.',
    );
  const rows = testData.rows;
  const variables: Record<string, unknown> = { run: runId };
  const declarations: string[] = ['$run: ID!'];
  const parts: string[] = [];
  for (let start = 0, c = 0; start < rows.length; start += PREDICT_CHUNK, c++) {
    declarations.push(`$rows${c}: [JSON!]!`);
    parts.push(`p${c}: predict(runId: $run, rows: $rows${c}) { label confidence probabilities { label probability } }`);
    variables[`rows${c}`] = rows.slice(start, start + PREDICT_CHUNK).map((r) => r.values);
  }
  type Explained = PredictedTestData['explained'][number];
  const predictedChunks =
    parts.length > 0
      ? await ctx.gql<Record<string, RowPredictionState[]>>(
          `query (${declarations.join(', ')}) { ${parts.join(' ')} }`,
          variables,
        )
      : {};
  const predicted = parts.map((_, c) => predictedChunks[`p${c}`]).flat();
  // Explanations in requests of EXPLAIN_BATCH aliases (the GraphQL alias limit applies to REST's operations too).
  const explained: Explained[] = [];
  const listed = rows.slice(0, explain);
  for (let start = 0; start < listed.length; start += EXPLAIN_BATCH) {
    const batch = listed.slice(start, start + EXPLAIN_BATCH);
    const batchVariables: Record<string, unknown> = { run: runId };
    const batchDeclarations = ['$run: ID!', ...batch.map((_, i) => `$row${i}: JSON!`)];
    batch.forEach((row, i) => (batchVariables[`row${i}`] = row.values));
    const fields = batch.map(
      (_, i) => `e${i}: explain(runId: $run, row: $row${i}) { reasons contributions { feature contribution } }`,
    );
    const answered = await ctx.gql<Record<string, Explained>>(
      `query (${batchDeclarations.join(', ')}) { ${fields.join(' ')} }`,
      batchVariables,
    );
    batch.forEach((_, i) => explained.push(answered[`e${i}`]));
  }
  return {
    testData: { kind: testData.kind, datasetId: testData.datasetId, rowCount: testData.rowCount },
    rows,
    predicted,
    explained,
  };
}

/**
 * GET /result: the run's metrics, confusion matrix and importance, and the configured test data (default the
 * held-out test split) predicted by the trained model: every row counted in `summary`, the first `limit` rows listed
 * with the reasons of their own explanation.
 */
export async function getResult(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const limitRaw = ctx.url.searchParams.get('limit');
  const limit = limitRaw === null ? RESULT_ROWS_DEFAULT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 0 || limit > RESULT_ROWS_MAX) {
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `"limit" must be a whole number from 0 to ${RESULT_ROWS_MAX}, got "${limitRaw}".`,
      {},
      'limit',
    );
  }
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  const { trainingRun } = await ctx.gql<{
    trainingRun: TrainedRun & {
      metrics: Record<string, unknown> & {
        confusionMatrix: unknown;
        classes: string[];
        accuracy: number;
        macroF1: number;
      };
      featureImportance: unknown[];
      timings: unknown;
    };
  }>(
    `query ($run: ID!) {
      trainingRun(id: $run) { ${TRAINED_RUN_FIELDS} metrics { ${METRICS_FIELDS} } featureImportance { feature importance permutationImportance permutationMean permutationStd }
        timings { fitSeconds totalSeconds } } }`,
    { run: runId },
  );
  const { testData, rows, predicted, explained } = await predictTestData(ctx, sessionId, runId, limit);

  const predictions = explained.map((explanation, i) => {
    const row = rows[i];
    const prediction = predicted[i];
    return {
      id: row.index,
      name: Object.values(row.ids)[0] ?? `row ${row.index}`,
      ids: row.ids,
      prediction: classWords(prediction.label),
      label: prediction.label,
      confidence: prediction.confidence,
      probabilities: prediction.probabilities.map((p) => p.probability),
      class_probabilities: Object.fromEntries(
        prediction.probabilities.map((p) => [classWords(p.label), p.probability]),
      ),
      actual: row.actual === null ? null : classWords(row.actual),
      correct: row.actual === null ? null : row.actual === prediction.label,
      reasons: explanation.reasons,
    };
  });
  const count = (label: string) => predicted.filter((p) => p.label === label).length;
  const labelled = rows.filter((r) => r.actual !== null);
  const correct = rows.filter((r, i) => r.actual !== null && r.actual === predicted[i].label).length;
  const summary = {
    total_predictions: predicted.length,
    exoplanet_count: count('planet'),
    candidate_count: count('candidate'),
    false_positive_count: count('false_positive'),
    class_counts: Object.fromEntries(trainingRun.metrics.classes.map((label) => [classWords(label), count(label)])),
    average_confidence:
      predicted.length > 0 ? predicted.reduce((sum, p) => sum + p.confidence, 0) / predicted.length : 0,
    accuracy: labelled.length > 0 ? correct / labelled.length : null,
    test_rows: testData.rowCount,
    listed: predictions.length,
  };

  const { latestPrediction } = await latestPredictionOf(ctx, sessionId);
  return {
    data: {
      session_id: sessionId,
      run_id: trainingRun.id,
      model_type: trainingRun.modelType,
      dataset: trainingRun.datasetId,
      model_info: modelInfo(trainingRun),
      test_data: {
        kind: testData.kind === 'HELD_OUT' ? 'held_out_test_split' : 'dataset',
        dataset: testData.datasetId,
        rows: testData.rowCount,
      },
      predictions,
      summary,
      metrics: trainingRun.metrics,
      confusion_matrix: trainingRun.metrics.confusionMatrix,
      feature_importance: trainingRun.featureImportance,
      split: trainingRun.splitCounts,
      timings: trainingRun.timings,
      latest_predictions: latestPrediction,
    },
  };
}

async function latestPredictionOf(ctx: RouteContext, sessionId: string) {
  const { session } = await ctx.gql<{ session: { latestPrediction: unknown } | null }>(
    `query ($id: ID!) { session(id: $id) { latestPrediction { ${BATCH_FIELDS} rows(limit: 20) { rowIndex ids label confidence probabilities { label probability } } } } }`,
    { id: sessionId },
  );
  return { latestPrediction: session?.latestPrediction ?? null };
}

export async function postResult(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const type = (stringField(body, 'explanation_type', false) ?? 'local').toLowerCase();
  if (type !== 'local' && type !== 'global')
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `Unknown explanation_type "${type}"; accepted: local, global.`,
      {},
      'explanation_type',
    );
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  if (type === 'global') {
    const { trainingRun } = await ctx.gql<{ trainingRun: { featureImportance: unknown[] } }>(
      `query ($run: ID!) { trainingRun(id: $run) { featureImportance { feature importance permutationImportance permutationMean permutationStd } } }`,
      { run: runId },
    );
    return {
      data: {
        session_id: sessionId,
        run_id: runId,
        explanation_type: 'global',
        feature_importance: trainingRun.featureImportance,
        explanation: { type: 'global', feature_importance: trainingRun.featureImportance },
      },
    };
  }
  const row = jsonField(body, 'instance_data');
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      '"instance_data" must be an object of column → value (one row).',
      {},
      'instance_data',
    );
  }
  const label = stringField(body, 'label', false);
  const { explain } = await ctx.gql<{ explain: { label: string; reasons: string[] } & Record<string, unknown> }>(
    `query ($run: ID!, $row: JSON!, $label: String) { explain(runId: $run, row: $row, label: $label) { label outputSpace method baseValue output residual contributions { feature value contribution } reasons warnings } }`,
    { run: runId, row, label },
  );
  return {
    data: {
      session_id: sessionId,
      run_id: runId,
      explanation_type: 'local',
      explanation: { ...explain, type: 'local', prediction: classWords(explain.label) },
    },
  };
}

export async function getDatasets(ctx: RouteContext): Promise<RouteResult> {
  const { datasets } = await ctx.gql<{ datasets: unknown[] }>(`{ datasets { ${DATASET_FIELDS} } }`);
  return { data: { total_datasets: datasets.length, datasets } };
}

export async function getModels(ctx: RouteContext): Promise<RouteResult> {
  const { models } = await ctx.gql<{ models: unknown[] }>(`{ models { ${MODEL_FIELDS} } }`);
  return { data: { total_models: models.length, models } };
}

interface ModelCatalogEntry {
  id: string;
  name: string;
  aliases: string[];
  hyperparameters: {
    name: string;
    type: 'INT' | 'FLOAT' | 'ENUM' | 'BOOL' | 'INT_LIST';
    default: unknown;
    min: number | null;
    minExclusive: boolean | null;
    max: number | null;
    choices: string[] | null;
    nullable: boolean | null;
    specialValues: string[] | null;
    allowed: string;
    description: string;
  }[];
}

/** A catalog name in words: n_estimators → "N estimators" (the description says the rest). */
function labelOf(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** GET /api/hyperparameters/<model_type>: the form of a model, generated from its catalog specs. */
export async function getHyperparameters(ctx: RouteContext): Promise<RouteResult> {
  const requested = ctx.params.model_type;
  const { models } = await ctx.gql<{ models: ModelCatalogEntry[] }>(
    `{ models { id name aliases hyperparameters { name type default min minExclusive max choices nullable specialValues allowed description } } }`,
  );
  const key = requested
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  const model = models.find((m) => m.id === key || m.aliases.includes(key));
  if (!model) throw new HttpError(400, 'BAD_USER_INPUT', `Unknown model type: ${requested}`, {}, 'model_type');
  const hyperparameters = model.hyperparameters.map((spec) => {
    const field: Record<string, unknown> = {
      name: spec.name,
      label: labelOf(spec.name),
      description: spec.description,
      allowed: spec.allowed,
    };
    if (spec.type === 'INT' || spec.type === 'FLOAT') {
      field.type = spec.specialValues?.length ? 'text' : 'number';
      if (spec.min !== null) field.min = spec.minExclusive ? undefined : spec.min;
      if (spec.max !== null) field.max = spec.max;
      field.step = spec.type === 'INT' ? 1 : 'any';
    } else if (spec.type === 'ENUM') {
      field.type = 'select';
      field.options = (spec.choices ?? []).map((choice) => ({ value: choice, label: choice }));
    } else if (spec.type === 'BOOL') {
      field.type = 'select';
      field.options = [
        { value: 'true', label: 'true' },
        { value: 'false', label: 'false' },
      ];
    } else {
      field.type = 'text';
    }
    field.default =
      spec.default === null
        ? null
        : Array.isArray(spec.default)
          ? spec.default.join(',')
          : spec.type === 'BOOL'
            ? String(spec.default)
            : spec.default;
    const hints = [
      spec.nullable ? 'None (unlimited)' : null,
      spec.specialValues?.length ? spec.specialValues.join(' or ') : null,
      spec.type === 'INT_LIST' ? 'e.g. 128,64,32' : null,
    ].filter((hint): hint is string => hint !== null);
    if (hints.length > 0) field.placeholder = hints.join('; ');
    return Object.fromEntries(Object.entries(field).filter(([, value]) => value !== undefined));
  });
  return { data: { model_type: model.id, requested_model_type: requested, model_name: model.name, hyperparameters } };
}

export async function getHealth(ctx: RouteContext): Promise<RouteResult> {
  const { health, sessionCount } = await ctx.gql<{
    health: Record<string, unknown> & { queuedRuns: number; runningRuns: number };
    sessionCount: number;
  }>(`{ health { status version uptimeSeconds tfBackend queuedRuns runningRuns nodeVersion } sessionCount }`);
  const extra = {
    timestamp: new Date().toISOString(),
    active_sessions: sessionCount,
    training_sessions: health.queuedRuns + health.runningRuns,
  };
  // The original answered "healthy" in place of the envelope's status; the service's own word stays under data.
  return { data: { ...health, ...extra }, top: { status: 'healthy' } };
}

export async function getFrontendStatus(): Promise<RouteResult> {
  return {
    data: {
      frontend_built: false,
      dist_path: null,
      build_exists: false,
      index_exists: false,
      timestamp: new Date().toISOString(),
      message:
        'This server serves no web client: run the original client on its own dev server (ports 3000/3001 are allowed origins), or use /graphql and /docs.',
    },
  };
}

function trainingInfo(session: SessionState) {
  const run = session.latestRun;
  return run
    ? {
        run_id: run.id,
        status: run.status,
        training_status: trainingStatusWords(run.status),
        stage: run.stage,
        progress: progressPercent(run),
        message: run.message,
      }
    : {
        run_id: null,
        status: 'NOT_STARTED',
        training_status: trainingStatusWords('NOT_STARTED'),
        stage: null,
        progress: 0,
        message: null,
      };
}

export async function getSession(ctx: RouteContext): Promise<RouteResult> {
  const session = await requireSession(ctx, ctx.params.id);
  return { data: { ...sessionView(session), ...stepperView(session), training_info: trainingInfo(session) } };
}

export async function deleteSession(ctx: RouteContext): Promise<RouteResult> {
  const { deleteSession: deleted } = await ctx.gql<{ deleteSession: boolean }>(
    `mutation ($id: ID!) { deleteSession(id: $id) }`,
    { id: ctx.params.id },
  );
  if (!deleted) throw new HttpError(404, 'NOT_FOUND', `Session "${ctx.params.id}" was not found.`);
  return { data: { session_id: ctx.params.id, deleted: true }, top: { message: 'Session deleted' } };
}

export const UPLOAD_MUTATION = `mutation ($file: File!, $name: String, $label: String) { uploadDataset(file: $file, name: $name, labelColumn: $label) { ${DATASET_FIELDS} originalFileName sizeBytes columns { name type missingShare } } }`;

export interface UploadedDataset extends UploadedFile {
  kind: string;
}

/** POST /api/upload-csv: the upload in `file_info` words; with a session, it becomes that session's user data. */
export async function uploadCsvResult(
  ctx: RouteContext,
  upload: UploadedDataset,
  sessionId: string | null,
): Promise<RouteResult> {
  const info = fileInfo(upload);
  const data: Record<string, unknown> = {
    message: `File uploaded successfully. ${info.num_rows} rows, ${info.num_columns} columns detected.`,
    file_info: info,
    dataset_id: upload.id,
    session_id: sessionId,
  };
  if (sessionId) {
    const { configureSession } = await ctx.gql<{ configureSession: SessionState }>(CONFIGURE, {
      input: { sessionId, dataSource: 'USER', datasetId: upload.id },
    });
    Object.assign(data, stepperView(configureSession));
  }
  return { data };
}

export async function requireSessionExists(ctx: RouteContext, id: string): Promise<void> {
  await requireSession(ctx, id);
}
