/**
 * soft_voting runs on the real server and the Kepler snapshot (issue 14 item 3): a random forest and a logistic
 * regression trained in one session, a soft_voting run over them whose metrics are those of their stored test
 * probabilities averaged (read back through the API), that predicts as the mean of its members and explains a row;
 * members from another split, another dataset or another owner are refused with the reason; the catalog lists it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keplerRows, startServer, waitForRun, type GraphQLResult, type TestServer } from './harness.js';
import { call, expectOriginalSuccess } from './rest-helpers.js';

const FEATURES = ['koi_period', 'koi_duration', 'koi_depth', 'koi_prad', 'koi_model_snr', 'koi_steff'];

interface TestPredictions {
  classes: string[];
  rowIds: string[];
  labels: string[];
  probabilities: number[];
}
interface EnsembleRun {
  status: string;
  error: string | null;
  modelType: string;
  metrics: { macroF1: number; accuracy: number };
  testPredictions: TestPredictions;
  featureImportance: { feature: string; permutationMean: number }[];
  ensemble: {
    weightsFrom: string;
    description: string;
    members: { runId: string; modelType: string; weight: number; run: { id: string } | null }[];
  } | null;
}

const RUN = `query ($r: ID!) { trainingRun(id: $r) { status error modelType metrics { macroF1 accuracy }
  testPredictions(limit: 10000) { classes rowIds labels probabilities } featureImportance { feature permutationMean }
  ensemble { weightsFrom description members { runId modelType weight run { id } } } } }`;

/** Macro-F1 as scikit-learn's f1_score(average='macro'), of argmax predictions. */
function macroF1(labels: string[], probabilities: number[], classes: string[]): number {
  const k = classes.length;
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  labels.forEach((label, r) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probabilities[r * k + c] > probabilities[r * k + best]) best = c;
    const truth = classes.indexOf(label);
    if (best === truth) tp[best]++;
    else {
      fp[best]++;
      fn[truth]++;
    }
  });
  const f1 = classes.map((_, c) => (tp[c] + fp[c] + fn[c] === 0 ? 0 : (2 * tp[c]) / (2 * tp[c] + fp[c] + fn[c])));
  return f1.reduce((a, b) => a + b, 0) / k;
}

describe('soft_voting runs', () => {
  let server: TestServer;
  let sessionId: string;
  let forest: string;
  let linear: string;

  const configure = (input: Record<string, unknown>, headers?: Record<string, string>) =>
    server.data(
      'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }',
      { input },
      headers,
    );
  const start = (session: string, headers?: Record<string, string>) =>
    server.gql<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: session },
      headers,
    );
  async function train(session: string): Promise<string> {
    const { data, errors } = await start(session);
    expect(errors).toBeUndefined();
    const id = data?.startTraining.id ?? '';
    expect(await waitForRun(server, id)).toBe('SUCCEEDED');
    return id;
  }
  async function run(id: string): Promise<EnsembleRun> {
    return (await server.data<{ trainingRun: EnsembleRun }>(RUN, { r: id })).trainingRun;
  }
  async function newSession(input: Record<string, unknown>, headers?: Record<string, string>): Promise<string> {
    const { createSession } = await server.data<{ createSession: { id: string } }>(
      'mutation { createSession { id } }',
      {},
      headers,
    );
    await configure({ sessionId: createSession.id, ...input }, headers);
    return createSession.id;
  }
  function refusal(result: GraphQLResult): { code?: string; field?: string; message: string } {
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors ?? [];
    return { code: error.extensions?.code, field: error.extensions?.field, message: error.message };
  }

  beforeAll(async () => {
    server = await startServer({ asOwner: true, env: { TRAINING_CONCURRENCY: '1' } });
    sessionId = await newSession({
      datasetId: 'kepler',
      modelType: 'random_forest',
      hyperparameters: { n_estimators: 20, max_depth: 8 },
      features: FEATURES,
    });
    forest = await train(sessionId);
    await configure({ sessionId, modelType: 'logistic_regression', hyperparameters: { C: 1 } });
    linear = await train(sessionId);
  }, 300_000);
  afterAll(() => server.stop());

  it('lists soft_voting in the catalog with its members and weights parameters', async () => {
    const { models } = await server.data<{
      models: { id: string; family: string; explanation: string; hyperparameters: { name: string; type: string }[] }[];
    }>('{ models { id family explanation hyperparameters { name type } } }');
    const voting = models.find((m) => m.id === 'soft_voting');
    expect(voting?.family).toBe('ensemble');
    expect(voting?.explanation).toMatch(/sampling Shapley/);
    expect(voting?.hyperparameters).toEqual([
      { name: 'members', type: 'RUN_ID_LIST' },
      { name: 'weights', type: 'FLOAT_LIST' },
    ]);
  });

  let ensembleId: string;
  it('trains over the two runs: its macro-F1 is that of their stored test probabilities averaged', async () => {
    await configure({ sessionId, modelType: 'soft_voting', hyperparameters: { members: [forest, linear] } });
    ensembleId = await train(sessionId);
    const [ensemble, a, b] = await Promise.all([run(ensembleId), run(forest), run(linear)]);
    expect(ensemble.modelType).toBe('soft_voting');
    expect(ensemble.ensemble?.weightsFrom).toBe('EQUAL');
    expect(ensemble.ensemble?.members).toEqual([
      { runId: forest, modelType: 'random_forest', weight: 0.5, run: { id: forest } },
      { runId: linear, modelType: 'logistic_regression', weight: 0.5, run: { id: linear } },
    ]);
    expect(a.testPredictions.rowIds).toEqual(b.testPredictions.rowIds);
    expect(ensemble.testPredictions.rowIds).toEqual(a.testPredictions.rowIds);
    const mean = a.testPredictions.probabilities.map((p, i) => (p + b.testPredictions.probabilities[i]) / 2);
    const expected = macroF1(a.testPredictions.labels, mean, a.testPredictions.classes);
    expect(Math.abs(ensemble.metrics.macroF1 - expected)).toBeLessThan(1e-9);
    ensemble.testPredictions.probabilities.forEach((p, i) => {
      expect(Math.abs(p - mean[i])).toBeLessThan(1e-12);
    });
    expect(ensemble.featureImportance.map((f) => f.feature).sort()).toEqual([...FEATURES].sort());
  });

  it('predicts a row as the mean of its members and explains it by sampling Shapley values', async () => {
    const rows = keplerRows(2);
    const predict = (runId: string) =>
      server.data<{ predict: { label: string; probabilities: { label: string; probability: number }[] }[] }>(
        'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label probabilities { label probability } } }',
        { r: runId, rows },
      );
    const [e, a, b] = await Promise.all([predict(ensembleId), predict(forest), predict(linear)]);
    e.predict.forEach((row, r) => {
      row.probabilities.forEach((p, c) => {
        expect(
          Math.abs(
            p.probability - (a.predict[r].probabilities[c].probability + b.predict[r].probabilities[c].probability) / 2,
          ),
        ).toBeLessThan(1e-12);
      });
    });
    const { explain } = await server.data<{
      explain: { method: string; residual: number; contributions: { feature: string }[] };
    }>('query ($r: ID!, $row: JSON!) { explain(runId: $r, row: $row) { method residual contributions { feature } } }', {
      r: ensembleId,
      row: rows[0],
    });
    expect(explain.method).toBe('SAMPLING_SHAPLEY');
    expect(Math.abs(explain.residual)).toBeLessThan(1e-9);
    expect(explain.contributions).toHaveLength(FEATURES.length);
  });

  it('refuses members evaluated on other test rows (another seed) or trained on another dataset', async () => {
    const other = await newSession({
      datasetId: 'kepler',
      modelType: 'decision_tree',
      hyperparameters: { max_depth: 4 },
      features: FEATURES,
      seed: 7,
    });
    const otherSplit = await train(other);
    await configure({ sessionId, modelType: 'soft_voting', hyperparameters: { members: [forest, otherSplit] } });
    const split = refusal(await start(sessionId));
    expect(split.code).toBe('BAD_USER_INPUT');
    expect(split.field).toBe('hyperparameters.members');
    expect(split.message).toMatch(/soft_voting members must share their test rows: .* different rows/);

    const k2 = await newSession({
      datasetId: 'k2',
      modelType: 'soft_voting',
      hyperparameters: { members: [forest, linear] },
    });
    const dataset = refusal(await start(k2));
    expect(dataset.code).toBe('BAD_USER_INPUT');
    expect(dataset.message).toContain(`Member run ${forest} was trained on dataset kepler, this session trains on k2`);

    const one = refusal(
      await server.gql('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
        input: { sessionId, hyperparameters: { members: [forest] } },
      }),
    );
    expect(one.field).toBe('hyperparameters.members');
    expect(one.message).toMatch(/members must be a list of 2 to 10 different training run ids/);
  });

  it('tunes its decision for macro-F1 on its members\' out-of-fold probabilities averaged (weights "oof"), and refuses members without them', async () => {
    const cv = await newSession({
      datasetId: 'kepler',
      modelType: 'random_forest',
      hyperparameters: { n_estimators: 20, max_depth: 8 },
      features: FEATURES,
      cvFolds: 2,
    });
    const cvForest = await train(cv);
    await configure({ sessionId: cv, modelType: 'logistic_regression', hyperparameters: { C: 1 } });
    const cvLinear = await train(cv);
    await configure({
      sessionId: cv,
      modelType: 'soft_voting',
      hyperparameters: { members: [cvForest, cvLinear], weights: 'oof' },
      decisionTuning: 'MACRO_F1',
    });
    const tunedId = await train(cv);
    const { trainingRun: tuned } = await server.data<{
      trainingRun: EnsembleRun & {
        metrics: { classes: string[] };
        crossValidation: { rows: number } | null;
        decisionTuning: {
          fittedOn: string;
          fittedRows: number;
          classScales: { label: string; scale: number }[];
          fitted: { before: number; after: number };
          test: { before: number; after: number };
        } | null;
      };
    }>(
      `query ($r: ID!) { trainingRun(id: $r) { status error modelType metrics { macroF1 accuracy classes }
        testPredictions(limit: 10000) { classes rowIds labels probabilities } featureImportance { feature permutationMean }
        ensemble { weightsFrom description members { runId modelType weight run { id } } }
        decisionTuning { fittedOn fittedRows classScales { label scale } fitted { before after } test { before after } } } }`,
      { r: tunedId },
    );
    const member = await server.data<{ trainingRun: { crossValidation: { rows: number } | null } }>(
      'query ($r: ID!) { trainingRun(id: $r) { crossValidation { rows } } }',
      { r: cvForest },
    );
    expect(tuned.ensemble?.weightsFrom).toBe('OUT_OF_FOLD');
    const tuning = tuned.decisionTuning;
    if (!tuning) throw new Error('no decisionTuning on the soft_voting run');
    expect(tuning.fittedOn).toBe('OUT_OF_FOLD');
    expect(tuning.fittedRows).toBe(member.trainingRun.crossValidation?.rows);
    expect(tuning.classScales.map((s) => s.label)).toEqual(tuned.metrics.classes);
    expect(tuning.fitted.after).toBeGreaterThanOrEqual(tuning.fitted.before);
    expect(tuning.test.after).toBe(tuned.metrics.macroF1);
    // The stored test probabilities are the untuned average; the tuned macro-F1 is theirs times the scales.
    const { labels, probabilities, classes } = tuned.testPredictions;
    const k = classes.length;
    const scaled = probabilities.map((p, i) => p * tuning.classScales[i % k].scale);
    expect(Math.abs(macroF1(labels, scaled, classes) - tuned.metrics.macroF1)).toBeLessThan(1e-9);
    expect(Math.abs(macroF1(labels, probabilities, classes) - tuning.test.before)).toBeLessThan(1e-9);
    // Predictions use the tuned decision.
    const { predict } = await server.data<{ predict: { label: string; decisionTuned: boolean }[] }>(
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label decisionTuned } }',
      { r: tunedId, rows: keplerRows(2) },
    );
    expect(predict.map((p) => p.decisionTuned)).toEqual([true, true]);

    // Members trained without cvFolds have no out-of-fold predictions to tune on: refused at start.
    await configure({
      sessionId: cv,
      hyperparameters: { members: [forest, linear], weights: [1, 1] },
      decisionTuning: 'MACRO_F1',
    });
    const untunable = refusal(await start(cv));
    expect(untunable.code).toBe('BAD_USER_INPUT');
    expect(untunable.field).toBe('decisionTuning');
    expect(untunable.message).toContain(`member run ${forest} was trained without cvFolds`);
  }, 300_000);

  it("answers NOT_FOUND naming the run for another owner's members", async () => {
    const minted = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { createSession { id } }' }),
    });
    const body = (await minted.json()) as {
      data: { createSession: { id: string } };
      extensions: { ownerToken: string };
    };
    const stranger = { token: body.extensions.ownerToken };
    const session = body.data.createSession.id;
    await configure(
      {
        sessionId: session,
        datasetId: 'kepler',
        modelType: 'soft_voting',
        hyperparameters: { members: [forest, linear] },
      },
      stranger,
    );
    const foreign = refusal(await start(session, stranger));
    expect(foreign.code).toBe('NOT_FOUND');
    expect(foreign.message).toBe(`Training run "${forest}" was not found.`);
  });

  it('REST POST /select takes soft_voting, with its members as a form field like any hyperparameter', async () => {
    const headers = { authorization: `Bearer ${server.ownerToken ?? ''}` };
    expectOriginalSuccess(
      await call(server, 'POST', '/select', {
        json: { session_id: sessionId, config_type: 'model', model_type: 'soft_voting' },
        headers,
      }),
    );
    expectOriginalSuccess(
      await call(server, 'POST', '/select', {
        form: {
          session_id: sessionId,
          config_type: 'hyperparameters',
          members: `${forest},${linear}`,
          weights: '[1, 3]',
        },
        headers,
      }),
    );
    const { session } = await server.data<{ session: { modelType: string; hyperparameters: unknown } }>(
      'query ($s: ID!) { session(id: $s) { modelType hyperparameters } }',
      { s: sessionId },
    );
    expect(session).toEqual({
      modelType: 'soft_voting',
      hyperparameters: { members: [forest, linear], weights: [1, 3] },
    });
  });

  it("keeps predicting after its members' session is deleted: it carries its own copy of their models", async () => {
    const elsewhere = await newSession({
      datasetId: 'kepler',
      modelType: 'soft_voting',
      hyperparameters: { members: [forest, linear], weights: [1, 3] },
    });
    const kept = await train(elsewhere);
    const rows = keplerRows(1);
    const predict = async () =>
      (
        await server.data<{ predict: { probabilities: { probability: number }[] }[] }>(
          'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { probabilities { probability } } }',
          { r: kept, rows },
        )
      ).predict[0].probabilities.map((p) => p.probability);
    const before = await predict();
    await server.data('mutation ($id: ID!) { deleteSession(id: $id) }', { id: sessionId });
    const after = await run(kept);
    expect(after.ensemble?.weightsFrom).toBe('GIVEN');
    expect(after.ensemble?.members.map((m) => [m.runId, m.weight, m.run])).toEqual([
      [forest, 0.25, null],
      [linear, 0.75, null],
    ]);
    expect(await predict()).toEqual(before);
  });
});
