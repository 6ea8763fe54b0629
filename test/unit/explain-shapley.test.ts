import { describe, it, expect } from 'vitest';
import {
  exactShapley,
  explanationReasons,
  formatValue,
  sampleBackground,
  samplingShapley,
} from '../../src/ml/explain/shapley.js';
import { Random } from '../../src/ml/random.js';
import { AbortError, type Matrix } from '../../src/ml/types.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const random = new Random(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => random.normal()) };
}

/** Two outputs: a linear score and its negation plus a constant. */
function linearModel(weights: number[], bias: number) {
  return (X: Matrix): Float64Array => {
    const out = new Float64Array(X.rows * 2);
    for (let i = 0; i < X.rows; i++) {
      let s = bias;
      for (let j = 0; j < X.cols; j++) s += weights[j] * X.data[i * X.cols + j];
      out[2 * i] = s;
      out[2 * i + 1] = 1 - s;
    }
    return out;
  };
}

/** Non-linear, with interactions; feature 4 is unused (dummy), features 0 and 1 enter symmetrically. */
function nonLinear(X: Matrix): Float64Array {
  const out = new Float64Array(X.rows * 3);
  for (let i = 0; i < X.rows; i++) {
    const x = X.data.subarray(i * X.cols, (i + 1) * X.cols);
    const z = [x[0] * x[1] + Math.tanh(x[2]), x[0] + x[1] - x[3] * x[3], Math.max(0, x[2] + x[5])];
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const total = e[0] + e[1] + e[2];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = e[c] / total;
  }
  return out;
}

function sum(values: Float64Array): number {
  return values.reduce((a, b) => a + b, 0);
}

describe('exactShapley', () => {
  it('equals w_i · (x_i − mean background_i) for a linear model', () => {
    const weights = [0.5, -2, 0, 1.25, 3];
    const background = randomMatrix(20, 5, 1);
    const row = Float64Array.from([1, 2, 3, -1, 0.5]);
    const result = exactShapley(linearModel(weights, 0.7), row, background, 0, 2);
    for (let j = 0; j < 5; j++) {
      let mean = 0;
      for (let b = 0; b < 20; b++) mean += background.data[b * 5 + j] / 20;
      expect(result.contributions[j]).toBeCloseTo(weights[j] * (row[j] - mean), 12);
    }
    expect(Math.abs(result.residual)).toBeLessThan(1e-12);
  });

  it('is additive, symmetric and gives a dummy feature zero', () => {
    const background = randomMatrix(15, 6, 2);
    // Make features 0 and 1 exchangeable: same background values and same row value.
    for (let b = 0; b < 15; b++) background.data[b * 6 + 1] = background.data[b * 6];
    const row = Float64Array.from([0.8, 0.8, -1.2, 0.4, 5, 1.1]);
    for (let output = 0; output < 3; output++) {
      const result = exactShapley(nonLinear, row, background, output, 3);
      expect(Math.abs(result.baseValue + sum(result.contributions) - result.output)).toBeLessThan(1e-12);
      expect(result.contributions[0]).toBeCloseTo(result.contributions[1], 12);
      expect(Math.abs(result.contributions[4])).toBeLessThan(1e-15);
    }
  });

  it('refuses more than 12 features', () => {
    expect(() => exactShapley(nonLinear, new Float64Array(13), randomMatrix(2, 13, 1), 0, 3)).toThrow(RangeError);
  });
});

describe('samplingShapley', () => {
  it('is exact for a linear model, whatever the permutations', () => {
    const weights = Array.from({ length: 12 }, (_, j) => (j % 3) - 1 + j / 10);
    const background = randomMatrix(30, 12, 3);
    const row = randomMatrix(1, 12, 4).data;
    const model = linearModel(weights, -0.3);
    const sampled = samplingShapley(model, row, background, 1, 2, { seed: 1, permutations: 4 });
    const exact = exactShapley(model, row, background, 1, 2);
    for (let j = 0; j < 12; j++) expect(sampled.contributions[j]).toBeCloseTo(exact.contributions[j], 12);
    expect(sampled.baseValue).toBeCloseTo(exact.baseValue, 14);
  });

  it('converges to the exact values on a non-linear function', () => {
    const background = randomMatrix(25, 6, 5);
    const row = Float64Array.from([1.5, -0.7, 0.9, 1.3, -2, 0.2]);
    for (let output = 0; output < 3; output++) {
      const exact = exactShapley(nonLinear, row, background, output, 3);
      const coarse = samplingShapley(nonLinear, row, background, output, 3, { seed: 9, permutations: 16 });
      const fine = samplingShapley(nonLinear, row, background, output, 3, { seed: 9, permutations: 600 });
      let coarseError = 0;
      let fineError = 0;
      for (let j = 0; j < 6; j++) {
        coarseError = Math.max(coarseError, Math.abs(coarse.contributions[j] - exact.contributions[j]));
        fineError = Math.max(fineError, Math.abs(fine.contributions[j] - exact.contributions[j]));
        // Within 4 standard errors of the estimate.
        expect(Math.abs(fine.contributions[j] - exact.contributions[j])).toBeLessThanOrEqual(
          4 * fine.standardError[j] + 1e-12,
        );
      }
      expect(fineError).toBeLessThan(0.01);
      expect(fineError).toBeLessThanOrEqual(coarseError + 1e-12);
      expect(fine.baseValue).toBe(exact.baseValue);
      expect(fine.output).toBe(exact.output);
      // The unused feature gets zero in every permutation (up to the rounding of a mean of equal values).
      expect(Math.abs(fine.contributions[4])).toBeLessThan(1e-15);
    }
  });

  it('is additive to ~1e-12 on 30 features, and deterministic for a seed', () => {
    const d = 30;
    const random = new Random(8);
    const w = Array.from({ length: d * 3 }, () => random.normal());
    const model = (X: Matrix): Float64Array => {
      const out = new Float64Array(X.rows * 3);
      for (let i = 0; i < X.rows; i++) {
        const z = [0, 0, 0];
        for (let j = 0; j < d; j++) {
          const x = X.data[i * d + j];
          for (let c = 0; c < 3; c++) z[c] += w[j * 3 + c] * Math.sin(x + c);
        }
        const max = Math.max(...z);
        const e = z.map((v) => Math.exp(v - max));
        const total = e[0] + e[1] + e[2];
        for (let c = 0; c < 3; c++) out[i * 3 + c] = e[c] / total;
      }
      return out;
    };
    const background = sampleBackground(randomMatrix(500, d, 9), 1);
    const row = randomMatrix(1, d, 10).data;
    const a = samplingShapley(model, row, background, 2, 3, { seed: 4 });
    expect(a.permutations).toBe(32);
    expect(Math.abs(a.residual)).toBeLessThan(1e-12);
    expect(Math.abs(a.baseValue + sum(a.contributions) - a.output)).toBeLessThan(1e-12);
    const b = samplingShapley(model, row, background, 2, 3, { seed: 4 });
    expect(Array.from(b.contributions)).toEqual(Array.from(a.contributions));
    const c = samplingShapley(model, row, background, 2, 3, { seed: 5 });
    expect(Array.from(c.contributions)).not.toEqual(Array.from(a.contributions));
  });

  it('copes with missing values in the row and a single feature', () => {
    const nanAware = (X: Matrix): Float64Array => {
      const out = new Float64Array(X.rows * 2);
      for (let i = 0; i < X.rows; i++) {
        const v = X.data[i * X.cols];
        const p = Number.isNaN(v) ? 0.9 : 1 / (1 + Math.exp(-v));
        out[2 * i] = 1 - p;
        out[2 * i + 1] = p;
      }
      return out;
    };
    const background = randomMatrix(10, 1, 1);
    const result = samplingShapley(nanAware, Float64Array.from([Number.NaN]), background, 1, 2, { seed: 1 });
    expect(result.output).toBe(0.9);
    expect(result.contributions[0]).toBeCloseTo(0.9 - result.baseValue, 14);
  });

  it('stops at the time budget after at least one pair', () => {
    const slow = (X: Matrix): Float64Array => {
      const until = Date.now() + 5;
      while (Date.now() < until) {
        // burn time
      }
      return nonLinear(X);
    };
    const result = samplingShapley(slow, new Float64Array(6).fill(0.5), randomMatrix(5, 6, 1), 0, 3, {
      seed: 1,
      permutations: 1000,
      timeBudgetMs: 1,
    });
    expect(result.permutations).toBe(2);
    expect(Math.abs(result.residual)).toBeLessThan(1e-12);
  });

  it('stops when the signal is aborted', () => {
    const controller = new AbortController();
    controller.abort();
    expect(() =>
      samplingShapley(nonLinear, new Float64Array(6), randomMatrix(5, 6, 1), 0, 3, {
        seed: 1,
        signal: controller.signal,
      }),
    ).toThrow(AbortError);
  });

  it('rejects mismatched shapes and a bad output index', () => {
    expect(() => samplingShapley(nonLinear, new Float64Array(5), randomMatrix(5, 6, 1), 0, 3, { seed: 1 })).toThrow(
      RangeError,
    );
    expect(() => samplingShapley(nonLinear, new Float64Array(6), randomMatrix(5, 6, 1), 3, 3, { seed: 1 })).toThrow(
      RangeError,
    );
  });
});

describe('sampleBackground', () => {
  it('draws distinct rows, seeded, and copies everything when the data is small', () => {
    const X = randomMatrix(200, 3, 1);
    const a = sampleBackground(X, 5, 50);
    expect(a.rows).toBe(50);
    const firsts = new Set<number>();
    for (let i = 0; i < 50; i++) firsts.add(a.data[i * 3]);
    expect(firsts.size).toBe(50);
    expect(Array.from(sampleBackground(X, 5, 50).data)).toEqual(Array.from(a.data));
    expect(Array.from(sampleBackground(X, 6, 50).data)).not.toEqual(Array.from(a.data));
    const all = sampleBackground(X, 5, 500);
    expect(all.rows).toBe(200);
    expect(all.data).not.toBe(X.data);
  });
});

describe('explanationReasons', () => {
  const names = ['koi_model_snr', 'koi_period', 'koi_depth', 'koi_steff'];

  it('words the biggest contributions first', () => {
    const reasons = explanationReasons([-0.12, 0.3, 0.004, 0], names, [8.2, 365.25, Number.NaN, 5777], {
      className: 'planet',
      outputSpace: 'probability',
    });
    expect(reasons).toEqual([
      'koi_period = 365 raised the planet probability by 0.30',
      'koi_model_snr = 8.2 lowered the planet probability by 0.12',
      'koi_depth = missing raised the planet probability by 0.004',
    ]);
  });

  it('speaks of log-odds in margin space and honours top', () => {
    const reasons = explanationReasons([0.5, -1.25, 0, 0], names, [1, 2, 3, 4], {
      className: 'false_positive',
      outputSpace: 'margin',
      top: 1,
    });
    expect(reasons).toEqual(['koi_period = 2 lowered the false positive log-odds score by 1.25']);
  });

  it('formats values with 3 significant digits', () => {
    expect(formatValue(8.2)).toBe('8.2');
    expect(formatValue(5777)).toBe('5780');
    expect(formatValue(0.000123456)).toBe('0.000123');
    expect(formatValue(1.5e-7)).toBe('1.5e-7');
    expect(formatValue(-2.345)).toBe('-2.35');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(null)).toBe('missing');
    expect(formatValue(undefined)).toBe('missing');
  });
});
