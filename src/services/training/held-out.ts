/**
 * A run's held-out test predictions (table `test_predictions`): stored once when the run succeeds, apart from the
 * run row so that reading a run never parses them, the probabilities as float64 bytes beside the JSON of the rest,
 * and read back field by field — stored data is never cast.
 * TrainingRun.testPredictions pages them; compareRuns and decision-tuning checks read them whole.
 */
import { isAscii } from 'node:buffer';
import { eq } from 'drizzle-orm';
import { jsonText, type Store } from '../../db/store.js';
import type { HeldOutPredictions } from '../../domain/run.js';
import { plainNumbers } from '../../ml/evaluate.js';
import type { HeldOutForStorage } from '../../ml/pipeline.js';
import {
  arrayOf,
  isBoolean,
  isInteger,
  isNumbers,
  isStrings,
  malformedField,
  nullable,
  objectOf,
  optional,
  storedColumn,
} from '../../domain/json.js';

/** Most rows of one TrainingRun.testPredictions page (a row is its id, true class and one probability per class). */
export const MAX_TEST_PREDICTIONS_PAGE = 10_000;
export const DEFAULT_TEST_PREDICTIONS_PAGE = 1_000;

/** One page of a run's held-out predictions. */
export interface TestPredictionsPage {
  classes: string[];
  totalRows: number;
  offset: number;
  rowIds: string[];
  /** The true class index of each row. */
  labels: number[];
  /** rows × classes, row-major: the page's rows only. */
  proba: number[];
  calibrated: boolean;
  classScales: number[] | null;
}

/** Stores (or, for a run trained again, replaces) a run's held-out predictions. */
export async function saveHeldOut(store: Store, runId: string, heldOut: HeldOutForStorage): Promise<void> {
  const bytes = Buffer.from(heldOut.json.buffer, heldOut.json.byteOffset, heldOut.json.byteLength);
  // ASCII (row numbers) decodes as Latin-1 in a copy (~0.1 ms for 3 MB); Node's UTF-8 decoding of the same 3 MB
  // took ~16 ms. Ids or stars with other characters take the UTF-8 way.
  const text = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const { proba } = heldOut;
  const probaBytes = Buffer.from(proba.buffer, proba.byteOffset, proba.byteLength);
  await store.transaction(async (tx) => {
    await tx.delete('testPredictions', eq(tx.t.testPredictions.runId, runId));
    await tx.insert('testPredictions', {
      runId,
      rowCount: heldOut.rows,
      predictions: jsonText(text),
      proba: probaBytes,
    });
  });
}

/** The run's held-out predictions, checked against its class count; null when it has none (trained before 0.7). */
export async function readHeldOut(store: Store, runId: string, classCount: number): Promise<HeldOutPredictions | null> {
  const row = await store.first('testPredictions', {
    columns: ['predictions', 'proba'],
    where: eq(store.t.testPredictions.runId, runId),
  });
  return row ? checkHeldOut(row.predictions, row.proba, classCount) : null;
}

/**
 * Stored float64 bytes as a Float64Array of its own (a Buffer read from the database need not be 8-byte aligned).
 * Little-endian, the machine's order, as every typed array a stored model holds (models/stored.ts StoredBytes).
 */
function float64s(bytes: Uint8Array): Float64Array {
  const out = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

const checkHeldOutFields = objectOf({
  rowIds: isStrings,
  groups: nullable(isStrings),
  labels: arrayOf(isInteger),
  // Only in rows stored before the proba column.
  proba: optional(isNumbers),
  calibrated: isBoolean,
  classScales: optional(isNumbers),
});

/**
 * Field-by-field check of stored held-out predictions (the `predictions` JSON and the `proba` bytes; null: a row
 * stored before that column, whose JSON holds them), and of their sizes against the run's class count: a malformed
 * value is a corrupt row (a server fault).
 */
export function checkHeldOut(value: unknown, probaBytes: Uint8Array | null, classCount: number): HeldOutPredictions {
  return storedColumn('test_predictions.predictions', (stored): HeldOutPredictions => {
    const { proba: probaJson, ...fields } = checkHeldOutFields(stored);
    const n = fields.rowIds.length;
    const { labels, groups, classScales } = fields;
    if (probaBytes ? probaBytes.byteLength % 8 !== 0 || probaJson !== undefined : probaJson === undefined)
      return malformedField('proba');
    const proba = probaBytes ? float64s(probaBytes) : Float64Array.from(probaJson ?? []);
    if (labels.length !== n || labels.some((y) => y < 0 || y >= classCount)) return malformedField('labels');
    if (proba.length !== n * classCount) return malformedField('proba');
    if (groups && groups.length !== n) return malformedField('groups');
    if (classScales && (classScales.length !== classCount || classScales.some((scale) => !(scale > 0))))
      return malformedField('classScales');
    return { ...fields, proba };
  })(value);
}

/** Rows offset … offset + limit − 1 of the held-out predictions (limit clamped to 0 … MAX_TEST_PREDICTIONS_PAGE). */
export function testPredictionsPage(
  heldOut: HeldOutPredictions,
  classes: string[],
  offset: number,
  limit: number,
): TestPredictionsPage {
  const totalRows = heldOut.rowIds.length;
  const start = Math.min(Math.max(0, offset), totalRows);
  const end = Math.min(start + Math.min(Math.max(0, limit), MAX_TEST_PREDICTIONS_PAGE), totalRows);
  const k = classes.length;
  return {
    classes,
    totalRows,
    offset: start,
    rowIds: heldOut.rowIds.slice(start, end),
    labels: heldOut.labels.slice(start, end),
    proba: plainNumbers(heldOut.proba.subarray(start * k, end * k)),
    calibrated: heldOut.calibrated,
    classScales: heldOut.classScales ?? null,
  };
}
