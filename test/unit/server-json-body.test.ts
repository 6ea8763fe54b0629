/**
 * src/http/server.ts reads small JSON bodies itself and hands yoga the parsed object (a fast path for `predict`).
 * yoga must answer exactly as when it read the stream: the expected answers below are yoga's own, recorded before the
 * fast path.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../integration/harness.js';

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startServer();
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server.stop();
});

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** POST /graphql with a raw body; `chunked` sends it without content-length, in two writes. */
function post(body: string, contentType = 'application/json', chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': contentType };
    if (!chunked) headers['content-length'] = Buffer.byteLength(body);
    const request = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'],
        });
      });
    });
    request.on('error', reject);
    if (chunked) {
      request.write(body.slice(0, 5));
      request.end(body.slice(5));
    } else {
      request.end(body);
    }
  });
}

const TYPENAME = JSON.stringify({ query: '{ __typename }' });
const runQuery = (id: string) =>
  JSON.stringify({ query: 'query ($r: ID!) { trainingRun(id: $r) { id } }', variables: { r: id } });

describe('JSON bodies read by server.ts', () => {
  it('answers a query, with a charset, a list content type and application/graphql+json', async () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json, text/plain',
      'application/graphql+json',
    ]) {
      expect(await post(TYPENAME, type)).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    }
  });

  it('keeps multi-byte characters split across chunks intact (2 MB body)', async () => {
    const id = 'éß漢字🙂'.repeat(150_000);
    const answer = await post(runQuery(id));
    expect(answer).toEqual({ status: 200, body: { data: { trainingRun: null } } });
  });

  it('parses chunked bodies too, and refuses bodies over MAX_JSON_BODY_MB (4 MB by default) with 413', async () => {
    expect(await post(TYPENAME, 'application/json', true)).toEqual({
      status: 200,
      body: { data: { __typename: 'Query' } },
    });
    expect(await post(runQuery('y'.repeat(5 * 1024 * 1024)))).toEqual({
      status: 413,
      body: {
        errors: [
          {
            message: 'The request body is larger than MAX_JSON_BODY_MB (4 MB).',
            extensions: { code: 'PAYLOAD_TOO_LARGE' },
          },
        ],
      },
    });
  });

  it('lets yoga refuse bodies that are not a GraphQL request, as it did', async () => {
    const invalid = await post('{"query":');
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors?.[0]).toMatchObject({
      message: 'POST body sent invalid JSON.',
      extensions: { code: 'BAD_REQUEST' },
    });
    const bom = await post(`\uFEFF${TYPENAME}`);
    expect([bom.status, bom.body.errors?.[0].message]).toEqual([400, 'POST body sent invalid JSON.']);
    expect(await post('{}')).toEqual({
      status: 200,
      body: { errors: [{ message: 'Must provide query string.', extensions: { code: 'BAD_REQUEST' } }] },
    });
    for (const [body, type] of [
      ['null', 'null'],
      ['5', 'number'],
      ['"abc"', 'string'],
    ]) {
      expect(await post(body)).toEqual({
        status: 400,
        body: {
          errors: [
            { message: `POST body is expected to be object but received ${type}`, extensions: { code: 'BAD_REQUEST' } },
          ],
        },
      });
    }
    for (const body of ['[]', `[${TYPENAME}]`]) {
      expect(await post(body)).toEqual({
        status: 400,
        body: { errors: [{ message: 'Batching is not supported.', extensions: { code: 'BAD_REQUEST' } }] },
      });
    }
  });

  it('still requires the CSRF preflight header for non-JSON content types', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const answer = await post(TYPENAME, type);
      expect([answer.status, answer.body.errors?.[0].message]).toEqual([403, 'Required CSRF header(s) not present']);
    }
  });

  it('survives clients that hang up in the middle of a body', async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":',
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 20);
        });
        socket.on('error', reject);
      });
    }
    expect(await post(TYPENAME)).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
  });
});
