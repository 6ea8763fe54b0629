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
  warnings?: string[];
  error: string | null;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

const RUN = 'query ($r: ID!) { trainingRun(id: $r) { status error message warnings startedAt finishedAt } }';

describe('MAX_TRAINING_SECONDS', () => {
  it('stops a run past its budget with a message that says why, and the next run trains', async () => {
    const long = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'neural_network',
      // Estimated at ~90 s (3× the budget: started, with a warning); it really takes longer than 30 s.
      hyperparameters: { epochs: 100, hidden_layers: [256, 256], batch_size: 8, early_stopping_patience: 0 },
    });
    const next = await startRun(server, { datasetId: 'kepler', modelType: 'decision_tree' });
    expect(await waitForRun(server, long.runId, 90_000)).toBe('FAILED');
    const { trainingRun: stopped } = await server.data<{ trainingRun: RunView }>(RUN, { r: long.runId });
    expect(stopped.error).toMatch(/^Stopped after 30 s: training may take at most MAX_TRAINING_SECONDS = 30 s\./);
    expect(stopped.message).toBe(stopped.error);
    expect(stopped.warnings?.join(' ')).toMatch(
      /would take about \d+ (s|min) to train \(100 epochs × .* It will likely be stopped there\./,
    );
    const ran = Date.parse(stopped.finishedAt ?? '') - Date.parse(stopped.startedAt ?? '');
    expect(ran).toBeGreaterThanOrEqual(30_000);
    expect(ran).toBeLessThan(45_000);
    // The slot is free again: the queued run trains to the end.
    const nextStatus = await waitForRun(server, next.runId, 60_000);
    const { trainingRun: after } = await server.data<{ trainingRun: RunView }>(RUN, { r: next.runId });
    expect([nextStatus, after.error]).toEqual(['SUCCEEDED', null]);
  });

  it('refuses at start a configuration estimated at many times the budget, with the estimate and what drives it', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
      input: {
        sessionId: createSession.id,
        datasetId: 'kepler',
        modelType: 'neural_network',
        hyperparameters: { epochs: 1000, hidden_layers: [1024, 1024, 1024, 1024, 1024, 1024], batch_size: 1 },
      },
    });
    const result = await server.gql('mutation ($s: ID!) { startTraining(sessionId: $s) { id } }', {
      s: createSession.id,
    });
    const [error] = result.errors ?? [];
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(
      /^This configuration would take about \d+ h \d+ min to train \(1,000 epochs × [\d,]+ rows × [\d,]+ weights \(hidden_layers \[1024, 1024, 1024, 1024, 1024, 1024\]\), batch_size 1\), and training may take at most 30 s \(MAX_TRAINING_SECONDS\)\. Choose fewer epochs/,
    );
    const { session } = await server.data<{ session: { runs: { totalCount: number } } }>(
      'query ($s: ID!) { session(id: $s) { runs { totalCount } } }',
      { s: createSession.id },
    );
    expect(session.runs.totalCount).toBe(0);
  });
});
