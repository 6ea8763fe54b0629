/**
 * Small HTTP helpers of the REST layer: the original API's envelope, body reading with limits, CORS headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createFetch } from '@whatwg-node/fetch';
import { AppError, requestBodyTooLarge, uploadTooLarge } from '../domain/errors.js';
import { OWNER_TOKEN_HEADER } from '../services/owners.js';

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

/** The media type of a request, lower case, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * A JSON object body, or a form (application/x-www-form-urlencoded, as the original web client posts), within
 * MAX_JSON_BODY_MB (`limit`): the same limit /graphql applies to JSON.
 */
export async function readFields(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = mediaType(req);
  const body = await readBody(req, limit, () => requestBodyTooLarge(limit, 'MAX_JSON_BODY_MB'));
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
export const MULTIPART_ALLOWANCE = 1024 * 1024;

/** Files and fields a REST form may have: the final API's training, testing and prediction files. */
export const MULTIPART_PARTS = { files: 3, fields: 20 };

export const notMultipart = (what: string) =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', `Send ${what} as multipart/form-data.`);

/** Reads a multipart request's form; 415 naming `what` when the request is not multipart. */
export type MultipartReader = (req: IncomingMessage, what: string) => Promise<FormData>;

/**
 * Multipart bodies, read within MAX_UPLOAD_MB (plus the multipart allowance) and parsed once, by the parser /graphql
 * uses (busboy, through the fetch ponyfill yoga is built with; Node's own Response.formData() is several times
 * slower on large files): a file over MAX_UPLOAD_MB is refused while parsing. The files then go to the services as
 * they are. At most three files (the final API's training, testing and prediction files) and 20 fields.
 */
export function multipartReader(maxUploadBytes: number): MultipartReader {
  const { Request } = createFetch({ formDataLimits: { fileSize: maxUploadBytes, ...MULTIPART_PARTS } });
  return async (req, what) => {
    const type = req.headers['content-type'] ?? '';
    if (mediaType(req) !== 'multipart/form-data') throw notMultipart(what);
    const body = await readBody(req, maxUploadBytes + MULTIPART_ALLOWANCE, () => requestBodyTooLarge(maxUploadBytes));
    // A view, not a copy: Buffer.concat allocates an ordinary ArrayBuffer (never a shared one).
    const bytes = new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
    try {
      return await new Request('http://localhost/', {
        method: 'POST',
        headers: { 'content-type': type },
        body: bytes,
      }).formData();
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      // The parser's own words for its file limit (as yoga reads them).
      if (message.startsWith('File size limit exceeded')) throw uploadTooLarge(maxUploadBytes);
      throw new AppError(
        'BAD_REQUEST',
        message.includes('limit exceeded')
          ? `The multipart body has too many parts (${message}).`
          : 'The multipart body could not be parsed.',
      );
    }
  };
}

export function corsHeaders(origin: string | null): Record<string, string> {
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': OWNER_TOKEN_HEADER,
    vary: 'Origin',
  };
}
