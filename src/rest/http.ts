/**
 * Small HTTP helpers of the REST layer: the original API's envelope, body reading with limits, CORS headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** The request field at fault (input errors). */
    readonly field?: string,
  ) {
    super(message);
  }
}

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

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { status: 'error', error: message, code, ...extra }, headers);
}

/**
 * Reads the whole body, refusing more than `limit` bytes with 413 as soon as it is exceeded. `describe` words the
 * limit the client should know (the upload limit, not the multipart allowance added on top of it).
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  describe = `the limit of ${Math.round(limit / 1024 / 1024)} MB`,
): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${describe}.`);
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

/** A JSON object body, or a form (application/x-www-form-urlencoded, as the original web client posts). */
export async function readFields(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const body = await readBody(req, JSON_LIMIT);
  if (body.length === 0) return {};
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Send JSON (application/json) or a form (application/x-www-form-urlencoded), not ${type}.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'BAD_REQUEST', `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new HttpError(400, 'BAD_REQUEST', 'The JSON body must be an object.');
  return parsed as Record<string, unknown>;
}

export function corsHeaders(origin: string | null): Record<string, string> {
  if (!origin) return {};
  return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' };
}
