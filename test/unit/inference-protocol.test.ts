/**
 * Speed issue 16 goal 5: worker threads keep loaded predictors by run id, so an explanation ships the row only. A
 * thread without the predictor answers NEED_ARTIFACT and the client sends the task again with the stored artefact;
 * a forgotten run (deleted, saved again) is dropped by the threads. Asserted on what was shipped, not on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import runTask from '../../src/ml/worker.js';
import { InferenceClient } from '../../src/services/inference.js';
import { createWorkerPool, type RecyclingPool } from '../../src/services/worker-pool.js';
import { SERVER, createServicesUnderTest, readySession, type ServicesUnderTest } from './services-fixtures.js';

let services: ServicesUnderTest | null = null;
let pool: RecyclingPool | null = null;
afterEach(async () => {
  await pool?.destroy();
  pool = null;
  await services?.close();
  services = null;
});

async function trainedRun(s: ServicesUnderTest): Promise<string> {
  const run = await s.training.commands.start(SERVER, await readySession(s));
  await s.queue?.runNext();
  return run.id;
}

describe('inference worker cache protocol', () => {
  it('a thread without the predictor asks for it once; later calls ship only the row', async () => {
    services = createServicesUnderTest({ manualQueue: true });
    const s = services;
    const runId = await trainedRun(s);
    const stored = await s.models.sizeBytes(runId);
    if (stored === null) throw new Error('no stored model');
    pool = createWorkerPool(1, { recycleAfterIdleMs: 60_000 });
    const client = new InferenceClient(pool, s.models);
    const row = { a: 5.2, b: 3 };

    const first = await client.explain(runId, row, null);
    expect(client.stats).toEqual({ tasks: 2, artifactRequests: 1, artifactBytes: stored });
    const second = await client.explain(runId, row, null);
    expect(client.stats).toEqual({ tasks: 3, artifactRequests: 1, artifactBytes: stored });
    expect(second).toEqual(first);
    // predict in the worker reuses the same predictor.
    const predicted: unknown = JSON.parse(await client.predictRowsJson(runId, JSON.stringify([row])));
    expect(predicted).toEqual((await s.models.predictor(runId))?.predictRows([row]));
    expect(client.stats).toMatchObject({ tasks: 4, artifactRequests: 1, artifactBytes: stored });

    // A forgotten run (its session deleted, or the run saved again) is dropped by the thread: asked for again.
    s.models.forget([runId]);
    expect(await client.explain(runId, row, null)).toEqual(first);
    expect(client.stats).toEqual({ tasks: 6, artifactRequests: 2, artifactBytes: 2 * stored });

    // The protocol before issue 16 (the explain benchmark's "before"): the artefact with every call.
    const always = new InferenceClient(pool, s.models, { shipArtifact: 'always' });
    await always.explain(runId, row, null);
    await always.explain(runId, row, null);
    expect(always.stats).toEqual({ tasks: 2, artifactRequests: 0, artifactBytes: 2 * stored });
  });

  it('the worker answers NEED_ARTIFACT for a run it does not hold, and drops everything after missed evictions', async () => {
    services = createServicesUnderTest({ manualQueue: true });
    const s = services;
    const runId = await trainedRun(s);
    const artifactGzip = await s.models.bytes(runId);
    if (!artifactGzip) throw new Error('no stored model');
    const row = { a: 1, b: 2 };
    // In this thread (the function piscina runs): its cache is this module's.
    const evictions = { total: 0, recent: [] };
    expect(await runTask({ kind: 'explain', model: { runId: 'run_other', evictions }, row, label: null })).toEqual({
      needArtifact: true,
    });
    const loaded = await runTask({ kind: 'explain', model: { runId, evictions, artifactGzip }, row, label: null });
    expect(loaded).toMatchObject({ needArtifact: false });
    expect(await runTask({ kind: 'explain', model: { runId, evictions }, row, label: null })).toEqual(loaded);
    // More runs forgotten than the log lists: the thread cannot tell which, so it drops all of them.
    const missed = { total: 100, recent: ['run_a', 'run_b'] };
    expect(await runTask({ kind: 'explain', model: { runId, evictions: missed }, row, label: null })).toEqual({
      needArtifact: true,
    });
  });
});
