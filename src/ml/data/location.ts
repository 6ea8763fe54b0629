/**
 * Where a dataset's file lives, in a form that can cross into a worker thread, and its loader (cached: table-cache.ts).
 */
import { stat } from 'node:fs/promises';
import { ColumnTable } from './columns.js';
import { customLabeledTable, loadNasaTable, type LabeledTable } from './dataset.js';
import { cachedTable } from './table-cache.js';
import type { MissionId } from './missions.js';

/** `embedded`: whether the embedded snapshot may stand in for a table missing from `dir`. */
export type DataLocation = { kind: 'nasa'; mission: MissionId; dir: string; embedded: boolean } | { kind: 'upload'; path: string; labelColumn: string };

/** Loads and labels the dataset at `location`; parsed tables stay cached while their file is unchanged. */
export async function loadDataLocation(location: DataLocation): Promise<LabeledTable> {
  if (location.kind === 'nasa') return loadNasaTable(location.dir, location.mission, { embedded: location.embedded });
  const info = await stat(location.path);
  const key = `upload:${location.path}:${info.size}:${info.mtimeMs}:${location.labelColumn}`;
  // Streamed from disk straight into columns: no whole file in memory, no rows of strings.
  return cachedTable(key, async () => customLabeledTable(await ColumnTable.readFile(location.path), location.labelColumn));
}
