/**
 * Storage errors the services must tell apart, recognised here so that dialect-specific codes stay in src/db
 * (a PostgreSQL client would recognise its own lock timeouts in the same function).
 */

/**
 * The database refused a write because another process holds its write lock (better-sqlite3's SqliteError), or
 * PostgreSQL gave up waiting for a lock (lock_not_available, deadlock_detected, serialization_failure).
 */
export function isDatabaseBusy(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return (
    typeof code === 'string' &&
    (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || PG_BUSY_CODES.has(code))
  );
}

const PG_BUSY_CODES = new Set(['55P03', '40P01', '40001']);

/** The disk (or the database) is full. */
export function isStorageFull(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return code === 'ENOSPC' || code === 'SQLITE_FULL';
}

/** Error codes of PostgreSQL (SQLSTATE) and node-postgres' socket errors that mean "the server cannot serve now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '53300', // too_many_connections
  '53000', // insufficient_resources
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
]);

/** The database server cannot be reached or refuses connections for now (PostgreSQL): a 503, worth a retry. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // node-postgres reports a connection lost mid-query without a code.
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(error.message);
}
