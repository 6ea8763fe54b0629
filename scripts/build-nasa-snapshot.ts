/**
 * `npm run data:snapshot [-- <folder>]`: rebuilds the embedded snapshot (embedded-data/nasa/*.csv.gz + manifest.json)
 * from a folder holding the three NASA exports (default ../shared/data/nasa, the team's reference copy).
 * Deterministic: gzip level 9 without a timestamp, so the same tables give the same bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import {
  EMBEDDED_SNAPSHOT_DIR,
  MISSIONS,
  MISSION_IDS,
  nasaDownloadUrl,
  nasaLabeledTableFromTable,
  parseCsvBuffer,
  parseExportDate,
} from '../src/ml/data/index.js';

export interface SnapshotEntry {
  mission: string;
  nasaTable: string;
  file: string;
  exportedAt: string | null;
  rows: number;
  columns: number;
  labelledRows: number;
  classCounts: Record<string, number>;
  sha256: string;
  bytes: number;
  gzipSha256: string;
  gzipBytes: number;
  query: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function main(): void {
  const source = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data', 'nasa'));
  fs.mkdirSync(EMBEDDED_SNAPSHOT_DIR, { recursive: true });
  const entries: SnapshotEntry[] = [];
  for (const mission of MISSION_IDS) {
    const spec = MISSIONS[mission];
    const raw = fs.readFileSync(path.join(source, spec.fileName));
    const table = parseCsvBuffer(raw);
    const labelled = nasaLabeledTableFromTable(mission, table);
    const gz = zlib.gzipSync(raw, { level: 9 });
    fs.writeFileSync(path.join(EMBEDDED_SNAPSHOT_DIR, `${spec.fileName}.gz`), gz);
    const entry: SnapshotEntry = {
      mission,
      nasaTable: spec.nasaTable,
      file: `${spec.fileName}.gz`,
      exportedAt: parseExportDate(raw.subarray(0, 4096).toString('utf8'))?.toISOString() ?? null,
      rows: table.rows.length,
      columns: table.columns.length,
      labelledRows: labelled.table.rowCount,
      classCounts: Object.fromEntries(labelled.classCounts.map((c) => [c.label, c.count])),
      sha256: sha256(raw),
      bytes: raw.byteLength,
      gzipSha256: sha256(gz),
      gzipBytes: gz.byteLength,
      query: decodeURIComponent(new URL(nasaDownloadUrl(mission)).searchParams.get('query') ?? ''),
    };
    entries.push(entry);
    process.stdout.write(
      `${mission}: ${entry.rows} rows × ${entry.columns} columns, ${(entry.bytes / 1e6).toFixed(2)} MB → ${(entry.gzipBytes / 1e6).toFixed(2)} MB gzip, sha256 ${entry.sha256.slice(0, 12)}…\n`,
    );
  }
  fs.writeFileSync(
    path.join(EMBEDDED_SNAPSHOT_DIR, 'manifest.json'),
    `${JSON.stringify({ source: 'NASA Exoplanet Archive', tables: entries }, null, 2)}\n`,
  );
}

main();
