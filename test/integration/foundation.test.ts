/**
 * Foundation (issue 2): datasets, uploads, sessions surviving a restart, error masking and codes, security
 * baseline, GraphiQL, and a graphql-ws smoke test — against the real server over HTTP and WebSocket.
 */
import fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startServer, type TestServer } from './harness.js';
import { nasaTableText } from '../fixtures/nasa.js';

const UPLOAD_MUTATION =
  'mutation ($file: File!, $name: String, $label: String) { uploadDataset(file: $file, name: $name, labelColumn: $label) { id name kind mission available rowCount labelColumn classes classCounts { label count } featureColumns } }';

async function upload(
  server: TestServer,
  content: string | Uint8Array<ArrayBuffer>,
  fileName: string,
  variables: Record<string, unknown> = {},
) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD_MUTATION, variables: { file: null, ...variables } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([content]), fileName);
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1' },
  });
  return {
    status: response.status,
    /** The owner token minted by this upload (it lists the upload). */
    token: response.headers.get('x-owner-token'),
    body: (await response.json()) as {
      data?: { uploadDataset: Record<string, unknown> } | null;
      errors?: { message: string; extensions?: { code?: string; field?: string } }[];
    },
  };
}

function uploadsLeft(server: TestServer): string[] {
  return fs.readdirSync(server.config.uploadDir);
}

function customCsv(rows = 40): string {
  const lines = ['object,period,radius,snr,label'];
  for (let i = 0; i < rows; i++)
    lines.push(
      `obj-${i},${(1 + i * 0.37).toFixed(2)},${(0.5 + (i % 7)).toFixed(1)},${10 + (i % 13)},${i % 3 === 0 ? 'planet' : 'false_positive'}`,
    );
  return lines.join('\n') + '\n';
}

describe('datasets from the real NASA tables', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('lists kepler, k2 and tess with row and class counts matching the tables', async () => {
    const { datasets } = await server.data<{
      datasets: {
        id: string;
        mission: string;
        available: boolean;
        rowCount: number;
        featureColumns: string[];
        classCounts: { label: string; count: number }[];
      }[];
    }>('{ datasets { id mission available rowCount featureColumns classCounts { label count } } }');
    const byId = Object.fromEntries(datasets.map((d) => [d.id, d]));
    const counts = (id: string) => Object.fromEntries(byId[id].classCounts.map((c) => [c.label, c.count]));
    expect(byId.kepler.rowCount).toBe(9564);
    expect(counts('kepler')).toEqual({ false_positive: 4839, candidate: 1979, planet: 2746 });
    expect(byId.k2.rowCount).toBe(1806);
    expect(counts('k2')).toEqual({ false_positive: 250, candidate: 976, planet: 580 });
    expect(byId.tess.rowCount).toBe(7771);
    expect(counts('tess')).toEqual({ false_positive: 1322, candidate: 5166, planet: 1283 });
    for (const id of ['kepler', 'k2', 'tess']) {
      expect(byId[id].available).toBe(true);
      expect(byId[id].featureColumns.length).toBeGreaterThan(10);
    }
    // The leakage guard: vetting columns are never default features.
    expect(byId.kepler.featureColumns).not.toContain('koi_score');
    expect(byId.kepler.featureColumns.some((f) => f.startsWith('koi_fpflag'))).toBe(false);
  });

  it('says where each table comes from: the embedded snapshot when the data folder is empty, with its export date', async () => {
    const { datasets } = await server.data<{
      datasets: {
        id: string;
        source: { kind: string; folder: string; fileName: string; compressed: boolean; exportedAt: string };
      }[];
    }>('{ datasets { id source { kind folder fileName compressed exportedAt } } }');
    const byId = Object.fromEntries(datasets.map((d) => [d.id, d.source]));
    if (process.env.NASA_DATA_DIR) return; // a developer's own folder: its source is DATA_FOLDER, checked below
    expect(byId.kepler).toMatchObject({
      kind: 'EMBEDDED_SNAPSHOT',
      fileName: 'kepler_koi.csv.gz',
      compressed: true,
      exportedAt: '2025-11-16T08:09:22.000Z',
    });
    expect(byId.k2).toMatchObject({ kind: 'EMBEDDED_SNAPSHOT', exportedAt: '2025-11-16T08:09:33.000Z' });
    expect(byId.tess).toMatchObject({ kind: 'EMBEDDED_SNAPSHOT', exportedAt: '2025-11-16T08:09:27.000Z' });
    expect(byId.kepler.folder).toMatch(/embedded-data[\\/]nasa$/);
  });

  it('describes a dataset: columns with type and missing share, and a page of preview rows', async () => {
    const { dataset } = await server.data<{
      dataset: {
        columns: { name: string; type: string; missingShare: number }[];
        previewRows: Record<string, unknown>[];
        groupColumn: string;
      };
    }>('{ dataset(id: "kepler") { groupColumn columns { name type missingShare } previewRows(offset: 0, limit: 3) } }');
    expect(dataset.groupColumn).toBe('kepid');
    const teqErr = dataset.columns.find((c) => c.name === 'koi_teq_err1');
    expect(teqErr?.missingShare).toBe(1);
    expect(dataset.columns.find((c) => c.name === 'koi_period')?.type).toBe('numeric');
    expect(dataset.previewRows).toHaveLength(3);
    expect(dataset.previewRows[0]).toHaveProperty('kepoi_name');
  });

  it('returns null for an unknown dataset', async () => {
    const { dataset } = await server.data<{ dataset: unknown }>('{ dataset(id: "nope") { id } }');
    expect(dataset).toBeNull();
  });
});

describe('tables in the data folder take precedence over the embedded snapshot', () => {
  let server: TestServer;
  let folder: string;
  beforeAll(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'nasa-folder-'));
    // A newer "download": Kepler as plain CSV with data:fetch's header and only 30 KOIs; TESS gzip-compressed.
    const kepler = nasaTableText('kepler')
      .split('\n')
      .filter((line) => !line.startsWith('#'));
    fs.writeFileSync(
      path.join(folder, 'kepler_koi.csv'),
      ['# Downloaded by npm run data:fetch at 2026-11-30T12:00:00.000Z', ...kepler.slice(0, 31)].join('\n') + '\n',
    );
    fs.writeFileSync(path.join(folder, 'tess_toi.csv.gz'), gzipSync(nasaTableText('tess')));
    server = await startServer({ nasaDir: folder });
  });
  afterAll(() => server.stop());

  it('reads kepler_koi.csv and tess_toi.csv.gz from the folder, k2 from the snapshot', async () => {
    const { datasets } = await server.data<{
      datasets: {
        id: string;
        rowCount: number;
        source: { kind: string; folder: string; fileName: string; compressed: boolean; exportedAt: string | null };
      }[];
    }>('{ datasets { id rowCount source { kind folder fileName compressed exportedAt } } }');
    const byId = Object.fromEntries(datasets.map((d) => [d.id, d]));
    expect(byId.kepler.rowCount).toBe(30);
    expect(byId.kepler.source).toEqual({
      kind: 'DATA_FOLDER',
      folder,
      fileName: 'kepler_koi.csv',
      compressed: false,
      exportedAt: '2026-11-30T12:00:00.000Z',
    });
    expect(byId.tess.rowCount).toBe(7771);
    expect(byId.tess.source).toEqual({
      kind: 'DATA_FOLDER',
      folder,
      fileName: 'tess_toi.csv.gz',
      compressed: true,
      exportedAt: '2025-11-16T08:09:27.000Z',
    });
    expect(byId.k2.source.kind).toBe('EMBEDDED_SNAPSHOT');
  });
});

describe('a data folder without the tables and the embedded snapshot switched off', () => {
  let server: TestServer;
  let folder: string;
  beforeAll(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-nasa-'));
    server = await startServer({ nasaDir: folder, env: { NASA_EMBEDDED_SNAPSHOT: 'off' } });
  });
  afterAll(() => server.stop());

  it('lists each mission with available: false and the data:fetch hint', async () => {
    const { datasets } = await server.data<{
      datasets: { id: string; available: boolean; hint: string | null; rowCount: number | null }[];
    }>('{ datasets { id available hint rowCount } }');
    expect(datasets.map((d) => d.id)).toEqual(['kepler', 'k2', 'tess']);
    for (const dataset of datasets) {
      expect(dataset.available).toBe(false);
      expect(dataset.rowCount).toBeNull();
      expect(dataset.hint).toContain('npm run data:fetch');
      expect(dataset.hint).toContain(folder);
    }
  });

  it('refuses to configure a session with an unavailable dataset, naming the field', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    const result = await server.gql(
      'mutation ($s: ID!) { configureSession(input: { sessionId: $s, datasetId: "tess" }) { id } }',
      { s: createSession.id },
    );
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].extensions?.field).toBe('datasetId');
    expect(result.errors?.[0].message).toContain('not available');
  });
});

describe('uploads', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { MAX_UPLOAD_MB: '1' } });
  });
  afterAll(() => server.stop());

  it('registers a custom CSV with a detected label column and its numeric features', async () => {
    const { status, body, token } = await upload(server, customCsv(), 'my data.csv', { name: 'My data' });
    expect(status).toBe(200);
    const dataset = body.data?.uploadDataset as {
      id: string;
      kind: string;
      mission: string | null;
      rowCount: number;
      labelColumn: string;
      classes: string[];
      featureColumns: string[];
    };
    expect(dataset).toMatchObject({
      kind: 'UPLOAD',
      mission: null,
      rowCount: 40,
      labelColumn: 'label',
      classes: ['false_positive', 'planet'],
    });
    expect(dataset.featureColumns).toEqual(['period', 'radius', 'snr']);
    expect(dataset.id).toMatch(/^ds_/);
    // Stored under a server-made name, never the client's.
    expect(uploadsLeft(server)).toContain(`${dataset.id}.csv`);
    // Listed to its owner only: the token this upload handed back.
    const { datasets } = await server.data<{ datasets: { id: string }[] }>(
      '{ datasets { id } }',
      {},
      { token: String(token) },
    );
    expect(datasets.map((d) => d.id)).toContain(dataset.id);
  });

  it('accepts a BOM, CRLF, semicolons and quoted fields with commas and newlines', async () => {
    const csv = '\uFEFFname;x;y;class\r\n"a, b";1;2;yes\r\n"multi\r\nline";3;4;no\r\nc;5;6;yes\r\nd;7;8;no\r\n';
    const { body } = await upload(server, csv, 'semi.csv', { label: 'class' });
    expect(body.errors).toBeUndefined();
    expect(body.data?.uploadDataset).toMatchObject({ rowCount: 4, labelColumn: 'class', classes: ['no', 'yes'] });
  });

  it('recognises a NASA-format upload (with its # header) and gives it the mission mapping', async () => {
    const text = nasaTableText('kepler');
    const lines = text.split('\n');
    const firstData = lines.findIndex((l) => !l.startsWith('#'));
    const sample = [...lines.slice(0, firstData + 1 + 120)].join('\n') + '\n';
    const { body } = await upload(server, sample, 'cumulative.csv');
    expect(body.errors).toBeUndefined();
    expect(body.data?.uploadDataset).toMatchObject({
      mission: 'kepler',
      labelColumn: 'koi_disposition',
      rowCount: 120,
      classes: ['false_positive', 'candidate', 'planet'],
    });
    expect((body.data?.uploadDataset as { featureColumns: string[] }).featureColumns).toContain('koi_period');
  });

  const bad: [string, string | Uint8Array<ArrayBuffer>, string, string, Record<string, unknown>?][] = [
    ['an empty file', '', 'BAD_USER_INPUT', 'empty'],
    ['a header only', 'a,b,label\n', 'BAD_USER_INPUT', 'header'],
    [
      'binary bytes',
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      'UNSUPPORTED_MEDIA_TYPE',
      '',
    ],
    [
      'invalid UTF-8',
      new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x2c, 0x31, 0x0a]),
      'UNSUPPORTED_MEDIA_TYPE',
      'UTF-8',
    ],
    ['duplicate column names', 'a,a,label\n1,2,x\n3,4,y\n', 'BAD_USER_INPUT', 'uplicate'],
    ['an empty column name', 'a,,label\n1,2,x\n3,4,y\n', 'BAD_USER_INPUT', ''],
    ['ragged rows', 'a,b,label\n1,2,x\n3,y\n', 'BAD_USER_INPUT', 'row'],
    ['no label column', 'a,b,c\n1,2,3\n4,5,6\n', 'BAD_USER_INPUT', 'label'],
    ['a label with one class', 'a,b,label\n1,2,x\n3,4,x\n', 'BAD_USER_INPUT', 'class'],
    ['no numeric feature', 'name,label\nfoo,x\nbar,y\n', 'BAD_USER_INPUT', 'numeric'],
    ['an unknown label column', customCsv(5), 'BAD_USER_INPUT', 'nope', { label: 'nope' }],
    [
      'too many columns',
      Array.from({ length: 600 }, (_, i) => `c${i}`).join(',') +
        ',label\n' +
        Array.from({ length: 600 }, () => '1').join(',') +
        ',x\n',
      'BAD_USER_INPUT',
      'columns',
    ],
  ];

  it.each(bad)(
    'refuses %s with a specific error and leaves nothing behind',
    async (_what, content, code, text, variables = {}) => {
      const before = uploadsLeft(server).length;
      const { datasets: listedBefore } = await server.data<{ datasets: unknown[] }>('{ datasets { id } }');
      const { body } = await upload(server, content, 'bad.csv', variables);
      expect(body.data?.uploadDataset ?? null).toBeNull();
      expect(body.errors?.[0].extensions?.code).toBe(code);
      expect(body.errors?.[0].message.toLowerCase()).toContain(text.toLowerCase());
      expect(body.errors?.[0].message).not.toMatch(/\/tmp|\/work|at .*\.ts/);
      expect(uploadsLeft(server).length).toBe(before);
      const { datasets } = await server.data<{ datasets: unknown[] }>('{ datasets { id } }');
      expect(datasets.length).toBe(listedBefore.length);
    },
  );

  it('refuses a file over MAX_UPLOAD_MB with 413 / PAYLOAD_TOO_LARGE and leaves nothing behind', async () => {
    const before = uploadsLeft(server).length;
    const big = customCsv(2) + 'x,1,1,1,planet\n'.repeat(90_000);
    const { status, body } = await upload(server, big, 'big.csv');
    expect(status).toBe(413);
    expect(body.errors?.[0].extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(uploadsLeft(server).length).toBe(before);
  });

  it('refuses a multipart upload without the CSRF preflight header', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: UPLOAD_MUTATION, variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([customCsv()]), 'x.csv');
    const response = await fetch(`${server.url}/graphql`, { method: 'POST', body: form });
    expect(response.status).toBe(403);
  });
});

describe('sessions and uploads', () => {
  it('survive a server restart on the same database file', async () => {
    const first = await startServer();
    const uploaded = await upload(first, customCsv(), 'kept.csv');
    const datasetId = (uploaded.body.data?.uploadDataset as { id: string }).id;
    const { createSession } = await first.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await first.data(
      'mutation ($s: ID!) { configureSession(input: { sessionId: $s, modelType: "xgb", hyperparameters: { n_estimators: "25" }, seed: 7 }) { id } }',
      { s: createSession.id },
    );
    await first.stop();

    const second = await startServer({ dir: first.dir });
    try {
      const { session } = await second.data<{
        session: {
          id: string;
          datasetId: string;
          modelType: string;
          hyperparameters: Record<string, unknown>;
          seed: number;
        };
      }>('query ($s: ID!) { session(id: $s) { id datasetId modelType hyperparameters seed } }', {
        s: createSession.id,
      });
      expect(session).toMatchObject({ id: createSession.id, datasetId: 'kepler', modelType: 'xgboost', seed: 7 });
      expect(session.hyperparameters.n_estimators).toBe(25);
      expect(session.hyperparameters.max_depth).toBe(6);
      const { dataset } = await second.data<{
        dataset: { id: string; available: boolean; rowCount: number; classes: string[] };
      }>('query ($d: ID!) { dataset(id: $d) { id available rowCount classes } }', { d: datasetId });
      expect(dataset).toEqual({ id: datasetId, available: true, rowCount: 40, classes: ['false_positive', 'planet'] });
      const { deleteSession } = await second.data<{ deleteSession: boolean }>(
        'mutation ($s: ID!) { deleteSession(id: $s) }',
        { s: createSession.id },
      );
      expect(deleteSession).toBe(true);
      const again = await second.data<{ session: unknown }>('query ($s: ID!) { session(id: $s) { id } }', {
        s: createSession.id,
      });
      expect(again.session).toBeNull();
    } finally {
      await second.stop();
    }
  });
});

describe('GraphQL server behaviour', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('answers health with the TensorFlow.js backend', async () => {
    const { health } = await server.data<{ health: { status: string; tfBackend: string | null; queuedRuns: number } }>(
      '{ health { status tfBackend queuedRuns runningRuns } }',
    );
    expect(health.status).toBe('ok');
    expect(health.queuedRuns).toBe(0);
  });

  it('serves GraphiQL to a browser at /graphql', async () => {
    const response = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Exoplanet Playground');
  });

  it('runs a subscription over graphql-ws on the same port and path', async () => {
    const { events, error } = await collect<{ heartbeat: number }>(
      server.wsClient(),
      'subscription { heartbeat(count: 3, intervalMs: 10) }',
    );
    expect(error).toBeUndefined();
    expect(events.map((e) => e.heartbeat)).toEqual([1, 2, 3]);
  });

  it('gives expected errors a code and the field, and validation errors over WebSocket too', async () => {
    const result = await server.gql('mutation { configureSession(input: { sessionId: "ses_doesnotexist" }) { id } }');
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    const bad = await server.gql(
      'mutation ($s: ID!) { configureSession(input: { sessionId: $s, hyperparameters: { n_estimators: 0 } }) { id } }',
      { s: createSession.id },
    );
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'hyperparameters.n_estimators' });
    expect(bad.errors?.[0].message).toContain('1 to 1000');
    const ws = await collect(server.wsClient(), 'subscription { noSuchField }');
    expect(ws.error).toBeDefined();
  });

  it('masks unexpected errors, logs them with the request id, and never sends a stack trace', async () => {
    const logged = await startServer({ captureLogs: true });
    try {
      // Fault injection: a service that fails the way a bug would.
      logged.app.services.health.report = () => {
        throw new Error('disk exploded at /secret/path');
      };
      const result = await logged.gql('{ health { status } }', {}, { 'x-request-id': 'req-test-42' });
      expect(result.errors?.[0].message).toBe('Unexpected error.');
      expect(result.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(result)).not.toContain('secret');
      const entry = logged.logs.find((l) => l.requestId === 'req-test-42');
      expect(entry?.level).toBe('error');
      expect(JSON.stringify(entry)).toContain('disk exploded');
    } finally {
      await logged.stop();
    }
    const parse = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: '{"query": "{ health { "}',
    });
    expect(parse.status).toBe(400);
    expect(await parse.text()).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('limits query depth and aliases', async () => {
    const shallow = await server.gql(
      '{ session(id: "x") { dataset { id } latestRun { metrics { perClass { label } } } } }',
    );
    expect(shallow.errors).toBeUndefined();
    const introspection = await server.gql(getIntrospectionQuery());
    expect(introspection.errors).toBeUndefined();
    const nested = 'ofType { '.repeat(30) + 'name' + ' }'.repeat(30);
    const deep = await server.gql(`{ __schema { types { fields { type { ${nested} } } } } }`);
    expect(deep.errors?.[0].message).toMatch(/depth/i);
    const aliases = await server.gql(
      `{ ${Array.from({ length: 40 }, (_, i) => `h${i}: health { status }`).join(' ')} }`,
    );
    expect(aliases.errors?.[0].message).toMatch(/alias/i);
  });
});
