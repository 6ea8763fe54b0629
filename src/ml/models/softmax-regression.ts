/**
 * Penalised multinomial (≥ 3 classes) or binary logistic regression on Float64Array, the core of
 * `logistic_regression` and of `pca` (logistic regression on the components). Objective as scikit-learn's
 * `LogisticRegression(penalty='l2', C)`: sum_i logloss_i + 1/(2C)·||W||² (intercepts unpenalised), minimised in its
 * mean-scaled form (divided by n, same optimum).
 *
 * Solver: L-BFGS to max|gradient| 1e-3 (POLISH_FROM), then Newton's method with the exact Hessian (scikit-learn's
 * `newton-cholesky`) while the parameters and rows are few (≤ NEWTON_MAX_PARAMETERS, ≤ NEWTON_MAX_ROWS: the Hessian
 * costs n·p²/2 per step), else L-BFGS alone. Newton converges quadratically:
 * 6–10 iterations reach the optimum to ~1e-10 where L-BFGS took ~260 to reach max|gradient| ≤ 1e-6 on Kepler, and
 * an ill-conditioned problem (heavy-tailed columns) leaves L-BFGS's coefficients 1e-2 from the optimum there.
 */
import type { Matrix } from '../types.js';
import { minimizeLbfgs, type DifferentiableObjective, type LbfgsOptions, type LbfgsResult } from '../optim/lbfgs.js';
import { throwIfAborted } from '../types.js';
import { sharesOfMagnitude } from '../importance.js';

export interface SoftmaxRegressionOptions {
  /** Inverse regularisation strength (scikit-learn's C). */
  C: number;
  maxIter: number;
  /** Stop when the largest |gradient| of the mean-scaled objective is at most this. Default 1e-6. */
  tol?: number;
  signal?: AbortSignal;
  /** Default: Newton while the parameters are at most NEWTON_MAX_PARAMETERS, else L-BFGS. */
  solver?: 'newton' | 'lbfgs' | 'lbfgs-newton';
  /** Called after every solver iteration; `model` is a live view of the current parameters (copy to keep). */
  onIteration?: (iteration: number, meanLogLoss: number, gradientNorm: number, model: SoftmaxRegressionModel) => void;
}

/** A fitted (multinomial or binary) logistic model: probabilities via `softmaxRegressionProba`. */
export interface SoftmaxRegressionModel {
  numClasses: number;
  numFeatures: number;
  /** 1 for two classes (the weights of class 1 against class 0), else `numClasses`. */
  outputs: number;
  /** outputs × numFeatures, row-major. */
  coef: Float64Array;
  intercept: Float64Array;
}

export interface SoftmaxRegressionFit extends SoftmaxRegressionModel {
  iterations: number;
  converged: boolean;
  /** Mean training log loss at the solution (without the penalty). */
  meanLogLoss: number;
  /** max |gradient| of the mean-scaled objective at the solution. */
  gradientNorm: number;
}

/**
 * Fits the penalised logistic model. Throws `AbortError` when `signal` fires: checked every iteration, and the
 * loop yields to the event loop every ~50 ms so that an abort from a timer or a worker message is seen.
 */
export async function fitSoftmaxRegression(
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  options: SoftmaxRegressionOptions,
): Promise<SoftmaxRegressionFit> {
  if (y.length !== X.rows) throw new RangeError(`${y.length} labels for ${X.rows} rows`);
  const C = options.C > 0 && Number.isFinite(options.C) ? options.C : 1;
  const tol = options.tol ?? 1e-6;
  const d = X.cols;
  const outputs = numClasses === 2 ? 1 : Math.max(1, numClasses);
  const model: SoftmaxRegressionModel = {
    numClasses,
    numFeatures: d,
    outputs,
    coef: new Float64Array(outputs * d),
    intercept: new Float64Array(outputs),
  };
  // Columns of very different scales (PCA components: √eigenvalue) are solved rescaled to unit size, with the
  // penalty rescaled to match (the same objective, the same optimum): the solver's problem is far better
  // conditioned (PCA + LR on Kepler: L-BFGS needed ~135 iterations unscaled).
  const scales = columnScales(X);
  const penalty = new Float64Array(d);
  for (let j = 0; j < d; j++) penalty[j] = 1 / C / (scales ? scales[j] * scales[j] : 1);
  const objective = makeObjective(scales ? rescaled(X, scales) : X, y, outputs, penalty);
  const parameters = outputs * (d + 1);
  const unpack = (theta: Float64Array): void => {
    for (let k = 0; k < outputs; k++) {
      for (let j = 0; j < d; j++) model.coef[k * d + j] = theta[k * (d + 1) + j] / (scales ? scales[j] : 1);
      model.intercept[k] = theta[k * (d + 1) + d];
    }
  };
  const { onIteration } = options;
  const solver =
    options.solver ?? (parameters <= NEWTON_MAX_PARAMETERS && X.rows <= NEWTON_MAX_ROWS ? 'lbfgs-newton' : 'lbfgs');
  const solve =
    solver === 'newton' ? minimizeNewton : solver === 'lbfgs-newton' ? minimizeLbfgsThenNewton : minimizeLbfgs;
  const result = await solve(objective, new Float64Array(parameters), {
    maxIter: Math.max(0, Math.floor(options.maxIter)),
    gradientTol: tol,
    signal: options.signal,
    onIteration: onIteration
      ? (iteration, theta, _f, gradientNorm) => {
          unpack(theta);
          onIteration(iteration, objective.lastMeanLogLoss, gradientNorm, model);
        }
      : undefined,
  });
  unpack(result.x);
  if (outputs > 1) {
    // Adding one constant to every intercept changes neither the probabilities nor the objective: the solution
    // with intercepts summing to 0 is scikit-learn's (and independent of the solver's drift along that line).
    let mean = 0;
    for (const b of model.intercept) mean += b / outputs;
    for (let k = 0; k < outputs; k++) model.intercept[k] -= mean;
  }
  objective.evaluate(result.x, new Float64Array(result.x.length));
  return {
    ...model,
    iterations: result.iterations,
    converged: result.converged,
    meanLogLoss: objective.lastMeanLogLoss,
    gradientNorm: result.gradientNorm,
  };
}

/** rows × numClasses probabilities; each row sums to 1. */
export function softmaxRegressionProba(model: SoftmaxRegressionModel, X: Matrix): Float64Array {
  if (X.cols !== model.numFeatures) throw new RangeError(`expected ${model.numFeatures} features, got ${X.cols}`);
  const { numClasses, outputs, coef, intercept } = model;
  const d = X.cols;
  const out = new Float64Array(X.rows * numClasses);
  const z = new Float64Array(outputs);
  for (let i = 0; i < X.rows; i++) {
    const row = i * d;
    for (let k = 0; k < outputs; k++) {
      let s = intercept[k];
      const w = k * d;
      for (let j = 0; j < d; j++) s += coef[w + j] * X.data[row + j];
      z[k] = s;
    }
    if (numClasses === 2) {
      const p1 = sigmoid(z[0]);
      out[i * 2] = 1 - p1;
      out[i * 2 + 1] = p1;
    } else {
      let max = -Infinity;
      for (let k = 0; k < outputs; k++) if (z[k] > max) max = z[k];
      let sum = 0;
      for (let k = 0; k < outputs; k++) sum += z[k] = Math.exp(z[k] - max);
      for (let k = 0; k < outputs; k++) out[i * numClasses + k] = z[k] / sum;
    }
  }
  return out;
}

/** Mean over output rows of |coef| per feature, normalised to sum 1 (uniform when all weights are 0). */
export function absoluteWeightImportance(coef: Float64Array, outputs: number, numFeatures: number): Float64Array {
  const importance = new Float64Array(numFeatures);
  for (let k = 0; k < outputs; k++)
    for (let j = 0; j < numFeatures; j++) importance[j] += Math.abs(coef[k * numFeatures + j]);
  return sharesOfMagnitude(importance);
}

/** Newton's method while the Hessian (parameters²) is small: Kepler's 3 classes × 31 = 93, a 20-feature table 21. */
const NEWTON_MAX_PARAMETERS = 400;
/** Newton stops once its full step moves no parameter by more than this (the optimum is then this close). */
const NEWTON_STEP_TOL = 1e-10;
/** Newton stops at a gradient this small (mean-scaled): the double-precision plateau of the log loss. */
const NEWTON_GRADIENT_FLOOR = 1e-11;
/**
 * Where L-BFGS hands over to Newton (max|gradient| of the mean-scaled objective). Measured on Kepler (CPU, load ~18):
 * from 1e-4 LR took 110 iterations, 0.69 s, PCA + LR 114, 0.43 s; from 1e-3 45 and 50 iterations, 0.47 s and
 * 0.28 s, the same optimum (1e-9); from 1e-2 Newton needs more than 12 steps on LR.
 */
const POLISH_FROM = 1e-3;
/**
 * Rows up to which L-BFGS hands over to Newton. Beyond, a Newton step (n·p²/2) costs more than L-BFGS's whole run
 * on the tables measured (200,000 synthetic rows: L-BFGS 8 iterations, 0.23 s of CPU, to max|gradient| 7e-7;
 * with the Newton polish 0.83 s): L-BFGS alone, as before.
 */
const NEWTON_MAX_ROWS = 50_000;
/** Newton steps after L-BFGS at most (from POLISH_FROM LR on Kepler needs 6). */
const POLISH_MAX_STEPS = 8;

/** The mean-scaled penalised log loss; `lastMeanLogLoss` is the unpenalised mean log loss of the last evaluation. */
interface Objective extends DifferentiableObjective {
  lastMeanLogLoss: number;
  /** The Hessian at `theta` (parameters², row-major) into `hessian`. */
  hessian(theta: Float64Array, hessian: Float64Array): void;
}

/**
 * Newton's method with a backtracking (Armijo) line search: direction −H⁻¹g by Cholesky of H + μI, μ a 1e-10 share
 * of H's largest diagonal entry (the multinomial's intercepts have a flat direction, adding one constant to all of
 * them, along which the gradient is zero, so the step stays off it). Converged when the full Newton step moves no
 * parameter by more than NEWTON_STEP_TOL, or max|gradient| ≤ gradientTol and the step is that small too.
 */
/**
 * L-BFGS while it is cheap (to max|gradient| ≤ POLISH_FROM: a few dozen iterations, ~1 gradient each), then Newton
 * from there, where it converges quadratically in 3–6 steps: the optimum to ~1e-10 for a few L-BFGS iterations more.
 */
async function minimizeLbfgsThenNewton(
  objective: Objective,
  x0: Float64Array,
  options: LbfgsOptions,
): Promise<LbfgsResult> {
  const rough = await minimizeLbfgs(objective, x0, {
    ...options,
    gradientTol: Math.max(options.gradientTol, POLISH_FROM),
  });
  const polished = await minimizeNewton(objective, rough.x, {
    ...options,
    // From there Newton needs 3–6 steps; more means a plateau the data cannot resolve (each step costs n·p²/2).
    maxIter: Math.min(POLISH_MAX_STEPS, Math.max(0, options.maxIter - rough.iterations)),
    onIteration: options.onIteration
      ? (iteration, x, f, gradientNorm) => options.onIteration?.(rough.iterations + iteration, x, f, gradientNorm)
      : undefined,
  });
  return { ...polished, iterations: rough.iterations + polished.iterations };
}

async function minimizeNewton(objective: Objective, x0: Float64Array, options: LbfgsOptions): Promise<LbfgsResult> {
  const p = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(p);
  let f = objective.evaluate(x, g);
  const hessian = new Float64Array(p * p);
  const direction = new Float64Array(p);
  let iterations = 0;
  let converged = false;
  let lastYield = performance.now();
  while (iterations < options.maxIter) {
    if (performance.now() - lastYield > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    throwIfAborted(options.signal);
    objective.hessian(x, hessian);
    for (let a = 0; a < p; a++) direction[a] = -g[a];
    if (!choleskySolve(hessian, p, direction)) break; // not positive definite even damped: keep what we have
    if (normInf(direction) <= NEWTON_STEP_TOL) {
      converged = true;
      break;
    }
    let slope = 0;
    for (let a = 0; a < p; a++) slope += g[a] * direction[a];
    let step = 1;
    let accepted = false;
    const trial = new Float64Array(p);
    const trialGradient = new Float64Array(p);
    for (let attempt = 0; attempt < 60; attempt++) {
      for (let a = 0; a < p; a++) trial[a] = x[a] + step * direction[a];
      const value = objective.evaluate(trial, trialGradient);
      // A strict decrease too: at the optimum's double-precision plateau nothing is accepted, and Newton stops.
      if (value <= f + 1e-4 * step * slope && value < f) {
        x = trial;
        g = trialGradient;
        f = value;
        accepted = true;
        break;
      }
      step /= 2;
    }
    iterations++;
    if (!accepted) {
      // No decrease at double precision: the optimum as far as it can be seen.
      converged = normInf(g) <= options.gradientTol;
      break;
    }
    const gradientNorm = normInf(g);
    options.onIteration?.(iterations, x, f, gradientNorm);
    if (gradientNorm <= NEWTON_GRADIENT_FLOOR) {
      converged = true;
      break;
    }
  }
  objective.evaluate(x, g);
  return { x, f, gradientNorm: normInf(g), iterations, converged: converged || normInf(g) <= options.gradientTol };
}

/**
 * Solves (A + μI)·x = b in place of `b` by Cholesky (A symmetric positive semi-definite, upper triangle read);
 * `A` is overwritten. False when the factorisation fails.
 */
function choleskySolve(A: Float64Array, p: number, b: Float64Array): boolean {
  let largest = 0;
  for (let a = 0; a < p; a++) largest = Math.max(largest, A[a * p + a]);
  const mu = Math.max(largest * 1e-10, 1e-300);
  // L (lower, row-major) overwrites A's lower triangle; A's upper triangle holds the matrix.
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[j * p + i] + (i === j ? mu : 0); // upper triangle: A[j][i], j ≤ i
      for (let k = 0; k < j; k++) sum -= A[i * p + k] * A[j * p + k];
      if (i === j) {
        if (!(sum > 0)) return false;
        A[i * p + i] = Math.sqrt(sum);
      } else A[i * p + j] = sum / A[j * p + j];
    }
  }
  // The diagonal now holds L's; the strict lower triangle L's too. Forward, then backward substitution.
  for (let i = 0; i < p; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= A[i * p + k] * b[k];
    b[i] = sum / A[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let sum = b[i];
    for (let k = i + 1; k < p; k++) sum -= A[k * p + i] * b[k];
    b[i] = sum / A[i * p + i];
  }
  return true;
}

function normInf(x: Float64Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/** Scales at which columns differ by more than this factor are solved rescaled. */
const RESCALE_RATIO = 3;

/** Each column's root mean square (1 for an all-zero one) when they differ by more than RESCALE_RATIO, else null. */
function columnScales(X: Matrix): Float64Array | null {
  const d = X.cols;
  const scales = new Float64Array(d);
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < d; j++) scales[j] += X.data[i * d + j] ** 2;
  let smallest = Infinity;
  let largest = 0;
  for (let j = 0; j < d; j++) {
    scales[j] = scales[j] > 0 ? Math.sqrt(scales[j] / X.rows) : 1;
    smallest = Math.min(smallest, scales[j]);
    largest = Math.max(largest, scales[j]);
  }
  return largest > RESCALE_RATIO * smallest ? scales : null;
}

/** X with column j divided by scales[j] (a copy). */
function rescaled(X: Matrix, scales: Float64Array): Matrix {
  const d = X.cols;
  const data = new Float64Array(X.data.length);
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < d; j++) data[i * d + j] = X.data[i * d + j] / scales[j];
  return { rows: X.rows, cols: d, data };
}

/** `penalty[j]`: the L2 weight of feature j's coefficients (1/C, over its scale² when rescaled). */
function makeObjective(X: Matrix, y: Int32Array, outputs: number, penaltyOf: Float64Array): Objective {
  const n = X.rows;
  const d = X.cols;
  const stride = d + 1;
  const z = new Float64Array(outputs);
  const probability = new Float64Array(outputs);
  /** The row with its intercept input: [x, 1]. */
  /** For the Hessian, made at its first call: [X, 1] by column, a weight per row and class pair, a scratch column. */
  let columns: Float64Array[] | null = null;
  let pairWeights: Float64Array[] | null = null;
  let weighted: Float64Array | null = null;
  const objective: Objective = {
    lastMeanLogLoss: 0,
    evaluate(theta, grad) {
      grad.fill(0);
      let logLoss = 0;
      for (let i = 0; i < n; i++) {
        const row = i * d;
        for (let k = 0; k < outputs; k++) {
          const w = k * stride;
          let s = theta[w + d];
          for (let j = 0; j < d; j++) s += theta[w + j] * X.data[row + j];
          z[k] = s;
        }
        const label = y[i];
        if (outputs === 1) {
          // Binary: loss = softplus(z) − y·z; residual p − y.
          const t = label === 1 ? 1 : 0;
          const zi = z[0];
          logLoss += softplus(zi) - t * zi;
          z[0] = sigmoid(zi) - t;
        } else {
          let max = -Infinity;
          for (let k = 0; k < outputs; k++) if (z[k] > max) max = z[k];
          let sum = 0;
          for (let k = 0; k < outputs; k++) sum += Math.exp(z[k] - max);
          const logSum = Math.log(sum) + max;
          logLoss += logSum - z[label];
          for (let k = 0; k < outputs; k++) z[k] = Math.exp(z[k] - logSum) - (k === label ? 1 : 0);
        }
        for (let k = 0; k < outputs; k++) {
          const r = z[k];
          if (r === 0) continue;
          const w = k * stride;
          for (let j = 0; j < d; j++) grad[w + j] += r * X.data[row + j];
          grad[w + d] += r;
        }
      }
      let penalty = 0;
      for (let k = 0; k < outputs; k++) {
        const w = k * stride;
        for (let j = 0; j < d; j++) {
          penalty += penaltyOf[j] * theta[w + j] * theta[w + j];
          grad[w + j] += penaltyOf[j] * theta[w + j];
        }
      }
      const scale = n > 0 ? 1 / n : 1;
      for (let p = 0; p < grad.length; p++) grad[p] *= scale;
      objective.lastMeanLogLoss = logLoss * scale;
      return (logLoss + 0.5 * penalty) * scale;
    },
    hessian(theta, H) {
      // Σ_i (diag(p) − p·pᵀ) ⊗ x̃x̃ᵀ with x̃ = [x, 1], upper triangle, then /n and the penalty's diagonal. Block
      // (k, l) is X̃ᵀ·diag(w_kl)·X̃, symmetric in its own indices too: each entry is one dot product over the rows of
      // two contiguous columns (about 3× faster than adding each row's outer product into H).
      const P = outputs * stride;
      const data = X.data;
      columns ??= Array.from({ length: stride }, (_, a) =>
        a === d ? new Float64Array(n).fill(1) : Float64Array.from({ length: n }, (_, i) => data[i * d + a]),
      );
      const pairs = (outputs * (outputs + 1)) / 2;
      pairWeights ??= Array.from({ length: pairs }, () => new Float64Array(n));
      weighted ??= new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const row = i * d;
        for (let k = 0; k < outputs; k++) {
          const w = k * stride;
          let s = theta[w + d];
          for (let j = 0; j < d; j++) s += theta[w + j] * data[row + j];
          z[k] = s;
        }
        if (outputs === 1) {
          const p = sigmoid(z[0]);
          pairWeights[0][i] = p * (1 - p);
          continue;
        }
        let max = -Infinity;
        for (let k = 0; k < outputs; k++) if (z[k] > max) max = z[k];
        let sum = 0;
        for (let k = 0; k < outputs; k++) sum += probability[k] = Math.exp(z[k] - max);
        for (let k = 0; k < outputs; k++) probability[k] /= sum;
        let pair = 0;
        for (let k = 0; k < outputs; k++)
          for (let l = k; l < outputs; l++)
            pairWeights[pair++][i] = probability[k] * ((k === l ? 1 : 0) - probability[l]);
      }
      const scale = n > 0 ? 1 / n : 1;
      let pair = 0;
      for (let k = 0; k < outputs; k++) {
        for (let l = k; l < outputs; l++) {
          const weights = pairWeights[pair++];
          for (let a = 0; a < stride; a++) {
            const column = columns[a];
            for (let i = 0; i < n; i++) weighted[i] = weights[i] * column[i];
            for (let b = a; b < stride; b++) {
              const other = columns[b];
              let s = 0;
              for (let i = 0; i < n; i++) s += weighted[i] * other[i];
              s *= scale;
              H[(k * stride + a) * P + l * stride + b] = s;
              if (k !== l) H[(k * stride + b) * P + l * stride + a] = s;
            }
          }
        }
      }
      for (let k = 0; k < outputs; k++)
        for (let j = 0; j < d; j++) H[(k * stride + j) * P + k * stride + j] += penaltyOf[j] * scale;
    },
  };
  return objective;
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}
