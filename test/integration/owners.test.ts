/**
 * Data owners and access control (issue 12 item 11) on a real server: what one owner makes, another owner (and a
 * caller without a token) cannot read, use, list, subscribe to or delete — NOT_FOUND, as for an id that does not
 * exist; the original web client without a token still works by session id; forged tokens, API keys, deleteDataset,
 * the idle sweep, the creation rate limit, the dataset name bound, and the GraphiQL / introspection switches.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runSql, startServer, waitFor, type GraphQLResult, type TestServer } from './harness.js';
import { call, expectOriginalError, expectOriginalSuccess, fileForm } from './rest-helpers.js';

const CREATE = 'mutation { createSession { id } }';
const UPLOAD =
  'mutation ($file: File!, $name: String, $label: String) { uploadDataset(file: $file, name: $name, labelColumn: $label) { id name } }';
const CONFIGURE = 'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id datasetId } }';
const START = 'mutation ($s: ID!) { startTraining(sessionId: $s) { id status } }';
const RUN = 'query ($r: ID!) { trainingRun(id: $r) { id status } }';
const PROGRESS = 'subscription ($r: ID!) { trainingProgress(runId: $r) { status progress } }';

/** Two classes a decision tree separates at once (120 rows). */
const CSV = `a,b,label\n${Array.from({ length: 120 }, (_, i) => `${(i % 2) * 5 + (i % 7) / 7},${i % 11},${i % 2 ? 'yes' : 'no'}`).join('\n')}\n`;

interface Minted {
  token: string;
  header: string | null;
  cookie: string | null;
}

/** POST /graphql; returns the body, the HTTP status and the response headers. */
async function post<T>(
  server: TestServer,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: GraphQLResult<T> & { extensions?: Record<string, unknown> } }> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as never };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A new owner: a session created without a token hands one back (extensions, header and cookie agree). */
async function newOwner(server: TestServer): Promise<Minted> {
  const { headers, body } = await post<{ createSession: { id: string } }>(server, CREATE);
  const token = body.extensions?.ownerToken;
  if (typeof token !== 'string') throw new Error(`no owner token: ${JSON.stringify(body)}`);
  return { token, header: headers.get('x-owner-token'), cookie: headers.get('set-cookie') };
}

async function upload(
  server: TestServer,
  headers: Record<string, string>,
  name?: string,
): Promise<GraphQLResult<{ uploadDataset: { id: string; name: string } }>> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null, name, label: 'label' } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([CSV]), 'small.csv');
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1', ...headers },
  });
  return (await response.json()) as GraphQLResult<{ uploadDataset: { id: string; name: string } }>;
}

async function data<T>(
  server: TestServer,
  query: string,
  variables: Record<string, unknown>,
  token: string | null,
): Promise<T> {
  const { body } = await post<T>(server, query, variables, token ? bearer(token) : {});
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function waitForRun(server: TestServer, runId: string, token: string): Promise<string> {
  return waitFor(async () => {
    const { trainingRun } = await data<{ trainingRun: { status: string } }>(server, RUN, { r: runId }, token);
    return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(trainingRun.status) ? trainingRun.status : undefined;
  });
}

const codeOf = (result: { errors?: GraphQLResult['errors'] }) => result.errors?.[0]?.extensions?.code;

describe('owners: what one owner makes is invisible to the others', () => {
  let server: TestServer;
  let a: Minted;
  let b: Minted;
  let datasetId: string;
  let sessionId: string;
  let runId: string;
  let predictionId: string;
  const row = { a: 5.1, b: 3 };

  beforeAll(async () => {
    server = await startServer();
    a = await newOwner(server);
    b = await newOwner(server);
    const uploaded = await upload(server, bearer(a.token), 'mine');
    datasetId = uploaded.data?.uploadDataset.id ?? '';
    sessionId = (await data<{ createSession: { id: string } }>(server, CREATE, {}, a.token)).createSession.id;
    await data(server, CONFIGURE, { input: { sessionId, datasetId, modelType: 'decision_tree' } }, a.token);
    runId = (await data<{ startTraining: { id: string } }>(server, START, { s: sessionId }, a.token)).startTraining.id;
    expect(await waitForRun(server, runId, a.token)).toBe('SUCCEEDED');
    predictionId = (
      await data<{ predictBatch: { id: string } }>(
        server,
        'mutation ($r: ID!, $d: ID!) { predictBatch(runId: $r, datasetId: $d) { id } }',
        { r: runId, d: datasetId },
        a.token,
      )
    ).predictBatch.id;
  }, 240_000);
  afterAll(() => server.stop());

  it('mints a signed token on the first creation: extensions.ownerToken, x-owner-token and an HttpOnly cookie', () => {
    expect(a.token).toMatch(/^own_[\w-]{16}\.[\w-]{43}$/);
    expect(a.header).toBe(a.token);
    expect(a.cookie).toBe(`exo_owner=${a.token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${168 * 3600}`);
    expect(b.token).not.toBe(a.token);
  });

  it('the owner reads and lists its own session, upload, run and prediction', async () => {
    const mine = await data<{
      session: { id: string } | null;
      dataset: { id: string; previewRows: unknown[] } | null;
      trainingRun: { id: string } | null;
      prediction: { id: string } | null;
      datasets: { id: string }[];
    }>(
      server,
      'query ($s: ID!, $d: ID!, $r: ID!, $p: ID!) { session(id: $s) { id } dataset(id: $d) { id previewRows(limit: 2) } trainingRun(id: $r) { id } prediction(id: $p) { id } datasets { id } }',
      { s: sessionId, d: datasetId, r: runId, p: predictionId },
      a.token,
    );
    expect(mine.session?.id).toBe(sessionId);
    expect(mine.dataset?.previewRows).toHaveLength(2);
    expect(mine.trainingRun?.id).toBe(runId);
    expect(mine.prediction?.id).toBe(predictionId);
    expect(mine.datasets.map((d) => d.id)).toEqual(['kepler', 'k2', 'tess', datasetId]);
  });

  it('another owner, and a caller without a token, see nothing of it: null reads, no list entries', async () => {
    for (const token of [b.token, null]) {
      const theirs = await data<Record<string, unknown>>(
        server,
        'query ($s: ID!, $d: ID!, $r: ID!, $p: ID!) { session(id: $s) { id } dataset(id: $d) { id } trainingRun(id: $r) { id } prediction(id: $p) { id } datasets { id } }',
        { s: sessionId, d: datasetId, r: runId, p: predictionId },
        token,
      );
      expect(theirs).toEqual({
        session: null,
        dataset: null,
        trainingRun: null,
        prediction: null,
        datasets: [{ id: 'kepler' }, { id: 'k2' }, { id: 'tess' }],
      });
    }
  });

  it('another owner gets NOT_FOUND using them, the same answer as for ids that do not exist', async () => {
    const as = bearer(b.token);
    const refusals: [string, Record<string, unknown>][] = [
      [CONFIGURE, { input: { sessionId, modelType: 'xgboost' } }],
      [START, { s: sessionId }],
      ['query ($s: ID!) { trainingRuns(sessionId: $s) { totalCount } }', { s: sessionId }],
      ['mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: runId }],
      ['query ($r: ID!, $row: JSON!) { predict(runId: $r, rows: [$row]) { label } }', { r: runId, row }],
      ['query ($r: ID!, $row: JSON!) { explain(runId: $r, row: $row) { label } }', { r: runId, row }],
      ['mutation ($r: ID!) { predictBatch(runId: $r, datasetId: "kepler") { id } }', { r: runId }],
      ['mutation ($d: ID!) { deleteDataset(id: $d) }', { d: datasetId }],
    ];
    for (const [query, variables] of refusals) {
      const theirs = await post(server, query, variables, as);
      expect(codeOf(theirs.body), query).toBe('NOT_FOUND');
      const missing = JSON.parse(
        JSON.stringify(variables)
          .replaceAll(sessionId, 'ses_missing')
          .replaceAll(runId, 'run_missing')
          .replaceAll(datasetId, 'ds_missing'),
      ) as Record<string, unknown>;
      const nothing = await post(server, query, missing, as);
      expect(theirs.body.errors?.[0]?.message.replace(/"[^"]+"|\b(ses|run|ds)_\S+/g, 'ID')).toBe(
        nothing.body.errors?.[0]?.message.replace(/"[^"]+"|\b(ses|run|ds)_\S+/g, 'ID'),
      );
    }
    // deleteSession answers false, as for a session that does not exist, and deletes nothing.
    expect(await data(server, 'mutation ($s: ID!) { deleteSession(id: $s) }', { s: sessionId }, b.token)).toEqual({
      deleteSession: false,
    });
    // Choosing the upload for one's own session: refused as an unknown dataset.
    const own = (await data<{ createSession: { id: string } }>(server, CREATE, {}, b.token)).createSession.id;
    const choose = await post(server, CONFIGURE, { input: { sessionId: own, datasetId } }, as);
    expect(choose.body.errors?.[0]).toMatchObject({
      message: expect.stringContaining(`Unknown dataset "${datasetId}"`) as unknown,
      extensions: { code: 'BAD_USER_INPUT', field: 'datasetId' },
    });
    // The owner's data is untouched.
    const still = await data<{ session: { datasetId: string } }>(
      server,
      'query ($s: ID!) { session(id: $s) { datasetId } }',
      { s: sessionId },
      a.token,
    );
    expect(still.session.datasetId).toBe(datasetId);
  });

  it('the run progress subscription: NOT_FOUND to another owner over graphql-ws and SSE, the events to the owner', async () => {
    const theirs = await collect(server.wsClient({ token: b.token }), PROGRESS, { r: runId }, 20_000);
    expect(theirs.events).toEqual([]);
    expect(JSON.stringify(theirs.error)).toContain('NOT_FOUND');
    const mine = await collect<{ trainingProgress: { status: string } }>(
      server.wsClient({ token: a.token }),
      PROGRESS,
      { r: runId },
      20_000,
    );
    expect(mine.error).toBeUndefined();
    expect(mine.events.at(-1)?.trainingProgress.status).toBe('SUCCEEDED');

    const sse = async (token: string) => {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(token) },
        body: JSON.stringify({ query: PROGRESS, variables: { r: runId } }),
      });
      return response.text();
    };
    expect(await sse(b.token)).toContain('"code":"NOT_FOUND"');
    expect(await sse(a.token)).toContain('"status":"SUCCEEDED"');
  });

  it("the prediction CSV download is the owner's alone", async () => {
    expect(
      (await fetch(`${server.url}/api/predictions/${predictionId}.csv`, { headers: bearer(b.token) })).status,
    ).toBe(404);
    const mine = await fetch(`${server.url}/api/predictions/${predictionId}.csv`, { headers: bearer(a.token) });
    expect(mine.status).toBe(200);
    expect((await mine.text()).split('\n')[0]).toContain('predicted_label');
  });

  it('the cookie works as the bearer header does', async () => {
    const cookie = { cookie: `theme=dark; exo_owner=${a.token}` };
    const { body } = await post<{ datasets: { id: string }[] }>(server, '{ datasets { id } }', {}, cookie);
    expect(body.data?.datasets.map((d) => d.id)).toContain(datasetId);
    // A creation by a cookie holder renews the cookie (its expiry slides); no new token is minted.
    const created = await post(server, CREATE, {}, cookie);
    expect(created.body.extensions?.ownerToken).toBeUndefined();
    expect(created.headers.get('set-cookie')).toContain(`exo_owner=${a.token};`);
  });

  it('a forged or malformed token is 401 UNAUTHENTICATED saying to drop it, on GraphQL, REST and graphql-ws', async () => {
    const forged = `${a.token.slice(0, -2)}AA`;
    for (const token of [forged, 'not-a-token', `${b.token.split('.')[0]}.${a.token.split('.')[1]}`]) {
      const { status, body } = await post(server, '{ datasets { id } }', {}, bearer(token));
      expect(status).toBe(401);
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(body.errors?.[0]?.message).toMatch(/Drop it to start afresh/);
    }
    const viaCookie = await post(server, '{ datasets { id } }', {}, { cookie: `exo_owner=${forged}` });
    expect(viaCookie.status).toBe(401);
    expect(viaCookie.body.errors?.[0]?.message).toContain('exo_owner cookie');
    expectOriginalError(await call(server, 'GET', '/select', { headers: bearer(forged) }), 401, 'UNAUTHENTICATED');
    const ws = await collect(server.wsClient({ token: forged }), PROGRESS, { r: runId }, 20_000);
    expect(JSON.stringify(ws.error)).toContain('UNAUTHENTICATED');
  });

  it('the original web client without a token: GET /select → POST /select → /training → /result by session id', async () => {
    const created = await call(server, 'GET', '/select');
    const first = expectOriginalSuccess(created, 201);
    const id = String(first.session_id);
    // It is handed a token it may ignore.
    expect(first.owner_token).toBe(created.headers.get('x-owner-token'));
    const select = async (action: string, fields: Record<string, unknown> = {}) =>
      expectOriginalSuccess(await call(server, 'POST', '/select', { json: { session_id: id, action, ...fields } }));
    await select('update_data_source', { data_source: 'nasa', dataset: 'kepler' });
    await select('next_step');
    await select('update_model', { model_type: 'decision_tree' });
    await select('next_step');
    expectOriginalSuccess(await call(server, 'POST', '/training', { json: { session_id: id } }), 202);
    await waitFor(
      async () => {
        const progress = expectOriginalSuccess(await call(server, 'GET', '/training', { query: { session_id: id } }));
        return progress.progress === 100 ? progress : undefined;
      },
      180_000,
      200,
    );
    const result = expectOriginalSuccess(await call(server, 'GET', '/result', { query: { session_id: id } }));
    expect((result.predictions as unknown[]).length).toBeGreaterThan(0);
    // Shared by its id, as the original had it, but listed to nobody.
    const seen = await data<{ session: { id: string } | null }>(
      server,
      'query ($s: ID!) { session(id: $s) { id } }',
      { s: id },
      b.token,
    );
    expect(seen.session?.id).toBe(id);
  }, 240_000);

  it('deleteDataset: the owner deletes its upload, stored bytes and file; NASA tables and uploads in use are refused', async () => {
    const nasa = await post(server, 'mutation { deleteDataset(id: "kepler") }', {}, bearer(a.token));
    expect(codeOf(nasa.body)).toBe('FORBIDDEN');

    // In use by a queued or running run: CONFLICT naming the run.
    const busy = (await upload(server, bearer(a.token))).data?.uploadDataset.id ?? '';
    const s = (await data<{ createSession: { id: string } }>(server, CREATE, {}, a.token)).createSession.id;
    await data(
      server,
      CONFIGURE,
      { input: { sessionId: s, datasetId: busy, modelType: 'random_forest', hyperparameters: { n_estimators: 500 } } },
      a.token,
    );
    const run = (await data<{ startTraining: { id: string } }>(server, START, { s }, a.token)).startTraining.id;
    const inUse = await post(server, 'mutation ($d: ID!) { deleteDataset(id: $d) }', { d: busy }, bearer(a.token));
    expect(inUse.body.errors?.[0]).toMatchObject({
      extensions: { code: 'CONFLICT' },
      message: expect.stringContaining(run) as unknown,
    });
    await data(server, 'mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: run }, a.token);

    const gone = (await upload(server, bearer(a.token))).data?.uploadDataset.id ?? '';
    const file = path.join(server.config.uploadDir, `${gone}.csv`);
    expect(fs.existsSync(file)).toBe(true);
    expect(await data(server, 'mutation ($d: ID!) { deleteDataset(id: $d) }', { d: gone }, a.token)).toEqual({
      deleteDataset: true,
    });
    expect(fs.existsSync(file)).toBe(false);
    expect(await runSql(server.config, 'SELECT dataset_id FROM dataset_files WHERE dataset_id = ?', [gone])).toEqual(
      [],
    );
    const after = await data<{ dataset: unknown }>(
      server,
      'query ($d: ID!) { dataset(id: $d) { id } }',
      { d: gone },
      a.token,
    );
    expect(after.dataset).toBeNull();
    // REST: DELETE /api/datasets/<id>.
    const viaRest = (await upload(server, bearer(a.token))).data?.uploadDataset.id ?? '';
    expectOriginalSuccess(await call(server, 'DELETE', `/api/datasets/${viaRest}`, { headers: bearer(a.token) }));
    expectOriginalError(
      await call(server, 'DELETE', `/api/datasets/${viaRest}`, { headers: bearer(a.token) }),
      404,
      'NOT_FOUND',
    );
  }, 60_000);

  it('the idle sweep deletes sessions idle past SESSION_IDLE_HOURS with their runs and unused uploads; twice at once is safe', async () => {
    const { sessions } = server.app.services;
    const idleMs = server.config.sessionIdleMs;
    expect(idleMs).toBe(168 * 3600 * 1000);
    const soon = await sessions.sweepIdle(idleMs, new Date(Date.now() + 3600_000));
    expect(soon).toEqual({ sessions: 0, uploads: 0 });
    const later = new Date(Date.now() + idleMs + 3600_000);
    const [one, two] = await Promise.all([sessions.sweepIdle(idleMs, later), sessions.sweepIdle(idleMs, later)]);
    expect(one.sessions + two.sessions).toBeGreaterThanOrEqual(4);
    expect(one.uploads + two.uploads).toBeGreaterThanOrEqual(1);
    const left = await data<Record<string, unknown>>(
      server,
      'query ($s: ID!, $d: ID!, $r: ID!, $p: ID!) { session(id: $s) { id } dataset(id: $d) { id } trainingRun(id: $r) { id } prediction(id: $p) { id } }',
      { s: sessionId, d: datasetId, r: runId, p: predictionId },
      a.token,
    );
    expect(left).toEqual({ session: null, dataset: null, trainingRun: null, prediction: null });
    // COUNT(*) is a number in SQLite and a string in PostgreSQL.
    const [events] = (await runSql(server.config, 'SELECT COUNT(*) AS n FROM progress_events')) as { n: unknown }[];
    expect(Number(events.n)).toBe(0);
  });
});

describe('owners: API keys, rate limits, the dataset name bound and the GraphiQL / introspection switches', () => {
  let keyed: TestServer;
  let limited: TestServer;
  const KEY = 'k3y-for-known-clients-only';

  beforeAll(async () => {
    [keyed, limited] = await Promise.all([
      startServer({ env: { API_KEYS: `another-key-of-16-chars, ${KEY}`, INTROSPECTION: 'off', GRAPHIQL: 'off' } }),
      startServer({ env: { RATE_LIMIT_CREATES_PER_MINUTE: '2' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([keyed.stop(), limited.stop()]);
  });

  it('API_KEYS: creating needs X-API-Key (401 naming the header), reads stay open', async () => {
    const without = await post(keyed, CREATE);
    expect(without.status).toBe(401);
    expect(without.body.errors?.[0]).toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
      message: expect.stringContaining('X-API-Key') as unknown,
    });
    const wrong = await post(keyed, CREATE, {}, { 'x-api-key': 'k3y-for-known-clients-onlY' });
    expect(wrong.status).toBe(401);
    const ok = await post<{ createSession: { id: string } }>(keyed, CREATE, {}, { 'x-api-key': KEY });
    expect(ok.body.data?.createSession.id).toMatch(/^ses_/);
    const reads = await post<{ datasets: unknown[]; health: { status: string } }>(
      keyed,
      '{ datasets { id } health { status } }',
    );
    expect(reads.status).toBe(200);
    expect(reads.body.data?.datasets).toHaveLength(3);
    expectOriginalError(await call(keyed, 'GET', '/select'), 401, 'UNAUTHENTICATED');
    expectOriginalSuccess(await call(keyed, 'GET', '/select', { headers: { 'x-api-key': KEY } }), 201);
    expectOriginalError(
      await call(keyed, 'POST', '/api/upload', { multipart: fileForm(CSV, 'small.csv', { label_column: 'label' }) }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('INTROSPECTION=off refuses __schema and __type with INTROSPECTION_DISABLED; GRAPHIQL=off serves no page', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Session") { name } }']) {
      const { body } = await post(keyed, query);
      expect(body.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
      expect(body.errors?.[0]?.message).toContain('INTROSPECTION=off');
    }
    expect((await post(keyed, '{ __typename }')).body.data).toEqual({ __typename: 'Query' });
    const page = await fetch(`${keyed.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('graphiql');
  });

  it('RATE_LIMIT_CREATES_PER_MINUTE: the creation over the limit is 429 RATE_LIMITED with Retry-After, on GraphQL and REST', async () => {
    expect((await post(limited, CREATE)).status).toBe(200);
    expect((await post(limited, CREATE)).status).toBe(200);
    const over = await post(limited, CREATE);
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const rest = await call(limited, 'GET', '/select');
    expectOriginalError(rest, 429, 'RATE_LIMITED');
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Reads are not counted.
    expect((await post(limited, '{ datasets { id } }')).status).toBe(200);
  });

  it('a dataset name longer than 120 characters is refused with BAD_USER_INPUT, over GraphQL and REST', async () => {
    const headers = { 'x-api-key': KEY };
    const long = await upload(keyed, headers, 'n'.repeat(10_000));
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(long.errors?.[0]?.message.length).toBeLessThan(200);
    expect((await upload(keyed, headers, 'n'.repeat(121))).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await upload(keyed, headers, 'n'.repeat(120))).data?.uploadDataset.name).toBe('n'.repeat(120));
    for (const route of ['/api/upload', '/api/upload-csv']) {
      const refused = await call(keyed, 'POST', route, {
        headers,
        multipart: fileForm(CSV, 'small.csv', { name: 'n'.repeat(10_000), label_column: 'label' }),
      });
      expect(expectOriginalError(refused, 400, 'BAD_USER_INPUT')).toMatchObject({ field: 'name' });
    }
  });
});
