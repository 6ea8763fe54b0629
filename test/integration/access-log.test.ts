/**
 * The access line of src/http/server.ts: one `request` line per HTTP request when the logger writes info, none (and
 * no timing work) below it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.js';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

const postTypename = (url: string, requestId: string) =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query: '{ __typename }' }),
  });

const accessLines = (logs: Record<string, unknown>[], requestId: string) =>
  logs.filter((line) => line.msg === 'request' && line.requestId === requestId);

describe('access log', () => {
  it('writes one line per request at info, with method, path, status and time', async () => {
    server = await startServer({ captureLogs: 'info' });
    expect((await postTypename(server.url, 'access-info-1')).status).toBe(200);
    // The line is written on the response's finish, which may follow the client's read by a tick.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = accessLines(server.logs, 'access-info-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', method: 'POST', path: '/graphql', status: 200 });
    expect(typeof lines[0].ms).toBe('number');
  });

  it('writes none at warn', async () => {
    server = await startServer({ captureLogs: 'warn' });
    expect((await postTypename(server.url, 'access-warn-1')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(accessLines(server.logs, 'access-warn-1')).toHaveLength(0);
  });
});
