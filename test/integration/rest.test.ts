/**
 * REST compatibility (issue 6): the original Flask README's curl flow and the web client's form flow, every error
 * mapping, REST ⇄ GraphQL shared state, catalogs, uploads, limits and CORS — against the real server over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_KEPLER, HAS_NASA, keplerRows, startServer, waitFor, type TestServer } from './harness.js';
import { call as restCall, type CallOptions, type RestResponse } from './rest-helpers.js';
import { defined } from '../fixtures/defined.js';
import { nasaTableText } from '../fixtures/nasa.js';

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers

interface Envelope<T> {
  [key: string]: unknown;
  status: 'success' | 'error';
  data?: T;
  error?: string;
  code?: string;
  field?: string;
}

type EnvelopeResponse<T> = RestResponse<Envelope<T>>;

/** The shared REST request (validated against the OpenAPI document), typed with this file's envelope. */
function call<T = Record<string, unknown>>(
  server: TestServer,
  method: string,
  pathname: string,
  options: CallOptions = {},
) {
  return restCall<Envelope<T>>(server, method, pathname, options);
}

/** No stack frames, file paths or module names in a body the client sees. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+|node_modules|"stack"/);
}

function expectSuccess<T>(res: EnvelopeResponse<T>, status = 200): T {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  expect(res.body.status).toBe('success');
  expect(res.body.data).toBeDefined();
  expectTopLevelCopy(res.body);
  return res.body.data as T;
}

/** The original envelope: every field of `data` also sits at the top level (except `status`, the envelope's own). */
function expectTopLevelCopy(body: Record<string, unknown>): void {
  const data = body.data as Record<string, unknown>;
  for (const [key, value] of Object.entries(data)) if (key !== 'status') expect(body[key], key).toEqual(value);
}

function expectError(res: EnvelopeResponse<unknown>, status: number, code: string): Envelope<unknown> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body.status).toBe('error');
  expect(res.body.code).toBe(code);
  expect(typeof res.body.error).toBe('string');
  expect((res.body.error ?? '').length).toBeGreaterThan(5);
  expect(res.body.data).toBeUndefined();
  expectNoStack(res.text);
  return res.body;
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes of the envelopes read here

interface SessionView {
  session_id: string;
  data_source: 'nasa' | 'user' | null;
  dataset: string | null;
  model_type: string | null;
  hyperparameters: Record<string, unknown>;
  ready_to_train: boolean;
  missing: string[];
  latest_run: { run_id: string; status: string } | null;
}

interface SelectView extends SessionView {
  session: SessionView;
  available_datasets: { id: string; available: boolean }[];
  available_models: { id: string; hyperparameters: { name: string; default: unknown }[] }[];
}

interface ProgressView {
  session_id: string;
  run_id: string | null;
  status: string;
  stage: string | null;
  progress: number;
  step: number;
  total_steps: number;
  message: string | null;
}

interface Probability {
  label: string;
  probability: number;
}

interface PredictionView {
  label: string;
  confidence: number;
  probabilities: Probability[];
  warnings: string[];
}

interface ImportanceView {
  feature: string;
  importance: number;
}

interface ResultView {
  run_id: string;
  model_type: string;
  metrics: {
    numSamples: number;
    accuracy: number;
    macroF1: number;
    majorityBaselineAccuracy: number;
    classes: string[];
  };
  confusion_matrix: { labels: string[]; matrix: number[][] };
  feature_importance: ImportanceView[];
  latest_predictions: { id: string; rowCount: number } | null;
}

interface ExplanationView {
  explanation: {
    label: string;
    outputSpace: string;
    method: string;
    baseValue: number;
    output: number;
    contributions: { feature: string; value: number | null; contribution: number }[];
  };
}

interface UploadView {
  dataset_id: string;
  dataset: {
    id: string;
    kind: string;
    mission: string | null;
    rowCount: number;
    labelColumn: string;
    classes: string[];
    featureColumns: string[];
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Flow helpers

/** Polls GET /training until the run ends; returns every snapshot seen. */
async function pollTraining(server: TestServer, sessionId: string): Promise<ProgressView[]> {
  const seen: ProgressView[] = [];
  await waitFor(
    async () => {
      const view = expectSuccess(
        await call<ProgressView>(server, 'GET', '/training', { query: { session_id: sessionId } }),
      );
      seen.push(view);
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(view.status) ? view : undefined;
    },
    120_000,
    150,
  );
  return seen;
}

function expectProgressSane(seen: ProgressView[], runId: string): void {
  for (const view of seen) {
    expect(view.run_id).toBe(runId);
    expect(view.progress).toBeGreaterThanOrEqual(0);
    expect(view.progress).toBeLessThanOrEqual(100);
  }
  for (let i = 1; i < seen.length; i++) expect(seen[i].progress).toBeGreaterThanOrEqual(seen[i - 1].progress);
  const last = seen[seen.length - 1];
  expect(last).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', progress: 100 });
}

function expectConfusionMatrixConsistent(result: ResultView): void {
  const { labels, matrix } = result.confusion_matrix;
  expect(labels).toEqual(result.metrics.classes);
  expect(matrix).toHaveLength(labels.length);
  for (const row of matrix) expect(row).toHaveLength(labels.length);
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const diagonal = matrix.reduce((sum, row, i) => sum + row[i], 0);
  expect(total).toBe(result.metrics.numSamples);
  expect(diagonal / total).toBeCloseTo(result.metrics.accuracy, 10);
}

/** The local explanation adds up, and explains the same number the prediction reports. */
function expectExplanationAddsUp(explained: ExplanationView, prediction: PredictionView, features: string[]): void {
  const { explanation } = explained;
  const sum = explanation.contributions.reduce((a, c) => a + c.contribution, 0);
  expect(explanation.baseValue + sum).toBeCloseTo(explanation.output, 9);
  expect(explanation.label).toBe(prediction.label);
  expect(explanation.contributions.map((c) => c.feature).sort()).toEqual([...features].sort());
  if (explanation.outputSpace === 'PROBABILITY') {
    const p = prediction.probabilities.find((x) => x.label === explanation.label)?.probability;
    expect(explanation.output).toBeCloseTo(p ?? NaN, 9);
  }
}

/** Header + the first `count` data lines of the real Kepler table (built at test time; never committed). */
function keplerCsvSubset(count: number): string {
  const lines = nasaTableText('kepler')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  return lines.slice(0, count + 1).join('\n') + '\n';
}

/** A small custom CSV whose label column has no NASA name: two numeric features, class from a threshold. */
function customCsv(rows: number): string {
  const lines = ['object,period_days,depth_ppm,verdict'];
  for (let i = 0; i < rows; i++) {
    const period = 1 + ((i * 37) % 97) / 3;
    const depth = 100 + ((i * 53) % 89) * 10;
    lines.push(`obj-${i},${period.toFixed(3)},${depth},${depth > 500 ? 'real' : 'fake'}`);
  }
  return lines.join('\n') + '\n';
}

function fileForm(content: string | Uint8Array, fileName: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  form.set('file', new Blob([new Uint8Array(bytes)]), fileName);
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}

// ---------------------------------------------------------------------------------------------------------------

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

describe.skipIf(!HAS_KEPLER)('the original README flow (config_type, JSON bodies)', () => {
  let sessionId = '';
  let features: string[] = [];
  const row = HAS_KEPLER ? keplerRows(1, (r) => r.koi_disposition === 'CONFIRMED')[0] : {};

  it('GET /select → POST /select (kepler) → POST /training → poll GET /training → GET /result', async () => {
    const created = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
    sessionId = created.session_id;
    expect(sessionId).toMatch(/^ses_/);
    // A new session can train right away: kepler + random_forest with its defaults.
    expect(created).toMatchObject({
      data_source: 'nasa',
      dataset: 'kepler',
      model_type: 'random_forest',
      ready_to_train: true,
      missing: [],
      latest_run: null,
    });
    expect(created.hyperparameters.n_estimators).toBe(100);
    expect(created.session.session_id).toBe(sessionId);
    expect(created.available_datasets.map((d) => d.id)).toEqual(expect.arrayContaining(['kepler', 'k2', 'tess']));
    const forest = created.available_models.find((m) => m.id === 'random_forest');
    expect(forest?.hyperparameters.find((h) => h.name === 'n_estimators')?.default).toBe(100);

    const again = expectSuccess(await call<SelectView>(server, 'GET', '/select', { query: { session_id: sessionId } }));
    expect(again.session_id).toBe(sessionId);

    const chosen = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        json: { session_id: sessionId, config_type: 'data_source', data_source: 'nasa', dataset: 'kepler' },
      }),
    );
    expect(chosen).toMatchObject({ session_id: sessionId, data_source: 'nasa', dataset: 'kepler' });

    const tuned = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        json: { session_id: sessionId, config_type: 'hyperparameters', hyperparameters: { n_estimators: 20 } },
      }),
    );
    // Merged over the current values: only n_estimators changed.
    expect(tuned.hyperparameters).toEqual({ ...created.hyperparameters, n_estimators: 20 });

    const notYet = expectSuccess(
      await call<{ model_ready: boolean }>(server, 'GET', '/predict', { query: { session_id: sessionId } }),
    );
    expect(notYet.model_ready).toBe(false);
    const notStarted = expectSuccess(
      await call<ProgressView>(server, 'GET', '/training', { query: { session_id: sessionId } }),
    );
    expect(notStarted).toMatchObject({ run_id: null, status: 'NOT_STARTED', progress: 0 });

    const started = expectSuccess(
      await call<ProgressView>(server, 'POST', '/training', { json: { session_id: sessionId } }),
      202,
    );
    expect(started.run_id).toMatch(/^run_/);
    expect(['QUEUED', 'RUNNING']).toContain(started.status);
    const runId = defined(started.run_id, "the started run's run_id");

    const seen = await pollTraining(server, sessionId);
    expectProgressSane(seen, runId);

    // The run the REST layer started is the GraphQL run, with the same state.
    const { trainingRun } = await server.data<{
      trainingRun: { status: string; modelType: string; hyperparameters: Record<string, unknown> };
    }>('query ($id: ID!) { trainingRun(id: $id) { status modelType hyperparameters } }', { id: runId });
    expect(trainingRun).toMatchObject({ status: 'SUCCEEDED', modelType: 'random_forest' });
    expect(trainingRun.hyperparameters.n_estimators).toBe(20);

    const result = expectSuccess(
      await call<ResultView>(server, 'GET', '/result', { query: { session_id: sessionId } }),
    );
    expect(result.run_id).toBe(runId);
    expect(result.metrics.classes).toEqual(['false_positive', 'candidate', 'planet']);
    expect(result.metrics.accuracy).toBeGreaterThan(result.metrics.majorityBaselineAccuracy + 0.1);
    expect(result.metrics.macroF1).toBeGreaterThan(0.5);
    expectConfusionMatrixConsistent(result);
    expect(result.feature_importance.length).toBeGreaterThan(5);
    expect(result.latest_predictions).toBeNull();

    const ready = expectSuccess(
      await call<{ model_ready: boolean; run_id: string; features: string[] }>(server, 'GET', '/predict', {
        query: { session_id: sessionId },
      }),
    );
    expect(ready).toMatchObject({ model_ready: true, run_id: runId });
    expect(ready.features).toContain('koi_period');
    features = ready.features;
  });

  it('POST /predict with one Kepler row, then POST /result local and global explanations', async () => {
    expect(sessionId).not.toBe('');
    const predicted = expectSuccess(
      await call<{ predictions: PredictionView[] }>(server, 'POST', '/predict', {
        json: { session_id: sessionId, rows: [row] },
      }),
    );
    expect(predicted.predictions).toHaveLength(1);
    const [prediction] = predicted.predictions;
    expect(['false_positive', 'candidate', 'planet']).toContain(prediction.label);
    const total = prediction.probabilities.reduce((a, p) => a + p.probability, 0);
    expect(total).toBeCloseTo(1, 9);
    expect(prediction.confidence).toBe(Math.max(...prediction.probabilities.map((p) => p.probability)));

    const local = expectSuccess(
      await call<ExplanationView>(server, 'POST', '/result', {
        json: { session_id: sessionId, explanation_type: 'local', instance_data: row },
      }),
    );
    expect(local.explanation.method).toBe('TREE_SHAP');
    expectExplanationAddsUp(local, prediction, features);

    const global = expectSuccess(
      await call<{ explanation_type: string; feature_importance: ImportanceView[] }>(server, 'POST', '/result', {
        json: { session_id: sessionId, explanation_type: 'global' },
      }),
    );
    const result = expectSuccess(
      await call<ResultView>(server, 'GET', '/result', { query: { session_id: sessionId } }),
    );
    expect(global.explanation_type).toBe('global');
    expect(global.feature_importance).toEqual(result.feature_importance);
  });

  it('refuses bad prediction input with 400 naming the row and column (never 500)', async () => {
    const badValue = await call(server, 'POST', '/predict', {
      json: { session_id: sessionId, rows: [{ koi_period: 'abc' }] },
    });
    expect(expectError(badValue, 400, 'BAD_USER_INPUT').field).toBe('rows[0].koi_period');
    expectError(
      await call(server, 'POST', '/predict', { json: { session_id: sessionId, rows: [7] } }),
      400,
      'BAD_USER_INPUT',
    );
    expectError(
      await call(server, 'POST', '/predict', { json: { session_id: sessionId, rows: {} } }),
      400,
      'BAD_USER_INPUT',
    );
    expectError(await call(server, 'POST', '/predict', { json: { session_id: sessionId } }), 400, 'BAD_USER_INPUT');
    const tooMany = Array.from({ length: 1001 }, () => ({ koi_period: 3 }));
    expectError(
      await call(server, 'POST', '/predict', { json: { session_id: sessionId, rows: tooMany } }),
      400,
      'BAD_USER_INPUT',
    );

    const badExplainValue = await call(server, 'POST', '/result', {
      json: { session_id: sessionId, explanation_type: 'local', instance_data: { koi_period: 'abc' } },
    });
    expect(expectError(badExplainValue, 400, 'BAD_USER_INPUT').field).toMatch(/^row.*\.koi_period$/);
    const badLabel = await call(server, 'POST', '/result', {
      json: { session_id: sessionId, instance_data: { koi_period: 3 }, label: 'nope' },
    });
    expect(expectError(badLabel, 400, 'BAD_USER_INPUT').error).toContain('false_positive');
    expectError(
      await call(server, 'POST', '/result', { json: { session_id: sessionId, explanation_type: 'local' } }),
      400,
      'BAD_USER_INPUT',
    );
    const badType = await call(server, 'POST', '/result', {
      json: { session_id: sessionId, explanation_type: 'lime' },
    });
    expect(expectError(badType, 400, 'BAD_USER_INPUT').error).toMatch(/local, global/);
  });
});

describe.skipIf(!HAS_KEPLER)("the original web client's form (action=update_*, x-www-form-urlencoded)", () => {
  it('configures through every action, trains on an upload named by uploaded_file_info, predicts and explains', async () => {
    const { session_id: sessionId } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);

    const kepler = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        form: { session_id: sessionId, action: 'update_data_source', data_source: 'nasa', dataset: 'kepler' },
      }),
    );
    expect(kepler).toMatchObject({ data_source: 'nasa', dataset: 'kepler' });

    // A NASA-format upload built from 300 real Kepler rows.
    const uploaded = expectSuccess(
      await call<UploadView>(server, 'POST', '/api/upload', {
        multipart: fileForm(keplerCsvSubset(300), 'kepler-subset.csv'),
      }),
      201,
    );
    const uploadId = uploaded.dataset_id;
    expect(uploaded.dataset).toMatchObject({
      id: uploadId,
      kind: 'UPLOAD',
      rowCount: 300,
      labelColumn: 'koi_disposition',
    });

    // uploaded_file_info holds the upload's id (the original client sent an object; a bare id works too).
    const user = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        form: {
          session_id: sessionId,
          action: 'update_data_source',
          data_source: 'user',
          uploaded_file_info: JSON.stringify({ dataset_id: uploadId, filename: 'kepler-subset.csv' }),
        },
      }),
    );
    expect(user).toMatchObject({ data_source: 'user', dataset: uploadId });
    const bare = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        form: {
          session_id: sessionId,
          action: 'update_data_source',
          data_source: 'user',
          uploaded_file_info: uploadId,
        },
      }),
    );
    expect(bare.dataset).toBe(uploadId);
    // Never a path: an object without an id is refused, and a path is just an unknown dataset.
    expectError(
      await call(server, 'POST', '/select', {
        form: {
          session_id: sessionId,
          action: 'update_data_source',
          data_source: 'user',
          uploaded_file_info: '{"filepath":"/etc/passwd"}',
        },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expectError(
      await call(server, 'POST', '/select', {
        form: {
          session_id: sessionId,
          action: 'update_data_source',
          data_source: 'user',
          uploaded_file_info: '/etc/passwd',
        },
      }),
      400,
      'BAD_USER_INPUT',
    );

    const model = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        form: { session_id: sessionId, action: 'update_model', model_type: 'decision_tree' },
      }),
    );
    expect(model.model_type).toBe('decision_tree');

    // One form field per hyperparameter, and the JSON-string form of the object: both merge.
    const flat = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        form: { session_id: sessionId, action: 'update_hyperparameters', max_depth: '5' },
      }),
    );
    expect(flat.hyperparameters.max_depth).toBe(5);
    const asJson = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        form: { session_id: sessionId, action: 'update_hyperparameters', hyperparameters: '{"min_samples_leaf":2}' },
      }),
    );
    expect(asJson.hyperparameters).toMatchObject({ max_depth: 5, min_samples_leaf: 2 });
    expect(asJson).toMatchObject({ dataset: uploadId, model_type: 'decision_tree', ready_to_train: true });

    const started = expectSuccess(
      await call<ProgressView>(server, 'POST', '/training', { form: { session_id: sessionId } }),
      202,
    );
    const seen = await pollTraining(server, sessionId);
    expectProgressSane(seen, defined(started.run_id, "the started run's run_id"));

    const result = expectSuccess(
      await call<ResultView>(server, 'GET', '/result', { query: { session_id: sessionId } }),
    );
    expect(result.model_type).toBe('decision_tree');
    expectConfusionMatrixConsistent(result);

    // Forms carry JSON as strings: rows and instance_data too.
    const row = keplerRows(1, (r) => r.koi_disposition === 'FALSE POSITIVE')[0];
    const { features } = expectSuccess(
      await call<{ features: string[] }>(server, 'GET', '/predict', { query: { session_id: sessionId } }),
    );
    const predicted = expectSuccess(
      await call<{ predictions: PredictionView[] }>(server, 'POST', '/predict', {
        form: { session_id: sessionId, rows: JSON.stringify([row]) },
      }),
    );
    const local = expectSuccess(
      await call<ExplanationView>(server, 'POST', '/result', {
        form: { session_id: sessionId, explanation_type: 'local', instance_data: JSON.stringify(row) },
      }),
    );
    expectExplanationAddsUp(local, predicted.predictions[0], features);

    // A batch prediction on the upload becomes the session's latest predictions.
    const batch = expectSuccess(
      await call<{ prediction_id: string; batch: { rowCount: number } }>(server, 'POST', '/predict', {
        json: { session_id: sessionId, dataset_id: uploadId },
      }),
    );
    expect(batch.batch.rowCount).toBe(300);
    const after = expectSuccess(await call<ResultView>(server, 'GET', '/result', { query: { session_id: sessionId } }));
    expect(after.latest_predictions).toMatchObject({ id: batch.prediction_id, rowCount: 300 });
    const csv = await fetch(`${server.url}/api/predictions/${batch.prediction_id}.csv`);
    expect(csv.status).toBe(200);
    expect((await csv.text()).trim().split('\n')).toHaveLength(301);
  });
});

describe('error mapping: status code and envelope', () => {
  it('unknown session → 404 on every session route', async () => {
    const missing = 'ses_doesNotExist';
    const attempts: EnvelopeResponse<unknown>[] = [
      await call(server, 'GET', '/select', { query: { session_id: missing } }),
      await call(server, 'POST', '/select', {
        json: { session_id: missing, config_type: 'model', model_type: 'decision_tree' },
      }),
      await call(server, 'POST', '/select', {
        form: { session_id: missing, action: 'update_model', model_type: 'decision_tree' },
      }),
      await call(server, 'POST', '/training', { json: { session_id: missing } }),
      await call(server, 'GET', '/training', { query: { session_id: missing } }),
      await call(server, 'POST', '/predict', { json: { session_id: missing, rows: [{ koi_period: 1 }] } }),
      await call(server, 'GET', '/predict', { query: { session_id: missing } }),
      await call(server, 'GET', '/result', { query: { session_id: missing } }),
      await call(server, 'POST', '/result', { json: { session_id: missing, explanation_type: 'global' } }),
      await call(server, 'GET', `/api/sessions/${missing}`),
      await call(server, 'DELETE', `/api/sessions/${missing}`),
    ];
    for (const res of attempts) expect(expectError(res, 404, 'NOT_FOUND').error).toContain(missing);
  });

  it('missing session_id → 400', async () => {
    expectError(await call(server, 'GET', '/training'), 400, 'BAD_USER_INPUT');
    expectError(await call(server, 'POST', '/training', { json: {} }), 400, 'BAD_USER_INPUT');
    expectError(await call(server, 'POST', '/training', { json: { session_id: { $ne: 1 } } }), 400, 'BAD_USER_INPUT');
  });

  it('unknown config_type or action → 400 listing the accepted ones', async () => {
    const { session_id } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
    const configType = await call(server, 'POST', '/select', { json: { session_id, config_type: 'telescope' } });
    expect(expectError(configType, 400, 'BAD_USER_INPUT').error).toContain('data_source, model, hyperparameters');
    const action = await call(server, 'POST', '/select', { form: { session_id, action: 'update_telescope' } });
    expect(expectError(action, 400, 'BAD_USER_INPUT').error).toContain(
      'update_data_source, update_model, update_hyperparameters',
    );
    const neither = await call(server, 'POST', '/select', { json: { session_id } });
    expect(expectError(neither, 400, 'BAD_USER_INPUT').error).toMatch(/config_type.*action/);
    const source = await call(server, 'POST', '/select', {
      json: { session_id, config_type: 'data_source', data_source: 'ftp' },
    });
    expect(expectError(source, 400, 'BAD_USER_INPUT').error).toContain('nasa, user');
  });

  it('a bad hyperparameter, model or dataset → 400 naming the field, the same as over GraphQL', async () => {
    const { session_id } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
    const negative = expectError(
      await call(server, 'POST', '/select', {
        json: { session_id, config_type: 'hyperparameters', hyperparameters: { n_estimators: -3 } },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expect(negative.field).toBe('hyperparameters.n_estimators');
    expect(negative.error).toContain('n_estimators');
    const unknown = expectError(
      await call(server, 'POST', '/select', {
        json: { session_id, config_type: 'hyperparameters', hyperparameters: { bogus: 1 } },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expect(unknown.field).toBe('hyperparameters.bogus');
    const wrongType = expectError(
      await call(server, 'POST', '/select', {
        form: { session_id, action: 'update_hyperparameters', n_estimators: 'many' },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expect(wrongType.field).toBe('hyperparameters.n_estimators');
    expectError(
      await call(server, 'POST', '/select', {
        form: { session_id, action: 'update_hyperparameters', hyperparameters: '{"n_estimators":' },
      }),
      400,
      'BAD_USER_INPUT',
    );
    const model = expectError(
      await call(server, 'POST', '/select', { json: { session_id, config_type: 'model', model_type: 'xgb9000' } }),
      400,
      'BAD_USER_INPUT',
    );
    expect(model.field).toBe('modelType');
    const dataset = expectError(
      await call(server, 'POST', '/select', {
        json: { session_id, config_type: 'data_source', data_source: 'nasa', dataset: 'hubble' },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expect(dataset.field).toBe('datasetId');

    // The same resolver answers GraphQL: same code, field and message.
    const graphql = await server.gql(
      'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }',
      {
        input: { sessionId: session_id, hyperparameters: { n_estimators: -3 } },
      },
    );
    expect(graphql.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'hyperparameters.n_estimators',
    });
    expect(graphql.errors?.[0].message).toBe(negative.error);

    // Nothing was changed by the refused requests.
    const state = expectSuccess(await call<SessionView>(server, 'GET', `/api/sessions/${session_id}`));
    expect(state).toMatchObject({ dataset: 'kepler', model_type: 'random_forest' });
    expect(state.hyperparameters.n_estimators).toBe(100);
  });

  it('malformed JSON, a non-object body or an unsupported content type → 400 / 415', async () => {
    const malformed = await call(server, 'POST', '/select', {
      raw: { body: '{"session_id": ', type: 'application/json' },
    });
    expectError(malformed, 400, 'BAD_REQUEST');
    expectError(
      await call(server, 'POST', '/training', { raw: { body: '[1, 2]', type: 'application/json' } }),
      400,
      'BAD_REQUEST',
    );
    expectError(
      await call(server, 'POST', '/select', { raw: { body: 'session_id=1', type: 'text/plain' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectError(
      await call(server, 'POST', '/api/upload', { json: { file: 'a,b\n1,2\n' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('wrong method → 405 with an Allow header; unknown route → 404', async () => {
    const put = await call(server, 'PUT', '/select', { json: {} });
    expectError(put, 405, 'METHOD_NOT_ALLOWED');
    expect(put.headers.get('allow')).toBe('GET, POST');
    const del = await call(server, 'DELETE', '/training');
    expectError(del, 405, 'METHOD_NOT_ALLOWED');
    expect(del.headers.get('allow')).toBe('GET, POST');
    const post = await call(server, 'POST', '/api/health', { json: {} });
    expectError(post, 405, 'METHOD_NOT_ALLOWED');
    expect(post.headers.get('allow')).toBe('GET');
    const getUpload = await call(server, 'GET', '/api/upload');
    expect(getUpload.headers.get('allow')).toBe('POST');
    expectError(getUpload, 405, 'METHOD_NOT_ALLOWED');
    // HEAD must not run GET /select (which creates a session); it is fine where GET is read-only.
    expect((await fetch(`${server.url}/select`, { method: 'HEAD' })).status).toBe(405);
    expect((await fetch(`${server.url}/api/health`, { method: 'HEAD' })).status).toBe(200);

    expectError(await call(server, 'GET', '/train'), 404, 'NOT_FOUND');
    expectError(await call(server, 'POST', '/api/sessions'), 404, 'NOT_FOUND');
    expectError(await call(server, 'GET', '/api/predictions/pred_nope.csv'), 404, 'NOT_FOUND');
  });

  it.skipIf(!HAS_KEPLER)(
    'CONFLICT → 409: results before any model, and a second training while the first runs',
    async () => {
      const { session_id } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
      expectError(
        await call(server, 'POST', '/predict', { json: { session_id, rows: [{ koi_period: 3 }] } }),
        409,
        'CONFLICT',
      );
      expectError(await call(server, 'GET', '/result', { query: { session_id } }), 409, 'CONFLICT');
      expectError(
        await call(server, 'POST', '/result', { json: { session_id, instance_data: { koi_period: 3 } } }),
        409,
        'CONFLICT',
      );

      // The default 100-tree forest runs for seconds: the second request lands while it is active.
      const first = expectSuccess(await call<ProgressView>(server, 'POST', '/training', { json: { session_id } }), 202);
      const second = await call(server, 'POST', '/training', { json: { session_id } });
      expect(expectError(second, 409, 'CONFLICT').error).toContain(defined(first.run_id, "the first run's run_id"));
      const { cancelTraining } = await server.data<{ cancelTraining: { status: string } }>(
        'mutation ($id: ID!) { cancelTraining(runId: $id) { status } }',
        { id: first.run_id },
      );
      expect(cancelTraining.status).toBe('CANCELLED');
      const progress = expectSuccess(await call<ProgressView>(server, 'GET', '/training', { query: { session_id } }));
      expect(progress).toMatchObject({ run_id: first.run_id, status: 'CANCELLED' });
    },
  );

  it('a non-CSV upload → 415, a missing file field → 400', async () => {
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1,
    ]);
    expect(
      expectError(
        await call(server, 'POST', '/api/upload', { multipart: fileForm(png, 'planet.png') }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ).field,
    ).toBe('file');
    // Renaming it does not help: the bytes decide.
    expectError(
      await call(server, 'POST', '/api/upload', { multipart: fileForm(png, 'planet.csv') }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const noFile = new FormData();
    noFile.set('name', 'nothing');
    expectError(await call(server, 'POST', '/api/upload', { multipart: noFile }), 400, 'BAD_USER_INPUT');
  });
});

describe.skipIf(!HAS_NASA)('REST and GraphQL share one state', () => {
  const SESSION =
    'query ($id: ID!) { session(id: $id) { id datasetId modelType hyperparameters ready dataset { kind } } }';
  interface GqlSession {
    session: {
      id: string;
      datasetId: string;
      modelType: string;
      hyperparameters: Record<string, unknown>;
      ready: boolean;
      dataset: { kind: string };
    } | null;
  }

  it('a session made and configured over REST reads the same over GraphQL', async () => {
    const { session_id } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
    expectSuccess(
      await call(server, 'POST', '/select', {
        json: { session_id, config_type: 'data_source', data_source: 'nasa', dataset: 'k2' },
      }),
    );
    const rest = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        json: { session_id, config_type: 'model', model_type: 'decision_tree', hyperparameters: { max_depth: 4 } },
      }),
    );
    const { session } = await server.data<GqlSession>(SESSION, { id: session_id });
    expect(session).toEqual({
      id: session_id,
      datasetId: 'k2',
      modelType: 'decision_tree',
      hyperparameters: rest.hyperparameters,
      ready: true,
      dataset: { kind: 'NASA' },
    });
    expect(session?.hyperparameters.max_depth).toBe(4);
  });

  it('a session made and configured over GraphQL reads the same over GET /api/sessions/<id>', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    const { configureSession } = await server.data<{ configureSession: { hyperparameters: Record<string, unknown> } }>(
      'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { hyperparameters } }',
      { input: { sessionId: createSession.id, datasetId: 'tess', modelType: 'logistic_regression' } },
    );
    const rest = expectSuccess(await call<SessionView>(server, 'GET', `/api/sessions/${createSession.id}`));
    expect(rest).toMatchObject({
      session_id: createSession.id,
      data_source: 'nasa',
      dataset: 'tess',
      model_type: 'logistic_regression',
      ready_to_train: true,
      latest_run: null,
    });
    expect(rest.hyperparameters).toEqual(configureSession.hyperparameters);
    const select = expectSuccess(
      await call<SelectView>(server, 'GET', '/select', { query: { session_id: createSession.id } }),
    );
    expect(select.model_type).toBe('logistic_regression');
  });

  it('DELETE /api/sessions/<id> removes it for GraphQL too', async () => {
    const { session_id } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
    expect((await server.data<GqlSession>(SESSION, { id: session_id })).session?.id).toBe(session_id);
    const deleted = expectSuccess(
      await call<{ session_id: string; deleted: boolean }>(server, 'DELETE', `/api/sessions/${session_id}`),
    );
    expect(deleted).toEqual({ session_id, deleted: true });
    expect((await server.data<GqlSession>(SESSION, { id: session_id })).session).toBeNull();
    expectError(await call(server, 'GET', `/api/sessions/${session_id}`), 404, 'NOT_FOUND');
    expectError(await call(server, 'DELETE', `/api/sessions/${session_id}`), 404, 'NOT_FOUND');
  });
});

describe('information, catalogs and uploads', () => {
  it('GET / answers JSON for API clients and HTML linking GraphiQL for browsers', async () => {
    const json = expectSuccess(await call<{ name: string; graphql: string; endpoints: string[] }>(server, 'GET', '/'));
    expect(json.graphql).toBe('/graphql');
    expect(json.endpoints).toEqual(
      expect.arrayContaining([
        'GET /select',
        'POST /select',
        'POST /training',
        'GET /training',
        'POST /predict',
        'GET /result',
        'POST /result',
      ]),
    );
    const html = await fetch(`${server.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('href="/graphql"');
  });

  it('GET /api/health, /api/datasets and /api/models match the GraphQL catalogs', async () => {
    // The original answered "healthy" in place of the envelope's "success"; the service's own status is under data.
    const healthResponse = await call<{ status: string; version: string }>(server, 'GET', '/api/health');
    expect(healthResponse.status).toBe(200);
    expect(healthResponse.body.status).toBe('healthy');
    const health = healthResponse.body.data as { status: string; version: string };
    expect(health.status).toBe('ok');
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);

    const { datasets } = expectSuccess(
      await call<{ datasets: { id: string; kind: string; available: boolean; rowCount: number | null }[] }>(
        server,
        'GET',
        '/api/datasets',
      ),
    );
    const nasa = datasets.filter((d) => d.kind === 'NASA');
    expect(nasa.map((d) => d.id)).toEqual(['kepler', 'k2', 'tess']);
    if (HAS_KEPLER) expect(nasa[0]).toMatchObject({ available: true, rowCount: 9564 });

    const { models } = expectSuccess(
      await call<{
        models: {
          id: string;
          hyperparameters: {
            name: string;
            type: string;
            default: unknown;
            min: number | null;
            max: number | null;
            allowed: string;
          }[];
        }[];
      }>(server, 'GET', '/api/models'),
    );
    const gqlModels = await server.data<{ models: { id: string }[] }>('{ models { id } }');
    expect(models.map((m) => m.id)).toEqual(gqlModels.models.map((m) => m.id));
    expect(models.map((m) => m.id)).toEqual(
      expect.arrayContaining([
        'random_forest',
        'xgboost',
        'neural_network',
        'decision_tree',
        'logistic_regression',
        'svm',
        'pca',
      ]),
    );
    const nEstimators = models
      .find((m) => m.id === 'random_forest')
      ?.hyperparameters.find((h) => h.name === 'n_estimators');
    expect(nEstimators).toMatchObject({ type: 'INT', default: 100, min: 1, max: 1000 });
    for (const model of models)
      for (const spec of model.hyperparameters) expect(spec.allowed.length).toBeGreaterThan(0);
  });

  it('POST /api/upload accepts a custom CSV (with label_column) and lists it', async () => {
    const custom = expectSuccess(
      await call<UploadView>(server, 'POST', '/api/upload', {
        multipart: fileForm(customCsv(80), 'my-objects.csv', { label_column: 'verdict', name: 'My objects' }),
      }),
      201,
    );
    expect(custom.dataset).toMatchObject({ kind: 'UPLOAD', mission: null, rowCount: 80, labelColumn: 'verdict' });
    expect(custom.dataset.classes.sort()).toEqual(['fake', 'real']);
    expect(custom.dataset.featureColumns).toEqual(expect.arrayContaining(['period_days', 'depth_ppm']));
    // Listed to its owner: the token the upload handed back (an upload is never listed to others).
    const owner = { authorization: `Bearer ${String((custom as { owner_token?: string }).owner_token)}` };
    const { datasets } = expectSuccess(
      await call<{ datasets: { id: string }[] }>(server, 'GET', '/api/datasets', { headers: owner }),
    );
    expect(datasets.map((d) => d.id)).toContain(custom.dataset_id);
    const { datasets: others } = expectSuccess(
      await call<{ datasets: { id: string }[] }>(server, 'GET', '/api/datasets'),
    );
    expect(others.map((d) => d.id)).not.toContain(custom.dataset_id);

    // The upload can be chosen as the session's data source and trained on.
    const { session_id } = expectSuccess(await call<SelectView>(server, 'GET', '/select'), 201);
    const chosen = expectSuccess(
      await call<SessionView>(server, 'POST', '/select', {
        json: { session_id, config_type: 'data_source', data_source: 'user', dataset_id: custom.dataset_id },
      }),
    );
    expect(chosen).toMatchObject({ data_source: 'user', dataset: custom.dataset_id });
  });

  it.skipIf(!HAS_KEPLER)('POST /api/upload recognises a NASA-format CSV (60 real Kepler rows)', async () => {
    const nasa = expectSuccess(
      await call<UploadView>(server, 'POST', '/api/upload', {
        multipart: fileForm(keplerCsvSubset(60), 'koi-sample.csv'),
      }),
      201,
    );
    expect(nasa.dataset).toMatchObject({
      kind: 'UPLOAD',
      rowCount: 60,
      labelColumn: 'koi_disposition',
      mission: 'kepler',
    });
    expect(nasa.dataset.classes).toEqual(expect.arrayContaining(['false_positive', 'planet']));
    // The NASA feature set, without the vetting (leakage) columns.
    expect(nasa.dataset.featureColumns).toContain('koi_period');
    expect(nasa.dataset.featureColumns).not.toContain('koi_score');
  });
});

describe('limits and CORS (MAX_UPLOAD_MB=1, CORS_ORIGINS=http://example.test)', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ env: { MAX_UPLOAD_MB: '1', CORS_ORIGINS: 'http://example.test' } });
  });
  afterAll(() => limited.stop());

  function csvOfSize(bytes: number): string {
    const lines = ['period,depth,label'];
    let size = lines[0].length + 1;
    for (let i = 0; size < bytes; i++) {
      const line = `${(1 + (i % 97) / 7).toFixed(4)},${100 + (i % 89)},${i % 2 ? 'planet' : 'false_positive'}`;
      lines.push(line);
      size += line.length + 1;
    }
    return lines.join('\n') + '\n';
  }

  it('an upload over the limit → 413, whether the parser or the body reader catches it', async () => {
    // 1.5 MB: within the multipart allowance, refused by the form parser's file limit.
    const over = await call(limited, 'POST', '/api/upload', {
      multipart: fileForm(csvOfSize(1.5 * 1024 * 1024), 'big.csv', { label_column: 'label' }),
    });
    expect(expectError(over, 413, 'PAYLOAD_TOO_LARGE').error).toMatch(/1 ?MB|1048576/);
    // 3 MB: refused by the body reader, before parsing.
    const far = await call(limited, 'POST', '/api/upload', {
      multipart: fileForm(csvOfSize(3 * 1024 * 1024), 'bigger.csv'),
    });
    expect(expectError(far, 413, 'PAYLOAD_TOO_LARGE').error).toContain('MAX_UPLOAD_MB (1 MB)');
    // A file under the limit still goes through, and the server is healthy.
    const under = await call<UploadView>(limited, 'POST', '/api/upload', {
      multipart: fileForm(csvOfSize(200 * 1024), 'small.csv', { label_column: 'label' }),
    });
    expect(expectSuccess(under, 201).dataset.rowCount).toBeGreaterThan(1000);
  });

  it('answers the preflight of an allowed origin on REST and GraphQL, and not of another origin', async () => {
    const preflight = (pathname: string, origin: string) =>
      fetch(`${limited.url}${pathname}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    for (const pathname of ['/select', '/graphql', '/api/upload']) {
      const allowed = await preflight(pathname, 'http://example.test');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://example.test');
      expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
      expect((allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('content-type');

      const other = await preflight(pathname, 'http://evil.test');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(other.headers.get('access-control-allow-credentials')).toBeNull();
    }
    // Actual requests carry the header for the allowed origin only.
    const get = await fetch(`${limited.url}/api/health`, { headers: { origin: 'http://example.test' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('http://example.test');
    const gql = await fetch(`${limited.url}/graphql`, {
      method: 'POST',
      headers: { origin: 'http://evil.test', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ health { status } }' }),
    });
    expect(gql.headers.get('access-control-allow-origin')).toBeNull();
    const restOther = await fetch(`${limited.url}/api/health`, { headers: { origin: 'http://evil.test' } });
    expect(restOther.headers.get('access-control-allow-origin')).toBeNull();
  });
});
