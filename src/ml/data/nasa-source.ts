/**
 * Where a NASA table is read from. Tables in the data folder (NASA_DATA_DIR, what `npm run data:fetch` writes) win
 * over the gzip snapshot embedded in the repository (`embedded-data/nasa`), so a fresh, offline clone trains at once
 * and a download replaces the snapshot without any other step. Both `.csv` and `.csv.gz` are read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { MISSIONS, type MissionId } from './missions.js';

const gunzip = promisify(zlib.gunzip);

/** `embedded-data/nasa` at the repository root (the same three levels up from src/ml/data and dist/ml/data). */
export const EMBEDDED_SNAPSHOT_DIR = fileURLToPath(new URL('../../../embedded-data/nasa/', import.meta.url));

export type NasaSourceKind = 'folder' | 'embedded';

export interface NasaTableSource {
  kind: NasaSourceKind;
  mission: MissionId;
  /** Absolute path of the file that is read. */
  file: string;
  /** The folder it was found in. */
  dir: string;
  compressed: boolean;
  /** Size of the file on disk (compressed size for .gz). */
  sizeBytes: number;
  mtimeMs: number;
  /** When the archive exported the table (from the file's `#` header), or when data:fetch downloaded it. */
  exportedAt: Date | null;
  /** Labelled rows, when known without parsing (the snapshot's manifest records them). */
  labelledRows: number | null;
}

export interface ResolveOptions {
  /** Fall back to the embedded snapshot when the folder has no table (default true). */
  embedded?: boolean;
}

function statFile(file: string): fs.Stats | null {
  try {
    const info = fs.statSync(file);
    return info.isFile() ? info : null;
  } catch {
    return null;
  }
}

const exportDates = new Map<string, { key: string; value: Date | null }>();

/**
 * The table file for `mission`: `<dir>/<file>.csv`, then `<dir>/<file>.csv.gz`, then the embedded snapshot.
 * Null when none exists. Cheap (a few stat calls; the export date is read once per file version).
 */
export function resolveNasaTable(dir: string, mission: MissionId, options: ResolveOptions = {}): NasaTableSource | null {
  const fileName = MISSIONS[mission].fileName;
  const candidates: { kind: NasaSourceKind; dir: string; file: string }[] = [
    { kind: 'folder', dir, file: path.resolve(dir, fileName) },
    { kind: 'folder', dir, file: path.resolve(dir, `${fileName}.gz`) },
  ];
  if (options.embedded !== false) candidates.push({ kind: 'embedded', dir: EMBEDDED_SNAPSHOT_DIR, file: path.join(EMBEDDED_SNAPSHOT_DIR, `${fileName}.gz`) });
  for (const candidate of candidates) {
    const info = statFile(candidate.file);
    if (!info) continue;
    const compressed = candidate.file.endsWith('.gz');
    const key = `${info.size}:${info.mtimeMs}`;
    let exported = exportDates.get(candidate.file);
    if (exported?.key !== key) {
      exported = { key, value: readExportDate(candidate.file, compressed) ?? null };
      exportDates.set(candidate.file, exported);
    }
    return {
      kind: candidate.kind,
      mission,
      file: candidate.file,
      dir: path.resolve(candidate.dir),
      compressed,
      sizeBytes: info.size,
      mtimeMs: info.mtimeMs,
      exportedAt: exported.value,
      labelledRows: candidate.kind === 'embedded' ? (snapshotManifest().get(mission) ?? null) : null,
    };
  }
  return null;
}

let manifest: Map<string, number> | null = null;

/** Labelled rows per mission from embedded-data/nasa/manifest.json (written by `npm run data:snapshot`). */
function snapshotManifest(): Map<string, number> {
  if (manifest) return manifest;
  manifest = new Map();
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(EMBEDDED_SNAPSHOT_DIR, 'manifest.json'), 'utf8'));
    const tables = parsed && typeof parsed === 'object' && 'tables' in parsed && Array.isArray(parsed.tables) ? (parsed.tables as unknown[]) : [];
    for (const entry of tables) {
      if (entry && typeof entry === 'object' && 'mission' in entry && 'labelledRows' in entry && typeof entry.mission === 'string' && typeof entry.labelledRows === 'number') {
        manifest.set(entry.mission, entry.labelledRows);
      }
    }
  } catch {
    // No manifest: row counts are learnt when a table is first parsed.
  }
  return manifest;
}

/** The table's bytes, decompressed (off the main thread: zlib runs in libuv's pool). */
export async function readNasaTable(source: NasaTableSource): Promise<Buffer> {
  const raw = await fs.promises.readFile(source.file);
  return source.compressed ? gunzip(raw) : raw;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The export time written in a table's `#` header: the archive's own line (`# Sun Nov 16 08:09:22 2025`, the
 * archive's clock, read as UTC) or the one data:fetch writes (`# Downloaded … at 2026-12-02T10:00:00.000Z`).
 */
export function parseExportDate(head: string): Date | null {
  for (const line of head.split('\n')) {
    if (!line.startsWith('#')) break;
    const iso = /\b(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)\b/.exec(line);
    if (iso) return new Date(iso[1]);
    const archive = /^#\s+\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/.exec(line);
    if (archive) {
      const month = MONTHS.indexOf(archive[1]);
      if (month >= 0) return new Date(Date.UTC(Number(archive[6]), month, Number(archive[2]), Number(archive[3]), Number(archive[4]), Number(archive[5])));
    }
  }
  return null;
}

const HEAD_BYTES = 4096;

function readExportDate(file: string, compressed: boolean): Date | null {
  try {
    const fd = fs.openSync(file, 'r');
    let head: Buffer;
    try {
      const buffer = Buffer.alloc(compressed ? 64 * 1024 : HEAD_BYTES);
      head = buffer.subarray(0, fs.readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      fs.closeSync(fd);
    }
    // A truncated gzip stream inflates as far as it goes with a sync flush.
    const text = (compressed ? zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : head).subarray(0, HEAD_BYTES).toString('utf8');
    return parseExportDate(text);
  } catch {
    return null;
  }
}
