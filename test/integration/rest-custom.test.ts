/**
 * The original project's final API (its newer web client): POST /api/custom/train → poll /api/custom/progress →
 * /api/custom/result, and pretrained predictions with one default model per mission, trained once and reused.
 * The `{"success": …}` envelope, fields at the top level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_KEPLER, HAS_NASA, keplerRows, startServer, waitFor, type TestServer } from './harness.js';
import { call, csvOf, type RestResponse } from './rest-helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const CLASS_WORDS = ['Exoplanet', 'Candidate', 'False Positive'];

function success(res: RestResponse, status = 200): Record<string, unknown> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 600)}`);
  expect(res.body.success).toBe(true);
  expect(res.body.data).toBeUndefined();
  return res.body;
}

function failure(res: RestResponse, status: number, message?: string): Record<string, unknown> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 600)}`);
  expect(res.body.success).toBe(false);
  if (message) expect(res.body.error).toBe(message);
  return res.body;
}

/** The newer client polls every second and moves on at "completed"; here every 150 ms. */
async function pollUntilCompleted(pathname: string): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  await waitFor(
    async () => {
      const progress = success(await call(server, 'GET', pathname));
      seen.push(progress);
      expect(progress.status).not.toBe('error');
      return progress.status === 'completed' ? progress : undefined;
    },
    120_000,
    150,
  );
  for (const view of seen) expect(['initialized', 'running', 'completed']).toContain(view.status);
  for (let i = 1; i < seen.length; i++)
    expect(seen[i].progress as number).toBeGreaterThanOrEqual(seen[i - 1].progress as number);
  expect(seen[seen.length - 1]).toMatchObject({ progress: 100, status: 'completed' });
  expect(typeof seen[0].current_step).toBe('string');
  return seen;
}

interface CustomPrediction {
  id: number;
  prediction: string;
  confidence: number;
  probabilities: Record<string, number>;
  feature_importance: Record<string, number>;
  features: Record<string, number | string | null>;
  actual?: string;
}

function expectCustomResult(result: Record<string, unknown>, testSize: number): CustomPrediction[] {
  const metrics = result.metrics as {
    accuracy: number;
    f1_score: number;
    precision: number;
    recall: number;
    confusion_matrix: number[][];
  };
  const modelInfo = result.model_info as { feature_count: number; train_size: number; test_size: number };
  expect(modelInfo.test_size).toBe(testSize);
  for (const figure of [metrics.accuracy, metrics.f1_score, metrics.precision, metrics.recall]) {
    expect(figure).toBeGreaterThan(0);
    expect(figure).toBeLessThanOrEqual(1);
  }
  const predictions = result.predictions as CustomPrediction[];
  expect(predictions.length).toBe(Math.min(50, testSize));
  for (const row of predictions) {
    expect(CLASS_WORDS).toContain(row.prediction);
    expect(Object.values(row.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(row.probabilities[row.prediction]).toBe(row.confidence);
    expect(Object.keys(row.feature_importance).sort()).toEqual(Object.keys(row.features).sort());
    expect(Object.keys(row.features)).toHaveLength(modelInfo.feature_count);
    expect(CLASS_WORDS).toContain(row.actual);
  }
  expect((result.summary as { total_predictions: number }).total_predictions).toBe(testSize);
  return predictions;
}

describe.skipIf(!HAS_NASA)('POST /api/custom/train → progress → result', () => {
  it('trains on a NASA table (JSON), reports progress to completed, and returns metrics and explained predictions', async () => {
    const started = success(
      await call(server, 'POST', '/api/custom/train', {
        json: {
          model_type: 'decision_tree',
          data_source: 'nasa',
          dataset_name: 'k2',
          hyperparameters: { max_depth: '6' },
          data_format: 'csv',
        },
      }),
      202,
    );
    expect(started.message).toBe('Training started');
    const sid = started.session_id as string;
    await pollUntilCompleted(`/api/custom/progress/${sid}`);

    const result = success(await call(server, 'GET', `/api/custom/result/${sid}`));
    const { trainingRun } = await server.data<{
      trainingRun: {
        hyperparameters: { max_depth: number };
        metrics: { accuracy: number; macroF1: number };
        splitCounts: { test: number };
      };
    }>(
      'query ($id: ID!) { trainingRun(id: $id) { hyperparameters metrics { accuracy macroF1 } splitCounts { test } } }',
      { id: started.run_id },
    );
    expect(trainingRun.hyperparameters.max_depth).toBe(6);
    expect(result.metrics).toMatchObject({
      accuracy: trainingRun.metrics.accuracy,
      f1_score: trainingRun.metrics.macroF1,
    });
    expect(result.model_info).toMatchObject({ model_type: 'decision_tree', dataset: 'k2' });
    expectCustomResult(result, trainingRun.splitCounts.test);
  });

  it('answers 400 "Training not completed yet" before a model, 404 "Session not found" for an unknown one, 400 naming a bad field', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    failure(await call(server, 'GET', `/api/custom/result/${createSession.id}`), 400, 'Training not completed yet');
    expect(success(await call(server, 'GET', `/api/custom/progress/${createSession.id}`))).toMatchObject({
      status: 'initialized',
      progress: 0,
    });
    failure(await call(server, 'GET', '/api/custom/result/ses_nope'), 404, 'Session not found');
    failure(await call(server, 'GET', '/api/custom/progress/ses_nope'), 404, 'Session not found');

    const before = (await server.data<{ sessionCount: number }>('{ sessionCount }')).sessionCount;
    const bad = failure(
      await call(server, 'POST', '/api/custom/train', {
        json: { model_type: 'random_forest', dataset_name: 'kepler', hyperparameters: { n_estimators: 0 } },
      }),
      400,
    );
    expect(bad.field).toBe('hyperparameters.n_estimators');
    expect(
      failure(await call(server, 'POST', '/api/custom/train', { json: { dataset_name: 'kepler' } }), 400).field,
    ).toBe('model_type');
    expect(
      failure(
        await call(server, 'POST', '/api/custom/train', { json: { model_type: 'svm', data_source: 'user' } }),
        400,
      ).field,
    ).toBe('training_file');
    // A refused request leaves no session behind.
    expect((await server.data<{ sessionCount: number }>('{ sessionCount }')).sessionCount).toBe(before);
  });

  it.skipIf(!HAS_KEPLER)(
    'trains on a user training_file with a testing_file (multipart, hyperparameters as a JSON string)',
    async () => {
      const rows = keplerRows(500);
      const form = new FormData();
      form.set('model_type', 'random_forest');
      form.set('data_source', 'user');
      form.set('hyperparameters', JSON.stringify({ n_estimators: 20, max_depth: 10 }));
      form.set('training_file', new Blob([csvOf(rows.slice(0, 400))], { type: 'text/csv' }), 'train.csv');
      form.set('testing_file', new Blob([csvOf(rows.slice(400))], { type: 'text/csv' }), 'test.csv');
      const started = success(await call(server, 'POST', '/api/custom/train', { multipart: form }), 202);
      await pollUntilCompleted(`/api/custom/progress/${String(started.session_id)}`);
      const result = success(await call(server, 'GET', `/api/custom/result/${String(started.session_id)}`));
      // The testing file is predicted: every one of its 100 rows, the first 50 listed with their actual class.
      const predictions = expectCustomResult(result, 100);
      const expectedNames = rows.slice(400, 450).map((r) => r.kepoi_name);
      expect(predictions.map((p) => (p as unknown as { name: string }).name)).toEqual(expectedNames);
    },
  );
});

describe.skipIf(!HAS_NASA)('POST /api/pretrained/predict → progress → result', () => {
  it('trains the mission default once on first use and reuses it for the next request', async () => {
    // Two first uses at once make one model, not two.
    const [firstResponse, concurrentResponse] = await Promise.all([
      call(server, 'POST', '/api/pretrained/predict', { json: { data_source: 'nasa', dataset_name: 'k2' } }),
      call(server, 'POST', '/api/pretrained/predict', { json: { data_source: 'nasa', dataset_name: 'k2' } }),
    ]);
    const first = success(firstResponse, 202);
    expect(success(concurrentResponse, 202).model_session_id).toBe(first.model_session_id);
    const sid = first.session_id as string;
    await pollUntilCompleted(`/api/pretrained/progress/${sid}`);
    const result = success(await call(server, 'GET', `/api/pretrained/result/${sid}`));
    expect(result.model_info).toMatchObject({ model_type: 'random_forest', dataset: 'k2' });
    // K2's own table means its held-out rows: the test split of the default model's run.
    const { session } = await server.data<{
      session: { runs: { totalCount: number }; latestSuccessfulRun: { splitCounts: { test: number } } };
    }>('query ($id: ID!) { session(id: $id) { runs { totalCount } latestSuccessfulRun { splitCounts { test } } } }', {
      id: first.model_session_id,
    });
    expectCustomResult(result, session.latestSuccessfulRun.splitCounts.test);

    const second = success(
      await call(server, 'POST', '/api/pretrained/predict', { json: { data_source: 'nasa', dataset_name: 'k2' } }),
      202,
    );
    expect(second.model_session_id).toBe(first.model_session_id);
    expect(second.session_id).not.toBe(sid);
    const progress = success(await call(server, 'GET', `/api/pretrained/progress/${String(second.session_id)}`));
    expect(progress).toMatchObject({ status: 'completed', progress: 100 });
    const again = await server.data<{ session: { runs: { totalCount: number } } }>(
      'query ($id: ID!) { session(id: $id) { runs { totalCount } } }',
      { id: first.model_session_id },
    );
    expect(again.session.runs.totalCount).toBe(1);
    expect(session.runs.totalCount).toBe(1);

    failure(await call(server, 'GET', '/api/pretrained/result/ses_nope'), 404, 'Session not found');
    expect(
      failure(
        await call(server, 'POST', '/api/pretrained/predict', {
          json: { data_source: 'nasa', dataset_name: 'hubble' },
        }),
        400,
      ).field,
    ).toBe('dataset_name');
  });
});
