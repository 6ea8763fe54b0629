/**
 * The original Flask API's routes. Each one maps request fields to variables of a GraphQL operation, runs it
 * in-process, and maps the result to the envelope: no logic of its own beyond that mapping.
 */
import type { IncomingMessage } from 'node:http';
import type { GraphQLRunner } from './graphql-client.js';
import { HttpError } from './http.js';

export interface RouteContext {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  gql: GraphQLRunner;
  /** Parsed JSON or form body (POST/DELETE routes). */
  body: () => Promise<Record<string, unknown>>;
}

export interface RouteResult {
  status?: number;
  data: Record<string, unknown>;
  /** Top-level fields that differ from `data` (see successBody). */
  top?: Record<string, unknown>;
}

const SESSION_FIELDS = `
  id datasetId modelType hyperparameters features task seed useVettingFeatures ready missing createdAt updatedAt
  dataset { id name kind mission available }
  split { train validation test }
  latestRun { id status stage progress step totalSteps message }
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
  latestRun: { id: string; status: string; stage: string; progress: number; step: number; totalSteps: number; message: string | null } | null;
}

/** The session in the original API's snake_case words. */
function sessionView(session: SessionState) {
  return {
    session_id: session.id,
    data_source: session.dataset ? (session.dataset.kind === 'NASA' ? 'nasa' : 'user') : null,
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
      ? { run_id: session.latestRun.id, status: session.latestRun.status, stage: session.latestRun.stage, progress: Math.round(session.latestRun.progress * 100) }
      : null,
    created_at: session.createdAt,
    updated_at: session.updatedAt,
  };
}

function stringField(body: Record<string, unknown>, name: string, required = true): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') {
    if (required) throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" is required.`);
    return null;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" must be a string.`);
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
  const { session } = await ctx.gql<{ session: SessionState | null }>(`query ($id: ID!) { session(id: $id) { ${SESSION_FIELDS} } }`, { id });
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${id}" was not found.`);
  return session;
}

async function catalogs(ctx: RouteContext) {
  return ctx.gql<{ datasets: unknown[]; models: unknown[] }>(`{ datasets { ${DATASET_FIELDS} } models { ${MODEL_FIELDS} } }`);
}

async function latestSuccessfulRunId(ctx: RouteContext, sessionId: string): Promise<string> {
  const { session } = await ctx.gql<{ session: { latestSuccessfulRun: { id: string } | null } | null }>(
    `query ($id: ID!) { session(id: $id) { latestSuccessfulRun { id } } }`,
    { id: sessionId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${sessionId}" was not found.`);
  if (!session.latestSuccessfulRun) throw new HttpError(409, 'CONFLICT', 'This session has no trained model yet: POST /training first and wait until it succeeds.');
  return session.latestSuccessfulRun.id;
}

// ---------------------------------------------------------------------------------------------------------------

export async function getSelect(ctx: RouteContext): Promise<RouteResult> {
  const existing = ctx.url.searchParams.get('session_id');
  let session: SessionState;
  let status = 200;
  if (existing) {
    session = await requireSession(ctx, existing);
  } else {
    ({ createSession: session } = await ctx.gql<{ createSession: SessionState }>(`mutation { createSession { ${SESSION_FIELDS} } }`));
    status = 201;
  }
  const { datasets, models } = await catalogs(ctx);
  return { status, data: { ...sessionView(session), session: sessionView(session), available_datasets: datasets, available_models: models } };
}

const CONFIG_TYPES = ['data_source', 'model', 'hyperparameters'] as const;
const ACTIONS: Record<string, (typeof CONFIG_TYPES)[number]> = {
  update_data_source: 'data_source',
  update_model: 'model',
  update_hyperparameters: 'hyperparameters',
};

export async function postSelect(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const action = stringField(body, 'action', false);
  const configType = stringField(body, 'config_type', false);
  let kind: (typeof CONFIG_TYPES)[number];
  if (configType) {
    if (!(CONFIG_TYPES as readonly string[]).includes(configType)) {
      throw new HttpError(400, 'BAD_USER_INPUT', `Unknown config_type "${configType}"; accepted: ${CONFIG_TYPES.join(', ')}.`);
    }
    kind = configType as (typeof CONFIG_TYPES)[number];
  } else if (action) {
    const mapped = ACTIONS[action];
    if (!mapped) throw new HttpError(400, 'BAD_USER_INPUT', `Unknown action "${action}"; accepted: ${Object.keys(ACTIONS).join(', ')}.`);
    kind = mapped;
  } else {
    throw new HttpError(400, 'BAD_USER_INPUT', `Give "config_type" (${CONFIG_TYPES.join(', ')}) or "action" (${Object.keys(ACTIONS).join(', ')}).`);
  }

  const input: Record<string, unknown> = { sessionId };
  if (kind === 'data_source') {
    const source = (stringField(body, 'data_source', false) ?? 'nasa').toLowerCase();
    if (source === 'nasa') {
      input.datasetId = stringField(body, 'dataset', false) ?? stringField(body, 'dataset_id');
    } else if (source === 'user' || source === 'upload') {
      const info = jsonFieldOrString(body, 'uploaded_file_info');
      input.datasetId = stringField(body, 'dataset_id', false) ?? info;
      if (!input.datasetId) throw new HttpError(400, 'BAD_USER_INPUT', 'A user data source needs "dataset_id" (the id POST /api/upload returned).');
    } else {
      throw new HttpError(400, 'BAD_USER_INPUT', `Unknown data_source "${source}"; accepted: nasa, user.`);
    }
  } else if (kind === 'model') {
    input.modelType = stringField(body, 'model_type');
    if (body.hyperparameters !== undefined) input.hyperparameters = jsonField(body, 'hyperparameters');
  } else {
    const hyperparameters = jsonField(body, 'hyperparameters') ?? flatHyperparameters(body);
    if (hyperparameters === undefined || hyperparameters === null) {
      throw new HttpError(400, 'BAD_USER_INPUT', '"hyperparameters" is required (an object, or one form field per hyperparameter).');
    }
    input.hyperparameters = hyperparameters;
  }
  await requireSession(ctx, sessionId);
  const { configureSession } = await ctx.gql<{ configureSession: SessionState }>(
    `mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { ${SESSION_FIELDS} } }`,
    { input },
  );
  return { data: { ...sessionView(configureSession), session: sessionView(configureSession), message: `Updated ${kind.replace('_', ' ')}.` } };
}

const ENVELOPE_FIELDS = new Set(['session_id', 'action', 'config_type', 'hyperparameters']);

/** A web form posts one field per hyperparameter (`max_depth=6`); the catalog validates names and coerces values. */
function flatHyperparameters(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries = Object.entries(body).filter(([name]) => !ENVELOPE_FIELDS.has(name));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** An upload reference: its id, or an object holding `id`/`dataset_id` — never a path. */
function jsonFieldOrString(body: Record<string, unknown>, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') return null;
  let parsed: unknown = value;
  if (typeof value === 'string' && value.trim().startsWith('{')) parsed = jsonField(body, name);
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed === 'object' && parsed !== null) {
    const record = parsed as Record<string, unknown>;
    const id = record.dataset_id ?? record.id;
    if (typeof id === 'string') return id;
  }
  throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" must hold the upload's dataset id.`);
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

function progressView(sessionId: string, run: RunProgress) {
  return {
    session_id: sessionId,
    run_id: run.id,
    status: run.status,
    stage: run.stage,
    progress: Math.round(run.progress * 1000) / 10,
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
  return {
    status: 202,
    data: { ...progressView(sessionId, startTraining), next: `Poll GET /training?session_id=${sessionId}, or subscribe to trainingProgress over GraphQL.` },
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
    return { data: { session_id: sessionId, run_id: null, status: 'NOT_STARTED', stage: null, progress: 0, step: 0, total_steps: 0, message: 'No training yet: POST /training.' } };
  }
  return { data: progressView(sessionId, session.latestRun) };
}

const PREDICTION_FIELDS = 'label confidence probabilities { label probability } warnings';
const BATCH_FIELDS = `id runId datasetId source rowCount classes csvUrl createdAt
  summary { rowCount counts { label count } meanConfidence meanProbabilities { label probability } rowsWithoutFeatures missingFeatures }`;

export async function postPredict(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  const rows = jsonField(body, 'rows') ?? (body.instance_data !== undefined ? [jsonField(body, 'instance_data')] : undefined);
  const datasetId = stringField(body, 'dataset_id', false);
  if (rows !== undefined && datasetId) throw new HttpError(400, 'BAD_USER_INPUT', 'Give "rows" or "dataset_id", not both.');
  if (rows !== undefined) {
    if (!Array.isArray(rows)) throw new HttpError(400, 'BAD_USER_INPUT', '"rows" must be a JSON array of objects (column → value).');
    const { predict } = await ctx.gql<{ predict: unknown[] }>(`query ($run: ID!, $rows: [JSON!]!) { predict(runId: $run, rows: $rows) { ${PREDICTION_FIELDS} } }`, { run: runId, rows });
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
  throw new HttpError(400, 'BAD_USER_INPUT', 'Give "rows" (a JSON array of objects) or "dataset_id" (an uploaded dataset or a NASA table).');
}

export async function getPredict(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const { session } = await ctx.gql<{ session: { latestSuccessfulRun: { id: string; modelType: string; datasetId: string; features: string[]; finishedAt: string; metrics: { accuracy: number; macroF1: number; classes: string[] } } | null } | null }>(
    `query ($id: ID!) { session(id: $id) { latestSuccessfulRun { id modelType datasetId features finishedAt metrics { accuracy macroF1 classes } } } }`,
    { id: sessionId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', `Session "${sessionId}" was not found.`);
  const run = session.latestSuccessfulRun;
  if (!run) return { data: { session_id: sessionId, model_ready: false, message: 'No trained model yet: POST /training and wait until it succeeds.' } };
  return {
    data: {
      session_id: sessionId,
      model_ready: true,
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

export async function getResult(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  const { trainingRun } = await ctx.gql<{
    trainingRun: {
      id: string;
      modelType: string;
      datasetId: string;
      metrics: Record<string, unknown> & { confusionMatrix: unknown };
      featureImportance: unknown[];
      timings: unknown;
      splitCounts: unknown;
      predictions: unknown;
    };
  }>(
    `query ($run: ID!) { trainingRun(id: $run) { id modelType datasetId metrics { ${METRICS_FIELDS} } featureImportance { feature importance permutationImportance permutationMean permutationStd }
      timings { fitSeconds totalSeconds } splitCounts { train validation test } } }`,
    { run: runId },
  );
  const { latestPrediction } = await latestPredictionOf(ctx, sessionId);
  return {
    data: {
      session_id: sessionId,
      run_id: trainingRun.id,
      model_type: trainingRun.modelType,
      dataset: trainingRun.datasetId,
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
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  if (type === 'global') {
    const { trainingRun } = await ctx.gql<{ trainingRun: { featureImportance: unknown[] } }>(
      `query ($run: ID!) { trainingRun(id: $run) { featureImportance { feature importance permutationImportance permutationMean permutationStd } } }`,
      { run: runId },
    );
    return { data: { session_id: sessionId, run_id: runId, explanation_type: 'global', feature_importance: trainingRun.featureImportance } };
  }
  if (type !== 'local') throw new HttpError(400, 'BAD_USER_INPUT', `Unknown explanation_type "${type}"; accepted: local, global.`);
  const row = jsonField(body, 'instance_data');
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new HttpError(400, 'BAD_USER_INPUT', '"instance_data" must be an object of column → value (one row).');
  }
  const label = stringField(body, 'label', false);
  const { explain } = await ctx.gql<{ explain: unknown }>(
    `query ($run: ID!, $row: JSON!, $label: String) { explain(runId: $run, row: $row, label: $label) { label outputSpace method baseValue output residual contributions { feature value contribution } reasons warnings } }`,
    { run: runId, row, label },
  );
  return { data: { session_id: sessionId, run_id: runId, explanation_type: 'local', explanation: explain } };
}

export async function getDatasets(ctx: RouteContext): Promise<RouteResult> {
  const { datasets } = await ctx.gql<{ datasets: unknown[] }>(`{ datasets { ${DATASET_FIELDS} } }`);
  return { data: { datasets } };
}

export async function getModels(ctx: RouteContext): Promise<RouteResult> {
  const { models } = await ctx.gql<{ models: unknown[] }>(`{ models { ${MODEL_FIELDS} } }`);
  return { data: { models } };
}

export async function getHealth(ctx: RouteContext): Promise<RouteResult> {
  const { health } = await ctx.gql<{ health: Record<string, unknown> }>(`{ health { status version uptimeSeconds tfBackend queuedRuns runningRuns nodeVersion } }`);
  return { data: health };
}

export async function getSession(ctx: RouteContext): Promise<RouteResult> {
  const session = await requireSession(ctx, ctx.params.id);
  return { data: sessionView(session) };
}

export async function deleteSession(ctx: RouteContext): Promise<RouteResult> {
  const { deleteSession: deleted } = await ctx.gql<{ deleteSession: boolean }>(`mutation ($id: ID!) { deleteSession(id: $id) }`, { id: ctx.params.id });
  if (!deleted) throw new HttpError(404, 'NOT_FOUND', `Session "${ctx.params.id}" was not found.`);
  return { data: { session_id: ctx.params.id, deleted: true } };
}

export const UPLOAD_MUTATION = `mutation ($file: File!, $name: String, $label: String) { uploadDataset(file: $file, name: $name, labelColumn: $label) { ${DATASET_FIELDS} columns { name type missingShare } } }`;
