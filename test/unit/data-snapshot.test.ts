/**
 * The embedded snapshot (embedded-data/nasa): every file matches the checksums of its manifest and provenance, and
 * the loader reads it when the data folder has no table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMBEDDED_SNAPSHOT_DIR,
  MISSIONS,
  MISSION_IDS,
  isNasaTableAvailable,
  loadNasaTable,
  parseExportDate,
  resolveNasaTable,
} from '../../src/ml/data/index.js';

interface ManifestEntry {
  mission: string;
  file: string;
  exportedAt: string;
  rows: number;
  labelledRows: number;
  sha256: string;
  gzipSha256: string;
}
const manifest = JSON.parse(fs.readFileSync(path.join(EMBEDDED_SNAPSHOT_DIR, 'manifest.json'), 'utf8')) as {
  tables: ManifestEntry[];
};
const provenance = fs.readFileSync(path.join(EMBEDDED_SNAPSHOT_DIR, 'PROVENANCE.md'), 'utf8');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('the embedded NASA snapshot', () => {
  it.each(MISSION_IDS)('%s: the gzip file and its content match the manifest and PROVENANCE.md', (mission) => {
    const entry = manifest.tables.find((t) => t.mission === mission);
    expect(entry?.file).toBe(`${MISSIONS[mission].fileName}.gz`);
    if (!entry) return;
    const gz = fs.readFileSync(path.join(EMBEDDED_SNAPSHOT_DIR, entry.file));
    expect(sha256(gz)).toBe(entry.gzipSha256);
    const csv = gunzipSync(gz);
    expect(sha256(csv)).toBe(entry.sha256);
    expect(provenance).toContain(entry.sha256);
    expect(parseExportDate(csv.subarray(0, 4096).toString('utf8'))?.toISOString()).toBe(entry.exportedAt);
  });

  it('is what the loader reads when the data folder is empty, and NASA_EMBEDDED_SNAPSHOT=off turns it off', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-nasa-'));
    expect(resolveNasaTable(empty, 'kepler')?.kind).toBe('embedded');
    expect(isNasaTableAvailable(empty, 'kepler', { embedded: false })).toBe(false);
    const kepler = await loadNasaTable(empty, 'kepler');
    expect(kepler.table.rowCount).toBe(manifest.tables.find((t) => t.mission === 'kepler')?.labelledRows);
    await expect(loadNasaTable(empty, 'kepler', { embedded: false })).rejects.toThrow(
      new RegExp(`neither in ${empty.replace(/[\\/]/g, '.')}`),
    );
  });
});

describe('parseExportDate', () => {
  it("reads the archive's header line and data:fetch's ISO line", () => {
    // The archive's header: a first line naming the archive, then the export time on a line of its own.
    expect(
      parseExportDate('# NASA Exoplanet Archive export\n# Sun Nov 16 08:09:22 2025\n#\nkepid\n')?.toISOString(),
    ).toBe('2025-11-16T08:09:22.000Z');
    expect(
      parseExportDate('# Downloaded by npm run data:fetch at 2026-12-01T10:11:12.000Z\nkepid\n')?.toISOString(),
    ).toBe('2026-12-01T10:11:12.000Z');
    expect(parseExportDate('kepid,koi_period\n1,2\n')).toBeNull();
  });
});
