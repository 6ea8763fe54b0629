/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018). The conditional expectation of a tree given a
 * feature subset S follows x on features in S and splits by training cover elsewhere; the contributions are
 * the exact Shapley values of that game, so Σ contributions = output(x) − baseValue, where baseValue is the
 * cover-weighted mean output.
 * `treeShap` / `treeShapAll` evaluate them in O(nodes × depth) per tree (see the note above shapTreeLinear). The
 * paper's Algorithm 2 (O(leaves × depth²)), the tests' cross-check, lives in test/unit/treeshap-algorithm2.ts.
 */
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
 * The one-output walk (`treeShap`, the common call) as a reusable object: per-tree constants are computed once
 * per ensemble, scratch arrays are allocated once, and the recursion is a method rather than a per-call closure.
 * Compared with `shapTreeLinear` it also factors each node's product as base × (child factor), where base is the
 * product without the node's feature: a leaf child then needs no division (its integrand is v · base), and a
 * feature with no ancestor split has factor 1, so dividing it out is skipped.
 */
class OneOutputWalker {
  private readonly prod: Float64Array;
  private readonly base: Float64Array;
  private readonly sums: Float64Array;
  private readonly saved: Float64Array;
  private readonly owed: Float64Array;
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  /** Per tree: cover[node] / cover[parent] (1 at the root). */
  private readonly ratios: Float64Array[];

  // The tree being explained (set by `explain`).
  private feature: Int32Array = new Int32Array(0);
  private threshold: Float64Array = new Float64Array(0);
  private left: Int32Array = new Int32Array(0);
  private right: Int32Array = new Int32Array(0);
  private defaultLeft: Uint8Array = new Uint8Array(0);
  private repeatsBelow: Uint8Array = new Uint8Array(0);
  private ratio: Float64Array = new Float64Array(0);
  private values: Float64Array = new Float64Array(0);
  private valueWidth = 1;
  private valueStart = 0;
  private scale = 1;
  private points = 1;
  private t: Float64Array = new Float64Array(1);
  private gw: Float64Array = new Float64Array(1);
  private row: Float64Array = new Float64Array(0);
  private phi: Float64Array = new Float64Array(0);

  constructor(
    private readonly ensemble: TreeEnsemble,
    private readonly prep: Prepared,
  ) {
    const depth = prep.maxDepth + 2;
    const Q = prep.maxPoints;
    const M = ensemble.numFeatures;
    this.prod = new Float64Array(depth * Q);
    this.base = new Float64Array(depth * Q);
    this.sums = new Float64Array(depth * Q);
    this.saved = new Float64Array(depth * Q);
    this.owed = new Float64Array(M * Q);
    this.a = new Float64Array(M).fill(1);
    this.b = new Float64Array(M).fill(1);
    this.ratios = ensemble.trees.map((tree) => {
      const ratio = new Float64Array(tree.nodeCount).fill(1);
      for (let n = 0; n < tree.nodeCount; n++) {
        if (tree.feature[n] < 0) continue;
        ratio[tree.left[n]] = tree.cover[tree.left[n]] / tree.cover[n];
        ratio[tree.right[n]] = tree.cover[tree.right[n]] / tree.cover[n];
      }
      return ratio;
    });
  }

  /** Adds tree i's SHAP values for leaf value values[leaf·valueWidth + valueStart] into phi. */
  explain(i: number, row: Float64Array, phi: Float64Array, valueStart: number): void {
    const tree = this.ensemble.trees[i];
    if (tree.feature[0] < 0) return;
    this.feature = tree.feature;
    this.threshold = tree.threshold;
    this.left = tree.left;
    this.right = tree.right;
    this.defaultLeft = tree.defaultLeft;
    this.repeatsBelow = this.prep.repeatsBelow[i];
    this.ratio = this.ratios[i];
    this.values = tree.values;
    this.valueWidth = tree.valueWidth;
    this.valueStart = valueStart;
    this.scale = this.ensemble.treeScale;
    const Q = pointsFor(this.prep.treeUnique[i]);
    const g = gaussLegendre(Q);
    this.points = Q;
    this.t = g.nodes;
    this.gw = g.weights;
    this.row = row;
    this.phi = phi;
    for (let q = 0; q < Q; q++) this.prod[q] = 1;
    this.walk(0, 0);
    // Leave the scratch clean for the next tree.
    this.owed.fill(0);
  }

  /**
   * Internal node `node` at `depth` (its product Π_j (a_j + d_j t_q) is in prod[depth·Q …]): writes the
   * subtree's Σ_leaves v·Π into sums[depth·Q …] and credits the node's feature for both edges.
   */
  private walk(node: number, depth: number): void {
    const { prod, sums, saved, owed, a, b, t, gw } = this;
    const Q = this.points;
    const f = this.feature[node];
    const sBase = depth * Q;
    const cBase = sBase + Q;
    const aOld = a[f];
    const bOld = b[f];
    // Only a node whose feature splits again below needs the "credited deeper" bookkeeping for its children;
    // only a node with an ancestor on the same feature has to report its subtree sum upwards.
    const repeats = this.repeatsBelow[node] === 1;
    const hasAncestor = aOld !== 1 || bOld !== 1;
    const oBase = f * Q;
    // base = the product without f's factor (which is 1, so base = prod, unless f was split on above).
    let base = prod;
    if (hasAncestor) {
      base = this.base;
      const dOld = bOld - aOld;
      for (let q = 0; q < Q; q++) base[sBase + q] = prod[sBase + q] / (aOld + dOld * t[q]);
    }
    if (repeats) for (let q = 0; q < Q; q++) saved[sBase + q] = owed[oBase + q];
    for (let q = 0; q < Q; q++) sums[sBase + q] = 0;
    const x = this.row[f];
    const th = this.threshold[node];
    const goLeft = x <= th ? true : x > th ? false : this.defaultLeft[node] === 1;
    // ∫ base dt, shared by leaf children (a leaf's integrand is v · base).
    let baseIntegral = NaN;
    for (let side = 0; side < 2; side++) {
      const child = side === 0 ? this.left[node] : this.right[node];
      const aNew = aOld * this.ratio[child];
      const bNew = (side === 0) === goLeft ? bOld : 0;
      // Factor ≡ 0: every leaf below is worth 0 in every coalition.
      if (aNew === 0 && bNew === 0) continue;
      const dNew = bNew - aNew;
      if (this.feature[child] < 0) {
        const v = this.values[child * this.valueWidth + this.valueStart] * this.scale;
        if (baseIntegral !== baseIntegral) {
          baseIntegral = 0;
          for (let q = 0; q < Q; q++) baseIntegral += gw[q] * base[sBase + q];
        }
        this.phi[f] += dNew * v * baseIntegral;
        for (let q = 0; q < Q; q++) sums[sBase + q] += v * base[sBase + q] * (aNew + dNew * t[q]);
        continue;
      }
      for (let q = 0; q < Q; q++) prod[cBase + q] = base[sBase + q] * (aNew + dNew * t[q]);
      a[f] = aNew;
      b[f] = bNew;
      if (repeats) for (let q = 0; q < Q; q++) owed[oBase + q] = 0;
      this.walk(child, depth + 1);
      // Leaves under a deeper split on f are credited there; the rest are credited here.
      let integral = 0;
      if (repeats) {
        for (let q = 0; q < Q; q++) {
          const s = sums[cBase + q];
          integral += (gw[q] * (s - owed[oBase + q])) / (aNew + dNew * t[q]);
          sums[sBase + q] += s;
        }
      } else {
        for (let q = 0; q < Q; q++) {
          const s = sums[cBase + q];
          integral += (gw[q] * s) / (aNew + dNew * t[q]);
          sums[sBase + q] += s;
        }
      }
      this.phi[f] += dNew * integral;
    }
    a[f] = aOld;
    b[f] = bOld;
    if (repeats) {
      for (let q = 0; q < Q; q++) owed[oBase + q] = saved[sBase + q] + (hasAncestor ? sums[sBase + q] : 0);
    } else if (hasAncestor) {
      for (let q = 0; q < Q; q++) owed[oBase + q] += sums[sBase + q];
    }
  }
}

const walkers = new WeakMap<TreeEnsemble, OneOutputWalker>();

/**
 * SHAP values of one row for output `outputIndex` (a class): probability for forests/trees, softmax margin for
 * boosting. Σ contributions = output − baseValue (to rounding).
 */
export function treeShap(ensemble: TreeEnsemble, row: Float64Array, outputIndex: number): TreeShapResult {
  checkRow(ensemble, row);
  if (!Number.isInteger(outputIndex) || outputIndex < 0 || outputIndex >= ensemble.numOutputs) {
    throw new RangeError(`outputIndex ${outputIndex} is outside [0, ${ensemble.numOutputs})`);
  }
  const prep = prepare(ensemble);
  let walker = walkers.get(ensemble);
  if (!walker) {
    walker = new OneOutputWalker(ensemble, prep);
    walkers.set(ensemble, walker);
  }
  const phi = new Float64Array(ensemble.numFeatures);
  ensemble.trees.forEach((tree, i) => {
    if (tree.output < 0) walker.explain(i, row, phi, outputIndex);
    else if (tree.output === outputIndex) walker.explain(i, row, phi, 0);
  });
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
