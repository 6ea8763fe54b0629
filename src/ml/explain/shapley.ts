/**
 * Model-agnostic local explanations: interventional Shapley values estimated by antithetic permutation
 * sampling over a background sample, plus exact subset enumeration for small feature counts (tests, ≤ 12).
 *
 * Value function (interventional / "baseline Shapley" averaged over a background, as SHAP's explainers):
 *   v(S) = mean_b f(x_S, z_b,¬S)      — features in S from the explained row, the rest from background row b.
 * Along one permutation π the marginal contributions v(π₁..π_k) − v(π₁..π_{k−1}) telescope to v(all) − v(∅) =
 * f(x) − mean_b f(z_b), so every permutation, and therefore their average, is additive by construction:
 *   baseValue + Σ contributions = f(x)  (up to float rounding; `residual` reports it).
 * `predict` must take raw feature rows (preprocessing inside), so contributions are per raw feature.
 */
import { Random } from '../random.js';
import { throwIfAborted, type Matrix } from '../types.js';

/** Background rows used by default: enough for a stable baseValue, small enough for ≤ 1 s per explanation. */
export const DEFAULT_BACKGROUND_SIZE = 64;
/** Permutations by default (antithetic pairs count as two). */
export const DEFAULT_PERMUTATIONS = 32;

export interface SamplingShapleyOptions {
  seed: number;
  /** Total permutations, rounded up to an even number (each comes with its reverse). Default 32. */
  permutations?: number;
  /**
   * Optional wall-clock budget: stop after the first antithetic pair that ends past it (at least one pair
   * always runs). With a budget the result depends on machine speed; without one it is fully seeded.
   */
  timeBudgetMs?: number;
  signal?: AbortSignal;
}

export interface ShapleyResult {
  /** Mean model output over the background: the expectation contributions are measured from. */
  baseValue: number;
  /** One value per feature; baseValue + Σ contributions = output. */
  contributions: Float64Array;
  /** Model output for the explained row. */
  output: number;
  /** output − baseValue − Σ contributions (float rounding only, ~1e-15). */
  residual: number;
  /** Permutations actually evaluated (exact: 0). */
  permutations: number;
  /** Standard error of each contribution over the antithetic pairs (exact: zeros). */
  standardError: Float64Array;
}

export function samplingShapley(
  predict: (X: Matrix) => Float64Array,
  row: Float64Array,
  background: Matrix,
  outputIndex: number,
  numClasses: number,
  options: SamplingShapleyOptions,
): ShapleyResult {
  const d = row.length;
  const B = background.rows;
  checkInputs(row, background, outputIndex, numClasses);
  const { baseValue, output } = endpoints(predict, row, background, outputIndex, numClasses);

  const pairs = Math.max(1, Math.ceil((options.permutations ?? DEFAULT_PERMUTATIONS) / 2));
  const contributions = new Float64Array(d);
  const pairSum = new Float64Array(d);
  const pairSquares = new Float64Array(d);
  const pairValue = new Float64Array(d);
  const random = new Random(options.seed);
  const order = Int32Array.from({ length: d }, (_, i) => i);
  const reversed = new Int32Array(d);
  // Intermediate coalitions only: sizes 1..d−1 (size 0 is the background, size d the row itself).
  const steps = d - 1;
  const work = new Float64Array(2 * steps * B * d);
  const values = new Float64Array(d + 1);
  const started = Date.now();
  let used = 0;

  for (let p = 0; p < pairs; p++) {
    throwIfAborted(options.signal);
    random.shuffle(order);
    for (let i = 0; i < d; i++) reversed[i] = order[d - 1 - i];
    if (steps > 0) {
      fillCoalitions(work, 0, order, row, background);
      fillCoalitions(work, steps * B * d, reversed, row, background);
    }
    const proba = steps > 0 ? predict({ rows: 2 * steps * B, cols: d, data: work }) : new Float64Array(0);
    pairValue.fill(0);
    for (let half = 0; half < 2; half++) {
      const perm = half === 0 ? order : reversed;
      values[0] = baseValue;
      values[d] = output;
      for (let k = 1; k <= steps; k++) {
        const firstRow = (half * steps + (k - 1)) * B;
        let sum = 0;
        for (let b = 0; b < B; b++) sum += proba[(firstRow + b) * numClasses + outputIndex];
        values[k] = sum / B;
      }
      for (let k = 0; k < d; k++) pairValue[perm[k]] += (values[k + 1] - values[k]) / 2;
    }
    for (let i = 0; i < d; i++) {
      pairSum[i] += pairValue[i];
      pairSquares[i] += pairValue[i] * pairValue[i];
    }
    used++;
    if (options.timeBudgetMs !== undefined && Date.now() - started > options.timeBudgetMs) break;
  }

  const standardError = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    contributions[i] = pairSum[i] / used;
    if (used > 1) {
      const variance = Math.max(0, (pairSquares[i] - (pairSum[i] * pairSum[i]) / used) / (used - 1));
      standardError[i] = Math.sqrt(variance / used);
    }
  }
  return {
    baseValue,
    contributions,
    output,
    residual: residualOf(output, baseValue, contributions),
    permutations: used * 2,
    standardError,
  };
}

/** Exact interventional Shapley values by enumerating all 2^d coalitions (d ≤ 12): for tests and tiny inputs. */
export function exactShapley(
  predict: (X: Matrix) => Float64Array,
  row: Float64Array,
  background: Matrix,
  outputIndex: number,
  numClasses: number,
): ShapleyResult {
  const d = row.length;
  const B = background.rows;
  if (d > 12) throw new RangeError(`exactShapley enumerates 2^${d} coalitions; use samplingShapley beyond 12 features`);
  checkInputs(row, background, outputIndex, numClasses);
  const { baseValue, output } = endpoints(predict, row, background, outputIndex, numClasses);
  const subsets = 1 << d;
  const data = new Float64Array(subsets * B * d);
  for (let mask = 0; mask < subsets; mask++) {
    for (let b = 0; b < B; b++) {
      const offset = (mask * B + b) * d;
      for (let j = 0; j < d; j++) {
        data[offset + j] = mask & (1 << j) ? row[j] : background.data[b * d + j];
      }
    }
  }
  const proba = predict({ rows: subsets * B, cols: d, data });
  const value = new Float64Array(subsets);
  for (let mask = 0; mask < subsets; mask++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += proba[(mask * B + b) * numClasses + outputIndex];
    value[mask] = sum / B;
  }
  // Same endpoints as the sampler, so both are additive against the same output and base.
  value[0] = baseValue;
  value[subsets - 1] = output;

  // weight(s) = s! (d − s − 1)! / d!
  const weight = new Float64Array(d);
  for (let s = 0; s < d; s++) {
    let w = 1 / d;
    // 1 / (d · C(d−1, s))
    for (let t = 1; t <= s; t++) w *= t / (d - t);
    weight[s] = w;
  }
  const contributions = new Float64Array(d);
  for (let mask = 0; mask < subsets; mask++) {
    const size = popcount(mask);
    for (let i = 0; i < d; i++) {
      if (mask & (1 << i)) continue;
      contributions[i] += weight[size] * (value[mask | (1 << i)] - value[mask]);
    }
  }
  return {
    baseValue,
    contributions,
    output,
    residual: residualOf(output, baseValue, contributions),
    permutations: 0,
    standardError: new Float64Array(d),
  };
}

/** A seeded sample of `size` rows without replacement (all rows, copied, when there are fewer). */
export function sampleBackground(X: Matrix, seed: number, size = DEFAULT_BACKGROUND_SIZE): Matrix {
  const take = Math.min(size, X.rows);
  const indices = new Int32Array(take);
  const random = new Random(seed);
  // Partial Fisher–Yates over 0 … rows − 1: the first `take` slots end up a uniform sample. Only the slots a swap
  // moved are kept (a 200,000-row table's 140,000 training rows for 64 draws).
  const moved = new Map<number, number>();
  for (let i = 0; i < take; i++) {
    const j = i + random.int(X.rows - i);
    indices[i] = moved.get(j) ?? j;
    moved.set(j, moved.get(i) ?? i);
  }
  const data = new Float64Array(take * X.cols);
  for (let i = 0; i < take; i++) data.set(X.data.subarray(indices[i] * X.cols, (indices[i] + 1) * X.cols), i * X.cols);
  return { rows: take, cols: X.cols, data };
}

export interface ReasonOptions {
  /** Class the output belongs to, e.g. 'planet' (underscores read as spaces). */
  className: string;
  /** 'probability' for probability outputs, 'margin' for raw scores (log-odds). */
  outputSpace: 'probability' | 'margin';
  /** How many reasons (default 3). */
  top?: number;
}

/**
 * Plain-words reasons for the largest contributions, biggest |contribution| first:
 * "koi_model_snr = 8.2 lowered the planet probability by 0.12". Zero contributions give no reason.
 */
export function explanationReasons(
  contributions: ArrayLike<number>,
  featureNames: readonly string[],
  values: ArrayLike<number | null | undefined>,
  options: ReasonOptions,
): string[] {
  const top = options.top ?? 3;
  const className = options.className.replace(/_/g, ' ');
  const quantity = options.outputSpace === 'probability' ? 'probability' : 'log-odds score';
  const indices = Array.from({ length: contributions.length }, (_, i) => i)
    .filter((i) => Number.isFinite(contributions[i]) && Math.abs(contributions[i]) > 1e-12)
    .sort((a, b) => Math.abs(contributions[b]) - Math.abs(contributions[a]) || a - b)
    .slice(0, Math.max(0, top));
  return indices.map((i) => {
    const c = contributions[i];
    const verb = c > 0 ? 'raised' : 'lowered';
    return `${featureNames[i]} = ${formatValue(values[i])} ${verb} the ${className} ${quantity} by ${formatAmount(Math.abs(c))}`;
  });
}

/** 3 significant digits without needless exponents or trailing zeros; missing → "missing". */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return 'missing';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e15) return String(Number(value.toPrecision(3)));
  return value.toPrecision(3).replace(/\.?0+e/, 'e');
}

function formatAmount(amount: number): string {
  if (amount >= 0.01) return amount.toFixed(2);
  return String(Number(amount.toPrecision(2)));
}

function fillCoalitions(
  work: Float64Array,
  start: number,
  perm: Int32Array,
  row: Float64Array,
  background: Matrix,
): void {
  const d = row.length;
  const B = background.rows;
  const blockSize = B * d;
  // Coalition of size k (k = 1..d−1) lives in block k−1: the previous block plus feature perm[k−1] from the row.
  for (let k = 1; k < d; k++) {
    const block = start + (k - 1) * blockSize;
    if (k === 1) work.set(background.data.subarray(0, blockSize), block);
    else work.copyWithin(block, block - blockSize, block);
    const feature = perm[k - 1];
    const value = row[feature];
    for (let b = 0; b < B; b++) work[block + b * d + feature] = value;
  }
}

function endpoints(
  predict: (X: Matrix) => Float64Array,
  row: Float64Array,
  background: Matrix,
  outputIndex: number,
  numClasses: number,
): { baseValue: number; output: number } {
  const B = background.rows;
  const backgroundProba = predict(background);
  let sum = 0;
  for (let b = 0; b < B; b++) sum += backgroundProba[b * numClasses + outputIndex];
  const output = predict({ rows: 1, cols: row.length, data: Float64Array.from(row) })[outputIndex];
  return { baseValue: sum / B, output };
}

function checkInputs(row: Float64Array, background: Matrix, outputIndex: number, numClasses: number): void {
  if (background.cols !== row.length) {
    throw new RangeError(`background has ${background.cols} columns, the row has ${row.length} values`);
  }
  if (background.rows < 1) throw new RangeError('background needs at least one row');
  if (!(outputIndex >= 0 && outputIndex < numClasses && Number.isInteger(outputIndex))) {
    throw new RangeError(`outputIndex ${outputIndex} is not in 0..${numClasses - 1}`);
  }
}

function residualOf(output: number, baseValue: number, contributions: Float64Array): number {
  let sum = 0;
  for (const c of contributions) sum += c;
  return output - baseValue - sum;
}

function popcount(mask: number): number {
  let count = 0;
  for (let m = mask; m; m &= m - 1) count++;
  return count;
}
