/**
 * Training threads yield the CPU to the server's main thread: on a 2-core machine they otherwise compete with the
 * event loop that answers queries and delivers progress events (measured by bench:live: lag and loop delay drop
 * several-fold at 1,000 subscribers). Linux only; elsewhere this does nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';

const BACKGROUND_NICENESS = 10;
/** Threads shared by the event loop and training (lowerSharedThreadsPriority). */
const SHARED_NICENESS = 5;

/** setpriority on a thread id changes that thread alone; never raises it. */
function lowerPriority(tid: number, niceness: number): void {
  try {
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.max(os.getPriority(tid), niceness));
  } catch {
    // Not permitted, not available, or the thread has ended: it runs at normal priority.
  }
}

export function lowerThisThreadPriority(): void {
  // Never the main thread: its tid is the process id, and the event loop must keep its priority.
  if (isMainThread || process.platform !== 'linux') return;
  try {
    // /proc/thread-self → "<pid>/task/<tid>".
    lowerPriority(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()), BACKGROUND_NICENESS);
  } catch {
    // Not available: training still runs, at normal priority.
  }
}

function threadIds(): Set<string> {
  try {
    return isMainThread && process.platform === 'linux' ? new Set(fs.readdirSync('/proc/self/task')) : new Set();
  } catch {
    return new Set();
  }
}

let seenThreads = threadIds();
/**
 * The threads other than the main one that exist when this module loads, before the app starts any Worker: V8's
 * platform threads, Node's delayed-task scheduler, and libuv's pool if it has started (under `--import tsx` it has:
 * bench:live sees 4 more threads there; 7–11 ms of CPU each in a run's first 2 s). Node 20 names none of them.
 */
const startupThreads = [...seenThreads].filter((tid) => Number(tid) !== process.pid);

/** The thread ids of this process that appeared since the previous call (Linux, main thread; none elsewhere). */
export function threadsStartedSinceLastCall(): number[] {
  const now = threadIds();
  const started = [...now].filter((tid) => !seenThreads.has(tid)).map(Number);
  seenThreads = now;
  return started;
}

/**
 * From the main thread, for a Worker it has just started (its `process.on('worker')` event: the OS thread exists, its
 * bootstrap has barely begun): that thread's own lowerThisThreadPriority() runs only after Node's worker bootstrap,
 * tsx and its imports — 0.1–0.3 s of CPU at the event loop's priority each time a pool starts a thread, e.g. at the
 * start of the run after a cancelled one (bench:live, the run's first second). The threads it starts inherit this.
 */
export function lowerThreadsPriority(tids: readonly number[]): void {
  for (const tid of tids) if (tid !== process.pid) lowerPriority(tid, BACKGROUND_NICENESS);
  lowerSharedThreadsPriority();
}

/**
 * V8's platform threads run concurrent optimising compilation and GC for every isolate: a training run's new isolates
 * (forest helpers, a new training thread) compile their hot code there, ~1 s of CPU in a run's first 2 s at nice 0,
 * while the event loop waited for a CPU 20–50 ms of every 100 ms (bench:live, 1,000 subscribers, perf: ~65 % of those
 * threads' samples in TurboFan). They serve the event loop too (as does libuv's pool, lowered with them when it
 * started first), so they go between the two, not down with training.
 */
function lowerSharedThreadsPriority(): void {
  for (const tid of startupThreads) lowerPriority(Number(tid), SHARED_NICENESS);
}
