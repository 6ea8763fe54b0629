/**
 * Hardening issue 12 item 5: a costly `predict` (1,000 full Kepler rows) is answered by the inference worker with
 * the same probabilities the event loop gives row by row, and `health` keeps answering while such calls run.
 * Ordering and answers are asserted, not milliseconds (bench:predict-load measures the latencies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_KEPLER, keplerRows, startRun, startServer, waitForRun, type TestServer } from './harness.js';

const PREDICT =
  'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence probabilities { label probability } warnings } }';

interface Prediction {
  label: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
  warnings: string[];
}

describe.skipIf(!HAS_KEPLER)('predict: costly calls in the inference worker', () => {
  let server: TestServer;
  let runId: string;

  beforeAll(async () => {
    server = await startServer();
    ({ runId } = await startRun(server, { datasetId: 'kepler', modelType: 'logistic_regression' }));
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
  }, 240_000);

  afterAll(async () => {
    await server.stop();
  });

  it('answers 1,000 rows in the worker, identical to single rows on the event loop, and health meanwhile', async () => {
    const rows = keplerRows(1000);
    const routes = server.app.services.predictions.routes;
    const before = { ...routes };
    const order: string[] = [];
    const big = Array.from({ length: 3 }, (_, i) =>
      server.data<{ predict: Prediction[] }>(PREDICT, { r: runId, rows }).then((answer) => {
        order.push(`predict ${i}`);
        return answer.predict;
      }),
    );
    const health = server.data<{ health: { status: string } }>('{ health { status } }').then((answer) => {
      order.push('health');
      return answer.health.status;
    });
    const [answers, status] = await Promise.all([Promise.all(big), health]);
    expect(status).toBe('ok');
    // The worker holds the costly calls; the event loop answers health before the last of them.
    expect(order.indexOf('health')).toBeLessThan(order.length - 1);
    expect(routes.worker - before.worker).toBe(3);
    for (const answer of answers) expect(answer).toHaveLength(1000);
    expect(answers[1]).toEqual(answers[0]);

    // One row at a time is cheap: answered on the event loop, with exactly the worker's numbers.
    const loopBefore = routes.loop;
    for (const index of [0, 17, 999]) {
      const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, { r: runId, rows: [rows[index]] });
      expect(predict[0]).toEqual(answers[0][index]);
    }
    expect(routes.loop - loopBefore).toBe(3);
  }, 120_000);
});
