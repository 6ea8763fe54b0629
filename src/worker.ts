/**
 * A training worker (`npm run worker`): the services with no HTTP server, taking runs from the shared BullMQ queue
 * (TRAINING_CONCURRENCY at once) and writing their progress and results to the shared database. Needs REDIS_URL and
 * DATABASE_URL (PostgreSQL): a SQLite file belongs to one process. SIGTERM / SIGINT: running runs get
 * WORKER_STOP_GRACE_SECONDS to finish, then go back to the queue for another worker.
 */
import { ConfigError, loadConfig } from './config.js';
import { stopOnSignals } from './shutdown.js';
import { createLogger } from './logger.js';
import { createServices } from './services/container.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.redisUrl === null)
    throw new ConfigError('REDIS_URL', 'is required by a worker (it takes runs from the shared queue in Redis)');
  if (config.databaseUrl === null)
    throw new ConfigError(
      'DATABASE_URL',
      'is required by a worker (postgres://…): a SQLite file (DATABASE_PATH) belongs to one server process',
    );
  const logger = createLogger(config.logLevel, { role: 'worker' });
  const services = await createServices({ ...config, embeddedWorkers: true }, logger);
  process.stdout.write(
    `Training worker ready: ${config.trainingConcurrency} run(s) at once, queue ${config.redisPrefix}training (pid ${process.pid})\n`,
  );
  stopOnSignals(() => services.close(), logger);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`Cannot start a worker: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `Worker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
