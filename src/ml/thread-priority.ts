/**
 * Training threads yield the CPU to the server's main thread: on a 2-core machine they otherwise compete with the
 * event loop that answers queries and delivers progress events (measured by bench:live: lag and loop delay drop
 * several-fold at 1,000 subscribers). Linux only; elsewhere this does nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';

const BACKGROUND_NICENESS = 10;

export function lowerThisThreadPriority(): void {
  // Never the main thread: its tid is the process id, and the event loop must keep its priority.
  if (isMainThread || process.platform !== 'linux') return;
  try {
    // /proc/thread-self → "<pid>/task/<tid>": setpriority on a tid changes that thread alone.
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.max(os.getPriority(tid), BACKGROUND_NICENESS));
  } catch {
    // Not permitted or not available: training still runs, at normal priority.
  }
}
