/**
 * Permutation importance of an SVM without predicting every shuffled copy from scratch. Shuffling feature j changes
 * one coordinate of a row: its dot product with support vector s moves by Δ·s_j (Δ = x'_j − x_j) and its squared
 * norm by x'_j² − x_j², so a shuffled copy's kernel values cost O(nSV) instead of O(nSV × features) (every kernel —
 * rbf, linear, poly, sigmoid — is a function of the dot and the norms). The kernel values, decisions and probabilities
 * are then SvmPredictor's. The permutations and row samples are `permutationImportance`'s (same seeds, same order):
 * the figures are those predicting every shuffled copy gives, up to the rounding of the updated dots (~1e-16).
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import { dotRows } from '../models/svm/kernels.js';
import { SvmPredictor, type SvmClassifier, type SvmState } from '../models/svm/model.js';
import { svmPermuteInTwoParts } from '../models/trees/predict-parallel.js';
import { throwIfAborted, type Matrix } from '../types.js';
import { dropStats, repeatSamples, type PermutationOptions, type SampledPermutationResult } from './permutation.js';
import { featurePermutations } from './tree-permutation.js';

/** Sampled rows whose dots with the support vectors are computed together (BLOCK × nSV values stay in cache). */
const BLOCK = 32;

/** What scoring shuffled copies needs, cloneable to a helper thread (svmPermuteInTwoParts). */
export interface SvmPermuteWork {
  state: SvmState;
  data: Float64Array;
  cols: number;
  numClasses: number;
  /** Each repeat's sampled rows (S each). */
  samples: Int32Array[];
  /** [feature][repeat]: the shuffle of the sample's places. */
  permutations: Int32Array[][];
  /** The model's probabilities of every row of `data`. */
  baseProba: Float64Array;
}

/**
 * Probabilities of the shuffled copies of places [from, to) of every repeat's sample into `out`,
 * [repeat][feature][place][class]; `onRepeat(r)` after each repeat, `signal` checked per block of rows.
 */
export function svmShuffledProba(
  work: SvmPermuteWork,
  from: number,
  to: number,
  out: Float64Array,
  signal?: AbortSignal,
  onRepeat?: (r: number) => void,
): void {
  const { data, cols, numClasses: K, samples, permutations, baseProba } = work;
  const predictor = new SvmPredictor(work.state);
  const S = samples[0].length;
  const n = predictor.numSupportVectors;
  const sv = work.state.supportVectors;
  // Support vectors by feature (cols × nSV): the column a shuffle of feature j reads.
  const byFeature = new Float64Array(cols * n);
  for (let s = 0; s < n; s++) for (let j = 0; j < cols; j++) byFeature[j * n + s] = sv[s * cols + j];
  const block = new Float64Array(BLOCK * cols);
  const dots = new Float64Array(BLOCK * n);
  const shifted = new Float64Array(n);
  const kernel = new Float64Array(n);
  const decisions = new Float64Array(predictor.numPairs);
  const copy = new Float64Array(cols);

  samples.forEach((sample, r) => {
    for (let first = from; first < to; first += BLOCK) {
      throwIfAborted(signal);
      const count = Math.min(BLOCK, to - first);
      for (let i = 0; i < count; i++) {
        const start = sample[first + i] * cols;
        block.set(data.subarray(start, start + cols), i * cols);
      }
      predictor.dots(block, 0, count, dots);
      for (let i = 0; i < count; i++) {
        const a = first + i;
        const row = sample[a];
        const xNorm = dotRows(block, i * cols, block, i * cols, cols);
        for (let j = 0; j < cols; j++) {
          const at = ((r * cols + j) * S + a) * K;
          const old = data[row * cols + j];
          const value = data[sample[permutations[j][r][a]] * cols + j];
          if (value === old) {
            // The copy is the row itself: its prediction is the evaluation's.
            for (let c = 0; c < K; c++) out[at + c] = baseProba[row * K + c];
            continue;
          }
          let norm: number;
          if (Number.isFinite(xNorm) && Number.isFinite(value)) {
            const delta = value - old;
            const column = j * n;
            for (let s = 0; s < n; s++) shifted[s] = dots[i * n + s] + delta * byFeature[column + s];
            norm = xNorm + value * value - old * old;
          } else {
            // A missing or infinite value on either side: the copy's dots and norm from scratch, as predicting it.
            copy.set(block.subarray(i * cols, (i + 1) * cols));
            copy[j] = value;
            predictor.dots(copy, 0, 1, shifted);
            norm = dotRows(copy, 0, copy, 0, cols);
          }
          predictor.kernelOfDots(shifted, 0, norm, kernel, 0);
          predictor.pairDecisions(kernel, 0, decisions, 0);
          predictor.probabilities(decisions, 0, out, at);
        }
      }
    }
    onRepeat?.(r);
  });
}

/**
 * `onProgress(done, total)` counts repeats (each one shuffles every feature). With `threads` ≥ 2 the helper thread
 * of predict-parallel.ts scores the second half of each sample (same figures).
 */
export function svmPermutationImportance(
  model: SvmClassifier,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: PermutationOptions & { threads?: number },
): SampledPermutationResult {
  const K = numClasses;
  const repeats = Math.max(1, Math.trunc(options.repeats ?? 5));
  const { rows, cols, data } = X;
  if (cols !== model.numFeatures) throw new RangeError(`expected ${model.numFeatures} features, got ${cols}`);
  if (K !== model.numClasses) throw new RangeError(`the model has ${model.numClasses} classes, not ${K}`);
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, X has ${rows} rows`);
  const S = Math.max(1, Math.min(rows, Math.trunc(options.rowsPerRepeat ?? rows)));

  const baseProba = options.baselineProba ?? model.predictProba(X);
  if (baseProba.length !== rows * K) throw new RangeError('baselineProba does not match X');
  const basePredicted = argmaxRows(baseProba, K);
  const baseline = macroF1(y, basePredicted, K);
  // Row samples per repeat (all rows when not sampling), as permutationImportance draws them.
  const samples = repeatSamples(y, K, S, repeats, options.seed);
  const sampleLabels = samples.map((sample) => Int32Array.from(sample, (i) => y[i]));
  const sampleBaseline = samples.map((sample, r) =>
    S < rows
      ? macroF1(
          sampleLabels[r],
          Int32Array.from(sample, (i) => basePredicted[i]),
          K,
        )
      : baseline,
  );
  const work: SvmPermuteWork = {
    state: model.state,
    data,
    cols,
    numClasses: K,
    samples,
    permutations: featurePermutations(cols, S, repeats, options.seed),
    baseProba,
  };
  const proba = new Float64Array(repeats * cols * S * K);
  svmPermuteInTwoParts(work, proba, options.threads ?? 1, options.signal, (r) => options.onProgress?.(r + 1, repeats));

  const drops = new Float64Array(repeats);
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const ci95 = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    for (let r = 0; r < repeats; r++) {
      const at = (r * cols + j) * S * K;
      drops[r] = sampleBaseline[r] - macroF1(sampleLabels[r], argmaxRows(proba.subarray(at, at + S * K), K), K);
    }
    ({ mean: mean[j], std: std[j], ci95: ci95[j] } = dropStats(drops));
  }
  return { mean, std, baseline, ci95, rowsPerRepeat: S };
}
