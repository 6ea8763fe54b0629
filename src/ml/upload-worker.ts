/**
 * Worker-thread entry for uploads (src/services/worker-pool.ts): validates and summarises an uploaded CSV,
 * streaming it. A lean entry (the CSV code only, not the models), so the thread is up in a fraction of the time
 * the training worker takes; and at normal priority, unlike training threads: a user is waiting for it, and the
 * event loop only waits for its answer.
 */
import type { MessagePort } from 'node:worker_threads';
import { toWorkerError } from '../domain/errors.js';
import { chunksFromPort } from './data/port-chunks.js';
import { summarizeUploadChunks, type UploadSummary } from './data/upload-summary.js';

/** A file still arriving: its chunks come on `port` (port-chunks.ts) while `path` is written beside. */
export interface UploadWorkerTask {
  kind: 'summarizeStream';
  port: MessagePort;
  path: string;
  labelColumn?: string;
}

export default async function run(task: UploadWorkerTask): Promise<UploadSummary> {
  try {
    return await summarizeUploadChunks(chunksFromPort(task.port), task.path, task.labelColumn);
  } catch (error) {
    // Structured clone drops an AppError's code and field: the pool's `fromWorkerError` restores them.
    throw toWorkerError(error);
  } finally {
    task.port.close();
  }
}
