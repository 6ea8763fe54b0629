/**
 * PostgreSQL through node-postgres + drizzle (DATABASE_URL): a connection pool, the committed migrations of
 * src/db/migrations-pg applied at start-up under an advisory lock (several processes may start at once), and a
 * bounded wait for a server that is not up yet.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { ConfigError } from '../config.js';
import { isDatabaseUnavailable } from './errors.js';
import * as pgSchema from './schema.pg.js';
import { PgStore } from './store-pg.js';
import type { StoreHandle } from './store.js';

const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations-pg');
/** Any constant: the key of the advisory lock that lets one process at a time migrate. */
const MIGRATION_LOCK_KEY = 7_305_113;

export interface PostgresOptions {
  /** Longest wait for the server to accept connections at start-up. */
  connectTimeoutMs?: number;
  /** Connections in the pool. */
  poolSize?: number;
  /** Told once per failed attempt while the server is not up yet. */
  onRetry?: (info: { attempt: number; error: string; waitedMs: number }) => void;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

async function connectWithRetry(pool: pg.Pool, url: string, options: PostgresOptions): Promise<pg.PoolClient> {
  const timeout = options.connectTimeoutMs ?? 30_000;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.connect();
    } catch (error) {
      const waitedMs = Date.now() - started;
      if (!isDatabaseUnavailable(error) || waitedMs >= timeout)
        throw new ConfigError(
          'DATABASE_URL',
          `cannot use PostgreSQL at ${redactUrl(url)}: ${describe(error)}` +
            (waitedMs >= timeout ? ` (waited ${Math.round(waitedMs / 1000)} s for it to accept connections)` : ''),
        );
      options.onRetry?.({ attempt, error: describe(error), waitedMs });
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * attempt)));
    }
  }
}

export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<StoreHandle> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client that loses its server (a restart) emits here: without a listener the process would end.
  pool.on('error', () => {
    // The next query gets a fresh connection, or a clear error.
  });
  try {
    const client = await connectWithRetry(pool, url, options);
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await migrate(drizzle(client, { schema: pgSchema }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = drizzle(pool, { schema: pgSchema });
  let closed = false;
  return {
    store: new PgStore(db),
    ping: async () => {
      await pool.query('select 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
