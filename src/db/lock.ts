/**
 * One server per SQLite file. A second server on the same DATABASE_PATH would run its restart recovery over the
 * first one's live runs and both would write the same progress rows; so the first to start holds
 * `<database>.lock` (its pid and host), and a later one is refused with a message naming both. A lock left by a
 * process that is gone (kill -9, a crash) is taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import { ConfigError } from '../config.js';

/** Another live server holds the database file (a ConfigError: main prints it alone, without a stack). */
export class DatabaseInUseError extends ConfigError {
  constructor(message: string) {
    super('DATABASE_PATH', message);
  }
}

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

function readOwner(lockPath: string): LockOwner | null {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
    if (
      parsed &&
      typeof parsed === 'object' &&
      'pid' in parsed &&
      'host' in parsed &&
      typeof parsed.pid === 'number' &&
      typeof parsed.host === 'string'
    ) {
      return {
        pid: parsed.pid,
        host: parsed.host,
        startedAt: 'startedAt' in parsed && typeof parsed.startedAt === 'string' ? parsed.startedAt : '',
      };
    }
  } catch {
    // unreadable or half-written: treated as stale
  }
  return null;
}

/** Takes the lock of `databasePath`; returns its release function. Throws DatabaseInUseError when a live server holds it. */
export function lockDatabase(databasePath: string): () => void {
  const lockPath = `${databasePath}.lock`;
  const mine: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(mine), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOwner(lockPath)?.pid === mine.pid) fs.rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(lockPath);
    // Another host's pid cannot be checked from here: a shared file system needs PostgreSQL instead (DATABASE_URL).
    if (owner && (owner.host !== mine.host || isAlive(owner.pid))) {
      const who = owner.pid === process.pid ? 'this process' : `process ${owner.pid} on ${owner.host}`;
      throw new DatabaseInUseError(
        `${databasePath} is already used by another Exoplanet Playground server (${who}, since ${owner.startedAt || 'an unknown time'}). ` +
          `Stop that server, or give this one its own database file: DATABASE_PATH=data/other.db npm start. ` +
          `(If no such server runs, delete ${lockPath}.)`,
      );
    }
    fs.rmSync(lockPath, { force: true }); // stale: its process is gone
  }
  throw new DatabaseInUseError(
    `Could not take the lock ${lockPath}: another server is starting on the same DATABASE_PATH.`,
  );
}
