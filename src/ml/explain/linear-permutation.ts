/**
 * Permutation importance of a model whose class scores are linear in its inputs (logistic regression; PCA + logistic
 * regression through its loadings): shuffling feature j moves row i's scores by (x_perm − x_ij)·w_j, so a shuffled
 * copy's predicted classes cost O(rows × outputs) instead of a full predict (O(rows × features × outputs)). The
 * shuffles are those of `permutationImportance` without sampling (same seeds, same order): the figures are the ones
 * predicting every shuffled copy of every test row gives, at a fraction of the cost (issue 17 goal 4).
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import { Random } from '../random.js';
import { throwIfAborted, type Matrix } from '../types.js';
import { dropStats, type PermutationOptions, type SampledPermutationResult } from './permutation.js';

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

export function linearPermutationImportance(
  scores: LinearScores,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: Omit<PermutationOptions, 'rowsPerRepeat'>,
): SampledPermutationResult {
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols } = X;
  const { outputs, weights, intercept } = scores;
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  if (weights.length !== outputs * cols) throw new RangeError(`expected ${outputs} × ${cols} weights`);
  // Unshuffled scores, once.
  const z = new Float64Array(rows * outputs);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < outputs; k++) {
      let s = intercept[k];
      for (let j = 0; j < cols; j++) s += weights[k * cols + j] * X.data[i * cols + j];
      z[i * outputs + k] = s;
    }
  }
  const basePredicted = options.baselineProba
    ? argmaxRows(options.baselineProba, numClasses)
    : Int32Array.from({ length: rows }, (_, i) => decide(z, i * outputs, outputs));
  const baseline = macroF1(y, basePredicted, numClasses);

  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const ci95 = new Float64Array(cols);
  const root = new Random(options.seed);
  const seeds = Array.from({ length: cols }, () => root.int(0x7fffffff));
  const permutation = new Int32Array(rows);
  const predicted = new Int32Array(rows);
  const moved = new Float64Array(outputs);
  const drops = new Float64Array(repeats);
  for (let j = 0; j < cols; j++) {
    throwIfAborted(options.signal);
    const random = new Random(seeds[j]);
    for (let r = 0; r < repeats; r++) {
      for (let a = 0; a < rows; a++) permutation[a] = a;
      random.shuffle(permutation);
      for (let a = 0; a < rows; a++) {
        const delta = X.data[permutation[a] * cols + j] - X.data[a * cols + j];
        if (delta === 0) {
          predicted[a] = basePredicted[a];
          continue;
        }
        for (let k = 0; k < outputs; k++) moved[k] = z[a * outputs + k] + delta * weights[k * cols + j];
        predicted[a] = decide(moved, 0, outputs);
      }
      drops[r] = baseline - macroF1(y, predicted, numClasses);
    }
    ({ mean: mean[j], std: std[j], ci95: ci95[j] } = dropStats(drops));
    options.onProgress?.(j + 1, cols);
  }
  return { mean, std, baseline, ci95, rowsPerRepeat: rows };
}
