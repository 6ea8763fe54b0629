/**
 * The scale-out on real engines and real processes: throw-away PostgreSQL and Redis, two API servers that only serve
 * and enqueue (EMBEDDED_WORKERS=0) and two training workers (`src/worker.ts`), all as child processes.
 * `npm run test:cluster` (not part of `npm test`: it starts six processes and trains for about two minutes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enginesUnavailableReason, startPostgres, type RunningEngine } from '../fixtures/engines.js';
import { collect, collectSse, type GraphQLResult } from '../integration/harness.js';
import {
  clusterEnv,
  startApi,
  startRestartableRedis,
  startWorker,
  type ApiProcess,
  type ClusterProcess,
  type RestartableRedis,
} from './cluster-harness.js';

const unavailable = enginesUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must have PostgreSQL and Redis: ${unavailable}`);

interface Progress {
  runId: string;
  seq: number;
  status: string;
  stage: string;
  step: number;
  message: string | null;
}
const PROGRESS = 'subscription ($r: ID!) { trainingProgress(runId: $r) { runId seq status stage step message } }';
const RUN = 'query ($r: ID!) { trainingRun(id: $r) { status attempt error message events { seq status message } } }';

interface RunView {
  status: string;
  attempt: number;
  error: string | null;
  message: string | null;
  events: { seq: number; status: string; message: string | null }[];
}

async function createSession(api: ApiProcess, input: Record<string, unknown>): Promise<string> {
  const { createSession: session } = await api.data<{ createSession: { id: string } }>(
    'mutation { createSession { id } }',
  );
  await api.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId: session.id, ...input },
  });
  return session.id;
}

async function startTraining(api: ApiProcess, sessionId: string): Promise<string> {
  const { startTraining: run } = await api.data<{ startTraining: { id: string } }>(
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: sessionId },
  );
  return run.id;
}

async function runView(api: ApiProcess, runId: string): Promise<RunView> {
  return (await api.data<{ trainingRun: RunView }>(RUN, { r: runId })).trainingRun;
}

async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const ended = (api: ApiProcess, runId: string, timeoutMs?: number) =>
  waitFor(
    async () => {
      const view = await runView(api, runId);
      return ENDED.has(view.status) ? view : undefined;
    },
    `run ${runId} to end`,
    timeoutMs,
  );

/** Seqs go up by exactly one: nothing lost, nothing repeated. */
function expectGapFree(events: Progress[]) {
  for (let i = 1; i < events.length; i++) expect(events[i].seq, `event ${i}`).toBe(events[i - 1].seq + 1);
}

/** A forest slow enough on one thread to act on while it trains (a few seconds). */
const SLOW_FOREST = { datasetId: 'kepler', modelType: 'random_forest', hyperparameters: { n_estimators: 150 } };

describe.skipIf(unavailable !== null)('cluster: two API servers, two workers, PostgreSQL, Redis', () => {
  let postgres: RunningEngine | undefined;
  let redis: RestartableRedis | undefined;
  let env: Record<string, string> = {};
  let apiA: ApiProcess;
  let apiB: ApiProcess;
  const workers: ClusterProcess[] = [];
  const apis: ApiProcess[] = [];

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRestartableRedis()]);
    env = clusterEnv(postgres.url, redis.url, `t${process.pid}:`);
    // The first API applies the migrations; the others start on a migrated database.
    apiA = await startApi('api-a', env);
    [apiB] = await Promise.all([
      startApi('api-b', env),
      startWorker('worker-1', env).then((worker) => workers.push(worker)),
      startWorker('worker-2', env).then((worker) => workers.push(worker)),
    ]);
    apis.push(apiA, apiB);
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled([...apis, ...workers].map((proc) => proc.stop()));
    await Promise.allSettled([postgres?.stop(), redis?.stop()]);
  }, 120_000);

  it('health on an API names the database, Redis and the queue, with the workers it sees', async () => {
    const health = await fetch(`${apiA.url}/api/ready`);
    expect(health.status).toBe(200);
    const { health: report } = await apiA.data<{
      health: { ready: boolean; workers: number | null; dependencies: { name: string; ok: boolean }[] };
    }>('{ health { ready workers dependencies { name ok } } }');
    expect(report.ready).toBe(true);
    expect(report.workers).toBe(2);
    expect(report.dependencies.map((one) => [one.name, one.ok])).toEqual([
      ['database', true],
      ['redis', true],
      ['queue', true],
    ]);
  });

  it('a session made on A, trained through B, watched over WebSocket on A and SSE on B: identical gap-free sequences', async () => {
    const sessionId = await createSession(apiA, {
      datasetId: 'kepler',
      modelType: 'random_forest',
      hyperparameters: { n_estimators: 40 },
    });
    const runId = await startTraining(apiB, sessionId);
    const [ws, sse] = await Promise.all([
      collect<{ trainingProgress: Progress }>(apiA.wsClient(), PROGRESS, { r: runId }, 180_000),
      collectSse<{ trainingProgress: Progress }>(apiB.url, PROGRESS, { r: runId }),
    ]);
    expect(ws.error).toBeUndefined();
    const overWs = ws.events.map((event) => event.trainingProgress);
    const overSse = sse.map((event) => event.trainingProgress);
    expectGapFree(overWs);
    expectGapFree(overSse);
    expect(overWs.at(-1)?.status).toBe('SUCCEEDED');
    // Both start from a snapshot taken when they subscribed; from the later one on they are the same events.
    const from = Math.max(overWs[0].seq, overSse[0].seq);
    const strip = (events: Progress[]) =>
      events.filter((event) => event.seq > from).map(({ seq, status, stage, step }) => ({ seq, status, stage, step }));
    expect(strip(overSse)).toEqual(strip(overWs));
    expect(strip(overWs).length).toBeGreaterThan(5);
    // And the same as what was stored.
    const stored = (await runView(apiA, runId)).events.filter((event) => event.seq > from);
    expect(stored.map((event) => event.seq)).toEqual(strip(overWs).map((event) => event.seq));
  });

  it('kill -9 of the worker training a run: the run is retried on the other worker and SUCCEEDS with attempt 2', async () => {
    const sessionId = await createSession(apiA, SLOW_FOREST);
    const runId = await startTraining(apiA, sessionId);
    const watching = collect<{ trainingProgress: Progress }>(apiA.wsClient(), PROGRESS, { r: runId }, 240_000);
    const taken = await Promise.any(
      workers.map((worker) =>
        worker.waitForLog((line) => line.msg === 'training job taken' && line.runId === runId).then(() => worker),
      ),
    );
    await waitFor(
      async () => ((await runView(apiA, runId)).status === 'RUNNING' ? true : undefined),
      'the run to be RUNNING',
    );
    await taken.kill9();
    workers.splice(workers.indexOf(taken), 1);
    const view = await ended(apiA, runId, 240_000);
    expect(view).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    const { events, error } = await watching;
    expect(error).toBeUndefined();
    const progress = events.map((event) => event.trainingProgress);
    expectGapFree(progress);
    expect(progress.some((event) => event.message === 'Worker lost; retrying, attempt 2 of 2')).toBe(true);
    expect(progress.at(-1)?.status).toBe('SUCCEEDED');
    // Back to two workers for the tests that follow.
    workers.push(await startWorker('worker-3', env));
  });

  it('cancel through A stops a run on a worker', async () => {
    const sessionId = await createSession(apiB, SLOW_FOREST);
    const runId = await startTraining(apiB, sessionId);
    const taken = await Promise.any(
      workers.map((worker) =>
        worker.waitForLog((line) => line.msg === 'training job taken' && line.runId === runId).then(() => worker),
      ),
    );
    await waitFor(
      async () => ((await runView(apiA, runId)).status === 'RUNNING' ? true : undefined),
      'the run to be RUNNING',
    );
    const cancelled = await apiA.data<{ cancelTraining: { status: string } }>(
      'mutation ($r: ID!) { cancelTraining(runId: $r) { status } }',
      { r: runId },
    );
    expect(cancelled.cancelTraining.status).toBe('CANCELLED');
    // The worker stopped training it: its queue has nothing running within a few seconds.
    await waitFor(async () => {
      const { health } = await apiB.data<{ health: { runningRuns: number } }>('{ health { runningRuns } }');
      return health.runningRuns === 0 ? true : undefined;
    }, 'the worker to stop the run');
    expect(taken.child.exitCode).toBeNull();
    expect((await runView(apiB, runId)).status).toBe('CANCELLED');
  });

  it('an upload through A trains on a worker and predicts through B', async () => {
    const csv = await import('node:fs').then((fs) => fs.readFileSync('examples/kepler-sample.csv', 'utf8'));
    const form = new FormData();
    form.set(
      'operations',
      JSON.stringify({
        query: 'mutation ($file: File!) { uploadDataset(file: $file, labelColumn: "label") { id } }',
        variables: { file: null },
      }),
    );
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([csv]), 'kepler-sample.csv');
    const response = await fetch(`${apiA.url}/graphql`, {
      method: 'POST',
      body: form,
      headers: { 'graphql-preflight': '1' },
    });
    const uploaded = (await response.json()) as GraphQLResult<{ uploadDataset: { id: string } }>;
    const datasetId = uploaded.data?.uploadDataset.id;
    expect(datasetId, JSON.stringify(uploaded.errors)).toBeDefined();
    const sessionId = await createSession(apiA, { datasetId, modelType: 'decision_tree' });
    const runId = await startTraining(apiA, sessionId);
    expect((await ended(apiB, runId)).status).toBe('SUCCEEDED');
    const [header, first] = csv.split('\n');
    const columns = header.split(',');
    const row = Object.fromEntries(first.split(',').map((cell, i) => [columns[i], cell]));
    const { predict } = await apiB.data<{ predict: { label: string; confidence: number }[] }>(
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence } }',
      { r: runId, rows: [row] },
    );
    expect(predict).toHaveLength(1);
    expect(['planet', 'candidate', 'false_positive']).toContain(predict[0].label);
  });

  it('Redis restarted mid-run: subscribers resume (or end with a clear error), the run ends, health recovers', async () => {
    const sessionId = await createSession(apiA, SLOW_FOREST);
    const runId = await startTraining(apiA, sessionId);
    const watching = collect<{ trainingProgress: Progress }>(apiB.wsClient(), PROGRESS, { r: runId }, 240_000);
    await waitFor(
      async () => ((await runView(apiA, runId)).status === 'RUNNING' ? true : undefined),
      'the run to be RUNNING',
    );
    if (!redis) throw new Error('redis did not start');
    await redis.restart(1500);
    const view = await ended(apiA, runId, 240_000);
    expect(view.status).toBe('SUCCEEDED');
    const { events, error } = await watching;
    const progress = events.map((event) => event.trainingProgress);
    if (error === undefined) {
      // Resumed: nothing missing (what Redis dropped while down was filled from the database), ending with the end.
      expectGapFree(progress);
      expect(progress.at(-1)?.status).toBe('SUCCEEDED');
    } else {
      expect(JSON.stringify(error)).toMatch(/Redis|connection/i);
    }
    await waitFor(async () => ((await fetch(`${apiB.url}/api/ready`)).status === 200 ? true : undefined), 'ready');
  });
});
