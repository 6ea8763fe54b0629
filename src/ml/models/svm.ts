/**
 * C-support vector classification with probability outputs, written after libsvm (what scikit-learn's `SVC` runs):
 * - one-vs-one: one binary SVM per pair of classes;
 * - SMO solver with libsvm's second-order working-set selection (WSS2, Fan, Chen & Lin 2005), stopping tolerance
 *   1e-3 as libsvm, and a float32 kernel-column cache (LRU within a byte budget) shared by the 5 cross-validation
 *   fits and the final fit of a pair;
 * - probabilities as libsvm's `-b 1`: Platt sigmoids fitted (Lin, Lin & Weng's Newton method) on 5-fold
 *   cross-validated decision values of each pair, then pairwise coupling (Wu, Lin & Weng 2004, method 2).
 * No npm package fits: `ml-svm` is binary-only without probabilities; `libsvm-js` (an unmaintained Emscripten
 * build) saves models in libsvm's text format, which prints support vectors with 8 significant digits, so a
 * reloaded model would not give bit-identical probabilities, and it cannot take our seeded RNG.
 * Large training sets are subsampled (stratified, seeded) to `max_train_rows` rows: the kernel solver is
 * roughly quadratic in the rows of a pair.
 */
import type {
  FitOptions,
  HistoryPoint,
  Hyperparameters,
  Matrix,
  ModelTrainer,
  SerializedModel,
  TrainedClassifier,
} from '../types.js';
import { throwIfAborted } from '../types.js';
import { Random } from '../random.js';
import { lossAndAccuracy, normaliseMagnitudes, numberParam } from './linear.js';

export type SvmKernel = 'rbf' | 'linear' | 'poly' | 'sigmoid';

export interface KernelSpec {
  kernel: SvmKernel;
  gamma: number;
  degree: number;
  coef0: number;
}

/** Above this many training rows the kernel SVM trains on a stratified seeded subsample (all NASA missions fit). */
const DEFAULT_MAX_TRAIN_ROWS = 10_000;
/** Float32 kernel cache per pair of classes (libsvm/scikit-learn default: 200 MB). */
const CACHE_BYTES = 256 * 1024 * 1024;
const STOPPING_TOLERANCE = 1e-3;
const PROBABILITY_FOLDS = 5;
/** Pairwise probabilities are clipped into [MIN_PROB, 1 − MIN_PROB] before coupling, as libsvm. */
const MIN_PROB = 1e-7;
const IMPORTANCE_SAMPLE_ROWS = 200;

// ---------------------------------------------------------------------------------------------------------------
// Kernel

function kernelValue(spec: KernelSpec, dotProduct: number, squaredNormA: number, squaredNormB: number): number {
  switch (spec.kernel) {
    case 'linear':
      return dotProduct;
    case 'poly':
      return Math.pow(spec.gamma * dotProduct + spec.coef0, spec.degree);
    case 'sigmoid':
      return Math.tanh(spec.gamma * dotProduct + spec.coef0);
    case 'rbf':
      return Math.exp(-spec.gamma * Math.max(0, squaredNormA + squaredNormB - 2 * dotProduct));
  }
}

function dotRows(a: Float64Array, aStart: number, b: Float64Array, bStart: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[aStart + j] * b[bStart + j];
  return s;
}

function squaredNorms(data: Float64Array, rows: number, d: number): Float64Array {
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) norms[i] = dotRows(data, i * d, data, i * d, d);
  return norms;
}

/** Kernel columns over the rows of one pair of classes, cached as float32 (as libsvm's Qfloat) with LRU eviction. */
class KernelColumns {
  private readonly columns: (Float32Array | undefined)[];
  private readonly recent = new Map<number, true>();
  private readonly capacity: number;
  readonly diagonal: Float64Array;

  constructor(
    private readonly data: Float64Array,
    private readonly rows: number,
    private readonly d: number,
    private readonly spec: KernelSpec,
    private readonly norms: Float64Array,
    cacheBytes: number,
  ) {
    this.columns = new Array<Float32Array | undefined>(rows);
    this.capacity = Math.max(2, Math.floor(cacheBytes / (4 * Math.max(1, rows))));
    this.diagonal = new Float64Array(rows);
    for (let i = 0; i < rows; i++) this.diagonal[i] = kernelValue(spec, norms[i], norms[i], norms[i]);
  }

  get(index: number): Float32Array {
    const cached = this.columns[index];
    if (cached) {
      if (this.capacity < this.rows) {
        this.recent.delete(index);
        this.recent.set(index, true);
      }
      return cached;
    }
    if (this.capacity < this.rows && this.recent.size >= this.capacity) {
      const oldest = this.recent.keys().next().value!;
      this.recent.delete(oldest);
      this.columns[oldest] = undefined;
    }
    const column = new Float32Array(this.rows);
    const { data, d, spec, norms } = this;
    const start = index * d;
    if (spec.kernel === 'rbf') {
      // The hot path: inlined so V8 does not dispatch on the kernel per entry.
      const gamma = spec.gamma;
      const own = norms[index];
      for (let q = 0, qStart = 0; q < this.rows; q++, qStart += d) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += data[start + j] * data[qStart + j];
        const distance = own + norms[q] - 2 * dot;
        column[q] = Math.exp(-gamma * (distance > 0 ? distance : 0));
      }
    } else {
      for (let q = 0; q < this.rows; q++)
        column[q] = kernelValue(spec, dotRows(data, start, data, q * d, d), norms[index], norms[q]);
    }
    this.columns[index] = column;
    if (this.capacity < this.rows) this.recent.set(index, true);
    return column;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SMO solver (libsvm's Solver for C-SVC, without shrinking)

interface BinarySolution {
  /** α per row of the sub-problem. */
  alpha: Float64Array;
  rho: number;
  iterations: number;
}

class Yielder {
  private last = performance.now();
  constructor(private readonly signal: AbortSignal | undefined) {}
  /** Lets timers and worker messages run (so an abort can arrive) about every 50 ms, then checks the signal. */
  async maybeYield(): Promise<void> {
    if (performance.now() - this.last > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.last = performance.now();
    }
    throwIfAborted(this.signal);
  }
}

/**
 * Solves min ½αᵀQα − eᵀα, 0 ≤ α ≤ C, yᵀα = 0 with Q_ij = y_i y_j K_ij on the rows `map` (indices into `kernel`).
 */
async function solveBinary(
  kernel: KernelColumns,
  map: Int32Array,
  y: Int8Array,
  C: number,
  maxIter: number,
  yielder: Yielder,
): Promise<BinarySolution> {
  const l = map.length;
  const alpha = new Float64Array(l);
  const G = new Float64Array(l).fill(-1);
  const diag = kernel.diagonal;
  const TAU = 1e-12;
  let iterations = 0;
  while (iterations < maxIter) {
    if ((iterations & 255) === 0) await yielder.maybeYield();
    // Working set: i maximises −y_i∇f among the indices that may move up; j by the second-order gain.
    let gMax = -Infinity;
    let i = -1;
    for (let t = 0; t < l; t++) {
      if (y[t] === 1) {
        if (alpha[t] < C && -G[t] >= gMax) {
          gMax = -G[t];
          i = t;
        }
      } else if (alpha[t] > 0 && G[t] >= gMax) {
        gMax = G[t];
        i = t;
      }
    }
    if (i < 0) break;
    const pi = map[i];
    const Ki = kernel.get(pi);
    const diagI = diag[pi];
    let gMax2 = -Infinity;
    let j = -1;
    let objectiveMin = Infinity;
    for (let t = 0; t < l; t++) {
      let gradientDiff: number;
      if (y[t] === 1) {
        if (!(alpha[t] > 0)) continue;
        if (G[t] >= gMax2) gMax2 = G[t];
        gradientDiff = gMax + G[t];
      } else {
        if (!(alpha[t] < C)) continue;
        if (-G[t] >= gMax2) gMax2 = -G[t];
        gradientDiff = gMax - G[t];
      }
      if (gradientDiff > 0) {
        const pt = map[t];
        let quad = diagI + diag[pt] - 2 * Ki[pt];
        if (quad <= 0) quad = TAU;
        const objective = -(gradientDiff * gradientDiff) / quad;
        if (objective <= objectiveMin) {
          objectiveMin = objective;
          j = t;
        }
      }
    }
    if (gMax + gMax2 < STOPPING_TOLERANCE || j < 0) break;
    iterations++;

    const pj = map[j];
    const Kj = kernel.get(pj);
    const Ki2 = kernel.get(pi); // may have been evicted by the fetch of column j when the cache is tiny
    const yi = y[i];
    const yj = y[j];
    const Qij = yi * yj * Ki2[pj];
    const oldI = alpha[i];
    const oldJ = alpha[j];
    let ai = oldI;
    let aj = oldJ;
    if (yi !== yj) {
      let quad = diagI + diag[pj] + 2 * Qij;
      if (quad <= 0) quad = TAU;
      const delta = (-G[i] - G[j]) / quad;
      const diff = ai - aj;
      ai += delta;
      aj += delta;
      if (diff > 0) {
        if (aj < 0) {
          aj = 0;
          ai = diff;
        }
      } else if (ai < 0) {
        ai = 0;
        aj = -diff;
      }
      if (diff > 0) {
        if (ai > C) {
          ai = C;
          aj = C - diff;
        }
      } else if (aj > C) {
        aj = C;
        ai = C + diff;
      }
    } else {
      let quad = diagI + diag[pj] - 2 * Qij;
      if (quad <= 0) quad = TAU;
      const delta = (G[i] - G[j]) / quad;
      const sum = ai + aj;
      ai -= delta;
      aj += delta;
      if (sum > C) {
        if (ai > C) {
          ai = C;
          aj = sum - C;
        }
      } else if (aj < 0) {
        aj = 0;
        ai = sum;
      }
      if (sum > C) {
        if (aj > C) {
          aj = C;
          ai = sum - C;
        }
      } else if (ai < 0) {
        ai = 0;
        aj = sum;
      }
    }
    alpha[i] = ai;
    alpha[j] = aj;
    const di = yi * (ai - oldI);
    const dj = yj * (aj - oldJ);
    for (let t = 0; t < l; t++) {
      const pt = map[t];
      G[t] += y[t] * (di * Ki2[pt] + dj * Kj[pt]);
    }
  }

  // ρ: mean of y∇f over free vectors, else the middle of the feasible interval (libsvm's calculate_rho).
  let upper = Infinity;
  let lower = -Infinity;
  let freeCount = 0;
  let freeSum = 0;
  for (let t = 0; t < l; t++) {
    const yG = y[t] * G[t];
    if (alpha[t] >= C) {
      if (y[t] === -1) upper = Math.min(upper, yG);
      else lower = Math.max(lower, yG);
    } else if (alpha[t] <= 0) {
      if (y[t] === 1) upper = Math.min(upper, yG);
      else lower = Math.max(lower, yG);
    } else {
      freeCount++;
      freeSum += yG;
    }
  }
  const rho = freeCount > 0 ? freeSum / freeCount : (upper + lower) / 2;
  return { alpha, rho: Number.isFinite(rho) ? rho : 0, iterations };
}

// ---------------------------------------------------------------------------------------------------------------
// Platt scaling and pairwise coupling (libsvm's sigmoid_train / sigmoid_predict / multiclass_probability)

/** Fits P(y=+1|f) = 1/(1+exp(A·f+B)) to decision values; returns [A, B]. */
export function sigmoidTrain(decisionValues: Float64Array, positive: Uint8Array): [number, number] {
  const l = decisionValues.length;
  let prior1 = 0;
  for (let i = 0; i < l; i++) prior1 += positive[i];
  const prior0 = l - prior1;
  const maxIter = 100;
  const minStep = 1e-10;
  const sigma = 1e-12;
  const eps = 1e-5;
  const hiTarget = (prior1 + 1) / (prior1 + 2);
  const loTarget = 1 / (prior0 + 2);
  const t = new Float64Array(l);
  for (let i = 0; i < l; i++) t[i] = positive[i] ? hiTarget : loTarget;
  let A = 0;
  let B = Math.log((prior0 + 1) / (prior1 + 1));
  const objective = (a: number, b: number): number => {
    let f = 0;
    for (let i = 0; i < l; i++) {
      const fApB = decisionValues[i] * a + b;
      f += fApB >= 0 ? t[i] * fApB + Math.log1p(Math.exp(-fApB)) : (t[i] - 1) * fApB + Math.log1p(Math.exp(fApB));
    }
    return f;
  };
  let fval = objective(A, B);
  for (let iter = 0; iter < maxIter; iter++) {
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < l; i++) {
      const fApB = decisionValues[i] * A + B;
      let p: number;
      let q: number;
      if (fApB >= 0) {
        const e = Math.exp(-fApB);
        p = e / (1 + e);
        q = 1 / (1 + e);
      } else {
        const e = Math.exp(fApB);
        p = 1 / (1 + e);
        q = e / (1 + e);
      }
      const d2 = p * q;
      h11 += decisionValues[i] * decisionValues[i] * d2;
      h22 += d2;
      h21 += decisionValues[i] * d2;
      const d1 = t[i] - p;
      g1 += decisionValues[i] * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < eps && Math.abs(g2) < eps) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= minStep) {
      const newA = A + step * dA;
      const newB = B + step * dB;
      const newF = objective(newA, newB);
      if (newF < fval + 0.0001 * step * gd) {
        A = newA;
        B = newB;
        fval = newF;
        break;
      }
      step /= 2;
    }
    if (step < minStep) break; // line search failed: keep the last good (A, B)
  }
  return [A, B];
}

export function sigmoidPredict(decisionValue: number, A: number, B: number): number {
  const fApB = decisionValue * A + B;
  return fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
}

/** Pairwise coupling: r[i][j] ≈ P(class i | i or j); writes class probabilities into `p` (length k). */
export function coupleProbabilities(k: number, r: Float64Array, p: Float64Array): void {
  const Q = new Float64Array(k * k);
  const Qp = new Float64Array(k);
  const maxIter = Math.max(100, k);
  const eps = 0.005 / k;
  for (let t = 0; t < k; t++) {
    p[t] = 1 / k;
    Q[t * k + t] = 0;
    for (let j = 0; j < t; j++) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = Q[j * k + t];
    }
    for (let j = t + 1; j < k; j++) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  for (let iter = 0; iter < maxIter; iter++) {
    let pQp = 0;
    for (let t = 0; t < k; t++) {
      Qp[t] = 0;
      for (let j = 0; j < k; j++) Qp[t] += Q[t * k + j] * p[j];
      pQp += p[t] * Qp[t];
    }
    let maxError = 0;
    for (let t = 0; t < k; t++) maxError = Math.max(maxError, Math.abs(Qp[t] - pQp));
    if (maxError < eps) break;
    for (let t = 0; t < k; t++) {
      const diff = (-Qp[t] + pQp) / Q[t * k + t];
      p[t] += diff;
      pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
      for (let j = 0; j < k; j++) {
        Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
        p[j] /= 1 + diff;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Model

interface PairModel {
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

interface SvmState {
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

function predictProbaState(state: SvmState, X: Matrix): Float64Array {
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
function computeImportance(state: SvmState, X: Matrix, rng: Random): Float64Array {
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
    return normaliseMagnitudes(importance);
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
  return normaliseMagnitudes(importance);
}

// ---------------------------------------------------------------------------------------------------------------
// Training

/** Resolves scikit-learn's gamma: 'scale' = 1/(d·Var(X)) over all entries, 'auto' = 1/d, or a positive number. */
export function resolveGamma(gamma: Hyperparameters[string], X: Matrix): number {
  const d = Math.max(1, X.cols);
  if (gamma === 'auto') return 1 / d;
  const numeric =
    typeof gamma === 'number' ? gamma : typeof gamma === 'string' && gamma !== 'scale' ? Number(gamma) : Number.NaN;
  if (Number.isFinite(numeric) && numeric > 0) return numeric;
  let mean = 0;
  const count = X.data.length;
  for (let i = 0; i < count; i++) mean += X.data[i];
  mean /= Math.max(1, count);
  let variance = 0;
  for (let i = 0; i < count; i++) variance += (X.data[i] - mean) ** 2;
  variance /= Math.max(1, count);
  return variance > 0 ? 1 / (d * variance) : 1;
}

function readKernel(params: Hyperparameters): SvmKernel {
  const kernel = params.kernel;
  return kernel === 'linear' || kernel === 'poly' || kernel === 'sigmoid' ? kernel : 'rbf';
}

/** Stratified seeded subsample of at most `maxRows` row indices (sorted), keeping every class present. */
function stratifiedSubsample(y: Int32Array, numClasses: number, maxRows: number, rng: Random): Int32Array {
  if (y.length <= maxRows) return Int32Array.from({ length: y.length }, (_, i) => i);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < y.length; i++) byClass[y[i]].push(i);
  const chosen: number[] = [];
  for (const members of byClass) {
    if (members.length === 0) continue;
    const take = Math.max(1, Math.round((members.length * maxRows) / y.length));
    const shuffled = rng.shuffle(members.slice());
    chosen.push(...shuffled.slice(0, take));
  }
  return Int32Array.from(chosen.sort((a, b) => a - b));
}

class SvmClassifier implements TrainedClassifier {
  readonly modelType = 'svm' as const;
  readonly numClasses: number;
  readonly numFeatures: number;

  constructor(
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

const FORMAT_VERSION = 1;

interface SvmJson extends SerializedModel {
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

export const svmTrainer: ModelTrainer = {
  modelType: 'svm',

  async fit(X, y, numClasses, params, options: FitOptions) {
    throwIfAborted(options.signal);
    const yielder = new Yielder(options.signal);
    const rng = new Random(options.seed);
    const d = X.cols;
    const C = Math.max(numberParam(params, 'C', 1), 1e-12);
    const spec: KernelSpec = {
      kernel: readKernel(params),
      gamma: 1,
      degree: Math.max(1, Math.round(numberParam(params, 'degree', 3))),
      coef0: numberParam(params, 'coef0', 0),
    };
    const maxIterParam = numberParam(params, 'max_iter', -1);
    const maxRows = Math.max(2, Math.round(numberParam(params, 'max_train_rows', DEFAULT_MAX_TRAIN_ROWS)));

    const rows = stratifiedSubsample(y, numClasses, maxRows, rng.fork(1));
    const trainX = rows.length === X.rows ? X : { rows: rows.length, cols: d, data: gatherRows(X.data, rows, d) };
    const trainY = rows.length === X.rows ? y : Int32Array.from(rows, (r) => y[r]);
    // Gamma 'scale' uses the variance of the rows the solver sees, as scikit-learn would on the same input.
    spec.gamma = resolveGamma(params.gamma ?? 'scale', trainX);

    const presentClasses: number[] = [];
    const byClass: number[][] = Array.from({ length: numClasses }, () => []);
    for (let i = 0; i < trainY.length; i++) byClass[trainY[i]].push(i);
    byClass.forEach((members, c) => members.length > 0 && presentClasses.push(c));

    const pairCount = (presentClasses.length * (presentClasses.length - 1)) / 2;
    const totalSteps = pairCount * (PROBABILITY_FOLDS + 1);
    let step = 0;
    const history: HistoryPoint[] = [];
    const pairs: PairModel[] = [];
    const svSlot = new Map<number, number>(); // training row → support-vector slot
    const svRows: number[] = [];

    for (let a = 0; a < presentClasses.length; a++) {
      for (let b = a + 1; b < presentClasses.length; b++) {
        const positiveClass = presentClasses[a];
        const negativeClass = presentClasses[b];
        const members = [...byClass[positiveClass], ...byClass[negativeClass]];
        const l = members.length;
        const pairData = gatherRows(trainX.data, members, d);
        const labels = new Int8Array(l);
        for (let i = 0; i < l; i++) labels[i] = i < byClass[positiveClass].length ? 1 : -1;
        const kernel = new KernelColumns(pairData, l, d, spec, squaredNorms(pairData, l, d), CACHE_BYTES);
        const maxIter = maxIterParam > 0 ? Math.floor(maxIterParam) : Math.max(10_000_000, 100 * l);
        const pairName = `${positiveClass}/${negativeClass}`;

        // 1. Cross-validated decision values for Platt scaling.
        const permutation = rng.shuffle(Int32Array.from({ length: l }, (_, i) => i));
        const cvDecision = new Float64Array(l);
        for (let fold = 0; fold < PROBABILITY_FOLDS; fold++) {
          const begin = Math.floor((fold * l) / PROBABILITY_FOLDS);
          const end = Math.floor(((fold + 1) * l) / PROBABILITY_FOLDS);
          const trainIndex = Int32Array.from([...permutation.subarray(0, begin), ...permutation.subarray(end)]);
          const subLabels = Int8Array.from(trainIndex, (p) => labels[p]);
          let positives = 0;
          for (const label of subLabels) if (label === 1) positives++;
          if (positives === 0 || positives === subLabels.length) {
            const constant = positives === 0 ? (subLabels.length === 0 ? 0 : -1) : 1;
            for (let t = begin; t < end; t++) cvDecision[permutation[t]] = constant;
          } else {
            const solution = await solveBinary(kernel, trainIndex, subLabels, C, maxIter, yielder);
            const supports: number[] = [];
            const weights: number[] = [];
            for (let s = 0; s < trainIndex.length; s++) {
              if (solution.alpha[s] > 0) {
                supports.push(trainIndex[s]);
                weights.push(solution.alpha[s] * subLabels[s]);
              }
            }
            for (let t = begin; t < end; t++) {
              const p = permutation[t];
              const column = kernel.get(p);
              let sum = 0;
              for (let s = 0; s < supports.length; s++) sum += weights[s] * column[supports[s]];
              cvDecision[p] = sum - solution.rho;
            }
          }
          step++;
          options.onStep?.({
            step,
            totalSteps,
            message: `pair ${pairName}: probability fold ${fold + 1}/${PROBABILITY_FOLDS}`,
          });
        }
        const positive = Uint8Array.from(labels, (label) => (label === 1 ? 1 : 0));
        const [probA, probB] = sigmoidTrain(cvDecision, positive);

        // 2. The pair's final model on all its rows.
        const solution = await solveBinary(
          kernel,
          Int32Array.from({ length: l }, (_, i) => i),
          labels,
          C,
          maxIter,
          yielder,
        );
        const supportIndices: number[] = [];
        const coefficients: number[] = [];
        for (let i = 0; i < l; i++) {
          if (solution.alpha[i] <= 0) continue;
          const row = members[i];
          let slot = svSlot.get(row);
          if (slot === undefined) {
            slot = svRows.length;
            svSlot.set(row, slot);
            svRows.push(row);
          }
          supportIndices.push(slot);
          coefficients.push(solution.alpha[i] * labels[i]);
        }
        pairs.push({
          positiveClass,
          negativeClass,
          supportIndices: Int32Array.from(supportIndices),
          coefficients: Float64Array.from(coefficients),
          rho: solution.rho,
          probA,
          probB,
        });
        // Platt log loss on the held-out decision values: the calibrated loss of this pair.
        let plattLoss = 0;
        for (let i = 0; i < l; i++) {
          const p = Math.min(Math.max(sigmoidPredict(cvDecision[i], probA, probB), 1e-15), 1 - 1e-15);
          plattLoss -= positive[i] ? Math.log(p) : Math.log(1 - p);
        }
        step++;
        const point: HistoryPoint = { step: pairs.length, loss: plattLoss / Math.max(1, l) };
        history.push(point);
        options.onStep?.({
          step,
          totalSteps,
          loss: point.loss,
          message: `pair ${pairName}: ${supportIndices.length} support vectors, ${solution.iterations} SMO iterations`,
        });
      }
    }

    const state: SvmState = {
      numClasses,
      numFeatures: d,
      spec,
      C,
      supportVectors: gatherRows(trainX.data, svRows, d),
      numSupportVectors: svRows.length,
      pairs,
      presentClasses,
      importance: new Float64Array(d),
      trainRows: trainY.length,
    };
    state.importance = computeImportance(state, trainX, rng.fork(2));
    if (history.length === 0) history.push({ step: 0 });
    if (options.validation) {
      const metrics = lossAndAccuracy(predictProbaState(state, options.validation.X), options.validation.y, numClasses);
      const last = history[history.length - 1];
      last.valLoss = metrics.loss;
      last.valAccuracy = metrics.accuracy;
    }
    return new SvmClassifier(state, history);
  },

  async load(json) {
    const data = json as SvmJson;
    if (data.modelType !== 'svm' || data.formatVersion !== FORMAT_VERSION)
      throw new Error(`not an svm model (format ${String(data.formatVersion)})`);
    const bytes = Buffer.from(data.supportVectors, 'base64');
    const supportVectors = new Float64Array(data.numSupportVectors * data.numFeatures);
    new Uint8Array(supportVectors.buffer).set(bytes);
    if (bytes.length !== supportVectors.byteLength) throw new Error('corrupt svm model: support vectors');
    const state: SvmState = {
      numClasses: data.numClasses,
      numFeatures: data.numFeatures,
      spec: { kernel: data.kernel, gamma: data.gamma, degree: data.degree, coef0: data.coef0 },
      C: data.C,
      supportVectors,
      numSupportVectors: data.numSupportVectors,
      pairs: data.pairs.map((pair) => ({
        positiveClass: pair.positiveClass,
        negativeClass: pair.negativeClass,
        supportIndices: Int32Array.from(pair.supportIndices),
        coefficients: Float64Array.from(pair.coefficients),
        rho: pair.rho,
        probA: pair.probA,
        probB: pair.probB,
      })),
      presentClasses: data.presentClasses.slice(),
      importance: Float64Array.from(data.importance),
      trainRows: data.trainRows,
    };
    return new SvmClassifier(state, data.history ?? []);
  },
};

function gatherRows(data: Float64Array, rows: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * d, rows[i] * d + d), i * d);
  return out;
}
