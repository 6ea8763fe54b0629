/**
 * A second connection to a SQLite database file, in its own thread (sqlite-writer-thread.ts), for what would hold
 * the event loop on the main connection (issues 16 and 17, goal 2): inserting a large blob (an 8 MB model waited
 * ~12 ms quietly, 200–500 ms on a loaded disk) and checkpointing the WAL (~30 ms warm, 100–150 ms on a fresh file).
 * The main connection's auto-checkpoint is off (client.ts): this thread checkpoints after each of its writes and
 * every CHECKPOINT_INTERVAL_MS, PASSIVE, so neither connection waits for the other.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { TableName } from './store.js';

/** How often the thread copies the WAL into the database file when nothing was written through it. */
const CHECKPOINT_INTERVAL_MS = 1000;

/** Rows of one table as sent to the thread (Store.insertAll's `Insert`, its row types checked by the caller). */
export interface TableRows {
  table: TableName;
  rows: readonly object[];
}

export type WriterRequest =
  | { kind: 'open'; path: string; busyTimeoutMs: number; checkpointIntervalMs: number }
  | { kind: 'close' }
  | { kind: 'insert'; id: number; writes: readonly TableRows[] };

export type WriterReply = { id: number; changes: number } | { id: number; error: { message: string; code?: string } };

interface Pending {
  resolve(changes: number): void;
  reject(error: Error): void;
}

/** Starts the thread; under tsx/vitest (TypeScript sources) it registers tsx's require hook itself. */
function spawn(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // As spawnTreeWorker (src/ml/models/trees/common.ts): `--import tsx` does not reach worker threads on Node 20.
    const tsxApi = createRequire(here).resolve('tsx/cjs/api');
    const target = fileURLToPath(new URL('./sqlite-writer-thread.ts', here));
    const code = `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(target)});`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL('./sqlite-writer-thread.js', here));
}

export class SqliteWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lost: Error | null = null;
  private closed = false;

  /**
   * `onLost` runs once if the thread dies (then the caller writes and checkpoints on its own connection again).
   */
  constructor(path: string, busyTimeoutMs: number, onLost: (error: Error) => void) {
    this.worker = spawn();
    // A thread that only waits for writes must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (message: WriterReply) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('error' in message) {
        // The main connection's error class and code, so isDatabaseBusy and isStorageFull read it alike.
        pending.reject(
          message.error.code
            ? new Database.SqliteError(message.error.message, message.error.code)
            : new Error(message.error.message),
        );
      } else pending.resolve(message.changes);
    });
    const fail = (error: Error) => {
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      if (this.lost || this.closed) return;
      this.lost = error;
      onLost(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => {
      fail(new Error('The SQLite writer thread has stopped.'));
    });
    this.post({ kind: 'open', path, busyTimeoutMs, checkpointIntervalMs: CHECKPOINT_INTERVAL_MS });
  }

  /** False once the thread has died or been closed: write on the main connection instead. */
  get alive(): boolean {
    return this.lost === null && !this.closed;
  }

  /**
   * Inserts the rows in one transaction of the thread's connection; resolves with the rows inserted once committed.
   * The rows are copied to the thread (structured clone): a few ms for tens of MB, against the write itself.
   */
  insert(writes: readonly TableRows[]): Promise<number> {
    if (!this.alive) return Promise.reject(this.lost ?? new Error('The SQLite writer thread is closed.'));
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The process stays up until the write is committed.
      this.worker.ref();
      this.post({ kind: 'insert', id, writes });
    });
  }

  /** Closes the thread's connection and lets it end (writes already sent are done first). */
  close(): void {
    if (!this.alive) return;
    this.closed = true;
    this.post({ kind: 'close' });
  }

  private post(request: WriterRequest): void {
    this.worker.postMessage(request);
  }
}
