/**
 * Permutation importance of an SVM without predicting every shuffled copy from scratch. Shuffling feature j changes
 * one coordinate of a row: its dot product with support vector s moves by Δ·s_j (Δ = x'_j − x_j) and its squared
 * norm by x'_j² − x_j², so a shuffled copy's kernel values cost O(nSV) instead of O(nSV × features) (every kernel —
 * rbf, linear, poly, sigmoid — is a function of the dot and the norms). The kernel values, decisions and probabilities
 * are then SvmPredictor's. The permutations and row samples are `permutationImportance`'s (same seeds, same order):
 * the figures are those predicting every shuffled copy gives, up to the rounding of the updated dots (~1e-16).
 * Only a copy's class counts (macro-F1), so an RBF model with one pair of classes sums its decision with approxExp
 * (~4× cheaper than Math.exp) and sums it again with Math.exp only when the class is not certain within that sum's
 * error bound (none of 50,000 copies on bench:scale's 10,000-row table): the classes, hence the figures, are those of
 * Math.exp; the probabilities written for such copies are within ~1e-9 of it.
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import { dotRows } from '../models/svm/kernels.js';
import { SvmPredictor, type PairModel, type SvmClassifier, type SvmState } from '../models/svm/model.js';
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
  // RBF: a row's distances to the support vectors less its squared norm (‖s‖² − 2 x·s), so a shuffled copy's
  // distance is base + its norm − 2Δ·s_j, and with one pair its decision sums as the kernel values come (one pass
  // over the support vectors per copy, no kernel array).
  const rbf = work.state.spec.kernel === 'rbf';
  const gamma = work.state.spec.gamma;
  const base = new Float64Array(n);
  const single = predictor.numPairs === 1 ? denseCoefficients(work.state.pairs[0], n) : null;
  const rho = work.state.pairs[0]?.rho ?? 0;
  // |approximate sum − Math.exp's| ≤ Σ|coefficient| × (approxExp's relative error + both sums' rounding): kernel
  // values are ≤ 1. Doubled, so rounding the ends (sum ± bound) cannot narrow them; the last term is the clamp at −700.
  let magnitude = 0;
  if (single) for (let s = 0; s < n; s++) magnitude += Math.abs(single[s]);
  const bound = 2 * magnitude * (APPROX_EXP_ERROR + 4 * n * Number.EPSILON) + 1e-290;
  const [first0 = 0, first1 = 0] = work.state.presentClasses;
  const ends = new Float64Array(2 * K);
  const svNorms = predictor.svNorms;

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
        if (rbf) for (let s = 0; s < n; s++) base[s] = svNorms[s] - 2 * dots[i * n + s];
        for (let j = 0; j < cols; j++) {
          const at = ((r * cols + j) * S + a) * K;
          const old = data[row * cols + j];
          const value = data[sample[permutations[j][r][a]] * cols + j];
          if (value === old) {
            // The copy is the row itself: its prediction is the evaluation's.
            for (let c = 0; c < K; c++) out[at + c] = baseProba[row * K + c];
            continue;
          }
          const finite = Number.isFinite(xNorm) && Number.isFinite(value);
          const column = j * n;
          if (finite && rbf) {
            const norm = xNorm + value * value - old * old;
            const twoDelta = 2 * (value - old);
            if (single) {
              // The decision with approxExp first: when the class it gives is certain within its error bound, that
              // is the class Math.exp gives; only copies near the class boundary are summed again with Math.exp.
              let sum = 0;
              for (let s = 0; s < n; s++) {
                const distance = base[s] + norm - twoDelta * byFeature[column + s];
                sum += single[s] * approxExp(-gamma * (distance > 0 ? distance : 0));
              }
              decisions[0] = sum - bound - rho;
              predictor.probabilities(decisions, 0, ends, 0);
              decisions[0] = sum + bound - rho;
              predictor.probabilities(decisions, 0, ends, K);
              const low = ends[first0] - ends[first1];
              const high = ends[K + first0] - ends[K + first1];
              if ((low > MARGIN && high > MARGIN) || (low < -MARGIN && high < -MARGIN)) {
                decisions[0] = sum - rho;
              } else {
                sum = 0;
                for (let s = 0; s < n; s++) {
                  const distance = base[s] + norm - twoDelta * byFeature[column + s];
                  sum += single[s] * Math.exp(-gamma * (distance > 0 ? distance : 0));
                }
                decisions[0] = sum - rho;
              }
            } else {
              for (let s = 0; s < n; s++) {
                const distance = base[s] + norm - twoDelta * byFeature[column + s];
                kernel[s] = Math.exp(-gamma * (distance > 0 ? distance : 0));
              }
              predictor.pairDecisions(kernel, 0, decisions, 0);
            }
            predictor.probabilities(decisions, 0, out, at);
            continue;
          }
          let norm: number;
          if (finite) {
            const delta = value - old;
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
 * e^x for x ≤ 0 (below −700: e^−700), within APPROX_EXP_ERROR of Math.exp relatively, at a fraction of its cost:
 * 2^(k/64) from two tables times a cubic in the remainder r = x − k·ln2/64 (|r| ≤ ln2/128 + ~1e-13; Taylor
 * remainder r⁴/24 < 3.7e-11).
 */
export function approxExp(x: number): number {
  const clamped = x > -700 ? x : -700;
  // Rounds to the nearest integer: adding 1.5·2^52 leaves no fraction bits.
  const k = clamped * EXP_STEPS_PER_LN2 + ROUNDING_SHIFT - ROUNDING_SHIFT;
  const r = clamped - k * LN2_PER_STEP;
  const i = k | 0;
  return EXP_FRACTION[i & 63] * EXP_WHOLE[-(i >> 6)] * (1 + r * (1 + r * (0.5 + r * (1 / 6))));
}
const EXP_STEPS_PER_LN2 = 64 / Math.LN2;
const LN2_PER_STEP = Math.LN2 / 64;
const ROUNDING_SHIFT = 6755399441055744;
/** 2^(j/64), j = 0..63, and 2^−m, m = 0..1010 (k ≥ −700·64/ln2 > −64,640: m ≤ 1010, all normal numbers). */
const EXP_FRACTION = Float64Array.from({ length: 64 }, (_, j) => 2 ** (j / 64));
const EXP_WHOLE = Float64Array.from({ length: 1011 }, (_, m) => 2 ** -m);
/** approxExp's relative error is below 4e-11 (the cubic's remainder, the tables' and products' rounding): ×25. */
export const APPROX_EXP_ERROR = 1e-9;
/** A copy's class counts as certain when it wins at both ends of its decision's bound by more than rounding noise. */
const MARGIN = 1e-12;

/** One pair's coefficients over every support vector (0 for those it does not use), in support-vector order. */
function denseCoefficients(pair: PairModel, n: number): Float64Array {
  const dense = new Float64Array(n);
  for (let s = 0; s < pair.supportIndices.length; s++) dense[pair.supportIndices[s]] = pair.coefficients[s];
  return dense;
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
