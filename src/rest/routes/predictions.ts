/**
 * The original API's prediction routes: POST /predict (choose the test data, or predict rows or a dataset now),
 * GET /predict (is a model ready), GET /result (metrics and the test data predicted with reasons) and POST /result
 * (explanations).
 */
import { badInput, notFound } from '../../domain/errors.js';
import type { RouteContext, RouteResult } from '../context.js';
import { isRecord, jsonField, limitParam, recordOf, sessionIdFrom, stringField, uploadReference } from '../fields.js';
import {
  ConfigureTestDataMutation,
  ExplainInstanceQuery,
  GlobalExplanationQuery,
  LatestPredictionQuery,
  PredictBatchMutation,
  PredictReadinessQuery,
  PredictRowsQuery,
  ResultRunQuery,
} from '../operations/index.js';
import { classWords, trainingStatusWords } from '../original.js';
import { latestSuccessfulRunId, predictTestData } from '../test-data.js';
import { modelInfo, trainedMetrics } from '../views.js';

export async function postPredict(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  if (body.test_data_config !== undefined)
    return configureTestData(ctx, sessionId, jsonField(body, 'test_data_config'));
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  const rows =
    jsonField(body, 'rows') ?? (body.instance_data !== undefined ? [jsonField(body, 'instance_data')] : undefined);
  const datasetId = stringField(body, 'dataset_id', false);
  if (rows !== undefined && datasetId) throw badInput('Give "rows" or "dataset_id", not both.');
  if (rows !== undefined) {
    if (!Array.isArray(rows)) throw badInput('"rows" must be a JSON array of objects (column → value).', 'rows');
    const { predict } = await ctx.execute(PredictRowsQuery, { run: runId, rows });
    return { data: { session_id: sessionId, run_id: runId, predictions: predict } };
  }
  if (datasetId) {
    const candidatesOnly = body.candidates_only === true || body.candidates_only === 'true';
    const { predictBatch } = await ctx.execute(PredictBatchMutation, {
      run: runId,
      dataset: datasetId,
      candidates: candidatesOnly,
    });
    return { data: { session_id: sessionId, run_id: runId, prediction_id: predictBatch.id, batch: predictBatch } };
  }
  throw badInput(
    'Give "test_data_config" (what GET /result predicts), "rows" (a JSON array of objects) or "dataset_id" (an uploaded dataset or a NASA table).',
  );
}

/**
 * The original client's POST /predict: choose what GET /result predicts. A NASA table or an upload; the table the
 * model trained on, or none, means its held-out test split (the rows it never saw).
 */
async function configureTestData(ctx: RouteContext, sessionId: string, config: unknown): Promise<RouteResult> {
  if (!isRecord(config)) {
    throw badInput(
      '"test_data_config" must be an object: {"data_source": "nasa", "dataset": "kepler"} or {"data_source": "user", "uploaded_file_info": {…}}.',
      'test_data_config',
    );
  }
  const source = (stringField(config, 'data_source', false) ?? 'nasa').toLowerCase();
  let datasetId: string | null;
  if (source === 'nasa') datasetId = stringField(config, 'dataset', false) ?? stringField(config, 'dataset_id', false);
  else if (source === 'user' || source === 'upload')
    datasetId = stringField(config, 'dataset_id', false) ?? uploadReference(config, 'uploaded_file_info');
  else
    throw badInput(
      `Unknown test_data_config.data_source "${source}"; accepted: nasa, user.`,
      'test_data_config.data_source',
    );
  const { configureSession } = await ctx.execute(ConfigureTestDataMutation, {
    input: { sessionId, testData: { datasetId } },
  });
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

export async function getPredict(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const { session } = await ctx.execute(PredictReadinessQuery, { id: sessionId });
  if (!session) throw notFound('Session', sessionId);
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
  const metrics = trainedMetrics(run);
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
      classes: metrics.classes,
      features: run.features,
      accuracy: metrics.accuracy,
      macro_f1: metrics.macroF1,
      trained_at: run.finishedAt,
    },
  };
}

/** Rows GET /result lists with their explanation; the summary covers every row of the test data. */
const RESULT_ROWS_DEFAULT = 25;
const RESULT_ROWS_MAX = 200;

/**
 * GET /result: the run's metrics, confusion matrix and importance, and the configured test data (default the
 * held-out test split) predicted by the trained model: every row counted in `summary`, the first `limit` rows listed
 * with the reasons of their own explanation.
 */
export async function getResult(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const limit = limitParam(ctx, RESULT_ROWS_DEFAULT, RESULT_ROWS_MAX);
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  const { trainingRun } = await ctx.execute(ResultRunQuery, { run: runId });
  if (!trainingRun) throw notFound('Training run', runId);
  const metrics = trainedMetrics(trainingRun);
  const { testData, rows, predicted, explained } = await predictTestData(ctx, sessionId, runId, limit);

  const predictions = explained.map((explanation, i) => {
    const row = rows[i];
    const prediction = predicted[i];
    return {
      id: row.index,
      name: Object.values(recordOf(row.ids))[0] ?? `row ${String(row.index)}`,
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
    class_counts: Object.fromEntries(metrics.classes.map((label) => [classWords(label), count(label)])),
    average_confidence:
      predicted.length > 0 ? predicted.reduce((sum, p) => sum + p.confidence, 0) / predicted.length : 0,
    accuracy: labelled.length > 0 ? correct / labelled.length : null,
    test_rows: testData.rowCount,
    listed: predictions.length,
  };

  const { session } = await ctx.execute(LatestPredictionQuery, { id: sessionId });
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
      metrics,
      confusion_matrix: metrics.confusionMatrix,
      feature_importance: trainingRun.featureImportance,
      split: trainingRun.splitCounts,
      timings: trainingRun.timings,
      // Present when the run cross-validated, calibrated or refitted (null otherwise).
      cross_validation: trainingRun.crossValidation,
      calibration: trainingRun.calibration,
      refit: trainingRun.refit,
      latest_predictions: session?.latestPrediction ?? null,
    },
  };
}

export async function postResult(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const type = (stringField(body, 'explanation_type', false) ?? 'local').toLowerCase();
  if (type !== 'local' && type !== 'global')
    throw badInput(`Unknown explanation_type "${type}"; accepted: local, global.`, 'explanation_type');
  const runId = await latestSuccessfulRunId(ctx, sessionId);
  if (type === 'global') {
    const { trainingRun } = await ctx.execute(GlobalExplanationQuery, { run: runId });
    const featureImportance = trainingRun?.featureImportance ?? null;
    return {
      data: {
        session_id: sessionId,
        run_id: runId,
        explanation_type: 'global',
        feature_importance: featureImportance,
        explanation: { type: 'global', feature_importance: featureImportance },
      },
    };
  }
  const row = jsonField(body, 'instance_data');
  if (!isRecord(row)) throw badInput('"instance_data" must be an object of column → value (one row).', 'instance_data');
  const label = stringField(body, 'label', false);
  const { explain } = await ctx.execute(ExplainInstanceQuery, { run: runId, row, label });
  return {
    data: {
      session_id: sessionId,
      run_id: runId,
      explanation_type: 'local',
      explanation: { ...explain, type: 'local', prediction: classWords(explain.label) },
    },
  };
}
