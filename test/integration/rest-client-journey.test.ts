/**
 * The original web client's journeys, replayed with its own requests against the real server (issue 10): the
 * NASA journey through the stepper to results and explanations, and the upload journey through /api/upload-csv.
 * Every answer is read where the client reads it: at the top level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_KEPLER, keplerRows, startServer, waitFor, type TestServer } from './harness.js';
import { call, csvOf, expectOriginalError, expectOriginalSuccess, fileForm } from './rest-helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const CLASS_WORDS = ['Exoplanet', 'Candidate', 'False Positive'];

/** The client's stepper request: JSON `{session_id, action, …}`. */
async function select(sessionId: string, action: string, fields: Record<string, unknown> = {}) {
  return expectOriginalSuccess(
    await call(server, 'POST', '/select', { json: { session_id: sessionId, action, ...fields } }),
  );
}

/** Polls GET /training as the client does until progress reaches 100; checks progress never goes back. */
async function trainToCompletion(sessionId: string): Promise<Record<string, unknown>> {
  const started = expectOriginalSuccess(
    await call(server, 'POST', '/training', { json: { session_id: sessionId } }),
    202,
  );
  expect(started).toMatchObject({ session_id: sessionId, training_started: true });
  expect(typeof started.initial_progress).toBe('number');
  let last = -1;
  return waitFor(
    async () => {
      const progress = expectOriginalSuccess(
        await call(server, 'GET', '/training', { query: { session_id: sessionId } }),
      );
      expect(progress.progress as number).toBeGreaterThanOrEqual(last);
      last = progress.progress as number;
      expect(progress.training_status).not.toBe('error');
      return progress.progress === 100 ? progress : undefined;
    },
    120_000,
    150,
  );
}

interface ResultPrediction {
  id: number;
  name: string;
  prediction: string;
  label: string;
  confidence: number;
  probabilities: number[];
  class_probabilities: Record<string, number>;
  actual: string | null;
  reasons: string[];
}

function expectRealPredictions(result: Record<string, unknown>, expectedRows: number): ResultPrediction[] {
  const predictions = result.predictions as ResultPrediction[];
  const summary = result.summary as Record<string, number>;
  expect(predictions.length).toBe(Math.min(25, expectedRows));
  for (const row of predictions) {
    expect(CLASS_WORDS).toContain(row.prediction);
    expect(row.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(row.confidence).toBe(Math.max(...row.probabilities));
    expect(row.class_probabilities[row.prediction]).toBe(row.confidence);
    // The reasons are the row's own explanation, in words naming a feature and its value.
    expect(row.reasons.length).toBeGreaterThan(0);
    for (const reason of row.reasons) expect(reason).toMatch(/^\w+ = \S+ (raised|lowered) the /);
  }
  // The summary counts every row of the test data, not only the rows listed.
  expect(summary.total_predictions).toBe(expectedRows);
  expect(summary.exoplanet_count + summary.candidate_count + summary.false_positive_count).toBe(expectedRows);
  expect(summary.average_confidence).toBeGreaterThan(0.3);
  expect(summary.average_confidence).toBeLessThanOrEqual(1);
  return predictions;
}

describe.skipIf(!HAS_KEPLER)("the original web client's NASA journey", () => {
  it('GET / → GET /select → the stepper → train → GET /training to 100 → POST /predict → GET /result → POST /result', async () => {
    // The home page renders title, description and the features list.
    const home = expectOriginalSuccess(await call(server, 'GET', '/'));
    expect(home.title).toBe('Exoplanet Discovery Playground');
    expect(typeof home.description).toBe('string');
    expect(typeof home.message).toBe('string');
    expect(home.features).toHaveLength(6);
    expect(home.datasets_available).toEqual(['Kepler', 'K2', 'TESS']);
    expect(home.models_available).toEqual([
      'Linear Regression',
      'SVM',
      'Decision Tree',
      'Random Forest',
      'XGBoost',
      'PCA',
      'Neural Network',
    ]);
    expect(Object.keys(home.getting_started as object)).toEqual(['step1', 'step2', 'step3', 'step4']);

    // The select page keeps session_id and drives its stepper from the top-level fields.
    const created = expectOriginalSuccess(await call(server, 'GET', '/select'), 201);
    const sessionId = created.session_id as string;
    expect(sessionId).toMatch(/^ses_/);
    expect(created).toMatchObject({ current_step: 1, max_step: 3, is_training_ready: false });
    expect(created.datasets).toMatchObject({
      kepler: { id: 'kepler', name: 'Kepler Dataset', color: '#fbbf24' },
      k2: { color: '#ef4444' },
      tess: { color: '#3b82f6' },
    });
    expect((created.models as { value: string }[]).map((m) => m.value)).toEqual([
      'linear_regression',
      'svm',
      'decision_tree',
      'random_forest',
      'xgboost',
      'pca',
      'neural_network',
    ]);
    expect(created.session_info).toMatchObject({
      status: 'initialized',
      current_step: 1,
      // A new session can train at once on its defaults, as the original's preselected Kepler.
      data_source: 'nasa',
      selected_dataset: 'kepler',
      uploaded_file_info: null,
      step_progress: { step1_complete: false, step2_complete: false, step3_complete: false },
    });
    expect(Object.keys(created.session_info as object)).toEqual(
      expect.arrayContaining([
        'created_at',
        'status',
        'current_step',
        'data_source',
        'selected_dataset',
        'selected_model',
        'uploaded_file_info',
        'hyperparameters',
        'step_progress',
      ]),
    );

    const data = await select(sessionId, 'update_data_source', {
      data_source: 'nasa',
      dataset: 'kepler',
      uploaded_file_info: null,
    });
    expect(data).toMatchObject({
      action: 'update_data_source',
      session_id: sessionId,
      current_step: 1,
      max_step: 3,
      is_training_ready: false,
    });
    expect(data.session_info).toMatchObject({
      data_source: 'nasa',
      selected_dataset: 'kepler',
      step_progress: { step1_complete: true },
    });
    expect((data.session_info as { updated_at: string }).updated_at).toBeTruthy();

    expect(await select(sessionId, 'next_step')).toMatchObject({ current_step: 2, is_training_ready: false });
    const model = await select(sessionId, 'update_model', { model_type: 'random_forest' });
    expect(model.session_info).toMatchObject({
      selected_model: 'random_forest',
      step_progress: { step1_complete: true, step2_complete: true, step3_complete: false },
    });
    expect(await select(sessionId, 'next_step')).toMatchObject({ current_step: 3, is_training_ready: true });
    // At the last step, next_step stays; set_step moves within 1..max_step and refuses beyond it.
    expect(await select(sessionId, 'next_step')).toMatchObject({ current_step: 3 });
    expect(await select(sessionId, 'set_step', { step: 2 })).toMatchObject({
      current_step: 2,
      is_training_ready: false,
    });
    const beyond = expectOriginalError(
      await call(server, 'POST', '/select', { json: { session_id: sessionId, action: 'set_step', step: 4 } }),
      400,
      'BAD_USER_INPUT',
    );
    expect(beyond.field).toBe('step');
    expect(await select(sessionId, 'set_step', { step: '3' })).toMatchObject({ current_step: 3 });

    // HTML inputs send strings, and only the fields the user touched; the stored config is in the catalog's names.
    const tuned = await select(sessionId, 'update_hyperparameters', {
      hyperparameters: { n_estimators: '30', max_depth: '12', min_samples_leaf: '2' },
      preprocessing_config: {},
    });
    expect(tuned).toMatchObject({ current_step: 3, max_step: 3, is_training_ready: true });
    expect(tuned.session_info).toMatchObject({
      step_progress: { step1_complete: true, step2_complete: true, step3_complete: true },
    });
    expect(tuned.hyperparameters).toMatchObject({
      n_estimators: 30,
      max_depth: 12,
      min_samples_leaf: 2,
      min_samples_split: 2,
    });

    // The stepper is stored with the session: a fresh GET /select?session_id reads it back.
    const again = expectOriginalSuccess(await call(server, 'GET', '/select', { query: { session_id: sessionId } }));
    expect(again).toMatchObject({ session_id: sessionId, current_step: 3, is_training_ready: true });
    const { session } = await server.data<{
      session: { workflow: { currentStep: number; trainingReady: boolean; dataSource: string } };
    }>('query ($id: ID!) { session(id: $id) { workflow { currentStep trainingReady dataSource } } }', {
      id: sessionId,
    });
    expect(session.workflow).toEqual({ currentStep: 3, trainingReady: true, dataSource: 'NASA' });

    const done = await trainToCompletion(sessionId);
    expect(done).toMatchObject({ session_id: sessionId, progress: 100, training_status: 'completed' });

    const ready = expectOriginalSuccess(await call(server, 'GET', '/predict', { query: { session_id: sessionId } }));
    expect(ready).toMatchObject({ training_completed: true, training_status: 'completed', ready_for_prediction: true });
    expect(ready.model_info).toMatchObject({ model_type: 'random_forest', dataset: 'kepler' });

    const configured = expectOriginalSuccess(
      await call(server, 'POST', '/predict', {
        json: { session_id: sessionId, test_data_config: { data_source: 'nasa', dataset: 'kepler' } },
      }),
    );
    expect(configured).toMatchObject({
      session_id: sessionId,
      test_data_configured: true,
      ready_for_results: true,
      test_config: { data_source: 'nasa', dataset: 'kepler', held_out_split: true },
    });

    // Real predictions of the held-out test split: the listed rows are explained, the summary covers all of it,
    // and its accuracy over those rows is the run's test accuracy (the same rows, the same model).
    const result = expectOriginalSuccess(await call(server, 'GET', '/result', { query: { session_id: sessionId } }));
    const split = result.split as { test: number };
    const predictions = expectRealPredictions(result, split.test);
    expect(result.test_data).toMatchObject({ kind: 'held_out_test_split', dataset: 'kepler', rows: split.test });
    expect((result.summary as { accuracy: number }).accuracy).toBeCloseTo(
      (result.metrics as { accuracy: number }).accuracy,
      12,
    );
    expect(result.model_info).toMatchObject({
      model_type: 'random_forest',
      feature_count: (ready.model_info as { feature_count: number }).feature_count,
    });
    expect(predictions.some((p) => p.name.startsWith('K0'))).toBe(true);

    // Explanations: local for one row (the client sends the row's values), and global.
    const row = keplerRows(1, (r) => r.koi_disposition === 'CONFIRMED')[0];
    const local = expectOriginalSuccess(
      await call(server, 'POST', '/result', {
        json: { session_id: sessionId, instance_data: row, explanation_type: 'local' },
      }),
    );
    const explanation = local.explanation as {
      type: string;
      prediction: string;
      reasons: string[];
      contributions: unknown[];
    };
    expect(explanation.type).toBe('local');
    expect(CLASS_WORDS).toContain(explanation.prediction);
    expect(explanation.reasons.length).toBeGreaterThan(0);
    const global = expectOriginalSuccess(
      await call(server, 'POST', '/result', { json: { session_id: sessionId, explanation_type: 'global' } }),
    );
    const importance = (global.explanation as { feature_importance: { feature: string }[] }).feature_importance;
    expect(importance.map((f) => f.feature).sort()).toEqual(
      [...(ready.model_info as { features: string[] }).features].sort(),
    );

    const stored = expectOriginalSuccess(await call(server, 'GET', `/api/sessions/${sessionId}`));
    expect(stored.session_info).toMatchObject({ status: 'trained', selected_model: 'random_forest', current_step: 3 });
    expect(stored.training_info).toMatchObject({ training_status: 'completed', progress: 100 });
  });

  it('the hyperparameter form of each model comes from the catalog; an unknown model is a 400', async () => {
    const forest = expectOriginalSuccess(await call(server, 'GET', '/api/hyperparameters/random_forest'));
    const fields = forest.hyperparameters as {
      name: string;
      type: string;
      default: unknown;
      min?: number;
      options?: unknown[];
      placeholder?: string;
    }[];
    const { models } = await server.data<{
      models: { id: string; hyperparameters: { name: string; default: unknown }[] }[];
    }>('{ models { id hyperparameters { name default } } }');
    const catalog = models.find((m) => m.id === 'random_forest');
    expect(fields.map((f) => f.name)).toEqual(catalog?.hyperparameters.map((h) => h.name));
    expect(fields.find((f) => f.name === 'n_estimators')).toMatchObject({
      type: 'number',
      default: 100,
      min: 1,
      max: 1000,
    });
    expect(fields.find((f) => f.name === 'max_depth')).toMatchObject({
      type: 'number',
      default: null,
      placeholder: expect.stringContaining('None') as unknown,
    });
    expect(fields.find((f) => f.name === 'criterion')).toMatchObject({ type: 'select', default: 'gini' });
    // The original's model ids resolve through the catalog's aliases.
    const linear = expectOriginalSuccess(await call(server, 'GET', '/api/hyperparameters/linear_regression'));
    expect(linear.model_type).toBe('logistic_regression');
    const mlp = expectOriginalSuccess(await call(server, 'GET', '/api/hyperparameters/neural_network'));
    expect(
      (mlp.hyperparameters as { name: string; type: string; default: unknown }[]).find(
        (f) => f.name === 'hidden_layers',
      ),
    ).toMatchObject({ type: 'text', default: '128,64,32' });
    const unknown = expectOriginalError(
      await call(server, 'GET', '/api/hyperparameters/telescope'),
      400,
      'BAD_USER_INPUT',
    );
    expect(unknown.error).toBe('Unknown model type: telescope');
  });

  it("the forms' scikit-learn names, as strings, are stored under the catalog's names; an unmappable value is a 400 naming it", async () => {
    const { session_id: sessionId } = expectOriginalSuccess(await call(server, 'GET', '/select'), 201);
    await select(String(sessionId), 'update_model', { model_type: 'neural_network' });
    const nn = await select(String(sessionId), 'update_hyperparameters', {
      hyperparameters: { hidden_layer_sizes: '100,50', activation: 'logistic', learning_rate: '0.01', max_iter: '20' },
    });
    expect(nn.hyperparameters).toMatchObject({
      hidden_layers: [100, 50],
      activation: 'sigmoid',
      learning_rate: 0.01,
      epochs: 20,
    });
    expect(nn.hyperparameters).not.toHaveProperty('hidden_layer_sizes');
    expect(nn.hyperparameters).not.toHaveProperty('max_iter');
    // A later form sending one field keeps the rest (merged in catalog names).
    const more = await select(String(sessionId), 'update_hyperparameters', { hyperparameters: { max_iter: '30' } });
    expect(more.hyperparameters).toMatchObject({ hidden_layers: [100, 50], activation: 'sigmoid', epochs: 30 });

    await select(String(sessionId), 'update_model', { model_type: 'linear_regression' });
    const linear = await select(String(sessionId), 'update_hyperparameters', {
      hyperparameters: { fit_intercept: 'true', normalize: 'false', C: '2' },
    });
    expect(linear.hyperparameters).toEqual({ C: 2, max_iter: 1000 });
    expect(linear.session_info).toMatchObject({
      selected_model: 'linear_regression',
      model_type: 'logistic_regression',
    });
    const refused = expectOriginalError(
      await call(server, 'POST', '/select', {
        json: { session_id: sessionId, action: 'update_hyperparameters', hyperparameters: { fit_intercept: 'false' } },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expect(refused.field).toBe('hyperparameters.fit_intercept');
    expect(refused.error).toContain('fit_intercept');

    await select(String(sessionId), 'update_model', { model_type: 'pca' });
    const pca = await select(String(sessionId), 'update_hyperparameters', {
      hyperparameters: { n_components: '5', svd_solver: 'randomized' },
    });
    expect(pca.hyperparameters).toMatchObject({ n_components: 5 });
    expect(pca.hyperparameters).not.toHaveProperty('svd_solver');
  });

  it('health, frontend status and a deleted session answer in the original words', async () => {
    const health = await call(server, 'GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'healthy' });
    for (const key of ['timestamp', 'active_sessions', 'training_sessions'])
      expect(health.body[key], key).toBeDefined();
    expect(health.body.active_sessions as number).toBeGreaterThan(0);
    const frontend = expectOriginalSuccess(await call(server, 'GET', '/api/frontend-status'));
    expect(frontend).toMatchObject({ frontend_built: false, build_exists: false, index_exists: false });
    const { session_id } = expectOriginalSuccess(await call(server, 'GET', '/select'), 201);
    const deleted = expectOriginalSuccess(await call(server, 'DELETE', `/api/sessions/${String(session_id)}`));
    expect(deleted).toMatchObject({ session_id, message: 'Session deleted' });
    expect(
      expectOriginalError(await call(server, 'GET', `/api/sessions/${String(session_id)}`), 404, 'NOT_FOUND').error,
    ).toContain(String(session_id));
  });
});

describe.skipIf(!HAS_KEPLER)("the original web client's upload journey", () => {
  it('POST /api/upload-csv with a session → the stepper on the user file → train → GET /result on its held-out rows', async () => {
    const { session_id: sessionId } = expectOriginalSuccess(await call(server, 'GET', '/select'), 201);

    // "user" before any file: accepted, the data step is not complete, and only step 2 is reachable.
    const waiting = await select(String(sessionId), 'update_data_source', {
      data_source: 'user',
      dataset: 'kepler',
      uploaded_file_info: null,
    });
    expect(waiting).toMatchObject({ max_step: 2, is_training_ready: false });
    expect(waiting.session_info).toMatchObject({
      data_source: 'user',
      uploaded_file_info: null,
      step_progress: { step1_complete: false },
    });

    const rows = keplerRows(400);
    const uploaded = expectOriginalSuccess(
      await call(server, 'POST', '/api/upload-csv', {
        multipart: fileForm(csvOf(rows), 'test_upload.csv', { session_id: String(sessionId) }),
      }),
    );
    const fileInfo = uploaded.file_info as Record<string, unknown>;
    expect(uploaded.message).toBe(
      `File uploaded successfully. 400 rows, ${Object.keys(rows[0]).length} columns detected.`,
    );
    expect(fileInfo).toMatchObject({
      original_name: 'test_upload.csv',
      num_rows: 400,
      num_columns: Object.keys(rows[0]).length,
    });
    expect(fileInfo.columns).toEqual(Object.keys(rows[0]));
    expect(fileInfo.size as number).toBeGreaterThan(1000);
    // Never a server path.
    expect(JSON.stringify(uploaded)).not.toContain(server.dir);
    expect(JSON.stringify(fileInfo)).not.toMatch(/[/\\]/);
    expect(uploaded.file_path).toBeUndefined();
    // With a session_id the file became that session's user data source.
    expect(uploaded).toMatchObject({ session_id: sessionId, max_step: 3 });
    expect((uploaded.session_info as { uploaded_file_info: unknown }).uploaded_file_info).toEqual(fileInfo);

    // The client then sends the file_info back as uploaded_file_info.
    const chosen = await select(String(sessionId), 'update_data_source', {
      data_source: 'user',
      uploaded_file_info: fileInfo,
    });
    expect(chosen.session_info).toMatchObject({
      data_source: 'user',
      selected_dataset: fileInfo.dataset_id,
      step_progress: { step1_complete: true },
    });
    expect(chosen.datasets).toHaveProperty(String(fileInfo.dataset_id));
    await select(String(sessionId), 'next_step');
    await select(String(sessionId), 'update_model', { model_type: 'decision_tree' });
    await select(String(sessionId), 'next_step');
    const tuned = await select(String(sessionId), 'update_hyperparameters', {
      hyperparameters: { max_depth: '6', criterion: 'entropy' },
    });
    expect(tuned).toMatchObject({ current_step: 3, is_training_ready: true });
    expect(tuned.hyperparameters).toMatchObject({ max_depth: 6, criterion: 'entropy' });

    await trainToCompletion(String(sessionId));
    const result = expectOriginalSuccess(
      await call(server, 'GET', '/result', { query: { session_id: String(sessionId) } }),
    );
    expect(result.model_info).toMatchObject({ model_type: 'decision_tree', dataset: fileInfo.dataset_id });
    const split = result.split as { train: number; test: number };
    expect(split.train + split.test).toBeLessThanOrEqual(400);
    expectRealPredictions(result, split.test);
    expect(result.test_data).toMatchObject({ kind: 'held_out_test_split', dataset: fileInfo.dataset_id });
    expect((result.summary as { accuracy: number }).accuracy).toBeCloseTo(
      (result.metrics as { accuracy: number }).accuracy,
      12,
    );

    // Test data that does not exist is a 400 naming the field.
    const bad = expectOriginalError(
      await call(server, 'POST', '/predict', {
        json: { session_id: sessionId, test_data_config: { data_source: 'nasa', dataset: 'hubble' } },
      }),
      400,
      'BAD_USER_INPUT',
    );
    expect(bad.field).toBe('testData.datasetId');
  });

  it('an upload to an unknown session is a 404 and stores nothing for it; without a session it is just an upload', async () => {
    const csv = csvOf(keplerRows(60));
    expectOriginalError(
      await call(server, 'POST', '/api/upload-csv', { multipart: fileForm(csv, 'a.csv', { session_id: 'ses_nope' }) }),
      404,
      'NOT_FOUND',
    );
    const alone = expectOriginalSuccess(
      await call(server, 'POST', '/api/upload-csv', { multipart: fileForm(csv, 'a.csv') }),
    );
    expect(alone).toMatchObject({ session_id: null, file_info: { num_rows: 60 } });
    expectOriginalError(
      await call(server, 'POST', '/api/upload-csv', { json: { file: 'a,b' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('the stepper is stored with the session', () => {
  it('survives a server restart (sessions table, not REST memory)', async () => {
    const first = await startServer();
    const dir = first.dir;
    let sessionId = '';
    try {
      sessionId = String(expectOriginalSuccess(await call(first, 'GET', '/select'), 201).session_id);
      const step = (action: string, fields: Record<string, unknown> = {}) =>
        call(first, 'POST', '/select', { json: { session_id: sessionId, action, ...fields } });
      expectOriginalSuccess(await step('update_data_source', { data_source: 'nasa', dataset: 'k2' }));
      expectOriginalSuccess(await step('next_step'));
      expectOriginalSuccess(await step('update_model', { model_type: 'svm' }));
      expectOriginalSuccess(
        await step('update_hyperparameters', {
          hyperparameters: { C: '2' },
          preprocessing_config: { scale: 'standard' },
        }),
      );
    } finally {
      await first.stop();
    }
    const second = await startServer({ dir });
    try {
      const again = expectOriginalSuccess(await call(second, 'GET', '/select', { query: { session_id: sessionId } }));
      expect(again).toMatchObject({ current_step: 2, max_step: 3, is_training_ready: false });
      expect(again.session_info).toMatchObject({
        data_source: 'nasa',
        selected_dataset: 'k2',
        selected_model: 'svm',
        preprocessing_config: { scale: 'standard' },
        step_progress: { step1_complete: true, step2_complete: true, step3_complete: true },
      });
    } finally {
      await second.stop();
    }
  });
});
