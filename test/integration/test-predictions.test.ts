/**
 * TrainingRun.testPredictions: the held-out rows a run's metrics scored, stored apart from the run row (table
 * test_predictions), served in pages and counted by the list-cost limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSql, startRun, startServer, waitForRun, type TestServer } from './harness.js';

interface Page {
  classes: string[];
  totalRows: number;
  offset: number;
  rowIds: string[];
  labels: string[];
  probabilities: number[];
  calibrated: boolean;
  classScales: number[] | null;
}

const PAGE = `query ($r: ID!, $offset: Int!, $limit: Int!) {
  trainingRun(id: $r) {
    splitCounts { test }
    metrics { numSamples }
    testPredictions(offset: $offset, limit: $limit) {
      classes totalRows offset rowIds labels probabilities calibrated classScales
    }
  }
}`;

describe('TrainingRun.testPredictions', () => {
  let server: TestServer;
  let runId: string;
  let sessionId: string;

  const page = async (offset: number, limit: number) =>
    (
      await server.data<{
        trainingRun: { splitCounts: { test: number }; metrics: { numSamples: number }; testPredictions: Page };
      }>(PAGE, { r: runId, offset, limit })
    ).trainingRun;

  beforeAll(async () => {
    server = await startServer();
    ({ sessionId, runId } = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'logistic_regression',
      hyperparameters: { C: 1 },
    }));
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
  });
  afterAll(() => server.stop());

  it('pages the held-out rows: every row once, in order, with one probability per class', async () => {
    const first = await page(0, 1000);
    const total = first.splitCounts.test;
    expect(total).toBeGreaterThan(1000);
    expect(first.metrics.numSamples).toBe(total);
    const { classes } = first.testPredictions;
    expect(first.testPredictions).toMatchObject({ totalRows: total, offset: 0, calibrated: false, classScales: null });
    expect(first.testPredictions.rowIds).toHaveLength(1000);
    expect(first.testPredictions.probabilities).toHaveLength(1000 * classes.length);

    const whole = (await page(0, 10_000)).testPredictions;
    expect(whole.rowIds).toHaveLength(total);
    expect(new Set(whole.rowIds).size).toBe(total);
    expect(whole.labels.every((label) => classes.includes(label))).toBe(true);
    for (let r = 0; r < total; r++) {
      const row = whole.probabilities.slice(r * classes.length, (r + 1) * classes.length);
      expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
    }
    // Two pages put together are the whole.
    const rest = (await page(1000, 10_000)).testPredictions;
    expect(rest.offset).toBe(1000);
    expect([...first.testPredictions.rowIds, ...rest.rowIds]).toEqual(whole.rowIds);
    expect([...first.testPredictions.probabilities, ...rest.probabilities]).toEqual(whole.probabilities);
    // Past the end: an empty page at the end; a page size beyond the maximum is clamped.
    const past = (await page(total + 50, 10)).testPredictions;
    expect(past).toMatchObject({ offset: total, rowIds: [], labels: [], probabilities: [] });
    const clamped = (await page(0, 1_000_000)).testPredictions;
    expect(clamped.rowIds).toHaveLength(Math.min(total, 10_000));
  });

  it('keeps them out of the run row, and deletes them with the run', async () => {
    const [run] = (await runSql(server.config, 'SELECT details FROM training_runs WHERE id = ?', [runId])) as {
      details: unknown;
    }[];
    const details: unknown = typeof run.details === 'string' ? JSON.parse(run.details) : run.details;
    expect(details).toBeTypeOf('object');
    expect(details).not.toHaveProperty('heldOut');
    const [stored] = (await runSql(server.config, 'SELECT row_count FROM test_predictions WHERE run_id = ?', [
      runId,
    ])) as { row_count: number }[];
    expect(stored.row_count).toBe((await page(0, 1)).testPredictions.totalRows);

    const { startTraining } = await server.data<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: sessionId },
    );
    expect(await waitForRun(server, startTraining.id)).toBe('SUCCEEDED');
    const count = async () =>
      Number(
        (
          (await runSql(
            server.config,
            'SELECT COUNT(*) AS n FROM test_predictions WHERE run_id IN (SELECT id FROM training_runs WHERE session_id = ?)',
            [sessionId],
          )) as { n: number | string }[]
        )[0].n,
      );
    expect(await count()).toBe(2);
    await server.data('mutation ($s: ID!) { deleteSession(id: $s) }', { s: sessionId });
    const [left] = (await runSql(server.config, 'SELECT COUNT(*) AS n FROM test_predictions WHERE run_id = ?', [
      runId,
    ])) as { n: number | string }[];
    expect(Number(left.n)).toBe(0);
  });

  it('counts page sizes in the list-cost limit: 20 aliases of 10,000 rows are refused before executing', async () => {
    const aliases = Array.from(
      { length: 20 },
      (_, i) => `a${String(i)}: trainingRun(id: "x") { testPredictions(limit: 10000) { rowIds labels probabilities } }`,
    );
    const result = await server.gql(`{ ${aliases.join(' ')} }`);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/List cost limit of 5000 exceeded.*testPredictions\(limit\)/);
    // A page of runs multiplies what each run asks for.
    const runs = await server.gql(
      'query ($s: ID!) { trainingRuns(sessionId: $s, first: 100) { nodes { testPredictions(limit: 10000) { rowIds labels } } } }',
      { s: 'x' },
    );
    expect(runs.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Two pages of 10,000 rows are fine.
    const two = await server.gql(
      `{ a: trainingRun(id: "x") { testPredictions(limit: 10000) { rowIds } } b: trainingRun(id: "y") { testPredictions(limit: 10000) { rowIds } } }`,
    );
    expect(two.errors).toBeUndefined();
    expect(two.data).toEqual({ a: null, b: null });
  });
});
