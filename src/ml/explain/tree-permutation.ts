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

/** The per-feature streams `permutationImportance` shuffles with: feature j's is seeded by the root's j-th draw. */
function featureSeeds(cols: number, seed: number): number[] {
  const root = new Random(seed);
  return Array.from({ length: cols }, () => root.int(0x7fffffff));
}

/** The permutations `permutationImportance` uses: one stream per feature, `repeats` shuffles of 0..rows-1 each. */
export function featurePermutations(cols: number, rows: number, repeats: number, seed: number): Int32Array[][] {
  return featureSeeds(cols, seed).map((s) => {
    const random = new Random(s);
    return Array.from({ length: repeats }, () => random.permutation(new Int32Array(rows)));
  });
}

/**
 * Feature j's shuffles, drawn one at a time into `permutation` from its stream (seed `seed`): each repeat's sampled
 * rows' shuffled values, into `shuffled` ([entry][feature of the group], the feature at `jj` of `width`). Only the
 * scored rows' values are kept: the repeats × features shuffles of every test row, kept at once, were 24 MB at
 * 200,000 rows. A function of its own, as permuteTrees' steps are, so V8 compiles each loop small.
 */
function shuffleFeature(
  X: Matrix,
  j: number,
  seed: number,
  samples: readonly Int32Array[],
  S: number,
  entry: Int32Array,
  permutation: Int32Array,
  shuffled: Float64Array,
  jj: number,
  width: number,
): void {
  const { cols, data } = X;
  const random = new Random(seed);
  for (let r = 0; r < samples.length; r++) {
    random.permutation(permutation);
    const sample = samples[r];
    for (let a = 0; a < S; a++) shuffled[entry[r * S + a] * width + jj] = data[permutation[sample[a]] * cols + j];
  }
}

/**
 * The probabilities (or margins) of one repeat's sampled rows with the group's feature at `jj` shuffled, into
 * `picked` ([sampled row][class]): baseline sums plus the entries' deltas, scaled. `first`: the repeat's first entry.
 */
function pickShuffled(
  sample: Int32Array,
  S: number,
  entry: Int32Array,
  first: number,
  baseSum: Float64Array,
  deltas: Float64Array,
  jj: number,
  width: number,
  K: number,
  scale: number,
  picked: Float64Array,
): void {
  for (let a = 0; a < S; a++) {
    const row = sample[a] * K;
    const o = (entry[first + a] * width + jj) * K;
    for (let k = 0; k < K; k++) picked[a * K + k] = (baseSum[row + k] + deltas[o + k]) * scale;
  }
}

/** Two-class margins [m, 0 − m] from class 0's alone (`m`, one per row): what a mirrored model predicts. */
function mirroredMargins(m: Float64Array): Float64Array {
  const out = new Float64Array(m.length * 2);
  for (let i = 0; i < m.length; i++) {
    out[2 * i] = m[i];
    out[2 * i + 1] = 0 - m[i];
  }
  return out;
}

/**
 * How the trees' outputs make the class decision. Forests (random forest, decision tree): every leaf holds every
 * class, probabilities are the mean over the trees. Boosted trees: each tree adds to one class's margin
 * (`trees.treeOutput`), starting from `base`; the class is the largest margin (softmax keeps the order).
 * Mirrored: a two-class boosting model's class 0 trees alone (BoostedTreesModel.mirroredTrees), zero bases; class
 * 1's margin is class 0's negated, as predict takes it. Its sums and shuffle changes, the full model's with every sign
 * flipped for class 1, are exactly class 0's negated, so the drops are those of walking every tree, in half the walks.
 */
export type TreeSum = { kind: 'mean' } | { kind: 'margin'; base: Float64Array } | { kind: 'mirrored' };

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
  const margins = sum.kind !== 'mean';
  const mirrored = sum.kind === 'mirrored';
  if (
    sum.kind === 'margin'
      ? trees.treeOutput === null || trees.valueWidth !== 1 || sum.base.length !== K
      : mirrored
        ? K !== 2 || trees.treeOutput === null || trees.valueWidth !== 1 || trees.treeOutput.some((o) => o !== 0)
        : trees.treeOutput !== null || trees.valueWidth !== K
  )
    throw new TypeError(
      mirrored
        ? "forestPermutationImportance: mirrored trees are two classes' class 0 trees"
        : margins
          ? 'forestPermutationImportance: margin trees have one output each and a base per class'
          : 'forestPermutationImportance needs leaves holding every class',
    );
  // Sums kept per row: class 0's alone when mirrored (class 1's is its negation, taken when deciding).
  const M = mirrored ? 1 : K;
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols, data } = X;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  const T = trees.treeCount;
  // Forests average (1/T, a monotone scale, kept so the probabilities are those predictProba gives); margins as summed.
  const scale = margins ? 1 : 1 / T;
  const seeds = featureSeeds(cols, options.seed);
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
  const entry = new Int32Array(E);
  {
    const next = entriesOfRow.slice(0, rows);
    samples.forEach((sample, r) => {
      sample.forEach((i, a) => {
        entry[r * S + a] = next[i]++;
      });
    });
  }
  let walkCount = 0;
  for (let i = 0; i < rows; i++) walkCount += walked[i];
  const walkRows = new Int32Array(walkCount);
  for (let i = 0, w = 0; i < rows; i++) if (walked[i] === 1) walkRows[w++] = i;
  const permutation = new Int32Array(rows);
  const sampleLabels = samples.map((sample) => Int32Array.from(sample, (i) => y[i]));

  // Baseline sums of the walked rows (the base margins, then every tree's leaf), added during the first group's walk.
  const baseSum = new Float64Array(rows * M);
  if (sum.kind === 'margin') for (const i of walkRows) baseSum.set(sum.base, i * K);
  const ci95 = new Float64Array(cols);
  const picked = new Float64Array(S * M);
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const perFeature = E * (M + 1);
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
    // What the shuffle changes in each entry's sums, [entry][feature][class], and each entry's shuffled value
    // [entry][feature]: a scored row's features sit together, as the per-tree loop (row by row) reads them.
    const deltas = new Float64Array(width * E * M);
    const shuffled = new Float64Array(width * E);
    for (let jj = 0; jj < width; jj++)
      shuffleFeature(X, j0 + jj, seeds[j0 + jj], samples, S, entry, permutation, shuffled, jj, width);
    const work: PermuteWork = {
      data,
      cols,
      K: M,
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
    permuteInTwoParts(
      trees,
      work,
      deltas,
      baseSum,
      options.threads ?? 1,
      (done) => {
        options.onProgress?.(g * T + done, groups * T);
        throwIfAborted(options.signal);
      },
      mirrored ? 2 : 1,
    );

    if (g === 0) {
      // The unshuffled decisions, complete once the first group has walked every tree.
      const scaled = baseSum.map((v) => v * scale);
      const basePredicted = argmaxRows(mirrored ? mirroredMargins(scaled) : scaled, K);
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
        pickShuffled(samples[r], S, entry, r * S, baseSum, deltas, jj, width, M, scale, picked);
        const decided = argmaxRows(mirrored ? mirroredMargins(picked) : picked, K);
        drops[r] = sampleBaseline[r] - macroF1(sampleLabels[r], decided, K);
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
  /** [entry][feature of the group]: the value the shuffle gives the entry. */
  shuffled: Float64Array;
  /** The group's first feature and its width. */
  j0: number;
  width: number;
  /** Entries (repeats × rows per repeat). */
  E: number;
  /** Also add every walked row's leaf values into the baseline sums (the first group). */
  withBase: boolean;
}

/** The leaf row `row` of `data` reaches from node `start` (of the tree at `s`), with feature j's value replaced. */
function leafOf(
  trees: PackedTrees,
  data: Float64Array,
  cols: number,
  s: number,
  start: number,
  row: number,
  j: number,
  replacement: number,
): number {
  const { feature, threshold, left, right, defaultLeft } = trees;
  let n = start;
  const base = row * cols;
  while (feature[n] >= 0) {
    const f = feature[n];
    const x = f === j ? replacement : data[base + f];
    n = s + (x !== x ? (defaultLeft[n] === 1 ? left[n] : right[n]) : x > threshold[n] ? right[n] : left[n]);
  }
  return n;
}

/**
 * permuteTrees' working arrays, sized to the largest tree. Its steps are small functions of their own, not one body:
 * V8 compiled the one body (Turbofan, ~50–400 ms of CPU on a loaded machine) and recompiled it after deopts in each
 * of a fresh thread's first runs, which was most of a single tree's importance at 10,000 rows.
 */
class PermuteScratch {
  /** Per node: its parent (-1 at the root). */
  readonly parent: Int32Array;
  /** Scored walked rows' leaves (-1: walked only for the baseline), by place in walkRows. */
  readonly leafOfWalked: Int32Array;
  /** Scored walked rows (their place in walkRows) grouped by leaf: leaf v's are byLeaf[atLeaf[v], atLeaf[v + 1]). */
  readonly atLeaf: Int32Array;
  readonly cursor: Int32Array;
  readonly byLeaf: Int32Array;
  /** The current leaf's path, root first: each split node and whether the path went left there. */
  readonly pathNode: Int32Array;
  readonly pathLeft: Uint8Array;
  /** Per feature of the group on the path: its interval (lo < x ≤ hi) and whether NaN would follow the path. */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly nanFollows: Uint8Array;
  /** The group's features that split on the path, and each one's splits (depths), root first. */
  readonly onPath: Int32Array;
  readonly seen: Int32Array;
  readonly splitCount: Int32Array;
  readonly splitStart: Int32Array;
  readonly splitDepth: Int32Array;

  constructor(maxNodes: number, walked: number, width: number) {
    this.parent = new Int32Array(maxNodes);
    this.leafOfWalked = new Int32Array(walked);
    this.atLeaf = new Int32Array(maxNodes + 1);
    this.cursor = new Int32Array(maxNodes);
    this.byLeaf = new Int32Array(walked);
    this.pathNode = new Int32Array(maxNodes);
    this.pathLeft = new Uint8Array(maxNodes);
    this.lo = new Float64Array(width);
    this.hi = new Float64Array(width);
    this.nanFollows = new Uint8Array(width);
    this.onPath = new Int32Array(width);
    this.seen = new Int32Array(width).fill(-1);
    this.splitCount = new Int32Array(width);
    this.splitStart = new Int32Array(width + 1);
    this.splitDepth = new Int32Array(maxNodes);
  }
}

/**
 * Tree t's walk of every walked row: each row's leaf (added into `baseSum` when `work.withBase`), and the scored rows
 * grouped by leaf (scratch.atLeaf, scratch.byLeaf); also each node's parent.
 */
function walkTree(
  trees: PackedTrees,
  work: PermuteWork,
  t: number,
  baseSum: Float64Array,
  scratch: PermuteScratch,
): void {
  const { data, cols, K, margins, walkRows, entriesOfRow, withBase } = work;
  const { treeStart, feature, left, right, values, treeOutput } = trees;
  const { parent, leafOfWalked, atLeaf, cursor, byLeaf } = scratch;
  const s = treeStart[t];
  const n = treeStart[t + 1] - s;
  const out = treeOutput ? treeOutput[t] : 0;
  const W = walkRows.length;
  parent[0] = -1;
  for (let v = 0; v < n; v++) {
    if (feature[s + v] >= 0) {
      parent[left[s + v]] = v;
      parent[right[s + v]] = v;
    }
  }
  atLeaf.fill(0, 0, n + 1);
  for (let w = 0; w < W; w++) {
    const i = walkRows[w];
    const leaf = leafOf(trees, data, cols, s, s, i, -1, 0);
    if (withBase) {
      if (margins) baseSum[i * K + out] += values[leaf];
      else for (let k = 0; k < K; k++) baseSum[i * K + k] += values[leaf * K + k];
    }
    // Rows walked only for the full split's baseline (no repeat scores them) stop here.
    leafOfWalked[w] = entriesOfRow[i] < entriesOfRow[i + 1] ? leaf - s : -1;
    if (leafOfWalked[w] >= 0) atLeaf[leaf - s + 1]++;
  }
  for (let v = 0; v < n; v++) atLeaf[v + 1] += atLeaf[v];
  cursor.set(atLeaf.subarray(0, n));
  for (let w = 0; w < W; w++) if (leafOfWalked[w] >= 0) byLeaf[cursor[leafOfWalked[w]]++] = w;
}

/**
 * Leaf v's path (of the tree at `s`) read into the scratch: its split nodes, and per feature of the group on it the
 * interval, NaN's way and the splits' depths. Answers how many of the group's features split on the path.
 */
function readPath(trees: PackedTrees, work: PermuteWork, s: number, v: number, scratch: PermuteScratch): number {
  const { j0, width } = work;
  const { feature, threshold, left, defaultLeft } = trees;
  const { parent, pathNode, pathLeft, lo, hi, nanFollows, onPath, seen, splitCount, splitStart, splitDepth } = scratch;
  const leaf = s + v;
  let depth = 0;
  for (let c = v; parent[c] >= 0; c = parent[c]) depth++;
  for (let c = v, d = depth - 1; d >= 0; c = parent[c], d--) {
    pathNode[d] = parent[c];
    pathLeft[d] = left[s + parent[c]] === c ? 1 : 0;
  }
  let count = 0;
  for (let d = 0; d < depth; d++) {
    const p = s + pathNode[d];
    const f = feature[p] - j0;
    if (f < 0 || f >= width) continue;
    if (seen[f] !== leaf) {
      seen[f] = leaf;
      onPath[count++] = f;
      lo[f] = -Infinity;
      hi[f] = Infinity;
      nanFollows[f] = 1;
      splitCount[f] = 0;
    }
    splitCount[f]++;
    const th = threshold[p];
    if (pathLeft[d] === 1) {
      if (th < hi[f]) hi[f] = th;
    } else if (th > lo[f]) lo[f] = th;
    if ((defaultLeft[p] === 1) !== (pathLeft[d] === 1)) nanFollows[f] = 0;
  }
  if (count === 0) return 0;
  splitStart[onPath[0]] = 0;
  for (let c = 1; c < count; c++) splitStart[onPath[c]] = splitStart[onPath[c - 1]] + splitCount[onPath[c - 1]];
  for (let c = 0; c < count; c++) splitCount[onPath[c]] = 0;
  for (let d = 0; d < depth; d++) {
    const f = feature[s + pathNode[d]] - j0;
    if (f >= 0 && f < width) splitDepth[splitStart[f] + splitCount[f]++] = d;
  }
  return count;
}

/**
 * The scored rows at leaf v (of tree t, at `s`), whose path readPath has read (`count` of the group's features on
 * it): for each of their entries and each such feature, the change the entry's shuffled value makes, into `deltas`.
 */
function permuteLeafRows(
  trees: PackedTrees,
  work: PermuteWork,
  t: number,
  s: number,
  v: number,
  count: number,
  deltas: Float64Array,
  scratch: PermuteScratch,
): void {
  const { data, cols, K, margins, walkRows, entriesOfRow, shuffled, j0, width } = work;
  const { threshold, left, right, defaultLeft, values, treeOutput } = trees;
  const { atLeaf, byLeaf, pathNode, pathLeft, lo, hi, nanFollows, onPath, splitCount, splitStart, splitDepth } =
    scratch;
  const out = treeOutput ? treeOutput[t] : 0;
  const leaf = s + v;
  for (let q = atLeaf[v]; q < atLeaf[v + 1]; q++) {
    const i = walkRows[byLeaf[q]];
    const first = entriesOfRow[i];
    const last = entriesOfRow[i + 1];
    for (let c = 0; c < count; c++) {
      const jj = onPath[c];
      const nanStays = nanFollows[jj] === 1;
      const low = lo[jj];
      const high = hi[jj];
      const splitsFrom = splitStart[jj];
      const splitsTo = splitsFrom + splitCount[jj];
      for (let e = first; e < last; e++) {
        const x = shuffled[e * width + jj];
        if (x !== x ? nanStays : x > low && x <= high) continue;
        // The first of the feature's splits where x turns away from the path: the walk goes on from there.
        let start = leaf;
        for (let a = splitsFrom; a < splitsTo; a++) {
          const d = splitDepth[a];
          const p = s + pathNode[d];
          const goesLeft = x !== x ? defaultLeft[p] === 1 : !(x > threshold[p]);
          if (goesLeft !== (pathLeft[d] === 1)) {
            start = s + (goesLeft ? left[p] : right[p]);
            break;
          }
        }
        const moved = leafOf(trees, data, cols, s, start, i, j0 + jj, x);
        if (moved === leaf) continue;
        const o = (e * width + jj) * K;
        if (margins) deltas[o + out] += values[moved] - values[leaf];
        else for (let k = 0; k < K; k++) deltas[o + k] += values[moved * K + k] - values[leaf * K + k];
      }
    }
  }
}

/**
 * Trees [from, to) of a permutation: each walked row's leaf (added into `baseSum` when `work.withBase`), then for
 * each of its entries and each feature of the group, the change its shuffled value makes, added into `deltas`
 * ([entry][feature][class]). `onTree(done)` after each tree, `done` counted from `from`.
 *
 * Scored rows are taken leaf by leaf, so a leaf's path is read once. A shuffled value that leaves the path's
 * interval re-walks from the first split on the feature where it turns the other way (above it the path is the
 * row's own), not from the feature's topmost split. Each entry's sums still add the trees in order (same bits).
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
  const { treeStart } = trees;
  let maxNodes = 0;
  for (let t = from; t < to; t++) maxNodes = Math.max(maxNodes, treeStart[t + 1] - treeStart[t]);
  const scratch = new PermuteScratch(maxNodes, work.walkRows.length, work.width);
  const { atLeaf } = scratch;
  for (let t = from; t < to; t++) {
    walkTree(trees, work, t, baseSum, scratch);
    const s = treeStart[t];
    const n = treeStart[t + 1] - s;
    for (let v = 0; v < n; v++) {
      if (atLeaf[v] === atLeaf[v + 1]) continue;
      const count = readPath(trees, work, s, v, scratch);
      if (count > 0) permuteLeafRows(trees, work, t, s, v, count, deltas, scratch);
    }
    onTree?.(t - from + 1);
  }
}
