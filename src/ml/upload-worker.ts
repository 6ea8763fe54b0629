/**
 * Worker-thread entry for uploads (src/services/worker-pool.ts): validates and summarises an uploaded CSV,
 * streaming it. A lean entry (the CSV code only, not the models), so the thread is up in a fraction of the time
 * the training worker takes; and at normal priority, unlike training threads: a user is waiting for it, and the
 * event loop only waits for its answer.
 */
import type { MessagePort } from 'node:worker_threads';
import { toWorkerError } from '../domain/errors.js';
import { chunksFromPort, giveBack } from './data/port-chunks.js';
import { syntheticCsv } from './data/synthetic-table.js';
import { UploadCopier, type UploadCopy } from './data/upload-copy.js';
import { summarizeUploadChunks, type UploadSummary } from './data/upload-summary.js';

/** A file still arriving: its chunks come on `port` (port-chunks.ts) while `path` is written beside. */
export interface UploadWorkerTask {
  kind: 'summarizeStream';
  port: MessagePort;
  path: string;
  labelColumn?: string;
}

/** The thread's answer to an upload: its summary, and its bytes as the database stores them. */
export interface ArrivedUpload {
  summary: UploadSummary;
  copy: UploadCopy;
}

/** The kept thread's warm-up (UPLOAD_WARM_UP), sent by the pool (RecyclingPool); `stop[0]` set: a task is waiting. */
interface UploadWarmUpTask {
  kind: 'warmUp';
  stop: Int32Array;
}

/**
 * Rows the warm-up summarises (~340 KB, 0.15–0.3 s once): enough calls of the tokeniser's and the column profiles' hot
 * loops for V8 to optimise them, so an upload's first slices are not parsed by cold code (cold, a 200,000-row
 * upload's first 1 MB slice took 0.5–1.5 s against ~0.1 s).
 */
const WARM_UP_ROWS = 2_000;
/** Pieces the warm-up table comes in: the stop flag is read between them. */
const WARM_UP_PIECE_CHARS = 32 * 1024;

/** The seeded synthetic table's bytes, piece by piece, until `stop` is set. */
function* warmUpChunks(stop: Int32Array): Generator<Uint8Array> {
  const encoder = new TextEncoder();
  for (const piece of syntheticCsv(WARM_UP_ROWS, WARM_UP_PIECE_CHARS)) {
    if (Atomics.load(stop, 0) !== 0) return;
    yield encoder.encode(piece);
  }
}

/** Summarises the synthetic table through the upload code; its result is thrown away (no path: not a NASA format). */
async function warmUp(stop: Int32Array): Promise<void> {
  await summarizeUploadChunks(warmUpChunks(stop), '', 'label').catch(() => undefined);
}

/**
 * `chunks`, each handed to `copier` as it is parsed (the next one is taken once zlib is ready for it), and handed to
 * `done` once both have finished with it: parsed (the parser asked for the next chunk) and compressed.
 */
async function* copied(
  chunks: AsyncIterable<Uint8Array>,
  copier: UploadCopier,
  done: (chunk: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    let users = 2;
    const release = () => {
      if (--users === 0) done(chunk);
    };
    const ready = copier.add(chunk, release);
    yield chunk;
    release();
    await ready;
  }
}

export default async function run(task: UploadWorkerTask | UploadWarmUpTask): Promise<ArrivedUpload | null> {
  if (task.kind === 'warmUp') {
    await warmUp(task.stop);
    return null;
  }
  const copier = new UploadCopier();
  try {
    const chunks = copied(chunksFromPort(task.port), copier, (chunk) => {
      giveBack(task.port, chunk);
    });
    const summary = await summarizeUploadChunks(chunks, task.path, task.labelColumn);
    return { summary, copy: await copier.finish() };
  } catch (error) {
    copier.discard();
    // Structured clone drops an AppError's code and field: the pool's `fromWorkerError` restores them.
    throw toWorkerError(error);
  } finally {
    task.port.close();
  }
}
