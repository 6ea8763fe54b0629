/** Small helpers shared by the tree models. */
import type { Matrix } from '../../types.js';

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
