/**
 * Held-out predictions reach the server as the training thread serialised them (heldOutForStorage): all but the
 * probabilities as the UTF-8 bytes of their JSON text, stored as that text, and the probabilities as float64s, stored
 * as little-endian bytes. They read back field by field as the same value, with non-ASCII ids and stars as with row
 * numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../src/db/client.js';
import { jsonText } from '../../src/db/store.js';
import type { HeldOutPredictions } from '../../src/domain/run.js';
import { heldOutForStorage } from '../../src/ml/pipeline.js';
import { readHeldOut, saveHeldOut } from '../../src/services/training/held-out.js';

const ascii: HeldOutPredictions = {
  rowIds: ['row 1', 'row 7', 'row 12'],
  groups: null,
  labels: [0, 1, 1],
  proba: Float64Array.of(0.1, 0.9, 0.30000000000000004, 0.7, 1e-17, 1),
  calibrated: false,
};
const unicode: HeldOutPredictions = {
  rowIds: ['Kepler-22 b', 'Gliese 581 c — ✓', 'HD 209458 b'],
  groups: ['Kepler-22', 'Gliese 581 é', 'HD 209458'],
  labels: [1, 0, 1],
  proba: Float64Array.of(0.25, 0.75, 0.5, 0.5, 0, 1),
  calibrated: true,
  classScales: [1, 1.5],
};

const withoutProba = ({ proba: _, ...described }: HeldOutPredictions) => described;

describe('saveHeldOut', () => {
  let dir: string;
  let handle: DbHandle;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'held-out-save-'));
    handle = openDatabase(path.join(dir, 'db.sqlite'));
    // No training_runs rows here: the rows stand alone.
    handle.sqlite.pragma('foreign_keys = OFF');
  });
  afterEach(() => {
    handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const stored = (runId: string) =>
    handle.sqlite.prepare('SELECT predictions, proba FROM test_predictions WHERE run_id = ?').get(runId) as {
      predictions: string;
      proba: Buffer | null;
    };
  const storedText = (runId: string) => stored(runId).predictions;

  it.each([
    ['ASCII', ascii],
    ['non-ASCII', unicode],
  ])('stores the %s JSON text as is and reads it back as the same value', async (_, heldOut) => {
    await saveHeldOut(handle.store, 'r', heldOutForStorage(heldOut));
    expect(storedText('r')).toBe(JSON.stringify(withoutProba(heldOut)));
    // The probabilities as little-endian float64s, read byte by byte.
    const proba = stored('r').proba;
    expect(proba?.byteLength).toBe(heldOut.proba.length * 8);
    expect(Array.from(heldOut.proba, (_, i) => proba?.readDoubleLE(i * 8))).toEqual(Array.from(heldOut.proba));
    expect(await readHeldOut(handle.store, 'r', 2)).toEqual(heldOut);
    // Stored again (a run trained again): replaced.
    await saveHeldOut(handle.store, 'r', heldOutForStorage(ascii));
    expect(await readHeldOut(handle.store, 'r', 2)).toEqual(ascii);
  });

  it('writes a JSON text beside a large blob on its own connection (SQL does not go to the writer thread)', async () => {
    const bytes = Buffer.alloc(512 * 1024, 7);
    await handle.store.insertAll([
      { table: 'models', values: { runId: 'm', format: 'f', bytes, sizeBytes: bytes.length, createdAt: new Date() } },
      { table: 'testPredictions', values: { runId: 'm', rowCount: 3, predictions: jsonText(JSON.stringify(unicode)) } },
    ]);
    expect(storedText('m')).toBe(JSON.stringify(unicode));
  });
});
