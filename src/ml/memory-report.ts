/**
 * A debug hook for memory benchmarks and tests (bench:scale --memory-report): with MEMORY_REPORT=1 in the
 * environment, a worker thread posts its own heap figures and cache sizes on a process-wide BroadcastChannel after
 * each task (Node 20 has no Worker.getHeapStatistics). Pushed, not asked for: an idle piscina thread blocks in
 * Atomics.wait and reads no messages. Nothing is sent otherwise.
 */
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import v8 from 'node:v8';

export const MEMORY_REPORT_CHANNEL = 'exoplanet:memory-report';

export interface ThreadMemory {
  threadId: number;
  /** What the thread runs (its entry). */
  role: string;
  /** This thread's isolate: V8 heap used/total, external and array-buffer bytes it accounts for. */
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** V8's own malloc'd memory (outside the heap). */
  mallocedMemory: number;
  /** Named byte-bounded caches of the thread: entries and estimated bytes. */
  caches: Record<string, { entries: number; bytes: number; maxBytes: number }>;
}

type CacheStatsSource = () => { entries: number; bytes: number; maxBytes: number };

/** A function that posts this thread's figures (workers only, with MEMORY_REPORT=1; a no-op otherwise). */
export function memoryReporter(role: string, caches: Record<string, CacheStatsSource>): () => void {
  if (isMainThread || process.env.MEMORY_REPORT !== '1') return () => undefined;
  const channel = new BroadcastChannel(MEMORY_REPORT_CHANNEL);
  channel.unref();
  return () => {
    const usage = process.memoryUsage();
    const report: ThreadMemory = {
      threadId,
      role,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      mallocedMemory: v8.getHeapStatistics().malloced_memory,
      caches: Object.fromEntries(Object.entries(caches).map(([name, stats]) => [name, stats()])),
    };
    channel.postMessage(report);
  };
}

/** The latest report of each thread, kept as they arrive (the bench's and tests' side); `close` stops listening. */
export function watchThreadMemory(): { latest: Map<number, ThreadMemory>; close: () => void } {
  const channel = new BroadcastChannel(MEMORY_REPORT_CHANNEL);
  channel.unref();
  const latest = new Map<number, ThreadMemory>();
  channel.onmessage = (event) => {
    const data: unknown = event.data;
    if (typeof data === 'object' && data !== null && 'threadId' in data && typeof data.threadId === 'number') {
      latest.set(data.threadId, data as ThreadMemory);
    }
  };
  return {
    latest,
    close: () => {
      channel.close();
    },
  };
}
