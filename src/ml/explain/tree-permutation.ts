/**
 * Exact permutation importance for forests (probability = mean of the trees' leaf distributions), without
 * predicting every shuffled copy from scratch.
 *
 * Shuffling feature j changes a row's leaf in a tree only if j decides a split on the row's path, and even then
 * only when the new value leaves the interval that the path's j-splits allow (lo < x ≤ hi, NaN only where every
 * j-split sends NaN the way the path goes). So per tree: walk every row once, then for each (feature, repeat, row)
 * check the new value against its leaf's interval and re-walk only the rows that move, adding the difference of
 * the two leaves. The result equals predicting each shuffled copy (same permutations as `permutationImportance`,
 * same macro-F1 drops); only the order of the floating-point sums differs. Steps are trees, for live progress.
 *
 * With `rowsPerRepeat` below the row count, each repeat scores its own seeded random sample of rows (the same
 * sample for every feature, so features are compared on the same rows): the spread over repeats then holds the
 * row-sampling error too, and `ci95` states it.
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import type { PackedTrees } from '../models/trees/structure.js';
import { Random } from '../random.js';
import { throwIfAborted, type Matrix } from '../types.js';
import { dropStats, type PermutationOptions, type PermutationResult } from './permutation.js';

/** Shuffled-copy probabilities kept at once (features × repeats × rows × classes); more features go in groups. */
const MAX_ACCUMULATOR_VALUES = 8_000_000;

export interface ForestPermutationOptions extends PermutationOptions {
  /** Rows each repeat scores (default: all). */
  rowsPerRepeat?: number;
}

export interface ForestPermutationResult extends PermutationResult {
  /** Half-width of a 95 % confidence interval of each mean drop (Student t over the repeats); 0 with one repeat. */
  ci95: Float64Array;
  rowsPerRepeat: number;
}

/** Mean root-to-leaf depth summed over the trees: what one row's walk through the whole forest costs. */
export function forestPathLength(trees: PackedTrees): number {
  const { treeStart, feature, left, right } = trees;
  let total = 0;
  for (let t = 0; t < trees.treeCount; t++) {
    const s = treeStart[t];
    const n = treeStart[t + 1] - s;
    const depth = new Int32Array(n);
    let leaves = 0;
    let sum = 0;
    // Children follow their parent in the layout, so one forward pass sets every depth.
    for (let v = 0; v < n; v++) {
      if (feature[s + v] < 0) {
        leaves++;
        sum += depth[v];
      } else {
        depth[left[s + v]] = depth[v] + 1;
        depth[right[s + v]] = depth[v] + 1;
      }
    }
    total += leaves > 0 ? sum / leaves : 0;
  }
  return total;
}

/** The permutations `permutationImportance` uses: one stream per feature, `repeats` shuffles of 0..rows-1 each. */
export function featurePermutations(cols: number, rows: number, repeats: number, seed: number): Int32Array[][] {
  const root = new Random(seed);
  const seeds = Array.from({ length: cols }, () => root.int(0x7fffffff));
  return seeds.map((s) => {
    const random = new Random(s);
    return Array.from({ length: repeats }, () => {
      const permutation = Int32Array.from({ length: rows }, (_, i) => i);
      random.shuffle(permutation);
      return permutation;
    });
  });
}

/**
 * `trees` must hold every class in each leaf (valueWidth = numClasses, no per-tree output), as random forests and
 * decision trees do. `onProgress(done, total)` counts trees (times feature groups).
 */
export function forestPermutationImportance(
  trees: PackedTrees,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: ForestPermutationOptions,
): ForestPermutationResult {
  if (trees.treeOutput !== null || trees.valueWidth !== numClasses)
    throw new TypeError('forestPermutationImportance needs leaves holding every class');
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols, data } = X;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  const K = numClasses;
  const T = trees.treeCount;
  const { treeStart, feature, threshold, left, right, defaultLeft, values } = trees;
  const scale = 1 / T;
  const permutations = featurePermutations(cols, rows, repeats, options.seed);
  const perRepeat = Math.max(1, Math.min(rows, Math.trunc(options.rowsPerRepeat ?? rows)));
  // Row samples per repeat (all rows when not sampling), from their own stream so the permutations stay the same.
  const sampled = new Uint8Array(repeats * rows).fill(perRepeat < rows ? 0 : 1);
  const samples: Int32Array[] = [];
  const sampler = new Random(options.seed ^ 0x5a5a5a5a);
  for (let r = 0; r < repeats; r++) {
    if (perRepeat >= rows) {
      samples.push(Int32Array.from({ length: rows }, (_, i) => i));
      continue;
    }
    const order = Int32Array.from({ length: rows }, (_, i) => i);
    sampler.shuffle(order);
    const sample = order.subarray(0, perRepeat).sort();
    for (const i of sample) sampled[r * rows + i] = 1;
    samples.push(sample);
  }
  const sampleLabels = samples.map((sample) => Int32Array.from(sample, (i) => y[i]));

  /** The leaf row `row` reaches in the tree at `s`, from node `from`, with feature j's value replaced. */
  const leafOf = (s: number, from: number, row: number, j: number, replacement: number): number => {
    let n = from;
    const base = row * cols;
    while (feature[n] >= 0) {
      const f = feature[n];
      const x = f === j ? replacement : data[base + f];
      n = s + (x !== x ? (defaultLeft[n] === 1 ? left[n] : right[n]) : x > threshold[n] ? right[n] : left[n]);
    }
    return n;
  };

  // Baseline: every row's leaf per tree, summed.
  const baseSum = new Float64Array(rows * K);
  let maxNodes = 0;
  for (let t = 0; t < T; t++) maxNodes = Math.max(maxNodes, treeStart[t + 1] - treeStart[t]);
  for (let t = 0; t < T; t++) {
    const s = treeStart[t];
    for (let i = 0; i < rows; i++) {
      const v = leafOf(s, s, i, -1, 0) * K;
      for (let k = 0; k < K; k++) baseSum[i * K + k] += values[v + k];
    }
  }
  const scaled = new Float64Array(rows * K);
  for (let i = 0; i < scaled.length; i++) scaled[i] = baseSum[i] * scale;
  const baseline = macroF1(y, argmaxRows(scaled, K), K);
  const basePredicted = argmaxRows(scaled, K);
  const sampleBaseline = samples.map((sample, r) =>
    macroF1(
      sampleLabels[r],
      Int32Array.from(sample, (i) => basePredicted[i]),
      K,
    ),
  );
  const ci95 = new Float64Array(cols);
  const picked = new Float64Array(perRepeat * K);

  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const perFeature = repeats * rows * K;
  const groupSize = Math.max(1, Math.min(cols, Math.floor(MAX_ACCUMULATOR_VALUES / perFeature)));
  const groups = Math.ceil(cols / groupSize);
  // Per tree: parent of each node (-1 at the root) and, per node that is a leaf, its path's interval per feature.
  const parent = new Int32Array(maxNodes);
  const lo = new Float64Array(maxNodes * groupSize);
  const hi = new Float64Array(maxNodes * groupSize);
  /** Per (leaf, feature): bit 0 = the feature splits on the path, bit 1 = NaN would follow the path. */
  const flags = new Uint8Array(maxNodes * groupSize);
  /** Per (leaf, feature): the topmost split on the feature along the path; re-walks start there. */
  const top = new Int32Array(maxNodes * groupSize);
  const drops = new Float64Array(repeats);

  for (let g = 0; g < groups; g++) {
    const j0 = g * groupSize;
    const width = Math.min(groupSize, cols - j0);
    // Shuffled values, [feature][repeat][row], and probability sums of every shuffled copy (baseline + changes).
    const shuffled = new Float64Array(width * repeats * rows);
    for (let jj = 0; jj < width; jj++) {
      for (let r = 0; r < repeats; r++) {
        const permutation = permutations[j0 + jj][r];
        const o = (jj * repeats + r) * rows;
        for (let i = 0; i < rows; i++) shuffled[o + i] = data[permutation[i] * cols + j0 + jj];
      }
    }
    const sums = new Float64Array(width * repeats * rows * K);
    for (let c = 0; c < width * repeats; c++) sums.set(baseSum, c * rows * K);

    for (let t = 0; t < T; t++) {
      throwIfAborted(options.signal);
      const s = treeStart[t];
      const n = treeStart[t + 1] - s;
      parent[0] = -1;
      for (let v = 0; v < n; v++) {
        if (feature[s + v] >= 0) {
          parent[left[s + v]] = v;
          parent[right[s + v]] = v;
        }
      }
      for (let v = 0; v < n; v++) {
        if (feature[s + v] >= 0) continue;
        const b = v * groupSize;
        lo.fill(-Infinity, b, b + width);
        hi.fill(Infinity, b, b + width);
        flags.fill(2, b, b + width);
        for (let child = v, p = parent[v]; p >= 0; child = p, p = parent[p]) {
          const f = feature[s + p] - j0;
          if (f < 0 || f >= width) continue;
          const wentLeft = left[s + p] === child;
          const th = threshold[s + p];
          if (wentLeft) {
            if (th < hi[b + f]) hi[b + f] = th;
          } else if (th > lo[b + f]) lo[b + f] = th;
          const nanFollows = (defaultLeft[s + p] === 1) === wentLeft;
          flags[b + f] = (flags[b + f] & (nanFollows ? 2 : 0)) | 1;
          top[b + f] = p;
        }
      }
      for (let i = 0; i < rows; i++) {
        const leaf = leafOf(s, s, i, -1, 0);
        const b = (leaf - s) * groupSize;
        for (let jj = 0; jj < width; jj++) {
          const flag = flags[b + jj];
          if ((flag & 1) === 0) continue;
          const low = lo[b + jj];
          const high = hi[b + jj];
          for (let r = 0; r < repeats; r++) {
            const c = jj * repeats + r;
            if (sampled[r * rows + i] === 0) continue;
            const x = shuffled[c * rows + i];
            if (x !== x ? (flag & 2) !== 0 : x > low && x <= high) continue;
            const moved = leafOf(s, s + top[b + jj], i, j0 + jj, x);
            if (moved === leaf) continue;
            const o = (c * rows + i) * K;
            for (let k = 0; k < K; k++) sums[o + k] += values[moved * K + k] - values[leaf * K + k];
          }
        }
      }
      options.onProgress?.(g * T + t + 1, groups * T);
    }

    for (let jj = 0; jj < width; jj++) {
      for (let r = 0; r < repeats; r++) {
        const o = (jj * repeats + r) * rows * K;
        const sample = samples[r];
        for (let a = 0; a < sample.length; a++) {
          for (let k = 0; k < K; k++) picked[a * K + k] = sums[o + sample[a] * K + k] * scale;
        }
        drops[r] = sampleBaseline[r] - macroF1(sampleLabels[r], argmaxRows(picked, K), K);
      }
      ({ mean: mean[j0 + jj], std: std[j0 + jj], ci95: ci95[j0 + jj] } = dropStats(drops));
    }
  }
  return { mean, std, baseline, ci95, rowsPerRepeat: perRepeat };
}
