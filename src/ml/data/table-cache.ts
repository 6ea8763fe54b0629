/**
 * Parsed tables (NASA and uploads) in each thread: one byte-bounded cache, whose entries also go after a spell of
 * disuse (WORKER_IDLE_SECONDS), so a server that trained on Kepler and then sits idle returns those ~33 MB.
 */
import { ByteBudgetCache, idleMsFromEnv } from '../cache.js';
import type { LabeledTable } from './dataset.js';

/** Most bytes of parsed tables kept per thread: the three NASA tables (~75 MB) and a few uploads. */
const TABLE_CACHE_BYTES = 160 * 1024 * 1024;

/** Measured: Kepler's 468,636 cells (9,564 × 49 short strings) hold ~33 MB once parsed and labelled. */
const BYTES_PER_CELL = 70;

function estimateTableBytes(table: LabeledTable): number {
  return table.table.rows.length * table.table.columns.length * BYTES_PER_CELL;
}

const tables = new ByteBudgetCache<LabeledTable>({ maxBytes: TABLE_CACHE_BYTES, sizeOf: estimateTableBytes, idleMs: idleMsFromEnv() });

/** The cached table of `key` (which must change when the file does), or the one `load` parses. */
export function cachedTable(key: string, load: () => Promise<LabeledTable>): Promise<LabeledTable> {
  return tables.getOrLoad(key, load);
}

/** Forgets every parsed table (tests, or after a download). */
export function clearTableCache(): void {
  tables.clear();
}
