/**
 * Migration 0007 (SQLite): runs stored before it kept their held-out predictions in details.heldOut; the migration
 * moves them to test_predictions and leaves the rest of details as it was. Applied here to a database at 0006 that
 * holds such a run, statement by statement, as drizzle's migrator runs them. Migration 0008 adds the binary proba
 * column: the rows moved keep their probabilities in their JSON (proba null) and read back the same.
 */
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHeldOut } from '../../src/services/training/held-out.js';

const MIGRATIONS = join(import.meta.dirname, '../../src/db/migrations');

function apply(db: Database.Database, file: string): void {
  for (const statement of readFileSync(join(MIGRATIONS, file), 'utf8').split('--> statement-breakpoint'))
    if (statement.trim()) db.exec(statement);
}

describe('migration 0007_test_predictions', () => {
  it('moves details.heldOut of existing runs to test_predictions, keeping the rest of details', () => {
    const files = readdirSync(MIGRATIONS)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const target = files.findIndex((f) => f.startsWith('0007_'));
    expect(target).toBeGreaterThan(0);
    const db = new Database(':memory:');
    for (const file of files.slice(0, target)) apply(db, file);

    const heldOut = {
      rowIds: ['a', 'b', 'c'],
      groups: null,
      labels: [0, 1, 0],
      proba: [0.9, 0.1, 0.2, 0.8, 0.6, 0.4],
      calibrated: false,
      classScales: [1, 1.5],
    };
    const insert = db.prepare(
      'INSERT INTO training_runs (id, session_id, seq, status, stage, progress, step, total_steps, config, dataset_id, model_type, metrics, details, created_at) ' +
        "VALUES (?, 's', ?, 'SUCCEEDED', 'DONE', 1, 1, 1, '{}', 'kepler', 'logistic_regression', ?, ?, 0)",
    );
    db.pragma('foreign_keys = OFF');
    insert.run('old', 1, JSON.stringify({ classes: ['X', 'Y'] }), JSON.stringify({ warnings: ['w'], heldOut }));
    insert.run('none', 2, null, JSON.stringify({ warnings: [] }));
    insert.run('empty', 3, null, null);

    apply(db, files[target]);

    const moved = db.prepare('SELECT run_id, row_count, predictions FROM test_predictions').all() as {
      run_id: string;
      row_count: number;
      predictions: string;
    }[];
    expect(moved).toHaveLength(1);
    expect(moved[0].run_id).toBe('old');
    expect(moved[0].row_count).toBe(3);
    const expected = { ...heldOut, proba: Float64Array.from(heldOut.proba) };
    expect(checkHeldOut(JSON.parse(moved[0].predictions), null, 2)).toEqual(expected);
    // Every later migration keeps the row readable as it was.
    for (const file of files.slice(target + 1)) apply(db, file);
    const after = db.prepare('SELECT predictions, proba FROM test_predictions').get() as {
      predictions: string;
      proba: Buffer | null;
    };
    expect(after.proba).toBeNull();
    expect(checkHeldOut(JSON.parse(after.predictions), after.proba, 2)).toEqual(expected);
    const details = (id: string) =>
      (db.prepare('SELECT details FROM training_runs WHERE id = ?').get(id) as { details: string | null }).details;
    expect(JSON.parse(details('old') ?? 'null')).toEqual({ warnings: ['w'] });
    expect(JSON.parse(details('none') ?? 'null')).toEqual({ warnings: [] });
    expect(details('empty')).toBeNull();
    db.close();
  });

  it('refuses malformed stored predictions as a corrupt row, naming the field', () => {
    const good = { rowIds: ['a'], groups: ['s'], labels: [1], proba: [0.3, 0.7], calibrated: true };
    expect(checkHeldOut(good, null, 2)).toEqual({ ...good, proba: Float64Array.of(0.3, 0.7) });
    expect(() => checkHeldOut({ ...good, labels: [2] }, null, 2)).toThrow(
      'The stored test_predictions.predictions is malformed (labels).',
    );
    expect(() => checkHeldOut({ ...good, proba: [0.3] }, null, 2)).toThrow(/\(proba\)/);
    expect(() => checkHeldOut({ ...good, groups: ['s', 't'] }, null, 2)).toThrow(/\(groups\)/);
    expect(() => checkHeldOut({ ...good, classScales: [1, 0] }, null, 2)).toThrow(/\(classScales\)/);
    expect(() => checkHeldOut({ ...good, calibrated: 'yes' }, null, 2)).toThrow(/\(calibrated\)/);
    expect(() => checkHeldOut([], null, 2)).toThrow(/\(the value itself\)/);
  });

  it('reads the probabilities from the proba bytes (little-endian float64s) and refuses them malformed or twice', () => {
    const described = { rowIds: ['a'], groups: null, labels: [1], calibrated: false };
    // 0.3, 0.7 as little-endian float64s, written byte by byte: the stored order, whatever the machine's.
    const bytes = Buffer.alloc(16);
    bytes.writeDoubleLE(0.3, 0);
    bytes.writeDoubleLE(0.7, 8);
    // A Buffer at an odd offset, as a database driver may hand one.
    const unaligned = Buffer.concat([Buffer.of(9), bytes]).subarray(1);
    expect(checkHeldOut(described, unaligned, 2)).toEqual({ ...described, proba: Float64Array.of(0.3, 0.7) });
    expect(() => checkHeldOut(described, bytes.subarray(0, 8), 2)).toThrow(/\(proba\)/);
    expect(() => checkHeldOut(described, bytes.subarray(0, 12), 2)).toThrow(/\(proba\)/);
    expect(() => checkHeldOut({ ...described, proba: [0.3, 0.7] }, bytes, 2)).toThrow(/\(proba\)/);
    expect(() => checkHeldOut(described, null, 2)).toThrow(/\(proba\)/);
  });
});
