import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { lowerThreadsPriority } from '../../src/ml/thread-priority.js';

const niceness = (tid: string) => os.getPriority(Number(tid));

const workers: Worker[] = [];
/** A Worker that stays alive, and the thread ids that appeared while it started. */
async function startWorker(): Promise<string[]> {
  const before = new Set(fs.readdirSync('/proc/self/task'));
  const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
  workers.push(worker);
  await new Promise((resolve) => worker.once('online', resolve));
  return fs.readdirSync('/proc/self/task').filter((tid) => !before.has(tid));
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
});

describe.skipIf(process.platform !== 'linux')('lowerThreadsPriority', () => {
  it("lowers the given threads to 10 and V8's platform threads to 5, not the main thread or another Worker", async () => {
    const other = await startWorker();
    const training = await startWorker();
    lowerThreadsPriority(training.map(Number));
    expect(training.map(niceness)).toEqual(training.map(() => 10));
    expect(niceness(String(process.pid))).toBe(0);
    expect(other.map(niceness)).toEqual(other.map(() => 0));
    // Node's platform starts 4 V8 worker threads (--v8-pool-size) before any JavaScript runs.
    expect(fs.readdirSync('/proc/self/task').filter((tid) => niceness(tid) === 5).length).toBeGreaterThanOrEqual(4);
  });
});
