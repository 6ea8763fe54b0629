/**
 * The one error model of the application. Every expected failure, in any layer (data, catalog, services, REST,
 * worker threads), is an `AppError` with a code and, for input errors, the field at fault. The edges map codes in
 * one table each: GraphQL (`extensions.code`, `extensions.http.status`) and REST (HTTP status, envelope).
 * Anything that is not an AppError is unexpected: masked at the edge and logged.
 *
 * Pure: no GraphQL, HTTP or storage imports, so `src/ml` and worker threads can throw it too.
 */

export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE',
  /** A forged or malformed owner token, or a creating operation without the API key API_KEYS asks for. */
  'UNAUTHENTICATED',
  /** Too many sessions, uploads, runs or searches created by one client (RATE_LIMIT_CREATES_PER_MINUTE); Retry-After says when. */
  'RATE_LIMITED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export interface AppErrorDetails {
  /** The input field the message is about (`file`, `labelColumn`, `hyperparameters.n_estimators`, …). */
  readonly field?: string;
  /** The accepted values, in words ("an integer from 1 to 1000") or as a list. */
  readonly allowed?: string | readonly string[];
  /** For SERVICE_UNAVAILABLE and RATE_LIMITED: seconds before a retry may succeed (HTTP Retry-After). */
  readonly retryAfterSeconds?: number;
}

/** Seconds a client should wait before trying a SERVICE_UNAVAILABLE request again (HTTP Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

/** The plain, structured-cloneable form of an AppError (worker threads, queues, stored run errors). */
export interface SerializedAppError extends AppErrorDetails {
  readonly kind: 'AppError';
  readonly code: ErrorCode;
  readonly message: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly field?: string;
  readonly allowed?: string | readonly string[];
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    details: AppErrorDetails = {},
  ) {
    super(message);
    if (details.field !== undefined) this.field = details.field;
    if (details.allowed !== undefined) this.allowed = details.allowed;
    const retry = details.retryAfterSeconds ?? (code === 'SERVICE_UNAVAILABLE' ? RETRY_AFTER_SECONDS : undefined);
    if (retry !== undefined) this.retryAfterSeconds = retry;
  }

  serialize(): SerializedAppError {
    return {
      kind: 'AppError',
      code: this.code,
      message: this.message,
      ...(this.field !== undefined && { field: this.field }),
      ...(this.allowed !== undefined && { allowed: this.allowed }),
      ...(this.retryAfterSeconds !== undefined && { retryAfterSeconds: this.retryAfterSeconds }),
    };
  }

  static deserialize(value: SerializedAppError): AppError {
    const error = new AppError(value.code, value.message, value);
    return error;
  }
}

export function isSerializedAppError(value: unknown): value is SerializedAppError {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return record.kind === 'AppError' && isErrorCode(record.code) && typeof record.message === 'string';
}

/**
 * Worker boundary. Structured clone keeps an Error's `message`, `stack` and `cause` but drops own fields such as
 * `code`: a worker throws `toWorkerError(error)`, the main thread reads it back with `fromWorkerError`.
 */
export function toWorkerError(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  const carrier = new Error(error.message, { cause: error.serialize() });
  carrier.stack = error.stack;
  return carrier;
}

export function fromWorkerError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof Error && isSerializedAppError(error.cause)) {
    const restored = AppError.deserialize(error.cause);
    restored.stack = error.stack;
    return restored;
  }
  return error;
}

// Constructors for the common cases; each message that more than one layer needs is written here, once.
export const badInput = (message: string, field?: string, allowed?: string | readonly string[]) =>
  new AppError('BAD_USER_INPUT', message, { field, allowed });
/** The file is not what can be read (binary, not UTF-8, JSON/HTML instead of CSV). */
export const unsupportedMediaType = (message: string, field = 'file') =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', message, { field });
export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `${what} "${id}" was not found.`);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const databaseBusy = () =>
  new AppError(
    'SERVICE_UNAVAILABLE',
    `The database is busy (another process holds its write lock). Try again in ${RETRY_AFTER_SECONDS} s.`,
  );
/** PostgreSQL cannot be reached or takes no more connections for now. */
export const databaseUnavailable = () =>
  new AppError(
    'SERVICE_UNAVAILABLE',
    `The database cannot be reached or takes no more connections right now. Try again in ${RETRY_AFTER_SECONDS} s.`,
  );

/** The one wording of the upload limit (REST body, GraphQL multipart, dataset and prediction uploads). */
export const uploadTooLarge = (limitBytes: number, actualBytes?: number) =>
  new AppError(
    'PAYLOAD_TOO_LARGE',
    actualBytes === undefined
      ? `The file is larger than the limit of ${formatMb(limitBytes)} MB (MAX_UPLOAD_MB).`
      : `The file is ${(actualBytes / 1024 / 1024).toFixed(1)} MB; the limit is ${formatMb(limitBytes)} MB (MAX_UPLOAD_MB).`,
    { field: 'file' },
  );

/** A request body over MAX_UPLOAD_MB (plus the multipart allowance), refused before any file in it is read. */
/** How much of a user's value a message quotes (issue 12: a 10,000-character value must not come back whole). */
export const INPUT_QUOTE_LIMIT = 100;

/**
 * A user's value for an error message: a string JSON-quoted, anything else as JSON (or its String), cut at
 * INPUT_QUOTE_LIMIT characters with an ellipsis. The one helper every message that echoes input goes through.
 */
export function quoteInput(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined || typeof value === 'function' || typeof value === 'symbol') text = String(value);
  else {
    try {
      text = JSON.stringify(value);
    } catch {
      text = typeof value === 'bigint' ? value.toString() : 'an object that cannot be shown'; // or a cycle
    }
  }
  if (text.length > INPUT_QUOTE_LIMIT) {
    // Not between the two halves of a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(text[INPUT_QUOTE_LIMIT - 1]) ? INPUT_QUOTE_LIMIT - 1 : INPUT_QUOTE_LIMIT;
    text = `${text.slice(0, end)}…`;
  }
  return typeof value === 'string' ? JSON.stringify(text) : text;
}

/** `variable` names the limit: MAX_JSON_BODY_MB for JSON and form bodies, MAX_UPLOAD_MB for multipart uploads. */
export const requestBodyTooLarge = (
  limitBytes: number,
  variable: 'MAX_UPLOAD_MB' | 'MAX_JSON_BODY_MB' = 'MAX_UPLOAD_MB',
) => new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than ${variable} (${formatMb(limitBytes)} MB).`);

function formatMb(bytes: number): string {
  return String(Math.round((bytes / 1024 / 1024) * 10) / 10);
}
