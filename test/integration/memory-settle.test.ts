/**
 * Issue 17 goal 6: the server settles after runs. Worker threads that ran a task end after WORKER_IDLE_SECONDS, and
 * what they held (the parsed table, the loaded predictor, their heaps) goes with them. Observed through the threads'
 * own memory reports (src/ml/memory-report.ts, MEMORY_REPORT=1), not through RSS, which the allocator blurs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchThreadMemory } from '../../src/ml/memory-report.js';
import { RecyclingPool } from '../../src/services/worker-pool.js';
import { HAS_KEPLER, keplerRows, startRun, startServer, waitForRun, type TestServer } from './harness.js';

const PREDICT = 'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label } }';

/** Waits until `done` holds, or `timeoutMs` has passed; answers whether it held. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

describe.skipIf(!HAS_KEPLER)('memory: idle worker threads end and release what they held', () => {
  let server: TestServer;
  const before = process.env.MEMORY_REPORT;
  const reports = watchThreadMemory();

  beforeAll(async () => {
    // Read by worker threads as they start (they inherit this process's environment).
    process.env.MEMORY_REPORT = '1';
    server = await startServer({ env: { WORKER_IDLE_SECONDS: '2' } });
  }, 60_000);

  afterAll(async () => {
    await server.stop();
    reports.close();
    if (before === undefined) delete process.env.MEMORY_REPORT;
    else process.env.MEMORY_REPORT = before;
  });

  it('a training thread and an inference thread hold their table and predictor, then end after the idle time', async () => {
    const { runId } = await startRun(server, { datasetId: 'kepler', modelType: 'logistic_regression' });
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
    // 1,000 rows cost more than the event loop's share: answered by the inference thread, which loads the model.
    const routes = server.app.services.predictions.routes;
    const workerCalls = routes.worker;
    const { predict } = await server.data<{ predict: { label: string }[] }>(PREDICT, {
      r: runId,
      rows: keplerRows(1000),
    });
    expect(predict).toHaveLength(1000);
    expect(routes.worker).toBe(workerCalls + 1);

    // Each thread reported after its task: the inference thread holds the loaded predictor, the training thread
    // (when it reported) the parsed Kepler table.
    await until(() => [...reports.latest.values()].some((r) => r.caches.predictors.entries === 1), 5000);
    const threads = [...reports.latest.values()];
    const inference = threads.find((r) => r.caches.predictors.entries === 1);
    expect(inference?.caches.predictors.bytes).toBeGreaterThan(0);
    for (const report of threads.filter((r) => r.caches.tables.entries > 0)) {
      expect(report.caches.tables.bytes).toBeGreaterThan(100_000);
    }
    expect(RecyclingPool.liveThreadIds()).toContain(inference?.threadId);

    // WORKER_IDLE_SECONDS=2: every thread that ran a task ends, its caches and heap with it. The training pool keeps
    // one fresh thread in their place (TRAINING_WARM_UP) and the upload pool its own (UPLOAD_WARM_UP), which have run
    // no task and hold nothing.
    const used = threads.map((r) => r.threadId);
    expect(
      await until(() => {
        const live = RecyclingPool.liveThreadIds();
        return live.length <= 2 && !live.some((id) => used.includes(id));
      }, 15_000),
    ).toBe(true);

    // The next call starts a fresh thread, which asks for the model again and answers the same.
    const again = await server.data<{ predict: { label: string }[] }>(PREDICT, { r: runId, rows: keplerRows(1000) });
    expect(again.predict).toEqual(predict);
  }, 240_000);
});
