/**
 * Parsed tables (NASA and uploads) in each thread: one byte-bounded cache, whose entries also go after a spell of
 * disuse (WORKER_IDLE_SECONDS), so a server that trained on Kepler and then sits idle returns those ~33 MB.
 */
import { ByteBudgetCache, idleMsFromEnv, type CacheStats } from '../cache.js';
import type { LabeledTable } from './dataset.js';

/** Most bytes of parsed tables kept per thread: the three NASA tables and a few uploads. */
const TABLE_CACHE_BYTES = 160 * 1024 * 1024;

/** The columns' bytes, and the labels' and groups' (a group id: a short string and its slot). */
function estimateTableBytes(table: LabeledTable): number {
  return table.table.byteSize() + table.labels.byteLength + (table.groups?.length ?? 0) * 40;
}

const tables = new ByteBudgetCache<LabeledTable>({ maxBytes: TABLE_CACHE_BYTES, sizeOf: estimateTableBytes, idleMs: idleMsFromEnv() });

/** The cached table of `key` (which must change when the file does), or the one `load` parses. */
export function cachedTable(key: string, load: () => Promise<LabeledTable>): Promise<LabeledTable> {
  return tables.getOrLoad(key, load);
}

/** Entries and estimated bytes of this thread's parsed tables (memory reports). */
export function tableCacheStats(): CacheStats {
  return tables.stats();
}

/** Forgets every parsed table (tests, or after a download). */
export function clearTableCache(): void {
  tables.clear();
}
