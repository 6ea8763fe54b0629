/** Stored models are decoded field by field: a malformed one fails naming the field instead of loading half-broken. */
import { describe, expect, it } from 'vitest';
import { loadModel, trainerFor } from '../../src/ml/models/registry.js';
import type { ModelTypeId, SerializedModel } from '../../src/ml/types.js';
import { ForestModel } from '../../src/ml/models/trees/forest.js';
import { BoostedTreesModel } from '../../src/ml/models/trees/boosting.js';
import { PackedTrees } from '../../src/ml/models/trees/structure.js';
import { StoredFields } from '../../src/ml/models/stored.js';
import { Random } from '../../src/ml/random.js';
import { defaultHyperparameters } from '../../src/ml/catalog.js';
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
    // Stored before (format 1): right children written out.
    const data = gaussianBlobs(3, 120, 4, 3);
    const fitted = await trainerFor('random_forest').fit(data.X, data.y, 3, { n_estimators: 2 }, { seed: 1 });
    const model = instanceOf(fitted, ForestModel);
    const json: SerializedModel = { ...stored(model), formatVersion: 1 };
    json.trees = JSON.parse(JSON.stringify(model.trees.toJSON()));
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

  it('a forest stored compact (format 2) loads the same node arrays, bit for bit, as one stored whole (format 1)', async () => {
    const data = gaussianBlobs(3, 400, 5, 3);
    const fitted = await trainerFor('random_forest').fit(data.X, data.y, 3, { n_estimators: 5 }, { seed: 2 });
    const model = instanceOf(fitted, ForestModel);
    const now = stored(model);
    expect(now.formatVersion).toBe(2);
    const compact = now.trees as Record<string, unknown>;
    for (const left of ['feature', 'threshold', 'left', 'right', 'defaultLeft', 'cover', 'values', 'leafValues'])
      expect(compact[left]).toBeUndefined();
    // The leaves as class counts: values and covers both come from them.
    expect(compact.leafCounts).toBeDefined();
    const before: SerializedModel = {
      ...now,
      formatVersion: 1,
      trees: JSON.parse(JSON.stringify(model.trees.toJSON())),
    };
    const [fromNow, fromBefore] = await Promise.all([loadModel(now), loadModel(before)]);
    const bytes = (a: Int32Array | Float64Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const loaded of [fromNow, fromBefore]) {
      const { trees } = instanceOf(loaded, ForestModel);
      for (const key of [
        'treeStart',
        'feature',
        'threshold',
        'left',
        'right',
        'defaultLeft',
        'cover',
        'values',
      ] as const)
        expect(bytes(trees[key]).equals(bytes(model.trees[key])), key).toBe(true);
    }
    expect(bytes(fromNow.predictProba(data.X)).equals(bytes(model.predictProba(data.X)))).toBe(true);
  });

  it("trees whose parts do not fit the compact form keep them whole (boosting's covers, many thresholds)", async () => {
    const data = gaussianBlobs(3, 400, 5, 3);
    const boosted = instanceOf(
      await trainerFor('xgboost').fit(data.X, data.y, 3, { n_estimators: 4 }, { seed: 2 }),
      BoostedTreesModel,
    );
    // Hessian sums: a split's cover is not always its children's sum in floating point.
    const compact = boosted.trees.toCompactJSON(5);
    const reload = (json: object) =>
      PackedTrees.fromStored(
        StoredFields.of({ modelType: 'xgboost', formatVersion: 1, trees: JSON.parse(JSON.stringify(json)) }, 1).record(
          'trees',
        ),
        5,
        3,
      );
    const bytes = (a: Int32Array | Float64Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const same = (a: PackedTrees, b: PackedTrees) =>
      (['treeStart', 'feature', 'threshold', 'left', 'right', 'defaultLeft', 'cover', 'values'] as const).every((key) =>
        bytes(a[key]).equals(bytes(b[key])),
      );
    expect(same(reload(compact), boosted.trees)).toBe(true);
    // More than 256 distinct thresholds of one feature: thresholds stored whole. Labels as noise grow a big tree.
    const rng = new Random(5);
    const X = { rows: 2000, cols: 5, data: Float64Array.from({ length: 2000 * 5 }, () => rng.next()) };
    const noise = Int32Array.from({ length: 2000 }, () => Math.floor(rng.next() * 3));
    const fitted = await trainerFor('decision_tree').fit(X, noise, 3, defaultHyperparameters('decision_tree'), {
      seed: 2,
    });
    const deep = instanceOf(fitted, ForestModel).trees;
    expect(deep.feature.filter((f) => f >= 0).length).toBeGreaterThan(256);
    const many = new PackedTrees(
      deep.treeStart,
      deep.feature.map((f) => (f >= 0 ? 0 : f)),
      deep.threshold.map((x, v) => (deep.feature[v] >= 0 ? v : 0)),
      deep.left,
      deep.right,
      deep.defaultLeft,
      deep.cover,
      deep.values,
      deep.valueWidth,
      null,
    );
    const json = many.toCompactJSON(5);
    expect(json.threshold).toBeDefined();
    expect(json.thresholdIndex).toBeUndefined();
    expect(same(reload(json), many)).toBe(true);
  });

  it('a compact forest whose threshold index points past its feature is refused', async () => {
    const json = await saved('random_forest', { n_estimators: 2 });
    const trees = json.trees as Record<string, string>;
    const index = Buffer.from(trees.thresholdIndex, 'base64');
    index[0] = 255;
    trees.thresholdIndex = index.toString('base64');
    await expect(loadModel(json)).rejects.toThrow('malformed (model.trees.thresholdIndex)');
  });
});
