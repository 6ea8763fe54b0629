import { describe, it, expect } from 'vitest';
import { permutationImportance, stratifiedSample } from '../../src/ml/explain/permutation.js';
import { Random } from '../../src/ml/random.js';
import { sharesOfPositiveDrops } from '../../src/ml/importance.js';
import { AbortError, type Matrix } from '../../src/ml/types.js';
import { importanceDataset } from '../fixtures/importance-data.js';

const dataset = (rows: number, seed: number) => importanceDataset(rows, seed);

/**
 * A hand-written "model": softmax over class scores built from 2a + b, plus a small weight on the noise
 * feature as a fitted model would pick up by chance.
 */
function predictProba(X: Matrix): Float64Array {
  const out = new Float64Array(X.rows * 3);
  for (let i = 0; i < X.rows; i++) {
    const s = 2 * X.data[i * 4] + X.data[i * 4 + 1] + 0.05 * X.data[i * 4 + 2];
    const logits = [-3 * (s + 1), 0, 3 * (s - 1)];
    const max = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - max));
    const total = e[0] + e[1] + e[2];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = e[c] / total;
  }
  return out;
}

describe('permutationImportance', () => {
  const { X, y } = dataset(1500, 11);
  const result = permutationImportance(predictProba, X, y, 3, { seed: 5, repeats: 5 });

  it('ranks the signal features first and the pure-noise features last', () => {
    const order = Array.from(result.mean.keys()).sort((a, b) => result.mean[b] - result.mean[a]);
    expect(order.slice(0, 2)).toEqual([0, 1]);
    expect(result.mean[0]).toBeGreaterThan(0.3);
    expect(result.mean[1]).toBeGreaterThan(0.05);
    expect(Math.abs(result.mean[2])).toBeLessThan(0.02);
    // Feature 3 is never used by the model: shuffling it changes nothing.
    expect(result.mean[3]).toBe(0);
    expect(result.std[3]).toBe(0);
    expect(result.baseline).toBeGreaterThan(0.85);
  });

  it('reports a spread over repeats for used features', () => {
    expect(result.std[0]).toBeGreaterThan(0);
    expect(result.std[0]).toBeLessThan(result.mean[0] / 3);
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const again = permutationImportance(predictProba, X, y, 3, { seed: 5, repeats: 5 });
    expect(Array.from(again.mean)).toEqual(Array.from(result.mean));
    expect(Array.from(again.std)).toEqual(Array.from(result.std));
    const other = permutationImportance(predictProba, X, y, 3, { seed: 6, repeats: 5 });
    expect(Array.from(other.mean)).not.toEqual(Array.from(result.mean));
  });

  it('does not modify the input matrix', () => {
    const copy = Float64Array.from(X.data);
    permutationImportance(predictProba, X, y, 3, { seed: 1, repeats: 2 });
    expect(X.data).toEqual(copy);
  });

  it('a single repeat gives zero std and matches a manual shuffle score drop sign', () => {
    const one = permutationImportance(predictProba, X, y, 3, { seed: 2, repeats: 1 });
    expect(Array.from(one.std)).toEqual([0, 0, 0, 0]);
    expect(one.mean[0]).toBeGreaterThan(0.3);
  });

  it('stops when the signal is aborted', () => {
    const controller = new AbortController();
    let calls = 0;
    const counting = (M: Matrix) => {
      calls++;
      if (calls === 2) controller.abort();
      return predictProba(M);
    };
    expect(() => permutationImportance(counting, X, y, 3, { seed: 1, repeats: 2, signal: controller.signal })).toThrow(
      AbortError,
    );
    expect(calls).toBe(2);
  });
});

describe('permutationImportance on a stratified row sample per repeat (issue 17: bounded cost)', () => {
  const { X, y } = dataset(6000, 21);
  const full = permutationImportance(predictProba, X, y, 3, { seed: 5, repeats: 5 });
  let predictedRows = 0;
  const counting = (M: Matrix) => {
    predictedRows += M.rows;
    return predictProba(M);
  };
  const sampled = permutationImportance(counting, X, y, 3, {
    seed: 5,
    repeats: 5,
    rowsPerRepeat: 800,
    baselineProba: predictProba(X),
  });

  it('predicts only the sampled rows (the given baseline is not predicted again)', () => {
    expect(sampled.rowsPerRepeat).toBe(800);
    expect(predictedRows).toBe(4 * 5 * 800);
  });

  it('ranks as the full data does, and each full-data mean lies within the stated interval', () => {
    const order = (r: { mean: Float64Array }) => Array.from(r.mean.keys()).sort((a, b) => r.mean[b] - r.mean[a]);
    expect(order(sampled).slice(0, 2)).toEqual(order(full).slice(0, 2));
    for (const j of [0, 1]) {
      expect(sampled.ci95[j]).toBeGreaterThan(0);
      expect(Math.abs(sampled.mean[j] - full.mean[j])).toBeLessThanOrEqual(sampled.ci95[j]);
    }
    expect(sampled.mean[3]).toBe(0); // never used by the model, sampled or not
  });

  it('is seeded: the same seed gives the same figures, the baseline given or predicted', () => {
    const again = permutationImportance(predictProba, X, y, 3, { seed: 5, repeats: 5, rowsPerRepeat: 800 });
    expect(Array.from(again.mean)).toEqual(Array.from(sampled.mean));
    expect(Array.from(again.ci95)).toEqual(Array.from(sampled.ci95));
  });

  it('all rows when the sample would be as large as the data', () => {
    const all = permutationImportance(predictProba, X, y, 3, { seed: 5, repeats: 5, rowsPerRepeat: 10_000 });
    expect(all.rowsPerRepeat).toBe(6000);
    expect(Array.from(all.mean)).toEqual(Array.from(full.mean));
  });
});

describe('stratifiedSample', () => {
  it('keeps every class at its share (largest remainders), draws distinct rows, ascending, seeded', () => {
    const y = Int32Array.from({ length: 1000 }, (_, i) => (i < 700 ? 0 : i < 990 ? 1 : 2)); // 700 / 290 / 10
    const sample = stratifiedSample(y, 3, 101, new Random(3));
    const counts = [0, 0, 0];
    for (const i of sample) counts[y[i]]++;
    expect(counts).toEqual([71, 29, 1]); // 70.7 → 71, 29.29 → 29, 1.01 → 1
    expect(new Set(sample).size).toBe(101);
    expect(Array.from(sample)).toEqual(Array.from(sample).sort((a, b) => a - b));
    expect(Array.from(stratifiedSample(y, 3, 101, new Random(3)))).toEqual(Array.from(sample));
    expect(stratifiedSample(y, 3, 5000, new Random(3))).toHaveLength(1000);
  });
});

describe('sharesOfPositiveDrops', () => {
  it('clips negatives and non-finite values, then sums to 1', () => {
    expect(Array.from(sharesOfPositiveDrops([0.375, -0.1, 0.125, Number.NaN]))).toEqual([0.75, 0, 0.25, 0]);
  });

  it('keeps all-zero input at zero', () => {
    expect(Array.from(sharesOfPositiveDrops([-1, 0]))).toEqual([0, 0]);
  });
});
