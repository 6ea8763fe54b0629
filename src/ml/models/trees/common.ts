/** Small helpers shared by the tree models. */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Matrix } from '../../types.js';

/**
 * Starts the worker script `name` (a module next to this one); under tsx/vitest (TypeScript sources) the worker
 * registers tsx's require hook itself.
 */
export function spawnTreeWorker(name: 'forest-worker' | 'histogram-worker' | 'predict-worker'): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // `execArgv: ['--import', 'tsx']` does not take effect in worker threads on Node 20 (ERR_UNKNOWN_FILE_EXTENSION),
    // so the worker is bootstrapped by tsx's in-thread CommonJS hook instead.
    const tsxApi = createRequire(here).resolve('tsx/cjs/api');
    const target = fileURLToPath(new URL(`./${name}.ts`, here));
    const code = `require(${JSON.stringify(tsxApi)}).register(); require(${JSON.stringify(target)});`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL(`./${name}.js`, here));
}

/** Lets pending messages (e.g. a cancellation) run between training steps, at most every `intervalMs`. */
export function makeYielder(intervalMs = 20): () => Promise<void> {
  let last = performance.now();
  return async () => {
    const now = performance.now();
    if (now - last < intervalMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = performance.now();
  };
}

export function checkMatrix(X: Matrix, numFeatures: number): void {
  if (X.cols !== numFeatures) throw new RangeError(`model expects ${numFeatures} features, got ${X.cols}`);
}

export function checkTrainingData(X: Matrix, y: Int32Array, numClasses: number): void {
  if (X.rows === 0) throw new RangeError('cannot train on an empty matrix');
  if (y.length !== X.rows) throw new RangeError(`${y.length} labels for ${X.rows} rows`);
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw new RangeError(`numClasses must be ≥ 2, got ${numClasses}`);
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= numClasses) throw new RangeError(`label ${y[i]} at row ${i} is outside [0, ${numClasses})`);
  }
}
