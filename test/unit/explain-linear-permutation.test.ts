/**
 * Linear permutation importance (issue 17 goal 4): a logistic regression's and a PCA + LR's shuffled copies scored
 * by moving their class scores give what predicting every shuffled copy gives (same shuffles, every row).
 */
import { describe, expect, it } from 'vitest';
import { hasLinearScores, linearPermutationImportance } from '../../src/ml/explain/linear-permutation.js';
import { permutationImportance } from '../../src/ml/explain/permutation.js';
import { trainerFor } from '../../src/ml/models/registry.js';
import type { Matrix } from '../../src/ml/types.js';
import { importanceDataset } from '../fixtures/importance-data.js';

/** The fixture's three classes, or two (class 2 against the rest). */
function data(classes: 2 | 3): { X: Matrix; y: Int32Array } {
  const { X, y } = importanceDataset(1200, 7);
  return { X, y: classes === 3 ? y : Int32Array.from(y, (c) => (c === 2 ? 1 : 0)) };
}

describe('linearPermutationImportance', () => {
  for (const [modelType, params] of [
    ['logistic_regression', { C: 1 }],
    ['pca', { n_components: 3, C: 1 }],
  ] as const) {
    for (const classes of [2, 3] as const) {
      it(`${modelType}, ${classes} classes: equals predicting every shuffled copy`, async () => {
        const { X, y } = data(classes);
        const model = await trainerFor(modelType).fit(X, y, classes, params, { seed: 1 });
        if (!hasLinearScores(model)) throw new Error(`${modelType} states no linear scores`);
        const options = { repeats: 4, seed: 9 };
        const fast = linearPermutationImportance(model.linearScores(), X, y, classes, options);
        const full = permutationImportance((M) => model.predictProba(M), X, y, classes, options);
        expect(fast.baseline).toBe(full.baseline);
        expect(fast.rowsPerRepeat).toBe(X.rows);
        for (let j = 0; j < X.cols; j++) {
          expect(fast.mean[j]).toBeCloseTo(full.mean[j], 12);
          expect(fast.std[j]).toBeCloseTo(full.std[j], 12);
          expect(fast.ci95[j]).toBeCloseTo(full.ci95[j], 12);
        }
        // The signal features matter, the never-used one hardly.
        expect(fast.mean[0]).toBeGreaterThan(0.1);
      });

      it(`${modelType}, ${classes} classes: a sample per repeat, as permutationImportance draws it`, async () => {
        const { X, y } = data(classes);
        const model = await trainerFor(modelType).fit(X, y, classes, params, { seed: 1 });
        if (!hasLinearScores(model)) throw new Error(`${modelType} states no linear scores`);
        const baselineProba = model.predictProba(X);
        const options = { repeats: 4, seed: 9, rowsPerRepeat: 300, baselineProba };
        const fast = linearPermutationImportance(model.linearScores(), X, y, classes, options);
        const full = permutationImportance((M) => model.predictProba(M), X, y, classes, options);
        expect(fast.rowsPerRepeat).toBe(300);
        expect(fast.baseline).toBe(full.baseline);
        for (let j = 0; j < X.cols; j++) {
          expect(fast.mean[j]).toBeCloseTo(full.mean[j], 12);
          expect(fast.ci95[j]).toBeCloseTo(full.ci95[j], 12);
        }
      });
    }
  }

  it('forests and other models state no linear scores', async () => {
    const { X, y } = data(3);
    const tree = await trainerFor('decision_tree').fit(X, y, 3, {}, { seed: 1 });
    expect(hasLinearScores(tree)).toBe(false);
  });
});
