/**
 * @deprecated The old GraphQL error helpers, kept only while their call sites move to src/domain/errors.ts (throw an
 * AppError) and src/http/graphql-errors.ts (its GraphQL mapping). They now build AppErrors, so every layer's
 * expected errors reach the edge as one type. This file goes away once nothing imports it.
 */
import { AppError, type AppErrorDetails, type ErrorCode } from './domain/errors.js';

export type { ErrorCode } from './domain/errors.js';
export { RETRY_AFTER_SECONDS, badInput, conflict, databaseBusy, notFound } from './domain/errors.js';
// A re-exported binding, read when used: src/http/graphql-errors.ts imports this file too.
export { GRAPHQL_HTTP_STATUS as HTTP_STATUS } from './http/graphql-errors.js';

export const appError = (code: ErrorCode, message: string, details: AppErrorDetails = {}) =>
  new AppError(code, message, details);

/** SQLite refused a write because another process holds the database's write lock (better-sqlite3's SqliteError). */
export function isDatabaseBusy(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The AppError `error` is or carries across a worker thread, else null (src/http/graphql-errors.ts appErrorOf). */
export { appErrorOf as toAppError } from './http/graphql-errors.js';
