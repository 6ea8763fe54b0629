/**
 * Exact permutation importance for tree ensembles — forests (probability = mean of the trees' leaf distributions)
 * and boosted trees (class margins = base + the trees' leaves) — without predicting every shuffled copy from scratch.
 *
 * Shuffling feature j changes a row's leaf in a tree only if j decides a split on the row's path, and even then
 * only when the new value leaves the interval that the path's j-splits allow (lo < x ≤ hi, NaN only where every
 * j-split sends NaN the way the path goes). So per tree: walk every scored row once, then for each (feature,
 * repeat, row) check the new value against its leaf's interval and re-walk only the rows that move, adding the
 * difference of the two leaves. The result equals predicting each shuffled copy (same permutations as
 * `permutationImportance`, same macro-F1 drops); only the order of the floating-point sums differs. Steps are
 * trees, for live progress.
 *
 * With `rowsPerRepeat` below the row count, each repeat scores its own seeded sample of rows, stratified by class
 * (the same sample for every feature, so features are compared on the same rows): the spread over repeats then
 * holds the row-sampling error too, and `ci95` states it. Given the evaluation's probabilities (`baselineProba`),
 * rows no sample holds are never walked.
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import type { PackedTrees } from '../models/trees/structure.js';
import { Random } from '../random.js';
import { permuteInTwoParts } from '../models/trees/predict-parallel.js';
import { throwIfAborted, type Matrix } from '../types.js';
import { dropStats, repeatSamples, type PermutationOptions, type PermutationResult } from './permutation.js';

/** Shuffled-copy changes kept at once (features × repeats × sampled rows × classes); more features go in groups. */
const MAX_ACCUMULATOR_VALUES = 8_000_000;

export interface ForestPermutationOptions extends PermutationOptions {
  /** Rows each repeat scores (default: all). */
  rowsPerRepeat?: number;
  /** 2: half of the trees on the prediction helper thread when the work is large enough (default 1). */
  threads?: number;
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
      const permutation = new Int32Array(rows);
      for (let i = 0; i < rows; i++) permutation[i] = i;
      // Random.shuffle's draws and swaps, on an Int32Array only: the generic shuffle is called with arrays of every
      // kind in a server process, so its element accesses are megamorphic (~2.5× slower here, 20 × 5 × 15,000).
      for (let i = rows - 1; i > 0; i--) {
        const j = random.int(i + 1);
        const t = permutation[i];
        permutation[i] = permutation[j];
        permutation[j] = t;
      }
      return permutation;
    });
  });
}

/**
 * How the trees' outputs make the class decision. Forests (random forest, decision tree): every leaf holds every
 * class, probabilities are the mean over the trees. Boosted trees: each tree adds to one class's margin
 * (`trees.treeOutput`), starting from `base`; the class is the largest margin (softmax keeps the order).
 */
export type TreeSum = { kind: 'mean' } | { kind: 'margin'; base: Float64Array };

/**
 * `trees` as `sum` says (default: a forest, leaves holding every class). `onProgress(done, total)` counts trees
 * (times feature groups).
 */
export function forestPermutationImportance(
  trees: PackedTrees,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: ForestPermutationOptions,
  sum: TreeSum = { kind: 'mean' },
): ForestPermutationResult {
  const K = numClasses;
  const margins = sum.kind === 'margin';
  if (
    margins
      ? trees.treeOutput === null || trees.valueWidth !== 1 || sum.base.length !== K
      : trees.treeOutput !== null || trees.valueWidth !== K
  )
    throw new TypeError(
      margins
        ? 'forestPermutationImportance: margin trees have one output each and a base per class'
        : 'forestPermutationImportance needs leaves holding every class',
    );
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols, data } = X;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  const T = trees.treeCount;
  // Forests average (1/T, a monotone scale, kept so the probabilities are those predictProba gives); margins as summed.
  const scale = margins ? 1 : 1 / T;
  const permutations = featurePermutations(cols, rows, repeats, options.seed);
  const perRepeat = Math.max(1, Math.min(rows, Math.trunc(options.rowsPerRepeat ?? rows)));
  // Row samples per repeat (all rows when not sampling), as permutationImportance draws them.
  const samples = repeatSamples(y, K, perRepeat, repeats, options.seed);
  const S = perRepeat;
  // Each walked row's entries (repeat, place in its sample), stored by walked row so the per-tree loop visits only
  // the repeats whose sample holds the row. entry[r * S + a]: the entry of repeat r's a-th sampled row.
  const walked = new Uint8Array(rows);
  // Without the evaluation's probabilities every row is walked (the full-data baseline needs them all).
  if (!options.baselineProba) walked.fill(1);
  const entriesOfRow = new Int32Array(rows + 1);
  for (const sample of samples)
    for (const i of sample) {
      walked[i] = 1;
      entriesOfRow[i + 1]++;
    }
  for (let i = 0; i < rows; i++) entriesOfRow[i + 1] += entriesOfRow[i];
  const E = repeats * S;
  const entryRepeat = new Int32Array(E);
  const entryRow = new Int32Array(E);
  const entry = new Int32Array(E);
  {
    const next = entriesOfRow.slice(0, rows);
    samples.forEach((sample, r) => {
      sample.forEach((i, a) => {
        const e = next[i]++;
        entryRepeat[e] = r;
        entryRow[e] = i;
        entry[r * S + a] = e;
      });
    });
  }
  let walkCount = 0;
  for (let i = 0; i < rows; i++) walkCount += walked[i];
  const walkRows = new Int32Array(walkCount);
  for (let i = 0, w = 0; i < rows; i++) if (walked[i] === 1) walkRows[w++] = i;
  const sampleLabels = samples.map((sample) => Int32Array.from(sample, (i) => y[i]));

  // Baseline sums of the walked rows (the base margins, then every tree's leaf), added during the first group's walk.
  const baseSum = new Float64Array(rows * K);
  if (margins) for (const i of walkRows) baseSum.set(sum.base, i * K);
  const ci95 = new Float64Array(cols);
  const picked = new Float64Array(S * K);
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const perFeature = E * (K + 1);
  const groupSize = Math.max(1, Math.min(cols, Math.floor(MAX_ACCUMULATOR_VALUES / perFeature)));
  const groups = Math.ceil(cols / groupSize);
  const drops = new Float64Array(repeats);
  let sampleBaseline: number[] = [];
  let baseline = 0;
  if (options.baselineProba && options.baselineProba.length !== rows * K)
    throw new RangeError('baselineProba does not match X');

  for (let g = 0; g < groups; g++) {
    const j0 = g * groupSize;
    const width = Math.min(groupSize, cols - j0);
    // What the shuffle changes in each entry's sums, [feature][entry][class], and each entry's shuffled value
    // [feature][entry] (read in entry order, so the per-tree loop reads them in sequence).
    const deltas = new Float64Array(width * E * K);
    const shuffled = new Float64Array(width * E);
    for (let jj = 0; jj < width; jj++) {
      const j = j0 + jj;
      const perms = permutations[j];
      for (let e = 0; e < E; e++) shuffled[jj * E + e] = data[perms[entryRepeat[e]][entryRow[e]] * cols + j];
    }
    const work: PermuteWork = {
      data,
      cols,
      K,
      margins,
      walkRows,
      entriesOfRow,
      shuffled,
      j0,
      width,
      E,
      withBase: g === 0,
    };
    throwIfAborted(options.signal);
    permuteInTwoParts(trees, work, deltas, baseSum, options.threads ?? 1, (done) => {
      options.onProgress?.(g * T + done, groups * T);
      throwIfAborted(options.signal);
    });

    if (g === 0) {
      // The unshuffled decisions, complete once the first group has walked every tree.
      const basePredicted = argmaxRows(
        baseSum.map((v) => v * scale),
        K,
      );
      baseline = options.baselineProba
        ? macroF1(y, argmaxRows(options.baselineProba, K), K)
        : macroF1(y, basePredicted, K);
      sampleBaseline = samples.map((sample, r) =>
        macroF1(
          sampleLabels[r],
          Int32Array.from(sample, (i) => basePredicted[i]),
          K,
        ),
      );
    }
    for (let jj = 0; jj < width; jj++) {
      for (let r = 0; r < repeats; r++) {
        const sample = samples[r];
        for (let a = 0; a < S; a++) {
          const row = sample[a] * K;
          const o = (jj * E + entry[r * S + a]) * K;
          for (let k = 0; k < K; k++) picked[a * K + k] = (baseSum[row + k] + deltas[o + k]) * scale;
        }
        drops[r] = sampleBaseline[r] - macroF1(sampleLabels[r], argmaxRows(picked, K), K);
      }
      ({ mean: mean[j0 + jj], std: std[j0 + jj], ci95: ci95[j0 + jj] } = dropStats(drops));
    }
  }
  return { mean, std, baseline, ci95, rowsPerRepeat: perRepeat };
}

/**
 * One feature group's share of the permutation, as plain typed arrays (shared memory when the helper thread of
 * predict-parallel.ts permutes half of the trees): the scored rows' entries and each entry's shuffled values.
 */
export interface PermuteWork {
  /** The test rows, row-major. */
  data: Float64Array;
  cols: number;
  K: number;
  /** Boosting: each tree adds its one value to its output's margin; forests: leaves hold every class. */
  margins: boolean;
  /** Rows walked through every tree (those some repeat scores, or every row without the evaluation's baseline). */
  walkRows: Int32Array;
  /** Row i's entries are [entriesOfRow[i], entriesOfRow[i + 1]). */
  entriesOfRow: Int32Array;
  /** [feature of the group][entry]: the value the shuffle gives the entry. */
  shuffled: Float64Array;
  /** The group's first feature and its width. */
  j0: number;
  width: number;
  /** Entries (repeats × rows per repeat). */
  E: number;
  /** Also add every walked row's leaf values into the baseline sums (the first group). */
  withBase: boolean;
}

/**
 * Trees [from, to) of a permutation: each walked row's leaf (added into `baseSum` when `work.withBase`), then for
 * each of its entries and each feature of the group, the change its shuffled value makes, added into `deltas`
 * ([feature][entry][class]). `onTree(done)` after each tree, `done` counted from `from`.
 */
export function permuteTrees(
  trees: PackedTrees,
  work: PermuteWork,
  from: number,
  to: number,
  deltas: Float64Array,
  baseSum: Float64Array,
  onTree?: (done: number) => void,
): void {
  const { data, cols, K, margins, walkRows, entriesOfRow, shuffled, j0, width, E, withBase } = work;
  const { treeStart, feature, threshold, left, right, defaultLeft, values, treeOutput } = trees;

  /** The leaf row `row` reaches in the tree at `s`, from node `start`, with feature j's value replaced. */
  const leafOf = (s: number, start: number, row: number, j: number, replacement: number): number => {
    let n = start;
    const base = row * cols;
    while (feature[n] >= 0) {
      const f = feature[n];
      const x = f === j ? replacement : data[base + f];
      n = s + (x !== x ? (defaultLeft[n] === 1 ? left[n] : right[n]) : x > threshold[n] ? right[n] : left[n]);
    }
    return n;
  };

  let maxNodes = 0;
  for (let t = from; t < to; t++) maxNodes = Math.max(maxNodes, treeStart[t + 1] - treeStart[t]);
  // Per tree: parent of each node (-1 at the root) and, per node that is a leaf, its path's interval per feature.
  const parent = new Int32Array(maxNodes);
  const lo = new Float64Array(maxNodes * width);
  const hi = new Float64Array(maxNodes * width);
  /** Per (leaf, feature): bit 0 = the feature splits on the path, bit 1 = NaN would follow the path. */
  const flags = new Uint8Array(maxNodes * width);
  /** Per (leaf, feature): the topmost split on the feature along the path; re-walks start there. */
  const top = new Int32Array(maxNodes * width);
  /**
   * Per leaf: the group's features that split on its path (onPath[b, b + pathCount)), so a row's checks skip the
   * rest: a boosted tree of depth 6 splits on at most 6 of 20 features.
   */
  const onPath = new Int32Array(maxNodes * width);
  const pathCount = new Int32Array(maxNodes);
  /** Per node: the tree its intervals were computed for (t + 1). */
  const ready = new Int32Array(maxNodes);
  for (let t = from; t < to; t++) {
    const s = treeStart[t];
    const n = treeStart[t + 1] - s;
    const out = treeOutput ? treeOutput[t] : 0;
    parent[0] = -1;
    for (let v = 0; v < n; v++) {
      if (feature[s + v] >= 0) {
        parent[left[s + v]] = v;
        parent[right[s + v]] = v;
      }
    }
    const stamp = t + 1;
    for (const i of walkRows) {
      const leaf = leafOf(s, s, i, -1, 0);
      if (withBase) {
        if (margins) baseSum[i * K + out] += values[leaf];
        else for (let k = 0; k < K; k++) baseSum[i * K + k] += values[leaf * K + k];
      }
      const first = entriesOfRow[i];
      const last = entriesOfRow[i + 1];
      // Walked only for the full split's baseline: no repeat scores it.
      if (first === last) continue;
      const b = (leaf - s) * width;
      if (ready[leaf - s] !== stamp) {
        // The leaf's path intervals, the first time a scored row reaches it (most leaves of deep trees hold no
        // scored row when the rows are sampled).
        ready[leaf - s] = stamp;
        lo.fill(-Infinity, b, b + width);
        hi.fill(Infinity, b, b + width);
        flags.fill(2, b, b + width);
        let count = 0;
        for (let child = leaf - s, p = parent[child]; p >= 0; child = p, p = parent[p]) {
          const f = feature[s + p] - j0;
          if (f < 0 || f >= width) continue;
          if ((flags[b + f] & 1) === 0) onPath[b + count++] = f;
          const wentLeft = left[s + p] === child;
          const th = threshold[s + p];
          if (wentLeft) {
            if (th < hi[b + f]) hi[b + f] = th;
          } else if (th > lo[b + f]) lo[b + f] = th;
          const nanFollows = (defaultLeft[s + p] === 1) === wentLeft;
          flags[b + f] = (flags[b + f] & (nanFollows ? 2 : 0)) | 1;
          top[b + f] = p;
        }
        pathCount[leaf - s] = count;
      }
      for (let c = 0; c < pathCount[leaf - s]; c++) {
        const jj = onPath[b + c];
        const flag = flags[b + jj];
        const low = lo[b + jj];
        const high = hi[b + jj];
        const at = jj * E;
        for (let e = first; e < last; e++) {
          const x = shuffled[at + e];
          if (x !== x ? (flag & 2) !== 0 : x > low && x <= high) continue;
          const moved = leafOf(s, s + top[b + jj], i, j0 + jj, x);
          if (moved === leaf) continue;
          const o = (at + e) * K;
          if (margins) deltas[o + out] += values[moved] - values[leaf];
          else for (let k = 0; k < K; k++) deltas[o + k] += values[moved * K + k] - values[leaf * K + k];
        }
      }
    }
    onTree?.(t - from + 1);
  }
}
