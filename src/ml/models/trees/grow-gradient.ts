/**
 * `GradientTreeGrower`: XGBoost's second-order regression tree on (gradient, hessian) pairs, on binned features,
 * with the histogram subtraction trick; row-major histogram slots. Rows of a node are a contiguous segment of a
 * row-index array partitioned in place (stable), so no per-row allocation happens while growing. Nodes are grown in
 * batches (up to a level of the tree at a time): each batch's split searches, partitions and histogram builds are
 * jobs (grow-jobs.ts) that the growing thread and, with threads ≥ 2, a helper thread take from one queue.
 */
import type { Matrix } from '../../types.js';
import type { BinnedData } from './grow.js';
import { EDGE_TABLE_WIDTH, edgeSampleRows, MAX_VALUE_BINS } from './binning.js';
import { TreeBuilder, type TreeArrays } from './structure.js';
import type { SlotMatrix } from './histogram.js';
import {
  addHistogram,
  JOB,
  JOB_FLOATS,
  JOB_INTS,
  MAX_JOBS,
  meanLogLoss,
  parentGain,
  RESULT_FLOATS,
  RESULT_INTS,
  runJob,
  subtractHistogram,
  thresholded,
  type JobArrays,
  type RoundState,
} from './grow-jobs.js';
import { CONTROL, HistogramHelper } from './grow-helper.js';

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

/**
 * A node with at least this many rows has its histogram built in two halves summed (each half a job, so possibly
 * on different threads): the same sums whatever the thread count, so a model does not depend on it.
 */
export const HALVED_BUILD_MIN_ROWS = 4096;
/** A node with at least this many rows is partitioned in two jobs (a stable partition of each half, then joined). */
const HALVED_PARTITION_MIN_ROWS = 8192;
/** Most nodes grown in one batch: a level of a depth-6 tree; bounds the histograms alive at once. */
const BATCH_NODES = 32;
/** A batch of fewer nodes than this searches each node's split in two jobs (halves of the features). */
const SPLIT_SEARCH_HALVES_BELOW = 4;

function sharedArray<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
  make: new (buffer: ArrayBuffer | SharedArrayBuffer) => T,
  bytesPerElement: number,
  length: number,
  shared: boolean,
): T {
  const bytes = length * bytesPerElement;
  return new make(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** A matrix the grower bins itself (binning.ts's edges and bins). */
export interface MatrixSource {
  matrix: Matrix;
  /** Most value bins per feature (max_bin). */
  maxBins: number;
  /** Seeds the row sample bin edges are learned on (more than 200,000 rows). */
  seed: number;
}

/** The training labels and classes of a boosting fit, whose per-row state (RoundState) the grower then holds. */
export interface BoostingRows {
  labels: Int32Array;
  classes: number;
  /** Classes trees are grown for (gradients kept): 1 when two classes' trees mirror each other. */
  gradientClasses: number;
}

/** Rows a round-end job takes at most (several jobs, so both threads share a round's end). */
const ROUND_END_JOB_ROWS = 32_768;

function roundState(rows: number, boosting: BoostingRows | undefined, shared: boolean): RoundState {
  const n = boosting ? rows : 0;
  const K = boosting?.classes ?? 0;
  const labels = sharedArray(Int32Array, 4, n, shared);
  if (boosting) labels.set(boosting.labels);
  return {
    labels,
    classes: K,
    margins: sharedArray(Float64Array, 8, n * K, shared),
    probs: sharedArray(Float64Array, 8, n * K, shared),
    gh: Array.from({ length: boosting?.gradientClasses ?? 0 }, () => sharedArray(Float64Array, 8, 2 * n, shared)),
    rowValue: sharedArray(Float64Array, 8, n, shared),
    likelihood: sharedArray(Float64Array, 8, n, shared),
  };
}

/** A halved build's second half, summed into the first after the batch (then subtracted from the parent's). */
interface HalvedBuild {
  target: number;
  second: number;
  parent: number;
}

/** Grows XGBoost trees on one binned matrix; owns its scratch memory so many trees allocate little. */
export class GradientTreeGrower {
  private readonly arrays: JobArrays;
  /** Raw upper edge of every value bin, per feature. */
  private readonly edges: Float64Array[];
  /** Shared control words and the helper thread (threads ≥ 2 and enough rows), else null. */
  private readonly control: Int32Array | null = null;
  private readonly helper: HistogramHelper | null = null;
  private readonly histSize: number;
  /** Histograms by id; `free` holds the ids not in use. */
  private readonly histograms: Float64Array[] = [];
  private readonly free: number[] = [];
  private readonly histogramOf = (id: number): Float64Array => this.histograms[id];
  private jobCount = 0;
  private readonly halved: HalvedBuild[] = [];

  /**
   * Grows on `source`: bins already made, or a matrix binned here (its edges and bins are jobs too, so on both
   * threads). `threads` ≥ 2: a helper thread takes jobs of each batch; call `close` when done.
   */
  constructor(
    source: BinnedData | MatrixSource,
    private readonly params: GradientTreeParams,
    threads = 1,
    boosting?: BoostingRows,
  ) {
    const binned = 'bins' in source ? source : null;
    const X = 'matrix' in source ? source.matrix : null;
    const rows = binned ? binned.rows : (X?.rows ?? 0);
    const cols = binned ? binned.cols : (X?.cols ?? 0);
    const parallel = threads >= 2 && rows >= HALVED_BUILD_MIN_ROWS;
    const size = rows * cols;
    const numBins = sharedArray(Int32Array, 4, cols, parallel);
    const offsets = sharedArray(Int32Array, 4, cols + 1, parallel);
    if (binned) {
      numBins.set(binned.numBins);
      for (let f = 0; f < cols; f++) offsets[f + 1] = offsets[f] + numBins[f] + 1;
    }
    // Histogram slot of every (row, feature), row-major: saves an offset lookup per update (~30 % faster).
    // Uint16 holds 65,536 slots (≥ 256 features at 255 bins); wider data falls back to Uint32. A matrix binned
    // here is sized for its features' most bins (the slots are allocated before the edges are known).
    const narrow = binned ? offsets[cols] <= 0xffff : cols * (MAX_VALUE_BINS + 1) <= 0xffff;
    const slots: SlotMatrix = narrow
      ? sharedArray(Uint16Array, 2, size, parallel)
      : sharedArray(Uint32Array, 4, size, parallel);
    let bins = binned ? binned.bins : sharedArray(Uint8Array, 1, size, parallel);
    if (parallel && !(bins.buffer instanceof SharedArrayBuffer)) {
      bins = sharedArray(Uint8Array, 1, size, true);
      bins.set(binned?.bins ?? []);
    }
    let matrix: Matrix = { rows: 0, cols, data: new Float64Array(0) };
    let sampleRows = new Uint32Array(0);
    if (X && 'matrix' in source) {
      let data = X.data;
      if (parallel) {
        // The helper bins half of the features: it reads the matrix from shared memory.
        data = sharedArray(Float64Array, 8, size, true);
        data.set(X.data.subarray(0, size));
      }
      matrix = { rows, cols, data };
      const sample = edgeSampleRows(rows, source.seed);
      if (sample) {
        sampleRows = sharedArray(Uint32Array, 4, sample.length, parallel);
        sampleRows.set(sample);
      }
    }
    const round = roundState(rows, boosting, parallel);
    this.arrays = {
      rows,
      cols,
      bins,
      slots,
      numBins,
      offsets,
      idx: sharedArray(Uint32Array, 4, rows, parallel),
      scratch: sharedArray(Uint32Array, 4, rows, parallel),
      // One gradient class: its pairs are the ones trees grow on, so grow() copies nothing.
      gh:
        parallel && round.gh.length === 1
          ? round.gh[0]
          : sharedArray(Float64Array, 8, parallel ? 2 * rows : 0, parallel),
      features: sharedArray(Int32Array, 4, cols, parallel),
      jobs: sharedArray(Int32Array, 4, MAX_JOBS * JOB_INTS, parallel),
      jobFloats: sharedArray(Float64Array, 8, MAX_JOBS * JOB_FLOATS, parallel),
      results: sharedArray(Int32Array, 4, MAX_JOBS * RESULT_INTS, parallel),
      resultFloats: sharedArray(Float64Array, 8, MAX_JOBS * RESULT_FLOATS, parallel),
      params: { lambda: params.lambda, alpha: params.alpha, minChildWeight: params.minChildWeight },
      matrix,
      sampleRows,
      maxBins: 'matrix' in source ? source.maxBins : MAX_VALUE_BINS,
      edgeTable: sharedArray(Float64Array, 8, X ? cols * EDGE_TABLE_WIDTH : 0, parallel),
      round,
    };
    if (parallel) {
      this.control = sharedArray(Int32Array, 4, CONTROL.length, true);
      this.helper = HistogramHelper.start(this.arrays, this.control);
    }
    if (binned) {
      this.edges = binned.edges;
      for (let f = 0; f < cols; f++) {
        const colBase = f * rows;
        for (let r = 0; r < rows; r++) slots[r * cols + f] = offsets[f] + bins[colBase + r];
      }
    } else this.edges = this.binMatrix();
    this.histSize = offsets[cols] * 2;
  }

  /** Learns the matrix's bin edges and bins it (and its histogram slots), feature by feature, as jobs. */
  private binMatrix(): Float64Array[] {
    const { cols, numBins, offsets, edgeTable, results } = this.arrays;
    for (let f0 = 0; f0 < cols; f0 += MAX_JOBS) {
      const f1 = Math.min(cols, f0 + MAX_JOBS);
      for (let f = f0; f < f1; f++) this.addJob(JOB.edges, f, 0, 0);
      this.runJobs(0);
      for (let f = f0; f < f1; f++) numBins[f] = results[(f - f0) * RESULT_INTS];
    }
    for (let f = 0; f < cols; f++) offsets[f + 1] = offsets[f] + numBins[f] + 1;
    for (let f0 = 0; f0 < cols; f0 += MAX_JOBS) {
      for (let f = f0; f < Math.min(cols, f0 + MAX_JOBS); f++) this.addJob(JOB.bin, f, 0, 0);
      this.runJobs(0);
    }
    return Array.from({ length: cols }, (_, f) =>
      edgeTable.slice(f * EDGE_TABLE_WIDTH, f * EDGE_TABLE_WIDTH + numBins[f]),
    );
  }

  /** Boosting's per-row state (constructed with `boosting`): margins, probabilities, gradients, leaf values. */
  get round(): RoundState {
    return this.arrays.round;
  }

  /**
   * Ends a boosting round on both threads (endRoundRows by blocks of rows): with `mirror`, adds the last tree's
   * leaf values (round.rowValue) to the margins first. Returns the mean log loss and accuracy of the new margins.
   */
  endRound(mirror: boolean): { loss: number; accuracy: number } {
    const { round, results } = this.arrays;
    const n = round.labels.length;
    const jobs = Math.min(MAX_JOBS, Math.max(1, Math.ceil(n / ROUND_END_JOB_ROWS)));
    for (let i = 0; i < jobs; i++)
      this.addJob(JOB.roundEnd, Math.floor((i * n) / jobs), Math.floor(((i + 1) * n) / jobs), mirror ? 1 : 0);
    this.runJobs(0);
    let correct = 0;
    for (let i = 0; i < jobs; i++) correct += results[i * RESULT_INTS];
    return { loss: meanLogLoss(round.likelihood, n), accuracy: correct / n };
  }

  /** Lets the helper thread go (idle, for the next fit). */
  close(): void {
    this.helper?.release();
  }

  /** A histogram id not in use (contents undefined: a build job zeroes its target). */
  private acquire(): number {
    const id = this.free.pop();
    if (id !== undefined) return id;
    const next = this.histograms.length;
    if (this.helper) {
      const buffer = new SharedArrayBuffer(this.histSize * 8);
      this.histograms.push(new Float64Array(buffer));
      this.helper.share({ id: next, buffer });
    } else this.histograms.push(new Float64Array(this.histSize));
    return next;
  }

  private addJob(kind: number, a: number, b: number, c: number, d = 0, e = 0): number {
    const j = this.jobCount++;
    const o = j * JOB_INTS;
    const jobs = this.arrays.jobs;
    jobs[o] = kind;
    jobs[o + 1] = a;
    jobs[o + 2] = b;
    jobs[o + 3] = c;
    jobs[o + 4] = d;
    jobs[o + 5] = e;
    return j;
  }

  /**
   * Queues the build of rows idx[start, end) into histogram `target`, then subtracted from `parent` (−1: none). A
   * large node is built in two halves summed (the first into `target`), as it always was, whatever the threads.
   */
  private queueBuild(start: number, end: number, target: number, parent: number): void {
    if (end - start < HALVED_BUILD_MIN_ROWS) {
      this.addJob(JOB.build, start, end, target, parent);
      return;
    }
    const mid = (start + end) >>> 1;
    const second = this.acquire();
    this.addJob(JOB.build, start, mid, target, -1);
    this.addJob(JOB.build, mid, end, second, -1);
    this.halved.push({ target, second, parent });
  }

  /** Runs the queued jobs (on both threads when there is a helper), then sums and subtracts halved builds. */
  private runJobs(nf: number): void {
    const count = this.jobCount;
    this.jobCount = 0;
    if (this.helper) this.helper.run(count, this.arrays, this.histogramOf);
    else for (let j = 0; j < count; j++) runJob(this.arrays, j, nf, this.histogramOf);
    for (const { target, second, parent } of this.halved) {
      const t = this.histograms[target];
      addHistogram(this.arrays, t, this.histograms[second], nf);
      if (parent >= 0) subtractHistogram(this.arrays, this.histograms[parent], t, nf);
      this.free.push(second);
    }
    this.halved.length = 0;
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
    const edges = this.edges;
    const { maxDepth, lambda, alpha, gamma, eta } = this.params;
    const a = this.arrays;
    const { idx, scratch, jobFloats, results, resultFloats } = a;
    const n = sample.length;
    const nf = features.length;
    idx.set(sample);
    if (this.control) {
      // The helper reads the gradients and features from shared memory.
      if (gh !== a.gh) a.gh.set(gh);
      Atomics.store(this.control, CONTROL.features, nf);
    } else a.gh = gh;
    a.features.set(features);
    const leafWeight = (G: number, H: number): number => (-thresholded(G, alpha) / (H + lambda)) * eta;

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
    // Nodes still to split (each has its histogram), a stack: node, start, end, depth, G, H, histogram id.
    const open: number[] = [];
    const sums: number[] = [];
    if (maxDepth > 0) {
      const h = this.acquire();
      this.queueBuild(0, n, h, -1);
      this.runJobs(nf);
      open.push(root, 0, n, 0, h);
      sums.push(G, H);
    }
    const batch: number[] = [];
    const batchSums: number[] = [];

    while (open.length > 0) {
      // Take up to BATCH_NODES nodes: entries of 5 integers (node, start, end, depth, histogram), 2 sums.
      const take = Math.min(BATCH_NODES, open.length / 5);
      batch.length = 0;
      batchSums.length = 0;
      for (let i = 0; i < take; i++) {
        batch.push(...open.splice(open.length - 5, 5));
        batchSums.push(...sums.splice(sums.length - 2, 2));
      }

      // Split searches: one job per node, or two (halves of the features) when the batch is small.
      const parts = take < SPLIT_SEARCH_HALVES_BELOW && nf >= 2 ? 2 : 1;
      for (let i = 0; i < take; i++) {
        for (let p = 0; p < parts; p++) {
          const j = this.addJob(
            JOB.find,
            Math.floor((p * nf) / parts),
            Math.floor(((p + 1) * nf) / parts),
            batch[5 * i + 4],
          );
          jobFloats[j * JOB_FLOATS] = batchSums[2 * i];
          jobFloats[j * JOB_FLOATS + 1] = batchSums[2 * i + 1];
        }
      }
      this.runJobs(nf);
      // The chosen split per batch node (job index of its result, −1: none), then partitions.
      const chosen: number[] = [];
      for (let i = 0; i < take; i++) {
        let best = i * parts;
        for (let p = 1; p < parts; p++) {
          const j = i * parts + p;
          if (results[j * RESULT_INTS] === 1 && resultFloats[j * RESULT_FLOATS] > resultFloats[best * RESULT_FLOATS])
            best = j;
        }
        chosen.push(results[best * RESULT_INTS] === 1 ? best : -1);
      }
      // Copies of the chosen results: the partition jobs reuse the result slots.
      const splits: number[] = [];
      const splitFloats: number[] = [];
      for (let i = 0; i < take; i++) {
        const j = chosen[i];
        if (j < 0) {
          this.free.push(batch[5 * i + 4]);
          continue;
        }
        const ri = j * RESULT_INTS;
        const rf = j * RESULT_FLOATS;
        splits.push(i, results[ri + 1], results[ri + 2], results[ri + 3]);
        splitFloats.push(resultFloats[rf], resultFloats[rf + 1], resultFloats[rf + 2]);
      }
      const splitCount = splits.length / 4;
      const partitionJob: number[] = [];
      for (let s = 0; s < splitCount; s++) {
        const i = splits[4 * s];
        const start = batch[5 * i + 1];
        const end = batch[5 * i + 2];
        const flags = splits[4 * s + 3] === 1 ? 1 : 0;
        if (end - start < HALVED_PARTITION_MIN_ROWS) {
          partitionJob.push(this.addJob(JOB.partition, start, end, splits[4 * s + 1], splits[4 * s + 2], flags | 2));
        } else {
          const mid = (start + end) >>> 1;
          partitionJob.push(this.addJob(JOB.partition, start, mid, splits[4 * s + 1], splits[4 * s + 2], flags));
          this.addJob(JOB.partition, mid, end, splits[4 * s + 1], splits[4 * s + 2], flags);
        }
      }
      this.runJobs(nf);

      for (let s = 0; s < splitCount; s++) {
        const i = splits[4 * s];
        const node = batch[5 * i];
        const start = batch[5 * i + 1];
        const end = batch[5 * i + 2];
        const depth = batch[5 * i + 3];
        const hist = batch[5 * i + 4];
        const nodeG = batchSums[2 * i];
        const nodeH = batchSums[2 * i + 1];
        const bestFeature = splits[4 * s + 1];
        const bestBin = splits[4 * s + 2];
        const bestGL = splitFloats[3 * s + 1];
        const bestHL = splitFloats[3 * s + 2];
        const j = partitionJob[s];
        let l = start + results[j * RESULT_INTS];
        if (end - start >= HALVED_PARTITION_MIN_ROWS) {
          // Lefts of the first half, lefts of the second, rights of the first, rights of the second: the stable
          // partition of the whole node.
          const mid = (start + end) >>> 1;
          const leftB = results[(j + 1) * RESULT_INTS];
          const rightA = mid - l;
          idx.copyWithin(l, mid, mid + leftB);
          l += leftB;
          idx.set(scratch.subarray(start, start + rightA), l);
          idx.set(scratch.subarray(mid, mid + (end - mid - leftB)), l + rightA);
        }

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
        builder.defaultLeft[node] = splits[4 * s + 3];
        builder.left[node] = leftId;
        builder.right[node] = rightId;
        builder.gain[node] = splitFloats[3 * s] - parentGain(nodeG, nodeH, a.params);

        if (depth + 1 < maxDepth) {
          // Build the smaller child; the parent's histogram minus it is the sibling's.
          const small = this.acquire();
          if (l - start <= end - l) {
            this.queueBuild(start, l, small, hist);
            open.push(rightId, l, end, depth + 1, hist, leftId, start, l, depth + 1, small);
          } else {
            this.queueBuild(l, end, small, hist);
            open.push(rightId, l, end, depth + 1, small, leftId, start, l, depth + 1, hist);
          }
          sums.push(GR, HR, bestGL, bestHL);
        } else this.free.push(hist);
      }
      this.runJobs(nf);
    }

    // Node ids in the order a depth-first grower would have numbered them (children when their parent is split,
    // left subtree first): the order the gains are summed in, so importances do not depend on the batching.
    const order: number[] = [root];
    const stack = [root];
    while (stack.length > 0) {
      const id = stack.pop() ?? 0; // the loop condition guarantees a value
      if (builder.feature[id] < 0) continue;
      order.push(builder.left[id], builder.right[id]);
      stack.push(builder.right[id], builder.left[id]);
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
    for (const id of order) if (builder.feature[id] >= 0) gainByFeature[builder.feature[id]] += builder.gain[id];
    stack.push(root);
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
