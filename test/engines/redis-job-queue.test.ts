/**
 * The BullMQ training queue on a real Redis, with a stand-in executor: FIFO across instances, idempotent enqueue,
 * positions and counts seen by an instance without workers, removal of a queued job, cancellation reaching the
 * worker that holds a run, and a stopping worker handing its run back to the front of the queue.
 * A worker process killed with SIGKILL mid-run: the job is back after its lock expires and the next worker starts it
 * again as attempt 2 (onRetry); killed again, with 2 attempts allowed, the job fails with a reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enginesUnavailableReason, startRedis, type RunningEngine } from '../fixtures/engines.js';
import { createLogger } from '../../src/logger.js';
import { BullMqJobQueue, JOB_HANDED_BACK, type BullMqJobQueueOptions } from '../../src/services/job-queue-bullmq.js';
import type { JobExecutor } from '../../src/services/job-queue.js';

const unavailable = enginesUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must have PostgreSQL and Redis: ${unavailable}`);

/** A stand-in executor: records starts, and each run ends when the test releases it or its signal aborts. */
function gatedExecutor() {
  const started: string[] = [];
  const aborted = new Map<string, unknown>();
  const release = new Map<string, () => void>();
  const waiters: { runId: string; resolve: () => void }[] = [];
  const execute: JobExecutor = (runId, signal) => {
    started.push(runId);
    for (const waiter of waiters.filter((one) => one.runId === runId)) waiter.resolve();
    return new Promise<void>((resolve) => {
      release.set(runId, resolve);
      signal.addEventListener('abort', () => {
        aborted.set(runId, signal.reason);
        resolve();
      });
    });
  };
  const startedRun = (runId: string) =>
    started.includes(runId)
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          waiters.push({ runId, resolve });
        });
  const finish = (runId: string) => {
    release.get(runId)?.();
  };
  return { execute, started, aborted, startedRun, finish };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(unavailable !== null)('BullMQ training queue', () => {
  let redis: RunningEngine | undefined;
  const queues: BullMqJobQueue[] = [];
  let prefixes = 0;
  const logger = createLogger('silent');
  const queue = async (prefix: string, overrides: Partial<BullMqJobQueueOptions>) => {
    if (!redis) throw new Error('redis did not start');
    const created = new BullMqJobQueue({
      url: redis.url,
      prefix,
      concurrency: 0,
      execute: () => Promise.resolve(),
      attempts: 2,
      lockDurationMs: 5000,
      stalledIntervalMs: 1000,
      stopGraceMs: 10_000,
      logger,
      ...overrides,
    });
    queues.push(created);
    await created.ready();
    return created;
  };
  const freshPrefix = () => `q${++prefixes}:`;
  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(queues.map((created) => created.close()));
    await redis?.stop();
  });

  it('queues once per run id, in FIFO order, with positions and counts visible to an instance without workers', async () => {
    const prefix = freshPrefix();
    const api = await queue(prefix, {});
    for (const id of ['run_1', 'run_2', 'run_3', 'run_1']) await api.enqueue(id);
    expect(await api.counts()).toEqual({ queued: 3, running: 0 });
    expect([await api.position('run_1'), await api.position('run_2'), await api.position('run_3')]).toEqual([1, 2, 3]);
    expect(await api.position('run_unknown')).toBeNull();

    const gate = gatedExecutor();
    const worker = await queue(prefix, { concurrency: 1, execute: gate.execute });
    await gate.startedRun('run_1');
    await until(async () => (await api.counts()).running === 1, 'run_1 active');
    expect(await api.isRunning('run_1')).toBe(true);
    expect(await api.counts()).toEqual({ queued: 2, running: 1 });
    await until(async () => (await api.position('run_2')) === 1, 'run_2 first in line');
    gate.finish('run_1');
    await gate.startedRun('run_2');
    gate.finish('run_2');
    await gate.startedRun('run_3');
    gate.finish('run_3');
    await until(async () => (await api.counts()).running === 0, 'the queue to empty');
    expect(gate.started).toEqual(['run_1', 'run_2', 'run_3']);
    expect((await api.workerInfo()).workers).toBeGreaterThanOrEqual(1);
    // Finished jobs are removed, so the same run id can be queued again (a run handed back, a recovery).
    await api.enqueue('run_1');
    await until(() => gate.started.filter((id) => id === 'run_1').length === 2, 'run_1 to start again');
    gate.finish('run_1');
    await worker.close();
  });

  it('removes a queued job (it never starts) but not a running one, and a cancel reaches the worker holding it', async () => {
    const prefix = freshPrefix();
    const api = await queue(prefix, {});
    const gate = gatedExecutor();
    const worker = await queue(prefix, { concurrency: 1, execute: gate.execute });
    await api.enqueue('run_a');
    await gate.startedRun('run_a');
    await api.enqueue('run_b');
    expect(await api.remove('run_b')).toBe(true);
    expect(await api.remove('run_a')).toBe(false);
    expect(await api.position('run_b')).toBeNull();

    expect(await api.abort('run_a')).toBe(true);
    await until(() => gate.aborted.has('run_a'), 'the worker to see the cancel');
    await until(async () => (await api.counts()).running === 0, 'run_a to end');
    expect(gate.started).toEqual(['run_a']);
    expect(await api.abort('run_a')).toBe(false);
    await worker.close();
  });

  it('a stopping worker gives a run the grace period, then hands it back to the front of the queue', async () => {
    const prefix = freshPrefix();
    const api = await queue(prefix, {});
    const gate = gatedExecutor();
    const worker = await queue(prefix, { concurrency: 1, execute: gate.execute, stopGraceMs: 300 });
    await api.enqueue('run_long');
    await gate.startedRun('run_long');
    await api.enqueue('run_next');
    const stoppedAt = Date.now();
    await worker.close();
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(250);
    expect(gate.aborted.get('run_long')).toBe(JOB_HANDED_BACK);
    // Back in front of the run that was waiting behind it.
    expect(await api.position('run_long')).toBe(1);
    expect(await api.position('run_next')).toBe(2);

    const next = gatedExecutor();
    const second = await queue(prefix, { concurrency: 1, execute: next.execute });
    await next.startedRun('run_long');
    next.finish('run_long');
    await next.startedRun('run_next');
    next.finish('run_next');
    await second.close();
  });

  it('a worker killed mid-run: the job comes back as attempt 2 on another worker, and fails after the last attempt', async () => {
    if (!redis) throw new Error('redis did not start');
    const url = redis.url;
    const prefix = freshPrefix();
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'hanging-worker.ts');
    const hanging = async (): Promise<{ child: ChildProcess; taken: Promise<string> }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, url, prefix], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      let resolveTaken: (runId: string) => void = () => undefined;
      const taken = new Promise<string>((resolve) => (resolveTaken = resolve));
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('ready')) resolve();
          const match = /taken (\S+)/.exec(output);
          if (match) resolveTaken(match[1]);
        });
      });
      return { child, taken };
    };
    const kill = async (child: ChildProcess) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    const api = await queue(prefix, { lockDurationMs: 1500, stalledIntervalMs: 500 });
    const first = await hanging();
    await api.enqueue('run_lost');
    expect(await first.taken).toBe('run_lost');
    await kill(first.child);

    const retries: [string, number, number][] = [];
    const gate = gatedExecutor();
    // This worker runs the stalled-job check that puts the job back, then takes it itself.
    const second = await queue(prefix, {
      concurrency: 1,
      execute: gate.execute,
      lockDurationMs: 1500,
      stalledIntervalMs: 500,
      onRetry: (runId, attempt, attempts) => {
        retries.push([runId, attempt, attempts]);
        return Promise.resolve();
      },
    });
    await gate.startedRun('run_lost');
    expect(retries).toEqual([['run_lost', 2, 2]]);
    gate.finish('run_lost');
    await until(async () => (await api.counts()).running === 0, 'the retried run to end');
    await second.close();

    // Twice lost with two attempts allowed: failed, with a reason recovery gives the run.
    const third = await hanging();
    await api.enqueue('run_doomed');
    expect(await third.taken).toBe('run_doomed');
    await kill(third.child);
    const fourth = await hanging();
    expect(await fourth.taken).toBe('run_doomed');
    await kill(fourth.child);
    const checker = await queue(prefix, { concurrency: 1, lockDurationMs: 1500, stalledIntervalMs: 500 });
    await until(async () => (await api.failedReason('run_doomed')) !== null, 'the job to fail', 20_000);
    expect(await api.failedReason('run_doomed')).toMatch(/lost 2 times \(attempt 2 of 2\)/);
    await checker.close();
  }, 60_000);
});
