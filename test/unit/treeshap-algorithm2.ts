/**
 * The tests' oracle for TreeSHAP: Algorithm 2 of Lundberg, Erion & Lee (2018) as published, O(leaves × depth²) per
 * tree, a port of shap's tree_shap.h (extend / unwind / unwound-sum on the unique path). The product code
 * (src/ml/models/trees/treeshap.ts) computes the same values in O(nodes × depth); both agree to ~1e-15.
 * Used by trees-shap.test.ts and `ALG2=1 npm run bench:trees`; never shipped.
 */
import type { FlatTree, TreeEnsemble, TreeShapResult } from '../../src/ml/models/trees/index.js';

function depthOf(tree: FlatTree): number {
  const walk = (node: number, depth: number): number =>
    tree.feature[node] < 0 ? depth : Math.max(walk(tree.left[node], depth + 1), walk(tree.right[node], depth + 1));
  return walk(0, 0);
}

/** The cover-weighted mean output (the base value of the explanation), baseScore included. */
function expectedOutput(ensemble: TreeEnsemble, output: number): number {
  let total = ensemble.baseScore[output];
  for (const tree of ensemble.trees) {
    if (tree.output >= 0 && tree.output !== output) continue;
    const walk = (node: number, weight: number): number => {
      if (tree.feature[node] < 0)
        return weight * tree.values[tree.output >= 0 ? node : node * tree.valueWidth + output];
      const c = tree.cover[node];
      return (
        walk(tree.left[node], (weight * tree.cover[tree.left[node]]) / c) +
        walk(tree.right[node], (weight * tree.cover[tree.right[node]]) / c)
      );
    };
    total += ensemble.treeScale * walk(0, 1);
  }
  return total;
}

/** Unique-path storage: one segment per recursion level, as in the reference implementation. */
class PathBuffer {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;

  constructor(maxDepth: number) {
    const size = ((maxDepth + 3) * (maxDepth + 4)) / 2 + 1;
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
  }

  extend(off: number, depth: number, zeroFraction: number, oneFraction: number, featureIndex: number): void {
    const w = this.weight;
    this.feature[off + depth] = featureIndex;
    this.zero[off + depth] = zeroFraction;
    this.one[off + depth] = oneFraction;
    w[off + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      w[off + i + 1] += (oneFraction * w[off + i] * (i + 1)) / (depth + 1);
      w[off + i] = (zeroFraction * w[off + i] * (depth - i)) / (depth + 1);
    }
  }

  unwind(off: number, depth: number, pathIndex: number): void {
    const w = this.weight;
    const oneFraction = this.one[off + pathIndex];
    const zeroFraction = this.zero[off + pathIndex];
    let nextOnePortion = w[off + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (oneFraction !== 0) {
        const tmp = w[off + i];
        w[off + i] = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
        nextOnePortion = tmp - (w[off + i] * zeroFraction * (depth - i)) / (depth + 1);
      } else {
        w[off + i] = (w[off + i] * (depth + 1)) / (zeroFraction * (depth - i));
      }
    }
    for (let i = pathIndex; i < depth; i++) {
      this.feature[off + i] = this.feature[off + i + 1];
      this.zero[off + i] = this.zero[off + i + 1];
      this.one[off + i] = this.one[off + i + 1];
    }
  }

  unwoundSum(off: number, depth: number, pathIndex: number): number {
    const w = this.weight;
    const oneFraction = this.one[off + pathIndex];
    const zeroFraction = this.zero[off + pathIndex];
    let nextOnePortion = w[off + depth];
    let total = 0;
    if (oneFraction !== 0) {
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
        total += tmp;
        nextOnePortion = w[off + i] - (tmp * zeroFraction * (depth - i)) / (depth + 1);
      }
    } else {
      for (let i = depth - 1; i >= 0; i--) total += (w[off + i] * (depth + 1)) / (zeroFraction * (depth - i));
    }
    return total;
  }
}

/**
 * Adds one tree's SHAP values into phi (outCount × numFeatures): output o reads leaf value
 * values[leaf·valueWidth + valueStart + o], scaled by `scale`.
 */
function shapTree(
  tree: FlatTree,
  row: Float64Array,
  path: PathBuffer,
  phi: Float64Array,
  numFeatures: number,
  valueStart: number,
  outCount: number,
  scale: number,
): void {
  const { feature, threshold, left, right, defaultLeft, cover, values, valueWidth } = tree;

  const recurse = (
    node: number,
    depth: number,
    parentOff: number,
    zeroFraction: number,
    oneFraction: number,
    featureIndex: number,
  ): void => {
    const off = parentOff + depth + 1;
    for (let i = 0; i < depth; i++) {
      path.feature[off + i] = path.feature[parentOff + i];
      path.zero[off + i] = path.zero[parentOff + i];
      path.one[off + i] = path.one[parentOff + i];
      path.weight[off + i] = path.weight[parentOff + i];
    }
    path.extend(off, depth, zeroFraction, oneFraction, featureIndex);

    const f = feature[node];
    if (f < 0) {
      const vBase = node * valueWidth + valueStart;
      for (let i = 1; i <= depth; i++) {
        const w = path.unwoundSum(off, depth, i) * (path.one[off + i] - path.zero[off + i]) * scale;
        const target = path.feature[off + i];
        for (let o = 0; o < outCount; o++) phi[o * numFeatures + target] += w * values[vBase + o];
      }
      return;
    }

    const x = row[f];
    const th = threshold[node];
    const goLeft = x <= th ? true : x > th ? false : defaultLeft[node] === 1;
    const hot = goLeft ? left[node] : right[node];
    const cold = goLeft ? right[node] : left[node];
    const c = cover[node];
    const hotZero = cover[hot] / c;
    const coldZero = cover[cold] / c;
    let incomingZero = 1;
    let incomingOne = 1;
    // A feature already on the path: undo its earlier split so it is counted once.
    let pathIndex = 0;
    while (pathIndex <= depth && path.feature[off + pathIndex] !== f) pathIndex++;
    let d = depth;
    if (pathIndex !== depth + 1) {
      incomingZero = path.zero[off + pathIndex];
      incomingOne = path.one[off + pathIndex];
      path.unwind(off, depth, pathIndex);
      d -= 1;
    }
    recurse(hot, d + 1, off, hotZero * incomingZero, incomingOne, f);
    recurse(cold, d + 1, off, coldZero * incomingZero, 0, f);
  };

  recurse(0, 0, 0, 1, 1, -1);
}

/**
 * Algorithm 2 of Lundberg et al. as published (O(L·D²) per tree), kept as a cross-check of `treeShap`, which
 * computes the same values in O(N·D). Same contract as `treeShap`.
 */
export function treeShapAlgorithm2(ensemble: TreeEnsemble, row: Float64Array, outputIndex: number): TreeShapResult {
  if (row.length !== ensemble.numFeatures)
    throw new RangeError(`row has ${row.length} values, model expects ${ensemble.numFeatures}`);
  if (!Number.isInteger(outputIndex) || outputIndex < 0 || outputIndex >= ensemble.numOutputs) {
    throw new RangeError(`outputIndex ${outputIndex} is outside [0, ${ensemble.numOutputs})`);
  }
  let maxDepth = 0;
  for (const tree of ensemble.trees) maxDepth = Math.max(maxDepth, depthOf(tree));
  const path = new PathBuffer(maxDepth);
  const M = ensemble.numFeatures;
  const phi = new Float64Array(M);
  for (const tree of ensemble.trees) {
    if (tree.output >= 0) {
      if (tree.output === outputIndex) shapTree(tree, row, path, phi, M, 0, 1, ensemble.treeScale);
    } else shapTree(tree, row, path, phi, M, outputIndex, 1, ensemble.treeScale);
  }
  return { baseValue: expectedOutput(ensemble, outputIndex), contributions: phi };
}
