/**
 * The Store on PostgreSQL (node-postgres Pool + drizzle). Each primitive is one statement on a pooled connection;
 * a transaction holds one connection from BEGIN to COMMIT and hands `work` a Store bound to it.
 */
import { count, getTableColumns, max, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import * as pgSchema from './schema.pg.js';
import { checkStoredRow } from './stored-columns.js';
import type { Insert, NewRow, NumericColumn, PickQuery, Query, Row, Store, TableName, Tables } from './store.js';

export type PgDb = NodePgDatabase<typeof pgSchema>;
/** The database or a transaction on it: both build and run the same statements. */
type PgRunner = Pick<PgDb, 'select' | 'insert' | 'update' | 'delete' | 'transaction'>;

const pgTables = {
  datasets: pgSchema.datasets,
  datasetFiles: pgSchema.datasetFiles,
  sessions: pgSchema.sessions,
  trainingRuns: pgSchema.trainingRuns,
  progressEvents: pgSchema.progressEvents,
  models: pgSchema.models,
  testPredictions: pgSchema.testPredictions,
  predictions: pgSchema.predictions,
  predictionRows: pgSchema.predictionRows,
  settings: pgSchema.settings,
  searches: pgSchema.searches,
} satisfies Record<TableName, PgTable>;

/**
 * The PostgreSQL tables under the Store's table type (the SQLite one). Sound for what services do with them: build
 * conditions and order terms with drizzle's dialect-neutral operators (which take any Column) and name columns by
 * key; every row read or written through them has the identical type (schema-check.ts proves it per table).
 */
const tablesForServices = pgTables as unknown as Tables;

function columnsOf(table: PgTable, keys: readonly PropertyKey[]): Record<string, PgColumn> {
  const all: Record<string, PgColumn> = getTableColumns(table);
  return Object.fromEntries(keys.map((key) => [String(key), all[String(key)]]));
}

export class PgStore implements Store {
  readonly dialect = 'postgres';
  readonly t: Tables = tablesForServices;

  constructor(private readonly db: PgRunner) {}

  private table(name: TableName): PgTable {
    return pgTables[name];
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
    const rows: Record<string, unknown>[] = await this.build(table, query);
    for (const row of rows) checkStoredRow(table, row);
    // The rows of pgTables[table] (or the picked columns of it), JSON columns just checked: Row<N> by
    // schema-check.ts and stored-columns.ts.
    return rows as Row<N>[];
  }

  first<N extends TableName, K extends keyof Row<N>>(table: N, query: PickQuery<K>): Promise<Pick<Row<N>, K> | null>;
  first<N extends TableName>(table: N, query?: Query): Promise<Row<N> | null>;
  async first<N extends TableName>(table: N, query: Query & { columns?: readonly PropertyKey[] } = {}) {
    const rows: Record<string, unknown>[] = await this.build(table, { ...query, limit: 1 });
    if (rows[0]) checkStoredRow(table, rows[0]);
    // As in select.
    return (rows[0] as Row<N> | undefined) ?? null;
  }

  async insert<N extends TableName>(
    table: N,
    values: NewRow<N> | readonly NewRow<N>[],
    options: { onConflictDoNothing?: boolean } = {},
  ): Promise<number> {
    const rows = Array.isArray(values) ? values : [values];
    if (rows.length === 0) return 0;
    const statement = this.db.insert(this.table(table)).values(rows);
    const result = options.onConflictDoNothing ? await statement.onConflictDoNothing() : await statement;
    return result.rowCount ?? 0;
  }

  insertAll(writes: readonly Insert[]): Promise<number> {
    // The driver is asynchronous already: one transaction is all a row and its bytes need.
    return this.transaction(async (tx) => {
      let total = 0;
      for (const write of writes) total += await tx.insert(write.table, write.values);
      return total;
    });
  }

  async update<N extends TableName>(table: N, set: Partial<NewRow<N>>, where: SQL | undefined): Promise<number> {
    const result = await this.db.update(this.table(table)).set(set).where(where);
    return result.rowCount ?? 0;
  }

  async delete(table: TableName, where: SQL | undefined): Promise<number> {
    const result = await this.db.delete(this.table(table)).where(where);
    return result.rowCount ?? 0;
  }

  async count(table: TableName, where?: SQL): Promise<number> {
    const rows = await this.db.select({ value: count() }).from(this.table(table)).where(where);
    return rows[0]?.value ?? 0;
  }

  async max<N extends TableName>(table: N, column: NumericColumn<N>, where?: SQL): Promise<number | null> {
    const target = columnsOf(this.table(table), [column])[String(column)];
    const rows = await this.db
      .select({ value: max(target) })
      .from(this.table(table))
      .where(where);
    const value = rows[0]?.value;
    return typeof value === 'number' ? value : null;
  }

  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work(new PgStore(tx)));
  }

  jsonArrayElement(column: AnyColumn, index: number): SQL<number> {
    return sql<number>`(${column}->>${sql.raw(String(Math.trunc(index)))})::float8`;
  }
}
