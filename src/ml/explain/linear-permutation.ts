/**
 * Permutation importance of a model whose class scores are linear in its inputs (logistic regression; PCA + logistic
 * regression through its loadings): shuffling feature j moves row i's scores by (x_perm − x_ij)·w_j, so a shuffled
 * copy's predicted classes cost O(rows × outputs) instead of a full predict (O(rows × features × outputs)). The
 * shuffles and row samples are those of `permutationImportance` (same seeds, same order): the figures are the ones
 * predicting every shuffled copy gives, at a fraction of the cost (issue 17 goal 4).
 */
import { argmaxRows, macroF1, macroF1OfCounts } from '../evaluate.js';
import { Random } from '../random.js';
import { throwIfAborted, type Matrix } from '../types.js';
import { dropStats, repeatSamples, type PermutationOptions, type SampledPermutationResult } from './permutation.js';

/**
 * Scores W·x + b per output. One output: two classes, class 1 when its score is above 0 (the sigmoid above ½);
 * else one output per class, the class of the largest score (softmax keeps the order).
 */
export interface LinearScores {
  outputs: number;
  /** outputs × features, row-major. */
  weights: Float64Array;
  intercept: Float64Array;
}

/** A trained model that can state its linear scores. */
export interface LinearScored {
  linearScores(): LinearScores;
}

export function hasLinearScores(model: object): model is LinearScored {
  return typeof (model as Partial<LinearScored>).linearScores === 'function';
}

/** The class each row's scores pick (see LinearScores). */
function decide(z: Float64Array, at: number, outputs: number): number {
  if (outputs === 1) return z[at] > 0 ? 1 : 0;
  let best = 0;
  for (let k = 1; k < outputs; k++) if (z[at + k] > z[at + best]) best = k;
  return best;
}

function decideAll(z: Float64Array, rows: number, outputs: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = decide(z, i * outputs, outputs);
  return out;
}

/**
 * Two classes, one score: macro-F1 of the classes a shuffled column gives, counted in locals (no per-row stores; the
 * loop that dominates a linear model's permutation importance).
 */
function binaryShuffledF1(
  permutation: Int32Array,
  column: Float64Array,
  z: Float64Array,
  weight: number,
  basePredicted: Int32Array,
  y: Int32Array,
  trueCount: Float64Array,
): number {
  let predictedOne = 0;
  let tpZero = 0;
  let tpOne = 0;
  for (let a = 0; a < permutation.length; a++) {
    const delta = column[permutation[a]] - column[a];
    // Branch-free counting: the classes of shuffled rows are coin flips to a branch predictor.
    const c = delta === 0 ? basePredicted[a] : Number(z[a] + delta * weight > 0);
    const hit = 1 - (c ^ y[a]);
    predictedOne += c;
    tpOne += hit & c;
    tpZero += hit & (1 - c);
  }
  const predicted = Float64Array.of(permutation.length - predictedOne, predictedOne);
  return macroF1OfCounts(Float64Array.of(tpZero, tpOne), trueCount, predicted);
}

/**
 * Several outputs (or one output scoring more than two classes): per-class counts of true positives and predicted
 * rows for a shuffled column, each moved row's class decided in locals (a separate function keeps the loop
 * monomorphic; its cost is what a linear model's permutation importance costs).
 */
function multiClassShuffled(
  permutation: Int32Array,
  column: Float64Array,
  z: Float64Array,
  jWeights: Float64Array,
  basePredicted: Int32Array,
  y: Int32Array,
  tp: Float64Array,
  predCount: Float64Array,
): void {
  const outputs = jWeights.length;
  const w0 = jWeights[0];
  const w1 = outputs === 3 ? jWeights[1] : 0;
  const w2 = outputs === 3 ? jWeights[2] : 0;
  tp.fill(0);
  predCount.fill(0);
  for (let a = 0; a < permutation.length; a++) {
    const delta = column[permutation[a]] - column[a];
    let c = basePredicted[a];
    if (delta !== 0) {
      const at = a * outputs;
      if (outputs === 1) c = z[at] + delta * jWeights[0] > 0 ? 1 : 0;
      else if (outputs === 3) {
        const s0 = z[at] + delta * w0;
        const s1 = z[at + 1] + delta * w1;
        const s2 = z[at + 2] + delta * w2;
        c = s1 > s0 ? (s2 > s1 ? 2 : 1) : s2 > s0 ? 2 : 0;
      } else {
        // decide()'s argmax (first on ties) of the moved scores.
        c = 0;
        let best = z[at] + delta * jWeights[0];
        for (let k = 1; k < outputs; k++) {
          const score = z[at + k] + delta * jWeights[k];
          if (score > best) {
            best = score;
            c = k;
          }
        }
      }
    }
    predCount[c]++;
    // 1 when c = y[a], else 0, without a branch (which of the two is a coin flip to the branch predictor).
    tp[c] += ((c ^ y[a]) - 1) >>> 31;
  }
}

/**
 * One repeat's rows, gathered once: their unshuffled scores, classes and labels, and their features column by column
 * (`columns[j * count + a]`). Each sampled row of X is read once, whole, in row order: reading feature j of the
 * sampled rows straight from X, for each feature, cost a cache miss per value once the test split outgrew the cache.
 */
interface Gathered {
  z: Float64Array;
  predicted: Int32Array;
  labels: Int32Array;
  trueCount: Float64Array;
  columns: Float64Array;
  baseline: number;
}

function gather(
  { outputs, weights, intercept }: LinearScores,
  X: Matrix,
  y: Int32Array,
  basePredicted: Int32Array,
  numClasses: number,
  rows: Int32Array | null,
  count: number,
): Omit<Gathered, 'baseline'> {
  const { cols, data } = X;
  const z = new Float64Array(count * outputs);
  const predicted = new Int32Array(count);
  const labels = new Int32Array(count);
  const trueCount = new Float64Array(numClasses);
  const columns = new Float64Array(cols * count);
  for (let a = 0; a < count; a++) {
    const row = rows ? rows[a] : a;
    const at = row * cols;
    for (let j = 0; j < cols; j++) columns[j * count + a] = data[at + j];
    for (let k = 0; k < outputs; k++) {
      let s = intercept[k];
      for (let j = 0; j < cols; j++) s += weights[k * cols + j] * data[at + j];
      z[a * outputs + k] = s;
    }
    predicted[a] = basePredicted[row];
    labels[a] = y[row];
    trueCount[y[row]]++;
  }
  return { z, predicted, labels, trueCount, columns };
}

/** W·x + b of every row of X: `outputs` scores per row. */
function scoresOf({ outputs, weights, intercept }: LinearScores, X: Matrix): Float64Array {
  const { rows, cols } = X;
  const z = new Float64Array(rows * outputs);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < outputs; k++) {
      let s = intercept[k];
      for (let j = 0; j < cols; j++) s += weights[k * cols + j] * X.data[i * cols + j];
      z[i * outputs + k] = s;
    }
  }
  return z;
}

export function linearPermutationImportance(
  scores: LinearScores,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: PermutationOptions,
): SampledPermutationResult {
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols } = X;
  const { outputs, weights } = scores;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  if (weights.length !== outputs * cols) throw new RangeError(`expected ${outputs} × ${cols} weights`);
  const S = Math.max(1, Math.min(rows, Math.trunc(options.rowsPerRepeat ?? rows)));
  const basePredicted = options.baselineProba
    ? argmaxRows(options.baselineProba, numClasses)
    : decideAll(scoresOf(scores, X), rows, outputs);
  const baseline = macroF1(y, basePredicted, numClasses);
  // Each repeat's rows (permutationImportance's samples: same stream, same draws), gathered once. Without sampling
  // every repeat shares one gathering of every row.
  const samples = S < rows ? repeatSamples(y, numClasses, S, repeats, options.seed) : null;
  const gathered: Gathered[] = (samples ?? [null]).map((sample) => {
    const g = gather(scores, X, y, basePredicted, numClasses, sample, S);
    return { ...g, baseline: sample ? macroF1(g.labels, g.predicted, numClasses) : baseline };
  });

  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const ci95 = new Float64Array(cols);
  const root = new Random(options.seed);
  const seeds = Array.from({ length: cols }, () => root.int(0x7fffffff));
  const permutation = new Int32Array(S);
  const drops = new Float64Array(repeats);
  // One pass per shuffle: the feature's column (of the repeat's rows) read contiguously, each row's class counted as
  // it is decided (no array of predictions, no second pass for macro-F1).
  const tp = new Float64Array(numClasses);
  const predCount = new Float64Array(numClasses);
  const jWeights = new Float64Array(outputs);
  for (let j = 0; j < cols; j++) {
    throwIfAborted(options.signal);
    const random = new Random(seeds[j]);
    for (let k = 0; k < outputs; k++) jWeights[k] = weights[k * cols + j];
    const w0 = jWeights[0];
    for (let r = 0; r < repeats; r++) {
      const g = gathered[samples ? r : 0];
      const column = g.columns.subarray(j * S, (j + 1) * S);
      // Random.shuffle's draws and swaps on 0 … S − 1: permutationImportance's shuffle.
      random.permutation(permutation);
      if (outputs === 1 && numClasses === 2) {
        drops[r] = g.baseline - binaryShuffledF1(permutation, column, g.z, w0, g.predicted, g.labels, g.trueCount);
        continue;
      }
      multiClassShuffled(permutation, column, g.z, jWeights, g.predicted, g.labels, tp, predCount);
      drops[r] = g.baseline - macroF1OfCounts(tp, g.trueCount, predCount);
    }
    ({ mean: mean[j], std: std[j], ci95: ci95[j] } = dropStats(drops));
    options.onProgress?.(j + 1, cols);
  }
  return { mean, std, baseline, ci95, rowsPerRepeat: S };
}
