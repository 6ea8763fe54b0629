/**
 * Decision tuning for macro-F1 (issue 14): per-class scales fitted on out-of-fold predictions (or the validation
 * split), never on the test split; the run's metrics, predictions and explanations use the tuned decision; a
 * search's refit run tunes when asked. Real server, Kepler physics-only (the dataset's default features), fixed seeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keplerRows, runSql, startServer, waitFor, waitForRun, type TestServer } from './harness.js';
import { call, expectOriginalSuccess } from './rest-helpers.js';

interface Tuning {
  objective: string;
  fittedOn: string;
  fittedRows: number;
  classScales: { label: string; scale: number }[];
  fitted: { before: number; after: number };
  test: { before: number; after: number };
  description: string;
}
interface RunView {
  status: string;
  error: string | null;
  metrics: { macroF1: number; classes: string[]; numSamples: number };
  crossValidation: { folds: number; rows: number } | null;
  decisionTuning: Tuning | null;
}

const RUN = `query ($r: ID!) { trainingRun(id: $r) { status error metrics { macroF1 classes numSamples }
  crossValidation { folds rows }
  decisionTuning { objective fittedOn fittedRows classScales { label scale } fitted { before after } test { before after } description } } }`;
const BOOSTING = { modelType: 'xgboost', hyperparameters: { n_estimators: 60, max_depth: 4, learning_rate: 0.1 } };

async function newSession(server: TestServer, input: Record<string, unknown>): Promise<string> {
  const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId: createSession.id, datasetId: 'kepler', seed: 42, ...input },
  });
  return createSession.id;
}

async function trainedRun(server: TestServer, sessionId: string): Promise<{ id: string; run: RunView }> {
  const { startTraining } = await server.data<{ startTraining: { id: string } }>(
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: sessionId },
  );
  await waitForRun(server, startTraining.id);
  const { trainingRun } = await server.data<{ trainingRun: RunView }>(RUN, { r: startTraining.id });
  expect(trainingRun.error).toBeNull();
  expect(trainingRun.status).toBe('SUCCEEDED');
  return { id: startTraining.id, run: trainingRun };
}

/** The run's details as stored (SQLite text or PostgreSQL json). */
/** The run's held-out predictions as stored (table test_predictions), read past the API. */
async function storedHeldOut(server: TestServer, runId: string): Promise<Record<string, unknown>> {
  const [row] = (await runSql(server.config, 'SELECT predictions, proba FROM test_predictions WHERE run_id = ?', [
    runId,
  ])) as { predictions: unknown; proba: unknown }[];
  const stored: unknown = typeof row.predictions === 'string' ? JSON.parse(row.predictions) : row.predictions;
  if (typeof stored !== 'object' || stored === null) throw new Error('no held-out predictions stored');
  // The probabilities: little-endian float64s in their own column.
  if (!Buffer.isBuffer(row.proba)) throw new Error('no held-out probabilities stored');
  const bytes = row.proba;
  const proba = Array.from({ length: bytes.byteLength / 8 }, (_, i) => bytes.readDoubleLE(i * 8));
  return { ...stored, proba };
}

function macroF1(labels: number[], proba: number[], scales: number[]): number {
  const k = scales.length;
  const predicted = labels.map((_, r) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[r * k + c] * scales[c] > proba[r * k + best] * scales[best]) best = c;
    return best;
  });
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = labels.filter((y, r) => y === c && predicted[r] === c).length;
    const fp = labels.filter((y, r) => y !== c && predicted[r] === c).length;
    const fn = labels.filter((y, r) => y === c && predicted[r] !== c).length;
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / k;
}

describe('decision tuning for macro-F1', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
  });
  afterAll(() => server.stop());

  it('fits class scales on out-of-fold predictions; the test metrics are the tuned decision, recomputable from the stored rows', async () => {
    const sessionId = await newSession(server, { ...BOOSTING, cvFolds: 3, decisionTuning: 'MACRO_F1' });
    const { id, run } = await trainedRun(server, sessionId);
    const tuning = run.decisionTuning;
    if (!tuning) throw new Error('no decisionTuning on the run');
    expect(tuning.objective).toBe('MACRO_F1');
    expect(tuning.fittedOn).toBe('OUT_OF_FOLD');
    expect(tuning.fittedRows).toBe(run.crossValidation?.rows);
    expect(tuning.classScales.map((s) => s.label)).toEqual(run.metrics.classes);
    expect(tuning.classScales[0].scale).toBe(1);
    expect(tuning.fitted.after).toBeGreaterThanOrEqual(tuning.fitted.before);
    expect(tuning.test.after).toBe(run.metrics.macroF1);
    expect(tuning.description).toMatch(/the test split was not used/);

    // The stored held-out rows keep the untuned probabilities with the scales: the tuned macro-F1 is theirs.
    const heldOut = (await storedHeldOut(server, id)) as { labels: number[]; proba: number[]; classScales: number[] };
    expect(heldOut.classScales).toEqual(tuning.classScales.map((s) => s.scale));
    // The API serves the same rows and scales.
    const { trainingRun } = await server.data<{
      trainingRun: { testPredictions: { totalRows: number; probabilities: number[]; classScales: number[] | null } };
    }>(
      'query ($id: ID!) { trainingRun(id: $id) { testPredictions(limit: 10000) { totalRows probabilities classScales } } }',
      {
        id,
      },
    );
    expect(trainingRun.testPredictions.totalRows).toBe(heldOut.labels.length);
    expect(trainingRun.testPredictions.probabilities).toEqual(heldOut.proba);
    expect(trainingRun.testPredictions.classScales).toEqual(heldOut.classScales);
    expect(heldOut.labels).toHaveLength(run.metrics.numSamples);
    const ones = heldOut.classScales.map(() => 1);
    expect(Math.abs(macroF1(heldOut.labels, heldOut.proba, heldOut.classScales) - run.metrics.macroF1)).toBeLessThan(
      1e-9,
    );
    expect(Math.abs(macroF1(heldOut.labels, heldOut.proba, ones) - tuning.test.before)).toBeLessThan(1e-9);

    // Predictions use the tuned decision: rescaled probabilities, renormalised, label = their argmax.
    const { predict } = await server.data<{
      predict: {
        label: string;
        decisionTuned: boolean;
        calibrated: boolean;
        probabilities: { label: string; probability: number }[];
      }[];
    }>(
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label decisionTuned calibrated probabilities { label probability } } }',
      { r: id, rows: keplerRows(5) },
    );
    for (const p of predict) {
      expect(p.decisionTuned).toBe(true);
      expect(p.calibrated).toBe(false);
      expect(p.probabilities.reduce((a, b) => a + b.probability, 0)).toBeCloseTo(1, 9);
      const top = p.probabilities.reduce((a, b) => (b.probability > a.probability ? b : a));
      expect(p.label).toBe(top.label);
    }
    const { explain } = await server.data<{ explain: { label: string; decisionTuned: boolean; warnings: string[] } }>(
      'query ($r: ID!, $row: JSON!) { explain(runId: $r, row: $row) { label decisionTuned warnings } }',
      { r: id, row: keplerRows(1)[0] },
    );
    expect(explain.decisionTuned).toBe(true);
    expect(explain.label).toBe(predict[0].label);
    expect(explain.warnings.join(' ')).toMatch(/untuned output/);
  }, 240_000);

  it('fits on the validation split without cvFolds; refuses with neither, naming the field and the reason', async () => {
    const sessionId = await newSession(server, {
      modelType: 'decision_tree',
      hyperparameters: { max_depth: 6 },
      decisionTuning: 'MACRO_F1',
    });
    const { run } = await trainedRun(server, sessionId);
    expect(run.decisionTuning?.fittedOn).toBe('VALIDATION');
    expect(run.crossValidation).toBeNull();
    expect(run.decisionTuning?.test.after).toBe(run.metrics.macroF1);

    const refused = await server.gql(
      'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }',
      { input: { sessionId, split: { train: 0.8, validation: 0, test: 0.2 } } },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.extensions?.field).toBe('decisionTuning');
    expect(refused.errors?.[0]?.message).toMatch(/set cvFolds .* or a validation split/);
  }, 240_000);

  it("a search's refit run tunes its decision on the search's out-of-fold predictions when asked", async () => {
    const sessionId = await newSession(server, { modelType: 'decision_tree' });
    const { startSearch } = await server.data<{ startSearch: { id: string; decisionTuning: string } }>(
      'mutation ($s: ID!, $i: SearchInput!) { startSearch(sessionId: $s, input: $i) { id decisionTuning } }',
      {
        s: sessionId,
        i: { modelTypes: ['decision_tree'], cvFolds: 3, maxTrials: 3, seed: 7, decisionTuning: 'MACRO_F1' },
      },
    );
    expect(startSearch.decisionTuning).toBe('MACRO_F1');
    const runId = await waitFor(async () => {
      const { search } = await server.data<{ search: { status: string; bestRun: { id: string } | null } }>(
        'query ($s: ID!) { search(id: $s) { status bestRun { id } } }',
        { s: startSearch.id },
      );
      expect(['QUEUED', 'RUNNING', 'SUCCEEDED']).toContain(search.status);
      return search.bestRun?.id;
    }, 180_000);
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
    const { trainingRun } = await server.data<{ trainingRun: RunView }>(RUN, { r: runId });
    expect(trainingRun.crossValidation?.folds).toBe(3);
    expect(trainingRun.decisionTuning?.fittedOn).toBe('OUT_OF_FOLD');
    expect(trainingRun.decisionTuning?.test.after).toBe(trainingRun.metrics.macroF1);
  }, 240_000);

  it('REST: POST /select takes decision_tuning with the hyperparameters', async () => {
    const select = await call<{ session_id: string }>(server, 'GET', '/select');
    const sessionId = select.body.session_id;
    const post = (form: Record<string, string>) =>
      call(server, 'POST', '/select', { form: { session_id: sessionId, ...form } });
    expectOriginalSuccess(await post({ action: 'update_data_source', data_source: 'nasa', dataset: 'kepler' }));
    expectOriginalSuccess(await post({ action: 'update_model', model_type: 'decision_tree' }));
    expectOriginalSuccess(
      await post({
        action: 'update_hyperparameters',
        hyperparameters: JSON.stringify({ max_depth: 4, cv_folds: 3 }),
        decision_tuning: 'macro_f1',
      }),
    );
    const { session } = await server.data<{ session: { decisionTuning: string; cvFolds: number } }>(
      'query ($s: ID!) { session(id: $s) { decisionTuning cvFolds } }',
      { s: sessionId },
    );
    expect(session).toEqual({ decisionTuning: 'MACRO_F1', cvFolds: 3 });
  });
});
