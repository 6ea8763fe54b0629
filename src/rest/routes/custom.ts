/**
 * The original project's final API (its newer web client): custom training and pretrained prediction, with the
 * `{"success": true|false, …}` envelope. Each route maps onto the same GraphQL operations as the rest of REST:
 * createSession, uploadDataset, configureSession, startTraining, and the session's test data predicted and explained.
 */
import { AppError, badInput } from '../../domain/errors.js';
import { MISSION_IDS, isMissionId } from '../../ml/data/index.js';
import type { PretrainedState, RouteContext, RouteResult } from '../context.js';
import { isRecord, limitParam, recordOf } from '../fields.js';
import {
  ConfigureSessionIdMutation,
  CreateSessionIdMutation,
  DeleteSessionMutation,
  LatestRunStateQuery,
  StartTrainingIdMutation,
  SucceededRunQuery,
  UploadForTrainingMutation,
  type ConfigureSessionInput,
  type ResultRun,
  type RunState,
} from '../operations/index.js';
import { classWords, customStatusWords } from '../original.js';
import { predictTestData } from '../test-data.js';
import { progressPercent, trainedMetrics } from '../views.js';

/** Pretrained jobs remembered (the oldest are forgotten first: their progress and result then answer 404). */
export const MAX_PRETRAINED_JOBS = 10_000;

export function createPretrainedState(): PretrainedState {
  return { models: new Map(), jobs: new Map() };
}

/** Remembers a job's model session, forgetting the oldest jobs beyond `max`. */
export function rememberJob(jobs: Map<string, string>, jobId: string, modelSession: string, max = MAX_PRETRAINED_JOBS) {
  jobs.set(jobId, modelSession);
  for (const oldest of jobs.keys()) {
    if (jobs.size <= max) break;
    jobs.delete(oldest);
  }
}

/** The model behind pretrained predictions: the catalog's default random forest. */
const PRETRAINED_MODEL = 'random_forest';
const CUSTOM_ROWS_DEFAULT = 50;
const CUSTOM_ROWS_MAX = 200;

const sessionNotFound = () => new AppError('NOT_FOUND', 'Session not found');
const unknownDataSource = (source: string) =>
  badInput(`Unknown data_source "${source}"; accepted: nasa, user.`, 'data_source');
const needsTrainingFile = () =>
  badInput('A user data source needs the multipart file "training_file".', 'training_file');

interface Request {
  fields: Record<string, unknown>;
  files: Partial<Record<string, File>>;
}

/** A JSON (or form) body, or multipart with files and `hyperparameters` as a JSON string. */
async function readRequest(ctx: RouteContext, fileFields: string[]): Promise<Request> {
  if (!ctx.isMultipart) return { fields: await ctx.body(), files: {} };
  const form = await ctx.form('the form');
  const fields: Record<string, unknown> = {};
  const files: Record<string, File> = {};
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') fields[name] = value;
    else if (fileFields.includes(name)) files[name] = value;
    else throw badInput(`Unexpected file field "${name}"; files go in ${fileFields.join(' or ')}.`, name);
  }
  return { fields, files };
}

function text(fields: Record<string, unknown>, name: string): string | null {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw badInput(`"${name}" must be a string.`, name);
  return value;
}

function hyperparametersOf(fields: Record<string, unknown>): Record<string, unknown> | null {
  let value = fields.hyperparameters;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      throw badInput('"hyperparameters" must be a JSON object.', 'hyperparameters');
    }
  }
  if (!isRecord(value)) throw badInput('"hyperparameters" must be an object.', 'hyperparameters');
  return value;
}

async function upload(ctx: RouteContext, file: File) {
  const { uploadDataset } = await ctx.execute(UploadForTrainingMutation, { file });
  return uploadDataset;
}

async function configure(ctx: RouteContext, input: ConfigureSessionInput): Promise<void> {
  await ctx.execute(ConfigureSessionIdMutation, { input });
}

async function startTraining(ctx: RouteContext, sessionId: string): Promise<string> {
  const { startTraining: run } = await ctx.execute(StartTrainingIdMutation, { id: sessionId });
  return run.id;
}

/** Runs `work` on a new session; a failure deletes the session again, so a refused request leaves nothing behind. */
async function withNewSession<T>(ctx: RouteContext, work: (sessionId: string) => Promise<T>): Promise<T> {
  const { createSession } = await ctx.execute(CreateSessionIdMutation, {});
  try {
    return await work(createSession.id);
  } catch (error) {
    await ctx.execute(DeleteSessionMutation, { id: createSession.id }).catch(() => undefined);
    throw error;
  }
}

/** POST /api/custom/train: a session trained on a NASA table or the user's training file (+ optional testing file). */
export async function postCustomTrain(ctx: RouteContext): Promise<RouteResult> {
  const { fields, files } = await readRequest(ctx, ['training_file', 'testing_file']);
  const modelType = text(fields, 'model_type');
  if (!modelType) throw badInput('"model_type" is required.', 'model_type');
  const hyperparameters = hyperparametersOf(fields);
  const trainingFile = files.training_file;
  const source = (text(fields, 'data_source') ?? (trainingFile ? 'user' : 'nasa')).toLowerCase();
  const datasetName = text(fields, 'dataset_name') ?? text(fields, 'dataset');
  if (source === 'nasa' && !datasetName)
    throw badInput('A NASA data source needs "dataset_name" (kepler, k2 or tess).', 'dataset_name');
  if (source === 'user' && !trainingFile) throw needsTrainingFile();
  if (source !== 'nasa' && source !== 'user') throw unknownDataSource(source);

  return withNewSession(ctx, async (sessionId) => {
    const datasetId =
      source === 'user' && trainingFile ? (await upload(ctx, trainingFile)).id : (datasetName ?? '').toLowerCase();
    const testingFile = files.testing_file;
    const input: ConfigureSessionInput = { sessionId, datasetId, modelType, hyperparameters };
    if (testingFile) input.testData = { datasetId: (await upload(ctx, testingFile)).id };
    await configure(ctx, input);
    const runId = await startTraining(ctx, sessionId);
    return { status: 202, data: { session_id: sessionId, run_id: runId, message: 'Training started' } };
  });
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
  const { session } = await ctx.execute(LatestRunStateQuery, { id: sessionId });
  if (!session) throw sessionNotFound();
  return session.latestRun;
}

export async function getCustomProgress(ctx: RouteContext): Promise<RouteResult> {
  return { data: progressOf(ctx.params.sid, await latestRunOf(ctx, ctx.params.sid)) };
}

async function succeededRun(ctx: RouteContext, sessionId: string): Promise<ResultRun> {
  const { session } = await ctx.execute(SucceededRunQuery, { id: sessionId });
  if (!session) throw sessionNotFound();
  if (!session.latestSuccessfulRun) throw new AppError('BAD_REQUEST', 'Training not completed yet');
  return session.latestSuccessfulRun;
}

const asNumber = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : (value ?? null);

/** The final API's result: metrics of the run, and the test data's rows predicted and explained by `run`. */
async function resultOf(ctx: RouteContext, sessionId: string, run: ResultRun): Promise<RouteResult> {
  const limit = limitParam(ctx, CUSTOM_ROWS_DEFAULT, CUSTOM_ROWS_MAX);
  const { testData, rows, predicted, explained } = await predictTestData(ctx, sessionId, run.id, limit);
  const features = run.features ?? [];
  const predictions = explained.map((explanation, i) => {
    const row = rows[i];
    const prediction = predicted[i];
    const values = recordOf(row.values);
    return {
      id: row.index,
      name: Object.values(recordOf(row.ids))[0] ?? null,
      prediction: classWords(prediction.label),
      confidence: prediction.confidence,
      probabilities: Object.fromEntries(prediction.probabilities.map((p) => [classWords(p.label), p.probability])),
      feature_importance: Object.fromEntries(explanation.contributions.map((c) => [c.feature, c.contribution])),
      reasons: explanation.reasons,
      features: Object.fromEntries(features.map((feature) => [feature, asNumber(values[feature])])),
      ...(row.actual !== null ? { actual: classWords(row.actual) } : {}),
    };
  });
  const counts: Record<string, number> = {};
  for (const p of predicted) counts[classWords(p.label)] = (counts[classWords(p.label)] ?? 0) + 1;
  const metrics = trainedMetrics(run);
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
        feature_count: features.length,
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
 * Requests for one mission take turns, so two first uses at once make one model, not two.
 */
function pretrainedModel(ctx: RouteContext, mission: string): Promise<string> {
  const previous = ctx.pretrained.models.get(mission) ?? Promise.resolve(null);
  // Made as the server's (no owner): every client's pretrained predictions use it.
  const asServer: RouteContext = { ...ctx, execute: ctx.executeAsServer };
  const next = previous.catch(() => null).then((known) => ensurePretrainedModel(asServer, mission, known));
  ctx.pretrained.models.set(mission, next);
  return next;
}

async function ensurePretrainedModel(ctx: RouteContext, mission: string, known: string | null): Promise<string> {
  if (known) {
    const run = await latestRunOf(ctx, known).catch(() => null);
    if (run && run.status !== 'FAILED' && run.status !== 'CANCELLED') return known;
    if (run) {
      await startTraining(ctx, known);
      return known;
    }
  }
  return withNewSession(ctx, async (id) => {
    await configure(ctx, { sessionId: id, datasetId: mission, modelType: PRETRAINED_MODEL });
    await startTraining(ctx, id);
    return id;
  });
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
    if (!name || !isMissionId(name))
      throw badInput(`A NASA data source needs "dataset_name": one of ${MISSION_IDS.join(', ')}.`, 'dataset_name');
    datasetId = name;
    mission = name;
  } else if (source === 'user') {
    if (!file) throw needsTrainingFile();
    const uploaded = await upload(ctx, file);
    if (!uploaded.mission) {
      throw badInput(
        'Pretrained models know the NASA table formats (Kepler, K2, TESS columns); train your own with POST /api/custom/train.',
        'training_file',
      );
    }
    datasetId = uploaded.id;
    mission = uploaded.mission;
  } else {
    throw unknownDataSource(source);
  }
  const modelSession = await pretrainedModel(ctx, mission);
  // The job is a session of its own holding what to predict (the mission's own table means its held-out rows).
  const jobId = await withNewSession(ctx, async (id) => {
    await configure(ctx, { sessionId: id, datasetId, testData: { datasetId } });
    return id;
  });
  rememberJob(ctx.pretrained.jobs, jobId, modelSession);
  return {
    status: 202,
    data: { session_id: jobId, model_session_id: modelSession, mission, message: 'Prediction started' },
  };
}

function jobModel(ctx: RouteContext): string {
  const model = ctx.pretrained.jobs.get(ctx.params.sid);
  if (!model) throw sessionNotFound();
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
