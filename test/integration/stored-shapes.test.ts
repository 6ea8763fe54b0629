/**
 * Stored JSON is checked where it is read (src/db/stored-columns.ts): a run whose metrics or details were corrupted
 * in the database answers a masked INTERNAL error, the server's log names the table, column and field, and the
 * other runs still read. On SQLite, and on PostgreSQL under `npm run test:engines`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSql, startRun, startServer, waitForRun, type TestServer } from './harness.js';

const RUN = `query ($r: ID!) { trainingRun(id: $r) { id status metrics { accuracy numSamples } splitCounts { test } } }`;

interface RunAnswer {
  trainingRun: { id: string; status: string; metrics: { accuracy: number; numSamples: number } } | null;
}

describe('stored JSON checked when read', () => {
  let server: TestServer;
  let corrupted: string;
  let healthy: string;

  beforeAll(async () => {
    server = await startServer({ captureLogs: true });
    const input = { datasetId: 'kepler', modelType: 'logistic_regression', hyperparameters: { C: 1 } };
    ({ runId: corrupted } = await startRun(server, input));
    ({ runId: healthy } = await startRun(server, input));
    expect(await waitForRun(server, corrupted)).toBe('SUCCEEDED');
    expect(await waitForRun(server, healthy)).toBe('SUCCEEDED');
  });
  afterAll(() => server.stop());

  /** Reads the corrupted run with a request id; returns the answer and the server's log lines of that request. */
  async function readCorrupted(requestId: string) {
    const answer = await server.gql<RunAnswer>(RUN, { r: corrupted }, { 'x-request-id': requestId });
    const logged = server.logs.filter((line) => line.requestId === requestId);
    return { answer, logged: JSON.stringify(logged) };
  }

  it('answers a masked INTERNAL error for a corrupt metrics value and logs the field; other runs read', async () => {
    const good = await server.data<RunAnswer>(RUN, { r: corrupted });
    expect(good.trainingRun?.metrics.numSamples).toBeGreaterThan(0);
    const metrics = good.trainingRun?.metrics;

    await runSql(server.config, 'UPDATE training_runs SET metrics = ? WHERE id = ?', [
      JSON.stringify({ ...metrics, numSamples: 'many' }),
      corrupted,
    ]);
    const { answer, logged } = await readCorrupted('stored-metrics');
    expect(answer.errors?.[0].message).toBe('Unexpected error.');
    expect(answer.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(answer)).not.toContain('numSamples');
    expect(logged).toContain('The stored training_runs.metrics is malformed (numSamples).');

    const other = await server.data<RunAnswer>(RUN, { r: healthy });
    expect(other.trainingRun).toMatchObject({ id: healthy, status: 'SUCCEEDED' });
    expect(other.trainingRun?.metrics.accuracy).toBeGreaterThan(0.5);
  });

  it('names a nested field of corrupt details the same way', async () => {
    const [row] = (await runSql(server.config, 'SELECT details FROM training_runs WHERE id = ?', [healthy])) as {
      details: unknown;
    }[];
    // SQLite gives the JSON text, PostgreSQL the parsed value.
    const details: unknown = typeof row.details === 'string' ? JSON.parse(row.details) : row.details;
    if (typeof details !== 'object' || details === null) throw new Error('the run has no details');
    expect(details).toHaveProperty('splitCounts.train');
    await runSql(
      server.config,
      'UPDATE training_runs SET metrics = (SELECT metrics FROM training_runs WHERE id = ?), details = ? WHERE id = ?',
      [healthy, JSON.stringify({ ...details, splitCounts: { train: 'seven', validation: 1, test: 1 } }), corrupted],
    );
    const { answer, logged } = await readCorrupted('stored-details');
    expect(answer.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(logged).toContain('The stored training_runs.details is malformed (splitCounts.train).');
    const other = await server.data<RunAnswer>(RUN, { r: healthy });
    expect(other.trainingRun?.status).toBe('SUCCEEDED');
  });
});
