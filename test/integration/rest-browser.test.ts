/**
 * Browser rules of the REST layer (issue 10): the original web client runs on another origin (its dev server on
 * port 3000 or 3001), so every path answers the CORS preflight, then unknown routes answer 404 in the envelope —
 * a browser shows the message instead of a CORS failure. The HTML home page escapes what it prints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.js';
import { call, expectOriginalError } from './rest-helpers.js';

let server: TestServer;
beforeAll(async () => {
  // The default development origins (no CORS_ORIGINS).
  server = await startServer();
});
afterAll(() => server.stop());

const preflight = (pathname: string, origin: string, method = 'POST') =>
  fetch(`${server.url}${pathname}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type' },
  });

describe('CORS from the original client dev servers', () => {
  it('an unknown route answers the preflight from http://localhost:3001, then 404 in the envelope with the CORS header', async () => {
    const answer = await preflight('/api/no-such-route', 'http://localhost:3001');
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://localhost:3001');
    expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
    expect((answer.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('content-type');

    const missing = await call(server, 'POST', '/api/no-such-route', {
      json: {},
      headers: { origin: 'http://localhost:3001' },
    });
    expect(missing.headers.get('access-control-allow-origin')).toBe('http://localhost:3001');
    expect(expectOriginalError(missing, 404, 'NOT_FOUND').error).toContain('/api/no-such-route');
  });

  it('allows localhost and 127.0.0.1 on ports 3000 and 3001 for the client routes, and not another origin', async () => {
    for (const origin of [
      'http://localhost:3000',
      'http://localhost:3001',
      'http://127.0.0.1:3000',
      'http://127.0.0.1:3001',
    ]) {
      for (const pathname of ['/select', '/api/upload-csv', '/api/custom/train', '/graphql']) {
        const answer = await preflight(pathname, origin);
        expect(answer.status, `${origin} ${pathname}`).toBe(204);
        expect(answer.headers.get('access-control-allow-origin'), `${origin} ${pathname}`).toBe(origin);
      }
    }
    const other = await preflight('/select', 'http://localhost:4000');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${server.url}/api/health`, { headers: { origin: 'http://127.0.0.1:3001' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:3001');
  });
});

describe('simple cross-origin requests (no preflight) from a page outside CORS_ORIGINS', () => {
  it('refuses a form POST and a multipart upload with 403; the listed origins, the same origin and curl go through', async () => {
    // Before: a page anywhere could start training (202) or upload (201) from a visitor's browser.
    const evil = { origin: 'https://evil.example' };
    const created = await call(server, 'GET', '/select');
    const sessionId = String(created.body.session_id);
    expect(
      expectOriginalError(
        await call(server, 'POST', '/training', { form: { session_id: sessionId }, headers: evil }),
        403,
        'FORBIDDEN',
      ).error,
    ).toMatch(/evil\.example/);
    const form = new FormData();
    form.set('file', new Blob(['period,label\n1,a\n2,b\n']), 'x.csv');
    expectOriginalError(
      await call(server, 'POST', '/api/upload', { multipart: form, headers: evil }),
      403,
      'FORBIDDEN',
    );
    expectOriginalError(
      await call(server, 'DELETE', `/api/sessions/${sessionId}`, { headers: evil }),
      403,
      'FORBIDDEN',
    );
    // Reading stays open (the browser withholds the answer from a foreign page anyway).
    expect((await call(server, 'GET', '/api/health', { headers: evil })).status).toBe(200);
    const origins: Record<string, string>[] = [{ origin: 'http://localhost:3000' }, { origin: server.url }, {}];
    for (const headers of origins) {
      const answer = await call(server, 'POST', '/select', {
        json: { session_id: sessionId, action: 'next_step' },
        headers,
      });
      expect(answer.status, JSON.stringify(headers)).toBe(200);
    }
  });
});

describe('the HTML home page', () => {
  it('escapes the route placeholders it lists', async () => {
    const page = await (await fetch(`${server.url}/`, { headers: { accept: 'text/html' } })).text();
    expect(page).toContain('/api/sessions/&lt;id&gt;');
    expect(page).not.toMatch(/<id>|<model_type>|<sid>/);
    expect(page).toContain('href="/docs"');
  });
});
