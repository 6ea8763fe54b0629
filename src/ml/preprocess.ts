/**
 * Median imputation and standard scaling, fitted on the training split only and saved with the model so that
 * prediction applies exactly the same transform (design §2).
 */
import type { Matrix } from './types.js';

export interface PreprocessOptions {
  /** Replace NaN by the training median of the feature. */
  impute: boolean;
  /** Subtract the training mean and divide by the training std (after imputation). */
  scale: boolean;
}

export interface FeatureRange {
  /** NaN when the feature had no value in the training data. */
  min: number;
  max: number;
}

/** JSON form: NaN is written as null. */
export interface PreprocessorJSON {
  formatVersion: 1;
  options: PreprocessOptions;
  medians: number[];
  means: number[];
  stds: number[];
  ranges: { min: number | null; max: number | null }[];
}

export class Preprocessor {
  readonly numFeatures: number;

  constructor(
    readonly options: PreprocessOptions,
    /** Training median per feature (0 for an all-missing feature). */
    readonly medians: Float64Array,
    /** Mean and std after imputation (mean 0 / std 1 when scaling is off; std 1 for a constant feature). */
    readonly means: Float64Array,
    readonly stds: Float64Array,
    /** Raw min/max per feature on the training data, for "outside the training range" warnings. */
    readonly ranges: FeatureRange[],
  ) {
    this.numFeatures = medians.length;
  }

  /** A new matrix: NaN imputed (if on), then scaled (if on). Without imputation NaN stays NaN. */
  transform(X: Matrix): Matrix {
    const cols = this.numFeatures;
    if (X.cols !== cols) throw new RangeError(`matrix has ${X.cols} features, the preprocessor was fitted on ${cols}`);
    const { impute, scale } = this.options;
    const out = new Float64Array(X.data.length);
    for (let r = 0; r < X.rows; r++) {
      const base = r * cols;
      for (let j = 0; j < cols; j++) {
        let v = X.data[base + j];
        if (impute && v !== v) v = this.medians[j];
        if (scale) v = (v - this.means[j]) / this.stds[j];
        out[base + j] = v;
      }
    }
    return { rows: X.rows, cols, data: out };
  }

  toJSON(): PreprocessorJSON {
    const nullable = (v: number) => (Number.isNaN(v) ? null : v);
    return {
      formatVersion: 1,
      options: { impute: this.options.impute, scale: this.options.scale },
      medians: Array.from(this.medians),
      means: Array.from(this.means),
      stds: Array.from(this.stds),
      ranges: this.ranges.map((r) => ({ min: nullable(r.min), max: nullable(r.max) })),
    };
  }

  static fromJSON(json: PreprocessorJSON): Preprocessor {
    const version: unknown = json.formatVersion; // stored JSON: checked, not trusted
    if (version !== 1) throw new Error(`unsupported preprocessor format ${String(version)}`);
    const n = json.medians.length;
    if (json.means.length !== n || json.stds.length !== n || json.ranges.length !== n)
      throw new Error('preprocessor arrays differ in length');
    return new Preprocessor(
      { impute: json.options.impute, scale: json.options.scale },
      Float64Array.from(json.medians),
      Float64Array.from(json.means),
      Float64Array.from(json.stds),
      json.ranges.map((r) => ({ min: r.min ?? NaN, max: r.max ?? NaN })),
    );
  }
}

/**
 * Fits on `X` (the training split). Medians ignore NaN (an all-NaN feature gets 0); mean and population std
 * (as scikit-learn's StandardScaler) are computed after imputation, over the present values when imputation is
 * off; a constant feature gets std 1.
 */
export function fitPreprocessor(X: Matrix, options: PreprocessOptions): Preprocessor {
  const { rows, cols, data } = X;
  const medians = new Float64Array(cols);
  const means = new Float64Array(cols);
  const stds = new Float64Array(cols).fill(1);
  const ranges: FeatureRange[] = [];
  const column = new Float64Array(rows);

  for (let j = 0; j < cols; j++) {
    let present = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = data[r * cols + j];
      if (v !== v) continue;
      column[present++] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    ranges.push(present === 0 ? { min: NaN, max: NaN } : { min: min + 0, max: max + 0 });

    const values = column.subarray(0, present).sort();
    // `+ 0` turns -0 into 0 so the JSON round trip (which writes -0 as 0) is exact.
    medians[j] =
      present === 0
        ? 0
        : (present % 2 === 1 ? values[(present - 1) >> 1] : (values[present / 2 - 1] + values[present / 2]) / 2) + 0;

    if (!options.scale) continue;
    const missing = rows - present;
    const fillMissing = options.impute && missing > 0;
    const count = options.impute ? rows : present;
    if (count === 0) continue;
    // Two passes (mean, then squared deviations) for accuracy on features like transit epochs (~2.4e6).
    let sum = fillMissing ? missing * medians[j] : 0;
    for (let i = 0; i < present; i++) sum += values[i];
    const mean = sum / count;
    let squares = fillMissing ? missing * (medians[j] - mean) ** 2 : 0;
    for (let i = 0; i < present; i++) squares += (values[i] - mean) ** 2;
    const constant = present === 0 || (min === max && (!fillMissing || medians[j] === min));
    means[j] = mean + 0;
    stds[j] = constant ? 1 : Math.sqrt(squares / count);
    if (stds[j] === 0 || !Number.isFinite(stds[j])) stds[j] = 1;
  }
  return new Preprocessor({ impute: options.impute, scale: options.scale }, medians, means, stds, ranges);
}
