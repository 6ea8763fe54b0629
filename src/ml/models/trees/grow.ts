/**
 * The two tree growers of the engine, both on binned features:
 * - `growClassTree`: CART classification tree (gini / entropy) for random forests and single trees, with
 *   per-split feature sampling; column-major bins, one histogram per sampled feature.
 * - `GradientTreeGrower`: XGBoost's second-order regression tree on (gradient, hessian) pairs, depth-wise,
 *   with the histogram subtraction trick; row-major histogram slots.
 * Rows of a node are a contiguous segment of a row-index array partitioned in place (stable), so no per-row
 * allocation happens while growing.
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
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const node = stack.pop()!;
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

// ───────────────────────────── Gradient (XGBoost) regression tree ─────────────────────────────

export interface GradientTreeParams {
  /** Infinity = unlimited. */
  maxDepth: number;
  lambda: number;
  alpha: number;
  /** Minimum loss reduction to keep a split (bottom-up pruning, as XGBoost). */
  gamma: number;
  minChildWeight: number;
  /** Learning rate, folded into the leaf values. */
  eta: number;
}

/** XGBoost's kRtEps: a split must reduce the loss by more than this. */
const MIN_SPLIT_LOSS_CHANGE = 1e-6;

/** Grows XGBoost trees on one binned matrix; owns its scratch memory so many trees allocate little. */
export class GradientTreeGrower {
  private readonly idx: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly slots: Uint16Array | Uint32Array;
  /** Histogram offset (in bins) of each feature; every feature has numBins + 1 slots (the last is missing). */
  private readonly offsets: Int32Array;
  private readonly histSize: number;
  private readonly pool: Float64Array[] = [];

  constructor(
    private readonly data: BinnedData,
    private readonly params: GradientTreeParams,
  ) {
    this.idx = new Uint32Array(data.rows);
    this.scratch = new Uint32Array(data.rows);
    this.offsets = new Int32Array(data.cols + 1);
    for (let f = 0; f < data.cols; f++) this.offsets[f + 1] = this.offsets[f] + data.numBins[f] + 1;
    this.histSize = this.offsets[data.cols] * 2;
    // Histogram slot of every (row, feature), row-major: saves an offset lookup per update (~30 % faster).
    // Uint16 holds 65,536 slots (≥ 256 features at 255 bins); wider data falls back to Uint32.
    this.slots =
      this.offsets[data.cols] <= 0xffff
        ? new Uint16Array(data.rows * data.cols)
        : new Uint32Array(data.rows * data.cols);
    for (let f = 0; f < data.cols; f++) {
      const colBase = f * data.rows;
      for (let r = 0; r < data.rows; r++) this.slots[r * data.cols + f] = this.offsets[f] + data.bins[colBase + r];
    }
  }

  private acquire(): Float64Array {
    const h = this.pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.histSize);
  }

  /** Adds (g, h) of rows idx[start, end) into hist for the given features. */
  /** Adds (g, h) of rows idx[start, end) into hist for the given features (row by row, gradients read once). */
  private build(hist: Float64Array, start: number, end: number, gh: Float64Array, features: Int32Array): void {
    const slots = this.slots;
    const cols = this.data.cols;
    const idx = this.idx;
    const nf = features.length;
    if (nf === cols) {
      for (let i = start; i < end; i++) {
        const r = idx[i];
        const g = gh[2 * r];
        const h = gh[2 * r + 1];
        const base = r * cols;
        for (let f = 0; f < cols; f++) {
          const o = slots[base + f] << 1;
          hist[o] += g;
          hist[o + 1] += h;
        }
      }
    } else {
      for (let i = start; i < end; i++) {
        const r = idx[i];
        const g = gh[2 * r];
        const h = gh[2 * r + 1];
        const base = r * cols;
        for (let j = 0; j < nf; j++) {
          const o = slots[base + features[j]] << 1;
          hist[o] += g;
          hist[o + 1] += h;
        }
      }
    }
  }

  private subtract(from: Float64Array, small: Float64Array, features: Int32Array): void {
    if (features.length === this.data.cols) {
      for (let i = 0; i < this.histSize; i++) from[i] -= small[i];
      return;
    }
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      for (let i = this.offsets[f] * 2, e = this.offsets[f + 1] * 2; i < e; i++) from[i] -= small[i];
    }
  }

  private readonly best = { feature: -1, bin: 0, defaultLeft: 0, GL: 0, HL: 0, change: 0 };

  /** XGBoost's soft threshold of a gradient sum by reg_alpha. */
  private thresholded(G: number): number {
    const alpha = this.params.alpha;
    return G > alpha ? G - alpha : G < -alpha ? G + alpha : 0;
  }

  /** Structure score of a split into (GL, HL) and (GR, HR); small enough for V8 to inline in the scan. */
  private splitScore(GL: number, HL: number, GR: number, HR: number): number {
    const lambda = this.params.lambda;
    if (this.params.alpha === 0) return (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda);
    const a = this.thresholded(GL);
    const c = this.thresholded(GR);
    return (a * a) / (HL + lambda) + (c * c) / (HR + lambda);
  }

  /**
   * Best split of a node from its histogram into `this.best`; false when no split reduces the loss by more than
   * MIN_SPLIT_LOSS_CHANGE. Candidates: after each non-empty value bin below the last non-empty one, with the
   * missing bin sent right, and (when the node has missing values) left.
   */
  private findSplit(hist: Float64Array, nodeG: number, nodeH: number, features: Int32Array): boolean {
    const { lambda, minChildWeight } = this.params;
    const numBins = this.data.numBins;
    const offsets = this.offsets;
    const best = this.best;
    const tg = this.thresholded(nodeG);
    const parentGain = (tg * tg) / (nodeH + lambda);
    // Compare raw child scores against this to skip a subtraction per candidate.
    let bestScore = MIN_SPLIT_LOSS_CHANGE + parentGain;
    let found = false;
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      const nb = numBins[f];
      const o = offsets[f] * 2;
      const mG = hist[o + 2 * nb];
      const mH = hist[o + 2 * nb + 1];
      let last = nb - 1;
      while (last >= 0 && hist[o + 2 * last + 1] === 0) last--;
      let GL = 0;
      let HL = 0;
      for (let b = 0; b < last; b++) {
        const h = hist[o + 2 * b + 1];
        if (h === 0) continue;
        GL += hist[o + 2 * b];
        HL += h;
        const HR = nodeH - HL;
        // HR only shrinks from here on: no later candidate can satisfy min_child_weight on the right.
        if (HR < minChildWeight) break;
        if (HL >= minChildWeight) {
          const score = this.splitScore(GL, HL, nodeG - GL, HR);
          if (score > bestScore) {
            bestScore = score;
            found = true;
            best.feature = f;
            best.bin = b;
            best.GL = GL;
            best.HL = HL;
            // Missing values go right here; without any in the node, NaN later goes right too, as in XGBoost
            // (its forward scan sends missing right and only scans backwards when the node has missing values).
            best.defaultLeft = 0;
          }
        }
        if (mH > 0) {
          const GL2 = GL + mG;
          const HL2 = HL + mH;
          const HR2 = nodeH - HL2;
          if (HL2 >= minChildWeight && HR2 >= minChildWeight) {
            const score = this.splitScore(GL2, HL2, nodeG - GL2, HR2);
            if (score > bestScore) {
              bestScore = score;
              found = true;
              best.feature = f;
              best.bin = b;
              best.GL = GL2;
              best.HL = HL2;
              best.defaultLeft = 1;
            }
          }
        }
      }
    }
    best.change = bestScore - parentGain;
    return found;
  }

  /**
   * Grows one tree on the rows `sample` with interleaved gradient pairs `gh` (g at 2r, h at 2r+1), splitting on
   * `features` only (colsample_bytree). Adds each kept split's loss reduction to `gainByFeature`, and writes the
   * final leaf value of every sampled row r into `rowValue[r]` (the partition already knows each row's leaf).
   */
  grow(
    gh: Float64Array,
    sample: Uint32Array,
    features: Int32Array,
    gainByFeature: Float64Array,
    rowValue: Float64Array,
  ): TreeArrays {
    const { numBins, edges, cols } = this.data;
    const slots = this.slots;
    const { maxDepth, lambda, gamma, eta } = this.params;
    const idx = this.idx;
    const n = sample.length;
    idx.set(sample);
    const leafWeight = (G: number, H: number): number => (-this.thresholded(G) / (H + lambda)) * eta;

    const builder = new TreeBuilder(1, 128);
    let G = 0;
    let H = 0;
    for (let i = 0; i < n; i++) {
      G += gh[2 * idx[i]];
      H += gh[2 * idx[i] + 1];
    }
    const root = builder.addLeaf(H);
    builder.values[root] = leafWeight(G, H);
    // Row segment [segStart, segEnd) of idx held by each node.
    const segStart: number[] = [0];
    const segEnd: number[] = [n];
    // Stack entries: node, start, end, depth, G, H, histogram (null at max depth).
    const nodes: number[] = [root];
    const ranges: number[] = [0, n, 0];
    const sums: number[] = [G, H];
    const hists: (Float64Array | null)[] = [null];
    if (maxDepth > 0) {
      const h = this.acquire();
      this.build(h, 0, n, gh, features);
      hists[0] = h;
    }

    while (nodes.length > 0) {
      const node = nodes.pop()!;
      const depth = ranges.pop()!;
      const end = ranges.pop()!;
      const start = ranges.pop()!;
      const nodeH = sums.pop()!;
      const nodeG = sums.pop()!;
      const hist = hists.pop()!;
      if (hist === null) continue;

      const found = this.findSplit(hist, nodeG, nodeH, features);
      const best = this.best;
      const bestFeature = found ? best.feature : -1;
      const bestBin = best.bin;
      const bestDefaultLeft = best.defaultLeft;
      const bestGL = best.GL;
      const bestHL = best.HL;
      const bestChange = best.change;
      if (bestFeature < 0) {
        this.pool.push(hist);
        continue;
      }

      const missingSlot = this.offsets[bestFeature] + numBins[bestFeature];
      const splitSlot = this.offsets[bestFeature] + bestBin;
      let l = start;
      let rCount = 0;
      for (let i = start; i < end; i++) {
        const r = idx[i];
        const b = slots[r * cols + bestFeature];
        if (b === missingSlot ? bestDefaultLeft === 1 : b <= splitSlot) idx[l++] = r;
        else this.scratch[rCount++] = r;
      }
      idx.set(this.scratch.subarray(0, rCount), l);

      const GR = nodeG - bestGL;
      const HR = nodeH - bestHL;
      const leftId = builder.addLeaf(bestHL);
      const rightId = builder.addLeaf(HR);
      segStart[leftId] = start;
      segEnd[leftId] = l;
      segStart[rightId] = l;
      segEnd[rightId] = end;
      builder.values[leftId] = leafWeight(bestGL, bestHL);
      builder.values[rightId] = leafWeight(GR, HR);
      builder.feature[node] = bestFeature;
      builder.splitBin[node] = bestBin;
      builder.threshold[node] = edges[bestFeature][bestBin];
      builder.defaultLeft[node] = bestDefaultLeft;
      builder.left[node] = leftId;
      builder.right[node] = rightId;
      builder.gain[node] = bestChange;

      let leftHist: Float64Array | null = null;
      let rightHist: Float64Array | null = null;
      if (depth + 1 < maxDepth) {
        // Build the smaller child; the parent's histogram minus it is the sibling's.
        const small = this.acquire();
        if (l - start <= end - l) {
          this.build(small, start, l, gh, features);
          this.subtract(hist, small, features);
          leftHist = small;
          rightHist = hist;
        } else {
          this.build(small, l, end, gh, features);
          this.subtract(hist, small, features);
          leftHist = hist;
          rightHist = small;
        }
      } else {
        this.pool.push(hist);
      }
      nodes.push(rightId, leftId);
      ranges.push(l, end, depth + 1, start, l, depth + 1);
      sums.push(GR, HR, bestGL, bestHL);
      hists.push(rightHist, leftHist);
    }

    // XGBoost's pruner: bottom-up, a split whose children are leaves and whose loss reduction < gamma goes.
    // Children always have larger ids than their parent, so a reverse scan sees children first.
    if (gamma > 0) {
      for (let id = builder.nodeCount - 1; id >= 0; id--) {
        if (builder.feature[id] < 0) continue;
        if (builder.feature[builder.left[id]] < 0 && builder.feature[builder.right[id]] < 0 && builder.gain[id] < gamma)
          builder.feature[id] = -1;
      }
    }
    for (let id = 0; id < builder.nodeCount; id++)
      if (builder.feature[id] >= 0) gainByFeature[builder.feature[id]] += builder.gain[id];
    const stack = [root];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (builder.feature[id] >= 0) {
        stack.push(builder.left[id], builder.right[id]);
        continue;
      }
      const v = builder.values[id];
      for (let i = segStart[id]; i < segEnd[id]; i++) rowValue[idx[i]] = v;
    }
    return builder.finish();
  }
}
