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
  /**
   * Rows each repeat scores (default: all). Below the row count, each repeat scores its own seeded sample,
   * stratified by class (every class keeps its share), the same sample for every feature: the spread over the
   * repeats then holds the row-sampling error too, and `ci95` states it.
   */
  rowsPerRepeat?: number;
  /** The model's probabilities on X when already computed (the evaluation's): X is not predicted again. */
  baselineProba?: Float64Array;
}

export interface PermutationResult {
  /** Mean macro-F1 drop per feature (may be slightly negative for useless features). */
  mean: Float64Array;
  /** Population standard deviation of the drop over the repeats (numpy's `std`, as scikit-learn reports). */
  std: Float64Array;
  /** Macro-F1 with no column shuffled. */
  baseline: number;
}

export interface SampledPermutationResult extends PermutationResult {
  /** Half-width of a 95 % confidence interval of each mean drop (Student t over the repeats); 0 with one repeat. */
  ci95: Float64Array;
  rowsPerRepeat: number;
}

/** Repeats are stacked into one matrix per feature (fewer, larger model calls) up to this many values. */
const MAX_BATCH_VALUES = 4_000_000;

/** Two-sided 97.5 % quantiles of Student's t for 1..10 degrees of freedom (then ~normal). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/** Half-width of the 95 % interval of the mean of `values` (Student t); 0 for fewer than 2 values. */
export function ci95OfMean(values: Float64Array): number {
  const n = values.length;
  if (n < 2) return 0;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return (T975[Math.min(n - 2, T975.length - 1)] * Math.sqrt(squares / (n - 1))) / Math.sqrt(n);
}

/** A feature's macro-F1 drops over the repeats: their mean, population sd and 95 % interval half-width. */
export function dropStats(drops: Float64Array): { mean: number; std: number; ci95: number } {
  const n = drops.length;
  let sum = 0;
  for (const v of drops) sum += v;
  const mean = sum / n;
  let squares = 0;
  for (const v of drops) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / n), ci95: ci95OfMean(drops) };
}

/**
 * `count` of the `y.length` rows, seeded, stratified: each class gets its share of `count` (largest remainders
 * first, ties to the lower class), drawn uniformly within the class. Ascending row indices.
 */
export function stratifiedSample(y: Int32Array, numClasses: number, count: number, random: Random): Int32Array {
  if (count >= y.length) return Int32Array.from({ length: y.length }, (_, i) => i);
  return drawStratified(classMembers(y, numClasses), y.length, count, random);
}

/** Each class's row indices, ascending, in typed arrays (counted first: no growing arrays of 60,000 pushes). */
function classMembers(y: Int32Array, numClasses: number): Int32Array[] {
  const sizes = new Int32Array(numClasses);
  for (const label of y) sizes[label]++;
  const members = Array.from({ length: numClasses }, (_, c) => new Int32Array(sizes[c]));
  const filled = new Int32Array(numClasses);
  for (let i = 0; i < y.length; i++) members[y[i]][filled[y[i]]++] = i;
  return members;
}

/** stratifiedSample's draw from `members` (each class's rows ascending; shuffled in place), `count` < `total`. */
function drawStratified(members: Int32Array[], total: number, count: number, random: Random): Int32Array {
  const quota = members.map((m) => Math.floor((count * m.length) / total));
  let left = count - quota.reduce((s, q) => s + q, 0);
  const byRemainder = members
    .map((m, c) => ({ c, remainder: (count * m.length) / total - quota[c] }))
    .sort((a, b) => b.remainder - a.remainder || a.c - b.c);
  for (const { c } of byRemainder) {
    if (left === 0) break;
    if (quota[c] < members[c].length) {
      quota[c]++;
      left--;
    }
  }
  const sample = new Int32Array(quota.reduce((s, q) => s + q, 0));
  let s = 0;
  members.forEach((m, c) => {
    // Partial Fisher–Yates: the first quota[c] entries become a uniform draw.
    for (let a = 0; a < quota[c]; a++) {
      const b = a + random.int(m.length - a);
      const t = m[a];
      m[a] = m[b];
      m[b] = t;
      sample[s++] = m[a];
    }
  });
  return sample.sort();
}

/**
 * Each repeat's rows: its own seeded stratified sample of `perRepeat` rows (stratifiedSample), or every row when
 * `perRepeat` covers them. Drawn from a stream of their own, so the shuffles stay those of the unsampled routine; the
 * model-specific permutations (tree-permutation.ts, svm-permutation.ts) draw the same samples as permutationImportance.
 * The classes' rows are listed once and copied per repeat (each draw starts from them ascending, as stratifiedSample).
 */
export function repeatSamples(
  y: Int32Array,
  numClasses: number,
  perRepeat: number,
  repeats: number,
  seed: number,
): Int32Array[] {
  const sampler = new Random(seed ^ 0x5a5a5a5a);
  if (perRepeat >= y.length)
    return Array.from({ length: repeats }, () => stratifiedSample(y, numClasses, perRepeat, sampler));
  const members = classMembers(y, numClasses);
  return Array.from({ length: repeats }, () =>
    drawStratified(
      members.map((m) => m.slice()),
      y.length,
      perRepeat,
      sampler,
    ),
  );
}

export function permutationImportance(
  predictProba: (X: Matrix) => Float64Array,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: PermutationOptions,
): SampledPermutationResult {
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols } = X;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  const perRepeat = Math.max(1, Math.min(rows, Math.trunc(options.rowsPerRepeat ?? rows)));
  const sampling = perRepeat < rows;

  const baseProba = options.baselineProba ?? predictProba(X);
  if (baseProba.length !== rows * numClasses) throw new RangeError('baselineProba does not match X');
  const basePredicted = argmaxRows(baseProba, numClasses);
  const baseline = macroF1(y, basePredicted, numClasses);
  // Row samples per repeat (null: every row).
  const samples = sampling
    ? repeatSamples(y, numClasses, perRepeat, repeats, options.seed)
    : Array.from({ length: repeats }, () => null);
  const sampleLabels = samples.map((sample) => (sample ? Int32Array.from(sample, (i) => y[i]) : y));
  const sampleBaseline = samples.map((sample, r) =>
    sample
      ? macroF1(
          sampleLabels[r],
          Int32Array.from(sample, (i) => basePredicted[i]),
          numClasses,
        )
      : baseline,
  );
  const S = perRepeat;
  const score = (proba: Float64Array, r: number, offset: number): number =>
    macroF1(
      sampleLabels[r],
      argmaxRows(proba.subarray(offset * numClasses, (offset + S) * numClasses), numClasses),
      numClasses,
    );
  /** Row `a` of repeat r's sample, as a row index of X. */
  const rowOf = (r: number, a: number): number => samples[r]?.[a] ?? a;

  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const ci95 = new Float64Array(cols);
  const root = new Random(options.seed);
  const seeds = Array.from({ length: cols }, () => root.int(0x7fffffff));
  const blockRepeats = Math.max(1, Math.min(repeats, Math.floor(MAX_BATCH_VALUES / Math.max(1, S * cols))));
  const work = new Float64Array(blockRepeats * S * cols);
  /** The first repeat whose rows `work` holds (-1: none yet); column j is restored after each feature. */
  let loaded = -1;
  const load = (first: number) => {
    // Without sampling every repeat scores the same rows: the copies loaded once serve every block.
    if (loaded === first || (loaded !== -1 && !sampling)) return;
    for (let r = 0; r < blockRepeats && first + r < repeats; r++) {
      const base = r * S * cols;
      if (!samples[first + r]) work.set(X.data, base);
      else
        for (let a = 0; a < S; a++) {
          const from = rowOf(first + r, a) * cols;
          work.set(X.data.subarray(from, from + cols), base + a * cols);
        }
    }
    loaded = first;
  };
  const permutation = new Int32Array(S);
  const drops = new Float64Array(repeats);

  for (let j = 0; j < cols; j++) {
    throwIfAborted(options.signal);
    // Each feature has its own stream, so its result does not depend on how many features come before it.
    const random = new Random(seeds[j]);
    for (let done = 0; done < repeats; done += blockRepeats) {
      const block = Math.min(blockRepeats, repeats - done);
      load(done);
      for (let r = 0; r < block; r++) {
        for (let a = 0; a < S; a++) permutation[a] = a;
        random.shuffle(permutation);
        const base = r * S * cols;
        for (let a = 0; a < S; a++) work[base + a * cols + j] = X.data[rowOf(done + r, permutation[a]) * cols + j];
      }
      // A short last block gets its own array (not a view), so callers may use `data.buffer` safely.
      const data = block === blockRepeats ? work : work.slice(0, block * S * cols);
      const proba = predictProba({ rows: block * S, cols, data });
      for (let r = 0; r < block; r++) drops[done + r] = sampleBaseline[done + r] - score(proba, done + r, r * S);
      // Restore column j in every stacked copy.
      for (let r = 0; r < block; r++) {
        const base = r * S * cols;
        for (let a = 0; a < S; a++) work[base + a * cols + j] = X.data[rowOf(done + r, a) * cols + j];
      }
    }
    ({ mean: mean[j], std: std[j], ci95: ci95[j] } = dropStats(drops));
    options.onProgress?.(j + 1, cols);
  }
  return { mean, std, baseline, ci95, rowsPerRepeat: S };
}
