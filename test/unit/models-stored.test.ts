/** Stored models are decoded field by field: a malformed one fails naming the field instead of loading half-broken. */
import { describe, expect, it } from 'vitest';
import { loadModel, trainerFor } from '../../src/ml/models/registry.js';
import type { ModelTypeId, SerializedModel } from '../../src/ml/types.js';
import { ForestModel } from '../../src/ml/models/trees/forest.js';
import { BoostedTreesModel } from '../../src/ml/models/trees/boosting.js';
import { gaussianBlobs, instanceOf, stored } from './models-fixtures.js';

async function saved(modelType: ModelTypeId, params: Record<string, number>): Promise<SerializedModel> {
  const data = gaussianBlobs(3, 120, 4, 3);
  const model = await trainerFor(modelType).fit(data.X, data.y, 3, params, { seed: 1 });
  return stored(model);
}

describe('malformed stored models', () => {
  it.each<[ModelTypeId, Record<string, number>, string, (json: SerializedModel) => void]>([
    ['logistic_regression', {}, 'model.coef', (j) => (j.coef = [1, 'x'])],
    ['logistic_regression', {}, 'model.numFeatures', (j) => (j.numFeatures = -1)],
    ['pca', { n_components: 2 }, 'model.components', (j) => (j.components = [])],
    ['svm', {}, 'model.kernel', (j) => (j.kernel = 'quantum')],
    ['svm', {}, 'model.pairs[0].rho', (j) => ((j.pairs as Record<string, unknown>[])[0].rho = '0')],
    [
      'random_forest',
      { n_estimators: 3 },
      'model.trees.left',
      (j) => ((j.trees as Record<string, unknown>).left = 'AAAA'),
    ],
    ['random_forest', { n_estimators: 3 }, 'model.featureImportance', (j) => (j.featureImportance = null)],
    ['xgboost', { n_estimators: 3 }, 'model.trees', (j) => (j.trees = 'none')],
    [
      'xgboost',
      { n_estimators: 3 },
      'model.trees.leafValues',
      (j) => ((j.trees as Record<string, unknown>).leafValues = 'AAAAAAAAAAA='),
    ],
    ['xgboost', { n_estimators: 3 }, 'model.history[0].step', (j) => ((j.history as unknown[])[0] = { loss: 1 })],
  ])('%s with a bad %s… is refused naming %s', async (modelType, params, field, spoil) => {
    const json = await saved(modelType, params);
    await expect(loadModel(json)).resolves.toBeDefined();
    spoil(json);
    await expect(loadModel(json)).rejects.toThrow(`malformed (${field})`);
  });

  it('a forest whose child points outside its tree is refused', async () => {
    const json = await saved('random_forest', { n_estimators: 2 });
    const trees = json.trees as Record<string, string>;
    const right = new Int32Array(new Uint8Array(Buffer.from(trees.right, 'base64')).buffer);
    right[0] = 1_000_000; // the root is a split in these blobs
    trees.right = Buffer.from(right.buffer).toString('base64');
    await expect(loadModel(json)).rejects.toThrow('malformed (model.trees.right)');
  });

  it.each<[ModelTypeId, Record<string, number>]>([
    ['random_forest', { n_estimators: 3 }],
    ['xgboost', { n_estimators: 3 }],
  ])(
    "%s trees stored before (left children, every node's values) still load, predicting the same",
    async (modelType, params) => {
      const data = gaussianBlobs(3, 120, 4, 3);
      const model = await trainerFor(modelType).fit(data.X, data.y, 3, params, { seed: 1 });
      const { trees } = modelType === 'xgboost' ? instanceOf(model, BoostedTreesModel) : instanceOf(model, ForestModel);
      const json = stored(model);
      const now = json.trees as Record<string, unknown>;
      // Stored now: no left children (the pre-order layout) and the leaves' values only.
      expect(now.left).toBeUndefined();
      expect(now.values).toBeUndefined();
      const base64 = (a: Int32Array | Float64Array) =>
        Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
      // Split nodes held values too (unused); written here non-zero as older fits had them.
      const values = trees.values.map((v, i) => (trees.feature[Math.floor(i / trees.valueWidth)] >= 0 ? 0.5 : v));
      const { leafValues: _leafValues, ...rest } = now;
      const before = { ...json, trees: { ...rest, left: base64(trees.left), values: base64(values) } };
      const [fromNow, fromBefore] = await Promise.all([loadModel(json), loadModel(before)]);
      const expected = Array.from(model.predictProba(data.X));
      expect(Array.from(fromNow.predictProba(data.X))).toEqual(expected);
      expect(Array.from(fromBefore.predictProba(data.X))).toEqual(expected);
    },
  );
});
