/**
 * Expected failures: GraphQL errors with `extensions.code` (and `extensions.field` for input errors).
 * Everything else thrown in a resolver is masked by yoga as "Unexpected error." and logged.
 */
import { createGraphQLError } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';

export type ErrorCode =
  'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'SERVICE_UNAVAILABLE';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
};

/** Seconds a client should wait before trying a SERVICE_UNAVAILABLE request again (HTTP Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

export function appError(
  code: ErrorCode,
  message: string,
  extra: { field?: string; allowed?: string | string[] } = {},
): GraphQLError {
  const http: { status: number; headers?: Record<string, string> } = { status: HTTP_STATUS[code] };
  if (code === 'SERVICE_UNAVAILABLE') http.headers = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
  const extensions: Record<string, unknown> = { code, http };
  if (extra.field !== undefined) extensions.field = extra.field;
  if (extra.allowed !== undefined) extensions.allowed = extra.allowed;
  return createGraphQLError(message, { extensions });
}

export const notFound = (what: string, id: string) => appError('NOT_FOUND', `${what} "${id}" was not found.`);
export const badInput = (message: string, field?: string, allowed?: string | string[]) =>
  appError('BAD_USER_INPUT', message, { field, allowed });
export const conflict = (message: string) => appError('CONFLICT', message);

/** SQLite refused a write because another process holds the database's write lock (better-sqlite3's SqliteError). */
export function isDatabaseBusy(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export const databaseBusy = () =>
  appError(
    'SERVICE_UNAVAILABLE',
    `The database is busy (another process holds its write lock). Try again in ${RETRY_AFTER_SECONDS} s.`,
  );

/** Errors of the pure layers (ml/data, catalog) carry a code and a field; turn them into GraphQL errors. */
export function toAppError(error: unknown): GraphQLError | null {
  if (typeof error !== 'object' || error === null) return null;
  const candidate = error as { code?: unknown; message?: unknown; field?: unknown; allowed?: unknown; cause?: unknown };
  // From a worker thread the code travels in `cause` (see portableError in src/ml/worker.ts).
  if (
    candidate.code === undefined &&
    typeof candidate.cause === 'object' &&
    candidate.cause !== null &&
    typeof candidate.message === 'string'
  ) {
    return toAppError({ ...candidate.cause, message: candidate.message });
  }
  if (typeof candidate.code !== 'string' || !(candidate.code in HTTP_STATUS) || typeof candidate.message !== 'string')
    return null;
  return appError(candidate.code as ErrorCode, candidate.message, {
    field: typeof candidate.field === 'string' ? candidate.field : undefined,
    allowed:
      typeof candidate.allowed === 'string' || Array.isArray(candidate.allowed)
        ? (candidate.allowed as string | string[])
        : undefined,
  });
}
