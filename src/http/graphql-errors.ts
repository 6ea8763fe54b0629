/**
 * The GraphQL side of the one error model (src/domain/errors.ts). An `AppError` thrown in any layer — or restored
 * from a worker thread by `fromWorkerError` — becomes a GraphQL error through one table: `extensions.code`,
 * `extensions.http.status` (the HTTP status yoga answers), `Retry-After` for SERVICE_UNAVAILABLE, and
 * `extensions.field` / `extensions.allowed` for input errors. Anything else is unexpected: masked and logged.
 * The same masking runs for HTTP, SSE, WebSocket and REST's in-process operations (one yoga pipeline).
 */
import type { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as defaultMaskError, type Plugin } from 'graphql-yoga';
import {
  AppError,
  databaseBusy,
  databaseUnavailable,
  fromWorkerError,
  uploadTooLarge,
  type ErrorCode,
} from '../domain/errors.js';
import { isDatabaseBusy, isDatabaseUnavailable } from '../db/errors.js';
import type { Logger } from '../logger.js';
import type { GraphQLContext } from './context.js';

export const MASKED_MESSAGE = 'Unexpected error.';

/** HTTP status per code, as GraphQL over HTTP answers it (`extensions.http.status`). */
export const GRAPHQL_HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
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

/** By name as well as class: a GraphQLError made by another copy of graphql-js is still one. */
export function isGraphQLError(value: unknown): value is GraphQLError {
  return value instanceof Error && value.name === 'GraphQLError';
}

/** The application error `error` is, or carries across a worker thread; null for anything unexpected. */
export function appErrorOf(error: unknown): AppError | null {
  const restored = fromWorkerError(error);
  return restored instanceof AppError ? restored : null;
}

/** The one mapping AppError → GraphQL error; `located` (the error graphql-js wrapped it in) gives path and locations. */
export function toGraphQLError(error: AppError, located?: GraphQLError): GraphQLError {
  const http: { status: number; headers?: Record<string, string> } = { status: GRAPHQL_HTTP_STATUS[error.code] };
  if (error.retryAfterSeconds !== undefined) http.headers = { 'Retry-After': String(error.retryAfterSeconds) };
  const extensions: Record<string, unknown> = { code: error.code, http };
  if (error.field !== undefined) extensions.field = error.field;
  if (error.allowed !== undefined) extensions.allowed = error.allowed;
  // createGraphQLError: yoga's own GraphQLError class, which its HTTP layer recognises.
  return createGraphQLError(error.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    originalError: error,
    extensions,
  });
}

/**
 * yoga's `maskedErrors.maskError`: application errors are mapped, errors of yoga itself and of validation pass as
 * they are, everything else is masked (logged here unless it came from a resolver: useUnexpectedErrorLogging logs
 * those with their path).
 */
export function createErrorMasking(options: { maxUploadBytes: number; development: boolean; logger: Logger }) {
  return (error: unknown, _message: string, isDev = false): Error => {
    const original = isGraphQLError(error) ? error.originalError : error;
    const coded = original && !isGraphQLError(original) ? appErrorOf(original) : null;
    if (coded) return toGraphQLError(coded, isGraphQLError(error) ? error : undefined);
    // Expected under an outside write lock: 503 with Retry-After, not a masked 500.
    if (original && isDatabaseBusy(original))
      return toGraphQLError(databaseBusy(), isGraphQLError(error) ? error : undefined);
    if (original && isDatabaseUnavailable(original))
      return toGraphQLError(databaseUnavailable(), isGraphQLError(error) ? error : undefined);
    // yoga's own multipart limit (formDataLimits) speaks of REQUEST_ENTITY_TOO_LARGE; clients rely on our code.
    if (isGraphQLError(error) && error.extensions.code === 'REQUEST_ENTITY_TOO_LARGE')
      return toGraphQLError(uploadTooLarge(options.maxUploadBytes));
    const masked = defaultMaskError(error, MASKED_MESSAGE, isDev && options.development);
    if (masked !== error && !(isGraphQLError(error) && error.path))
      options.logger.error('unexpected error', { err: original ?? error });
    return masked;
  };
}

/** Errors that are neither GraphQL errors nor application errors are bugs: log them with the request id. */
export function useUnexpectedErrorLogging(): Plugin<GraphQLContext> {
  const report = (errors: readonly GraphQLError[] | undefined, context: GraphQLContext) => {
    for (const error of errors ?? []) {
      const original = error.originalError;
      if (original && !isGraphQLError(original) && !appErrorOf(original)) {
        context.logger.error('unexpected error in a resolver', { err: original, path: error.path?.join('.') });
      }
    }
  };
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result }) => {
        if ('errors' in result) report(result.errors, args.contextValue);
      },
    }),
    onSubscribe: ({ args }) => ({
      onSubscribeResult: () => ({
        onNext: ({ result }) => {
          report(result.errors, args.contextValue);
        },
      }),
      onSubscribeError: ({ error }) => {
        if (error instanceof Error && !isGraphQLError(error))
          args.contextValue.logger.error('subscription failed', { err: error });
      },
    }),
  };
}
