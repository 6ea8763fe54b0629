/**
 * Reading request fields the way the original web client sends them: strings from HTML forms, JSON objects as
 * objects or as JSON text, an upload referred to by its `file_info`.
 */
import { badInput, quoteInput } from '../domain/errors.js';
import type { RouteContext } from './context.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object answer field (JSON scalar) as a record; anything else as an empty one. */
export function recordOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

export function stringField(body: Record<string, unknown>, name: string, required = true): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') {
    if (required) throw badInput(`"${name}" is required.`);
    return null;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw badInput(`"${name}" must be a string.`);
  return String(value);
}

export function sessionIdFrom(ctx: RouteContext, body?: Record<string, unknown>): string {
  const id = (body ? stringField(body, 'session_id', false) : null) ?? ctx.url.searchParams.get('session_id');
  if (!id) throw badInput('"session_id" is required (query string or body).');
  return id;
}

/** JSON given as an object, or as a JSON string (HTML forms). */
export function jsonField(body: Record<string, unknown>, name: string): unknown {
  const value = body[name];
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw badInput(`"${name}" must be a JSON object.`);
  }
}

/** An upload reference: its id, or a `file_info` object holding `dataset_id` (or `id`) — never a path. */
export function uploadReference(body: Record<string, unknown>, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '' || value === 'null') return null;
  let parsed: unknown = value;
  if (typeof value === 'string' && value.trim().startsWith('{')) parsed = jsonField(body, name);
  if (typeof parsed === 'string') return parsed;
  if (isRecord(parsed)) {
    const id = parsed.dataset_id ?? parsed.id;
    if (typeof id === 'string') return id;
  }
  throw badInput(
    `"${name}" must hold the upload's dataset id (the file_info that POST /api/upload-csv returned).`,
    name,
  );
}

/** A whole number query parameter from 0 to `max` (default `fallback`). */
export function limitParam(ctx: RouteContext, fallback: number, max: number): number {
  const raw = ctx.url.searchParams.get('limit');
  const limit = raw === null ? fallback : Number(raw);
  if (!Number.isInteger(limit) || limit < 0 || limit > max)
    throw badInput(`"limit" must be a whole number from 0 to ${max}, got ${quoteInput(raw)}.`, 'limit');
  return limit;
}
