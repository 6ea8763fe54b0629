/**
 * Expected failures: GraphQL errors with `extensions.code` (and `extensions.field` for input errors).
 * Everything else thrown in a resolver is masked by yoga as "Unexpected error." and logged.
 */
import { createGraphQLError } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';

export type ErrorCode = 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

export function appError(code: ErrorCode, message: string, extra: { field?: string; allowed?: string | string[] } = {}): GraphQLError {
  const extensions: Record<string, unknown> = { code, http: { status: HTTP_STATUS[code] } };
  if (extra.field !== undefined) extensions.field = extra.field;
  if (extra.allowed !== undefined) extensions.allowed = extra.allowed;
  return createGraphQLError(message, { extensions });
}

export const notFound = (what: string, id: string) => appError('NOT_FOUND', `${what} "${id}" was not found.`);
export const badInput = (message: string, field?: string, allowed?: string | string[]) =>
  appError('BAD_USER_INPUT', message, { field, allowed });
export const conflict = (message: string) => appError('CONFLICT', message);

/** Errors of the pure layers (ml/data, catalog) carry a code and a field; turn them into GraphQL errors. */
export function toAppError(error: unknown): GraphQLError | null {
  if (typeof error !== 'object' || error === null) return null;
  const candidate = error as { code?: unknown; message?: unknown; field?: unknown; allowed?: unknown; cause?: unknown };
  // From a worker thread the code travels in `cause` (see portableError in src/ml/worker.ts).
  if (candidate.code === undefined && typeof candidate.cause === 'object' && candidate.cause !== null && typeof candidate.message === 'string') {
    return toAppError({ ...candidate.cause, message: candidate.message });
  }
  if (typeof candidate.code !== 'string' || !(candidate.code in HTTP_STATUS) || typeof candidate.message !== 'string') return null;
  return appError(candidate.code as ErrorCode, candidate.message, {
    field: typeof candidate.field === 'string' ? candidate.field : undefined,
    allowed: typeof candidate.allowed === 'string' || Array.isArray(candidate.allowed) ? (candidate.allowed as string | string[]) : undefined,
  });
}
