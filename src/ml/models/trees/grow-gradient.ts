/**
 * `GradientTreeGrower`: XGBoost's second-order regression tree on (gradient, hessian) pairs, on binned features,
 * depth-wise, with the histogram subtraction trick; row-major histogram slots. Rows of a node are a contiguous
 * segment of a row-index array partitioned in place (stable), so no per-row allocation happens while growing.
 */
import type { BinnedData } from './grow.js';
import { TreeBuilder, type TreeArrays } from './structure.js';
import { buildHistogram, HistogramHelper, type SlotMatrix } from './histogram.js';

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

/**
 * A node with at least this many rows has its histogram built in two halves summed (the second half on the helper
 * thread when there is one): the same sums whatever the thread count, so a model does not depend on it.
 */
export const HALVED_BUILD_MIN_ROWS = 4096;

function sharedArray<T extends Uint16Array | Uint32Array | Int32Array | Float64Array>(
  make: new (buffer: SharedArrayBuffer) => T,
  bytesPerElement: number,
  length: number,
): T {
  return new make(new SharedArrayBuffer(length * bytesPerElement));
}

/**
 * Division-free pre-check of a candidate split (reg_alpha = 0): could GL²/a + GR²/c exceed `best` (a, c > 0)?
 * Cross-multiplied, with a relative slack far above rounding error, so it never rejects a candidate the exact
 * comparison would take; the exact score is computed only for candidates that pass (most do not).
 */
function promising(GL: number, a: number, GR: number, c: number, best: number): boolean {
  return GL * GL * c + GR * GR * a > best * a * c * (1 - 1e-9);
}

/** Grows XGBoost trees on one binned matrix; owns its scratch memory so many trees allocate little. */
export class GradientTreeGrower {
  private readonly idx: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly slots: SlotMatrix;
  /** Helper thread (threads ≥ 2 and enough rows), with the gradients and features it reads, shared. */
  private readonly helper: HistogramHelper | null = null;
  private readonly sharedGh: Float64Array | null = null;
  private readonly sharedFeatures: Int32Array | null = null;
  /** The second half of a halved build when this thread builds it. */
  private readonly secondHalf: Float64Array;
  /** Histogram offset (in bins) of each feature; every feature has numBins + 1 slots (the last is missing). */
  private readonly offsets: Int32Array;
  private readonly histSize: number;
  private readonly pool: Float64Array[] = [];

  /** `threads` ≥ 2: a helper thread builds half of each large node's histogram; call `close` when done. */
  constructor(
    private readonly data: BinnedData,
    private readonly params: GradientTreeParams,
    threads = 1,
  ) {
    const parallel = threads >= 2 && data.rows >= HALVED_BUILD_MIN_ROWS;
    this.idx = parallel ? sharedArray(Uint32Array, 4, data.rows) : new Uint32Array(data.rows);
    this.scratch = new Uint32Array(data.rows);
    this.offsets = new Int32Array(data.cols + 1);
    for (let f = 0; f < data.cols; f++) this.offsets[f + 1] = this.offsets[f] + data.numBins[f] + 1;
    this.histSize = this.offsets[data.cols] * 2;
    // Histogram slot of every (row, feature), row-major: saves an offset lookup per update (~30 % faster).
    // Uint16 holds 65,536 slots (≥ 256 features at 255 bins); wider data falls back to Uint32.
    const size = data.rows * data.cols;
    const narrow = this.offsets[data.cols] <= 0xffff;
    if (parallel) this.slots = narrow ? sharedArray(Uint16Array, 2, size) : sharedArray(Uint32Array, 4, size);
    else this.slots = narrow ? new Uint16Array(size) : new Uint32Array(size);
    for (let f = 0; f < data.cols; f++) {
      const colBase = f * data.rows;
      for (let r = 0; r < data.rows; r++) this.slots[r * data.cols + f] = this.offsets[f] + data.bins[colBase + r];
    }
    if (parallel) {
      this.sharedGh = sharedArray(Float64Array, 8, 2 * data.rows);
      this.sharedFeatures = sharedArray(Int32Array, 4, data.cols);
      this.helper = HistogramHelper.start(
        { slots: this.slots, cols: data.cols, idx: this.idx, gh: this.sharedGh, features: this.sharedFeatures },
        this.histSize,
      );
    }
    this.secondHalf = new Float64Array(this.histSize);
  }

  /** Lets the helper thread go (idle, for the next fit). */
  close(): void {
    this.helper?.release();
  }

  private acquire(): Float64Array {
    const h = this.pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.histSize);
  }

  /**
   * Adds (g, h) of rows idx[start, end) into the zeroed `hist` for the given features. A large node is built in
   * two halves, the second on the helper thread when it is running, then summed.
   */
  private build(hist: Float64Array, start: number, end: number, gh: Float64Array, features: Int32Array): void {
    const { slots, idx } = this;
    const cols = this.data.cols;
    const nf = features.length;
    if (end - start < HALVED_BUILD_MIN_ROWS) {
      buildHistogram(hist, idx, start, end, gh, slots, cols, features, nf);
      return;
    }
    const mid = (start + end) >>> 1;
    const helper = this.helper?.ready ? this.helper : null;
    let second = this.secondHalf;
    if (helper) {
      helper.begin(mid, end, nf);
      second = helper.hist;
    } else {
      second.fill(0);
      buildHistogram(second, idx, mid, end, gh, slots, cols, features, nf);
    }
    buildHistogram(hist, idx, start, mid, gh, slots, cols, features, nf);
    helper?.finish();
    if (nf === cols) {
      for (let i = 0; i < this.histSize; i++) hist[i] += second[i];
      return;
    }
    for (const f of features) {
      for (let i = this.offsets[f] * 2, e = this.offsets[f + 1] * 2; i < e; i++) hist[i] += second[i];
    }
  }

  private subtract(from: Float64Array, small: Float64Array, features: Int32Array): void {
    if (features.length === this.data.cols) {
      for (let i = 0; i < this.histSize; i++) from[i] -= small[i];
      return;
    }
    for (const f of features) {
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
    const noAlpha = this.params.alpha === 0 && lambda > 0;
    for (const f of features) {
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
        if (HL >= minChildWeight && (!noAlpha || promising(GL, HL + lambda, nodeG - GL, HR + lambda, bestScore))) {
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
          if (
            HL2 >= minChildWeight &&
            HR2 >= minChildWeight &&
            (!noAlpha || promising(GL2, HL2 + lambda, nodeG - GL2, HR2 + lambda, bestScore))
          ) {
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
    const { numBins, edges, bins, rows } = this.data;
    const { maxDepth, lambda, gamma, eta } = this.params;
    const idx = this.idx;
    const n = sample.length;
    idx.set(sample);
    if (this.sharedGh && this.sharedFeatures) {
      // The helper reads the gradients and features from shared memory.
      this.sharedGh.set(gh);
      this.sharedFeatures.set(features);
      gh = this.sharedGh;
    }
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
      // The four stacks grow together, so each pop has a value.
      const node = nodes.pop() ?? 0;
      const depth = ranges.pop() ?? 0;
      const end = ranges.pop() ?? 0;
      const start = ranges.pop() ?? 0;
      const nodeH = sums.pop() ?? 0;
      const nodeG = sums.pop() ?? 0;
      const hist = hists.pop() ?? null;
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

      // Partition on the feature's column-major bins: rows ascend within a segment, so the reads go forward
      // through one column (the row-major slots would cost a cache line per row).
      const column = bins.subarray(bestFeature * rows, (bestFeature + 1) * rows);
      const missingBin = numBins[bestFeature];
      const missingLeft = bestDefaultLeft === 1;
      const scratch = this.scratch;
      let l = start;
      let rCount = 0;
      for (let i = start; i < end; i++) {
        const r = idx[i];
        const b = column[r];
        if (b === missingBin ? missingLeft : b <= bestBin) idx[l++] = r;
        else scratch[rCount++] = r;
      }
      for (let j = 0; j < rCount; j++) idx[l + j] = scratch[j];

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
      const id = stack.pop() ?? 0; // the loop condition guarantees a value
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
