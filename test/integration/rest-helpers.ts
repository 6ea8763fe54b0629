/**
 * HTTP helpers of the REST tests: one request function that speaks JSON, forms and multipart like the original web
 * client, and the envelope checks (the original's fields at the top level and the same object under `data`).
 */
import { expect } from 'vitest';
import type { TestServer } from './harness.js';

export interface RestResponse {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

export interface CallOptions {
  query?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  multipart?: FormData;
  headers?: Record<string, string>;
}

/** Called with every response (the OpenAPI test validates each one against the document). */
export type ResponseCheck = (method: string, pathname: string, response: RestResponse) => void;
const checks: ResponseCheck[] = [];
export function checkEveryResponse(check: ResponseCheck): void {
  checks.push(check);
}

export async function call(server: TestServer, method: string, pathname: string, options: CallOptions = {}): Promise<RestResponse> {
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
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  const result: RestResponse = { status: response.status, headers: response.headers, text, body: isJson && text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  for (const check of checks) check(method, url.pathname, result);
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
