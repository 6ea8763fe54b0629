/**
 * Model selection wired into runs (issue 14 items 1, 4, 5, 6, 7): cross-validation with live per-fold progress,
 * calibration, refit, compareRuns and cross-mission evaluation, on the real server and the Kepler snapshot. Small
 * models on a few features, so the runs stay fast; the numbers of the pure core are checked against scikit-learn in
 * test/unit/selection-*.test.ts, these check that runs store and serve them consistently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, keplerRows, startServer, waitForRun, type TestServer } from './harness.js';
import { call, expectOriginalError, expectOriginalSuccess } from './rest-helpers.js';

const FEATURES = ['koi_period', 'koi_duration', 'koi_depth', 'koi_prad', 'koi_model_snr', 'koi_steff'];
const TREE = { modelType: 'decision_tree', hyperparameters: { max_depth: 5 }, features: FEATURES };

interface Measures {
  brierScore: number;
  logLoss: number;
  expectedCalibrationError: number;
  reliability: { label: string; predicted: number[]; observed: number[]; counts: number[] }[];
}
interface MetricValue {
  name: string;
  value: number | null;
}
interface RunView {
  status: string;
  error: string | null;
  metrics: { accuracy: number; macroF1: number; logLoss: number; brierScore: number; numSamples: number };
  crossValidation: {
    folds: number;
    rows: number;
    groupedBy: string;
    starsInSeveralFolds: number;
    perFold: { fold: number; testRows: number; metrics: MetricValue[] }[];
    summary: { metric: string; mean: number | null; sd: number | null; definedFolds: number }[];
    outOfFold: { rowCount: number; source: string } | null;
  } | null;
  calibration: {
    method: string;
    fittedOn: string;
    fittedRows: number;
    description: string;
    calibrationRows: { before: Measures; after: Measures };
    test: { before: Measures; after: Measures };
  } | null;
  refit: { on: string; rows: number; description: string } | null;
  crossMission: {
    trainDatasetId: string;
    testDatasetId: string;
    features: string[];
    trainBalance: { datasetId: string; rows: number; counts: { label: string; count: number; share: number }[] };
    testBalance: { datasetId: string; rows: number; counts: { label: string; count: number; share: number }[] };
    metrics: { accuracy: number; numSamples: number };
  } | null;
}

const MEASURES = 'brierScore logLoss expectedCalibrationError reliability { label predicted observed counts }';
const RUN = `query ($r: ID!) { trainingRun(id: $r) { status error
  metrics { accuracy macroF1 logLoss brierScore numSamples }
  crossValidation { folds rows groupedBy starsInSeveralFolds perFold { fold testRows metrics { name value } }
    summary { metric mean sd definedFolds } outOfFold { rowCount source } }
  calibration { method fittedOn fittedRows description calibrationRows { before { ${MEASURES} } after { ${MEASURES} } }
    test { before { ${MEASURES} } after { ${MEASURES} } } }
  refit { on rows description }
  crossMission { trainDatasetId testDatasetId features metrics { accuracy numSamples }
    trainBalance { datasetId rows counts { label count share } } testBalance { datasetId rows counts { label count share } } } } }`;

async function newSession(server: TestServer, input: Record<string, unknown>): Promise<string> {
  const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await configure(server, createSession.id, input);
  return createSession.id;
}

async function configure(server: TestServer, sessionId: string, input: Record<string, unknown>): Promise<void> {
  await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId, ...input },
  });
}

async function train(server: TestServer, sessionId: string): Promise<string> {
  const { startTraining } = await server.data<{ startTraining: { id: string } }>(
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: sessionId },
  );
  return startTraining.id;
}

async function finished(server: TestServer, runId: string): Promise<RunView> {
  await waitForRun(server, runId);
  const { trainingRun } = await server.data<{ trainingRun: RunView }>(RUN, { r: runId });
  expect(trainingRun.error).toBeNull();
  expect(trainingRun.status).toBe('SUCCEEDED');
  return trainingRun;
}

function valueOf(metrics: MetricValue[], name: string): number | null {
  return metrics.find((m) => m.name === name)?.value ?? null;
}

interface Answer {
  predict: { probabilities: { probability: number }[] }[];
}

describe('model selection on runs', () => {
  let server: TestServer;
  /** One session: runs trained one after another share its split (the comparison pairs them). */
  let sessionId: string;
  let cvRun: string;
  let calibratedRun: string;
  beforeAll(async () => {
    server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
    sessionId = await newSession(server, { datasetId: 'kepler', ...TREE, cvFolds: 3 });
  });
  afterAll(() => server.stop());

  it('cross-validates with live progress per fold; fold metrics, mean ± sd and out-of-fold rows that never split a star', async () => {
    cvRun = await train(server, sessionId);
    const client = server.wsClient();
    const { events, error } = await collect<{
      trainingProgress: { stage: string; fold: number | null; folds: number | null; step: number; message: string };
    }>(client, 'subscription ($r: ID!) { trainingProgress(runId: $r) { stage fold folds step message } }', {
      r: cvRun,
    });
    await client.dispose();
    expect(error).toBeUndefined();
    const cv = events.map((e) => e.trainingProgress).filter((e) => e.stage === 'CROSS_VALIDATING');
    // Every fold reports (its start and its end at least), in order, each naming K = 3.
    const folds = [...new Set(cv.filter((e) => e.fold !== null).map((e) => e.fold))];
    expect(folds).toEqual([1, 2, 3]);
    expect(cv.filter((e) => e.fold !== null).every((e) => e.folds === 3)).toBe(true);
    expect(cv.some((e) => e.message.includes('Fold 3 of 3: macro-F1'))).toBe(true);
    const stages = events.map((e) => e.trainingProgress.stage);
    expect(stages.indexOf('CROSS_VALIDATING')).toBeLessThan(stages.indexOf('TRAINING'));

    const run = await finished(server, cvRun);
    const result = run.crossValidation;
    expect(result).not.toBeNull();
    if (!result) return;
    expect(result.folds).toBe(3);
    expect(result.groupedBy).toBe('STAR');
    expect(result.starsInSeveralFolds).toBe(0);
    expect(result.perFold.map((f) => f.fold)).toEqual([1, 2, 3]);
    expect(result.perFold.reduce((sum, f) => sum + f.testRows, 0)).toBe(result.rows);
    for (const name of ['accuracy', 'macroF1', 'logLoss', 'brierScore']) {
      const values = result.perFold.map((f) => valueOf(f.metrics, name) ?? NaN);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
      const summary = result.summary.find((s) => s.metric === name);
      expect(summary?.mean).toBeCloseTo(mean, 12);
      expect(summary?.sd).toBeCloseTo(sd, 12);
      expect(summary?.definedFolds).toBe(3);
    }
    // The test split stays held out: train + validation rows are cross-validated, the metrics are the test split's.
    expect(result.rows + run.metrics.numSamples).toBeLessThanOrEqual(9564);
    expect(result.outOfFold?.source).toBe('out-of-fold');
    expect(result.outOfFold?.rowCount).toBe(result.rows);

    // Out-of-fold rows, paged: each star's rows share one fold.
    const foldOfStar = new Map<string, Set<string>>();
    for (let offset = 0; offset < result.rows; offset += 1000) {
      const { trainingRun } = await server.data<{
        trainingRun: { crossValidation: { outOfFold: { rows: { ids: Record<string, string> }[] } } };
      }>(
        'query ($r: ID!, $o: Int!) { trainingRun(id: $r) { crossValidation { outOfFold { rows(offset: $o, limit: 1000) { ids } } } } }',
        { r: cvRun, o: offset },
      );
      for (const { ids } of trainingRun.crossValidation.outOfFold.rows) {
        const set = foldOfStar.get(ids.kepid) ?? new Set<string>();
        set.add(ids.fold);
        foldOfStar.set(ids.kepid, set);
      }
    }
    expect(foldOfStar.size).toBeGreaterThan(1000);
    expect([...foldOfStar.values()].every((set) => set.size === 1)).toBe(true);
  });

  it('calibrates (isotonic on the validation split): before/after measures, and predictions say calibrated', async () => {
    const session = await newSession(server, {
      datasetId: 'kepler',
      modelType: 'logistic_regression',
      features: FEATURES,
      task: 'BINARY',
      calibration: 'ISOTONIC',
      calibrateOn: 'VALIDATION',
    });
    calibratedRun = await train(server, session);
    const run = await finished(server, calibratedRun);
    const calibration = run.calibration;
    expect(calibration).not.toBeNull();
    if (!calibration) return;
    expect(calibration.method).toBe('ISOTONIC');
    expect(calibration.fittedOn).toBe('VALIDATION');
    expect(calibration.fittedRows).toBeGreaterThan(500);
    // Isotonic regression of a binary task fits the calibration rows themselves: each fitted value is the share of
    // planets among its rows, so their calibration error goes to 0 there.
    expect(calibration.calibrationRows.after.expectedCalibrationError).toBeLessThanOrEqual(
      calibration.calibrationRows.before.expectedCalibrationError,
    );
    expect(calibration.calibrationRows.after.expectedCalibrationError).toBeLessThan(1e-9);
    expect(calibration.calibrationRows.after.brierScore).toBeLessThanOrEqual(
      calibration.calibrationRows.before.brierScore,
    );
    // The run's metrics are of the calibrated probabilities on the test split.
    expect(run.metrics.brierScore).toBeCloseTo(calibration.test.after.brierScore, 9);
    expect(calibration.test.after.reliability.map((r) => r.label)).toEqual(['false_positive', 'planet']);
    const rows = keplerRows(3, (r) => r.koi_disposition === 'CONFIRMED');
    const { predict } = await server.data<{ predict: { calibrated: boolean }[] }>(
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { calibrated } }',
      { r: calibratedRun, rows },
    );
    expect(predict.map((p) => p.calibrated)).toEqual([true, true, true]);
    const { explain } = await server.data<{ explain: { calibrated: boolean } }>(
      'query ($r: ID!, $row: JSON!) { explain(runId: $r, row: $row) { calibrated } }',
      { r: calibratedRun, row: rows[0] },
    );
    expect(explain.calibrated).toBe(true);
    const uncalibrated = await server.data<{ predict: { calibrated: boolean }[] }>(
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { calibrated } }',
      { r: cvRun, rows },
    );
    expect(uncalibrated.predict.every((p) => !p.calibrated)).toBe(true);
  });

  it('calibrates with Platt scaling on out-of-fold predictions', async () => {
    const session = await newSession(server, {
      datasetId: 'kepler',
      modelType: 'logistic_regression',
      features: FEATURES,
      task: 'BINARY',
      cvFolds: 3,
      calibration: 'SIGMOID',
      calibrateOn: 'OUT_OF_FOLD',
    });
    const run = await finished(server, await train(server, session));
    expect(run.calibration?.method).toBe('SIGMOID');
    expect(run.calibration?.fittedOn).toBe('OUT_OF_FOLD');
    expect(run.calibration?.fittedRows).toBe(run.crossValidation?.rows);
    // One reliability curve per class; Platt scaling of a binary task calibrates the planet probability.
    expect(run.calibration?.test.after.reliability).toHaveLength(2);
  });

  it('refuses OUT_OF_FOLD calibration without cross-validation, naming the field', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    const answer = await server.gql(
      'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }',
      { input: { sessionId: createSession.id, calibration: 'SIGMOID', calibrateOn: 'OUT_OF_FOLD' } },
    );
    expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0].extensions?.field).toBe('calibrateOn');
    expect(answer.errors?.[0].message).toMatch(/needs cross-validation/);
  });

  it('refits on every labelled row for predictions while the metrics stay the held-out evaluation', async () => {
    const base = await finished(server, cvRun);
    const session = await newSession(server, { datasetId: 'kepler', ...TREE, refit: 'ALL_LABELLED' });
    const refitRun = await train(server, session);
    const run = await finished(server, refitRun);
    expect(run.refit?.on).toBe('ALL_LABELLED');
    expect(run.refit?.rows).toBe(9564);
    expect(run.refit?.description).toMatch(/remain the held-out evaluation/);
    // The same configuration on the same split: the evaluated model is the same, so are its metrics.
    expect(run.metrics).toEqual(base.metrics);
    const rows = keplerRows(300);
    const query =
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { probabilities { probability } } }';
    const before = await server.data<Answer>(query, { r: cvRun, rows });
    const after = await server.data<Answer>(query, { r: refitRun, rows });
    const differing = before.predict.filter(
      (p, i) => JSON.stringify(p.probabilities) !== JSON.stringify(after.predict[i].probabilities),
    );
    expect(differing.length).toBeGreaterThan(0);
  });

  it('compares two runs on the same test rows: bootstrap intervals and McNemar; refuses different splits with the reason', async () => {
    // Another model on the same session: the same split, so the same test rows.
    await configure(server, sessionId, { modelType: 'logistic_regression', cvFolds: 0 });
    const pairRun = await train(server, sessionId);
    await finished(server, pairRun);
    const { compareRuns } = await server.data<{
      compareRuns: {
        baseRunId: string;
        rows: number;
        pairs: {
          runId: string;
          resampling: string;
          metrics: {
            metric: string;
            base: number;
            other: number;
            difference: number;
            ciLower: number;
            ciUpper: number;
          }[];
          mcnemar: { baseOnlyCorrect: number; otherOnlyCorrect: number; method: string; pValue: number };
        }[];
      };
    }>(
      `query ($ids: [ID!]!) { compareRuns(runIds: $ids, resamples: 500) { baseRunId rows pairs { runId resampling
        metrics { metric base other difference ciLower ciUpper } mcnemar { baseOnlyCorrect otherOnlyCorrect method pValue } } } }`,
      { ids: [cvRun, pairRun] },
    );
    expect(compareRuns.baseRunId).toBe(cvRun);
    const [pair] = compareRuns.pairs;
    expect(pair.runId).toBe(pairRun);
    expect(pair.resampling).toBe('STARS');
    const base = await finished(server, cvRun);
    const accuracy = pair.metrics.find((m) => m.metric === 'accuracy');
    // The observed values are the runs' stored metrics.
    expect(accuracy?.base).toBeCloseTo(base.metrics.accuracy, 12);
    expect(compareRuns.rows).toBe(base.metrics.numSamples);
    for (const m of pair.metrics) {
      expect(m.difference).toBeCloseTo(m.other - m.base, 12);
      expect(m.ciLower).toBeLessThanOrEqual(m.ciUpper);
    }
    expect(pair.mcnemar.pValue).toBeGreaterThanOrEqual(0);
    expect(pair.mcnemar.pValue).toBeLessThanOrEqual(1);
    expect(pair.mcnemar.baseOnlyCorrect + pair.mcnemar.otherOnlyCorrect).toBeGreaterThan(0);

    const otherSplit = await newSession(server, { datasetId: 'kepler', ...TREE, seed: 7 });
    const otherRun = await train(server, otherSplit);
    await finished(server, otherRun);
    const refused = await server.gql('query ($ids: [ID!]!) { compareRuns(runIds: $ids) { rows } }', {
      ids: [cvRun, otherRun],
    });
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0].extensions?.field).toBe('runIds');
    expect(refused.errors?.[0].message).toMatch(/different rows|same test rows/);
  });

  it('evaluates Kepler → TESS on harmonised features and states both class balances', async () => {
    const session = await newSession(server, {
      datasetId: 'kepler',
      ...TREE,
      task: 'BINARY',
      crossMissionDatasetId: 'tess',
    });
    const run = await finished(server, await train(server, session));
    const report = run.crossMission;
    expect(report).not.toBeNull();
    if (!report) return;
    expect(report.trainDatasetId).toBe('kepler');
    expect(report.testDatasetId).toBe('tess');
    expect(report.features).toContain('period_days');
    for (const balance of [report.trainBalance, report.testBalance]) {
      expect(balance.counts.map((c) => c.label)).toEqual(['false_positive', 'planet']);
      expect(balance.counts.reduce((a, c) => a + c.count, 0)).toBe(balance.rows);
      expect(balance.counts.reduce((a, c) => a + c.share, 0)).toBeCloseTo(1, 12);
    }
    expect(report.testBalance.datasetId).toBe('tess');
    expect(report.metrics.numSamples).toBe(report.testBalance.rows);
  });
});

describe('model selection over the original REST API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
  });
  afterAll(() => server.stop());

  it('POST /select takes cv_folds, calibration and refit with the hyperparameters; GET /result reports them', async () => {
    const select = await call<{ session_id: string }>(server, 'GET', '/select');
    const sessionId = select.body.session_id;
    const post = (form: Record<string, string>) =>
      call(server, 'POST', '/select', { form: { session_id: sessionId, ...form } });
    expectOriginalSuccess(await post({ action: 'update_data_source', data_source: 'nasa', dataset: 'kepler' }));
    expectOriginalSuccess(await post({ action: 'update_model', model_type: 'decision_tree' }));
    expectOriginalSuccess(
      await post({
        action: 'update_hyperparameters',
        hyperparameters: JSON.stringify({ max_depth: 4, cv_folds: 3, calibration: 'sigmoid' }),
        refit: 'train_validation',
      }),
    );
    const { session } = await server.data<{
      session: { hyperparameters: Record<string, unknown>; cvFolds: number; calibration: string; refit: string };
    }>('query ($s: ID!) { session(id: $s) { hyperparameters cvFolds calibration refit } }', { s: sessionId });
    expect(session.hyperparameters.max_depth).toBe(4);
    expect(session.hyperparameters).not.toHaveProperty('cv_folds');
    expect([session.cvFolds, session.calibration, session.refit]).toEqual([3, 'SIGMOID', 'TRAIN_VALIDATION']);
    const refused = await post({ action: 'update_hyperparameters', calibration: 'platt' });
    expectOriginalError(refused, 400, 'BAD_USER_INPUT');

    const started = expectOriginalSuccess(
      await call(server, 'POST', '/training', { json: { session_id: sessionId } }),
      202,
    );
    await waitForRun(server, String(started.run_id));
    const result = expectOriginalSuccess(await call(server, 'GET', '/result', { query: { session_id: sessionId } }));
    const cv = result.cross_validation as { folds: number; summary: { metric: string }[] };
    expect(cv.folds).toBe(3);
    expect(cv.summary.map((s) => s.metric)).toContain('macroF1');
    const calibration = result.calibration as { method: string; test: { after: { brierScore: number } } };
    expect(calibration.method).toBe('SIGMOID');
    expect(calibration.test.after.brierScore).toBeGreaterThan(0);
    expect((result.refit as { on: string }).on).toBe('TRAIN_VALIDATION');
  });
});
