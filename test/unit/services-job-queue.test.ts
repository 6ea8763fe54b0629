/**
 * The in-memory job queue behind `JobQueue`: FIFO, bounded concurrency, positions, removal, abort and close.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryJobQueue } from '../../src/services/job-queue.js';

/** An executor whose jobs end when the test says so (or when aborted). */
function controllableExecutor() {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const aborted: string[] = [];
  const execute = (runId: string, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      started.push(runId);
      finishers.set(runId, resolve);
      signal.addEventListener('abort', () => {
        aborted.push(runId);
        reject(new Error('aborted'));
      });
    });
  const finish = async (runId: string) => {
    finishers.get(runId)?.();
    // The queue moves on in the job's `finally`.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { started, aborted, execute, finish };
}

describe('in-memory job queue', () => {
  it('runs jobs first in, first out, at most `concurrency` at once', async () => {
    const jobs = controllableExecutor();
    const queue = new InMemoryJobQueue(1, jobs.execute);
    await queue.enqueue('a');
    await queue.enqueue('b');
    await queue.enqueue('c');
    await queue.enqueue('b');
    expect(jobs.started).toEqual(['a']);
    expect(await queue.counts()).toEqual({ queued: 2, running: 1 });
    expect(await Promise.all([queue.position('a'), queue.position('b'), queue.position('c')])).toEqual([null, 1, 2]);
    expect(await queue.isRunning('a')).toBe(true);

    expect(await queue.remove('b')).toBe(true);
    expect(await queue.remove('a')).toBe(false);
    expect(await queue.position('c')).toBe(1);
    await jobs.finish('a');
    expect(jobs.started).toEqual(['a', 'c']);
    await jobs.finish('c');
    expect(await queue.counts()).toEqual({ queued: 0, running: 0 });
  });

  it('aborts a running job, keeps going after a failure, and on close aborts the rest and takes no more', async () => {
    const jobs = controllableExecutor();
    const queue = new InMemoryJobQueue(2, jobs.execute);
    for (const id of ['a', 'b', 'c']) await queue.enqueue(id);
    expect(await queue.abort('a')).toBe(true);
    expect(await queue.abort('c')).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(jobs.started).toEqual(['a', 'b', 'c']);

    await queue.close();
    expect(jobs.aborted.sort()).toEqual(['a', 'b', 'c']);
    await queue.enqueue('d');
    expect(jobs.started).not.toContain('d');
    expect(await queue.counts()).toEqual({ queued: 0, running: 0 });
  });
});
