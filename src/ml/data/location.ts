/**
 * Where a dataset's file lives, in a form that can cross into a worker thread, and its loader (cached).
 */
import { readFile, stat } from 'node:fs/promises';
import { parseCsvBuffer } from './csv.js';
import { customLabeledTable, loadNasaTable, type LabeledTable } from './dataset.js';
import type { MissionId } from './missions.js';

/** `embedded`: whether the embedded snapshot may stand in for a table missing from `dir`. */
export type DataLocation = { kind: 'nasa'; mission: MissionId; dir: string; embedded: boolean } | { kind: 'upload'; path: string; labelColumn: string };

const uploadCache = new Map<string, { key: string; value: Promise<LabeledTable> }>();
const MAX_CACHED_UPLOADS = 8;

/** Loads and labels the dataset at `location`; parsed tables stay cached while their file is unchanged. */
export async function loadDataLocation(location: DataLocation): Promise<LabeledTable> {
  if (location.kind === 'nasa') return loadNasaTable(location.dir, location.mission, { embedded: location.embedded });
  const info = await stat(location.path);
  const key = `${info.size}:${info.mtimeMs}:${location.labelColumn}`;
  const cached = uploadCache.get(location.path);
  if (cached && cached.key === key) return cached.value;
  const value = readFile(location.path).then((buffer) => customLabeledTable(parseCsvBuffer(buffer), location.labelColumn));
  if (uploadCache.size >= MAX_CACHED_UPLOADS) uploadCache.delete(uploadCache.keys().next().value as string);
  uploadCache.set(location.path, { key, value });
  value.catch(() => uploadCache.delete(location.path));
  return value;
}
