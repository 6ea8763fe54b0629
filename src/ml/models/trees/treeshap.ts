/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018). The conditional expectation of a tree given a
 * feature subset S follows x on features in S and splits by training cover elsewhere; the contributions are
 * the exact Shapley values of that game, so Σ contributions = output(x) − baseValue, where baseValue is the
 * cover-weighted mean output.
 * `treeShap` / `treeShapAll` evaluate them in O(nodes × depth) per tree (see the note above shapTreeLinear). The
 * paper's Algorithm 2 (O(leaves × depth²)), the tests' cross-check, lives in test/unit/treeshap-algorithm2.ts.
 */
import { explainInTwoParts, predictThreads } from './predict-parallel.js';
import type { FlatTree, TreeEnsemble } from './structure.js';

export interface TreeShapResult {
  /** Expected model output (cover-weighted) in the ensemble's output space. */
  baseValue: number;
  /** One contribution per feature. */
  contributions: Float64Array;
}

export interface TreeShapAllResult {
  /** Per output. */
  baseValues: Float64Array;
  /** numOutputs × numFeatures, row-major. */
  contributions: Float64Array;
}

interface Prepared {
  maxDepth: number;
  /** Leaf depth bound per tree. */
  treeDepth: Int32Array;
  /** Most distinct features on one root-to-leaf path, per tree (the degree bound of the Shapley integrand). */
  treeUnique: Int32Array;
  /** Per tree and node: 1 when the node's feature is split on again inside its subtree. */
  repeatsBelow: Uint8Array[];
  maxPoints: number;
  /** Expected output per output index (baseScore included). */
  expected: Float64Array;
}

const prepared = new WeakMap<TreeEnsemble, Prepared>();

/** Most distinct features on any root-to-leaf path, and which nodes have their feature split on again below. */
function pathFeaturesOf(tree: FlatTree, numFeatures: number): { distinct: number; repeatsBelow: Uint8Array } {
  const nearest = new Int32Array(numFeatures).fill(-1);
  const repeatsBelow = new Uint8Array(tree.nodeCount);
  let max = 0;
  const walk = (node: number, distinct: number): void => {
    const f = tree.feature[node];
    if (f < 0) {
      if (distinct > max) max = distinct;
      return;
    }
    const above = nearest[f];
    if (above >= 0) repeatsBelow[above] = 1;
    nearest[f] = node;
    walk(tree.left[node], distinct + (above < 0 ? 1 : 0));
    walk(tree.right[node], distinct + (above < 0 ? 1 : 0));
    nearest[f] = above;
  };
  walk(0, 0);
  return { distinct: max, repeatsBelow };
}

function depthOf(tree: FlatTree): number {
  let max = 0;
  const stack = [0, 0];
  while (stack.length > 0) {
    // Entries are pushed two at a time, so each pop has a value.
    const d = stack.pop() ?? 0;
    const node = stack.pop() ?? 0;
    if (tree.feature[node] < 0) {
      if (d > max) max = d;
    } else stack.push(tree.left[node], d + 1, tree.right[node], d + 1);
  }
  return max;
}

/** Adds scale × (cover-weighted mean leaf values) of the tree into expected[outputs]. */
function addExpected(tree: FlatTree, numOutputs: number, scale: number, expected: Float64Array): void {
  const stack: number[] = [0, 1];
  while (stack.length > 0) {
    const weight = stack.pop() ?? 0;
    const node = stack.pop() ?? 0;
    if (tree.feature[node] < 0) {
      if (tree.output >= 0) expected[tree.output] += scale * weight * tree.values[node];
      else for (let k = 0; k < numOutputs; k++) expected[k] += scale * weight * tree.values[node * tree.valueWidth + k];
      continue;
    }
    const c = tree.cover[node];
    stack.push(
      tree.left[node],
      (weight * tree.cover[tree.left[node]]) / c,
      tree.right[node],
      (weight * tree.cover[tree.right[node]]) / c,
    );
  }
}

function prepare(ensemble: TreeEnsemble): Prepared {
  let p = prepared.get(ensemble);
  if (p) return p;
  let maxDepth = 0;
  const treeDepth = new Int32Array(ensemble.trees.length);
  const treeUnique = new Int32Array(ensemble.trees.length);
  const repeatsBelow: Uint8Array[] = [];
  const expected = Float64Array.from(ensemble.baseScore);
  ensemble.trees.forEach((tree, t) => {
    treeDepth[t] = depthOf(tree);
    const paths = pathFeaturesOf(tree, ensemble.numFeatures);
    treeUnique[t] = paths.distinct;
    repeatsBelow.push(paths.repeatsBelow);
    maxDepth = Math.max(maxDepth, treeDepth[t]);
    addExpected(tree, ensemble.numOutputs, ensemble.treeScale, expected);
  });
  let maxUnique = 0;
  for (const u of treeUnique) maxUnique = Math.max(maxUnique, u);
  p = { maxDepth, treeDepth, treeUnique, repeatsBelow, maxPoints: pointsFor(maxUnique), expected };
  prepared.set(ensemble, p);
  return p;
}

function checkRow(ensemble: TreeEnsemble, row: Float64Array): void {
  if (row.length !== ensemble.numFeatures)
    throw new RangeError(`row has ${row.length} values, model expects ${ensemble.numFeatures}`);
}

/** The ensemble's output for one row (probability / margin per output), by the same tree walk SHAP assumes. */
export function ensembleOutput(ensemble: TreeEnsemble, row: Float64Array): Float64Array {
  checkRow(ensemble, row);
  const out = Float64Array.from(ensemble.baseScore);
  for (const tree of ensemble.trees) {
    let node = 0;
    while (tree.feature[node] >= 0) {
      const x = row[tree.feature[node]];
      const th = tree.threshold[node];
      node =
        x <= th
          ? tree.left[node]
          : x > th
            ? tree.right[node]
            : tree.defaultLeft[node] === 1
              ? tree.left[node]
              : tree.right[node];
    }
    if (tree.output >= 0) out[tree.output] += ensemble.treeScale * tree.values[node];
    else
      for (let k = 0; k < ensemble.numOutputs; k++)
        out[k] += ensemble.treeScale * tree.values[node * tree.valueWidth + k];
  }
  return out;
}

// ───────────────────────── O(N·D) evaluation of the same Shapley values ─────────────────────────
//
// For a leaf l with value v, the path-dependent game is E_l(S) = v · Π_{j on the path} (j ∈ S ? b_j : a_j), where
// for every feature j split on the path, a_j = product of the cover ratios of its edges and b_j = 1 when x follows
// all of them, else 0 (features off the path: a = b = 1). The Shapley value of such a product game is
//   φ_i = v (b_i − a_i) ∫₀¹ Π_{j≠i} (a_j + (b_j − a_j) t) dt,
// because ∫₀¹ t^k (1−t)^{d−1−k} dt = k!(d−1−k)!/d! is exactly the Shapley weight (Linear TreeShap, Yu et al.
// 2022). The integrand is a polynomial of degree < D (features on the path), so Gauss–Legendre quadrature with
// ⌈D/2⌉ points is exact. A depth-first walk keeps Π_j (a_j + (b_j − a_j) t_q) at the quadrature points, sums it
// over the leaves of each subtree, and credits feature i at the deepest edge on i above those leaves (leaves
// under a deeper split on i are credited there): O(nodes × points) per tree instead of O(leaves × depth²).

/** Gauss–Legendre points integrating a polynomial of degree < distinctFeatures exactly. */
function pointsFor(distinctFeatures: number): number {
  return Math.max(1, Math.ceil(distinctFeatures / 2));
}

const gaussCache = new Map<number, { nodes: Float64Array; weights: Float64Array }>();

/** Gauss–Legendre nodes and weights on [0, 1] (Newton on the Legendre polynomial, to machine precision). */
function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  let g = gaussCache.get(n);
  if (g) return g;
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p1 = 1;
      let p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
      }
      dp = (n * (z * p1 - p2)) / (z * z - 1);
      const step = p1 / dp;
      z -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    // Map from [-1, 1] to [0, 1].
    const w = 2 / ((1 - z * z) * dp * dp) / 2;
    nodes[i] = (1 - z) / 2;
    nodes[n - 1 - i] = (1 + z) / 2;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  g = { nodes, weights };
  gaussCache.set(n, g);
  return g;
}

/** Scratch arrays for one (depth, points, outputs, features) shape, reused across calls. */
class LinearScratch {
  readonly prod: Float64Array;
  readonly sums: Float64Array;
  readonly saved: Float64Array;
  readonly owedBelow: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;

  /** Sized for the largest tree of an ensemble; a smaller tree uses a prefix with its own stride. */
  constructor(
    readonly depth: number,
    readonly points: number,
    readonly outputs: number,
    readonly features: number,
  ) {
    this.prod = new Float64Array((depth + 2) * points);
    this.sums = new Float64Array((depth + 2) * points * outputs);
    this.saved = new Float64Array((depth + 2) * points * outputs);
    this.owedBelow = new Float64Array(features * points * outputs);
    this.a = new Float64Array(features).fill(1);
    this.b = new Float64Array(features).fill(1);
  }
}

let scratchCache: LinearScratch | null = null;

function scratchFor(depth: number, points: number, outputs: number, features: number): LinearScratch {
  const s = scratchCache;
  if (s && s.depth >= depth && s.points >= points && s.outputs >= outputs && s.features === features) return s;
  scratchCache = new LinearScratch(depth, points, outputs, features);
  return scratchCache;
}

/**
 * Adds one tree's SHAP values into phi (outCount × numFeatures); output o reads values[leaf·valueWidth +
 * valueStart + o] × scale.
 */
function shapTreeLinear(
  tree: FlatTree,
  treeDepth: number,
  distinctFeatures: number,
  repeatsBelow: Uint8Array,
  sc: LinearScratch,
  row: Float64Array,
  phi: Float64Array,
  numFeatures: number,
  valueStart: number,
  outCount: number,
  scale: number,
): void {
  const { feature, threshold, left, right, defaultLeft, cover, values, valueWidth } = tree;
  if (feature[0] < 0) return;
  const Q = pointsFor(distinctFeatures);
  const { nodes: t, weights: gw } = gaussLegendre(Q);
  const K = outCount;
  const QK = Q * K;
  const { prod, sums, saved, owedBelow, a, b } = sc;
  if (treeDepth > sc.depth || Q > sc.points || K > sc.outputs) throw new RangeError('TreeSHAP scratch too small');
  for (let q = 0; q < Q; q++) prod[q] = 1;

  // Writes the subtree's Σ_leaves v·Π factors (Q × K) into sums[depth·QK …].
  const walk = (node: number, depth: number): void => {
    const sBase = depth * QK;
    const f = feature[node];
    if (f < 0) {
      const vBase = node * valueWidth + valueStart;
      const pBase = depth * Q;
      if (K === 1) {
        const v = values[vBase] * scale;
        for (let q = 0; q < Q; q++) sums[sBase + q] = prod[pBase + q] * v;
      } else {
        for (let q = 0; q < Q; q++) {
          const pq = prod[pBase + q] * scale;
          for (let o = 0; o < K; o++) sums[sBase + q * K + o] = pq * values[vBase + o];
        }
      }
      return;
    }
    const aOld = a[f];
    const bOld = b[f];
    // Only a node whose feature splits again below needs the "credited deeper" bookkeeping for its children;
    // only a node with an ancestor on the same feature has to report its subtree sum upwards.
    const repeats = repeatsBelow[node] === 1;
    const hasAncestor = aOld !== 1 || bOld !== 1;
    const oBase = f * QK;
    if (repeats) for (let j = 0; j < QK; j++) saved[sBase + j] = owedBelow[oBase + j];
    for (let j = 0; j < QK; j++) sums[sBase + j] = 0;
    const x = row[f];
    const th = threshold[node];
    const goLeft = x <= th ? true : x > th ? false : defaultLeft[node] === 1;
    const c = cover[node];
    const pBase = depth * Q;
    const cBase = (depth + 1) * QK;
    const dOld = bOld - aOld;
    for (let side = 0; side < 2; side++) {
      const child = side === 0 ? left[node] : right[node];
      const aNew = (aOld * cover[child]) / c;
      const bNew = (side === 0) === goLeft ? bOld : 0;
      // Factor ≡ 0: every leaf below is worth 0 in every coalition.
      if (aNew === 0 && bNew === 0) continue;
      const dNew = bNew - aNew;
      for (let q = 0; q < Q; q++) prod[pBase + Q + q] = (prod[pBase + q] / (aOld + dOld * t[q])) * (aNew + dNew * t[q]);
      a[f] = aNew;
      b[f] = bNew;
      if (repeats) for (let j = 0; j < QK; j++) owedBelow[oBase + j] = 0;
      walk(child, depth + 1);
      // Leaves under a deeper split on f are credited there; the rest are credited here.
      for (let o = 0; o < K; o++) {
        let integral = 0;
        if (repeats) {
          for (let q = 0; q < Q; q++)
            integral += (gw[q] * (sums[cBase + q * K + o] - owedBelow[oBase + q * K + o])) / (aNew + dNew * t[q]);
        } else {
          for (let q = 0; q < Q; q++) integral += (gw[q] * sums[cBase + q * K + o]) / (aNew + dNew * t[q]);
        }
        phi[o * numFeatures + f] += dNew * integral;
      }
      for (let j = 0; j < QK; j++) sums[sBase + j] += sums[cBase + j];
    }
    a[f] = aOld;
    b[f] = bOld;
    if (repeats) {
      for (let j = 0; j < QK; j++) owedBelow[oBase + j] = saved[sBase + j] + (hasAncestor ? sums[sBase + j] : 0);
    } else if (hasAncestor) {
      for (let j = 0; j < QK; j++) owedBelow[oBase + j] += sums[sBase + j];
    }
  };
  walk(0, 0);
  // Leave the scratch clean for the next tree.
  owedBelow.fill(0, 0, numFeatures * QK);
}

/**
 * One output's trees (`treeShap`, the explain path), rebuilt once per ensemble and output for the walk:
 *  - a subtree whose leaves all hold the same value for this output becomes one leaf. Its conditional expectation
 *    is that value for every coalition (the cover ratios of each split sum to 1), so the game, hence every Shapley
 *    value, is unchanged; a forest of pure leaves loses the parts that only separate the other classes, and Q is
 *    counted on the smaller trees. Done only where every split's children's covers add up to the node's;
 *  - trees of one output concatenated in pre-order (left child = next node), the leaf's scaled value in the
 *    threshold slot, the cover ratio to the parent stored at the child, flags in one byte.
 */
export interface OutputTrees {
  /** First node of each kept tree (trees that feed another output, or collapse to one leaf, are dropped). */
  treeStart: Int32Array;
  /** Gauss–Legendre points per kept tree. */
  points: Int32Array;
  feature: Int32Array;
  /** Absolute index of the right child (the left child is the next node). */
  right: Int32Array;
  /** Split threshold; at a leaf, treeScale × the leaf's value for the output. */
  threshold: Float64Array;
  /** cover[node] / cover[parent]. */
  ratio: Float64Array;
  /** NAN_LEFT | REPEATS | LEAF_PAIR. */
  flags: Uint8Array;
  /** Kept trees [0, half) and [half, end) hold about half the nodes each: the two parts a row is walked in. */
  half: number;
  /** Levels of the deepest tree + 2, most points of a tree, and the ensemble's features (sizes of the scratch). */
  levels: number;
  maxPoints: number;
  numFeatures: number;
}

const NAN_LEFT = 1;
/** The node's feature is split on again inside its subtree. */
const REPEATS = 2;
/** Both children are leaves. */
const LEAF_PAIR = 8;

/** Scratch of `explainOutput`, one per thread, grown to the largest shape seen. */
interface OutputScratch {
  levels: number;
  points: number;
  features: number;
  prod: Float64Array;
  base: Float64Array;
  sums: Float64Array;
  saved: Float64Array;
  owed: Float64Array;
  a: Float64Array;
  b: Float64Array;
  /** Per level: node, next side, aOld, bOld, and the child being walked's aNew and dNew. */
  levelNode: Int32Array;
  levelSide: Int32Array;
  levelA: Float64Array;
  levelB: Float64Array;
  levelANew: Float64Array;
  levelDNew: Float64Array;
}

/** Σ children's covers = the node's cover, to rounding: the condition for collapsing a constant subtree. */
function coversAddUp(tree: FlatTree, node: number): boolean {
  const c = tree.cover[node];
  const sum = tree.cover[tree.left[node]] + tree.cover[tree.right[node]];
  return Math.abs(sum - c) <= 1e-12 * Math.abs(c);
}

/** `values` in a typed array on shared memory: the helper thread of predict-parallel.ts reads it without a copy. */
function sharedCopy<T extends Int32Array | Float64Array | Uint8Array>(
  type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  values: T,
): T {
  const array = new type(new SharedArrayBuffer(values.length * type.BYTES_PER_ELEMENT));
  array.set(values);
  return array;
}

function buildOutputTrees(ensemble: TreeEnsemble, outputIndex: number): OutputTrees {
  const kept = ensemble.trees.filter((tree) => tree.output < 0 || tree.output === outputIndex);
  let bound = 0;
  for (const tree of kept) bound += tree.nodeCount;
  const starts = new Int32Array(kept.length + 1);
  const points = new Int32Array(kept.length);
  const feature = new Int32Array(bound);
  const right = new Int32Array(bound);
  const threshold = new Float64Array(bound);
  const ratio = new Float64Array(bound);
  const flags = new Uint8Array(bound);
  const nearest = new Int32Array(ensemble.numFeatures).fill(-1);
  let count = 0;
  let trees = 0;
  let maxDepth = 0;
  let maxPoints = 1;
  for (const tree of kept) {
    const valueStart = tree.output >= 0 ? 0 : outputIndex;
    // Per node: the value every leaf below holds, NaN when they differ.
    const constant = new Float64Array(tree.nodeCount);
    const constantOf = (node: number): number => {
      let v: number;
      if (tree.feature[node] < 0) v = tree.values[node * tree.valueWidth + valueStart];
      else {
        const l = constantOf(tree.left[node]);
        const r = constantOf(tree.right[node]);
        v = l === r && coversAddUp(tree, node) ? l : NaN;
      }
      constant[node] = v;
      return v;
    };
    if (!Number.isNaN(constantOf(0))) continue; // a constant tree explains nothing
    let distinct = 0;
    const copy = (node: number, parentCover: number, depth: number, unique: number): void => {
      const id = count++;
      ratio[id] = tree.cover[node] / parentCover;
      if (!Number.isNaN(constant[node]) || tree.feature[node] < 0) {
        feature[id] = -1;
        right[id] = -1;
        threshold[id] = constant[node] * ensemble.treeScale;
        if (depth > maxDepth) maxDepth = depth;
        if (unique > distinct) distinct = unique;
        return;
      }
      const f = tree.feature[node];
      feature[id] = f;
      threshold[id] = tree.threshold[node];
      flags[id] = tree.defaultLeft[node] === 1 ? NAN_LEFT : 0;
      const above = nearest[f];
      if (above >= 0) flags[above] |= REPEATS;
      nearest[f] = id;
      const u = unique + (above < 0 ? 1 : 0);
      const c = tree.cover[node];
      copy(tree.left[node], c, depth + 1, u);
      right[id] = count;
      copy(tree.right[node], c, depth + 1, u);
      if (feature[id + 1] < 0 && feature[right[id]] < 0) flags[id] |= LEAF_PAIR;
      nearest[f] = above;
    };
    const first = count;
    copy(0, tree.cover[0], 0, 0);
    ratio[first] = 1;
    const q = pointsFor(distinct);
    points[trees++] = q;
    if (q > maxPoints) maxPoints = q;
    starts[trees] = count;
  }
  let half = 0;
  while (half < trees && starts[half + 1] <= count / 2) half++;
  return {
    half,
    treeStart: sharedCopy(Int32Array, starts.subarray(0, trees + 1)),
    points: sharedCopy(Int32Array, points.subarray(0, trees)),
    feature: sharedCopy(Int32Array, feature.subarray(0, count)),
    right: sharedCopy(Int32Array, right.subarray(0, count)),
    threshold: sharedCopy(Float64Array, threshold.subarray(0, count)),
    ratio: sharedCopy(Float64Array, ratio.subarray(0, count)),
    flags: sharedCopy(Uint8Array, flags.subarray(0, count)),
    levels: maxDepth + 2,
    maxPoints,
    numFeatures: ensemble.numFeatures,
  };
}

let outputScratch: OutputScratch | null = null;

function scratchOf(o: OutputTrees): OutputScratch {
  const s = outputScratch;
  if (s && s.levels >= o.levels && s.points >= o.maxPoints && s.features === o.numFeatures) return s;
  const levels = Math.max(o.levels, s?.levels ?? 0);
  const points = Math.max(o.maxPoints, s?.points ?? 0);
  const M = o.numFeatures;
  outputScratch = {
    levels,
    points,
    features: M,
    prod: new Float64Array(levels * points),
    base: new Float64Array(levels * points),
    sums: new Float64Array(levels * points),
    saved: new Float64Array(levels * points),
    owed: new Float64Array(M * points),
    a: new Float64Array(M).fill(1),
    b: new Float64Array(M).fill(1),
    levelNode: new Int32Array(levels),
    levelSide: new Int32Array(levels),
    levelA: new Float64Array(levels),
    levelB: new Float64Array(levels),
    levelANew: new Float64Array(levels),
    levelDNew: new Float64Array(levels),
  };
  return outputScratch;
}

/** Gauss–Legendre points with the reciprocals of 1 − t: a factor a(1 − t) (x leaves the edge) divides by a once. */
interface Quadrature {
  t: Float64Array;
  w: Float64Array;
  /** 1 / (1 − t). */
  inv: Float64Array;
  /** w / (1 − t). */
  wInv: Float64Array;
}

const quadratures = new Map<number, Quadrature>();

function quadrature(n: number): Quadrature {
  let q = quadratures.get(n);
  if (q) return q;
  const { nodes: t, weights: w } = gaussLegendre(n);
  const inv = t.map((tq) => 1 / (1 - tq));
  q = { t, w, inv, wInv: w.map((wq, i) => wq * inv[i]) };
  quadratures.set(n, q);
  return q;
}

/**
 * Adds the SHAP values of kept trees [from, to) into phi: the walk of `shapTreeLinear` with one output, as a loop over an
 * explicit stack of levels (no calls, every array a local). Each node's product is factored as base × (child
 * factor), base = the product without the node's feature, so a leaf child needs no division (its integrand is
 * v · base) and a feature with no split above has factor 1. A factor x does not follow is a(1 − t): dividing by it
 * is a multiplication by the precomputed 1/(1 − t) and one division by a. A split with two leaves on a feature not
 * split above (LEAF_PAIR, about a fifth of a deep forest's splits) is done inside its parent's step, in one pass
 * instead of a level of its own (~8 % less CPU on the Kepler forest).
 */
export function explainOutput(o: OutputTrees, row: Float64Array, phi: Float64Array, from: number, to: number): void {
  const { treeStart, points, feature, right, threshold, ratio, flags } = o;
  const { prod, base, sums, saved, owed, a, b, levelNode, levelSide, levelA, levelB, levelANew, levelDNew } =
    scratchOf(o);
  for (let tree = from; tree < to; tree++) {
    const Q = points[tree];
    const { t, w, inv, wInv } = quadrature(Q);
    for (let q = 0; q < Q; q++) prod[q] = 1;
    let depth = 0;
    let node = treeStart[tree];
    let entering = true;
    for (;;) {
      const f = feature[node];
      const sBase = depth * Q;
      const cBase = sBase + Q;
      const oBase = f * Q;
      const repeats = (flags[node] & REPEATS) !== 0;
      let side: number;
      let aOld: number;
      let bOld: number;
      if (entering) {
        aOld = a[f];
        bOld = b[f];
        levelNode[depth] = node;
        levelA[depth] = aOld;
        levelB[depth] = bOld;
        if (aOld !== 1 || bOld !== 1) {
          if (bOld === 0) {
            const s = 1 / aOld;
            for (let q = 0; q < Q; q++) base[sBase + q] = prod[sBase + q] * inv[q] * s;
          } else {
            const dOld = bOld - aOld;
            for (let q = 0; q < Q; q++) base[sBase + q] = prod[sBase + q] / (aOld + dOld * t[q]);
          }
        }
        if (repeats) for (let q = 0; q < Q; q++) saved[sBase + q] = owed[oBase + q];
        for (let q = 0; q < Q; q++) sums[sBase + q] = 0;
        side = 0;
      } else {
        // Back from the child of side levelSide[depth]: credit f for the leaves not credited deeper.
        aOld = levelA[depth];
        bOld = levelB[depth];
        side = levelSide[depth];
        const aNew = levelANew[depth];
        const dNew = levelDNew[depth];
        let integral = 0;
        if (dNew + aNew === 0) {
          // x leaves this edge: divide by aNew(1 − t).
          if (repeats) {
            for (let q = 0; q < Q; q++) {
              const s = sums[cBase + q];
              integral += wInv[q] * (s - owed[oBase + q]);
              sums[sBase + q] += s;
            }
          } else {
            for (let q = 0; q < Q; q++) {
              const s = sums[cBase + q];
              integral += wInv[q] * s;
              sums[sBase + q] += s;
            }
          }
          integral /= aNew;
        } else if (repeats) {
          for (let q = 0; q < Q; q++) {
            const s = sums[cBase + q];
            integral += (w[q] * (s - owed[oBase + q])) / (aNew + dNew * t[q]);
            sums[sBase + q] += s;
          }
        } else {
          for (let q = 0; q < Q; q++) {
            const s = sums[cBase + q];
            integral += (w[q] * s) / (aNew + dNew * t[q]);
            sums[sBase + q] += s;
          }
        }
        phi[f] += dNew * integral;
        side++;
      }
      const hasAncestor = aOld !== 1 || bOld !== 1;
      // The product without f's factor: f's factor is 1 unless f was split on above.
      const B = hasAncestor ? base : prod;
      const x = row[f];
      const th = threshold[node];
      const goLeft = x <= th ? true : x > th ? false : (flags[node] & NAN_LEFT) !== 0;
      let descended = false;
      for (; side < 2; side++) {
        const child = side === 0 ? node + 1 : right[node];
        const aNew = aOld * ratio[child];
        const bNew = (side === 0) === goLeft ? bOld : 0;
        // Factor ≡ 0: every leaf below is worth 0 in every coalition.
        if (aNew === 0 && bNew === 0) continue;
        const dNew = bNew - aNew;
        if (feature[child] < 0) {
          const v = threshold[child];
          if (v === 0) continue;
          let integral = 0;
          for (let q = 0; q < Q; q++) {
            const bq = B[sBase + q];
            integral += w[q] * bq;
            sums[sBase + q] += v * bq * (aNew + dNew * t[q]);
          }
          phi[f] += dNew * v * integral;
          continue;
        }
        const g = feature[child];
        if ((flags[child] & LEAF_PAIR) !== 0 && g !== f && a[g] === 1 && b[g] === 1) {
          // A split on a feature not split above, with two leaves: walked here in one pass. Its product is
          // B · F (F this edge's factor, no factor of g to divide out), its leaves' sums B · F · (alpha + beta · t),
          // g is credited beta · ∫B·F and f, for the split's sums over F, dNew · ∫B · (alpha + beta · t).
          const l = child + 1;
          const r = right[child];
          const xg = row[g];
          const thg = threshold[child];
          const left = xg <= thg ? true : xg > thg ? false : (flags[child] & NAN_LEFT) !== 0;
          const vl = threshold[l];
          const vr = threshold[r];
          const al = ratio[l];
          const ar = ratio[r];
          const alpha = vl * al + vr * ar;
          const beta = vl * ((left ? 1 : 0) - al) + vr * ((left ? 0 : 1) - ar);
          let ig = 0;
          let jf = 0;
          for (let q = 0; q < Q; q++) {
            const bq = B[sBase + q];
            const pq = bq * (aNew + dNew * t[q]);
            const lin = alpha + beta * t[q];
            ig += w[q] * pq;
            jf += w[q] * bq * lin;
            sums[sBase + q] += pq * lin;
          }
          phi[g] += beta * ig;
          phi[f] += dNew * jf;
          continue;
        }
        for (let q = 0; q < Q; q++) prod[cBase + q] = B[sBase + q] * (aNew + dNew * t[q]);
        a[f] = aNew;
        b[f] = bNew;
        if (repeats) for (let q = 0; q < Q; q++) owed[oBase + q] = 0;
        levelSide[depth] = side;
        levelANew[depth] = aNew;
        levelDNew[depth] = dNew;
        depth++;
        node = child;
        descended = true;
        break;
      }
      if (descended) {
        entering = true;
        continue;
      }
      // Both sides done: restore f's factor and report the subtree to the split on f above, if any.
      a[f] = aOld;
      b[f] = bOld;
      if (repeats) {
        for (let q = 0; q < Q; q++) owed[oBase + q] = saved[sBase + q] + (hasAncestor ? sums[sBase + q] : 0);
      } else if (hasAncestor) {
        for (let q = 0; q < Q; q++) owed[oBase + q] += sums[sBase + q];
      }
      if (depth === 0) break;
      depth--;
      node = levelNode[depth];
      entering = false;
    }
    // owed is back to 0 for the next tree: only a node with a split on its feature above changes owed, inside the
    // walk of that split (REPEATS), which restores what it saved on leaving; a and b are restored level by level.
  }
}

const outputTrees = new WeakMap<TreeEnsemble, (OutputTrees | undefined)[]>();

/**
 * SHAP values of one row for output `outputIndex` (a class): probability for forests/trees, softmax margin for
 * boosting. Σ contributions = output − baseValue (to rounding).
 * The trees are walked in two parts summed at the end, the second on the helper thread of predict-parallel.ts
 * when the model is large enough and the helper is free; the same sums either way, so the same bits.
 */
export function treeShap(ensemble: TreeEnsemble, row: Float64Array, outputIndex: number): TreeShapResult {
  checkRow(ensemble, row);
  if (!Number.isInteger(outputIndex) || outputIndex < 0 || outputIndex >= ensemble.numOutputs) {
    throw new RangeError(`outputIndex ${outputIndex} is outside [0, ${ensemble.numOutputs})`);
  }
  const prep = prepare(ensemble);
  let perOutput = outputTrees.get(ensemble);
  if (!perOutput) {
    perOutput = [];
    outputTrees.set(ensemble, perOutput);
  }
  const trees = (perOutput[outputIndex] ??= buildOutputTrees(ensemble, outputIndex));
  const phi = explainInTwoParts(trees, row, predictThreads.count, explainOutput);
  return { baseValue: prep.expected[outputIndex], contributions: phi };
}

/** SHAP values of one row for every output at once (one pass over the trees). */
export function treeShapAll(ensemble: TreeEnsemble, row: Float64Array): TreeShapAllResult {
  checkRow(ensemble, row);
  const prep = prepare(ensemble);
  const M = ensemble.numFeatures;
  const K = ensemble.numOutputs;
  const phi = new Float64Array(K * M);
  const sc = scratchFor(prep.maxDepth, prep.maxPoints, K, M);
  ensemble.trees.forEach((tree, i) => {
    const args = [prep.treeDepth[i], prep.treeUnique[i], prep.repeatsBelow[i], sc, row] as const;
    if (tree.output >= 0)
      shapTreeLinear(tree, ...args, phi.subarray(tree.output * M, (tree.output + 1) * M), M, 0, 1, ensemble.treeScale);
    else shapTreeLinear(tree, ...args, phi, M, 0, K, ensemble.treeScale);
  });
  return { baseValues: prep.expected.slice(), contributions: phi };
}
