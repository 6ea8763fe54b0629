/**
 * Issue 12, item 3 (and the part of item 4 it needs): one small query must not make the server parse every upload.
 * The listing and previewRows within the stored first rows are answered from the DB — proven by replacing every
 * upload's file with one that no longer parses as a dataset, after upload and after a restart; reading past them
 * is bounded per request; and the list-aware cost limit refuses 20 aliases of `datasets { previewRows }` unexecuted.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type GraphQLResult, type TestServer } from './harness.js';

const UPLOAD = 'mutation ($file: File!, $label: String) { uploadDataset(file: $file, labelColumn: $label) { id } }';
const UPLOADS = 12;
const ROWS = 150;

async function upload(server: TestServer, csv: string, name: string): Promise<string> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null, label: 'verdict' } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([csv]), name);
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1', authorization: `Bearer ${String(server.ownerToken)}` },
  });
  const body = (await response.json()) as GraphQLResult<{ uploadDataset: { id: string } }>;
  if (!body.data?.uploadDataset) throw new Error(`upload failed: ${JSON.stringify(body.errors)}`);
  return body.data.uploadDataset.id;
}

/** `ROWS` rows of two numeric features and a two-class label; `seed` makes each upload's cells differ. */
function csv(seed: number): string {
  const lines = ['period_days,depth_ppm,verdict'];
  for (let i = 0; i < ROWS; i++)
    lines.push(
      `${((i * 7919 + seed) % 97).toFixed(2)},${String((i * 104729 + seed) % 1000)},${i % 2 ? 'real' : 'fake'}`,
    );
  return `${lines.join('\n')}\n`;
}

/** Overwrites every upload's file with a CSV that has no `verdict` column: parsing it as the dataset fails. */
function spoilUploads(server: TestServer): void {
  const dir = server.config.uploadDir;
  for (const name of fs.readdirSync(dir)) fs.writeFileSync(path.join(dir, name), 'unrelated\n1\n');
}

const LISTING = `{ datasets { id kind rowCount labelColumn classes classCounts { label count } featureColumns
  columns { name type min max } previewRows(limit: 5) } }`;

interface Listed {
  id: string;
  kind: string;
  rowCount: number | null;
  previewRows: Record<string, string | null>[];
}

describe('datasets: stored summaries, bounded reads, list-aware cost limit', () => {
  let server: TestServer;
  const ids: string[] = [];
  beforeAll(async () => {
    server = await startServer({ asOwner: true });
    for (let i = 0; i < UPLOADS; i++) ids.push(await upload(server, csv(i), `upload-${String(i)}.csv`));
  });
  afterAll(() => server.stop());

  it('lists every upload and previews its first rows without reading a CSV, also after a restart', async () => {
    const before = await server.data<{ datasets: Listed[] }>(LISTING);
    const uploads = before.datasets.filter((d) => d.kind === 'UPLOAD');
    expect(uploads.map((d) => d.id).sort()).toEqual([...ids].sort());
    expect(uploads.every((d) => d.rowCount === ROWS && d.previewRows.length === 5)).toBe(true);
    const first = uploads.find((d) => d.id === ids[0]);
    expect(first?.previewRows[1]).toEqual({ period_days: '62.00', depth_ppm: '729', verdict: 'real' });

    spoilUploads(server);
    const page = `{ ${ids.map((id, i) => `d${String(i)}: dataset(id: "${id}") { previewRows(offset: 90, limit: 10) }`).join(' ')} }`;
    const pageBefore = await server.gql(page);
    expect(await server.data(LISTING)).toEqual(before);
    expect(pageBefore.errors).toBeUndefined();

    await server.stop();
    server = await startServer({ dir: server.dir, ownerToken: server.ownerToken });
    expect(await server.data(LISTING)).toEqual(before);
    expect(await server.gql(page)).toEqual(pageBefore);
  });

  it('an upload stored before summaries existed (migration 0002) is parsed once, then never again', async () => {
    // Simulates an upload of a SQLite database from before migration 0002 (there are no older PostgreSQL ones).
    const legacy = await startServer({ sqlite: true, asOwner: true });
    try {
      const id = await upload(legacy, csv(7), 'legacy.csv');
      const listed = await legacy.data<{ datasets: Listed[] }>(LISTING);
      await legacy.stop();
      const db = new Database(legacy.config.databasePath);
      db.prepare('UPDATE datasets SET details = NULL, preview = NULL').run();
      db.close();
      const again = await startServer({ dir: legacy.dir, sqlite: true, ownerToken: legacy.ownerToken });
      try {
        expect(await again.data(LISTING)).toEqual(listed);
        spoilUploads(again);
        expect(await again.data(LISTING)).toEqual(listed);
        expect(listed.datasets.find((d) => d.id === id)?.rowCount).toBe(ROWS);
      } finally {
        await again.stop();
      }
    } finally {
      await legacy.stop().catch(() => undefined);
    }
  });

  it('reads past the stored rows for at most two uploads per request, and answers the rest with a clear error', async () => {
    const fresh = await startServer({ asOwner: true });
    try {
      const three = [
        await upload(fresh, csv(1), 'a.csv'),
        await upload(fresh, csv(2), 'b.csv'),
        await upload(fresh, csv(3), 'c.csv'),
      ];
      const query = `{ ${three.map((id, i) => `d${String(i)}: dataset(id: "${id}") { previewRows(offset: 120, limit: 5) }`).join(' ')} }`;
      const result = await fresh.gql<Record<string, { previewRows: unknown[] } | null>>(query);
      // Two of the three (which two depends on which read of the database answers first: PostgreSQL's interleave).
      const answered = ['d0', 'd1', 'd2'].map((key) => result.data?.[key]?.previewRows.length ?? null);
      expect(answered.filter((n) => n === 5)).toHaveLength(2);
      expect(answered.filter((n) => n === null)).toHaveLength(1);
      expect(result.errors).toHaveLength(1);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(/at most 2 uploaded datasets/);
      // Each on its own is fine.
      const alone = await fresh.data<{ dataset: { previewRows: unknown[] } }>(
        `{ dataset(id: "${three[2] ?? ''}") { previewRows(offset: 145, limit: 100) } }`,
      );
      expect(alone.dataset.previewRows).toHaveLength(5);
    } finally {
      await fresh.stop();
    }
  });

  it('refuses 20 aliases of datasets { previewRows } with GRAPHQL_VALIDATION_FAILED, before executing', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${String(i)}: datasets { id previewRows(limit: 1) }`);
    const result = await server.gql(`{ ${aliases.join(' ')} }`);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/List cost limit of 5000 exceeded/);
    // A variable page size counts as its maximum.
    const variable = await server.gql('query ($n: Int!) { datasets { previewRows(limit: $n) } }', { n: 1 });
    expect(variable.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it("still answers the dashboard's 20 pages of 100 preview rows and a small page of datasets with their previews", async () => {
    const pages = Array.from(
      { length: 20 },
      (_, i) => `p${String(i)}: previewRows(offset: ${String(i * 100)}, limit: 100)`,
    );
    const dashboard = await server.data<{ dataset: Record<string, unknown[]> }>(
      `{ dataset(id: "kepler") { ${pages.join(' ')} } }`,
    );
    expect(dashboard.dataset.p0).toHaveLength(100);
    const small = await server.data<{ datasets: Listed[] }>('{ datasets(limit: 5) { id previewRows(limit: 100) } }');
    expect(small.datasets).toHaveLength(5);
  });

  it('pages the list: NASA tables first, then uploads newest first', async () => {
    const all = await server.data<{ datasets: { id: string }[] }>('{ datasets { id } }');
    expect(all.datasets).toHaveLength(3 + UPLOADS);
    const page = await server.data<{ datasets: { id: string }[] }>('{ datasets(offset: 2, limit: 3) { id } }');
    expect(page.datasets.map((d) => d.id)).toEqual(all.datasets.slice(2, 5).map((d) => d.id));
    expect(page.datasets[1]?.id).toBe(ids[UPLOADS - 1]);
  });
});
