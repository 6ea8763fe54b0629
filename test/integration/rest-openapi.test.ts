/**
 * The OpenAPI 3.1 document of the REST layer (issue 10): generated from the zod route specs the router validates
 * requests with, valid by @seriousme/openapi-schema-validator, covering every route; the readable page at /docs is
 * served locally. (Every response of the REST tests is checked against the document in rest-helpers.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer, type TestServer } from './harness.js';
import { call, expectMatchesOpenApi, expectOriginalError, expectOriginalSuccess } from './rest-helpers.js';
import { openApiDocument } from '../../src/rest/openapi.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

interface Document {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      { requestBody?: { content: Record<string, { schema: { properties?: Record<string, { enum?: string[] }> } }> } }
    >
  >;
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, the same one the tests validate responses with', async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as Document;
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('documents every endpoint the server lists, in both APIs', async () => {
    const home = expectOriginalSuccess(await call(server, 'GET', '/'));
    const doc = openApiDocument() as unknown as Document;
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, '<$1>')}`),
    );
    expect(documented.sort()).toEqual([...(home.endpoints as string[]), 'GET /'].sort());
    for (const endpoint of [
      'POST /api/custom/train',
      'GET /api/custom/progress/<sid>',
      'GET /api/pretrained/result/<sid>',
      'POST /api/upload-csv',
      'GET /api/hyperparameters/<model_type>',
    ]) {
      expect(documented).toContain(endpoint);
    }
  });

  it('validates requests with the same schemas it documents', async () => {
    const doc = openApiDocument() as unknown as Document;
    const selectBody = doc.paths['/select'].post.requestBody?.content['application/json'].schema;
    expect(selectBody?.properties?.action.enum).toEqual([
      'update_data_source',
      'update_model',
      'update_hyperparameters',
      'next_step',
      'set_step',
    ]);
    const { session_id } = expectOriginalSuccess(await call(server, 'GET', '/select'), 201);
    // An action outside the documented enum, and a documented type violated, are refused by the router's zod check.
    const action = expectOriginalError(
      await call(server, 'POST', '/select', { json: { session_id, action: 'fly' } }),
      400,
      'BAD_USER_INPUT',
    );
    expect(action).toMatchObject({
      field: 'action',
      error:
        'Unknown action "fly"; accepted: update_data_source, update_model, update_hyperparameters, next_step, set_step.',
    });
    const step = expectOriginalError(
      await call(server, 'POST', '/select', { json: { session_id, action: 'set_step', step: [2] } }),
      400,
      'BAD_USER_INPUT',
    );
    expect(step.field).toBe('step');
    const query = expectOriginalError(await call(server, 'GET', '/training'), 400, 'BAD_USER_INPUT');
    expect(query).toMatchObject({ field: 'session_id', error: '"session_id" is required.' });
    const limit = expectOriginalError(
      await call(server, 'GET', '/result', { query: { session_id: String(session_id), limit: 'lots' } }),
      400,
      'BAD_USER_INPUT',
    );
    expect(limit.field).toBe('limit');
  });
});

describe('the response check the REST tests run on every answer', () => {
  it('fails an answer that leaves the document: a missing top-level field, a wrong envelope, an undocumented status', async () => {
    const real = await call(server, 'GET', '/api/frontend-status');
    const headers = real.headers;
    const body = real.body;
    expect(() => {
      expectMatchesOpenApi('GET', '/api/frontend-status', real);
    }).not.toThrow();
    const { frontend_built: _dropped, ...withoutField } = body;
    expect(() => {
      expectMatchesOpenApi('GET', '/api/frontend-status', { ...real, body: withoutField });
    }).toThrow(/does not match/);
    expect(() => {
      expectMatchesOpenApi('GET', '/api/frontend-status', { ...real, body: { ...body, status: 'ok' } });
    }).toThrow(/does not match/);
    expect(() => {
      expectMatchesOpenApi('GET', '/api/frontend-status', { status: 201, headers, body, text: '' });
    }).toThrow(/not in the OpenAPI document/);
    expect(() => {
      expectMatchesOpenApi('GET', '/api/custom/progress/x', {
        status: 200,
        headers,
        body: { success: true, progress: 120, current_step: 'x', status: 'running', session_id: 'x' },
        text: '',
      });
    }).toThrow(/does not match/);
  });
});

describe('GET /docs', () => {
  it('is a readable page of every operation, rendered locally (no external script or stylesheet)', async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).not.toMatch(/<script|<link|https?:\/\/(?!json-schema)/);
    const doc = openApiDocument() as unknown as Document;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods))
        expect(page).toContain(`${method.toUpperCase()} ${path.replace(/&/g, '&amp;')}`);
    }
    expect(page).toContain('href="/openapi.json"');
  });
});
