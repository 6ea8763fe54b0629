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

export function createWorkerPool(maxThreads: number, idleTimeoutMs = 60_000): Piscina {
  return new Piscina({
    filename: WORKER_FILE,
    minThreads: 0,
    maxThreads,
    idleTimeout: idleTimeoutMs,
    execArgv: workerExecArgv(),
    // A training task is long; queue the rest of the jobs in our own FIFO queue, not in piscina's.
    concurrentTasksPerWorker: 1,
  });
}
