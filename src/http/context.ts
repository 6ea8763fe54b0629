/**
 * One context for HTTP, SSE and WebSocket operations (and REST, which runs GraphQL operations in-process):
 * the services, a request id, a logger bound to it, and the caller (who makes the request: src/services/owners.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Services } from '../services/container.js';
import type { Logger } from '../logger.js';
import type { Caller, CallerInput } from '../services/owners.js';
import { API_KEY_HEADER } from '../services/owners.js';

export interface GraphQLContext {
  services: Services;
  requestId: string;
  logger: Logger;
  /** Resolved once per HTTP request, WebSocket connection or REST request; services check access against it. */
  caller: Caller;
}

const header = (value: string | string[] | undefined): string | null =>
  typeof value === 'string' ? value : Array.isArray(value) ? (value[0] ?? null) : null;

/**
 * What a caller is resolved from, read off a Node request (HTTP, the WebSocket upgrade, REST): Authorization, the
 * cookie, X-API-Key, the socket's address and X-Forwarded-For. `authorization` overrides the header (graphql-ws
 * connection_init's payload).
 */
export function callerInputOf(req: IncomingMessage, authorization?: string | null): CallerInput {
  return {
    authorization: authorization ?? header(req.headers.authorization),
    cookie: header(req.headers.cookie),
    apiKey: header(req.headers[API_KEY_HEADER]),
    remoteAddress: req.socket.remoteAddress ?? null,
    forwardedFor: header(req.headers['x-forwarded-for']),
  };
}
