/**
 * Entry point: read the environment, start the server, stop gracefully on SIGINT/SIGTERM.
 */
import { loadConfig, ConfigError } from './config.js';
import { buildApp } from './http/server.js';
import { stopOnSignals } from './shutdown.js';
import { createLogger } from './logger.js';
import { listenErrorMessage, startupSummary } from './startup.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = await buildApp(config, { logger });
  let port: number;
  try {
    ({ port } = await app.start());
  } catch (error) {
    const message = listenErrorMessage(error, config);
    if (!message) throw error;
    process.stderr.write(`${message}\n`);
    // Recovery may already have started queued runs: put them back and release the database before leaving.
    await app.stop().catch(() => undefined);
    process.exit(2);
  }
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  process.stdout.write(`${(await startupSummary(config, app.services, `http://${shown}:${port}`)).join('\n')}\n`);
  stopOnSignals(() => app.stop(), logger);
}

main().catch((error: unknown) => {
  // A bad variable, an unusable path, a database held by another server: one line naming the variable.
  if (error instanceof ConfigError) {
    process.stderr.write(`Cannot start: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
