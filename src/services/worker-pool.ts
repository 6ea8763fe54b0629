/**
 * Piscina pools running src/ml/worker.ts. Workers load TypeScript through tsx, also when the app itself runs
 * under another loader (vitest).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Piscina } from 'piscina';

const here = path.dirname(fileURLToPath(import.meta.url));
const compiled = path.extname(fileURLToPath(import.meta.url)) === '.js';
export const WORKER_FILE = path.resolve(here, '..', 'ml', compiled ? 'worker.js' : 'worker.ts');

function workerExecArgv(): string[] {
  const argv = process.execArgv.filter((arg) => !arg.startsWith('--input-type') && !arg.startsWith('--eval'));
  const hasTsx = argv.some((arg, i) => (arg === '--import' && argv[i + 1]?.startsWith('tsx')) || arg.startsWith('--import=tsx'));
  return compiled || hasTsx ? argv : [...argv, '--import', 'tsx'];
}

/** `warm`: keep one thread alive, so a run's first progress event does not wait for a thread to start. */
export function createWorkerPool(maxThreads: number, options: { warm?: boolean; idleTimeoutMs?: number } = {}): Piscina {
  return new Piscina({
    filename: WORKER_FILE,
    minThreads: options.warm ? 1 : 0,
    maxThreads,
    idleTimeout: options.idleTimeoutMs ?? 60_000,
    execArgv: workerExecArgv(),
    // A training task is long; queue the rest of the jobs in our own FIFO queue, not in piscina's.
    concurrentTasksPerWorker: 1,
  });
}
