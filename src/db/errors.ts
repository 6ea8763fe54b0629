/**
 * Storage errors the services must tell apart, recognised here so that dialect-specific codes stay in src/db
 * (a PostgreSQL client would recognise its own lock timeouts in the same function).
 */

/** The database refused a write because another process holds its write lock (better-sqlite3's SqliteError). */
export function isDatabaseBusy(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The disk (or the database) is full. */
export function isStorageFull(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return code === 'ENOSPC' || code === 'SQLITE_FULL';
}
