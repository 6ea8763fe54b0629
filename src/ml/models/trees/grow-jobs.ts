/**
 * The work units of XGBoost's grower (grow-gradient.ts) that either thread runs: a node's split search over a range
 * of its features, a stable partition of a node's rows (or of half of them), a histogram build (whole node, then
 * subtracted from the parent's to give the sibling's; or half of a large node). A job's result depends only on its
 * inputs, never on the thread that ran it, so a model does not depend on the thread count.
 */
import type { Matrix } from '../../types.js';
import { buildHistogram, type SlotMatrix } from './histogram.js';
import { binColumn, EDGE_TABLE_WIDTH, edgesOfFeature, padEdges } from './binning.js';

/** XGBoost's kRtEps: a split must reduce the loss by more than this. */
export const MIN_SPLIT_LOSS_CHANGE = 1e-6;

export interface SplitParams {
  lambda: number;
  alpha: number;
  minChildWeight: number;
}

/** Everything a job reads or writes; on SharedArrayBuffers when a helper thread runs jobs too. */
export interface JobArrays {
  rows: number;
  cols: number;
  /** Column-major bins (`bins[f * rows + r]`), read by partitions. */
  bins: Uint8Array;
  /** Row-major histogram slots, read by builds. */
  slots: SlotMatrix;
  numBins: Int32Array;
  /** Histogram offset (in bins) of each feature; every feature has numBins + 1 slots (the last is missing). */
  offsets: Int32Array;
  idx: Uint32Array;
  /** Right-hand rows of a partition, at the same positions as in idx. */
  scratch: Uint32Array;
  gh: Float64Array;
  /** The tree's features; `control[FEATURES]` of them are used. */
  features: Int32Array;
  /** Per job: JOB_INTS integers, JOB_FLOATS floats (inputs); RESULT_INTS, RESULT_FLOATS (outputs). */
  jobs: Int32Array;
  jobFloats: Float64Array;
  results: Int32Array;
  resultFloats: Float64Array;
  params: SplitParams;
  /** Binning jobs' input: the training matrix (empty when the grower was handed bins), the rows bin edges are
   * learned on (empty: all), the value-bin limit; output: each feature's edges padded to EDGE_TABLE_WIDTH. */
  matrix: Matrix;
  sampleRows: Uint32Array;
  maxBins: number;
  edgeTable: Float64Array;
  /** Boosting's per-row state, read and written by round-end jobs (empty arrays when the grower has none). */
  round: RoundState;
}

/**
 * Per training row: the class margins and probabilities (rows × classes), the gradient pairs of each class a tree is
 * grown for (g at 2r, h at 2r + 1), the last tree's leaf value and the row's likelihood p(label) (≥ PROB_EPS).
 */
export interface RoundState {
  labels: Int32Array;
  classes: number;
  margins: Float64Array;
  probs: Float64Array;
  gh: Float64Array[];
  rowValue: Float64Array;
  likelihood: Float64Array;
}

export const JOB = { find: 0, partition: 1, build: 2, edges: 3, bin: 4, roundEnd: 5 } as const;
export const JOB_INTS = 6;
export const JOB_FLOATS = 2;
export const RESULT_INTS = 4;
export const RESULT_FLOATS = 3;
/** Most jobs in one batch. */
export const MAX_JOBS = 256;

/** XGBoost's soft threshold of a gradient sum by reg_alpha. */
export function thresholded(G: number, alpha: number): number {
  return G > alpha ? G - alpha : G < -alpha ? G + alpha : 0;
}

/**
 * Division-free pre-check of a candidate split (reg_alpha = 0): could GL²/a + GR²/c exceed `best` (a, c > 0)?
 * Cross-multiplied, with a relative slack far above rounding error, so it never rejects a candidate the exact
 * comparison would take; the exact score is computed only for candidates that pass (most do not).
 */
function promising(GL: number, a: number, GR: number, c: number, best: number): boolean {
  return GL * GL * c + GR * GR * a > best * a * c * (1 - 1e-9);
}

/** Structure score of a split into (GL, HL) and (GR, HR); small enough for V8 to inline in the scan. */
function splitScore(GL: number, HL: number, GR: number, HR: number, lambda: number, alpha: number): number {
  if (alpha === 0) return (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda);
  const a = thresholded(GL, alpha);
  const c = thresholded(GR, alpha);
  return (a * a) / (HL + lambda) + (c * c) / (HR + lambda);
}

/** Loss of a node without a split, as the split search compares children against it. */
export function parentGain(G: number, H: number, p: SplitParams): number {
  const t = thresholded(G, p.alpha);
  return (t * t) / (H + p.lambda);
}

/**
 * Best split of a node over features[fa, fb) from its histogram, into job j's results (ints: found, feature, bin,
 * defaultLeft; floats: score, GL, HL). Only scores above MIN_SPLIT_LOSS_CHANGE + the parent's gain count.
 * Candidates: after each non-empty value bin below the last non-empty one, with the missing bin sent right, and
 * (when the node has missing values) left. Within the range, the first of equal scores wins; so a search split in
 * feature ranges, merged keeping the earlier range unless a later one scores strictly higher, chooses as one scan.
 */
function findSplit(a: JobArrays, j: number, hist: Float64Array, fa: number, fb: number): void {
  const { numBins, offsets, features, params } = a;
  const { lambda, alpha, minChildWeight } = params;
  const nodeG = a.jobFloats[j * JOB_FLOATS];
  const nodeH = a.jobFloats[j * JOB_FLOATS + 1];
  let bestScore = MIN_SPLIT_LOSS_CHANGE + parentGain(nodeG, nodeH, params);
  let found = 0;
  let bestFeature = -1;
  let bestBin = 0;
  let bestDefaultLeft = 0;
  let bestGL = 0;
  let bestHL = 0;
  const noAlpha = alpha === 0 && lambda > 0;
  for (let fi = fa; fi < fb; fi++) {
    const f = features[fi];
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
        const score = splitScore(GL, HL, nodeG - GL, HR, lambda, alpha);
        if (score > bestScore) {
          bestScore = score;
          found = 1;
          bestFeature = f;
          bestBin = b;
          bestGL = GL;
          bestHL = HL;
          // Missing values go right here; without any in the node, NaN later goes right too, as in XGBoost
          // (its forward scan sends missing right and only scans backwards when the node has missing values).
          bestDefaultLeft = 0;
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
          const score = splitScore(GL2, HL2, nodeG - GL2, HR2, lambda, alpha);
          if (score > bestScore) {
            bestScore = score;
            found = 1;
            bestFeature = f;
            bestBin = b;
            bestGL = GL2;
            bestHL = HL2;
            bestDefaultLeft = 1;
          }
        }
      }
    }
  }
  const ri = j * RESULT_INTS;
  a.results[ri] = found;
  a.results[ri + 1] = bestFeature;
  a.results[ri + 2] = bestBin;
  a.results[ri + 3] = bestDefaultLeft;
  const rf = j * RESULT_FLOATS;
  a.resultFloats[rf] = bestScore;
  a.resultFloats[rf + 1] = bestGL;
  a.resultFloats[rf + 2] = bestHL;
}

/** Per thread: which bins go left in the partition being run. */
const partitionSides = new Uint8Array(256);

/**
 * Stable partition of idx[start, end) on `feature`: rows going left are packed from `start` (in order), rows going
 * right are written to scratch[start, …) in order; with `whole`, they are then copied after the left ones. Returns
 * the left count. Reads the feature's column-major bins: rows ascend within a segment, so the reads go forward
 * through one column (the row-major slots would cost a cache line per row).
 */
function partition(
  a: JobArrays,
  start: number,
  end: number,
  feature: number,
  bin: number,
  missingLeft: boolean,
  whole: boolean,
): number {
  const { idx, scratch, rows } = a;
  const column = a.bins.subarray(feature * rows, (feature + 1) * rows);
  const missingBin = a.numBins[feature];
  // Branch-free: each row is written to both sides and only its side's cursor moves (a row goes left or right
  // about as often as not, so a branch is mispredicted ~half the time: ~2× slower at 140,000 rows). l ≤ i, so the
  // write to idx[l] never clobbers a row not yet read. goesLeft[b] is 1 for the bins that go left.
  const goesLeft = partitionSides;
  for (let b = 0; b < 256; b++) goesLeft[b] = b === missingBin ? (missingLeft ? 1 : 0) : b <= bin ? 1 : 0;
  let l = start;
  let r = start;
  for (let i = start; i < end; i++) {
    const row = idx[i];
    const left = goesLeft[column[row]];
    idx[l] = row;
    scratch[r] = row;
    l += left;
    r += 1 - left;
  }
  if (whole) for (let i = start, k = l; i < r; i++, k++) idx[k] = scratch[i];
  return l - start;
}

/** `into` −= `small`, over the tree's features' slots only. */
export function subtractHistogram(a: JobArrays, into: Float64Array, small: Float64Array, nf: number): void {
  if (nf === a.cols) {
    for (let i = 0, e = a.offsets[a.cols] * 2; i < e; i++) into[i] -= small[i];
    return;
  }
  for (let j = 0; j < nf; j++) {
    const f = a.features[j];
    for (let i = a.offsets[f] * 2, e = a.offsets[f + 1] * 2; i < e; i++) into[i] -= small[i];
  }
}

/** `into` += `other`, over the tree's features' slots only. */
export function addHistogram(a: JobArrays, into: Float64Array, other: Float64Array, nf: number): void {
  if (nf === a.cols) {
    for (let i = 0, e = a.offsets[a.cols] * 2; i < e; i++) into[i] += other[i];
    return;
  }
  for (let j = 0; j < nf; j++) {
    const f = a.features[j];
    for (let i = a.offsets[f] * 2, e = a.offsets[f + 1] * 2; i < e; i++) into[i] += other[i];
  }
}

/** Lowest probability a log-likelihood is taken of. */
const PROB_EPS = 1e-15;

/**
 * The end of a boosting round for rows [start, end) of `s`: with `mirror` (two classes, one tree per round), first
 * adds the last tree's leaf values to class 0's margins and subtracts them from class 1's. Then the softmax of the
 * margins into probs, p(label) into likelihood (its logs summed in row order by `meanLogLoss`, so the loss does not
 * depend on how the rows were split into jobs), and the next round's gradients of the classes in `s.gh` (XGBoost's
 * softmax cross-entropy: g = p − [label], h = 2p(1 − p)). Returns how many rows' most probable class is the label.
 * Two classes take a path with one exp per row (the larger margin's exp(0) is exactly 1), bit for bit the same.
 */
export function endRoundRows(s: RoundState, start: number, end: number, mirror: boolean): number {
  const { labels, margins, probs, gh, rowValue, likelihood } = s;
  const K = s.classes;
  let correct = 0;
  if (K === 2) {
    const g0 = gh.length > 0 ? gh[0] : null;
    const g1 = gh.length > 1 ? gh[1] : null;
    for (let r = start; r < end; r++) {
      if (mirror) {
        margins[2 * r] += rowValue[r];
        margins[2 * r + 1] += -rowValue[r];
      }
      const m0 = margins[2 * r];
      const m1 = margins[2 * r + 1];
      const e0 = m1 > m0 ? Math.exp(m0 - m1) : 1;
      const e1 = m1 > m0 ? 1 : Math.exp(m1 - m0);
      const sum = e0 + e1;
      const p0 = e0 / sum;
      const p1 = e1 / sum;
      probs[2 * r] = p0;
      probs[2 * r + 1] = p1;
      const label = labels[r];
      likelihood[r] = Math.max(label === 0 ? p0 : p1, PROB_EPS);
      if ((p1 > p0 ? 1 : 0) === label) correct++;
      if (g0) setGradient(g0, r, p0, label === 0);
      if (g1) setGradient(g1, r, p1, label === 1);
    }
    return correct;
  }
  for (let r = start; r < end; r++) {
    const b = r * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (margins[b + k] > max) max = margins[b + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(margins[b + k] - max);
      probs[b + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) probs[b + k] /= sum;
    const label = labels[r];
    likelihood[r] = Math.max(probs[b + label], PROB_EPS);
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[b + k] > probs[b + best]) best = k;
    if (best === label) correct++;
    for (let k = 0; k < gh.length; k++) setGradient(gh[k], r, probs[b + k], label === k);
  }
  return correct;
}

/** Softmax cross-entropy gradient of row r for a class of probability p; XGBoost's hessian 2p(1-p). */
function setGradient(g: Float64Array, r: number, p: number, isLabel: boolean): void {
  g[2 * r] = p - (isLabel ? 1 : 0);
  g[2 * r + 1] = Math.max(2 * p * (1 - p), 1e-16);
}

/**
 * Likelihoods multiplied before one log is taken: 16 of them ≥ PROB_EPS stay above the smallest normal double. A log
 * per row was ~12 ns, a sixth of a round's end (~0.17 s of CPU over 100 rounds of 140,000 rows).
 */
const LOG_BLOCK_ROWS = 16;

/**
 * Mean log loss of rows [0, rows) from their likelihoods, in row order (the log of each block's product; equal to the
 * sum of the rows' logs up to rounding).
 */
export function meanLogLoss(likelihood: Float64Array, rows: number): number {
  let loss = 0;
  for (let r = 0; r < rows; r += LOG_BLOCK_ROWS) {
    let product = 1;
    for (let i = r, end = Math.min(rows, r + LOG_BLOCK_ROWS); i < end; i++) product *= likelihood[i];
    loss -= Math.log(product);
  }
  return loss / rows;
}

/** Scratch column of the edges jobs on this thread. */
let edgeColumn = new Float64Array(0);

/**
 * Runs job j. Job integers: kind, then
 * - find: first feature, end feature (indexes into `features`), histogram; floats: node G, H;
 * - partition: start, end, feature, bin, flags (1: missing goes left, 2: whole node) → result: left count;
 * - build: start, end, histogram (zeroed here), parent histogram to subtract it from (−1: none);
 * - edges: feature → its padded edges in edgeTable, result: its value-bin count;
 * - bin: feature → its column of bins and of histogram slots (numBins and offsets filled in by then);
 * - roundEnd: start, end, mirror (1/0) → endRoundRows of those rows, result: rows predicted right.
 * `hist(id)` resolves a histogram id to its array; `nf` is the tree's feature count.
 */
export function runJob(a: JobArrays, j: number, nf: number, hist: (id: number) => Float64Array): void {
  const o = j * JOB_INTS;
  const jobs = a.jobs;
  const kind = jobs[o];
  if (kind === JOB.find) {
    findSplit(a, j, hist(jobs[o + 3]), jobs[o + 1], jobs[o + 2]);
  } else if (kind === JOB.partition) {
    const flags = jobs[o + 5];
    a.results[j * RESULT_INTS] = partition(
      a,
      jobs[o + 1],
      jobs[o + 2],
      jobs[o + 3],
      jobs[o + 4],
      (flags & 1) === 1,
      (flags & 2) === 2,
    );
  } else if (kind === JOB.edges) {
    const f = jobs[o + 1];
    const sample = a.sampleRows.length > 0 ? a.sampleRows : null;
    const n = sample ? sample.length : a.rows;
    if (edgeColumn.length < n) edgeColumn = new Float64Array(n);
    const edges = edgesOfFeature(a.matrix, f, sample, a.maxBins, edgeColumn);
    padEdges(edges, a.edgeTable, f * EDGE_TABLE_WIDTH);
    a.results[j * RESULT_INTS] = edges.length;
  } else if (kind === JOB.bin) {
    const f = jobs[o + 1];
    const { rows, cols, bins, slots } = a;
    binColumn(a.matrix, f, a.edgeTable, f * EDGE_TABLE_WIDTH, a.numBins[f], bins);
    const base = f * rows;
    const offset = a.offsets[f];
    for (let r = 0; r < rows; r++) slots[r * cols + f] = offset + bins[base + r];
  } else if (kind === JOB.roundEnd) {
    a.results[j * RESULT_INTS] = endRoundRows(a.round, jobs[o + 1], jobs[o + 2], jobs[o + 3] === 1);
  } else {
    const target = hist(jobs[o + 3]);
    target.fill(0);
    buildHistogram(target, a.idx, jobs[o + 1], jobs[o + 2], a.gh, a.slots, a.cols, a.features, nf);
    if (jobs[o + 4] >= 0) subtractHistogram(a, hist(jobs[o + 4]), target, nf);
  }
}
