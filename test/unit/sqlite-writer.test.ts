/**
 * Large rows on SQLite are written by the writer thread's connection, and the WAL is checkpointed there (issues 16
 * and 17, goal 2): the main connection neither inserts the blob nor checkpoints, a row and its bytes land together or
 * not at all, and another process's lock reads as "busy" as on the main connection.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type DbHandle } from '../../src/db/client.js';
import { isDatabaseBusy } from '../../src/db/errors.js';
import type { Insert, NewRow } from '../../src/db/store.js';

const MB = 1 << 20;

function datasetRow(id: string, createdAt = new Date()): NewRow<'datasets'> {
  return {
    id,
    name: id,
    fileName: `${id}.csv`,
    labelColumn: 'label',
    rowCount: 1,
    sizeBytes: 1,
    checksum: 'c',
    createdAt,
  };
}

function upload(id: string, bytes: Buffer): Insert[] {
  const createdAt = new Date();
  return [
    { table: 'datasets', values: datasetRow(id, createdAt) },
    { table: 'datasetFiles', values: { datasetId: id, bytes, sizeBytes: 1, checksum: 'c', createdAt } },
  ];
}

describe('the SQLite writer thread', () => {
  let dir: string;
  let file: string;
  let handle: DbHandle;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-writer-'));
    file = path.join(dir, 'test.db');
    handle = openDatabase(file);
  });
  afterEach(() => {
    handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores a large row and its bytes without the main connection inserting or checkpointing', async () => {
    // Every statement drizzle runs on the main connection is prepared through it.
    const prepare = vi.spyOn(handle.sqlite, 'prepare');
    const bytes = randomBytes(8 * MB);
    await expect(handle.store.insertAll(upload('big', bytes))).resolves.toBe(2);
    const mainStatements = prepare.mock.calls.map(([statement]) => statement);
    expect(mainStatements.filter((statement) => /^insert/i.test(statement))).toEqual([]);
    expect(handle.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    const { datasetFiles } = handle.store.t;
    const stored = await handle.store.first('datasetFiles', { where: eq(datasetFiles.datasetId, 'big') });
    expect(stored?.bytes.equals(bytes)).toBe(true);
    expect(await handle.store.count('datasets')).toBe(1);
    // The thread copies the WAL into the database file (the main connection would do it no more).
    await vi.waitFor(
      () => {
        expect(fs.statSync(file).size).toBeGreaterThan(8 * MB);
      },
      { timeout: 10_000 },
    );
  });

  it('writes small rows on the main connection, in one transaction', async () => {
    const prepare = vi.spyOn(handle.sqlite, 'prepare');
    await expect(handle.store.insertAll(upload('small', randomBytes(1000)))).resolves.toBe(2);
    expect(prepare.mock.calls.filter(([statement]) => /^insert/i.test(statement))).toHaveLength(2);
  });

  it('leaves no row behind when a later insert of the same write fails', async () => {
    await handle.store.insertAll(upload('taken', randomBytes(1000)));
    // The dataset is new but its bytes collide with the stored ones' key: the new row must be rolled back too.
    const [dataset] = upload('fresh', randomBytes(1000));
    const [, bytes] = upload('taken', randomBytes(2 * MB));
    await expect(handle.store.insertAll([dataset, bytes])).rejects.toThrow(/UNIQUE|PRIMARY KEY/);
    expect(await handle.store.count('datasets')).toBe(1);
  });

  it('answers "busy" while another process holds the write lock, and writes once it is gone', async () => {
    const outsider = new Database(file);
    try {
      outsider.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      const refused = await handle.store
        .insertAll(upload('locked', randomBytes(2 * MB)))
        .catch((error: unknown) => error);
      expect(isDatabaseBusy(refused)).toBe(true);
      expect(performance.now() - started).toBeLessThan(5000);
      outsider.exec('ROLLBACK');
      await expect(handle.store.insertAll(upload('locked', randomBytes(2 * MB)))).resolves.toBe(2);
    } finally {
      if (outsider.inTransaction) outsider.exec('ROLLBACK');
      outsider.close();
    }
  });

  it('takes turns with transactions of the main connection, whichever starts first', async () => {
    await handle.store.insertAll(upload('warm', randomBytes(MB))); // the thread is up
    // A transaction holding the write lock across an await: the large write waits for it instead of failing busy.
    const slow = handle.store.transaction(async (tx) => {
      await tx.insert('datasets', datasetRow('slow'));
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    const big = handle.store.insertAll(upload('big', randomBytes(4 * MB)));
    // And a transaction asked for while the large write runs waits for it.
    const after = handle.store.insertAll(upload('after', randomBytes(100)));
    await Promise.all([slow, big, after]);
    expect(await handle.store.count('datasets')).toBe(4);
    expect(await handle.store.count('datasetFiles')).toBe(3);
  });
});
