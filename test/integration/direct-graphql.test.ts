/**
 * The plain JSON query or mutation is answered without yoga's Fetch layer (src/http/direct-graphql.ts); everything
 * else is left to yoga. Each request below is sent twice, once as a server-side client sends it (answered directly)
 * and once with an Origin header (a browser request: yoga answers it; this origin is not in CORS_ORIGINS, so yoga adds
 * no CORS headers), and both answers must be the same: status, content type, body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedType } from '../../src/http/direct-graphql.js';
import { startServer, type TestServer } from './harness.js';

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
  });
});
