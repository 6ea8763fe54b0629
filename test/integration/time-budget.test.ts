/**
 * A run's time budget (issue 12 item 7): the largest accepted network used to hold the only training slot for
 * minutes. With MAX_TRAINING_SECONDS a run still training after that long is stopped, fails saying why and what to
 * do, and the slot goes to the next run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun, startServer, waitForRun, type TestServer } from './harness.js';

let server: TestServer;
beforeAll(async () => {
  // 30 s: the second run (a decision tree, ~2 s on a quiet machine) must fit in it even on a loaded one.
  server = await startServer({ env: { MAX_TRAINING_SECONDS: '30', TRAINING_CONCURRENCY: '1' } });
});
afterAll(() => server.stop());

interface RunView {
  status: string;
  error: string | null;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

const RUN = 'query ($r: ID!) { trainingRun(id: $r) { status error message startedAt finishedAt } }';

describe('MAX_TRAINING_SECONDS', () => {
  it('stops a run past its budget with a message that says why, and the next run trains', async () => {
    const long = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'neural_network',
      hyperparameters: { epochs: 1000, hidden_layers: [256, 256], batch_size: 8, early_stopping_patience: 0 },
    });
    const next = await startRun(server, { datasetId: 'kepler', modelType: 'decision_tree' });
    expect(await waitForRun(server, long.runId, 90_000)).toBe('FAILED');
    const { trainingRun: stopped } = await server.data<{ trainingRun: RunView }>(RUN, { r: long.runId });
    expect(stopped.error).toMatch(/^Stopped after 30 s: training may take at most MAX_TRAINING_SECONDS = 30 s\./);
    expect(stopped.message).toBe(stopped.error);
    const ran = Date.parse(stopped.finishedAt ?? '') - Date.parse(stopped.startedAt ?? '');
    expect(ran).toBeGreaterThanOrEqual(30_000);
    expect(ran).toBeLessThan(45_000);
    // The slot is free again: the queued run trains to the end.
    const nextStatus = await waitForRun(server, next.runId, 60_000);
    const { trainingRun: after } = await server.data<{ trainingRun: RunView }>(RUN, { r: next.runId });
    expect([nextStatus, after.error]).toEqual(['SUCCEEDED', null]);
  });
});
