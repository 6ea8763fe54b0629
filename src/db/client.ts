/**
 * SQLite through better-sqlite3 + drizzle: WAL mode, foreign keys on, committed migrations applied at start-up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';
import { lockDatabase } from './lock.js';
import { ConfigError } from '../config.js';
import { SqliteStore } from './store-sqlite.js';
import { SqliteWriter } from './sqlite-writer.js';
import type { StoreHandle } from './store.js';

/** A file-system failure at start-up, named by the variable that chose the path. */
export function pathError(variable: string, target: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code) return error;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'a parent folder does not exist and cannot be made',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a part of the path is a file, not a folder',
    EROFS: 'the file system is read-only',
    ENOSPC: 'the disk is full',
    EISDIR: 'it is a folder, not a file',
    SQLITE_CANTOPEN: 'SQLite cannot open it',
    SQLITE_NOTADB: 'the file is not an SQLite database',
    SQLITE_CORRUPT: 'the database file is corrupt',
  };
  return new ConfigError(
    variable,
    `cannot use ${target}: ${reasons[code] ?? code}. Choose another path (${variable}=...).`,
  );
}

export type Db = BetterSQLite3Database<typeof schema>;

export interface DbHandle {
  db: Db;
  sqlite: Database.Database;
  /** The services' view of the database. */
  store: SqliteStore;
  close(): void;
}

const BUSY_TIMEOUT_MS = 100;
/** SQLite's default: the main connection checkpoints by itself only while there is no writer thread. */
const AUTO_CHECKPOINT_PAGES = 1000;

const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export function openDatabase(databasePath: string): DbHandle {
  const inMemory = databasePath === ':memory:';
  let unlock = (): void => {
    // Nothing to release until the lock is taken.
  };
  let sqlite: Database.Database;
  try {
    if (!inMemory) {
      fs.mkdirSync(path.dirname(databasePath), { recursive: true });
      unlock = lockDatabase(databasePath);
    }
    sqlite = new Database(databasePath);
    sqlite.pragma('journal_mode = WAL');
  } catch (error) {
    unlock();
    if (error instanceof ConfigError) throw error;
    throw pathError('DATABASE_PATH', databasePath, error);
  }
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Waiting for a lock blocks the event loop (better-sqlite3 is synchronous): wait briefly, then answer 503.
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const db = drizzle(sqlite, { schema });
  try {
    migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (error) {
    sqlite.close();
    unlock();
    throw error;
  }
  // A file database gets a writer thread for large rows and checkpoints; this connection never checkpoints then
  // (a checkpoint copies every page written since the last: tens of ms after a big model, on the event loop).
  const writer = inMemory
    ? null
    : new SqliteWriter(databasePath, BUSY_TIMEOUT_MS, () => {
        if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      });
  if (writer) sqlite.pragma('wal_autocheckpoint = 0');
  return {
    db,
    sqlite,
    store: new SqliteStore(db, sqlite, writer),
    close: () => {
      writer?.close();
      if (sqlite.open) sqlite.close();
      unlock();
    },
  };
}

/** The SQLite database at `databasePath` as a StoreHandle (what openStore gives without DATABASE_URL). */
export function openSqliteStore(databasePath: string): StoreHandle {
  const handle = openDatabase(databasePath);
  return {
    store: handle.store,
    ping: () => {
      handle.sqlite.prepare('select 1').get();
      return Promise.resolve();
    },
    close: () => {
      handle.close();
      return Promise.resolve();
    },
  };
}
