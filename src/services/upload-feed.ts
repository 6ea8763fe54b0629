/**
 * The event loop's end of an upload fed to the upload thread while it arrives (src/ml/data/port-chunks.ts): chunks
 * are gathered into slices of SLICE_BYTES (the request's ~64 KB reads would cost a message each), copied once into
 * a buffer of their own and transferred. The thread gives each slice back once it has parsed and compressed it, and
 * later bytes fill it again (a fresh 1 MB buffer per slice cost an mmap and its page faults each). At most
 * WINDOW_BYTES may be in the thread's hands: beyond that `write` waits for a slice to come back, which pauses the
 * request (its reader pulls no more). So a thread that falls behind holds the file's memory to the window, and past
 * the window every slice is one given back. The thread's answer is `summary`, with `copy`, the bytes as the database
 * stores them (compressed and hashed in the thread too: src/ml/data/upload-copy.ts).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { isFeedFirstParsed, isFeedReturn, type FeedMessage } from '../ml/data/port-chunks.js';
import type { UploadCopy } from '../ml/data/upload-copy.js';
import type { UploadSummary } from '../ml/data/upload-summary.js';
import { summarizeUploadStreamInWorker } from './worker-pool.js';

const SLICE_BYTES = 1 << 20;
const WINDOW_BYTES = 8 << 20;
/** Slices the thread gave back, kept for the next bytes (the window's worth: more would only wait unused). */
const SPARE_SLICES = WINDOW_BYTES / SLICE_BYTES;

export class UploadFeed {
  readonly summary: Promise<UploadSummary>;
  /** Settles with `summary`; read only after it (a failed upload's rejection is handled here). */
  readonly copy: Promise<UploadCopy>;
  /** performance.now() when the thread had parsed its first slice (null before). */
  firstParsedAt: number | null = null;
  /** Slices filled again after the thread gave them back (the log's `reusedSlices`). */
  reusedSlices = 0;
  private readonly port: MessagePort;
  private slice = new Uint8Array(SLICE_BYTES);
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  private filled = 0;
  /** Bytes sent that the thread has not given back yet. */
  private held = 0;
  private waiting: (() => void) | null = null;
  private settled = false;

  /** Starts the thread's task: it parses what `write` sends, and labels a NASA format from `path` after `end`. */
  constructor(path: string, labelColumn: string | undefined, idleMs: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.on('message', (message: unknown) => {
      if (isFeedFirstParsed(message)) this.firstParsedAt = performance.now();
      if (!isFeedReturn(message)) return;
      this.held -= message.bytes;
      const slice = message.slice;
      if (slice?.byteLength === SLICE_BYTES && this.spare.length < SPARE_SLICES) this.spare.push(slice);
      if (this.held <= WINDOW_BYTES) this.release();
    });
    const arrived = summarizeUploadStreamInWorker({ kind: 'summarizeStream', port: port2, path, labelColumn }, idleMs);
    this.summary = arrived.then((answer) => answer.summary);
    this.copy = arrived.then((answer) => answer.copy);
    this.copy.catch(() => undefined);
    // Settled either way, the thread wants no more bytes: a writer waiting for room goes on (and sends nothing).
    const close = () => {
      this.close();
    };
    void this.summary.then(close, close);
  }

  /** Sends `chunk` (copied: the caller keeps using it); resolves once the thread is within the window. */
  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength && !this.settled) {
      const take = Math.min(chunk.byteLength - at, SLICE_BYTES - this.filled);
      this.slice.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === SLICE_BYTES) this.flush();
    }
    while (!this.settled && this.held > WINDOW_BYTES) await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  /** The last bytes and the end: call once `path` holds the whole file. */
  end(): void {
    this.flush();
    this.post({ type: 'end' });
  }

  /** The upload failed on this side: the thread stops and reports nothing (the caller ignores `summary`). */
  abort(): void {
    this.post({ type: 'abort' });
    this.summary.catch(() => undefined);
  }

  private flush(): void {
    if (this.filled === 0 || this.settled) return;
    const bytes = this.filled === SLICE_BYTES ? this.slice : this.slice.slice(0, this.filled);
    this.held += bytes.byteLength;
    this.post({ type: 'chunk', bytes }, [bytes.buffer]);
    // A slice given back is overwritten whole before it is sent again (a part is sent as a copy).
    const spare = this.spare.pop();
    if (spare) this.reusedSlices++;
    this.slice = spare ?? new Uint8Array(SLICE_BYTES);
    this.filled = 0;
  }

  private post(message: FeedMessage, transfer: ArrayBuffer[] = []): void {
    if (!this.settled) this.port.postMessage(message, transfer);
  }

  private release(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }

  private close(): void {
    this.settled = true;
    this.port.close();
    this.release();
  }
}
