/**
 * The REST side of the one error model (src/domain/errors.ts): the table code → HTTP status, the one reading of a
 * GraphQL error's `extensions.code` back into an AppError, and the one function that writes the error envelope.
 */
import type { ServerResponse } from 'node:http';
import { AppError, isErrorCode, type ErrorCode } from '../domain/errors.js';
import { sendJson } from './http.js';

/**
 * HTTP status per code. Where GraphQL has the code, its status is the same (GraphQL over HTTP answers
 * `extensions.http.status`). BAD_USER_INPUT stays 400, not 422: the original answered 400 to bad input ("Unknown
 * model type: X", "Invalid session ID") and its web client and README expect it (rest-contract.md).
 * BAD_REQUEST, FORBIDDEN and METHOD_NOT_ALLOWED are errors of the HTTP request itself, never of an operation.
 */
export const REST_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  BAD_REQUEST: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
};

/** The body of an unexpected error: the same words GraphQL masks with. */
export const UNEXPECTED_MESSAGE = 'Unexpected error.';

/** The two envelopes: the original's `{"status": "error", …}` and the final version's `{"success": false, …}`. */
export type Envelope = 'original' | 'success-flag';

/** A GraphQL error as execution returns it (a GraphQLError) or as a client reads it (its JSON form). */
interface GraphQLErrorLike {
  message: string;
  extensions?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The one place a GraphQL error becomes an AppError again, by its `extensions.code` (set by the GraphQL edge from
 * the AppError a resolver threw). Null when the code is not the application's: a masked or unexpected error.
 */
export function appErrorFromGraphQL(error: GraphQLErrorLike): AppError | null {
  const extensions = error.extensions ?? {};
  const { code, field, allowed, http } = extensions;
  if (!isErrorCode(code)) return null;
  // The GraphQL edge puts the wait in the HTTP headers it asks for (toGraphQLError): RATE_LIMITED's varies.
  const retryAfterSeconds = retryAfterOf(http) ?? extensions.retryAfterSeconds;
  return new AppError(code, error.message, {
    ...(typeof field === 'string' && { field }),
    ...((typeof allowed === 'string' || isStringArray(allowed)) && { allowed }),
    ...(typeof retryAfterSeconds === 'number' && { retryAfterSeconds }),
  });
}

function retryAfterOf(http: unknown): number | undefined {
  if (typeof http !== 'object' || http === null || !('headers' in http)) return undefined;
  const { headers } = http;
  if (typeof headers !== 'object' || headers === null || !('Retry-After' in headers)) return undefined;
  const seconds = Number(headers['Retry-After']);
  return Number.isFinite(seconds) ? seconds : undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Writes an error in the route's envelope: `error` (the message), `code`, and `field` when the input at fault is
 * known; Retry-After from the error (SERVICE_UNAVAILABLE), Allow from its allowed methods (METHOD_NOT_ALLOWED).
 * `null` is an unexpected error: 500 with the masked message (the caller logs it).
 */
export function sendErrorEnvelope(res: ServerResponse, envelope: Envelope, error: AppError | null): void {
  const status = error ? REST_STATUS[error.code] : 500;
  const fields = {
    error: error?.message ?? UNEXPECTED_MESSAGE,
    code: error?.code ?? 'INTERNAL_SERVER_ERROR',
    ...(error?.field !== undefined && { field: error.field }),
  };
  const headers: Record<string, string> = {};
  if (error?.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error?.code === 'METHOD_NOT_ALLOWED' && error.allowed !== undefined)
    headers.allow = typeof error.allowed === 'string' ? error.allowed : error.allowed.join(', ');
  const body = envelope === 'success-flag' ? { success: false, ...fields } : { status: 'error', ...fields };
  sendJson(res, status, body, headers);
}
