/**
 * The SQLite writer thread (sqlite-writer.ts): its own connection to the database file writes the large rows (a
 * model, an upload's bytes) and checkpoints the WAL, so the event loop never waits for the disk on them.
 */
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.js';
import { sqliteTables } from './store.js';
import type { WriterReply, WriterRequest } from './sqlite-writer.js';

const port = parentPort;
if (!port) throw new Error('sqlite-writer-thread must run in a worker thread');

let sqlite: Database.Database | null = null;
let timer: NodeJS.Timeout | undefined;

/** Copies the WAL into the database file as far as readers allow; writers go on meanwhile (PASSIVE). */
function checkpoint(): void {
  try {
    sqlite?.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A busy or failed checkpoint is retried at the next write or tick; the WAL stays valid meanwhile.
  }
}

/** Structured cloning turns a Buffer into a plain Uint8Array; the blob columns bind Buffers. */
function asBuffers(row: object): object {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      value instanceof Uint8Array && !Buffer.isBuffer(value)
        ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        : value,
    ]),
  );
}

function reply(message: WriterReply): void {
  port?.postMessage(message);
}

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'open') {
    sqlite = new Database(request.path);
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${request.busyTimeoutMs}`);
    // This connection checkpoints by itself below, after its own writes and for the main connection's.
    sqlite.pragma('wal_autocheckpoint = 0');
    timer = setInterval(checkpoint, request.checkpointIntervalMs);
    return;
  }
  if (request.kind === 'close') {
    clearInterval(timer);
    sqlite?.close();
    sqlite = null;
    port.close();
    return;
  }
  const connection = sqlite;
  if (!connection) {
    reply({ id: request.id, error: { message: 'The SQLite writer thread is not open.' } });
    return;
  }
  const db = drizzle(connection, { schema });
  try {
    // One transaction: a dataset row never lands without its bytes. IMMEDIATE takes the write lock first, waiting
    // busy_timeout for another process, as a write on the main connection does.
    const changes = connection
      .transaction(() => {
        let total = 0;
        for (const write of request.writes) {
          const table: SQLiteTable = sqliteTables[write.table];
          total += db.insert(table).values(write.rows.map(asBuffers)).run().changes;
        }
        return total;
      })
      .immediate();
    reply({ id: request.id, changes });
  } catch (error) {
    const code = error instanceof Database.SqliteError ? error.code : undefined;
    reply({ id: request.id, error: { message: error instanceof Error ? error.message : String(error), code } });
  }
  checkpoint();
});
