/** A trained SVM: its pairs of classes, decision values, probabilities, importance and saved form. */
import type { SvmKernel, SvmParams } from '../../catalog.js';
import { sharesOfMagnitude } from '../../importance.js';
import type { Random } from '../../random.js';
import type { HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../../types.js';
import { dotRows, kernelValue, squaredNorms, type KernelSpec } from './kernels.js';
import { MIN_PROB, coupleProbabilities, sigmoidPredict } from './probability.js';
import { predictThreads, svmPredictRows } from '../trees/predict-parallel.js';

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

/** Rows whose kernel values are computed together: their dots and kernel values (rows × nSV) stay in cache. */
const BLOCK_ROWS = 32;

/**
 * What predicting needs beside the state, computed once per call: the support vectors' squared norms, and the steps
 * from rows to kernel values, to decision values, to probabilities (shared with the SVM's permutation importance).
 */
export class SvmPredictor {
  readonly svNorms: Float64Array;
  readonly numSupportVectors: number;
  readonly numPairs: number;
  /** Class → its place among the present classes (-1: absent). */
  private readonly position: Int32Array;
  private readonly r: Float64Array;
  private readonly p: Float64Array;

  constructor(readonly state: SvmState) {
    this.numSupportVectors = state.numSupportVectors;
    this.numPairs = state.pairs.length;
    this.svNorms = squaredNorms(state.supportVectors, state.numSupportVectors, state.numFeatures);
    this.position = new Int32Array(state.numClasses).fill(-1);
    state.presentClasses.forEach((c, index) => (this.position[c] = index));
    const k = state.presentClasses.length;
    this.r = new Float64Array(k * k);
    this.p = new Float64Array(k);
  }

  /**
   * Dot products of `count` consecutive rows of `x` (row-major, from row `first`) with every support vector, into
   * `out` (count × nSV). Four rows and two support vectors at a time share their loads (10k rows × 3,459 SVs: 0.77 →
   * 0.65 CPU s with the kernel values, against one support vector at a time); every dot still sums its features in
   * order from 0, as one row alone would (the same bits whatever the block).
   */
  dots(x: Float64Array, first: number, count: number, out: Float64Array): void {
    const d = this.state.numFeatures;
    const n = this.numSupportVectors;
    const sv = this.state.supportVectors;
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const a0 = (first + i) * d;
      const a1 = a0 + d;
      const a2 = a1 + d;
      const a3 = a2 + d;
      const o = i * n;
      let s = 0;
      let start = 0;
      // Two support vectors at a time: eight sums share each feature's six loads.
      for (; s + 2 <= n; s += 2, start += 2 * d) {
        const next = start + d;
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        let e0 = 0;
        let e1 = 0;
        let e2 = 0;
        let e3 = 0;
        for (let j = 0; j < d; j++) {
          const v = sv[start + j];
          const w = sv[next + j];
          const x0 = x[a0 + j];
          const x1 = x[a1 + j];
          const x2 = x[a2 + j];
          const x3 = x[a3 + j];
          d0 += v * x0;
          d1 += v * x1;
          d2 += v * x2;
          d3 += v * x3;
          e0 += w * x0;
          e1 += w * x1;
          e2 += w * x2;
          e3 += w * x3;
        }
        out[o + s] = d0;
        out[o + n + s] = d1;
        out[o + 2 * n + s] = d2;
        out[o + 3 * n + s] = d3;
        out[o + s + 1] = e0;
        out[o + n + s + 1] = e1;
        out[o + 2 * n + s + 1] = e2;
        out[o + 3 * n + s + 1] = e3;
      }
      for (; s < n; s++, start += d) {
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        for (let j = 0; j < d; j++) {
          const v = sv[start + j];
          d0 += v * x[a0 + j];
          d1 += v * x[a1 + j];
          d2 += v * x[a2 + j];
          d3 += v * x[a3 + j];
        }
        out[o + s] = d0;
        out[o + n + s] = d1;
        out[o + 2 * n + s] = d2;
        out[o + 3 * n + s] = d3;
      }
    }
    for (; i < count; i++) {
      const a = (first + i) * d;
      const o = i * n;
      for (let s = 0, start = 0; s < n; s++, start += d) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += sv[start + j] * x[a + j];
        out[o + s] = dot;
      }
    }
  }

  /** Kernel values of one row from its dots with the support vectors (at `at` in `dots`) and its squared norm. */
  kernelOfDots(dots: Float64Array, at: number, xNorm: number, out: Float64Array, outAt: number): void {
    const { spec } = this.state;
    const svNorms = this.svNorms;
    const n = this.numSupportVectors;
    if (spec.kernel === 'rbf') {
      // The hot path: inlined so V8 does not dispatch on the kernel per entry.
      const gamma = spec.gamma;
      for (let s = 0; s < n; s++) {
        const distance = svNorms[s] + xNorm - 2 * dots[at + s];
        out[outAt + s] = Math.exp(-gamma * (distance > 0 ? distance : 0));
      }
    } else {
      for (let s = 0; s < n; s++) out[outAt + s] = kernelValue(spec, dots[at + s], svNorms[s], xNorm);
    }
  }

  /** Decision value of every pair for one row's kernel values (at `at`), into `out` from `outAt`. */
  pairDecisions(kernel: Float64Array, at: number, out: Float64Array, outAt: number): void {
    const pairs = this.state.pairs;
    for (let q = 0; q < pairs.length; q++) {
      const { supportIndices, coefficients, rho } = pairs[q];
      let sum = 0;
      for (let s = 0; s < supportIndices.length; s++) sum += coefficients[s] * kernel[at + supportIndices[s]];
      out[outAt + q] = sum - rho;
    }
  }

  /**
   * Class probabilities (numClasses entries from `outAt`) from one row's pair decisions (at `at`): each pair's Platt
   * sigmoid, then pairwise coupling over the classes present; absent classes get 0.
   */
  probabilities(decisions: Float64Array, at: number, out: Float64Array, outAt: number): void {
    const { pairs, presentClasses: present } = this.state;
    const k = present.length;
    if (k === 1) {
      out[outAt + present[0]] = 1;
      return;
    }
    const { r, p, position } = this;
    for (let q = 0; q < pairs.length; q++) {
      const pair = pairs[q];
      const a = position[pair.positiveClass];
      const b = position[pair.negativeClass];
      const rab = Math.min(Math.max(sigmoidPredict(decisions[at + q], pair.probA, pair.probB), MIN_PROB), 1 - MIN_PROB);
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
    for (let c = 0; c < k; c++) out[outAt + present[c]] = p[c] / sum;
  }

  /**
   * Every row's pair decisions (rows × pairs, into `decisions`) and, given `proba`, its probabilities (rows ×
   * numClasses), BLOCK_ROWS rows at a time.
   */
  predict(X: Matrix, decisions: Float64Array, proba: Float64Array | null): void {
    const { numFeatures: d, numClasses, spec } = this.state;
    if (X.cols !== d) throw new RangeError(`expected ${d} features, got ${X.cols}`);
    const n = this.numSupportVectors;
    const P = this.numPairs;
    const kernel = new Float64Array(Math.min(BLOCK_ROWS, X.rows) * n);
    // RBF with one pair over every support vector in order (two classes): each kernel value goes straight into the
    // decision's sum, in the order pairDecisions sums them (same bits), without a pass to store and read it back.
    const single =
      P === 1 && spec.kernel === 'rbf' && isEverySupportVector(this.state.pairs[0], n) ? this.state.pairs[0] : null;
    const { svNorms } = this;
    const gamma = spec.gamma;
    for (let first = 0; first < X.rows; first += BLOCK_ROWS) {
      const count = Math.min(BLOCK_ROWS, X.rows - first);
      this.dots(X.data, first, count, kernel);
      for (let i = 0; i < count; i++) {
        const row = first + i;
        const xNorm = dotRows(X.data, row * d, X.data, row * d, d);
        if (single) {
          const { coefficients, rho } = single;
          const at = i * n;
          let sum = 0;
          for (let s = 0; s < n; s++) {
            const distance = svNorms[s] + xNorm - 2 * kernel[at + s];
            sum += coefficients[s] * Math.exp(-gamma * (distance > 0 ? distance : 0));
          }
          decisions[row] = sum - rho;
        } else {
          this.kernelOfDots(kernel, i * n, xNorm, kernel, i * n);
          this.pairDecisions(kernel, i * n, decisions, row * P);
        }
        if (proba) this.probabilities(decisions, row * P, proba, row * numClasses);
      }
    }
  }
}

/** True when `pair` uses the support vectors 0..n−1 in order (the one pair of a two-class model). */
function isEverySupportVector(pair: PairModel, n: number): boolean {
  const indices = pair.supportIndices;
  if (indices.length !== n) return false;
  for (let s = 0; s < n; s++) if (indices[s] !== s) return false;
  return true;
}

export function predictProbaState(state: SvmState, X: Matrix): Float64Array {
  const out = new Float64Array(X.rows * state.numClasses);
  new SvmPredictor(state).predict(X, new Float64Array(X.rows * state.pairs.length), out);
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
    /** Read by the SVM's permutation importance (src/ml/explain/svm-permutation.ts). */
    readonly state: SvmState,
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
    const out = new Float64Array(X.rows * this.state.pairs.length);
    new SvmPredictor(this.state).predict(X, out, null);
    return out;
  }

  /** Large batches: half of the rows on the prediction helper thread (svmPredictRows), same bits. */
  predictProba(X: Matrix): Float64Array {
    return svmPredictRows(this.state, X, predictThreads.count);
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
