/**
 * L-BFGS with a strong-Wolfe line search (Nocedal & Wright, algorithms 7.4, 3.5 and 3.6), on Float64Array.
 * Used by logistic regression (and so by PCA + logistic regression). Checks `signal` every iteration and yields to
 * the event loop now and then, so a cancellation is seen.
 */
import { throwIfAborted } from '../types.js';

/** A smooth function to minimise. */
export interface DifferentiableObjective {
  /** Writes the gradient at `x` into `grad`, returns the value at `x`. */
  evaluate(x: Float64Array, grad: Float64Array): number;
}

export interface LbfgsOptions {
  maxIter: number;
  gradientTol: number;
  memory?: number;
  signal?: AbortSignal;
  onIteration?: (iteration: number, x: Float64Array, f: number, gradientNorm: number) => void;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  /** The gradient at `x`. */
  gradient: Float64Array;
  gradientNorm: number;
  iterations: number;
  converged: boolean;
}

export async function minimizeLbfgs(
  objective: DifferentiableObjective,
  x0: Float64Array,
  options: LbfgsOptions,
): Promise<LbfgsResult> {
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
  return { x, f, gradient: g, gradientNorm: normInf(g), iterations, converged };
}

interface LineSearchPoint {
  step: number;
  x: Float64Array;
  f: number;
  g: Float64Array;
  slope: number;
}

function wolfeLineSearch(
  objective: DifferentiableObjective,
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
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}
