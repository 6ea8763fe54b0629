import { describe, it, expect } from 'vitest';
import { fitPreprocessor, Preprocessor, type PreprocessorJSON } from '../../src/ml/preprocess.js';
import { matrix } from '../../src/ml/types.js';

// 4 rows × 3 features: a has a NaN, b is constant, c is all NaN.
const X = matrix(4, 3, Float64Array.from([1, 5, NaN, NaN, 5, NaN, 3, 5, NaN, 10, 5, NaN]));

describe('fitPreprocessor', () => {
  it('median-imputes with training medians (NaN-aware; all-NaN → 0)', () => {
    const p = fitPreprocessor(X, { impute: true, scale: false });
    expect(Array.from(p.medians)).toEqual([3, 5, 0]);
    const out = p.transform(X);
    expect(Array.from(out.data)).toEqual([1, 5, 0, 3, 5, 0, 3, 5, 0, 10, 5, 0]);
    expect(out.data).not.toBe(X.data);
    expect(Number.isNaN(X.data[3])).toBe(true); // input untouched
  });

  it('even counts take the mean of the two middle values', () => {
    const p = fitPreprocessor(matrix(4, 1, Float64Array.from([4, 1, 3, 2])), { impute: true, scale: false });
    expect(p.medians[0]).toBe(2.5);
  });

  it('scales with mean/std after imputation (population std), constant features get std 1', () => {
    const p = fitPreprocessor(X, { impute: true, scale: true });
    // a after imputation: [1, 3, 3, 10] → mean 4.25, var = (10.5625 + 1.5625 + 1.5625 + 33.0625) / 4 = 11.6875
    expect(p.means[0]).toBeCloseTo(4.25, 12);
    expect(p.stds[0]).toBeCloseTo(Math.sqrt(11.6875), 12);
    expect([p.means[1], p.stds[1]]).toEqual([5, 1]);
    expect([p.means[2], p.stds[2]]).toEqual([0, 1]);
    const out = p.transform(X);
    const a = [0, 1, 2, 3].map((r) => out.data[r * 3]);
    expect(a.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 12);
    expect(a.reduce((s, v) => s + v * v, 0) / 4).toBeCloseTo(1, 12);
    expect([0, 1, 2, 3].map((r) => out.data[r * 3 + 1])).toEqual([0, 0, 0, 0]);
  });

  it('scaling without imputation uses present values and keeps NaN', () => {
    const p = fitPreprocessor(X, { impute: false, scale: true });
    // a present: [1, 3, 10] → mean 14/3
    expect(p.means[0]).toBeCloseTo(14 / 3, 12);
    const out = p.transform(X);
    expect(Number.isNaN(out.data[3])).toBe(true);
  });

  it('records training ranges on raw values', () => {
    const p = fitPreprocessor(X, { impute: true, scale: true });
    expect(p.ranges[0]).toEqual({ min: 1, max: 10 });
    expect(p.ranges[1]).toEqual({ min: 5, max: 5 });
    expect(Number.isNaN(p.ranges[2].min)).toBe(true);
  });

  it('round-trips through JSON exactly', () => {
    const rng = Float64Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? NaN : Math.sin(i * 1.7) * 1e3 + i / 3));
    const data = matrix(100, 3, rng);
    for (const options of [
      { impute: true, scale: true },
      { impute: false, scale: true },
      { impute: true, scale: false },
    ]) {
      const p = fitPreprocessor(data, options);
      const json = JSON.parse(JSON.stringify(p.toJSON())) as PreprocessorJSON;
      const q = Preprocessor.fromJSON(json);
      expect(q.options).toEqual(options);
      expect(Array.from(q.medians)).toEqual(Array.from(p.medians));
      expect(Array.from(q.means)).toEqual(Array.from(p.means));
      expect(Array.from(q.stds)).toEqual(Array.from(p.stds));
      expect(Array.from(q.transform(data).data)).toEqual(Array.from(p.transform(data).data));
    }
    const allNaN = Preprocessor.fromJSON(
      JSON.parse(JSON.stringify(fitPreprocessor(X, { impute: true, scale: true }).toJSON())) as PreprocessorJSON,
    );
    expect(Number.isNaN(allNaN.ranges[2].max)).toBe(true);
  });

  it('refuses a matrix of another width', () => {
    const p = fitPreprocessor(X, { impute: true, scale: true });
    expect(() => p.transform(matrix(1, 2))).toThrow(RangeError);
  });
});
