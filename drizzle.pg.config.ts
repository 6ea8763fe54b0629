import { defineConfig } from 'drizzle-kit';

// The PostgreSQL migrations (DATABASE_URL); drizzle.config.ts makes the SQLite ones. `npm run db:generate` runs both.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.pg.ts',
  out: './src/db/migrations-pg',
});
