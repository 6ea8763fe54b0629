/**
 * Comparing two models evaluated on the same held-out rows: each metric side by side, the difference (B − A) with
 * a paired bootstrap confidence interval, and McNemar's test on the rows one model gets right and the other wrong.
 *
 * - Paired bootstrap: `resamples` (default 2,000) seeded draws with replacement; both models are scored on the same
 *   draw, so the interval is of the paired difference. With `groups` (the stars of the test rows) whole stars are
 *   drawn (a cluster bootstrap: rows of one star are not independent), else rows. Interval: percentiles
 *   (numpy's linear method) at (1 − confidence)/2 and (1 + confidence)/2 of the resampled differences.
 * - McNemar: b = rows A predicts right and B wrong, c = the reverse. With b + c < 25 the exact two-sided binomial
 *   test, p = min(1, 2·P(X ≤ min(b, c))), X ~ Binomial(b + c, ½) (statsmodels' `mcnemar(exact=True)`, equal to
 *   scipy's `binomtest(min(b, c), b + c, 0.5)`); otherwise the chi-square statistic with continuity correction,
 *   (|b − c| − 1)² / (b + c), p from chi-square with 1 degree of freedom (statsmodels'
 *   `mcnemar(exact=False, correction=True)`). b + c = 0 gives p = 1.
 * - Metrics are evaluate.ts's definitions (log loss clipped at 1e-15), so the observed values equal the runs'
 *   stored metrics; macro-F1 over the classes present in the truth or the predictions (scikit-learn's default).
 */
import { badInput } from '../../domain/errors.js';
import { argmaxRows } from '../evaluate.js';
import { Random } from '../random.js';

export interface EvaluatedRows {
  /** What the comparison calls the model (a run id). */
  name: string;
  /** One id per held-out row (the table's row id, e.g. kepoi_name), in the order of `labels` and `proba`. */
  rowIds: readonly string[];
  labels: Int32Array;
  /** rows × classes, row-major. */
  proba: Float64Array;
  classes: readonly string[];
}

export const COMPARED_METRICS = [
  'accuracy',
  'balancedAccuracy',
  'macroF1',
  'rocAucOvrMacro',
  'logLoss',
  'brierScore',
] as const;
export type ComparedMetric = (typeof COMPARED_METRICS)[number];
/** Lower is better for these. */
const LOWER_IS_BETTER: ReadonlySet<ComparedMetric> = new Set(['logLoss', 'brierScore']);

export interface MetricComparison {
  metric: ComparedMetric;
  a: number | null;
  b: number | null;
  /** b − a on the rows as they are. */
  difference: number | null;
  ciLower: number | null;
  ciUpper: number | null;
  /** Share of resamples in which B is better than A (lower for log loss and Brier, higher otherwise). */
  shareBBetter: number | null;
  lowerIsBetter: boolean;
}

export interface McNemarResult {
  /** A right, B wrong. */
  b: number;
  /** A wrong, B right. */
  c: number;
  method: 'EXACT_BINOMIAL' | 'CHI_SQUARE_CORRECTED';
  /** Chi-square statistic (CHI_SQUARE_CORRECTED); for the exact test, min(b, c). */
  statistic: number;
  pValue: number;
}

export interface ComparisonOptions {
  /** Default 2,000. */
  resamples?: number;
  /** Default 42. */
  seed?: number;
  /** Default 0.95. */
  confidence?: number;
  /** Star of each row (same order as the rows): resample whole stars. */
  groups?: readonly string[] | null;
}

export interface RunComparison {
  a: string;
  b: string;
  rows: number;
  resamples: number;
  seed: number;
  confidence: number;
  /** 'STARS' when whole stars were resampled, 'ROWS' otherwise. */
  resampling: 'STARS' | 'ROWS';
  metrics: MetricComparison[];
  mcnemar: McNemarResult;
}

/** Why two evaluations cannot be compared row for row; null when they can. */
export function differentRowsReason(a: EvaluatedRows, b: EvaluatedRows): string | null {
  if (a.classes.join('\u0000') !== b.classes.join('\u0000')) {
    return `${a.name} predicts the classes ${a.classes.join(', ')} and ${b.name} ${b.classes.join(', ')}: different tasks cannot be compared row for row.`;
  }
  if (a.rowIds.length !== b.rowIds.length) {
    return `${a.name} was evaluated on ${a.rowIds.length} rows and ${b.name} on ${b.rowIds.length}: a paired comparison needs the same test rows (same dataset, task, split and seed).`;
  }
  let differing = 0;
  let first = -1;
  for (let i = 0; i < a.rowIds.length; i++) {
    if (a.rowIds[i] !== b.rowIds[i]) {
      differing++;
      if (first === -1) first = i;
    }
  }
  if (differing > 0) {
    return `${a.name} and ${b.name} were evaluated on different rows: ${differing} of ${a.rowIds.length} differ (first at position ${first + 1}: ${a.rowIds[first]} vs ${b.rowIds[first]}); a paired comparison needs the same test rows (same dataset, task, split and seed).`;
  }
  for (let i = 0; i < a.labels.length; i++) {
    if (a.labels[i] !== b.labels[i]) {
      return `Row ${a.rowIds[i]} is labelled ${a.classes[a.labels[i]]} for ${a.name} and ${b.classes[b.labels[i]]} for ${b.name}: the table changed between the runs.`;
    }
  }
  return null;
}

/** Metrics of rows weighted by how often a resample drew them (all 1: the rows as they are). */
export function weightedMetrics(
  labels: Int32Array,
  proba: Float64Array,
  numClasses: number,
  weights: Float64Array,
  orders: Int32Array[],
): Record<ComparedMetric, number | null> {
  const k = numClasses;
  const predicted = argmaxRows(proba, k);
  const tp = new Float64Array(k);
  const trueCount = new Float64Array(k);
  const predCount = new Float64Array(k);
  let total = 0;
  let correct = 0;
  let logLoss = 0;
  let brier = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights[i];
    if (w === 0) continue;
    const y = labels[i];
    total += w;
    trueCount[y] += w;
    predCount[predicted[i]] += w;
    if (predicted[i] === y) {
      tp[y] += w;
      correct += w;
    }
    logLoss -= w * Math.log(Math.min(Math.max(proba[i * k + y], 1e-15), 1 - 1e-15));
    for (let c = 0; c < k; c++) brier += w * (proba[i * k + c] - (c === y ? 1 : 0)) ** 2;
  }
  let f1Sum = 0;
  let f1Classes = 0;
  let recallSum = 0;
  let recallClasses = 0;
  const aucs: number[] = [];
  for (let c = 0; c < k; c++) {
    if (trueCount[c] + predCount[c] > 0) {
      f1Sum += (2 * tp[c]) / (trueCount[c] + predCount[c]);
      f1Classes++;
    }
    if (trueCount[c] > 0) {
      recallSum += tp[c] / trueCount[c];
      recallClasses++;
    }
    const auc = weightedAuc(labels, proba, k, c, weights, orders[c]);
    if (auc !== null) aucs.push(auc);
  }
  return {
    accuracy: total > 0 ? correct / total : null,
    balancedAccuracy: recallClasses > 0 ? recallSum / recallClasses : null,
    macroF1: f1Classes > 0 ? f1Sum / f1Classes : null,
    rocAucOvrMacro: aucs.length > 0 ? aucs.reduce((s, v) => s + v, 0) / aucs.length : null,
    logLoss: total > 0 ? logLoss / total : null,
    brierScore: total > 0 ? brier / total : null,
  };
}

/** Rows by decreasing probability of class c (computed once per model; resamples only change the weights). */
export function rankOrders(proba: Float64Array, numClasses: number): Int32Array[] {
  const rows = proba.length / numClasses;
  return Array.from({ length: numClasses }, (_, c) =>
    Int32Array.from({ length: rows }, (_, i) => i).sort(
      (i, j) => proba[j * numClasses + c] - proba[i * numClasses + c],
    ),
  );
}

/** One-vs-rest ROC AUC with row weights: the trapezoid through tied scores (ties count half), as evaluate.ts. */
function weightedAuc(
  labels: Int32Array,
  proba: Float64Array,
  k: number,
  c: number,
  weights: Float64Array,
  order: Int32Array,
): number | null {
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === c) positives += weights[i];
    else negatives += weights[i];
  }
  if (positives === 0 || negatives === 0) return null;
  let area = 0;
  let tp = 0;
  for (let start = 0; start < order.length;) {
    const score = proba[order[start] * k + c];
    let groupTp = 0;
    let groupFp = 0;
    let end = start;
    while (end < order.length && proba[order[end] * k + c] === score) {
      const i = order[end];
      if (labels[i] === c) groupTp += weights[i];
      else groupFp += weights[i];
      end++;
    }
    area += groupFp * (tp + groupTp / 2);
    tp += groupTp;
    start = end;
  }
  return area / (positives * negatives);
}

/** numpy's percentile (linear) of unsorted values. */
function percentile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const index = q * (sorted.length - 1);
  const lo = Math.floor(index);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (index - lo);
}

/** McNemar's test on the discordant counts; see the module comment. */
export function mcnemar(b: number, c: number): McNemarResult {
  const n = b + c;
  if (n < 25) {
    const low = Math.min(b, c);
    let tail = 0;
    let term = Math.pow(0.5, n); // C(n, 0) / 2^n
    for (let i = 0; i <= low; i++) {
      tail += term;
      term = (term * (n - i)) / (i + 1);
    }
    return { b, c, method: 'EXACT_BINOMIAL', statistic: low, pValue: n === 0 ? 1 : Math.min(1, 2 * tail) };
  }
  const statistic = (Math.abs(b - c) - 1) ** 2 / n;
  return { b, c, method: 'CHI_SQUARE_CORRECTED', statistic, pValue: upperGammaRegularised(0.5, statistic / 2) };
}

/** Q(a, x) = Γ(a, x) / Γ(a): series below a + 1, continued fraction above (Numerical Recipes' gammq), ~1e-15. */
export function upperGammaRegularised(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  // Lentz's method for the continued fraction.
  const tiny = 1e-300;
  let bTerm = x + 1 - a;
  let cTerm = 1 / tiny;
  let d = 1 / bTerm;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    bTerm += 2;
    d = an * d + bTerm;
    if (Math.abs(d) < tiny) d = tiny;
    cTerm = bTerm + an / cTerm;
    if (Math.abs(cTerm) < tiny) cTerm = tiny;
    d = 1 / d;
    const delta = d * cTerm;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return Math.exp(logPrefix) * h;
}

/** Lanczos approximation (g = 7, 9 terms), ~1e-15 relative. */
function logGamma(z: number): number {
  const g = 7;
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - logGamma(1 - z);
  const x = z - 1;
  let sum = coefficients[0];
  for (let i = 1; i < g + 2; i++) sum += coefficients[i] / (x + i);
  const t = x + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Compares B with A on the same test rows. Throws BAD_USER_INPUT (field `runIds`) with the reason when the rows
 * differ (see differentRowsReason).
 */
export function compareEvaluations(a: EvaluatedRows, b: EvaluatedRows, options: ComparisonOptions = {}): RunComparison {
  const reason = differentRowsReason(a, b);
  if (reason !== null) throw badInput(reason, 'runIds');
  const resamples = options.resamples ?? 2000;
  const seed = options.seed ?? 42;
  const confidence = options.confidence ?? 0.95;
  const k = a.classes.length;
  const n = a.labels.length;
  const ordersA = rankOrders(a.proba, k);
  const ordersB = rankOrders(b.proba, k);
  const ones = new Float64Array(n).fill(1);
  const observedA = weightedMetrics(a.labels, a.proba, k, ones, ordersA);
  const observedB = weightedMetrics(b.labels, b.proba, k, ones, ordersB);

  // Resampling units: stars (when given) or rows.
  const groups = options.groups ?? null;
  if (groups && groups.length !== n) throw new RangeError(`groups has ${groups.length} entries, rows ${n}`);
  const unitOf = new Int32Array(n);
  let units = n;
  if (groups) {
    const ids = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      let u = ids.get(groups[i]);
      if (u === undefined) ids.set(groups[i], (u = ids.size));
      unitOf[i] = u;
    }
    units = ids.size;
  } else for (let i = 0; i < n; i++) unitOf[i] = i;

  const random = new Random(seed);
  const unitDraws = new Float64Array(units);
  const weights = new Float64Array(n);
  const differences = COMPARED_METRICS.map(() => new Float64Array(resamples));
  const defined = COMPARED_METRICS.map(() => 0);
  const bBetter = COMPARED_METRICS.map(() => 0);
  for (let r = 0; r < resamples; r++) {
    unitDraws.fill(0);
    for (let d = 0; d < units; d++) unitDraws[random.int(units)]++;
    for (let i = 0; i < n; i++) weights[i] = unitDraws[unitOf[i]];
    const ma = weightedMetrics(a.labels, a.proba, k, weights, ordersA);
    const mb = weightedMetrics(b.labels, b.proba, k, weights, ordersB);
    COMPARED_METRICS.forEach((metric, m) => {
      const va = ma[metric];
      const vb = mb[metric];
      if (va === null || vb === null) return;
      const difference = vb - va;
      differences[m][defined[m]++] = difference;
      if (LOWER_IS_BETTER.has(metric) ? difference < 0 : difference > 0) bBetter[m]++;
    });
  }

  const predictedA = argmaxRows(a.proba, k);
  const predictedB = argmaxRows(b.proba, k);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    const rightA = predictedA[i] === a.labels[i];
    const rightB = predictedB[i] === b.labels[i];
    if (rightA && !rightB) onlyA++;
    else if (!rightA && rightB) onlyB++;
  }

  const tail = (1 - confidence) / 2;
  return {
    a: a.name,
    b: b.name,
    rows: n,
    resamples,
    seed,
    confidence,
    resampling: groups ? 'STARS' : 'ROWS',
    metrics: COMPARED_METRICS.map((metric, m) => {
      const va = observedA[metric];
      const vb = observedB[metric];
      const drawn = differences[m].subarray(0, defined[m]);
      return {
        metric,
        a: va,
        b: vb,
        difference: va === null || vb === null ? null : vb - va,
        ciLower: drawn.length > 0 ? percentile(drawn, tail) : null,
        ciUpper: drawn.length > 0 ? percentile(drawn, 1 - tail) : null,
        shareBBetter: drawn.length > 0 ? bBetter[m] / drawn.length : null,
        lowerIsBetter: LOWER_IS_BETTER.has(metric),
      };
    }),
    mcnemar: mcnemar(onlyA, onlyB),
  };
}
