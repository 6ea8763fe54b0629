import { describe, expect, it } from 'vitest';
import { fitPca, pcaTrainer, pcaTransform } from '../../src/ml/models/pca.js';
import { Random } from '../../src/ml/random.js';
import type { Matrix } from '../../src/ml/types.js';
import { accuracy, gaussianBlobs, stored } from './models-fixtures.js';

/** Independent axes with standard deviations 5, 3, 1, 0.5, 0.1, then rotated by a random orthogonal matrix. */
function rotatedData(rows: number): { X: Matrix; rotation: number[][] } {
  const rng = new Random(21);
  const sd = [5, 3, 1, 0.5, 0.1];
  const d = sd.length;
  // Gram–Schmidt on random vectors → orthonormal rows.
  const rotation: number[][] = [];
  while (rotation.length < d) {
    const v = Array.from({ length: d }, () => rng.normal());
    for (const u of rotation) {
      const proj = u.reduce((s, ui, j) => s + ui * v[j], 0);
      for (let j = 0; j < d; j++) v[j] -= proj * u[j];
    }
    const norm = Math.hypot(...v);
    rotation.push(v.map((x) => x / norm));
  }
  const data = new Float64Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const z = sd.map((s) => s * rng.normal());
    for (let j = 0; j < d; j++) data[i * d + j] = 10 + z.reduce((s, zk, k) => s + zk * rotation[k][j], 0);
  }
  return { X: { rows, cols: d, data }, rotation };
}

describe('pca', () => {
  it('finds orthonormal components along the true axes with their variances', () => {
    const { X, rotation } = rotatedData(20000);
    const p = fitPca(X, 5, false);
    const d = 5;
    for (let a = 0; a < 5; a++) {
      for (let b = 0; b < 5; b++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += p.components[a * d + j] * p.components[b * d + j];
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
      // Component a is ± the a-th true axis.
      let alignment = 0;
      for (let j = 0; j < d; j++) alignment += p.components[a * d + j] * rotation[a][j];
      expect(Math.abs(alignment)).toBeGreaterThan(0.999);
    }
    [25, 9, 1, 0.25, 0.01].forEach((variance, c) => {
      expect(p.explainedVariance[c] / variance).toBeCloseTo(1, 1);
    });
    expect(p.explainedVarianceRatio.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    // Projections are uncorrelated with the component variances; whitening gives unit variance.
    const Z = pcaTransform(fitPca(X, 3, true), X);
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < Z.rows; i++) {
        s += Z.data[i * 3 + c];
        s2 += Z.data[i * 3 + c] ** 2;
      }
      expect(s / Z.rows).toBeCloseTo(0, 10);
      expect(s2 / (Z.rows - 1)).toBeCloseTo(1, 8);
    }
  });

  it('chooses the number of components from a variance share (scikit-learn rule) or a count', () => {
    const { X } = rotatedData(20000);
    // Shares ≈ 0.709, 0.255, 0.028, 0.007, 0.0003 → cumulative 0.709, 0.964, 0.992, 0.9997.
    expect(fitPca(X, 0.5, false).numComponents).toBe(1);
    expect(fitPca(X, 0.95, false).numComponents).toBe(2);
    expect(fitPca(X, 0.99, false).numComponents).toBe(3);
    expect(fitPca(X, 0.999, false).numComponents).toBe(4);
    expect(fitPca(X, 0.9999, false).numComponents).toBe(5);
    expect(fitPca(X, 4, false).numComponents).toBe(4);
    expect(fitPca(X, 50, false).numComponents).toBe(5);
  });

  it('classifies blobs through the components; importance goes back to the informative inputs; round-trips', async () => {
    const train = gaussianBlobs(31, 900, 8, 3);
    const test = gaussianBlobs(32, 600, 8, 3);
    const model = await pcaTrainer.fit(
      train.X,
      train.y,
      3,
      { n_components: 2, C: 1, max_iter: 500 },
      { seed: 1, validation: test },
    );
    const proba = model.predictProba(test.X);
    expect(accuracy(proba, test.y, 3)).toBeGreaterThan(0.95);
    for (let i = 0; i < test.X.rows; i++) expect(proba[i * 3] + proba[i * 3 + 1] + proba[i * 3 + 2]).toBeCloseTo(1, 12);
    const importance = model.featureImportance();
    expect(importance.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    const informative = importance[0] + importance[1] + importance[2];
    expect(informative).toBeGreaterThan(0.8);
    expect(model.history().length).toBeGreaterThan(0);
    const loaded = await pcaTrainer.load(stored(model));
    expect(Array.from(loaded.predictProba(test.X))).toEqual(Array.from(proba));
    const again = await pcaTrainer.fit(train.X, train.y, 3, { n_components: 2, C: 1, max_iter: 500 }, { seed: 2 });
    expect(again.toJSON()).toEqual({ ...model.toJSON(), history: again.history() });
    // `whiten` is not a catalog hyperparameter (no request could set it): the trainer takes the catalog's only.
    await expect(pcaTrainer.fit(train.X, train.y, 3, { whiten: true }, { seed: 1 })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'hyperparameters.whiten',
    });
  });
});
