/**
 * SQL that differs between database engines, kept here so services stay engine-neutral (SQLite today).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';

/** The `index`-th element of a JSON array column, as a number (for ORDER BY). */
export function jsonArrayElement(column: AnySQLiteColumn, index: number): SQL<number> {
  return sql<number>`json_extract(${column}, ${`$[${index}]`})`;
}
