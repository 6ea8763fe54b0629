/**
 * Probability calibration and its measures, with scikit-learn 1.2's semantics:
 *
 * - Platt (sigmoid): `_sigmoid_calibration`: p = 1 / (1 + exp(A·f + B)) fitted by maximum likelihood on Platt's
 *   smoothed targets (positives (N₊ + 1) / (N₊ + 2), negatives 1 / (N₋ + 2)), starting from A = 0,
 *   B = log((N₋ + 1) / (N₊ + 1)). scikit-learn minimises with BFGS (gradient tolerance 1e-5); we take Newton steps
 *   on the same convex objective to a far tighter optimum, so A and B agree to about 1e-5.
 * - Isotonic: `IsotonicRegression(out_of_bounds='clip')`: scores within 1e-15 of each other merged (their mean
 *   target), pool-adjacent-violators, then linear interpolation between the fitted points, clipped to their range.
 * - `CalibratedClassifierCV` with a fitted model: binary tasks calibrate the positive (second) class's probability
 *   and set the other to 1 − p; several classes get one calibrator per class (one-vs-rest on that class's
 *   probability), then each row is divided by its sum (uniform when every calibrator says 0), and values in
 *   (1, 1 + 1e-5] become 1.
 *
 * Measures: the Brier score (multi-class: mean over rows of Σ_c (p_c − 1[y = c])², as evaluate.ts; binary tasks
 * also get scikit-learn's `brier_score_loss` of the positive class, half of it), log loss (clipped to [ε, 1 − ε],
 * ε = 2.2e-16, scikit-learn 1.2's `eps='auto'`), the expected calibration error of the top-class confidence (10 equal-width
 * bins [0, 0.1), [0.1, 0.2), …, [0.9, 1.0], the last one closed; Σ_bins (rows in bin / rows) · |share correct −
 * mean confidence|, the binning of evaluate.ts), and reliability curves per class with `calibration_curve`'s
 * semantics (bins closed on the right: a probability equal to an inner edge falls in the lower bin; empty bins left
 * out; 'uniform' or 'quantile' edges).
 */
import { argmaxRows } from '../evaluate.js';

export type CalibrationMethod = 'sigmoid' | 'isotonic';

export interface SigmoidJSON {
  method: 'sigmoid';
  a: number;
  b: number;
}

export interface IsotonicJSON {
  method: 'isotonic';
  /** Increasing distinct scores and their fitted (non-decreasing) probabilities. */
  x: number[];
  y: number[];
}

export type CalibratorJSON = SigmoidJSON | IsotonicJSON;

export interface CalibrationJSON {
  formatVersion: 1;
  method: CalibrationMethod;
  numClasses: number;
  /** Binary: one calibrator (of class 1); several classes: one per class. */
  calibrators: CalibratorJSON[];
  /** Rows the calibrators were fitted on. */
  fittedRows: number;
}

// ---------------------------------------------------------------------------------------------------------------
// One-dimensional calibrators

/** Platt scaling of scores `f` against binary outcomes (1 = positive); see the module comment. */
export function fitSigmoid(f: Float64Array, positive: Uint8Array): SigmoidJSON {
  const n = f.length;
  let prior1 = 0;
  for (const v of positive) prior1 += v;
  const prior0 = n - prior1;
  const hiTarget = (prior1 + 1) / (prior1 + 2);
  const loTarget = 1 / (prior0 + 2);
  const target = (i: number) => (positive[i] ? hiTarget : loTarget);
  // Objective Σ T·softplus(u) + (1 − T)·softplus(−u) with u = A·f + B (= −log P·T − log(1 − P)·(1 − T)).
  const objective = (a: number, b: number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const u = a * f[i] + b;
      const t = target(i);
      sum += t * softplus(u) + (1 - t) * softplus(-u);
    }
    return sum;
  };
  let a = 0;
  let b = Math.log((prior0 + 1) / (prior1 + 1));
  let value = objective(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    // Gradient (T − P)·[f, 1] and Hessian P(1 − P)·[f, 1][f, 1]ᵀ, with P = σ(−u).
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(-(a * f[i] + b));
      const d = target(i) - p;
      const h = p * (1 - p);
      ga += d * f[i];
      gb += d;
      haa += h * f[i] * f[i];
      hab += h * f[i];
      hbb += h;
    }
    if (Math.hypot(ga, gb) < 1e-10 * Math.max(1, n)) break;
    haa += 1e-12;
    hbb += 1e-12;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    // Backtracking: a Newton step on a convex function, halved until it does not increase the objective.
    let step = 1;
    let next = objective(a + step * da, b + step * db);
    while (next > value && step > 1e-10) {
      step /= 2;
      next = objective(a + step * da, b + step * db);
    }
    if (next > value) break;
    a += step * da;
    b += step * db;
    const improvement = value - next;
    value = next;
    if (improvement <= 1e-15 * Math.max(1, Math.abs(value)) && step === 1) break;
  }
  return { method: 'sigmoid', a, b };
}

/** Isotonic regression of outcomes on scores, as scikit-learn's IsotonicRegression(out_of_bounds='clip'). */
export function fitIsotonic(f: Float64Array, positive: Uint8Array): IsotonicJSON {
  const n = f.length;
  if (n === 0) throw new RangeError('isotonic calibration needs at least one row');
  // np.lexsort((y, X)): by score, then outcome.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => f[i] - f[j] || positive[i] - positive[j]);
  // _make_unique: scores within the float64 resolution (1e-15) of a block's first score join the block.
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    const last = xs.length - 1;
    if (last >= 0 && f[i] - xs[last] < 1e-15) {
      sums[last] += positive[i];
      weights[last]++;
    } else {
      xs.push(f[i]);
      sums.push(positive[i]);
      weights.push(1);
    }
  }
  // Pool adjacent violators on the block means, weighted by block size.
  const values: number[] = [];
  const blockWeight: number[] = [];
  const blockSize: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    values.push(sums[i] / weights[i]);
    blockWeight.push(weights[i]);
    blockSize.push(1);
    while (values.length > 1 && values[values.length - 2] > values[values.length - 1]) {
      const w2 = blockWeight.pop() ?? 0;
      const v2 = values.pop() ?? 0;
      const s2 = blockSize.pop() ?? 0;
      const top = values.length - 1;
      const w1 = blockWeight[top];
      values[top] = (values[top] * w1 + v2 * w2) / (w1 + w2);
      blockWeight[top] = w1 + w2;
      blockSize[top] += s2;
    }
  }
  const y: number[] = [];
  values.forEach((v, block) => {
    for (let s = 0; s < blockSize[block]; s++) y.push(v);
  });
  return { method: 'isotonic', x: xs, y };
}

export function applyCalibrator(calibrator: CalibratorJSON, score: number): number {
  if (calibrator.method === 'sigmoid') return sigmoid(-(calibrator.a * score + calibrator.b));
  const { x, y } = calibrator;
  const m = x.length;
  if (m === 1) return y[0];
  const t = Math.min(Math.max(score, x[0]), x[m - 1]);
  // scipy's interp1d: hi = first index with x[hi] ≥ t (searchsorted left), clipped to 1..m−1; lo = hi − 1.
  let lo = 0;
  let hi = m - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] < t) lo = mid;
    else hi = mid;
  }
  if (x[lo] >= t) hi = Math.max(1, lo);
  lo = hi - 1;
  const slope = (y[hi] - y[lo]) / (x[hi] - x[lo]);
  return slope * (t - x[lo]) + y[lo];
}

// ---------------------------------------------------------------------------------------------------------------
// Class probabilities

/**
 * Fits a calibration of `proba` (rows × numClasses) against `labels` (0..numClasses−1) on held-out rows (the
 * validation split or out-of-fold predictions), like CalibratedClassifierCV(cv='prefit').
 */
export function fitCalibration(
  proba: Float64Array,
  labels: Int32Array,
  numClasses: number,
  method: CalibrationMethod,
): CalibrationJSON {
  const n = labels.length;
  if (proba.length !== n * numClasses) {
    throw new RangeError(`proba has ${proba.length} values, expected ${n} rows × ${numClasses} classes`);
  }
  if (n === 0) throw new RangeError('calibration needs at least one row');
  const fit = method === 'sigmoid' ? fitSigmoid : fitIsotonic;
  const classes = numClasses === 2 ? [1] : Array.from({ length: numClasses }, (_, c) => c);
  const calibrators = classes.map((c) => {
    const column = new Float64Array(n);
    const positive = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      column[i] = proba[i * numClasses + c];
      positive[i] = labels[i] === c ? 1 : 0;
    }
    return fit(column, positive);
  });
  return { formatVersion: 1, method, numClasses, calibrators, fittedRows: n };
}

/** Calibrated probabilities of `proba` (rows × numClasses). */
export function applyCalibration(calibration: CalibrationJSON, proba: Float64Array): Float64Array {
  const k = calibration.numClasses;
  const rows = proba.length / k;
  const out = new Float64Array(proba.length);
  for (let i = 0; i < rows; i++) {
    const base = i * k;
    if (k === 2) {
      const p = applyCalibrator(calibration.calibrators[0], proba[base + 1]);
      out[base + 1] = p;
      out[base] = 1 - p;
    } else {
      let sum = 0;
      for (let c = 0; c < k; c++) {
        out[base + c] = applyCalibrator(calibration.calibrators[c], proba[base + c]);
        sum += out[base + c];
      }
      for (let c = 0; c < k; c++) out[base + c] = sum !== 0 ? out[base + c] / sum : 1 / k;
    }
    for (let c = 0; c < k; c++) if (out[base + c] > 1 && out[base + c] <= 1 + 1e-5) out[base + c] = 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Measures

/**
 * scikit-learn 1.2's `log_loss(eps='auto')`: the float64 machine epsilon. (evaluate.ts clips at 1e-15, the default of
 * scikit-learn before 1.2; the two differ only for rows that give the true class a probability below 1e-15.)
 */
const LOG_LOSS_EPS = Number.EPSILON;

/** Mean over rows of Σ_c (p_c − 1[y = c])² (evaluate.ts's Brier score; for 2 classes twice sklearn's). */
export function brierScore(labels: Int32Array, proba: Float64Array, numClasses: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let c = 0; c < numClasses; c++) sum += (proba[i * numClasses + c] - (labels[i] === c ? 1 : 0)) ** 2;
  }
  return sum / labels.length;
}

/** scikit-learn's `brier_score_loss`: mean (p − outcome)² of one class's probability. */
export function binaryBrierScore(positive: Uint8Array, p: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += (p[i] - positive[i]) ** 2;
  return sum / p.length;
}

/** Mean −log p(true class), clipped to [ε, 1 − ε] (scikit-learn 1.2's `log_loss`; rows are taken to sum to 1). */
export function logLoss(labels: Int32Array, proba: Float64Array, numClasses: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = proba[i * numClasses + labels[i]];
    sum -= Math.log(Math.min(Math.max(p, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS));
  }
  return sum / labels.length;
}

/** Expected calibration error of the top-class confidence, `bins` equal-width bins (see the module comment). */
export function expectedCalibrationError(
  labels: Int32Array,
  proba: Float64Array,
  numClasses: number,
  bins = 10,
): number {
  const predicted = argmaxRows(proba, numClasses);
  const count = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  const correct = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const p = proba[i * numClasses + predicted[i]];
    // The nudge keeps values like 1 − 0.9 = 0.09999999999999998 in the bin they print as (as evaluate.ts).
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins + 1e-9)));
    count[bin]++;
    confidence[bin] += p;
    correct[bin] += predicted[i] === labels[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += (count[b] / labels.length) * Math.abs(correct[b] / count[b] - confidence[b] / count[b]);
  }
  return ece;
}

export interface ReliabilityCurve {
  /** Share of positives in each non-empty bin (sklearn's prob_true). */
  observed: number[];
  /** Mean predicted probability in each non-empty bin (prob_pred). */
  predicted: number[];
  /** Rows in each non-empty bin. */
  counts: number[];
  /** All bin edges, n_bins + 1 of them. */
  edges: number[];
}

/** numpy's percentile, method 'linear'. `sorted` ascending. */
function percentile(sorted: Float64Array, q: number): number {
  const index = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(index);
  const hi = Math.min(sorted.length - 1, lo + 1);
  const fraction = index - lo;
  // numpy's _lerp: a + (b − a)·t, and b − (b − a)·(1 − t) when t ≥ 0.5.
  const a = sorted[lo];
  const b = sorted[hi];
  const diff = b - a;
  return fraction >= 0.5 ? b - diff * (1 - fraction) : a + diff * fraction;
}

/** scikit-learn's `calibration_curve(positive, p, n_bins, strategy)`. */
export function reliabilityCurve(
  positive: Uint8Array,
  p: Float64Array,
  bins = 10,
  strategy: 'uniform' | 'quantile' = 'uniform',
): ReliabilityCurve {
  const step = 1 / bins;
  let edges: number[];
  if (strategy === 'uniform') {
    edges = Array.from({ length: bins + 1 }, (_, i) => i * step);
    edges[bins] = 1;
  } else {
    const sorted = Float64Array.from(p).sort();
    edges = Array.from({ length: bins + 1 }, (_, i) => percentile(sorted, i * step * 100));
  }
  const count = new Float64Array(bins + 1);
  const sumP = new Float64Array(bins + 1);
  const sumTrue = new Float64Array(bins + 1);
  for (let i = 0; i < p.length; i++) {
    // np.searchsorted(edges[1:-1], p): the number of inner edges strictly below p.
    let bin = 0;
    while (bin < bins - 1 && edges[bin + 1] < p[i]) bin++;
    count[bin]++;
    sumP[bin] += p[i];
    sumTrue[bin] += positive[i];
  }
  const out: ReliabilityCurve = { observed: [], predicted: [], counts: [], edges };
  for (let b = 0; b <= bins; b++) {
    if (count[b] === 0) continue;
    out.observed.push(sumTrue[b] / count[b]);
    out.predicted.push(sumP[b] / count[b]);
    out.counts.push(count[b]);
  }
  return out;
}

export interface CalibrationMeasures {
  brierScore: number;
  /** Binary tasks: scikit-learn's brier_score_loss of the positive (second) class; null with more classes. */
  binaryBrierScore: number | null;
  logLoss: number;
  expectedCalibrationError: number;
  /** One-vs-rest reliability curve per class (10 uniform bins). */
  reliability: { label: string; curve: ReliabilityCurve }[];
}

export function calibrationMeasures(
  labels: Int32Array,
  proba: Float64Array,
  classes: readonly string[],
): CalibrationMeasures {
  const k = classes.length;
  const n = labels.length;
  const column = (c: number) => Float64Array.from({ length: n }, (_, i) => proba[i * k + c]);
  const isClass = (c: number) => Uint8Array.from(labels, (y) => (y === c ? 1 : 0));
  return {
    brierScore: brierScore(labels, proba, k),
    binaryBrierScore: k === 2 ? binaryBrierScore(isClass(1), column(1)) : null,
    logLoss: logLoss(labels, proba, k),
    expectedCalibrationError: expectedCalibrationError(labels, proba, k),
    reliability: classes.map((label, c) => ({ label, curve: reliabilityCurve(isClass(c), column(c)) })),
  };
}

export interface CalibrationReport {
  method: CalibrationMethod;
  /** Where the calibrators were fitted, e.g. "validation split (670 rows)" or "out-of-fold predictions". */
  fittedOn: string;
  before: CalibrationMeasures;
  after: CalibrationMeasures;
}

/** Measures of the same held-out rows before and after calibration. */
export function calibrationReport(
  calibration: CalibrationJSON,
  fittedOn: string,
  labels: Int32Array,
  proba: Float64Array,
  classes: readonly string[],
): CalibrationReport {
  return {
    method: calibration.method,
    fittedOn,
    before: calibrationMeasures(labels, proba, classes),
    after: calibrationMeasures(labels, applyCalibration(calibration, proba), classes),
  };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function softplus(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}
