/**
 * Permutation importance: how much the macro-F1 on held-out data drops when one feature's column is shuffled
 * (breaking its link with the label while keeping its distribution). Model-agnostic, seeded.
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import { Random } from '../random.js';
import { throwIfAborted, type Matrix } from '../types.js';

export interface PermutationOptions {
  /** Shuffles per feature (default 5). */
  repeats?: number;
  seed: number;
  signal?: AbortSignal;
  /** Called after each feature with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface PermutationResult {
  /** Mean macro-F1 drop per feature (may be slightly negative for useless features). */
  mean: Float64Array;
  /** Population standard deviation of the drop over the repeats (numpy's `std`, as scikit-learn reports). */
  std: Float64Array;
  /** Macro-F1 with no column shuffled. */
  baseline: number;
}

/** Repeats are stacked into one matrix per feature (fewer, larger model calls) up to this many values. */
const MAX_BATCH_VALUES = 4_000_000;

export function permutationImportance(
  predictProba: (X: Matrix) => Float64Array,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: PermutationOptions,
): PermutationResult {
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols } = X;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  const score = (proba: Float64Array, offset: number): number =>
    macroF1(y, argmaxRows(proba.subarray(offset * numClasses, (offset + rows) * numClasses), numClasses), numClasses);

  const baseline = score(predictProba(X), 0);
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const root = new Random(options.seed);
  const seeds = Array.from({ length: cols }, () => root.int(0x7fffffff));
  const blockRepeats = Math.max(1, Math.min(repeats, Math.floor(MAX_BATCH_VALUES / Math.max(1, rows * cols))));
  const work = new Float64Array(blockRepeats * rows * cols);
  for (let r = 0; r < blockRepeats; r++) work.set(X.data, r * rows * cols);
  const permutation = new Int32Array(rows);
  const drops = new Float64Array(repeats);

  for (let j = 0; j < cols; j++) {
    throwIfAborted(options.signal);
    // Each feature has its own stream, so its result does not depend on how many features come before it.
    const random = new Random(seeds[j]);
    for (let done = 0; done < repeats; done += blockRepeats) {
      const block = Math.min(blockRepeats, repeats - done);
      for (let r = 0; r < block; r++) {
        for (let i = 0; i < rows; i++) permutation[i] = i;
        random.shuffle(permutation);
        const base = r * rows * cols;
        for (let i = 0; i < rows; i++) work[base + i * cols + j] = X.data[permutation[i] * cols + j];
      }
      // A short last block gets its own array (not a view), so callers may use `data.buffer` safely.
      const data = block === blockRepeats ? work : work.slice(0, block * rows * cols);
      const proba = predictProba({ rows: block * rows, cols, data });
      for (let r = 0; r < block; r++) drops[done + r] = baseline - score(proba, r * rows);
    }
    // Restore column j in every stacked copy.
    for (let r = 0; r < blockRepeats; r++) {
      const base = r * rows * cols;
      for (let i = 0; i < rows; i++) work[base + i * cols + j] = X.data[i * cols + j];
    }
    let sum = 0;
    for (let r = 0; r < repeats; r++) sum += drops[r];
    const m = sum / repeats;
    let squares = 0;
    for (let r = 0; r < repeats; r++) squares += (drops[r] - m) ** 2;
    mean[j] = m;
    std[j] = Math.sqrt(squares / repeats);
    options.onProgress?.(j + 1, cols);
  }
  return { mean, std, baseline };
}
