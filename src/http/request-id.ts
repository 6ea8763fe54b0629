/**
 * Request ids: one rule, applied at the edge. The HTTP handler and the WebSocket upgrade (src/http/server.ts) call
 * `assignRequestId` before anything else reads the request: a client's `x-request-id` is kept when it is short and
 * plain, else replaced by a UUID, and written back into the request's headers. Every later reader — yoga's context
 * (HTTP, SSE, WebSocket), the REST layer and its in-process operations, the access log — reads that value.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const REQUEST_ID_PATTERN = /^[\w.-]{1,64}$/;

/** The one rule: a client's id if it is short and plain (it goes into logs), else a fresh UUID. */
function normalised(value: string | string[] | null | undefined): string {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

/** Decides the id of an HTTP request or WebSocket connection and writes it into its headers for later readers. */
export function assignRequestId(req: IncomingMessage): string {
  const requestId = normalised(req.headers[REQUEST_ID_HEADER]);
  req.headers[REQUEST_ID_HEADER] = requestId;
  return requestId;
}

/** The id the edge assigned (REST routes). Idempotent: an assigned id passes the rule unchanged. */
export const requestIdOf = (req: IncomingMessage): string => assignRequestId(req);

/** The id in a Fetch request's headers, for yoga's context factory (put there by the edge, or by REST in-process). */
export function requestIdOfHeaders(headers: Headers): string {
  return normalised(headers.get(REQUEST_ID_HEADER));
}
