/**
 * `growClassTree`: the CART classification tree (gini / entropy) of random forests and single trees, on binned
 * features, with per-split feature sampling; column-major bins, one histogram per sampled feature. (XGBoost's
 * grower is in grow-gradient.ts.) Rows of a node are a contiguous segment of a row-index array partitioned in place
 * (stable), so no per-row allocation happens while growing.
 */
import type { Random } from '../../random.js';
import { TreeBuilder, type TreeArrays } from './structure.js';

/** Binned training data as the growers need it. */
export interface BinnedData {
  readonly rows: number;
  readonly cols: number;
  /** Column-major: `bins[f * rows + r]`. */
  readonly bins: Uint8Array;
  /** Value bins per feature; bin `numBins[f]` is the missing bin. */
  readonly numBins: Int32Array;
  /** Raw upper edge of every value bin (see binning.ts). */
  readonly edges: Float64Array[];
}

// ───────────────────────────── CART classification tree ─────────────────────────────

export interface ClassTreeParams {
  /** Infinity = grow until pure / the sample limits stop. */
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features examined per split (non-constant ones, as scikit-learn counts). */
  maxFeatures: number;
  criterion: 'gini' | 'entropy';
  bootstrap: boolean;
}

export interface GrownClassTree {
  /** Leaf values are class distributions (sum 1); cover is the bootstrap-weighted sample count. */
  tree: TreeArrays;
  /** Weighted impurity decrease per feature (unnormalised). */
  importance: Float64Array;
}

/** `x ln x` with 0 ln 0 = 0. */
function xlogx(x: number): number {
  return x > 0 ? x * Math.log(x) : 0;
}

/**
 * Grows one classification tree. With `bootstrap`, rows are drawn with replacement (n draws) and carried as
 * integer weights: weighted counts drive impurity, distinct-row counts drive min_samples_* (as scikit-learn).
 */
export function growClassTree(
  data: BinnedData,
  y: Int32Array,
  numClasses: number,
  params: ClassTreeParams,
  rng: Random,
): GrownClassTree {
  const { rows, cols, bins, numBins, edges } = data;
  const K = numClasses;
  const entropy = params.criterion === 'entropy';

  const weight = new Float64Array(rows);
  if (params.bootstrap) for (let i = 0; i < rows; i++) weight[rng.int(rows)] += 1;
  else weight.fill(1);
  let inBag = 0;
  for (let r = 0; r < rows; r++) if (weight[r] > 0) inBag++;
  const idx = new Uint32Array(inBag);
  for (let r = 0, j = 0; r < rows; r++) if (weight[r] > 0) idx[j++] = r;
  const scratch = new Uint32Array(inBag);

  // Split score, higher is better: minus the children's weighted impurity (up to a constant), so
  // score(split) − score(node) is the weighted impurity decrease.
  // gini: w·(1 − Σp²) = w − Σc²/w → score Σc²/w.   entropy: w·H = w ln w − Σ c ln c → score Σ c ln c − w ln w.
  const childScores = (
    left: Float64Array,
    parentCounts: Float64Array,
    offset: number,
    wL: number,
    wTotal: number,
  ): number => {
    const wR = wTotal - wL;
    let sL = 0;
    let sR = 0;
    if (entropy) {
      for (let k = 0; k < K; k++) {
        const cl = left[k];
        sL += xlogx(cl);
        sR += xlogx(parentCounts[offset + k] - cl);
      }
      return sL - xlogx(wL) + sR - xlogx(wR);
    }
    for (let k = 0; k < K; k++) {
      const cl = left[k];
      const cr = parentCounts[offset + k] - cl;
      sL += cl * cl;
      sR += cr * cr;
    }
    return sL / wL + sR / wR;
  };
  const nodeScore = (counts: Float64Array, w: number): number => {
    let s = 0;
    if (entropy) {
      for (let k = 0; k < K; k++) s += xlogx(counts[k]);
      return s - xlogx(w);
    }
    for (let k = 0; k < K; k++) s += counts[k] * counts[k];
    return s / w;
  };

  const builder = new TreeBuilder(K, 256);
  const importance = new Float64Array(cols);
  // Node class counts live in builder.values until the end, then become distributions.
  const hist = new Float64Array(256 * K);
  const histCount = new Int32Array(256);
  const touched = new Int32Array(256);
  const present = new Int32Array(256);
  const acc = new Float64Array(K);
  const cand = new Float64Array(K);
  const bestLeft = new Float64Array(K);
  const parent = new Float64Array(K);
  const perm = new Int32Array(cols);
  for (let f = 0; f < cols; f++) perm[f] = f;

  const root = builder.addLeaf(0);
  {
    let w = 0;
    for (let i = 0; i < inBag; i++) {
      const r = idx[i];
      builder.values[root * K + y[r]] += weight[r];
      w += weight[r];
    }
    builder.cover[root] = w;
  }
  // DFS stack of (node, start, end, depth): the tree is the same as breadth-first, memory stays bounded.
  const stack: number[] = [root, 0, inBag, 0];

  while (stack.length > 0) {
    // Entries are pushed four at a time, so each pop has a value.
    const depth = stack.pop() ?? 0;
    const end = stack.pop() ?? 0;
    const start = stack.pop() ?? 0;
    const node = stack.pop() ?? 0;
    const n = end - start;
    const w = builder.cover[node];
    const vBase = node * K;
    let maxCount = 0;
    for (let k = 0; k < K; k++) if (builder.values[vBase + k] > maxCount) maxCount = builder.values[vBase + k];
    if (depth >= params.maxDepth || n < params.minSamplesSplit || n < 2 * params.minSamplesLeaf || maxCount >= w)
      continue;

    for (let k = 0; k < K; k++) parent[k] = builder.values[vBase + k];
    const parentScore = nodeScore(parent, w);
    let bestScore = -Infinity;
    let bestFeature = -1;
    let bestBin = 0;
    let bestDefaultLeft = 0;
    let bestLeftN = 0;
    let bestLeftW = 0;
    let visited = 0;

    for (let j = 0; j < cols && visited < params.maxFeatures; j++) {
      const swap = j + rng.int(cols - j);
      const f = perm[swap];
      perm[swap] = perm[j];
      perm[j] = f;

      const nb = numBins[f];
      const colBase = f * rows;
      let nTouched = 0;
      for (let i = start; i < end; i++) {
        const r = idx[i];
        const b = bins[colBase + r];
        if (histCount[b] === 0) touched[nTouched++] = b;
        histCount[b]++;
        hist[b * K + y[r]] += weight[r];
      }
      // Present value bins in ascending order: scan every bin when many are touched, else insertion-sort the few.
      let nPresent = 0;
      if (nTouched > 24) {
        for (let b = 0; b < nb; b++) if (histCount[b] > 0) present[nPresent++] = b;
      } else {
        for (let t = 0; t < nTouched; t++) {
          const b = touched[t];
          if (b === nb) continue;
          let p = nPresent++;
          while (p > 0 && present[p - 1] > b) {
            present[p] = present[p - 1];
            p--;
          }
          present[p] = b;
        }
      }
      const missingN = histCount[nb];
      if (nPresent >= 2) {
        visited++;
        acc.fill(0);
        let leftN = 0;
        let leftW = 0;
        let missW = 0;
        const mBase = nb * K;
        for (let k = 0; k < K; k++) missW += hist[mBase + k];
        const minLeaf = params.minSamplesLeaf;
        for (let p = 0; p < nPresent - 1; p++) {
          const b = present[p];
          for (let k = 0; k < K; k++) {
            const c = hist[b * K + k];
            acc[k] += c;
            leftW += c;
          }
          leftN += histCount[b];
          // Missing right (the only option when the node has no missing value), then missing left.
          if (leftN >= minLeaf && n - leftN >= minLeaf) {
            const s = childScores(acc, parent, 0, leftW, w);
            if (s > bestScore) {
              bestScore = s;
              bestFeature = f;
              bestBin = b;
              bestLeftN = leftN;
              bestLeftW = leftW;
              // Without missing values in the node, NaN follows the heavier child (as scikit-learn).
              bestDefaultLeft = missingN > 0 ? 0 : leftW >= w - leftW ? 1 : 0;
              bestLeft.set(acc);
            }
          }
          const nL = leftN + missingN;
          if (missingN > 0 && nL >= minLeaf && n - nL >= minLeaf) {
            for (let k = 0; k < K; k++) cand[k] = acc[k] + hist[mBase + k];
            const s = childScores(cand, parent, 0, leftW + missW, w);
            if (s > bestScore) {
              bestScore = s;
              bestFeature = f;
              bestBin = b;
              bestLeftN = nL;
              bestLeftW = leftW + missW;
              bestDefaultLeft = 1;
              bestLeft.set(cand);
            }
          }
        }
      }
      for (let t = 0; t < nTouched; t++) {
        const b = touched[t];
        histCount[b] = 0;
        for (let k = 0; k < K; k++) hist[b * K + k] = 0;
      }
    }
    if (bestFeature < 0) continue;

    // Stable in-place partition of the node's rows.
    const colBase = bestFeature * rows;
    const missingBin = numBins[bestFeature];
    let l = start;
    let rCount = 0;
    for (let i = start; i < end; i++) {
      const r = idx[i];
      const b = bins[colBase + r];
      const goLeft = b === missingBin ? bestDefaultLeft === 1 : b <= bestBin;
      if (goLeft) idx[l++] = r;
      else scratch[rCount++] = r;
    }
    idx.set(scratch.subarray(0, rCount), l);

    const leftId = builder.addLeaf(bestLeftW);
    const rightId = builder.addLeaf(w - bestLeftW);
    for (let k = 0; k < K; k++) {
      builder.values[leftId * K + k] = bestLeft[k];
      builder.values[rightId * K + k] = builder.values[vBase + k] - bestLeft[k];
    }
    builder.feature[node] = bestFeature;
    builder.splitBin[node] = bestBin;
    builder.threshold[node] = edges[bestFeature][bestBin];
    builder.defaultLeft[node] = bestDefaultLeft;
    builder.left[node] = leftId;
    builder.right[node] = rightId;
    const decrease = bestScore - parentScore;
    builder.gain[node] = decrease;
    importance[bestFeature] += decrease;
    stack.push(rightId, start + bestLeftN, end, depth + 1, leftId, start, start + bestLeftN, depth + 1);
  }

  for (let id = 0; id < builder.nodeCount; id++) {
    const c = builder.cover[id];
    for (let k = 0; k < K; k++) builder.values[id * K + k] = c > 0 ? builder.values[id * K + k] / c : 1 / K;
  }
  return { tree: builder.finish(), importance };
}
