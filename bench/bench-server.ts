/**
 * The real server in a benchmark's own process: buildApp on 127.0.0.1 port 0, a temporary database and upload
 * folder, warn-level logs; TRAINING_THREADS passes through from the environment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type AppConfig } from '../src/config.js';
import { buildApp, type App } from '../src/http/server.js';
import { createLogger, type Logger } from '../src/logger.js';
import { RecyclingPool } from '../src/services/worker-pool.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Built, not started (a bench may set things up before it listens); `dir` is the benchmark's temporary folder. */
export async function buildBenchApp(
  name: string,
  env: Record<string, string> = {},
  /** A bench that reads the server's log lines brings its own (warn level otherwise). */
  logger: Logger = createLogger('warn'),
): Promise<{ app: App; config: AppConfig; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `exoplanet-bench-${name}-`));
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: path.join(dir, 'bench.db'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      LOG_LEVEL: 'warn',
      ...(process.env.TRAINING_THREADS ? { TRAINING_THREADS: process.env.TRAINING_THREADS } : {}),
      ...env,
    },
    repoRoot,
  );
  return { app: await buildApp(config, { logger }), config, dir };
}

/**
 * Ends the worker threads that ran a task now (a training run's: their idle timer would, WORKER_IDLE_SECONDS later)
 * and waits for the fresh kept thread's warm-up: a measurement that follows a training run then meets a settled server.
 * Otherwise the thread's teardown, the new thread's isolate and its training warm-up (below the event loop's priority,
 * but on its core when pinned) land in whichever window runs ~10 s after the training: perf found them in
 * bench:predict-profile's windows at 500 req/s.
 */
export async function settleWorkerThreads(): Promise<void> {
  await RecyclingPool.recycleAll();
  await RecyclingPool.allWarmedUp();
}
