import { describe, it, expect } from 'vitest';
import { permutationImportance } from '../../src/ml/explain/permutation.js';
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

describe('sharesOfPositiveDrops', () => {
  it('clips negatives and non-finite values, then sums to 1', () => {
    expect(Array.from(sharesOfPositiveDrops([0.375, -0.1, 0.125, Number.NaN]))).toEqual([0.75, 0, 0.25, 0]);
  });

  it('keeps all-zero input at zero', () => {
    expect(Array.from(sharesOfPositiveDrops([-1, 0]))).toEqual([0, 0]);
  });
});
