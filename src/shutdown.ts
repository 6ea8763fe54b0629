/**
 * Graceful stop on SIGINT / SIGTERM for the server (`npm start`) and the training worker (`npm run worker`): the
 * first signal stops the process's services and exits 0 (1 if stopping failed); a second one exits at once.
 */
import type { Logger } from './logger.js';

export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { err: error });
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      shutdown(signal);
    });
}
