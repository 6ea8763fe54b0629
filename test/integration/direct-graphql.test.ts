/**
 * The plain JSON query or mutation is answered without yoga's Fetch layer (src/http/direct-graphql.ts); everything
 * else is left to yoga. Each request below is sent twice, once as a server-side client sends it (answered directly)
 * and once with an Origin header (a browser request: yoga answers it; this origin is not in CORS_ORIGINS, so yoga adds
 * no CORS headers), and both answers must be the same: status, content type, body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedType } from '../../src/http/direct-graphql.js';
import { keplerRows, startRun, startServer, waitForRun, type TestServer } from './harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

interface Answer {
  status: number;
  contentType: string | null;
  body: string;
  headers: Headers;
}

async function post(body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: await response.text(),
    headers: response.headers,
  };
}

/** The answer of the direct path and of yoga's, and which path each took (App.graphqlRoutes). */
async function bothWays(body: unknown, headers: Record<string, string> = {}) {
  const before = { ...server.app.graphqlRoutes };
  const direct = await post(body, headers);
  const middle = { ...server.app.graphqlRoutes };
  const viaYoga = await post(body, { ...headers, origin: 'http://elsewhere.invalid' });
  const after = server.app.graphqlRoutes;
  return {
    direct,
    viaYoga,
    directTook: middle.direct - before.direct === 1 ? 'direct' : 'yoga',
    yogaTook: after.yoga - middle.yoga === 1 ? 'yoga' : 'direct',
  };
}

const ACCEPTS = [
  undefined,
  '*/*',
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json',
  'application/json; charset=utf-8',
  'application/*',
];

describe('the direct JSON path answers as yoga does', () => {
  it.each(ACCEPTS)('a query, an application error and a variables error (Accept: %s)', async (accept) => {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    for (const body of [
      { query: '{ __typename models { id } }' },
      // NOT_FOUND: status 404 under graphql-response+json, 200 under application/json.
      { query: 'query ($r: ID!) { predict(runId: $r, rows: [{}]) { label } }', variables: { r: 'run_missing' } },
      // A required variable not given: an error before execution, status 400 under graphql-response+json.
      { query: 'query ($r: ID!) { predict(runId: $r, rows: [{}]) { label } }' },
      { query: 'query A { __typename } query B { models { id } }', operationName: 'B', variables: null },
    ]) {
      const { direct, viaYoga, directTook, yogaTook } = await bothWays(body, headers);
      expect(directTook).toBe('direct');
      expect(yogaTook).toBe('yoga');
      expect(direct.status).toBe(viaYoga.status);
      expect(direct.contentType).toBe(viaYoga.contentType);
      expect(JSON.parse(direct.body)).toEqual(JSON.parse(viaYoga.body));
      expect(direct.headers.get('x-request-id')).toMatch(/^[\w.-]+$/);
    }
  });

  it('a mutation that mints an owner token hands it back in the header, the cookie and extensions', async () => {
    const { direct, viaYoga, directTook, yogaTook } = await bothWays({ query: 'mutation { createSession { id } }' });
    expect([directTook, yogaTook]).toEqual(['direct', 'yoga']);
    for (const answer of [direct, viaYoga]) {
      expect(answer.status).toBe(200);
      const token = answer.headers.get('x-owner-token');
      expect(token).toMatch(/^own_/);
      expect(answer.headers.get('set-cookie')).toContain(`exo_owner=${token}`);
      const body = JSON.parse(answer.body) as { data: { createSession: { id: string } }; extensions: unknown };
      expect(body.extensions).toEqual({ ownerToken: token });
      // The token is the session owner's: the owner's next request reads it back.
      const own = await post(
        { query: 'query ($s: ID!) { session(id: $s) { id } }', variables: { s: body.data.createSession.id } },
        { authorization: `Bearer ${token}` },
      );
      expect(JSON.parse(own.body)).toEqual({ data: { session: { id: body.data.createSession.id } } });
    }
  });

  it('leaves to yoga what it does not take, answered as before', async () => {
    const cases: { body: unknown; headers?: Record<string, string>; status?: number; code?: string }[] = [
      { body: { query: '{ __typename' }, status: 400, code: 'GRAPHQL_PARSE_FAILED' },
      { body: { query: '{ nope }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
      { body: { query: '{ __typename }', unexpected: 1 }, status: 400, code: 'BAD_REQUEST' },
      { body: { query: 'subscription { trainingProgress(runId: "run_x") { type } }' } },
      { body: { query: '{ __typename }' }, headers: { authorization: 'Bearer own_forged.x' }, status: 401 },
      { body: { query: '{ __typename }' }, headers: { accept: 'text/html' }, status: 406 },
    ];
    for (const { body, headers, status, code } of cases) {
      const before = server.app.graphqlRoutes.yoga;
      const answer = await post(body, { accept: 'application/graphql-response+json', ...headers });
      expect(server.app.graphqlRoutes.yoga - before, JSON.stringify(body)).toBe(1);
      if (status !== undefined) expect(answer.status, JSON.stringify(body)).toBe(status);
      if (code) expect(answer.body).toContain(`"code":"${code}"`);
    }
  });
});

describe('the memo of validated documents', () => {
  it('answers a repeated document as yoga does, and as its first answer', async () => {
    // A query text no other test sends: its first direct answer parses and validates it, the next ones reuse it.
    const query = 'query MemoCheck($r: ID!) { predict(runId: $r, rows: [{}]) { label } models { id } }';
    const body = { query, variables: { r: 'run_missing_memo' } };
    const answers: Answer[] = [];
    for (let i = 0; i < 3; i++) {
      const before = { ...server.app.graphqlRoutes };
      const { direct, viaYoga, directTook, yogaTook } = await bothWays(body);
      expect([directTook, yogaTook]).toEqual(['direct', 'yoga']);
      expect(server.app.graphqlRoutes.reusedDocuments - before.reusedDocuments).toBe(i === 0 ? 0 : 1);
      expect(direct.status).toBe(viaYoga.status);
      expect(direct.contentType).toBe(viaYoga.contentType);
      expect(JSON.parse(direct.body)).toEqual(JSON.parse(viaYoga.body));
      answers.push(direct);
    }
    expect(answers.map((a) => a.body)).toEqual([answers[0].body, answers[0].body, answers[0].body]);
    expect(JSON.parse(answers[0].body)).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    // Other variables and another operation of the same text are read afresh: the memo holds the document only.
    const missing = await bothWays({ query });
    expect(missing.directTook).toBe('direct');
    expect(missing.direct.status).toBe(missing.viaYoga.status);
    expect(JSON.parse(missing.direct.body)).toEqual(JSON.parse(missing.viaYoga.body));
    expect(missing.direct.body).toContain('Variable \\"$r\\" of required type');
  });

  it('never keeps a document that failed: each send goes to yoga again with the same answer', async () => {
    for (const query of ['{ memoNope }', '{ __typename', '{ __typename models { nope } }']) {
      const bodies: string[] = [];
      for (let i = 0; i < 2; i++) {
        const before = { ...server.app.graphqlRoutes };
        const answer = await post({ query }, { accept: 'application/graphql-response+json' });
        expect(server.app.graphqlRoutes.yoga - before.yoga, query).toBe(1);
        expect(server.app.graphqlRoutes.reusedDocuments - before.reusedDocuments).toBe(0);
        expect(answer.status, query).toBe(400);
        bodies.push(answer.body);
      }
      expect(bodies[1]).toBe(bodies[0]);
    }
  });

  it('checks the caller on every request, reused document or not (a forged token is refused by yoga)', async () => {
    await post({ query: '{ __typename }' }, {});
    const before = { ...server.app.graphqlRoutes };
    const forged = await post({ query: '{ __typename }' }, { authorization: 'Bearer own_forged.x' });
    expect(forged.status).toBe(401);
    expect(server.app.graphqlRoutes.yoga - before.yoga).toBe(1);
  });
});

describe('acceptedType reads Accept as yoga does', () => {
  it.each([
    [undefined, 'application/json'],
    ['', 'application/json'],
    ['*/*', 'application/json'],
    ['application/json', 'application/json'],
    ['application/graphql-response+json', 'application/graphql-response+json'],
    ['application/graphql-response+json, application/json', 'application/graphql-response+json'],
    ['application/json, application/graphql-response+json', 'application/json'],
    ['application/json; charset=latin1', null],
    ['text/event-stream', null],
    ['multipart/mixed, application/json', 'application/json'],
  ])('%s → %s', (accept, type) => {
    expect(acceptedType(accept)).toBe(type);
    // The second read comes from the memo by header: the same answer.
    expect(acceptedType(accept)).toBe(type);
  });
});

describe('byte for byte', () => {
  let runId: string;
  beforeAll(async () => {
    ({ runId } = await startRun(server, { modelType: 'decision_tree', seed: 3 }));
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
  }, 120_000);

  /** Status, every header but the ones that vary by request (date, request id), and the body's bytes. */
  function bytesOf(answer: Answer) {
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (name !== 'date' && name !== 'x-request-id') headers[name] = value;
    });
    return { status: answer.status, headers, body: answer.body };
  }

  it.each([undefined, 'application/graphql-response+json'])(
    'a predict, a variables error, a validation error, a bad token and a masked error (Accept: %s)',
    async (accept) => {
      const headers: Record<string, string> = accept === undefined ? {} : { accept };
      const predict =
        'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence probabilities { label probability } warnings } }';
      const { health } = server.app.services;
      const cases: {
        name: string;
        body: unknown;
        headers?: Record<string, string>;
        direct: boolean;
        says: string;
      }[] = [
        {
          name: 'predict',
          body: { query: predict, variables: { r: runId, rows: keplerRows(1) } },
          direct: true,
          says: '{"data":{"predict":[{"label":',
        },
        {
          name: 'variables error',
          body: { query: predict, variables: { r: runId } },
          direct: true,
          says: 'Variable \\"$rows\\" of required type',
        },
        { name: 'validation error', body: { query: '{ predict { nope } }' }, direct: false, says: 'VALIDATION' },
        {
          name: 'bad token',
          body: { query: '{ __typename }' },
          headers: { authorization: 'Bearer own_forged.x' },
          direct: false,
          says: '"errors"',
        },
        { name: 'masked error', body: { query: '{ health { status } }' }, direct: true, says: '"Unexpected error."' },
      ];
      try {
        // Fault injection (an own property over HealthService's method, deleted after): a service failing as a bug would.
        health.report = () => {
          throw new Error('disk exploded at /secret/path');
        };
        for (const { name, body, headers: extra, direct: taken, says } of cases) {
          // Twice: the second direct answer reuses the validated document.
          for (let i = 0; i < 2; i++) {
            const { direct, viaYoga, directTook } = await bothWays(body, { ...headers, ...extra });
            expect(directTook, name).toBe(taken ? 'direct' : 'yoga');
            expect(bytesOf(direct), name).toEqual(bytesOf(viaYoga));
            expect(direct.body, name).toContain(says);
          }
        }
      } finally {
        Reflect.deleteProperty(health, 'report');
      }
    },
  );
});
