/**
 * Penalised multinomial (≥ 3 classes) or binary logistic regression on Float64Array, the core of
 * `logistic_regression` and of `pca` (logistic regression on the components). Objective as scikit-learn's
 * `LogisticRegression(penalty='l2', C)`: sum_i logloss_i + 1/(2C)·||W||² (intercepts unpenalised), minimised in its
 * mean-scaled form (divided by n, same optimum).
 *
 * Solver: L-BFGS to max|gradient| 1e-3 (POLISH_FROM), then Newton's method with the exact Hessian (scikit-learn's
 * `newton-cholesky`) while the parameters are few (≤ NEWTON_MAX_PARAMETERS), else L-BFGS alone. Newton converges
 * quadratically: 6–10 iterations reach the optimum to ~1e-10 where L-BFGS took ~260 to reach max|gradient| ≤ 1e-6 on
 * Kepler, and an ill-conditioned problem (heavy-tailed columns) leaves L-BFGS's coefficients 1e-2 from the optimum
 * there. Once a full Newton step is taken, the Hessian's factor is reused for chord steps (one gradient each, ~1/8
 * of a Hessian on Kepler) while they shrink the gradient 4-fold: on Kepler 4 Hessians instead of 6, the same optimum.
 * Above HESSIAN_SAMPLE_ROWS rows the Hessian comes from a row sample (its cost no longer grows with n), and the chord
 * steps with the full gradient still reach the optimum, a little more slowly.
 */
import type { Matrix } from '../types.js';
import { minimizeLbfgs, type DifferentiableObjective, type LbfgsOptions, type LbfgsResult } from '../optim/lbfgs.js';
import { takeLabels, throwIfAborted } from '../types.js';
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
  /** Newton's Hessians on a sample of this many rows when there are more. Default HESSIAN_SAMPLE_ROWS. */
  hessianSampleRows?: number;
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
  /**
   * Passes over the data: loss-and-gradient evaluations (~2·n·p multiply-adds and an exponential per row and class)
   * and Hessians (n·p²/2 multiply-adds, or m·p²/2 on a sample of m rows).
   */
  evaluations: number;
  hessians: number;
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
  const columns = byColumn(X);
  const scales = columnScales(columns, X.rows);
  if (scales) for (let j = 0; j < d; j++) divide(columns[j], scales[j]);
  const penalty = new Float64Array(d);
  for (let j = 0; j < d; j++) penalty[j] = 1 / C / (scales ? scales[j] * scales[j] : 1);
  const objective = makeObjective(columns, y, outputs, penalty);
  const m = Math.max(1, Math.floor(Math.min(options.hessianSampleRows ?? HESSIAN_SAMPLE_ROWS, X.rows)));
  if (m < X.rows) {
    // The sample's objective with the penalty scaled by m/n: its Hessian, (Σ_sample w·x̃x̃ᵀ)/m + penalty/n, estimates
    // the full one, (Σ_all w·x̃x̃ᵀ)/n + penalty/n.
    // Made at the first sampled Hessian (L-BFGS alone never asks for one).
    let sample: Objective | null = null;
    objective.sampledHessian = (theta, H) => {
      if (!sample) {
        const rows = new Int32Array(m);
        for (let r = 0; r < m; r++) rows[r] = Math.floor((r * X.rows) / m);
        const sampledPenalty = penalty.map((v) => (v * m) / X.rows);
        sample = makeObjective(
          columns.map((column) => takeValues(column, rows)),
          takeLabels(y, rows),
          outputs,
          sampledPenalty,
        );
      }
      objective.hessians++;
      sample.hessian(theta, H);
    };
  }
  const parameters = outputs * (d + 1);
  const unpack = (theta: Float64Array): void => {
    for (let k = 0; k < outputs; k++) {
      for (let j = 0; j < d; j++) model.coef[k * d + j] = theta[k * (d + 1) + j] / (scales ? scales[j] : 1);
      model.intercept[k] = theta[k * (d + 1) + d];
    }
  };
  const { onIteration } = options;
  const solver = options.solver ?? (parameters <= NEWTON_MAX_PARAMETERS ? 'lbfgs-newton' : 'lbfgs');
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
  return {
    ...model,
    iterations: result.iterations,
    converged: result.converged,
    meanLogLoss: objective.meanLogLoss(result.x, result.f),
    gradientNorm: result.gradientNorm,
    evaluations: objective.evaluations,
    hessians: objective.hessians,
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
/** Rows per block of an evaluation's and the Hessian's passes (31 Kepler columns × 1,024 rows: 250 kB, within L2). */
const BLOCK_ROWS = 1024;
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
 * Rows beyond which Newton's Hessians come from an evenly spread sample of this many rows: its cost, m·p²/2, no
 * longer grows with n, and its factor, used for chord steps with the full gradient, still shrinks the gradient
 * 10–20-fold a step. While a sampled factor fails to (an unrepresentative sample), the Hessians use every row.
 * Counted on bench:linear's tables (20 features, 2 classes; passes over the data; by arithmetic a Hessian of n rows
 * costs ≈ 3.7 passes):
 * at 35,000 rows the exact Hessian took 11 passes + 1 Hessian, samples of 16,384 / 8,192 / 4,096 rows 13 / 14 / 16
 * passes; at 140,000 rows 11 + 1 exact, 14 / 15 / 16 with those samples: 14.4 pass-equivalents with 16,384 rows
 * against 14.7 exact, and for Kepler's 3 classes × 31 columns (p = 93) a Hessian of n rows costs ~8 passes
 * (measured; 23 before its diagonal blocks came from the others).
 */
export const HESSIAN_SAMPLE_ROWS = 16_384;
/** Newton steps (Hessians) after L-BFGS at most (from POLISH_FROM LR on Kepler needs 6). */
const POLISH_MAX_STEPS = 8;
/**
 * A chord step (the last Hessian's factor reused, one gradient) is kept when it shrinks max|gradient| at least this
 * much; Newton's own steps shrink it quadratically near the optimum, where the reused factor is nearly exact.
 */
const CHORD_CONTRACTION = 0.25;

/** The mean-scaled penalised log loss; `lastMeanLogLoss` is the unpenalised mean log loss of the last evaluation. */
interface Objective extends DifferentiableObjective {
  lastMeanLogLoss: number;
  /** The unpenalised mean log loss at `theta` from the objective's value `f` there (no pass over the data). */
  meanLogLoss(theta: Float64Array, f: number): number;
  evaluations: number;
  hessians: number;
  /** The Hessian at `theta` (parameters², row-major) into `hessian`. */
  hessian(theta: Float64Array, hessian: Float64Array): void;
  /** The same on an evenly spread sample of rows (`hessianSampleRows`) when there are more; else null. */
  sampledHessian: ((theta: Float64Array, hessian: Float64Array) => void) | null;
  /**
   * Removes from a step its part along the directions that change nothing (multinomial: one constant added to every
   * intercept). The damped solve sends it there as (rounding noise of the gradient) / μ, ~1e-6 near the optimum,
   * which would keep Newton's step above NEWTON_STEP_TOL long after the coefficients stopped moving.
   */
  removeFlat(step: Float64Array): void;
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
  const polished = await minimizeNewton(
    objective,
    rough.x,
    {
      ...options,
      maxIter: Math.max(0, options.maxIter - rough.iterations),
      onIteration: options.onIteration
        ? (iteration, x, f, gradientNorm) => options.onIteration?.(rough.iterations + iteration, x, f, gradientNorm)
        : undefined,
    },
    // From there Newton needs 3–6 Hessians; more means a plateau the data cannot resolve (each costs n·p²/2).
    POLISH_MAX_STEPS,
    rough,
  );
  return { ...polished, iterations: rough.iterations + polished.iterations };
}

/** `atStart`: the value and gradient at x0 when known already (where L-BFGS stopped), not evaluated again. */
async function minimizeNewton(
  objective: Objective,
  x0: Float64Array,
  options: LbfgsOptions,
  maxHessians = options.maxIter,
  atStart?: { f: number; gradient: Float64Array },
): Promise<LbfgsResult> {
  const p = x0.length;
  let x = Float64Array.from(x0);
  let g = atStart ? Float64Array.from(atStart.gradient) : new Float64Array(p);
  let f = atStart ? atStart.f : objective.evaluate(x, g);
  /** The Cholesky factor of the (damped) Hessian at some earlier iterate, once `factored`. */
  const factor = new Float64Array(p * p);
  let factored = false;
  /** True until the factor has been used for one step: that step is an exact Newton step. */
  let fresh = false;
  const direction = new Float64Array(p);
  let trial = new Float64Array(p);
  let trialGradient = new Float64Array(p);
  let iterations = 0;
  let hessians = 0;
  let converged = false;
  /** Hessians from the row sample while its factor keeps the chord steps contracting; all rows after one fails. */
  let sampled = objective.sampledHessian !== null;
  let factorSampled = false;
  let lastYield = performance.now();
  while (iterations < options.maxIter) {
    if (performance.now() - lastYield > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    throwIfAborted(options.signal);
    if (!factored) {
      if (hessians === maxHessians) break;
      if (sampled && objective.sampledHessian) objective.sampledHessian(x, factor);
      else objective.hessian(x, factor);
      factorSampled = sampled;
      hessians++;
      if (!choleskyFactor(factor, p)) break; // not positive definite even damped: keep what we have
      factored = fresh = true;
    }
    for (let a = 0; a < p; a++) direction[a] = -g[a];
    choleskySubstitute(factor, p, direction);
    objective.removeFlat(direction);
    if (normInf(direction) <= NEWTON_STEP_TOL) {
      converged = true;
      break;
    }
    if (!fresh) {
      // A chord step (the Hessian of an earlier iterate, one gradient instead of a Hessian): kept only when it shrinks
      // the gradient at least CHORD_CONTRACTION-fold, else the Hessian is rebuilt here and the step taken afresh.
      for (let a = 0; a < p; a++) trial[a] = x[a] + direction[a];
      const value = objective.evaluate(trial, trialGradient);
      if (!(Number.isFinite(value) && normInf(trialGradient) <= CHORD_CONTRACTION * normInf(g))) {
        // Below the floor that is the double-precision plateau: a new Hessian would not move further.
        if (normInf(g) <= NEWTON_GRADIENT_FLOOR) {
          converged = true;
          break;
        }
        factored = false;
        if (factorSampled) sampled = false;
        continue;
      }
      [x, trial] = [trial, x];
      [g, trialGradient] = [trialGradient, g];
      f = value;
    } else {
      fresh = false;
      let slope = 0;
      for (let a = 0; a < p; a++) slope += g[a] * direction[a];
      let step = 1;
      let accepted = false;
      for (let attempt = 0; attempt < 60; attempt++) {
        for (let a = 0; a < p; a++) trial[a] = x[a] + step * direction[a];
        const value = objective.evaluate(trial, trialGradient);
        // A strict decrease too: at the optimum's double-precision plateau nothing is accepted, and Newton stops.
        if (value <= f + 1e-4 * step * slope && value < f) {
          [x, trial] = [trial, x];
          [g, trialGradient] = [trialGradient, g];
          f = value;
          accepted = true;
          break;
        }
        step /= 2;
      }
      if (!accepted) {
        iterations++;
        // No decrease at double precision: the optimum as far as it can be seen.
        converged = normInf(g) <= options.gradientTol;
        break;
      }
      // A damped step: still far from the optimum, where an old Hessian is no guide, or a sample unlike the rows.
      if (step < 1) {
        factored = false;
        if (factorSampled) sampled = false;
      }
    }
    iterations++;
    const gradientNorm = normInf(g);
    options.onIteration?.(iterations, x, f, gradientNorm);
    // After a chord step, go on while they are cheap and still contracting (on an ill-conditioned problem a 1e-11
    // gradient can still be 1e-8 from the optimum): they stop at NEWTON_STEP_TOL or at the plateau.
    if (gradientNorm <= NEWTON_GRADIENT_FLOOR && !factored) {
      converged = true;
      break;
    }
  }
  // x, f and g agree at every exit (a rejected trial point leaves them alone): no evaluation again.
  const gradientNorm = normInf(g);
  return { x, f, gradient: g, gradientNorm, iterations, converged: converged || gradientNorm <= options.gradientTol };
}

/**
 * Cholesky factor of A + μI in place (A symmetric positive semi-definite, upper triangle read; L overwrites the
 * lower triangle and diagonal), μ a 1e-10 share of A's largest diagonal entry. False when the factorisation fails.
 */
function choleskyFactor(A: Float64Array, p: number): boolean {
  let largest = 0;
  for (let a = 0; a < p; a++) largest = Math.max(largest, A[a * p + a]);
  const mu = Math.max(largest * 1e-10, 1e-300);
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
  return true;
}

/** Solves L·Lᵀ·x = b in place of `b`, L from choleskyFactor: forward, then backward substitution. */
function choleskySubstitute(L: Float64Array, p: number, b: Float64Array): void {
  for (let i = 0; i < p; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= L[i * p + k] * b[k];
    b[i] = sum / L[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let sum = b[i];
    for (let k = i + 1; k < p; k++) sum -= L[k * p + i] * b[k];
    b[i] = sum / L[i * p + i];
  }
}

function normInf(x: Float64Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/** Scales at which columns differ by more than this factor are solved rescaled. */
const RESCALE_RATIO = 3;

/**
 * Each feature column's root mean square (1 for an all-zero one) when they differ by more than RESCALE_RATIO, else
 * null. `columns`: [X, 1] by column (the last, all ones, is not a feature).
 */
function columnScales(columns: Float64Array[], n: number): Float64Array | null {
  const d = columns.length - 1;
  const scales = new Float64Array(d);
  for (let j = 0; j < d; j++) scales[j] = sumOfSquares(columns[j], n);
  let smallest = Infinity;
  let largest = 0;
  for (let j = 0; j < d; j++) {
    scales[j] = scales[j] > 0 ? Math.sqrt(scales[j] / n) : 1;
    smallest = Math.min(smallest, scales[j]);
    largest = Math.max(largest, scales[j]);
  }
  return largest > RESCALE_RATIO * smallest ? scales : null;
}

/**
 * `penalty[j]`: the L2 weight of feature j's coefficients (1/C, over its scale² when rescaled). The objective reads
 * [X / scales, 1] by column (`columns`, byColumn's one copy): every pass over the data (scores, gradient, Hessian) is
 * then a loop over contiguous rows, four columns at a time, about 1.5× faster than row by row on Kepler's 30 columns,
 * and with three classes each column is read once for the three (scores, gradient, Hessian ~1.6× faster again).
 */
function makeObjective(columns: Float64Array[], y: Int32Array, outputs: number, penaltyOf: Float64Array): Objective {
  const n = y.length;
  const stride = columns.length;
  const d = stride - 1;
  /** Per class: the scores of every row, then (in `evaluate`) their residuals p − [y = k]. */
  const scores = Array.from({ length: outputs }, () => new Float64Array(n));
  const probability = new Float64Array(outputs);
  /** Where each class's gradient starts in θ. */
  const classAt = Array.from({ length: outputs }, (_, k) => k * stride);
  /** For the Hessian, made at its first call: a weight per row and class pair, and that times one column. */
  let pairWeights: Float64Array[] | null = null;
  let weighted: Float64Array[] | null = null;
  /** `scores` = [X, 1]·θᵀ: three classes at a time (each column read once for the three), then one. */
  const score = (theta: Float64Array, start: number, end: number): void => {
    let k = 0;
    for (; k + 2 < outputs; k += 3) {
      const [z0, z1, z2] = [scores[k], scores[k + 1], scores[k + 2]];
      const [w0, w1, w2] = [classAt[k], classAt[k + 1], classAt[k + 2]];
      z0.fill(theta[w0 + d], start, end);
      z1.fill(theta[w1 + d], start, end);
      z2.fill(theta[w2 + d], start, end);
      let j = 0;
      for (; j + 3 < d; j += 4) addColumns4x3(z0, z1, z2, columns, j, theta, w0 + j, w1 + j, w2 + j, start, end);
      for (; j < d; j++) {
        addColumn(z0, columns[j], theta[w0 + j], start, end);
        addColumn(z1, columns[j], theta[w1 + j], start, end);
        addColumn(z2, columns[j], theta[w2 + j], start, end);
      }
    }
    for (; k < outputs; k++) {
      const zk = scores[k];
      const w = classAt[k];
      zk.fill(theta[w + d], start, end);
      let j = 0;
      for (; j + 3 < d; j += 4)
        addColumns4(zk, columns[j], columns[j + 1], columns[j + 2], columns[j + 3], theta, w + j, start, end);
      for (; j < d; j++) addColumn(zk, columns[j], theta[w + j], start, end);
    }
  };
  const objective: Objective = {
    lastMeanLogLoss: 0,
    evaluations: 0,
    hessians: 0,
    sampledHessian: null,
    removeFlat(step) {
      if (outputs === 1) return;
      let mean = 0;
      for (let k = 0; k < outputs; k++) mean += step[classAt[k] + d] / outputs;
      for (let k = 0; k < outputs; k++) step[classAt[k] + d] -= mean;
    },
    meanLogLoss(theta, f) {
      let penalty = 0;
      for (let k = 0; k < outputs; k++)
        for (let j = 0; j < d; j++) penalty += penaltyOf[j] * theta[k * stride + j] * theta[k * stride + j];
      return f - 0.5 * penalty * (n > 0 ? 1 / n : 1);
    },
    evaluate(theta, grad) {
      objective.evaluations++;
      // By blocks of BLOCK_ROWS rows: scores, then loss and residuals (one exp per class and row; the residuals
      // overwrite the scores), then the gradient residuals · [X, 1] while the block's columns are still in cache
      // (one read of the table per evaluation instead of two: at 35,000 rows × 21 columns, 6 MB, it no longer fits).
      let logLoss = 0;
      grad.fill(0);
      for (let start = 0; start < n; start += BLOCK_ROWS) {
        const end = Math.min(n, start + BLOCK_ROWS);
        score(theta, start, end);
        logLoss +=
          outputs === 1
            ? binaryLossResiduals(scores[0], y, start, end)
            : outputs === 3
              ? softmax3LossResiduals(scores[0], scores[1], scores[2], y, start, end)
              : softmaxLossResiduals(scores, y, probability, start, end);
        addCrossProducts(scores, classAt, columns, 0, start, end, grad);
      }
      // Plus the penalty's; all over n.
      const scale = n > 0 ? 1 / n : 1;
      let penalty = 0;
      for (let k = 0; k < outputs; k++) {
        const w = k * stride;
        grad[w + d] *= scale;
        for (let j = 0; j < d; j++) {
          penalty += penaltyOf[j] * theta[w + j] * theta[w + j];
          grad[w + j] = (grad[w + j] + penaltyOf[j] * theta[w + j]) * scale;
        }
      }
      objective.lastMeanLogLoss = logLoss * scale;
      return (logLoss + 0.5 * penalty) * scale;
    },
    hessian(theta, H) {
      // Σ_i (diag(p) − p·pᵀ) ⊗ x̃x̃ᵀ with x̃ = [x, 1], upper triangle, then /n and the penalty's diagonal. Block
      // (k, l) is X̃ᵀ·diag(w_kl)·X̃, symmetric in its own indices too: each entry is one dot product over the rows of
      // two contiguous columns (about 3× faster than adding each row's outer product into H). Multinomial: a row's
      // weights sum to 0 over l (p_k·Σ_l([k = l] − p_l) = 0), so only the blocks k < l are summed over the rows,
      // with weights p_k·p_l, and each diagonal block is the sum of its row's others: half the products for 3 classes.
      const P = outputs * stride;
      const blocks = outputs === 1 ? 1 : (outputs * (outputs - 1)) / 2;
      pairWeights ??= Array.from({ length: blocks }, () => new Float64Array(n));
      weighted ??= Array.from({ length: blocks }, () => new Float64Array(n));
      const blockAt = new Array<number>(blocks);
      objective.hessians++;
      score(theta, 0, n);
      if (outputs === 1) binaryWeights(scores[0], pairWeights[0]);
      else softmaxPairWeights(scores, pairWeights, probability);
      const scale = n > 0 ? 1 / n : 1;
      H.fill(0);
      // By blocks of BLOCK_ROWS rows (the block's columns stay in cache across the p²/2 dot products); per column
      // a, every pair's weights times it, then their dot products with the columns b ≥ a.
      for (let start = 0; start < n; start += BLOCK_ROWS) {
        const end = Math.min(n, start + BLOCK_ROWS);
        for (let a = 0; a < stride; a++) {
          let pair = 0;
          for (let k = 0; k < outputs; k++)
            for (let l = outputs === 1 ? k : k + 1; l < outputs; l++) {
              multiply(weighted[pair], pairWeights[pair], columns[a], start, end);
              blockAt[pair++] = (k * stride + a) * P + l * stride;
            }
          addCrossProducts(weighted, blockAt, columns, a, start, end, H);
        }
      }
      if (outputs > 1) {
        // Block (k, k) = Σ_{l ≠ k} X̃ᵀ·diag(p_k·p_l)·X̃ (upper triangles; block (l, k) of a pair is stored as (k, l));
        // then the blocks k < l change sign: their weights are −p_k·p_l.
        for (let k = 0; k < outputs; k++)
          for (let l = 0; l < outputs; l++) {
            if (l === k) continue;
            const from = Math.min(k, l) * stride * P + Math.max(k, l) * stride;
            const to = k * stride * P + k * stride;
            for (let a = 0; a < stride; a++) for (let b = a; b < stride; b++) H[to + a * P + b] += H[from + a * P + b];
          }
        for (let k = 0; k < outputs; k++)
          for (let l = k + 1; l < outputs; l++)
            for (let a = 0; a < stride; a++)
              for (let b = a; b < stride; b++) H[(k * stride + a) * P + l * stride + b] *= -1;
      }
      // Scaled, and block (l, k) of H as block (k, l) transposed (the solver reads the upper triangle only).
      for (let k = 0; k < outputs; k++)
        for (let l = k; l < outputs; l++)
          for (let a = 0; a < stride; a++)
            for (let b = a; b < stride; b++) {
              const s = (H[(k * stride + a) * P + l * stride + b] *= scale);
              if (k !== l) H[(k * stride + b) * P + l * stride + a] = s;
            }
      for (let k = 0; k < outputs; k++)
        for (let j = 0; j < d; j++) H[(k * stride + j) * P + k * stride + j] += penaltyOf[j] * scale;
    },
  };
  return objective;
}

// The passes over the rows, each its own small function: V8 compiles a hot loop of a small function in a few ms
// and with complete type feedback, where the loops inlined in one large closure cost ~20–80 ms of compilation per
// optimisation, several times over (deoptimised at each loop not yet run): most of a cold fit's CPU at 10,000 rows.

/** z[i] += θ[at]·c0[i] + θ[at+1]·c1[i] + θ[at+2]·c2[i] + θ[at+3]·c3[i] over start ≤ i < end. */
function addColumns4(
  z: Float64Array,
  c0: Float64Array,
  c1: Float64Array,
  c2: Float64Array,
  c3: Float64Array,
  theta: Float64Array,
  at: number,
  start: number,
  end: number,
): void {
  const w0 = theta[at];
  const w1 = theta[at + 1];
  const w2 = theta[at + 2];
  const w3 = theta[at + 3];
  for (let i = start; i < end; i++) z[i] += w0 * c0[i] + w1 * c1[i] + w2 * c2[i] + w3 * c3[i];
}

/** z_q[i] += Σ_{c < 4} θ[at_q + c]·columns[j + c][i] for the three classes q, over start ≤ i < end. */
function addColumns4x3(
  z0: Float64Array,
  z1: Float64Array,
  z2: Float64Array,
  columns: Float64Array[],
  j: number,
  theta: Float64Array,
  at0: number,
  at1: number,
  at2: number,
  start: number,
  end: number,
): void {
  const [c0, c1, c2, c3] = [columns[j], columns[j + 1], columns[j + 2], columns[j + 3]];
  const [a0, a1, a2, a3] = [theta[at0], theta[at0 + 1], theta[at0 + 2], theta[at0 + 3]];
  const [b0, b1, b2, b3] = [theta[at1], theta[at1 + 1], theta[at1 + 2], theta[at1 + 3]];
  const [e0, e1, e2, e3] = [theta[at2], theta[at2 + 1], theta[at2 + 2], theta[at2 + 3]];
  for (let i = start; i < end; i++) {
    const x0 = c0[i];
    const x1 = c1[i];
    const x2 = c2[i];
    const x3 = c3[i];
    z0[i] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
    z1[i] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
    z2[i] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3;
  }
}

function addColumn(z: Float64Array, c0: Float64Array, w0: number, start: number, end: number): void {
  for (let i = start; i < end; i++) z[i] += w0 * c0[i];
}

/**
 * out[at[v] + j] += Σ_{start ≤ i < end} vectors[v][i]·columns[j][i] for every vector v and from ≤ j < columns.length
 * (the gradient: residuals by class; the Hessian: class pairs' weights times one column): three vectors at a time
 * against two columns, each column read once for the three (~1.6× faster than one vector against four columns).
 */
function addCrossProducts(
  vectors: Float64Array[],
  at: readonly number[],
  columns: Float64Array[],
  from: number,
  start: number,
  end: number,
  out: Float64Array,
): void {
  const count = columns.length;
  let v = 0;
  for (; v + 2 < vectors.length; v += 3) {
    const [r0, r1, r2] = [vectors[v], vectors[v + 1], vectors[v + 2]];
    const [at0, at1, at2] = [at[v], at[v + 1], at[v + 2]];
    let j = from;
    for (; j + 1 < count; j += 2)
      dots2x3(r0, r1, r2, columns[j], columns[j + 1], start, end, out, at0 + j, at1 + j, at2 + j);
    for (; j < count; j++) {
      out[at0 + j] += dot(r0, columns[j], start, end);
      out[at1 + j] += dot(r1, columns[j], start, end);
      out[at2 + j] += dot(r2, columns[j], start, end);
    }
  }
  for (; v < vectors.length; v++) {
    const r = vectors[v];
    const to = at[v];
    let j = from;
    for (; j + 3 < count; j += 4)
      dots4(r, columns[j], columns[j + 1], columns[j + 2], columns[j + 3], start, end, out, to + j);
    for (; j < count; j++) out[to + j] += dot(r, columns[j], start, end);
  }
}

/** out[at_q + c] += Σ_{start ≤ i < end} r_q[i]·c_c[i] for the three vectors r_q and two columns c_c. */
function dots2x3(
  r0: Float64Array,
  r1: Float64Array,
  r2: Float64Array,
  c0: Float64Array,
  c1: Float64Array,
  start: number,
  end: number,
  out: Float64Array,
  at0: number,
  at1: number,
  at2: number,
): void {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  let s20 = 0;
  let s21 = 0;
  for (let i = start; i < end; i++) {
    const x0 = c0[i];
    const x1 = c1[i];
    const a = r0[i];
    const b = r1[i];
    const c = r2[i];
    s00 += a * x0;
    s01 += a * x1;
    s10 += b * x0;
    s11 += b * x1;
    s20 += c * x0;
    s21 += c * x1;
  }
  out[at0] += s00;
  out[at0 + 1] += s01;
  out[at1] += s10;
  out[at1 + 1] += s11;
  out[at2] += s20;
  out[at2 + 1] += s21;
}

/** out[at + q] += Σ_{start ≤ i < end} v[i]·c_q[i] for the four columns c_q. */
function dots4(
  v: Float64Array,
  c0: Float64Array,
  c1: Float64Array,
  c2: Float64Array,
  c3: Float64Array,
  start: number,
  end: number,
  out: Float64Array,
  at: number,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = start; i < end; i++) {
    const r = v[i];
    s0 += r * c0[i];
    s1 += r * c1[i];
    s2 += r * c2[i];
    s3 += r * c3[i];
  }
  out[at] += s0;
  out[at + 1] += s1;
  out[at + 2] += s2;
  out[at + 3] += s3;
}

function dot(v: Float64Array, c0: Float64Array, start: number, end: number): number {
  let s0 = 0;
  for (let i = start; i < end; i++) s0 += v[i] * c0[i];
  return s0;
}

/** out[i] = a[i]·b[i] over start ≤ i < end. */
function multiply(out: Float64Array, a: Float64Array, b: Float64Array, start: number, end: number): void {
  for (let i = start; i < end; i++) out[i] = a[i] * b[i];
}

/**
 * Binary: the summed log loss of scores `z` against labels y (class 1 or not), and the residuals sigmoid(s) − t in
 * place of the scores. loss = softplus(s) − t·s, both from e = exp(−|s|).
 */
function binaryLossResiduals(z: Float64Array, y: Int32Array, start: number, end: number): number {
  let logLoss = 0;
  // Σ log(1 + e) as the log of the product of the (1 + e) ∈ (1, 2] of LOG_PRODUCT_ROWS rows (≤ 2^512, no
  // overflow): one logarithm per block instead of one per row (Math.log1p costs about as much as the rest of the
  // row), with a relative rounding error of the block's sum ~1e-16, that of adding its terms one by one.
  let product = 1;
  for (let i = start; i < end; i++) {
    const s = z[i];
    const t = y[i] === 1 ? 1 : 0;
    const e = Math.exp(-Math.abs(s));
    const onePlus = 1 + e;
    logLoss += (s > 0 ? s : 0) - t * s;
    product *= onePlus;
    if ((i & (LOG_PRODUCT_ROWS - 1)) === LOG_PRODUCT_ROWS - 1) {
      logLoss += Math.log(product);
      product = 1;
    }
    z[i] = (s >= 0 ? 1 / onePlus : e / onePlus) - t;
  }
  return logLoss + Math.log(product);
}

/** Rows per product in binaryLossResiduals (a power of 2). */
const LOG_PRODUCT_ROWS = 512;

/** Multinomial: as binaryLossResiduals, the residuals p_k − [y = k] in place of every class's scores. */
function softmaxLossResiduals(
  scores: Float64Array[],
  y: Int32Array,
  probability: Float64Array,
  start: number,
  end: number,
): number {
  const outputs = scores.length;
  let logLoss = 0;
  for (let i = start; i < end; i++) {
    const label = y[i];
    let max = -Infinity;
    for (let k = 0; k < outputs; k++) max = Math.max(max, scores[k][i]);
    let sum = 0;
    for (let k = 0; k < outputs; k++) sum += probability[k] = Math.exp(scores[k][i] - max);
    logLoss += Math.log(sum) + max - scores[label][i];
    for (let k = 0; k < outputs; k++) scores[k][i] = probability[k] / sum - (k === label ? 1 : 0);
  }
  return logLoss;
}

/** softmaxLossResiduals for three classes (Kepler's): the same arithmetic, the classes' arrays and values unrolled. */
function softmax3LossResiduals(
  z0: Float64Array,
  z1: Float64Array,
  z2: Float64Array,
  y: Int32Array,
  start: number,
  end: number,
): number {
  let logLoss = 0;
  for (let i = start; i < end; i++) {
    const label = y[i];
    const s0 = z0[i];
    const s1 = z1[i];
    const s2 = z2[i];
    const max = Math.max(Math.max(s0, s1), s2);
    const e0 = Math.exp(s0 - max);
    const e1 = Math.exp(s1 - max);
    const e2 = Math.exp(s2 - max);
    const sum = e0 + e1 + e2;
    logLoss += Math.log(sum) + max - (label === 0 ? s0 : label === 1 ? s1 : s2);
    z0[i] = e0 / sum - (label === 0 ? 1 : 0);
    z1[i] = e1 / sum - (label === 1 ? 1 : 0);
    z2[i] = e2 / sum - (label === 2 ? 1 : 0);
  }
  return logLoss;
}

/** Binary Hessian weights p(1 − p) per row, from the scores. */
function binaryWeights(z: Float64Array, weights: Float64Array): void {
  for (let i = 0; i < z.length; i++) {
    const p = sigmoid(z[i]);
    weights[i] = p * (1 - p);
  }
}

/** Multinomial Hessian weights p_k·p_l per row and class pair k < l, from the scores. */
function softmaxPairWeights(scores: Float64Array[], pairWeights: Float64Array[], probability: Float64Array): void {
  const outputs = scores.length;
  const n = scores[0].length;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < outputs; k++) max = Math.max(max, scores[k][i]);
    let sum = 0;
    for (let k = 0; k < outputs; k++) sum += probability[k] = Math.exp(scores[k][i] - max);
    for (let k = 0; k < outputs; k++) probability[k] /= sum;
    let pair = 0;
    for (let k = 0; k < outputs; k++)
      for (let l = k + 1; l < outputs; l++) pairWeights[pair++][i] = probability[k] * probability[l];
  }
}

/** [X, 1] by column (a copy; the last column all ones). */
function byColumn(X: Matrix): Float64Array[] {
  const { rows: n, cols: d, data } = X;
  const columns = Array.from({ length: d + 1 }, () => new Float64Array(n));
  columns[d].fill(1);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) columns[j][i] = data[row + j];
  }
  return columns;
}

/** Σ v[i]² over the first n values (an indexed loop: for-of over a typed array is several times slower here). */
function sumOfSquares(v: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i] ** 2;
  return s;
}

function takeValues(v: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = v[rows[r]];
  return out;
}

function divide(v: Float64Array, by: number): void {
  for (let i = 0; i < v.length; i++) v[i] /= by;
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
