/**
 * HTTP, SSE and WebSocket run one pipeline (issue 11, item 6): the same context (services, request id, logger), the
 * same validation with its limits, the same mapping of application errors and the same masking of unexpected ones.
 * Each operation below is sent over all three and must be answered alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { startServer, type TestServer } from './harness.js';

type Transport = 'http' | 'sse' | 'ws';
const TRANSPORTS: readonly Transport[] = ['http', 'sse', 'ws'];

interface Answer {
  data?: unknown;
  errors?: readonly { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
}

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ captureLogs: true });
});
afterAll(() => server.stop());

async function overHttp(query: string, requestId: string): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as Answer;
}

/** yoga's SSE transport (Accept: text/event-stream); one operation, its `next` events merged into one answer. */
async function overSse(query: string, requestId: string): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-request-id': requestId },
    body: JSON.stringify({ query }),
  });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events = (await response.text())
    .split('\n\n')
    .filter((block) => block.split('\n').includes('event: next'))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Answer);
  expect(events).toHaveLength(1);
  return events[0];
}

/** graphql-ws, with the request id on the upgrade request as a browser or a server-side client would send it. */
function overWs(query: string, requestId: string): Promise<Answer> {
  class WebSocketWithRequestId extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { 'x-request-id': requestId } });
    }
  }
  const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocketWithRequestId, retryAttempts: 0 });
  return new Promise<Answer>((resolve, reject) => {
    let answer: FormattedExecutionResult<Record<string, unknown>, unknown> = {};
    client.subscribe(
      { query },
      {
        next: (value) => (answer = value),
        // A refused operation arrives as graphql-ws's `error` message: its payload is the list of errors.
        error: (error) => {
          if (Array.isArray(error)) resolve({ errors: error as Answer['errors'] });
          else reject(error instanceof Error ? error : new Error(String(error)));
        },
        complete: () => {
          resolve(answer);
        },
      },
    );
  }).finally(() => client.dispose());
}

const over = (transport: Transport, query: string, requestId: string): Promise<Answer> =>
  transport === 'http'
    ? overHttp(query, requestId)
    : transport === 'sse'
      ? overSse(query, requestId)
      : overWs(query, requestId);

/** What a client sees of an error: its words and extensions (locations differ by nothing but are not the point). */
const seen = (answer: Answer) => answer.errors?.map(({ message, extensions }) => ({ message, extensions }));

describe('HTTP, SSE and WebSocket share one pipeline', () => {
  it('answers a query the same way', async () => {
    for (const transport of TRANSPORTS) {
      expect(await over(transport, '{ health { status } }', `ok-${transport}`)).toEqual({
        data: { health: { status: 'ok' } },
      });
    }
  });

  it('validates alike: the same message and code for an unknown field', async () => {
    const answers = await Promise.all(TRANSPORTS.map((t) => over(t, '{ noSuchField }', `invalid-${t}`)));
    expect(seen(answers[0])).toEqual([
      {
        message: 'Cannot query field "noSuchField" on type "Query".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
    expect(seen(answers[1])).toEqual(seen(answers[0]));
    expect(seen(answers[2])).toEqual(seen(answers[0]));
  });

  it('applies the same query limits (aliases, depth) with the same code and reason', async () => {
    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `h${i}: health { status }`).join(' ')} }`;
    const deep = `{ __schema { types { fields { type { ${'ofType { '.repeat(30)}name${' }'.repeat(30)} } } } } }`;
    for (const [query, reason] of [
      [aliases, 'Aliases limit of 30 exceeded, found 40.'],
      [deep, 'Query depth limit of 24 exceeded'],
    ] as const) {
      const answers = await Promise.all(TRANSPORTS.map((t) => over(t, query, `limit-${t}`)));
      const first = seen(answers[0]);
      expect(first).toHaveLength(1);
      expect(first?.[0].message).toContain(reason);
      expect(first?.[0].message).not.toMatch(/Syntax Error/);
      expect(first?.[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(seen(answers[1])).toEqual(first);
      expect(seen(answers[2])).toEqual(first);
    }
  });

  it('maps an application error to the same code and message, with its path', async () => {
    const query = 'mutation { configureSession(input: { sessionId: "ses_doesnotexist" }) { id } }';
    const answers = await Promise.all(TRANSPORTS.map((t) => over(t, query, `missing-${t}`)));
    for (const answer of answers) {
      expect(answer.errors).toEqual([
        expect.objectContaining({
          message: 'Session "ses_doesnotexist" was not found.',
          path: ['configureSession'],
          extensions: { code: 'NOT_FOUND' },
        }),
      ]);
    }
  });

  it('masks an unexpected error the same way and logs it under each request id from the same context', async () => {
    const report = server.app.services.health.report.bind(server.app.services.health);
    // Fault injection: a service failing the way a bug would.
    server.app.services.health.report = () => {
      throw new Error('disk exploded at /secret/path');
    };
    try {
      const answers = await Promise.all(TRANSPORTS.map((t) => over(t, '{ health { status } }', `fault-${t}`)));
      for (const answer of answers) {
        expect(seen(answer)).toEqual([{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
        expect(JSON.stringify(answer)).not.toMatch(/secret|exploded|\.ts:\d/);
      }
    } finally {
      server.app.services.health.report = report;
    }
    for (const transport of TRANSPORTS) {
      const entry = server.logs.find((line) => line.requestId === `fault-${transport}`);
      expect(entry, transport).toMatchObject({ level: 'error', msg: 'unexpected error in a resolver', path: 'health' });
      expect(JSON.stringify(entry)).toContain('disk exploded');
    }
  });

  it('replaces a request id that is not short and plain, on every transport', async () => {
    const report = server.app.services.health.report.bind(server.app.services.health);
    server.app.services.health.report = () => {
      throw new Error('boom');
    };
    const before = server.logs.length;
    try {
      for (const transport of TRANSPORTS) await over(transport, '{ health { status } }', 'not plain/<script>');
    } finally {
      server.app.services.health.report = report;
    }
    const ids = server.logs.slice(before).map((line) => line.requestId);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
