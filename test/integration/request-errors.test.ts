/**
 * Requests refused before execution get a status, a code and a reason (issue 12, item 15): the depth, alias and cost
 * limits, a validation graphql-js gives up on, a document nested too deep to parse, a content type /graphql does not
 * read, multipart fields that are not JSON. Limits answer as every validation error does under GraphQL over HTTP: 400 with
 * `application/graphql-response+json`, 200 with plain `application/json`, GRAPHQL_VALIDATION_FAILED either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.js';

interface Answer {
  status: number;
  contentType: string | null;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } | null;
}

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

async function post(body: BodyInit, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Answer['body']) : null,
  };
}

const query = (text: string, accept = 'application/graphql-response+json') =>
  post(JSON.stringify({ query: text }), { 'content-type': 'application/json', accept });

const ALIASES = `{ ${Array.from({ length: 40 }, (_, i) => `h${i}: health { status }`).join(' ')} }`;
const DEEP = `{ __schema { types { fields { type { ${'ofType { '.repeat(30)}name${' }'.repeat(30)} } } } } }`;
/** 21 levels (under the depth limit of 24), but each level multiplies the cost: far over 20,000. */
const COSTLY = `{ __type(name: "Query") { fields { type { ${'name kind description ofType { '.repeat(18)}name${' }'.repeat(18)} } } } }`;

describe('query limits', () => {
  it.each([
    ['aliases', ALIASES, /^Aliases limit of 30 exceeded, found 40\./],
    ['depth', DEEP, /^Query depth limit of 24 exceeded, found \d+\./],
    ['cost', COSTLY, /^Query Cost limit of 20000 exceeded, found \d+\./],
  ])(
    'the %s limit answers 400 GRAPHQL_VALIDATION_FAILED with the limit, never "Syntax Error"',
    async (_name, text, reason) => {
      const answer = await query(text);
      expect(answer.status).toBe(400);
      expect(answer.body?.errors).toHaveLength(1);
      const [error] = answer.body?.errors ?? [];
      expect(error.message).toMatch(reason);
      expect(error.message).not.toMatch(/Syntax Error/);
      expect(error.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
      // Plain application/json keeps GraphQL over HTTP's 200 for validation errors, with the same error.
      const legacy = await query(text, 'application/json');
      expect(legacy.status).toBe(200);
      expect(legacy.body?.errors).toEqual(answer.body?.errors);
    },
  );

  it('a document within every limit still runs', async () => {
    const answer = await query(`{ ${Array.from({ length: 30 }, (_, i) => `h${i}: health { status }`).join(' ')} }`);
    expect(answer.status).toBe(200);
    expect(answer.body?.errors).toBeUndefined();
  });

  it('a field repeated until graphql-js stops validating says why, with a code (twice: the validation cache too)', async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await query(`{ health { ${'status '.repeat(5000)}} }`);
      expect(answer.status).toBe(400);
      expect(answer.body?.errors).toEqual([
        {
          message: expect.stringMatching(/too large to validate.*repeats or overlaps the same fields/) as string,
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ]);
    }
  });
});

describe('documents too deep to parse', () => {
  it('a value nested 10,000 lists deep is a 400 GRAPHQL_PARSE_FAILED, not a masked 500', async () => {
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    const answer = await query(
      `mutation { configureSession(input: { sessionId: "ses_x", hyperparameters: { n_estimators: ${deep} } }) { id } }`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body?.errors).toEqual([
      {
        message: expect.stringMatching(/^The document is nested too deeply to read/) as string,
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      },
    ]);
    // The server goes on.
    expect((await query('{ health { status } }')).body?.data).toEqual({ health: { status: 'ok' } });
  });
});

describe('request bodies', () => {
  it('answers a content type it does not read (XML, plain text) with 415, a JSON body and a code', async () => {
    for (const type of ['application/xml', 'text/xml; charset=utf-8']) {
      const answer = await post('<query>{ health { status } }</query>', { 'content-type': type });
      expect(answer.status).toBe(415);
      expect(answer.contentType).toMatch(/^application\/json/);
      expect(answer.body?.errors).toEqual([
        {
          message: expect.stringContaining(`The content type ${type} is not accepted at /graphql`) as string,
          extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
        },
      ]);
    }
    // text/plain is a "simple" type: it must carry the CSRF preflight header before it is even read.
    const text = await post('{ health { status } }', { 'content-type': 'text/plain', 'graphql-preflight': '1' });
    expect([text.status, text.body?.errors?.[0].extensions?.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('answers multipart fields that are not JSON with 400 BAD_REQUEST, naming the field', async () => {
    const form = (operations: string | null, map: string | null) => {
      const data = new FormData();
      if (operations !== null) data.append('operations', operations);
      if (map !== null) data.append('map', map);
      return data;
    };
    const operations = JSON.stringify({ query: '{ health { status } }' });
    for (const [body, field] of [
      [form('not json', '{}'), 'operations'],
      [form(operations, 'nope'), 'map'],
      [form(null, '{}'), 'operations'],
    ] as const) {
      const answer = await post(body, { 'graphql-preflight': '1' });
      expect(answer.status).toBe(400);
      expect(answer.body?.errors).toEqual([
        { message: expect.stringContaining(`"${field}"`) as string, extensions: { code: 'BAD_REQUEST' } },
      ]);
    }
    // A well-formed multipart request without files still runs.
    const ok = await post(form(operations, '{}'), { 'graphql-preflight': '1' });
    expect([ok.status, ok.body?.data]).toEqual([200, { health: { status: 'ok' } }]);
  });
});

describe("what Node's HTTP parser refuses", () => {
  it('answers a 20,000-character URL with 431 and a body that says why, and keeps serving', async () => {
    const response = await fetch(`${server.url}/graphql?query=${'a'.repeat(20_000)}`);
    expect(response.status).toBe(431);
    expect(await response.json()).toEqual({
      status: 'error',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('under 16 KB') as string,
    });
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });
});
