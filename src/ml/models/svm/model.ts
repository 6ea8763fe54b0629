/** A trained SVM: its pairs of classes, decision values, probabilities, importance and saved form. */
import type { SvmKernel, SvmParams } from '../../catalog.js';
import { sharesOfMagnitude } from '../../importance.js';
import type { Random } from '../../random.js';
import type { HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../../types.js';
import { dotRows, kernelValue, squaredNorms, type KernelSpec } from './kernels.js';
import { MIN_PROB, coupleProbabilities, sigmoidPredict } from './probability.js';

const IMPORTANCE_SAMPLE_ROWS = 200;

export interface PairModel {
  /** Class with label +1. */
  positiveClass: number;
  negativeClass: number;
  /** Indices into the shared support-vector matrix. */
  supportIndices: Int32Array;
  /** α_i·y_i per support vector. */
  coefficients: Float64Array;
  rho: number;
  probA: number;
  probB: number;
}

export interface SvmState {
  numClasses: number;
  numFeatures: number;
  spec: KernelSpec;
  C: number;
  /** nSV × numFeatures, row-major. */
  supportVectors: Float64Array;
  numSupportVectors: number;
  pairs: PairModel[];
  /** Classes seen in training, ascending; the others get probability 0. */
  presentClasses: number[];
  importance: Float64Array;
  trainRows: number;
}

/** Decision value of every pair for one input row, into `out` (length pairs). */
function decisionValues(
  state: SvmState,
  x: Float64Array,
  xStart: number,
  kernelRow: Float64Array,
  svNorms: Float64Array,
  out: Float64Array,
): void {
  const d = state.numFeatures;
  const xNorm = dotRows(x, xStart, x, xStart, d);
  const sv = state.supportVectors;
  if (state.spec.kernel === 'rbf') {
    const gamma = state.spec.gamma;
    for (let s = 0, start = 0; s < state.numSupportVectors; s++, start += d) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += sv[start + j] * x[xStart + j];
      const distance = svNorms[s] + xNorm - 2 * dot;
      kernelRow[s] = Math.exp(-gamma * (distance > 0 ? distance : 0));
    }
  } else {
    for (let s = 0; s < state.numSupportVectors; s++)
      kernelRow[s] = kernelValue(state.spec, dotRows(sv, s * d, x, xStart, d), svNorms[s], xNorm);
  }
  for (let p = 0; p < state.pairs.length; p++) {
    const pair = state.pairs[p];
    let sum = 0;
    for (let s = 0; s < pair.supportIndices.length; s++)
      sum += pair.coefficients[s] * kernelRow[pair.supportIndices[s]];
    out[p] = sum - pair.rho;
  }
}

export function predictProbaState(state: SvmState, X: Matrix): Float64Array {
  if (X.cols !== state.numFeatures) throw new RangeError(`expected ${state.numFeatures} features, got ${X.cols}`);
  const K = state.numClasses;
  const present = state.presentClasses;
  const k = present.length;
  const out = new Float64Array(X.rows * K);
  const svNorms = squaredNorms(state.supportVectors, state.numSupportVectors, state.numFeatures);
  const kernelRow = new Float64Array(state.numSupportVectors);
  const decisions = new Float64Array(state.pairs.length);
  const position = new Int32Array(K).fill(-1);
  present.forEach((c, index) => (position[c] = index));
  const r = new Float64Array(k * k);
  const p = new Float64Array(k);
  for (let i = 0; i < X.rows; i++) {
    if (k === 1) {
      out[i * K + present[0]] = 1;
      continue;
    }
    decisionValues(state, X.data, i * X.cols, kernelRow, svNorms, decisions);
    for (let q = 0; q < state.pairs.length; q++) {
      const pair = state.pairs[q];
      const a = position[pair.positiveClass];
      const b = position[pair.negativeClass];
      const rab = Math.min(Math.max(sigmoidPredict(decisions[q], pair.probA, pair.probB), MIN_PROB), 1 - MIN_PROB);
      r[a * k + b] = rab;
      r[b * k + a] = 1 - rab;
    }
    if (k === 2) {
      p[0] = r[1];
      p[1] = r[k];
    } else {
      coupleProbabilities(k, r, p);
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += p[c];
    for (let c = 0; c < k; c++) out[i * K + present[c]] = p[c] / sum;
  }
  return out;
}

/**
 * Feature importance. Linear kernel: Σ over pairs of |w| (w = Σ α_i y_i x_i), exact. Other kernels: the mean
 * |∂f/∂x_j| of every pair's decision function at up to 200 seeded training rows, i.e. how strongly the decision
 * reacts to each (standardised) input locally. A sensitivity proxy, not a global attribution: permutation
 * importance (computed by the evaluation step) remains the comparable measure across model types.
 */
export function computeImportance(state: SvmState, X: Matrix, rng: Random): Float64Array {
  const d = state.numFeatures;
  const importance = new Float64Array(d);
  const sv = state.supportVectors;
  if (state.spec.kernel === 'linear') {
    const w = new Float64Array(d);
    for (const pair of state.pairs) {
      w.fill(0);
      for (let s = 0; s < pair.supportIndices.length; s++) {
        const start = pair.supportIndices[s] * d;
        for (let j = 0; j < d; j++) w[j] += pair.coefficients[s] * sv[start + j];
      }
      for (let j = 0; j < d; j++) importance[j] += Math.abs(w[j]);
    }
    return sharesOfMagnitude(importance);
  }
  const sampleSize = Math.min(IMPORTANCE_SAMPLE_ROWS, X.rows);
  const rows = rng.shuffle(Int32Array.from({ length: X.rows }, (_, i) => i)).subarray(0, sampleSize);
  const svNorms = squaredNorms(sv, state.numSupportVectors, d);
  const gradient = new Float64Array(d);
  const { kernel, gamma, degree, coef0 } = state.spec;
  for (const row of rows) {
    const xStart = row * d;
    const xNorm = dotRows(X.data, xStart, X.data, xStart, d);
    for (const pair of state.pairs) {
      gradient.fill(0);
      for (let s = 0; s < pair.supportIndices.length; s++) {
        const svIndex = pair.supportIndices[s];
        const start = svIndex * d;
        const dotProduct = dotRows(sv, start, X.data, xStart, d);
        const coefficient = pair.coefficients[s];
        if (kernel === 'rbf') {
          // ∂/∂x exp(−γ‖x−v‖²) = −2γ (x − v) K
          const value = kernelValue(state.spec, dotProduct, svNorms[svIndex], xNorm);
          const factor = -2 * gamma * value * coefficient;
          for (let j = 0; j < d; j++) gradient[j] += factor * (X.data[xStart + j] - sv[start + j]);
        } else {
          const inner = gamma * dotProduct + coef0;
          const outer =
            kernel === 'poly' ? degree * Math.pow(inner, degree - 1) * gamma : (1 - Math.tanh(inner) ** 2) * gamma;
          const factor = outer * coefficient;
          for (let j = 0; j < d; j++) gradient[j] += factor * sv[start + j];
        }
      }
      for (let j = 0; j < d; j++) importance[j] += Math.abs(gradient[j]);
    }
  }
  return sharesOfMagnitude(importance);
}

export class SvmClassifier implements TrainedClassifier {
  readonly modelType = 'svm' as const;
  readonly numClasses: number;
  readonly numFeatures: number;

  constructor(
    readonly params: SvmParams,
    private readonly state: SvmState,
    private readonly steps: HistoryPoint[],
  ) {
    this.numClasses = state.numClasses;
    this.numFeatures = state.numFeatures;
  }

  get numSupportVectors(): number {
    return this.state.numSupportVectors;
  }

  /** Rows the solver actually used (after the `max_train_rows` subsample). */
  get trainRows(): number {
    return this.state.trainRows;
  }

  /** Pairwise decision values (pairs in order (0,1), (0,2), …, (1,2), … over the classes present). */
  decisionFunction(X: Matrix): Float64Array {
    const state = this.state;
    const out = new Float64Array(X.rows * state.pairs.length);
    const svNorms = squaredNorms(state.supportVectors, state.numSupportVectors, state.numFeatures);
    const kernelRow = new Float64Array(state.numSupportVectors);
    const row = new Float64Array(state.pairs.length);
    for (let i = 0; i < X.rows; i++) {
      decisionValues(state, X.data, i * X.cols, kernelRow, svNorms, row);
      out.set(row, i * state.pairs.length);
    }
    return out;
  }

  predictProba(X: Matrix): Float64Array {
    return predictProbaState(this.state, X);
  }

  featureImportance(): Float64Array {
    return Float64Array.from(this.state.importance);
  }

  history(): HistoryPoint[] {
    return this.steps.map((point) => ({ ...point }));
  }

  toJSON(): SvmJson {
    const s = this.state;
    return {
      modelType: 'svm',
      formatVersion: FORMAT_VERSION,
      numClasses: s.numClasses,
      numFeatures: s.numFeatures,
      params: { ...this.params },
      kernel: s.spec.kernel,
      gamma: s.spec.gamma,
      degree: s.spec.degree,
      coef0: s.spec.coef0,
      C: s.C,
      numSupportVectors: s.numSupportVectors,
      supportVectors: Buffer.from(
        s.supportVectors.buffer,
        s.supportVectors.byteOffset,
        s.supportVectors.byteLength,
      ).toString('base64'),
      presentClasses: s.presentClasses.slice(),
      pairs: s.pairs.map((pair) => ({
        positiveClass: pair.positiveClass,
        negativeClass: pair.negativeClass,
        supportIndices: Array.from(pair.supportIndices),
        coefficients: Array.from(pair.coefficients),
        rho: pair.rho,
        probA: pair.probA,
        probB: pair.probB,
      })),
      importance: Array.from(s.importance),
      trainRows: s.trainRows,
      history: this.history(),
    };
  }
}

export const FORMAT_VERSION = 1;

export interface SvmJson extends SerializedModel {
  modelType: 'svm';
  numClasses: number;
  numFeatures: number;
  kernel: SvmKernel;
  gamma: number;
  degree: number;
  coef0: number;
  C: number;
  numSupportVectors: number;
  /** Float64 little-endian, base64. */
  supportVectors: string;
  presentClasses: number[];
  pairs: {
    positiveClass: number;
    negativeClass: number;
    supportIndices: number[];
    coefficients: number[];
    rho: number;
    probA: number;
    probB: number;
  }[];
  importance: number[];
  trainRows: number;
  history: HistoryPoint[];
}
