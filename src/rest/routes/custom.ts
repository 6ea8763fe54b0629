/**
 * The original project's final API (its newer web client): custom training and pretrained prediction, with the
 * `{"success": true|false, …}` envelope. Each route maps onto the same GraphQL operations as the rest of REST:
 * createSession, uploadDataset, configureSession, startTraining, and the session's test data predicted and explained.
 */
import { HttpError } from './http.js';
import { classWords, customStatusWords } from './original.js';
import { MISSION_IDS, isMissionId } from '../ml/data/index.js';
import { predictTestData, progressPercent, type RouteContext, type RouteResult } from './routes.js';

/** What the final API keeps between requests, per app: the default model of each mission and the pretrained jobs. */
export interface PretrainedState {
  /** mission → the session whose model serves pretrained predictions (trained once, on first use). */
  models: Map<string, string>;
  /** job session → the model session it predicts with. */
  jobs: Map<string, string>;
}

export function createPretrainedState(): PretrainedState {
  return { models: new Map(), jobs: new Map() };
}

/** The model behind pretrained predictions: the catalog's default random forest. */
const PRETRAINED_MODEL = 'random_forest';
const CUSTOM_ROWS_DEFAULT = 50;
const CUSTOM_ROWS_MAX = 200;

interface Request {
  fields: Record<string, unknown>;
  files: Record<string, File>;
}

/** A JSON (or form) body, or multipart with files and `hyperparameters` as a JSON string. */
async function readRequest(ctx: RouteContext, fileFields: string[]): Promise<Request> {
  if (!ctx.multipart) return { fields: await ctx.body(), files: {} };
  const form = await ctx.multipart();
  const fields: Record<string, unknown> = {};
  const files: Record<string, File> = {};
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') fields[name] = value;
    else if (fileFields.includes(name)) files[name] = value;
    else
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        `Unexpected file field "${name}"; files go in ${fileFields.join(' or ')}.`,
        {},
        name,
      );
  }
  return { fields, files };
}

function text(fields: Record<string, unknown>, name: string): string | null {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new HttpError(400, 'BAD_USER_INPUT', `"${name}" must be a string.`, {}, name);
  return value;
}

function hyperparametersOf(fields: Record<string, unknown>): Record<string, unknown> | null {
  let value = fields.hyperparameters;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new HttpError(400, 'BAD_USER_INPUT', '"hyperparameters" must be a JSON object.', {}, 'hyperparameters');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'BAD_USER_INPUT', '"hyperparameters" must be an object.', {}, 'hyperparameters');
  return value as Record<string, unknown>;
}

interface Upload {
  id: string;
  mission: string | null;
}

async function upload(ctx: RouteContext, file: File): Promise<Upload> {
  const { uploadDataset } = await ctx.gql<{ uploadDataset: Upload }>(
    'mutation ($file: File!) { uploadDataset(file: $file) { id mission } }',
    {},
    { name: file.name || 'upload.csv', blob: file, variable: 'file' },
  );
  return uploadDataset;
}

async function createSession(ctx: RouteContext): Promise<string> {
  const { createSession: created } = await ctx.gql<{ createSession: { id: string } }>(
    'mutation { createSession { id } }',
  );
  return created.id;
}

async function configure(ctx: RouteContext, input: Record<string, unknown>): Promise<void> {
  await ctx.gql('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', { input });
}

async function startTraining(ctx: RouteContext, sessionId: string): Promise<string> {
  const { startTraining: run } = await ctx.gql<{ startTraining: { id: string } }>(
    'mutation ($id: ID!) { startTraining(sessionId: $id) { id } }',
    { id: sessionId },
  );
  return run.id;
}

/** Runs `work` on a new session; a failure deletes the session again, so a refused request leaves nothing behind. */
async function withNewSession<T>(ctx: RouteContext, work: (sessionId: string) => Promise<T>): Promise<T> {
  const sessionId = await createSession(ctx);
  try {
    return await work(sessionId);
  } catch (error) {
    await ctx.gql('mutation ($id: ID!) { deleteSession(id: $id) }', { id: sessionId }).catch(() => undefined);
    throw error;
  }
}

/** POST /api/custom/train: a session trained on a NASA table or the user's training file (+ optional testing file). */
export async function postCustomTrain(ctx: RouteContext): Promise<RouteResult> {
  const { fields, files } = await readRequest(ctx, ['training_file', 'testing_file']);
  const modelType = text(fields, 'model_type');
  if (!modelType) throw new HttpError(400, 'BAD_USER_INPUT', '"model_type" is required.', {}, 'model_type');
  const hyperparameters = hyperparametersOf(fields);
  const source = (text(fields, 'data_source') ?? (files.training_file ? 'user' : 'nasa')).toLowerCase();
  const datasetName = text(fields, 'dataset_name') ?? text(fields, 'dataset');
  if (source === 'nasa' && !datasetName)
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      'A NASA data source needs "dataset_name" (kepler, k2 or tess).',
      {},
      'dataset_name',
    );
  if (source === 'user' && !files.training_file)
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      'A user data source needs the multipart file "training_file".',
      {},
      'training_file',
    );
  if (source !== 'nasa' && source !== 'user')
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `Unknown data_source "${source}"; accepted: nasa, user.`,
      {},
      'data_source',
    );

  return withNewSession(ctx, async (sessionId) => {
    const datasetId = source === 'user' ? (await upload(ctx, files.training_file)).id : datasetName!.toLowerCase();
    const input: Record<string, unknown> = { sessionId, datasetId, modelType, hyperparameters };
    if (files.testing_file) input.testData = { datasetId: (await upload(ctx, files.testing_file)).id };
    await configure(ctx, input);
    const runId = await startTraining(ctx, sessionId);
    return { status: 202, data: { session_id: sessionId, run_id: runId, message: 'Training started' } };
  });
}

interface RunState {
  id: string;
  status: string;
  stage: string;
  progress: number;
  message: string | null;
  error: string | null;
}

function progressOf(sessionId: string, run: RunState | null): Record<string, unknown> {
  if (!run) return { session_id: sessionId, progress: 0, current_step: 'Not started', status: 'initialized' };
  return {
    session_id: sessionId,
    run_id: run.id,
    progress: progressPercent(run),
    current_step: run.message ?? run.stage.toLowerCase(),
    status: customStatusWords(run.status),
    stage: run.stage,
    ...(run.error ? { error_message: run.error } : {}),
  };
}

async function latestRunOf(ctx: RouteContext, sessionId: string): Promise<RunState | null> {
  const { session } = await ctx.gql<{ session: { latestRun: RunState | null } | null }>(
    'query ($id: ID!) { session(id: $id) { latestRun { id status stage progress message error } } }',
    { id: sessionId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', 'Session not found');
  return session.latestRun;
}

export async function getCustomProgress(ctx: RouteContext): Promise<RouteResult> {
  return { data: progressOf(ctx.params.sid, await latestRunOf(ctx, ctx.params.sid)) };
}

interface ResultRun {
  id: string;
  modelType: string;
  datasetId: string;
  features: string[];
  splitCounts: { train: number; test: number } | null;
  metrics: {
    accuracy: number;
    macroF1: number;
    macroPrecision: number;
    macroRecall: number;
    classes: string[];
    confusionMatrix: { labels: string[]; matrix: number[][] };
  };
}

async function succeededRun(ctx: RouteContext, sessionId: string): Promise<ResultRun> {
  const { session } = await ctx.gql<{ session: { latestSuccessfulRun: ResultRun | null } | null }>(
    `query ($id: ID!) { session(id: $id) { latestSuccessfulRun { id modelType datasetId features splitCounts { train test }
      metrics { accuracy macroF1 macroPrecision macroRecall classes confusionMatrix { labels matrix } } } } }`,
    { id: sessionId },
  );
  if (!session) throw new HttpError(404, 'NOT_FOUND', 'Session not found');
  if (!session.latestSuccessfulRun) throw new HttpError(400, 'BAD_REQUEST', 'Training not completed yet');
  return session.latestSuccessfulRun;
}

function limitOf(ctx: RouteContext): number {
  const raw = ctx.url.searchParams.get('limit');
  const limit = raw === null ? CUSTOM_ROWS_DEFAULT : Number(raw);
  if (!Number.isInteger(limit) || limit < 0 || limit > CUSTOM_ROWS_MAX) {
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `"limit" must be a whole number from 0 to ${CUSTOM_ROWS_MAX}, got "${raw}".`,
      {},
      'limit',
    );
  }
  return limit;
}

const asNumber = (value: string | null): number | string | null =>
  value !== null && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;

/** The final API's result: metrics of the run, and the test data's rows predicted and explained by `run`. */
async function resultOf(ctx: RouteContext, sessionId: string, run: ResultRun): Promise<RouteResult> {
  const { testData, rows, predicted, explained } = await predictTestData(ctx, sessionId, run.id, limitOf(ctx));
  const predictions = explained.map((explanation, i) => {
    const row = rows[i];
    const prediction = predicted[i];
    return {
      id: row.index,
      name: Object.values(row.ids)[0] ?? null,
      prediction: classWords(prediction.label),
      confidence: prediction.confidence,
      probabilities: Object.fromEntries(prediction.probabilities.map((p) => [classWords(p.label), p.probability])),
      feature_importance: Object.fromEntries(explanation.contributions.map((c) => [c.feature, c.contribution])),
      reasons: explanation.reasons,
      features: Object.fromEntries(run.features.map((feature) => [feature, asNumber(row.values[feature] ?? null)])),
      ...(row.actual !== null ? { actual: classWords(row.actual) } : {}),
    };
  });
  const counts: Record<string, number> = {};
  for (const p of predicted) counts[classWords(p.label)] = (counts[classWords(p.label)] ?? 0) + 1;
  const { metrics } = run;
  return {
    data: {
      session_id: sessionId,
      metrics: {
        accuracy: metrics.accuracy,
        confusion_matrix: metrics.confusionMatrix.matrix,
        labels: metrics.confusionMatrix.labels.map(classWords),
        f1_score: metrics.macroF1,
        precision: metrics.macroPrecision,
        recall: metrics.macroRecall,
      },
      predictions,
      summary: {
        total_predictions: predicted.length,
        listed: predictions.length,
        class_counts: counts,
        test_data: testData.kind === 'HELD_OUT' ? 'held_out_test_split' : testData.datasetId,
      },
      model_info: {
        model_type: run.modelType,
        dataset: run.datasetId,
        feature_count: run.features.length,
        train_size: run.splitCounts?.train ?? null,
        test_size: testData.rowCount,
      },
    },
  };
}

export async function getCustomResult(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = ctx.params.sid;
  return resultOf(ctx, sessionId, await succeededRun(ctx, sessionId));
}

/**
 * The session serving pretrained predictions for a mission: made and trained once, on first use; trained again
 * only when its run failed or was cancelled. (Kept per running server: after a restart the first use trains anew.)
 */
async function pretrainedModel(ctx: RouteContext, mission: string): Promise<string> {
  const known = ctx.pretrained.models.get(mission);
  if (known) {
    const run = await latestRunOf(ctx, known).catch(() => null);
    if (run && run.status !== 'FAILED' && run.status !== 'CANCELLED') return known;
    if (run) {
      await startTraining(ctx, known);
      return known;
    }
  }
  const sessionId = await withNewSession(ctx, async (id) => {
    await configure(ctx, { sessionId: id, datasetId: mission, modelType: PRETRAINED_MODEL });
    await startTraining(ctx, id);
    return id;
  });
  ctx.pretrained.models.set(mission, sessionId);
  return sessionId;
}

/** POST /api/pretrained/predict: a NASA table (its held-out rows) or the user's file, predicted by the mission's default model. */
export async function postPretrainedPredict(ctx: RouteContext): Promise<RouteResult> {
  const { fields, files } = await readRequest(ctx, ['training_file', 'file', 'testing_file']);
  const file = files.training_file ?? files.file ?? files.testing_file;
  const source = (text(fields, 'data_source') ?? (file ? 'user' : 'nasa')).toLowerCase();
  let datasetId: string;
  let mission: string;
  if (source === 'nasa') {
    const name = (text(fields, 'dataset_name') ?? text(fields, 'dataset'))?.toLowerCase();
    if (!name || !isMissionId(name)) {
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        `A NASA data source needs "dataset_name": one of ${MISSION_IDS.join(', ')}.`,
        {},
        'dataset_name',
      );
    }
    datasetId = name;
    mission = name;
  } else if (source === 'user') {
    if (!file)
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        'A user data source needs the multipart file "training_file".',
        {},
        'training_file',
      );
    const uploaded = await upload(ctx, file);
    if (!uploaded.mission) {
      throw new HttpError(
        400,
        'BAD_USER_INPUT',
        'Pretrained models know the NASA table formats (Kepler, K2, TESS columns); train your own with POST /api/custom/train.',
        {},
        'training_file',
      );
    }
    datasetId = uploaded.id;
    mission = uploaded.mission;
  } else {
    throw new HttpError(
      400,
      'BAD_USER_INPUT',
      `Unknown data_source "${source}"; accepted: nasa, user.`,
      {},
      'data_source',
    );
  }
  const modelSession = await pretrainedModel(ctx, mission);
  // The job is a session of its own holding what to predict (the mission's own table means its held-out rows).
  const jobId = await withNewSession(ctx, async (id) => {
    await configure(ctx, { sessionId: id, datasetId, testData: { datasetId } });
    return id;
  });
  ctx.pretrained.jobs.set(jobId, modelSession);
  return {
    status: 202,
    data: { session_id: jobId, model_session_id: modelSession, mission, message: 'Prediction started' },
  };
}

function jobModel(ctx: RouteContext): string {
  const model = ctx.pretrained.jobs.get(ctx.params.sid);
  if (!model) throw new HttpError(404, 'NOT_FOUND', 'Session not found');
  return model;
}

export async function getPretrainedProgress(ctx: RouteContext): Promise<RouteResult> {
  const model = jobModel(ctx);
  return {
    data: {
      ...progressOf(ctx.params.sid, await latestRunOf(ctx, model)),
      session_id: ctx.params.sid,
      model_session_id: model,
    },
  };
}

export async function getPretrainedResult(ctx: RouteContext): Promise<RouteResult> {
  const model = jobModel(ctx);
  const result = await resultOf(ctx, ctx.params.sid, await succeededRun(ctx, model));
  return { data: { ...result.data, model_session_id: model } };
}
