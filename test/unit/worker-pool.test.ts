/**
 * Idle recycling of worker threads (issue 9: memory): real piscina threads running src/ml/worker.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  UPLOAD_WORKER_FILE,
  closeUploadWorker,
  createWorkerPool,
  keepUploadThread,
  RecyclingPool,
} from '../../src/services/worker-pool.js';
import { UploadFeed } from '../../src/services/upload-feed.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { AppError } from '../../src/domain/errors.js';
import { DEFAULT_SPLIT_SIZES } from '../../src/ml/data/index.js';
import type { ExplainTask, TrainTask } from '../../src/ml/worker.js';

// A task that runs in the thread and fails there (the artefact is not gzip): enough to mark a thread as used.
const failingTask: ExplainTask = {
  kind: 'explain',
  model: { runId: 'none', artifactGzip: new Uint8Array([1, 2, 3]), evictions: { total: 0, recent: [] } },
  row: {},
  label: null,
};

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

let pool: RecyclingPool | null = null;
afterEach(async () => {
  await pool?.destroy();
  pool = null;
});

describe('worker pool recycling', () => {
  it('ends a thread that ran a task once the pool has been idle for recycleAfterIdleMs', async () => {
    pool = createWorkerPool(1, { recycleAfterIdleMs: 300 });
    expect(pool.threads).toHaveLength(0); // nothing started before the first task
    await expect(pool.run(failingTask)).rejects.toThrow();
    expect(pool.threads).toHaveLength(1);
    await sleep(100);
    expect(pool.threads).toHaveLength(1); // not idle long enough yet
    await waitFor(() => pool?.threads.length === 0, 5000);
  });

  it('a warm pool replaces the used thread with a fresh one', async () => {
    pool = createWorkerPool(1, { warm: true, recycleAfterIdleMs: 200 });
    await waitFor(() => pool?.threads.length === 1, 10_000);
    const first = pool.threads[0].threadId;
    await sleep(400);
    expect(pool.threads[0].threadId).toBe(first); // an unused warm thread is kept
    await expect(pool.run(failingTask)).rejects.toThrow();
    await waitFor(() => pool?.threads.length === 1 && pool.threads[0].threadId !== first, 10_000);
  });

  it('a warming pool warms its kept thread at start and after each recycle, and a task stops the warm-up', async () => {
    pool = createWorkerPool(1, { warm: true, warmUp: true, recycleAfterIdleMs: 200 });
    expect(pool.warmUps.started).toBe(1);
    // A task arriving during the warm-up stops it and runs on the same (kept) thread, with its own answer.
    await expect(pool.run(failingTask)).rejects.toThrow(/header|gzip|incorrect/i);
    expect(pool.warmUps.stopped).toBe(1);
    const used = pool.threads[0].threadId;
    // Recycled after 200 ms idle: the fresh thread warms up in its turn, to the end, and is kept.
    await waitFor(() => pool?.warmUps.started === 2, 10_000);
    await pool.warmedUp();
    expect(pool.threads).toHaveLength(1);
    expect(pool.threads[0].threadId).not.toBe(used);
    const warmed = pool.threads[0].threadId;
    await sleep(400);
    // The warm-up is not a task: the warmed thread is not recycled for it.
    expect(pool.threads[0].threadId).toBe(warmed);
    expect(pool.warmUps).toMatchObject({ started: 2, stopped: 1 });
  }, 60_000);

  it('recycleAll ends the used threads of every open pool now, not after their idle time', async () => {
    pool = createWorkerPool(1, { recycleAfterIdleMs: 60_000 });
    await expect(pool.run(failingTask)).rejects.toThrow();
    expect(pool.threads).toHaveLength(1);
    await RecyclingPool.recycleAll();
    expect(pool.threads).toHaveLength(0);
  });

  it('a task that arrives while the threads exit waits for them and runs on a new thread', async () => {
    pool = createWorkerPool(1, { recycleAfterIdleMs: 60_000 });
    await expect(pool.run(failingTask)).rejects.toThrow();
    const recycled = pool.recycle();
    // The task's own error (bad gzip), not piscina's "worker exited" or a terminated thread.
    await expect(pool.run(failingTask)).rejects.toThrow(/header|gzip|incorrect/i);
    await recycled;
  });
});

describe.skipIf(process.platform !== 'linux')('thread priority', () => {
  it("a training pool's new thread runs below the event loop's priority from its start, an upload thread does not", async () => {
    // Read on the main thread's `worker` event (after the pool's own listener): the OS thread exists, but its
    // bootstrap (tens of ms) has not reached worker.ts's own lowerThisThreadPriority().
    let known = new Set(fs.readdirSync('/proc/self/task'));
    const started: number[][] = [];
    const onWorker = () => {
      const now = fs.readdirSync('/proc/self/task');
      started.push(now.filter((tid) => !known.has(tid)).map((tid) => os.getPriority(Number(tid))));
      known = new Set(now);
    };
    process.on('worker', onWorker);
    try {
      pool = createWorkerPool(1, { warm: true });
      await waitFor(() => started.length === 1, 5000);
      const upload = createWorkerPool(1, { warm: true, filename: UPLOAD_WORKER_FILE });
      await waitFor(() => started.length === 2, 5000);
      await upload.destroy();
    } finally {
      process.off('worker', onWorker);
    }
    expect(started[0].length).toBeGreaterThan(0);
    expect(started[0].every((niceness) => niceness === 10)).toBe(true);
    expect(started[1]).toEqual([0]);
  });
});

describe('errors across the worker boundary', () => {
  it('an AppError thrown in a worker reaches the caller as an AppError with its code and field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'worker-error-'));
    try {
      const file = path.join(dir, 'binary.csv');
      writeFileSync(file, Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x00, 0x01, 0x02]));
      pool = createWorkerPool(1, { recycleAfterIdleMs: Infinity });
      const { port1, port2 } = new MessageChannel();
      port2.unref();
      const task: TrainTask = {
        kind: 'train',
        location: { kind: 'upload', path: file, labelColumn: 'label' },
        config: {
          modelType: 'decision_tree',
          hyperparameters: {},
          features: null,
          useVettingFeatures: false,
          task: 'THREE_CLASS',
          split: DEFAULT_SPLIT_SIZES,
          seed: 1,
        },
        threads: 1,
        port: port1,
      };
      const error: unknown = await pool.run(task, { transferList: [port1] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', field: 'file' });
      // An unexpected error stays a plain Error (masked at the edge).
      const plain: unknown = await pool.run(failingTask).catch((e: unknown) => e);
      expect(plain).toBeInstanceOf(Error);
      expect(plain).not.toBeInstanceOf(AppError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Feeds `file` to the upload thread as an upload arriving in two parts would be (src/services/upload-feed.ts). */
async function summarizeFed(file: string) {
  const feed = new UploadFeed(file, undefined, 60_000);
  const bytes = readFileSync(file);
  const half = Math.floor(bytes.byteLength / 2);
  await feed.write(bytes.subarray(0, half));
  await feed.write(bytes.subarray(half));
  feed.end();
  return feed.summary;
}

describe('the upload thread', () => {
  afterEach(async () => {
    await closeUploadWorker();
  });

  it('summarises an upload off the event loop, and refuses a bad one with the AppError, code and field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'upload-worker-'));
    try {
      const good = path.join(dir, 'good.csv');
      writeFileSync(good, 'a,b,label\n1,2,x\n3,,y\n5,6,x\n');
      const summary = await summarizeFed(good);
      expect(summary).toMatchObject({ mission: null, labelColumn: 'label', rowCount: 3 });
      expect(summary.details.classCounts).toEqual([
        { label: 'x', count: 2 },
        { label: 'y', count: 1 },
      ]);
      const ragged = path.join(dir, 'ragged.csv');
      writeFileSync(ragged, 'a,b,label\n1,2,x\n3,y\n');
      const error: unknown = await summarizeFed(ragged).catch((e: unknown) => e);
      if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
      expect([error.code, error.field]).toEqual(['BAD_USER_INPUT', 'file']);
      expect(error.message).toMatch(/Data row 2 has 2 fields/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers with the bytes as the database stores them: gzip and sha256 of exactly what it was fed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'upload-worker-'));
    try {
      // ~2.6 MB: three of the feed's 1 MB slices, the last one partial.
      const lines = ['a,b,label'];
      for (let i = 0; i < 120_000; i++) lines.push(`${i},${(i * 7) % 1000},${i % 3 === 0 ? 'x' : 'y'}`);
      const file = path.join(dir, 'three-slices.csv');
      writeFileSync(file, lines.join('\n') + '\n');
      const bytes = readFileSync(file);
      const feed = new UploadFeed(file, undefined, 60_000);
      for (let at = 0; at < bytes.byteLength; at += 65_536) await feed.write(bytes.subarray(at, at + 65_536));
      feed.end();
      expect((await feed.summary).rowCount).toBe(120_000);
      const copy = await feed.copy;
      expect(copy.bytes).toBe(bytes.byteLength);
      expect(copy.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(gunzipSync(copy.gzip).equals(bytes)).toBe(true);
      // Shared with the event loop (and SQLite's writer thread), not copied to it.
      expect(copy.gzip.buffer).toBeInstanceOf(SharedArrayBuffer);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a thread that warms up (UPLOAD_WARM_UP) and then takes the upload, answering as a new thread does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'upload-worker-'));
    try {
      const good = path.join(dir, 'good.csv');
      writeFileSync(good, 'a,b,label\n1,2,x\n3,,y\n5,6,x\n');
      const fresh = await summarizeFed(good);
      await closeUploadWorker();
      const before = RecyclingPool.liveThreadIds();
      keepUploadThread(60_000);
      await RecyclingPool.allWarmedUp();
      const kept = RecyclingPool.liveThreadIds().filter((id) => !before.includes(id));
      expect(kept).toHaveLength(1);
      expect(await summarizeFed(good)).toEqual(fresh);
      // The upload ran on the kept, warmed thread: no other was started for it.
      expect(RecyclingPool.liveThreadIds().filter((id) => !before.includes(id))).toEqual(kept);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
