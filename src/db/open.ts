/**
 * The one place the dialect is chosen: PostgreSQL when DATABASE_URL is set, SQLite at DATABASE_PATH otherwise.
 * Either way the committed migrations of that dialect are applied before the store is handed out.
 */
import type { AppConfig } from '../config.js';
import type { PostgresOptions } from './client-pg.js';
import { openSqliteStore } from './client.js';
import type { StoreHandle } from './store.js';

export async function openStore(
  config: Pick<AppConfig, 'databasePath' | 'databaseUrl'>,
  options: PostgresOptions = {},
): Promise<StoreHandle> {
  if (config.databaseUrl !== null) {
    const { openPostgresStore } = await import('./client-pg.js');
    return openPostgresStore(config.databaseUrl, options);
  }
  return openSqliteStore(config.databasePath);
}
