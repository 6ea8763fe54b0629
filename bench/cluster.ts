/**
 * Scale-out benchmark (issue 13): real processes on throw-away PostgreSQL and Redis (test/fixtures/engines.ts), API
 * servers with EMBEDDED_WORKERS=0 and `src/worker.ts` workers, beside the single-process default (SQLite, in-process
 * queue and bus) in the same run.
 *
 *  1. 20 queued Kepler trainings (random forest, BENCH_TREES trees, one thread each) with 1 worker, then 2 workers:
 *     wall time, runs per minute, ratio.
 *  2. Live event lag (client receive time − the event's `at`, stamped by the publisher before it stores and publishes
 *     it) through Redis with subscribers spread over two API instances, vs in-process (one server that trains and
 *     serves), at 1 and 1,000 subscribers.
 *  3. Queue overhead per job: the run's queuedSeconds (startTraining stored it → the worker marked it RUNNING) on an
 *     idle queue, BullMQ vs in-process.
 * Run: npm run bench:cluster   (BENCH_RUNS=20, BENCH_TREES=60, BENCH_SUBSCRIBERS=1,1000, BENCH_OVERHEAD_RUNS=10)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startPostgres, startRedis, enginesUnavailableReason } from '../test/fixtures/engines.js';
import {
  clusterEnv,
  startApi,
  startWorker,
  type ApiProcess,
  type ClusterProcess,
} from '../test/cluster/cluster-harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const TREES = Number(process.env.BENCH_TREES ?? 60);
const SUBSCRIBERS = (process.env.BENCH_SUBSCRIBERS ?? '1,1000').split(',').map(Number);
const OVERHEAD_RUNS = Number(process.env.BENCH_OVERHEAD_RUNS ?? 10);
const FOREST = { datasetId: 'kepler', modelType: 'random_forest', hyperparameters: { n_estimators: TREES } };
const LIVE_FOREST = { datasetId: 'kepler', modelType: 'random_forest', hyperparameters: { n_estimators: 200 } };
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

const unavailable = enginesUnavailableReason();
if (unavailable) {
  process.stderr.write(`bench:cluster needs PostgreSQL and Redis: ${unavailable}\n`);
  process.exit(2);
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}
const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'n/a');
const pad = (text: string, width: number) => text.padEnd(width);

async function session(api: ApiProcess, input: Record<string, unknown>): Promise<string> {
  const { createSession } = await api.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await api.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId: createSession.id, ...input },
  });
  return createSession.id;
}

async function start(api: ApiProcess, sessionId: string): Promise<string> {
  const { startTraining } = await api.data<{ startTraining: { id: string } }>(
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: sessionId },
  );
  return startTraining.id;
}

async function waitEnded(api: ApiProcess, runIds: string[]): Promise<void> {
  const open = new Set(runIds);
  while (open.size > 0) {
    for (const id of [...open]) {
      const { trainingRun } = await api.data<{ trainingRun: { status: string } }>(
        'query ($r: ID!) { trainingRun(id: $r) { status } }',
        { r: id },
      );
      if (trainingRun.status === 'FAILED') throw new Error(`run ${id} failed`);
      if (ENDED.has(trainingRun.status)) open.delete(id);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function queuedSeconds(api: ApiProcess, runId: string): Promise<number> {
  const { trainingRun } = await api.data<{ trainingRun: { timings: { queuedSeconds: number | null } | null } }>(
    'query ($r: ID!) { trainingRun(id: $r) { timings { queuedSeconds } } }',
    { r: runId },
  );
  return (trainingRun.timings?.queuedSeconds ?? NaN) * 1000;
}

/** 20 runs queued at once, then timed until the last one ends. */
async function throughput(api: ApiProcess): Promise<number> {
  const sessions = await Promise.all(Array.from({ length: RUNS }, () => session(api, FOREST)));
  const began = performance.now();
  const runs: string[] = [];
  for (const id of sessions) runs.push(await start(api, id));
  await waitEnded(api, runs);
  return (performance.now() - began) / 1000;
}

/** Per-event lag over `count` WebSocket subscribers spread over the APIs, for one run started on the first. */
async function liveLag(apis: ApiProcess[], count: number): Promise<{ median: number; p99: number; events: number }> {
  const sessionId = await session(apis[0], LIVE_FOREST);
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) {
    const api = apis[i % apis.length];
    clients.push(createClient({ url: api.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false }));
  }
  const runId = await start(apis[0], sessionId);
  const lags: number[] = [];
  let events = 0;
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve, reject) => {
          let first = true;
          client.subscribe<{ trainingProgress: { at: string } }>(
            { query: 'subscription ($r: ID!) { trainingProgress(runId: $r) { seq at } }', variables: { r: runId } },
            {
              next: (value) => {
                if (!value.data) return;
                // The first event is the subscriber's snapshot, not a live delivery.
                if (first) {
                  first = false;
                  return;
                }
                events++;
                lags.push(Date.now() - Date.parse(value.data.trainingProgress.at));
              },
              error: (error) => {
                reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
              },
              complete: resolve,
            },
          );
        }),
    ),
  );
  await Promise.all(
    clients.map(async (client) => {
      await client.dispose();
    }),
  );
  return { median: quantile(lags, 0.5), p99: quantile(lags, 0.99), events };
}

async function overhead(api: ApiProcess): Promise<number[]> {
  const values: number[] = [];
  for (let i = 0; i < OVERHEAD_RUNS; i++) {
    const runId = await start(api, await session(api, { ...FOREST, hyperparameters: { n_estimators: 5 } }));
    await waitEnded(api, [runId]);
    values.push(await queuedSeconds(api, runId));
  }
  return values;
}

const started: ClusterProcess[] = [];
const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exo-bench-cluster-'));
try {
  process.stdout.write(
    `bench:cluster on ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'cpu'}), load ${os.loadavg()[0].toFixed(2)}\n`,
  );
  const env = {
    ...clusterEnv(postgres.url, redis.url, 'bench:'),
    LOG_LEVEL: 'warn',
    WS_MAX_CONNECTIONS_PER_CLIENT: '5000',
  };
  const apiA = await startApi('api-a', env);
  started.push(apiA);
  const apiB = await startApi('api-b', env);
  started.push(apiB);

  // 1. Throughput, 1 then 2 workers.
  const worker1 = await startWorker('worker-1', env);
  started.push(worker1);
  const oneWorker = await throughput(apiA);
  process.stdout.write(`  ${RUNS} runs, 1 worker: ${oneWorker.toFixed(1)} s\n`);
  const worker2 = await startWorker('worker-2', env);
  started.push(worker2);
  const twoWorkers = await throughput(apiA);
  process.stdout.write(`  ${RUNS} runs, 2 workers: ${twoWorkers.toFixed(1)} s\n`);

  // 3. Queue overhead (BullMQ), one worker idle and waiting.
  await worker2.stop();
  started.splice(started.indexOf(worker2), 1);
  const bullOverhead = await overhead(apiA);
  process.stdout.write(`  BullMQ queue overhead p50 ${ms(quantile(bullOverhead, 0.5))}\n`);

  // 2. Live lag through Redis, subscribers over both APIs.
  const redisLag = new Map<number, Awaited<ReturnType<typeof liveLag>>>();
  for (const count of SUBSCRIBERS) {
    const lag = await liveLag([apiA, apiB], count);
    redisLag.set(count, lag);
    process.stdout.write(`  Redis lag, ${count} subscriber(s): p50 ${ms(lag.median)}, p99 ${ms(lag.p99)}\n`);
  }

  for (const proc of started.splice(0)) await proc.stop();

  // The single-process default: SQLite, in-process queue and bus, one server that trains and serves.
  const local = await startApi('single', {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    EMBEDDED_WORKERS: '1',
    TRAINING_CONCURRENCY: '1',
    TRAINING_THREADS: '1',
    DATABASE_PATH: path.join(tmp, 'single.db'),
    NASA_DATA_DIR: path.join(os.tmpdir(), 'exo-cluster-no-nasa'),
    WS_MAX_CONNECTIONS_PER_CLIENT: '5000',
  });
  started.push(local);
  const localOverhead = await overhead(local);
  const localLag = new Map<number, Awaited<ReturnType<typeof liveLag>>>();
  for (const count of SUBSCRIBERS) localLag.set(count, await liveLag([local], count));
  const localThroughput = await throughput(local);

  const rows: [string, string, string][] = [
    [
      `${RUNS} queued trainings (forest ${TREES} trees, 1 thread)`,
      `1 worker ${oneWorker.toFixed(1)} s (${((RUNS / oneWorker) * 60).toFixed(1)}/min); 2 workers ${twoWorkers.toFixed(1)} s (${((RUNS / twoWorkers) * 60).toFixed(1)}/min); ratio ${(oneWorker / twoWorkers).toFixed(2)}×`,
      `single process, 1 at a time: ${localThroughput.toFixed(1)} s (${((RUNS / localThroughput) * 60).toFixed(1)}/min)`,
    ],
    [
      'queue overhead per job (stored → RUNNING, idle queue)',
      `BullMQ p50 ${ms(quantile(bullOverhead, 0.5))}, max ${ms(Math.max(...bullOverhead))}`,
      `in-process p50 ${ms(quantile(localOverhead, 0.5))}, max ${ms(Math.max(...localOverhead))}`,
    ],
  ];
  for (const count of SUBSCRIBERS) {
    const viaRedis = redisLag.get(count);
    const inProcess = localLag.get(count);
    rows.push([
      `live event lag, ${count} subscriber(s)`,
      viaRedis
        ? `Redis, over 2 APIs: p50 ${ms(viaRedis.median)}, p99 ${ms(viaRedis.p99)} (${viaRedis.events} deliveries)`
        : 'n/a',
      inProcess
        ? `in-process, 1 server: p50 ${ms(inProcess.median)}, p99 ${ms(inProcess.p99)} (${inProcess.events} deliveries)`
        : 'n/a',
    ]);
  }
  const width = Math.max(...rows.map((row) => row[0].length)) + 2;
  const second = Math.max(...rows.map((row) => row[1].length)) + 2;
  process.stdout.write(
    `\n${pad('', width)}${pad('cluster (PostgreSQL + Redis + BullMQ)', second)}single process (reference)\n`,
  );
  for (const [what, cluster, single] of rows)
    process.stdout.write(`${pad(what, width)}${pad(cluster, second)}${single}\n`);
  process.stdout.write(
    `\nOn ${os.availableParallelism()} cores the 1 → 2 worker ratio is bounded by the cores: each run's forest uses one ` +
      `thread, the API processes, PostgreSQL, Redis and this bench's clients share the same cores, so 2 workers cannot ` +
      `reach 2× here; on separate machines they scale with the machines.\n`,
  );
} finally {
  for (const proc of started) await proc.stop().catch(() => undefined);
  await Promise.allSettled([postgres.stop(), redis.stop()]);
  fs.rmSync(tmp, { recursive: true, force: true });
}
