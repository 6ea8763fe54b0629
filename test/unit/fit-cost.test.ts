import { describe, expect, it } from 'vitest';
import { MODEL_TYPE_IDS, resolveParams } from '../../src/ml/catalog.js';
import { estimateFitCost, type FitShape, type ResolvedModel } from '../../src/ml/cost.js';

const KEPLER: FitShape = { rows: 6694, features: 30, classes: 3 };
const LARGE: FitShape = { rows: 140_000, features: 20, classes: 2 };

describe('estimateFitCost', () => {
  it('refuses nothing at the defaults: every model type on Kepler and on 140,000 training rows stays far below 30 min', () => {
    const defaults: ResolvedModel[] = [
      { modelType: 'random_forest', params: resolveParams('random_forest', {}) },
      { modelType: 'xgboost', params: resolveParams('xgboost', {}) },
      { modelType: 'neural_network', params: resolveParams('neural_network', {}) },
      { modelType: 'logistic_regression', params: resolveParams('logistic_regression', {}) },
      { modelType: 'decision_tree', params: resolveParams('decision_tree', {}) },
      { modelType: 'svm', params: resolveParams('svm', {}) },
      { modelType: 'pca', params: resolveParams('pca', {}) },
      // Nothing is fitted: the members' stored models predict.
      { modelType: 'soft_voting', params: resolveParams('soft_voting', {}) },
    ];
    expect(defaults.map((model) => model.modelType).sort()).toEqual([...MODEL_TYPE_IDS].sort());
    for (const model of defaults) {
      expect(estimateFitCost(model, KEPLER).seconds, model.modelType).toBeLessThan(60);
      expect(estimateFitCost(model, LARGE).seconds, model.modelType).toBeLessThan(900);
    }
  });

  it('puts the largest accepted network (6 × 1,024 units, batch 1, 1,000 epochs) on Kepler far past the budget, and says why', () => {
    const estimate = estimateFitCost(
      {
        modelType: 'neural_network',
        params: resolveParams('neural_network', {
          hidden_layers: [1024, 1024, 1024, 1024, 1024, 1024],
          batch_size: 1,
          epochs: 1000,
        }),
      },
      KEPLER,
    );
    expect(estimate.seconds).toBeGreaterThan(10 * 1800);
    expect(estimate.drivers).toContain('1,000 epochs');
    expect(estimate.drivers).toContain('batch_size 1');
    expect(estimate.drivers).toContain('[1024, 1024, 1024, 1024, 1024, 1024]');
  });

  it('counts what every batch costs a network whatever its rows: batch 1 about 10× batch 32', () => {
    const network = (batch_size: number) =>
      estimateFitCost(
        {
          modelType: 'neural_network',
          params: resolveParams('neural_network', { hidden_layers: [256, 256], batch_size }),
        },
        KEPLER,
      ).seconds;
    // Measured (CPU time, load average 19): 0.65 ms per row at batch 1, 0.056 ms at batch 32.
    expect(network(1) / network(32)).toBeGreaterThan(6);
    expect(network(1) / network(32)).toBeLessThan(12);
  });

  it('grows with what costs: rows, rounds, depth, trees, epochs; SVM stops growing at max_train_rows', () => {
    const boosting = (n_estimators: number, max_depth: number, shape = KEPLER) =>
      estimateFitCost({ modelType: 'xgboost', params: resolveParams('xgboost', { n_estimators, max_depth }) }, shape)
        .seconds;
    expect(boosting(200, 6)).toBeCloseTo(2 * boosting(100, 6), 10);
    expect(boosting(100, 12)).toBeCloseTo(2 * boosting(100, 6), 10);
    expect(boosting(100, 6, { ...KEPLER, classes: 2 })).toBeCloseTo(boosting(100, 6) / 3, 10);
    const forest = (n_estimators: number, rows: number) =>
      estimateFitCost(
        { modelType: 'random_forest', params: resolveParams('random_forest', { n_estimators }) },
        { ...KEPLER, rows },
      ).seconds;
    expect(forest(200, 6694)).toBeCloseTo(2 * forest(100, 6694), 10);
    expect(forest(100, 60_000)).toBeGreaterThan(9 * forest(100, 6694));
    const svm = (rows: number) =>
      estimateFitCost({ modelType: 'svm', params: resolveParams('svm', { max_train_rows: 5000 }) }, { ...KEPLER, rows })
        .seconds;
    expect(svm(2500) * 4).toBeCloseTo(svm(5000), 10);
    expect(svm(50_000)).toBe(svm(5000));
  });
});
