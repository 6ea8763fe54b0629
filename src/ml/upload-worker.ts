/**
 * Worker-thread entry for uploads (src/services/worker-pool.ts): validates and summarises an uploaded CSV,
 * streaming it. A lean entry (the CSV code only, not the models), so the thread is up in a fraction of the time
 * the training worker takes; and at normal priority, unlike training threads: a user is waiting for it, and the
 * event loop only waits for its answer.
 */
import type { MessagePort } from 'node:worker_threads';
import { toWorkerError } from '../domain/errors.js';
import { chunksFromPort } from './data/port-chunks.js';
import { summarizeUpload, summarizeUploadChunks, type UploadSummary } from './data/upload-summary.js';

export type UploadWorkerTask =
  /** Starts the thread ahead of the file (the upload is still arriving); answers null. */
  | { kind: 'warm' }
  /** A file already on disk. */
  | { kind: 'summarizeUpload'; path: string; labelColumn?: string }
  /** A file still arriving: its chunks come on `port` (port-chunks.ts) while `path` is written beside. */
  | { kind: 'summarizeStream'; port: MessagePort; path: string; labelColumn?: string };

export default async function run(task: UploadWorkerTask): Promise<UploadSummary | null> {
  try {
    if (task.kind === 'warm') return null;
    if (task.kind === 'summarizeStream')
      return await summarizeUploadChunks(chunksFromPort(task.port), task.path, task.labelColumn);
    return await summarizeUpload(task.path, task.labelColumn);
  } catch (error) {
    // Structured clone drops an AppError's code and field: the pool's `fromWorkerError` restores them.
    throw toWorkerError(error);
  } finally {
    if (task.kind === 'summarizeStream') task.port.close();
  }
}
