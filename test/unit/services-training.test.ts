/**
 * Training services without the HTTP stack: commands and their rules (the one "ready to train" rule), the runner's
 * results as typed stored JSON, progress throttling and persistence, failures, recovery and the requeue on a stop.
 * A temporary SQLite database; the queue is a manual one (the test runs each job) unless a test needs the real one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { AppError, badInput, toWorkerError } from '../../src/domain/errors.js';
import { missingForTraining, readyToTrain, type TrainingProgressEvent } from '../../src/domain/run.js';
import type { TrainTask, WorkerTask } from '../../src/ml/worker.js';
import { RESTART_MESSAGE } from '../../src/services/training/index.js';
import {
  createServicesUnderTest,
  readySession,
  type Pool,
  type ServicesUnderTest,
  SERVER,
} from './services-fixtures.js';

let services: ServicesUnderTest | null = null;
afterEach(async () => {
  await services?.close();
  services = null;
});

function setUp(options: Parameters<typeof createServicesUnderTest>[0] = {}): ServicesUnderTest {
  services = createServicesUnderTest({ manualQueue: true, ...options });
  return services;
}

function queueOf(s: ServicesUnderTest) {
  if (!s.queue) throw new Error('this test needs the manual queue');
  return s.queue;
}

async function refusal(action: () => unknown): Promise<AppError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('training commands', () => {
  it('starts a run: a QUEUED snapshot of the session config, one stored event, in the queue', async () => {
    const s = setUp();
    const sessionId = await readySession(s);
    const run = await s.training.commands.start(SERVER, sessionId);

    expect(run).toMatchObject({ sessionId, status: 'QUEUED', stage: 'QUEUED', modelType: 'decision_tree' });
    expect(run.config).toMatchObject({ modelType: 'decision_tree', task: 'THREE_CLASS', seed: 42, features: null });
    expect(run.config.split).toEqual({ train: 0.7, validation: 0.1, test: 0.2 });
    expect(Array.isArray(run.details?.warnings)).toBe(true);
    expect(queueOf(s).queued).toEqual([run.id]);
    expect(await s.training.commands.queuePosition(run.id)).toBe(1);
    expect((await s.training.runs.events(run.id)).map((e) => [e.seq, e.status, e.stage])).toEqual([
      [1, 'QUEUED', 'QUEUED'],
    ]);
    expect(await s.training.progress.snapshot(run.id)).toMatchObject({ seq: 1, status: 'QUEUED', queuePosition: 1 });
  });

  it('applies one ready-to-train rule: the data and model chosen, no run waiting or training', async () => {
    const s = setUp();
    const sessionId = await readySession(s);
    const ready = async () =>
      readyToTrain(await s.sessions.require(SERVER, sessionId), await s.training.commands.hasActiveRun(sessionId));
    expect(await ready()).toBe(true);

    const run = await s.training.commands.start(SERVER, sessionId);
    expect(await ready()).toBe(false);
    const second = await refusal(() => s.training.commands.start(SERVER, sessionId));
    expect(second.code).toBe('CONFLICT');
    expect(second.message).toContain(run.id);

    await s.training.commands.cancel(SERVER, run.id);
    expect(await ready()).toBe(true);

    // A NASA session switched to a user data source with no upload yet has no dataset: a start names the field.
    const fresh = await s.sessions.create(SERVER);
    const session = await s.sessions.configure(SERVER, { sessionId: fresh.id, dataSource: 'user' });
    expect(session.datasetId).toBeNull();
    expect(missingForTraining(session)).toEqual(['datasetId']);
    expect(readyToTrain(session, await s.training.commands.hasActiveRun(fresh.id))).toBe(false);
    const missing = await refusal(() => s.training.commands.start(SERVER, fresh.id));
    expect(missing).toMatchObject({ code: 'BAD_USER_INPUT', field: 'datasetId' });
  });

  it('cancels a queued run before it starts, once', async () => {
    const s = setUp();
    const run = await s.training.commands.start(SERVER, await readySession(s));
    const cancelled = await s.training.commands.cancel(SERVER, run.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', message: 'Cancelled before it started' });
    expect(queueOf(s).queued).toEqual([]);
    expect((await s.training.runs.events(run.id)).at(-1)).toMatchObject({ seq: 2, status: 'CANCELLED' });
    expect((await refusal(() => s.training.commands.cancel(SERVER, run.id))).code).toBe('CONFLICT');
    expect((await refusal(() => s.training.commands.cancel(SERVER, 'run_missing'))).code).toBe('NOT_FOUND');
  });

  it('releases a deleted session: its active runs are cancelled', async () => {
    const s = setUp();
    const sessionId = await readySession(s);
    const run = await s.training.commands.start(SERVER, sessionId);
    s.sessions.onDelete((id) => s.training.commands.releaseSession(id));
    const events: TrainingProgressEvent[] = [];
    const stream = (await s.training.progress.subscribe(SERVER, run.id))[Symbol.asyncIterator]();
    events.push((await stream.next()).value as TrainingProgressEvent);
    expect(await s.sessions.delete(SERVER, sessionId)).toBe(true);
    events.push((await stream.next()).value as TrainingProgressEvent);
    expect(events.map((e) => e.status)).toEqual(['QUEUED', 'CANCELLED']);
    expect((await stream.next()).done).toBe(true);
    expect(await s.training.runs.get(run.id)).toBeNull();
  });
});

describe('training runner', () => {
  it('trains a queued run and stores typed results, its model and every event in order', async () => {
    const s = setUp();
    const run = await s.training.commands.start(SERVER, await readySession(s));
    const published: TrainingProgressEvent[] = [];
    const subscription = (async () => {
      for await (const event of await s.training.progress.subscribe(SERVER, run.id)) published.push(event);
    })();
    await queueOf(s).runNext();
    await subscription;

    const done = await s.training.runs.require(run.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.stage).toBe('DONE');
    expect(done.progress).toBe(1);
    // Stored JSON comes back typed: no cast between the database and these reads.
    expect(done.metrics?.classes).toEqual(['no', 'yes']);
    expect(typeof done.metrics?.macro.f1).toBe('number');
    expect(done.featureImportance?.map((f) => f.feature).sort()).toEqual(['a', 'b']);
    expect(done.details?.features?.sort()).toEqual(['a', 'b']);
    expect(done.details?.splitCounts?.test).toBeGreaterThan(0);
    expect(done.details?.explanation?.permutation.metric).toBe('macro-F1');
    expect(done.timings?.totalSeconds).toBeGreaterThan(0);
    expect(done.versions?.app).toBeTruthy();
    expect((await s.models.bytes(run.id))?.byteLength).toBeGreaterThan(0);

    const stored = await s.training.runs.events(run.id);
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(stored.map((e) => e.stage)).toEqual(expect.arrayContaining(['QUEUED', 'LOADING', 'TRAINING', 'DONE']));
    const progress = stored.map((e) => e.progress);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    // The subscriber saw the snapshot, then every later event, ending with the terminal one.
    expect(published.map((e) => e.seq)).toEqual(stored.slice(published[0].seq - 1).map((e) => e.seq));
    expect(published.at(-1)).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE' });
  });

  it('throttles a burst of steps to one event per tenth (and the last), every one stored and published', async () => {
    const burst: Pool = {
      run: async (task: WorkerTask) => {
        const { port } = task as TrainTask;
        port.postMessage({ type: 'stage', stage: 'TRAINING', message: 'Training' });
        for (let step = 1; step <= 1000; step++)
          port.postMessage({ type: 'step', progress: { step, totalSteps: 1000, loss: 1 / step } });
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw toWorkerError(badInput('stop here: the steps are what this test counts'));
      },
    };
    const s = setUp({ pool: burst });
    const run = await s.training.commands.start(SERVER, await readySession(s));
    const published: TrainingProgressEvent[] = [];
    const subscription = (async () => {
      for await (const event of await s.training.progress.subscribe(SERVER, run.id)) published.push(event);
    })();
    await queueOf(s).runNext();
    await subscription;

    const steps = (await s.training.runs.events(run.id)).filter(
      (e) => e.status === 'RUNNING' && e.stage === 'TRAINING' && e.step > 0,
    );
    // One per decile (100, 200, …, 1000) plus at most a few from the 100 ms timer: never one per message.
    expect(steps.length).toBeGreaterThanOrEqual(10);
    expect(steps.length).toBeLessThanOrEqual(14);
    expect(steps.at(-1)).toMatchObject({ step: 1000, totalSteps: 1000, metrics: { loss: 1 / 1000 } });
    expect(steps.map((e) => e.progress).every((p, i, all) => i === 0 || p >= all[i - 1])).toBe(true);
    expect(
      published.filter((e) => e.status === 'RUNNING' && e.stage === 'TRAINING' && e.step > 0).map((e) => e.seq),
    ).toEqual(steps.map((e) => e.seq));
    // The worker's AppError is the run's reason, word for word.
    expect(await s.training.runs.require(run.id)).toMatchObject({
      status: 'FAILED',
      error: 'stop here: the steps are what this test counts',
    });
  });

  it('never shows an unexpected error to the user: the run says where it is logged', async () => {
    const failing: Pool = {
      run: () => Promise.reject(new Error('ENOTREALLY /srv/secret/path exploded')),
    };
    const s = setUp({ pool: failing });
    const run = await s.training.commands.start(SERVER, await readySession(s));
    await queueOf(s).runNext();
    const failed = await s.training.runs.require(run.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(
      `Training failed because of an unexpected error on the server (logged under run ${run.id}).`,
    );
  });

  it('puts a run that was training back in the queue when the server stops', async () => {
    let started!: () => void;
    const training = new Promise<void>((resolve) => (started = resolve));
    const untilAborted: Pool = {
      run: (_task: WorkerTask, options?: { signal?: AbortSignal | null }) =>
        new Promise((_resolve, reject) => {
          started();
          options?.signal?.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        }),
    };
    const s = setUp({ pool: untilAborted, manualQueue: false });
    const run = await s.training.commands.start(SERVER, await readySession(s));
    await training;
    expect((await s.training.runs.require(run.id)).status).toBe('RUNNING');
    await s.training.close();
    const stopped = await s.training.runs.require(run.id);
    expect(stopped).toMatchObject({ status: 'QUEUED', stage: 'QUEUED', progress: 0, startedAt: null });
    expect(stopped.message).toContain('starts again');
  });
});

describe('recovery at start-up', () => {
  it('fails runs a crash left RUNNING and queues the QUEUED ones again, oldest first', async () => {
    const s = setUp();
    const first = await s.training.commands.start(SERVER, await readySession(s));
    const second = await s.training.commands.start(SERVER, await readySession(s));
    const third = await s.training.commands.start(SERVER, await readySession(s));
    // As a crash leaves them: the first was training.
    await s.handle.store.update(
      'trainingRuns',
      { status: 'RUNNING', stage: 'TRAINING' },
      eq(s.handle.store.t.trainingRuns.id, first.id),
    );

    const restarted = s.restart();
    expect(await restarted.commands.recover()).toEqual({ failed: 1, requeued: 2 });
    expect(await restarted.runs.require(first.id)).toMatchObject({
      status: 'FAILED',
      error: RESTART_MESSAGE,
      stage: 'TRAINING',
    });
    expect(restarted.queue.queued).toEqual([second.id, third.id]);
    // Events go on from the stored seq.
    expect((await restarted.runs.events(first.id)).map((e) => e.seq)).toEqual([1, 2]);
  });
});
