/**
 * Writing a batch of predictions (a `predictions` row and its `prediction_rows`): what a run's out-of-fold
 * predictions are stored as, readable paged like any batch (PredictionBatch.rows).
 */
import { asc, eq } from 'drizzle-orm';
import type { PredictionRow } from '../db/schema.js';
import type { NewRow, Store } from '../db/store.js';
import type { PredictionSummary } from '../domain/prediction.js';
import { newId } from './ids.js';

export interface BatchToStore {
  classes: string[];
  idColumns: string[];
  ids: Record<string, string>[];
  /** rows × classes, row-major. */
  probabilities: Float64Array;
  /** Rows in which every model feature was missing. */
  skippedRows?: number[];
  /** Model features the data lacks entirely. */
  missingFeatures?: string[];
}

/** Stores the batch (one transaction) and returns its record. */
export async function storePredictionBatch(
  store: Store,
  runId: string,
  datasetId: string | null,
  source: string,
  output: BatchToStore,
): Promise<PredictionRow> {
  const { classes } = output;
  const k = classes.length;
  const n = output.ids.length;
  const counts = new Array<number>(k).fill(0);
  const sums = new Array<number>(k).fill(0);
  let confidenceSum = 0;
  const rows: NewRow<'predictionRows'>[] = [];
  const id = newId('pred');
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 0; c < k; c++) {
      const p = output.probabilities[r * k + c];
      sums[c] += p;
      if (p > output.probabilities[r * k + best]) best = c;
    }
    const confidence = output.probabilities[r * k + best];
    counts[best]++;
    confidenceSum += confidence;
    rows.push({
      predictionId: id,
      rowIndex: r,
      ids: output.ids[r],
      label: classes[best],
      confidence,
      probabilities: Array.from(output.probabilities.subarray(r * k, r * k + k)),
    });
  }
  const summary: PredictionSummary = {
    rowCount: n,
    counts: classes.map((label, c) => ({ label, count: counts[c] })),
    meanConfidence: n > 0 ? confidenceSum / n : 0,
    meanProbabilities: classes.map((label, c) => ({ label, probability: n > 0 ? sums[c] / n : 0 })),
    rowsWithoutFeatures: output.skippedRows?.length ?? 0,
    missingFeatures: output.missingFeatures ?? [],
  };
  const record: PredictionRow = {
    id,
    runId,
    datasetId,
    source,
    rowCount: n,
    classes,
    idColumns: output.idColumns,
    summary,
    createdAt: new Date(),
  };
  await store.transaction(async (tx) => {
    await tx.insert('predictions', record);
    for (let start = 0; start < rows.length; start += 500)
      await tx.insert('predictionRows', rows.slice(start, start + 500));
  });
  return record;
}

/**
 * A stored batch's probabilities, rows × `classes` in row order (soft_voting weights fitted on its members'
 * out-of-fold batches); null when the batch is gone or a stored row is not `classes` numbers.
 */
export async function readBatchProbabilities(
  store: Store,
  predictionId: string,
  classes: number,
): Promise<Float64Array | null> {
  const { predictionRows } = store.t;
  const rows = await store.select('predictionRows', {
    columns: ['probabilities'],
    where: eq(predictionRows.predictionId, predictionId),
    orderBy: [asc(predictionRows.rowIndex)],
  });
  if (rows.length === 0) return null;
  const out = new Float64Array(rows.length * classes);
  for (const [r, { probabilities }] of rows.entries()) {
    const stored: unknown = probabilities;
    if (!Array.isArray(stored) || stored.length !== classes) return null;
    for (let c = 0; c < classes; c++) {
      const p: unknown = stored[c];
      if (typeof p !== 'number') return null;
      out[r * classes + c] = p;
    }
  }
  return out;
}
