import { describe, it, expect } from 'vitest';
import { defaultHyperparameters } from '../../src/ml/catalog.js';
import { ColumnTable } from '../../src/ml/data/columns.js';
import { customLabeledTable } from '../../src/ml/data/dataset.js';
import { DEFAULT_SPLIT_SIZES } from '../../src/ml/data/split.js';
import { syntheticCsv } from '../../src/ml/data/synthetic-table.js';
import { trainPipeline, type PipelineConfig } from '../../src/ml/pipeline.js';
import { BoostedTreesModel, xgboostTrainer } from '../../src/ml/models/trees/boosting.js';
import {
  helperStats,
  PARALLEL_PREDICT_MIN_WORK,
  predictHelperReady,
  predictThreads,
  startPredictHelper,
} from '../../src/ml/models/trees/predict-parallel.js';
import { importanceDataset } from '../fixtures/importance-data.js';
import { instanceOf } from './models-fixtures.js';

/** Same bits, element by element (Object.is: -0 and NaN told apart). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe.runIf(predictThreads.count >= 2)(
  "boosting's evaluation keeps a small test split on the training thread",
  async () => {
    startPredictHelper();
    for (let waited = 0; !predictHelperReady() && waited < 400; waited++) await new Promise((r) => setTimeout(r, 50));

    it('predictProba(X, 1) walks a large batch on this thread, with the bits of the two-thread walk', async () => {
      expect(predictHelperReady()).toBe(true);
      const train = importanceDataset(1500, 3, 0.1);
      const test = importanceDataset(2000, 4, 0.1);
      const model = instanceOf(
        await xgboostTrainer.fit(train.X, train.y, 3, defaultHyperparameters('xgboost'), { seed: 9 }),
        BoostedTreesModel,
      );
      let batches = helperStats.batches;
      const two = model.predictProba(test.X);
      expect(helperStats.batches).toBe(batches + 1);
      batches = helperStats.batches;
      const one = model.predictProba(test.X, 1);
      expect(helperStats.batches).toBe(batches);
      expect(sameBits(one, two)).toBe(true);
    });

    it('a 20,000-row run evaluates without the helper (its slices large enough for it) and reports the same figures', async () => {
      const table = customLabeledTable(
        await ColumnTable.readBytes(new TextEncoder().encode([...syntheticCsv(20_000)].join(''))),
        'label',
      );
      const config: PipelineConfig = {
        modelType: 'xgboost',
        hyperparameters: { ...defaultHyperparameters('xgboost'), n_estimators: 130 },
        features: null,
        useVettingFeatures: false,
        task: 'THREE_CLASS',
        split: DEFAULT_SPLIT_SIZES,
        seed: 42,
      };
      const batches = helperStats.batches;
      const permuteParts = helperStats.permuteParts;
      const two = await trainPipeline(table, config, { threads: 2 });
      // 4,000 test rows in tenths of 400 × 130 trees: above PARALLEL_PREDICT_MIN_WORK, below the evaluation's bound.
      expect((two.splitCounts.test / 10) * 130).toBeGreaterThanOrEqual(PARALLEL_PREDICT_MIN_WORK);
      expect(helperStats.batches).toBe(batches);
      // The permutation still shares its trees with the helper.
      expect(helperStats.permuteParts).toBe(permuteParts + 1);
      const one = await trainPipeline(table, config, { threads: 1 });
      expect(sameBits(two.heldOut.proba, one.heldOut.proba)).toBe(true);
      expect(two.metrics).toEqual(one.metrics);
      expect(two.featureImportance).toEqual(one.featureImportance);
    });
  },
);
