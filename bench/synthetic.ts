/**
 * bench:scale's seeded synthetic table (src/ml/data/synthetic-table.ts), shared with bench:post-fit, written to a file.
 */
import fs from 'node:fs';
import { syntheticCsv } from '../src/ml/data/synthetic-table.js';

export { SYNTHETIC_FEATURES } from '../src/ml/data/synthetic-table.js';

/** Writes the `rows`-row table (seeded by its size) to `file`; returns its size in bytes. */
export function writeSyntheticCsv(file: string, rows: number): number {
  const out = fs.openSync(file, 'w');
  for (const piece of syntheticCsv(rows)) fs.writeSync(out, piece);
  fs.closeSync(out);
  return fs.statSync(file).size;
}
