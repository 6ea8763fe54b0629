/**
 * One body limit for JSON everywhere (issue 12, item 17): MAX_JSON_BODY_MB on /graphql and on REST, declared or
 * chunked, answered 413 PAYLOAD_TOO_LARGE in the shared wording; MAX_UPLOAD_MB is for multipart files only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { keplerRows, startServer, type TestServer } from './harness.js';

/** A syntactically valid GraphQL request of about `bytes` bytes (the padding is a variable nobody reads). */
const bigRequest = (bytes: number) =>
  JSON.stringify({ query: '{ health { status } }', variables: { pad: 'x'.repeat(bytes) } });

describe('JSON body limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { MAX_JSON_BODY_MB: '1', MAX_UPLOAD_MB: '50' } });
  });
  afterAll(() => server.stop());

  it('/graphql refuses a JSON body over MAX_JSON_BODY_MB with 413, though MAX_UPLOAD_MB is larger', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bigRequest(1.5 * 1024 * 1024),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0].message).toBe('The request body is larger than MAX_JSON_BODY_MB (1 MB).');
  });

  it('/graphql refuses a chunked JSON body (no content-length) over the limit too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(new TextEncoder().encode('{"query":"{ health { status } }","variables":{"pad":"'));
        if (sent > 1.5 * 1024 * 1024) {
          controller.enqueue(new TextEncoder().encode('"}}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(response.status).toBe(413);
    expect(await response.text()).toContain('MAX_JSON_BODY_MB (1 MB)');
  });

  it('a JSON body under the limit still works on /graphql', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bigRequest(512 * 1024),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { health: { status: 'ok' } } });
  });

  it('a REST route refuses a JSON body over MAX_JSON_BODY_MB with the same 413 wording', async () => {
    const response = await fetch(`${server.url}/api/custom/train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bigRequest(1.5 * 1024 * 1024),
    });
    expect(response.status).toBe(413);
    const text = await response.text();
    expect(text).toContain('PAYLOAD_TOO_LARGE');
    expect(text).toContain('The request body is larger than MAX_JSON_BODY_MB (1 MB).');
  });

  it('the default limit fits the largest legitimate JSON request (predict with 1,000 full Kepler rows) with margin', () => {
    const predict = JSON.stringify({
      query: 'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label } }',
      variables: { r: 'run_0123456789', rows: keplerRows(1000) },
    });
    expect(Buffer.byteLength(predict) * 2.5).toBeLessThan(loadConfig({}).maxJsonBodyBytes);
  });
});
