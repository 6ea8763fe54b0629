/**
 * HTTP helpers of the REST tests: one request function that speaks JSON, forms and multipart like the original web
 * client, and the envelope checks (the original's fields at the top level and the same object under `data`).
 */
import { expect } from 'vitest';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { TestServer } from './harness.js';
import { defined } from '../fixtures/defined.js';
import { openApiDocument } from '../../src/rest/openapi.js';

export interface RestResponse<B = Record<string, unknown>> {
  status: number;
  headers: Headers;
  text: string;
  body: B;
}

export interface CallOptions {
  query?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  multipart?: FormData;
  /** A body of any content type, as sent (for malformed and unsupported bodies). */
  raw?: { body: string; type: string };
  headers?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Every response is checked against the OpenAPI document (/openapi.json), with ajv (JSON Schema 2020-12).

interface MediaType {
  schema?: Record<string, unknown>;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
const document = openApiDocument() as { paths: Record<string, Record<string, Operation>> };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const compiled = new Map<object, ValidateFunction>();
const templates = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+?')}/?$`),
}));
/** How many responses were checked, per documented operation and status (the OpenAPI test reads it). */
export const checkedResponses = new Map<string, number>();

export function expectMatchesOpenApi(
  method: string,
  pathname: string,
  response: Pick<RestResponse<unknown>, 'status' | 'headers' | 'body' | 'text'>,
): void {
  const lower = method.toLowerCase();
  if (lower === 'options' || lower === 'head') return;
  const template = templates.find((t) => t.pattern.test(pathname) && document.paths[t.template][lower])?.template;
  const operation = template ? document.paths[template][lower] : undefined;
  // A success must be documented by its own status; errors may fall back to the documented default envelope.
  const documented = operation
    ? (operation.responses[String(response.status)] ??
      (response.status >= 400 ? operation.responses.default : undefined))
    : undefined;
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
  const errorSchema = defined(
    document.paths['/select'].post.responses.default.content,
    'the documented error envelope',
  )['application/json'].schema;
  const schema = documented
    ? documented.content?.[contentType]?.schema
    : response.status >= 400
      ? errorSchema
      : undefined;
  if (documented === undefined && response.status < 400)
    throw new Error(`${method} ${pathname} → ${response.status} is not in the OpenAPI document`);
  if (documented && response.status < 400 && !documented.content?.[contentType]) {
    throw new Error(
      `${method} ${pathname} → ${response.status} answered ${contentType}, not documented (${Object.keys(documented.content ?? {}).join(', ')})`,
    );
  }
  const key = `${method.toUpperCase()} ${template ?? '(unknown route)'} ${response.status}`;
  checkedResponses.set(key, (checkedResponses.get(key) ?? 0) + 1);
  if (!schema || !contentType.includes('json') || Object.keys(schema).length === 0) return;
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  if (!validate(response.body)) {
    throw new Error(
      `${method} ${pathname} → ${response.status} does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${response.text.slice(0, 400)}`,
    );
  }
}

export async function call<B = Record<string, unknown>>(
  server: TestServer,
  method: string,
  pathname: string,
  options: CallOptions = {},
): Promise<RestResponse<B>> {
  const url = new URL(pathname, server.url);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const headers: Record<string, string> = { ...options.headers };
  let body: string | FormData | URLSearchParams | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = new URLSearchParams(options.form);
  } else if (options.multipart) {
    body = options.multipart;
  } else if (options.raw) {
    headers['content-type'] = options.raw.type;
    body = options.raw.body;
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  const result: RestResponse<B> = {
    status: response.status,
    headers: response.headers,
    text,
    body: (isJson && text ? JSON.parse(text) : {}) as B,
  };
  expectMatchesOpenApi(method, url.pathname, result);
  return result;
}

/** A success of the original envelope: `status: "success"`, every field of `data` also at the top level. */
export function expectOriginalSuccess(res: RestResponse, status = 200): Record<string, unknown> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 600)}`);
  expect(res.body.status).toBe('success');
  const data = res.body.data as Record<string, unknown>;
  expect(typeof data).toBe('object');
  for (const [key, value] of Object.entries(data)) if (key !== 'status') expect(res.body[key], key).toEqual(value);
  return res.body;
}

export function expectOriginalError(res: RestResponse, status: number, code: string): Record<string, unknown> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 600)}`);
  expect(res.body).toMatchObject({ status: 'error', code });
  expect(typeof res.body.error).toBe('string');
  expect(res.body.data).toBeUndefined();
  return res.body;
}

/** A CSV of real Kepler rows, from the rows the harness reads (header = their columns). */
export function csvOf(rows: Record<string, string>[]): string {
  const columns = Object.keys(rows[0]);
  const quote = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  return [columns.join(','), ...rows.map((row) => columns.map((c) => quote(row[c] ?? '')).join(','))].join('\n') + '\n';
}

export function fileForm(content: string, fileName: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.set('file', new Blob([content], { type: 'text/csv' }), fileName);
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}
