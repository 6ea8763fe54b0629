/**
 * TreeSHAP on real models of the three NASA tables (default physics features, the mission's labels): the
 * single-output entry point `treeShap` (the explain path) equals, to 1e-9, both the multi-output walk `treeShapAll`
 * and the published Algorithm 2 (test/unit/treeshap-algorithm2.ts), for every class, on rows with missing values
 * included. The forests are grown to full depth (leaves pure, 20+ levels, the shape `explain` meets).
 */
import { describe, expect, it } from 'vitest';
import { featureMatrix, MISSION_IDS, nasaLabeledTable, selectFeatures } from '../../src/ml/data/index.js';
import { randomForestTrainer, treeShap, treeShapAll, xgboostTrainer } from '../../src/ml/models/trees/index.js';
import {
  helperStats,
  PARALLEL_EXPLAIN_MIN_NODES,
  predictHelperReady,
  predictThreads,
  startPredictHelper,
} from '../../src/ml/models/trees/predict-parallel.js';
import type { Matrix, TrainedClassifier } from '../../src/ml/types.js';
import { nasaTableText } from '../fixtures/nasa.js';
import { ensembleOf } from './models-fixtures.js';
import { treeShapAlgorithm2 } from './treeshap-algorithm2.js';

const TOLERANCE = 1e-9;

/** Largest |treeShap − reference| over `rows` rows spread over the table (some with NaN) and every output. */
function largestDifference(model: TrainedClassifier, X: Matrix, rows: number): { all: number; alg2: number } {
  const ensemble = ensembleOf(model);
  const M = X.cols;
  let all = 0;
  let alg2 = 0;
  let withMissing = 0;
  for (let i = 0; i < rows; i++) {
    const r = Math.floor((i * X.rows) / rows);
    const row = X.data.slice(r * M, (r + 1) * M);
    if (row.some(Number.isNaN)) withMissing++;
    const every = treeShapAll(ensemble, row);
    for (let k = 0; k < ensemble.numOutputs; k++) {
      const fast = treeShap(ensemble, row, k);
      const oracle = treeShapAlgorithm2(ensemble, row, k);
      expect(fast.baseValue).toBe(every.baseValues[k]);
      for (let j = 0; j < M; j++) {
        all = Math.max(all, Math.abs(fast.contributions[j] - every.contributions[k * M + j]));
        alg2 = Math.max(alg2, Math.abs(fast.contributions[j] - oracle.contributions[j]));
      }
    }
  }
  expect(withMissing).toBeGreaterThan(0);
  return { all, alg2 };
}

describe('TreeSHAP on the NASA tables', () => {
  for (const mission of MISSION_IDS) {
    const lt = nasaLabeledTable(mission, nasaTableText(mission));
    const X = featureMatrix(lt, selectFeatures(lt).features);
    const K = lt.classes.length;

    it(`${mission}: random forest (full depth) — treeShap equals treeShapAll and Algorithm 2 to 1e-9`, async () => {
      const model = await randomForestTrainer.fit(X, lt.labels, K, { n_estimators: 12 }, { seed: 3 });
      const { all, alg2 } = largestDifference(model, X, 30);
      expect(all).toBeLessThanOrEqual(TOLERANCE);
      expect(alg2).toBeLessThanOrEqual(TOLERANCE);
    });

    it(`${mission}: boosting — treeShap equals treeShapAll and Algorithm 2 to 1e-9`, async () => {
      const model = await xgboostTrainer.fit(X, lt.labels, K, { n_estimators: 20 }, { seed: 3 });
      const { all, alg2 } = largestDifference(model, X, 30);
      expect(all).toBeLessThanOrEqual(TOLERANCE);
      expect(alg2).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('kepler: a forest explained on two threads (the helper walks half the trees) gives the same bits as on one', async () => {
    const lt = nasaLabeledTable('kepler', nasaTableText('kepler'));
    const X = featureMatrix(lt, selectFeatures(lt).features);
    const model = await randomForestTrainer.fit(X, lt.labels, lt.classes.length, { n_estimators: 30 }, { seed: 4 });
    const ensemble = ensembleOf(model);
    expect(ensemble.trees.reduce((n, tree) => n + tree.nodeCount, 0)).toBeGreaterThan(3 * PARALLEL_EXPLAIN_MIN_NODES);
    const saved = predictThreads.count;
    try {
      startPredictHelper();
      for (let waited = 0; !predictHelperReady() && waited < 200; waited++) await new Promise((r) => setTimeout(r, 50));
      expect(predictHelperReady()).toBe(true);
      const parts = helperStats.explainParts;
      for (let i = 0; i < 10; i++) {
        const r = i * 601;
        const row = X.data.slice(r * X.cols, (r + 1) * X.cols);
        for (let k = 0; k < ensemble.numOutputs; k++) {
          predictThreads.count = 1;
          const one = treeShap(ensemble, row, k).contributions;
          predictThreads.count = 2;
          const two = treeShap(ensemble, row, k).contributions;
          expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
        }
      }
      expect(helperStats.explainParts - parts).toBe(10 * ensemble.numOutputs);
    } finally {
      predictThreads.count = saved;
    }
  });
});
