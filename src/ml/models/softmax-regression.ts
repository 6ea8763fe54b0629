/**
 * Penalised multinomial (≥ 3 classes) or binary logistic regression on Float64Array, the core of
 * `logistic_regression` and of `pca` (logistic regression on the components). Objective as scikit-learn's
 * `LogisticRegression(penalty='l2', C, solver='lbfgs')`: sum_i logloss_i + 1/(2C)·||W||² (intercepts unpenalised),
 * minimised in its mean-scaled form (divided by n, same optimum) by L-BFGS until max|gradient| ≤ 1e-6.
 */
import type { Matrix } from '../types.js';
import { minimizeLbfgs, type DifferentiableObjective } from '../optim/lbfgs.js';
import { sharesOfMagnitude } from '../importance.js';

export interface SoftmaxRegressionOptions {
  /** Inverse regularisation strength (scikit-learn's C). */
  C: number;
  maxIter: number;
  /** Stop when the largest |gradient| of the mean-scaled objective is at most this. Default 1e-6. */
  tol?: number;
  signal?: AbortSignal;
  /** Called after every L-BFGS iteration; `model` is a live view of the current parameters (copy to keep). */
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
  const objective = makeObjective(X, y, outputs, 1 / C);
  const unpack = (theta: Float64Array): void => {
    for (let k = 0; k < outputs; k++) {
      model.coef.set(theta.subarray(k * (d + 1), k * (d + 1) + d), k * d);
      model.intercept[k] = theta[k * (d + 1) + d];
    }
  };
  const { onIteration } = options;
  const result = await minimizeLbfgs(objective, new Float64Array(outputs * (d + 1)), {
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

/** The mean-scaled penalised log loss; `lastMeanLogLoss` is the unpenalised mean log loss of the last evaluation. */
interface Objective extends DifferentiableObjective {
  lastMeanLogLoss: number;
}

function makeObjective(X: Matrix, y: Int32Array, outputs: number, invC: number): Objective {
  const n = X.rows;
  const d = X.cols;
  const stride = d + 1;
  const z = new Float64Array(outputs);
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
          penalty += theta[w + j] * theta[w + j];
          grad[w + j] += invC * theta[w + j];
        }
      }
      const scale = n > 0 ? 1 / n : 1;
      for (let p = 0; p < grad.length; p++) grad[p] *= scale;
      objective.lastMeanLogLoss = logLoss * scale;
      return (logLoss + 0.5 * invC * penalty) * scale;
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
