/**
 * Multinomial logistic regression with an L2 penalty, solved with L-BFGS in plain TypeScript on Float64Array.
 *
 * Objective as scikit-learn's `LogisticRegression(penalty='l2', C, solver='lbfgs')`:
 *   sum_i logloss_i + 1/(2C)·||W||²   (intercepts unpenalised),
 * minimised here in its mean-scaled form (divided by n, same optimum) until max|gradient| ≤ 1e-6.
 * Two classes use the binary (one weight vector) formulation as scikit-learn does; ≥ 3 classes the softmax one.
 * Everything is deterministic: no randomness, a fixed order of floating-point operations.
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
  const result = await minimizeLbfgs(objective, new Float64Array(outputs * (d + 1)), {
    maxIter: Math.max(0, Math.floor(options.maxIter)),
    gradientTol: tol,
    signal: options.signal,
    onIteration: options.onIteration
      ? (iteration, theta, _f, gradientNorm) => {
          unpack(theta);
          options.onIteration!(iteration, objective.lastMeanLogLoss, gradientNorm, model);
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
  return normaliseMagnitudes(importance);
}

/**
 * |values| scaled to sum 1 — a model's own importance, which the TrainedClassifier contract needs to sum to 1 (all
 * zero → uniform). Not explain/permutation.ts's normaliseImportance, which drops negative drops and keeps all-zero.
 */
export function normaliseMagnitudes(values: Float64Array): Float64Array {
  let total = 0;
  for (const v of values) total += Number.isFinite(v) ? Math.abs(v) : 0;
  const out = new Float64Array(values.length);
  for (let j = 0; j < values.length; j++)
    out[j] = total > 0 ? (Number.isFinite(values[j]) ? Math.abs(values[j]) : 0) / total : 1 / values.length;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Objective

interface Objective {
  /** Writes the gradient into `grad`, returns the mean-scaled objective. */
  evaluate(theta: Float64Array, grad: Float64Array): number;
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

// ---------------------------------------------------------------------------------------------------------------
// L-BFGS with a strong-Wolfe line search (Nocedal & Wright, algorithms 7.4, 3.5 and 3.6)

interface LbfgsOptions {
  maxIter: number;
  gradientTol: number;
  memory?: number;
  signal?: AbortSignal;
  onIteration?: (iteration: number, x: Float64Array, f: number, gradientNorm: number) => void;
}

interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradientNorm: number;
  iterations: number;
  converged: boolean;
}

async function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions): Promise<LbfgsResult> {
  const m = options.memory ?? 10;
  const dim = x0.length;
  let x: Float64Array = Float64Array.from(x0);
  let g: Float64Array = new Float64Array(dim);
  let f = objective.evaluate(x, g);
  const sHistory: Float64Array[] = [];
  const yHistory: Float64Array[] = [];
  const rhoHistory: number[] = [];
  const alpha = new Float64Array(m);
  const direction = new Float64Array(dim);
  let iterations = 0;
  let converged = normInf(g) <= options.gradientTol;
  let lastYield = performance.now();

  while (!converged && iterations < options.maxIter) {
    if (performance.now() - lastYield > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    throwIfAborted(options.signal);
    // Two-loop recursion: direction = −H·g.
    direction.set(g);
    for (let h = sHistory.length - 1; h >= 0; h--) {
      alpha[h] = rhoHistory[h] * dot(sHistory[h], direction);
      axpy(-alpha[h], yHistory[h], direction);
    }
    if (sHistory.length > 0) {
      const last = sHistory.length - 1;
      scale(direction, dot(sHistory[last], yHistory[last]) / dot(yHistory[last], yHistory[last]));
    }
    for (let h = 0; h < sHistory.length; h++) {
      const beta = rhoHistory[h] * dot(yHistory[h], direction);
      axpy(alpha[h] - beta, sHistory[h], direction);
    }
    scale(direction, -1);
    let slope = dot(g, direction);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sHistory.length = yHistory.length = rhoHistory.length = 0;
      direction.set(g);
      scale(direction, -1);
      slope = dot(g, direction);
    }
    const initialStep = sHistory.length === 0 ? Math.min(1, 1 / Math.max(norm2(g), 1e-12)) : 1;
    const search = wolfeLineSearch(objective, x, f, g, direction, slope, initialStep);
    iterations++;
    if (!search) {
      if (sHistory.length === 0) break; // no progress possible even along −g: at numerical precision
      sHistory.length = yHistory.length = rhoHistory.length = 0;
      continue;
    }
    const s = new Float64Array(dim);
    const yDiff = new Float64Array(dim);
    for (let p = 0; p < dim; p++) {
      s[p] = search.x[p] - x[p];
      yDiff[p] = search.g[p] - g[p];
    }
    const sy = dot(s, yDiff);
    const previousF = f;
    x = search.x;
    g = search.g;
    f = search.f;
    if (sy > 1e-12 * Math.max(1, dot(yDiff, yDiff))) {
      if (sHistory.length === m) {
        sHistory.shift();
        yHistory.shift();
        rhoHistory.shift();
      }
      sHistory.push(s);
      yHistory.push(yDiff);
      rhoHistory.push(1 / sy);
    }
    const gradientNorm = normInf(g);
    options.onIteration?.(iterations, x, f, gradientNorm);
    converged = gradientNorm <= options.gradientTol;
    // Safety stop when the objective no longer moves at double precision.
    if (!converged && previousF - f <= 1e-16 * Math.max(1, Math.abs(f)) && sHistory.length === 0) break;
  }
  return { x, f, gradientNorm: normInf(g), iterations, converged };
}

interface LineSearchPoint {
  step: number;
  x: Float64Array;
  f: number;
  g: Float64Array;
  slope: number;
}

function wolfeLineSearch(
  objective: Objective,
  x: Float64Array,
  f0: number,
  g0: Float64Array,
  direction: Float64Array,
  slope0: number,
  initialStep: number,
): LineSearchPoint | null {
  const c1 = 1e-4;
  const c2 = 0.9;
  const evaluate = (step: number): LineSearchPoint => {
    const xNew = new Float64Array(x.length);
    for (let p = 0; p < x.length; p++) xNew[p] = x[p] + step * direction[p];
    const gNew = new Float64Array(x.length);
    const f = objective.evaluate(xNew, gNew);
    return { step, x: xNew, f, g: gNew, slope: dot(gNew, direction) };
  };
  const zoom = (lo: LineSearchPoint, hi: LineSearchPoint): LineSearchPoint | null => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const step = interpolateStep(lo, hi);
      const trial = evaluate(step);
      if (trial.f > f0 + c1 * step * slope0 || trial.f >= lo.f) {
        hi = trial;
      } else {
        if (Math.abs(trial.slope) <= -c2 * slope0) return trial;
        if (trial.slope * (hi.step - lo.step) >= 0) hi = lo;
        lo = trial;
      }
      if (Math.abs(hi.step - lo.step) < 1e-16 * Math.max(1, lo.step)) break;
    }
    // Interval collapsed: accept lo if it decreased the objective at all.
    return lo.step > 0 && lo.f < f0 ? lo : null;
  };
  let previous: LineSearchPoint = { step: 0, x, f: f0, g: g0, slope: slope0 };
  let step = initialStep;
  for (let attempt = 0; attempt < 30; attempt++) {
    const trial = evaluate(step);
    if (!Number.isFinite(trial.f) || trial.f > f0 + c1 * step * slope0 || (attempt > 0 && trial.f >= previous.f)) {
      return zoom(previous, trial);
    }
    if (Math.abs(trial.slope) <= -c2 * slope0) return trial;
    if (trial.slope >= 0) return zoom(trial, previous);
    previous = trial;
    step *= 2;
  }
  return previous.step > 0 ? previous : null;
}

/** Cubic interpolation between two bracketing points, safeguarded to the middle 80 % of the interval. */
function interpolateStep(a: LineSearchPoint, b: LineSearchPoint): number {
  const lo = Math.min(a.step, b.step);
  const hi = Math.max(a.step, b.step);
  const width = hi - lo;
  let step = Number.NaN;
  if (Number.isFinite(b.f)) {
    const d1 = a.slope + b.slope - (3 * (a.f - b.f)) / (a.step - b.step);
    const discriminant = d1 * d1 - a.slope * b.slope;
    if (discriminant >= 0) {
      const d2 = Math.sign(b.step - a.step) * Math.sqrt(discriminant);
      step = b.step - (b.step - a.step) * ((b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2));
    }
  }
  if (!Number.isFinite(step) || step < lo + 0.1 * width || step > hi - 0.1 * width) step = lo + 0.5 * width;
  return step;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let p = 0; p < a.length; p++) s += a[p] * b[p];
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let p = 0; p < x.length; p++) y[p] += alpha * x[p];
}

function scale(x: Float64Array, alpha: number): void {
  for (let p = 0; p < x.length; p++) x[p] *= alpha;
}

function norm2(x: Float64Array): number {
  return Math.sqrt(dot(x, x));
}

function normInf(x: Float64Array): number {
  let m = 0;
  for (let p = 0; p < x.length; p++) m = Math.max(m, Math.abs(x[p]));
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters, validation metrics and the classifier

/** Reads a positive finite number param, else the default. */
export function numberParam(params: Hyperparameters, key: string, fallback: number): number {
  const value = params[key];
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : fallback;
}

/** Mean log loss (probabilities clipped at 1e-15, as scikit-learn) and accuracy of `proba` against `y`. */
export function lossAndAccuracy(
  proba: Float64Array,
  y: Int32Array,
  numClasses: number,
): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    const row = i * numClasses;
    loss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, proba[row + y[i]])));
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (proba[row + k] > proba[row + best]) best = k;
    if (best === y[i]) correct++;
  }
  return y.length > 0 ? { loss: loss / y.length, accuracy: correct / y.length } : { loss: 0, accuracy: 0 };
}

const FORMAT_VERSION = 1;

interface LogisticJson extends SerializedModel {
  modelType: 'logistic_regression';
  numClasses: number;
  numFeatures: number;
  coef: number[];
  intercept: number[];
  iterations: number;
  converged: boolean;
  history: HistoryPoint[];
}

class LogisticRegressionClassifier implements TrainedClassifier {
  readonly modelType = 'logistic_regression' as const;
  readonly numClasses: number;
  readonly numFeatures: number;

  constructor(
    private readonly model: SoftmaxRegressionModel,
    private readonly steps: HistoryPoint[],
    readonly iterations: number,
    readonly converged: boolean,
  ) {
    this.numClasses = model.numClasses;
    this.numFeatures = model.numFeatures;
  }

  predictProba(X: Matrix): Float64Array {
    return softmaxRegressionProba(this.model, X);
  }

  featureImportance(): Float64Array {
    return absoluteWeightImportance(this.model.coef, this.model.outputs, this.numFeatures);
  }

  history(): HistoryPoint[] {
    return this.steps.map((point) => ({ ...point }));
  }

  toJSON(): LogisticJson {
    return {
      modelType: 'logistic_regression',
      formatVersion: FORMAT_VERSION,
      numClasses: this.numClasses,
      numFeatures: this.numFeatures,
      coef: Array.from(this.model.coef),
      intercept: Array.from(this.model.intercept),
      iterations: this.iterations,
      converged: this.converged,
      history: this.history(),
    };
  }
}

/** Fits the core with history/progress/validation wiring shared by logistic regression and PCA. */
export async function fitLogisticWithHistory(
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  params: Hyperparameters,
  options: FitOptions,
  transformValidation: (X: Matrix) => Matrix = (m) => m,
): Promise<{ fit: SoftmaxRegressionFit; history: HistoryPoint[] }> {
  const C = numberParam(params, 'C', 1);
  const maxIter = Math.max(1, Math.round(numberParam(params, 'max_iter', 1000)));
  const validation = options.validation
    ? { X: transformValidation(options.validation.X), y: options.validation.y }
    : undefined;
  const history: HistoryPoint[] = [];
  const fit = await fitSoftmaxRegression(X, y, numClasses, {
    C: C > 0 ? C : 1,
    maxIter,
    signal: options.signal,
    onIteration(iteration, meanLogLoss, _gradientNorm, model) {
      const point: HistoryPoint = { step: iteration, loss: meanLogLoss };
      if (validation) {
        const metrics = lossAndAccuracy(softmaxRegressionProba(model, validation.X), validation.y, numClasses);
        point.valLoss = metrics.loss;
        point.valAccuracy = metrics.accuracy;
      }
      history.push(point);
      options.onStep?.({ totalSteps: maxIter, ...point });
    },
  });
  if (history.length === 0) history.push({ step: 0, loss: fit.meanLogLoss }); // converged at the start (e.g. one class)
  return { fit, history };
}

export const logisticRegressionTrainer: ModelTrainer = {
  modelType: 'logistic_regression',

  async fit(X, y, numClasses, params, options) {
    throwIfAborted(options.signal);
    const { fit, history } = await fitLogisticWithHistory(X, y, numClasses, params, options);
    return new LogisticRegressionClassifier(fit, history, fit.iterations, fit.converged);
  },

  async load(json) {
    const data = json as LogisticJson;
    if (data.modelType !== 'logistic_regression' || data.formatVersion !== FORMAT_VERSION) {
      throw new Error(`not a logistic_regression model (format ${String(data.formatVersion)})`);
    }
    const outputs = data.numClasses === 2 ? 1 : Math.max(1, data.numClasses);
    const model: SoftmaxRegressionModel = {
      numClasses: data.numClasses,
      numFeatures: data.numFeatures,
      outputs,
      coef: Float64Array.from(data.coef),
      intercept: Float64Array.from(data.intercept),
    };
    if (model.coef.length !== outputs * data.numFeatures || model.intercept.length !== outputs)
      throw new Error('corrupt logistic_regression model');
    return new LogisticRegressionClassifier(model, data.history ?? [], data.iterations ?? 0, data.converged ?? true);
  },
};
