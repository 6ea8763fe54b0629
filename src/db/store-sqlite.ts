/**
 * The Store on SQLite (better-sqlite3 + drizzle). better-sqlite3 is synchronous: each primitive runs at once and
 * resolves. A transaction is BEGIN … COMMIT on the one connection; while its work awaits, every other caller's
 * primitive waits for it to end (the gate), so no unrelated write lands inside it or in its rollback. Rows with
 * large blobs are inserted by the writer thread's connection (sqlite-writer.ts), the gate held the same way.
 */
import type Database from 'better-sqlite3';
import { SQL, count, getTableColumns, is, max, sql, type AnyColumn } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type * as schema from './schema.js';
import type { SqliteWriter, TableRows } from './sqlite-writer.js';
import { checkStoredRow } from './stored-columns.js';
import {
  sqliteTables,
  type Insert,
  type NewRow,
  type NumericColumn,
  type PickQuery,
  type Query,
  type Row,
  type Store,
  type TableName,
  type Tables,
} from './store.js';

export type SqliteDb = BetterSQLite3Database<typeof schema>;

/**
 * Blob bytes from which an insert goes to the writer thread: below, writing on this thread costs the event loop
 * under a millisecond, less than copying the rows to the thread and back.
 */
export const OFF_THREAD_BLOB_BYTES = 256 * 1024;

/** Blob bytes of the rows; 0 when a value is SQL (`jsonText`), which cannot be sent to the writer thread. */
function blobBytes(writes: readonly TableRows[]): number {
  let bytes = 0;
  for (const { rows } of writes)
    for (const row of rows)
      for (const value of Object.values(row)) {
        if (is(value, SQL)) return 0;
        if (value instanceof Uint8Array) bytes += value.byteLength;
      }
  return bytes;
}

function tableRows(write: Insert): TableRows {
  return { table: write.table, rows: Array.isArray(write.values) ? write.values : [write.values] };
}

/** Serialises transactions against the other callers of one connection. */
interface Gate {
  open: Promise<void> | null;
}

function columnsOf(table: SQLiteTable, keys: readonly PropertyKey[]): Record<string, SQLiteColumn> {
  const all: Record<string, SQLiteColumn> = getTableColumns(table);
  return Object.fromEntries(keys.map((key) => [String(key), all[String(key)]]));
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite';
  readonly t: Tables = sqliteTables;

  constructor(
    private readonly db: SqliteDb,
    private readonly sqlite: Database.Database,
    private readonly writer: SqliteWriter | null = null,
    private readonly gate: Gate = { open: null },
    private readonly inTransaction = false,
  ) {}

  /**
   * Runs `work` (synchronous) once no transaction of another caller is open. The check and the work share one
   * synchronous stretch: after an `await`, another caller could have opened one meanwhile.
   */
  private async turn<T>(work: () => T): Promise<T> {
    while (!this.inTransaction && this.gate.open) await this.gate.open;
    return work();
  }

  private table(name: TableName): SQLiteTable {
    return this.t[name];
  }

  private build(name: TableName, query: Query & { columns?: readonly PropertyKey[] }) {
    const table = this.table(name);
    const base = query.columns
      ? this.db.select(columnsOf(table, query.columns)).from(table)
      : this.db.select().from(table);
    let built = base.where(query.where).$dynamic();
    if (query.orderBy?.length) built = built.orderBy(...query.orderBy);
    if (query.limit !== undefined) built = built.limit(query.limit);
    if (query.offset !== undefined) built = built.offset(query.offset);
    return built;
  }

  select<N extends TableName, K extends keyof Row<N>>(table: N, query: PickQuery<K>): Promise<Pick<Row<N>, K>[]>;
  select<N extends TableName>(table: N, query?: Query): Promise<Row<N>[]>;
  async select<N extends TableName>(table: N, query: Query & { columns?: readonly PropertyKey[] } = {}) {
    const rows: Record<string, unknown>[] = await this.turn(() => this.build(table, query).all());
    for (const row of rows) checkStoredRow(table, row);
    // The rows of `this.t[table]` (or the picked columns of it), JSON columns just checked: typed by the table's name.
    return rows as Row<N>[];
  }

  first<N extends TableName, K extends keyof Row<N>>(table: N, query: PickQuery<K>): Promise<Pick<Row<N>, K> | null>;
  first<N extends TableName>(table: N, query?: Query): Promise<Row<N> | null>;
  async first<N extends TableName>(table: N, query: Query & { columns?: readonly PropertyKey[] } = {}) {
    const row: Record<string, unknown> | undefined = await this.turn(() =>
      this.build(table, { ...query, limit: 1 }).get(),
    );
    if (row) checkStoredRow(table, row);
    // As in select: the row of `this.t[table]`.
    return (row as Row<N> | undefined) ?? null;
  }

  async insert<N extends TableName>(
    table: N,
    values: NewRow<N> | readonly NewRow<N>[],
    options: { onConflictDoNothing?: boolean } = {},
  ): Promise<number> {
    const rows = Array.isArray(values) ? values : [values];
    if (rows.length === 0) return 0;
    const offThread = options.onConflictDoNothing ? null : this.offThread([{ table, rows }]);
    if (offThread) return offThread;
    return this.turn(() => {
      const statement = this.db.insert(this.table(table)).values(rows);
      return (options.onConflictDoNothing ? statement.onConflictDoNothing().run() : statement.run()).changes;
    });
  }

  async insertAll(writes: readonly Insert[]): Promise<number> {
    const offThread = this.offThread(writes.map(tableRows));
    if (offThread) return offThread;
    return this.transaction(async (tx) => {
      let total = 0;
      for (const write of writes) total += await tx.insert(write.table, write.values);
      return total;
    });
  }

  /**
   * Inserts large rows through the writer thread, the gate held; null for small ones, and inside a transaction of
   * this connection (the thread's connection would wait for its lock).
   */
  private offThread(writes: readonly TableRows[]): Promise<number> | null {
    const writer = this.writer;
    if (this.inTransaction || !writer?.alive || blobBytes(writes) < OFF_THREAD_BLOB_BYTES) return null;
    return this.exclusive(() => writer.insert(writes));
  }

  async update<N extends TableName>(table: N, set: Partial<NewRow<N>>, where: SQL | undefined): Promise<number> {
    return this.turn(() => this.db.update(this.table(table)).set(set).where(where).run().changes);
  }

  async delete(table: TableName, where: SQL | undefined): Promise<number> {
    return this.turn(() => this.db.delete(this.table(table)).where(where).run().changes);
  }

  async count(table: TableName, where?: SQL): Promise<number> {
    return this.turn(() => this.db.select({ value: count() }).from(this.table(table)).where(where).get()?.value ?? 0);
  }

  async max<N extends TableName>(table: N, column: NumericColumn<N>, where?: SQL): Promise<number | null> {
    const target = columnsOf(this.table(table), [column])[String(column)];
    const row = await this.turn(() =>
      this.db
        .select({ value: max(target) })
        .from(this.table(table))
        .where(where)
        .get(),
    );
    return typeof row?.value === 'number' ? row.value : null;
  }

  async transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return this.exclusive(async () => {
      try {
        this.sqlite.exec('BEGIN');
        const result = await work(new SqliteStore(this.db, this.sqlite, this.writer, this.gate, true));
        this.sqlite.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /** Runs `work` with the gate held: the other callers' primitives wait (asynchronously) until it settles. */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    // No await between this check and taking the gate (see turn).
    while (this.gate.open) await this.gate.open;
    let release = () => {
      // set below
    };
    this.gate.open = new Promise<void>((resolve) => (release = resolve));
    try {
      return await work();
    } finally {
      this.gate.open = null;
      release();
    }
  }

  jsonArrayElement(column: AnyColumn, index: number): SQL<number> {
    return sql<number>`json_extract(${column}, ${`$[${index}]`})`;
  }
}
