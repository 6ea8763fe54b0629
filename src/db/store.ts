/**
 * The one data-access seam of the services: a few generic, asynchronous primitives (select, insert, update,
 * delete, count, max, transaction) over the domain tables, implemented once per dialect (store-sqlite.ts,
 * store-pg.ts). Services build their conditions with drizzle's dialect-neutral operators (`eq`, `and`, `inArray`,
 * `asc`, `desc`…) on `store.t`, the dialect's own table objects, so a value is encoded the way its column stores it
 * (a Date as milliseconds in SQLite, as a timestamp in PostgreSQL). `t` is typed as the SQLite tables: the
 * PostgreSQL tables have identical row types, checked at compile time in schema-check.ts.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Checker } from '../domain/json.js';
import * as schema from './schema.js';
import type { StoredJson } from './stored-columns.js';

/** The domain tables by name (typed as the SQLite ones; see schema-check.ts for PostgreSQL). */
export const sqliteTables = {
  datasets: schema.datasets,
  datasetFiles: schema.datasetFiles,
  sessions: schema.sessions,
  trainingRuns: schema.trainingRuns,
  progressEvents: schema.progressEvents,
  models: schema.models,
  testPredictions: schema.testPredictions,
  predictions: schema.predictions,
  predictionRows: schema.predictionRows,
  settings: schema.settings,
  searches: schema.searches,
};

export type Tables = typeof sqliteTables;
export type TableName = keyof Tables;
/** A drizzle row type with each JSON column (typed `unknown` in the schemas) given its checker's type (or `Also`). */
type WithJson<Raw, N extends TableName, Also = never> = N extends keyof StoredJson
  ? { [K in keyof Raw]: K extends keyof StoredJson[N] ? CheckedType<StoredJson[N][K]> | Also : Raw[K] }
  : Raw;
type CheckedType<C> = C extends Checker<infer T> ? T : never;
/** A row as read: its JSON columns checked (stored-columns.ts, applied by both stores). */
export type Row<N extends TableName> = WithJson<Tables[N]['$inferSelect'], N>;
/** A row as written: JSON columns take their domain types, or their text already serialised (`jsonText`). */
export type NewRow<N extends TableName> = WithJson<Tables[N]['$inferInsert'], N, JsonText>;

/** A JSON column's value given as its JSON text: written as is, as the column would have serialised the value. */
export type JsonText = SQL;

/**
 * `text` (JSON.stringify of a value of the column's type) as a JSON column's value: a large value serialised off the
 * event loop (the training thread's held-out predictions) is stored without being parsed and serialised again.
 * Such a row is written on the store's own connection (SQL does not cross to SQLite's writer thread).
 */
export function jsonText(text: string): JsonText {
  return sql`${text}`;
}
/** Columns of a table whose values are numbers (what `max` reads). */
export type NumericColumn<N extends TableName> = {
  [K in keyof Row<N>]: Row<N>[K] extends number ? K : never;
}[keyof Row<N>];

/** Rows for one table, as `Store.insertAll` takes them. */
export type Insert = { [N in TableName]: { table: N; values: NewRow<N> | readonly NewRow<N>[] } }[TableName];

export interface Query {
  where?: SQL | undefined;
  /** `asc(column)` / `desc(column)` terms, first one first. */
  orderBy?: SQL[];
  limit?: number;
  offset?: number;
}

export interface PickQuery<K> extends Query {
  /** Only these columns are read (a listing leaves large JSON columns in the database). */
  columns: readonly K[];
}

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly dialect: Dialect;
  /** The dialect's tables, for building conditions and order terms. */
  readonly t: Tables;

  select<N extends TableName, K extends keyof Row<N>>(table: N, query: PickQuery<K>): Promise<Pick<Row<N>, K>[]>;
  select<N extends TableName>(table: N, query?: Query): Promise<Row<N>[]>;
  /** The first row of the query, or null. */
  first<N extends TableName, K extends keyof Row<N>>(table: N, query: PickQuery<K>): Promise<Pick<Row<N>, K> | null>;
  first<N extends TableName>(table: N, query?: Query): Promise<Row<N> | null>;
  /** Inserts rows; with `onConflictDoNothing` a row whose key exists is skipped. Returns the rows inserted. */
  insert<N extends TableName>(
    table: N,
    values: NewRow<N> | readonly NewRow<N>[],
    options?: { onConflictDoNothing?: boolean },
  ): Promise<number>;
  /**
   * Inserts rows into one or more tables in one transaction (a row with its bytes); returns the rows inserted. On
   * SQLite, rows with large blobs are written by a connection in another thread (sqlite-writer.ts) while this
   * store's other callers wait their turn, so the event loop does not wait for the disk.
   */
  insertAll(writes: readonly Insert[]): Promise<number>;
  /** Sets columns of the rows matching `where`; returns how many rows changed. */
  update<N extends TableName>(table: N, set: Partial<NewRow<N>>, where: SQL | undefined): Promise<number>;
  /** Deletes the rows matching `where`; returns how many. */
  delete(table: TableName, where: SQL | undefined): Promise<number>;
  count(table: TableName, where?: SQL): Promise<number>;
  max<N extends TableName>(table: N, column: NumericColumn<N>, where?: SQL): Promise<number | null>;
  /** Runs `work` in one transaction (committed when it resolves, rolled back when it throws). */
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;
  /** The `index`-th element of a JSON array column, as a number (for ORDER BY). */
  jsonArrayElement(column: AnyColumn, index: number): SQL<number>;
}

/** What opening a database gives: the store, and how to close it. */
export interface StoreHandle {
  store: Store;
  /** Says whether the database answers (health). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
