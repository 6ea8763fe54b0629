/**
 * Small HTTP helpers of the REST layer: the original API's envelope, body reading with limits, CORS headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, requestBodyTooLarge } from '../domain/errors.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * The original envelope: its web client reads every field at the top level beside `"status": "success"`, its README
 * described them under `data`; both are sent. A field named `status` stays under `data` only (the top-level one is
 * the envelope's), and `top` may override top-level fields (GET /api/health answers `"status": "healthy"`).
 */
export function successBody(data: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...data, status: 'success', ...top, data };
}

export function sendSuccess(
  res: ServerResponse,
  data: Record<string, unknown>,
  status = 200,
  top: Record<string, unknown> = {},
): void {
  sendJson(res, status, successBody(data, top));
}

export function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

/** Reads the whole body, refusing more than `limit` bytes with 413 (`tooLarge`) as soon as it is exceeded. */
async function readBody(req: IncomingMessage, limit: number, tooLarge: () => AppError): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const JSON_LIMIT = 2 * 1024 * 1024;
const jsonTooLarge = () =>
  new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${JSON_LIMIT / 1024 / 1024} MB.`);

/** The media type of a request, lower case, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** A JSON object body, or a form (application/x-www-form-urlencoded, as the original web client posts). */
export async function readFields(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = mediaType(req);
  const body = await readBody(req, JSON_LIMIT, jsonTooLarge);
  if (body.length === 0) return {};
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Send JSON (application/json) or a form (application/x-www-form-urlencoded), not ${type}.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AppError('BAD_REQUEST', `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new AppError('BAD_REQUEST', 'The JSON body must be an object.');
  return parsed as Record<string, unknown>;
}

/** The multipart allowance on top of MAX_UPLOAD_MB: the boundaries and the other fields of the form. */
const MULTIPART_ALLOWANCE = 1024 * 1024;

/**
 * A multipart body, read within MAX_UPLOAD_MB (plus the multipart allowance) and parsed once: its files go to the
 * services as they are. A file over MAX_UPLOAD_MB inside the allowance is refused by the service that reads it.
 */
export async function readMultipart(req: IncomingMessage, maxUploadBytes: number, what: string): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  if (mediaType(req) !== 'multipart/form-data')
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send ${what} as multipart/form-data.`);
  const body = await readBody(req, maxUploadBytes + MULTIPART_ALLOWANCE, () => requestBodyTooLarge(maxUploadBytes));
  try {
    return await new Response(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, {
      headers: { 'content-type': type },
    }).formData();
  } catch {
    throw new AppError('BAD_REQUEST', 'The multipart body could not be parsed.');
  }
}

export function corsHeaders(origin: string | null): Record<string, string> {
  if (!origin) return {};
  return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' };
}
