/**
 * One parameter contract: the catalog resolves every model's parameters (and alone refuses bad ones), the model obeys
 * them, saves them in full, and a saved model loads with exactly what it stored — not with whatever the catalog's
 * defaults are by then. Models saved before the parameters were stored load with the catalog's defaults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import { getModelSpec, resolveParams, storedParams } from '../../src/ml/catalog.js';
import { loadModel, trainerFor } from '../../src/ml/models/registry.js';
import { treeEnsembleOf } from '../../src/ml/models/trees/index.js';
import type { Hyperparameters, HyperparameterValue, ModelTypeId, SerializedModel } from '../../src/ml/types.js';
import { gaussianBlobs } from './models-fixtures.js';

const data = gaussianBlobs(3, 240, 4, 3);

/** Changes a catalog default for one test (restored afterwards). */
const restores: (() => void)[] = [];
function changeDefault(modelType: ModelTypeId, name: string, value: HyperparameterValue): void {
  const spec = getModelSpec(modelType).hyperparameters.find((h) => h.name === name);
  if (!spec) throw new Error(`no ${name} in ${modelType}`);
  const before = spec.default;
  spec.default = value;
  restores.push(() => {
    spec.default = before;
  });
}
afterEach(() => {
  for (const restore of restores.splice(0)) restore();
});

function roundTrip(json: SerializedModel): SerializedModel {
  return JSON.parse(JSON.stringify(json)) as SerializedModel;
}

describe('trainers obey the parameters the catalog resolved', () => {
  it('random forest: tree count, depth and the full resolved set on the model and in its JSON', async () => {
    const model = await trainerFor('random_forest').fit(
      data.X,
      data.y,
      3,
      { n_estimators: '7', max_depth: 2 },
      { seed: 1 },
    );
    const expected = resolveParams('random_forest', { n_estimators: 7, max_depth: 2 });
    expect(model.params).toEqual(expected);
    expect(model.toJSON().params).toEqual(expected);
    const ensemble = treeEnsembleOf(model);
    expect(ensemble?.trees).toHaveLength(7);
    for (const tree of ensemble?.trees ?? []) {
      const depth = (node: number): number =>
        tree.feature[node] < 0 ? 0 : 1 + Math.max(depth(tree.left[node]), depth(tree.right[node]));
      expect(depth(0)).toBeLessThanOrEqual(2);
    }
  });

  it('xgboost rounds, logistic iterations, PCA components, SVM kernel and network layers follow their parameters', async () => {
    const fit = (modelType: ModelTypeId, params: Hyperparameters) =>
      trainerFor(modelType).fit(data.X, data.y, 3, params, { seed: 2 });
    const boosted = await fit('xgboost', { n_estimators: 3, max_depth: 2 });
    expect(treeEnsembleOf(boosted)?.trees).toHaveLength(3 * 3);
    const logistic = await fit('logistic_regression', { max_iter: 10 });
    expect(logistic.history()).toHaveLength(10);
    expect((await fit('logistic_regression', {})).history().length).toBeGreaterThan(10);
    const pca = await fit('pca', { n_components: 2 });
    expect(pca.toJSON().numComponents).toBe(2);
    const svm = await fit('svm', { kernel: 'linear', C: 3 });
    expect(svm.toJSON()).toMatchObject({ kernel: 'linear', C: 3 });
    const network = await fit('neural_network', { hidden_layers: '6,5', epochs: 2, early_stopping_patience: 0 });
    expect(network.history()).toHaveLength(2);
    const json = network.toJSON() as SerializedModel & { weightSpecs: { shape: number[] }[] };
    expect(json.weightSpecs.filter((w) => w.shape.length === 2).map((w) => w.shape)).toEqual([
      [4, 6],
      [6, 5],
      [5, 3],
    ]);
  }, 60_000);
});

describe('unknown and invalid parameters are refused by the catalog, before any model code runs', () => {
  it.each<[ModelTypeId, Hyperparameters, string]>([
    ['random_forest', { n_trees: 5 }, 'hyperparameters.n_trees'],
    ['random_forest', { n_estimators: 0 }, 'hyperparameters.n_estimators'],
    ['xgboost', { max_depth: 0 }, 'hyperparameters.max_depth'],
    ['neural_network', { hidden_layers: [0] }, 'hyperparameters.hidden_layers'],
    ['svm', { gamma: 'big' }, 'hyperparameters.gamma'],
    ['pca', { whiten: true }, 'hyperparameters.whiten'],
  ])('%s %o → %s', async (modelType, params, field) => {
    const error: unknown = await trainerFor(modelType)
      .fit(data.X, data.y, 3, params, { seed: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

describe('a saved model loads with the parameters it stored', () => {
  it('whatever the catalog defaults are at load time', async () => {
    const model = await trainerFor('random_forest').fit(data.X, data.y, 3, { n_estimators: 4 }, { seed: 3 });
    const json = roundTrip(model.toJSON());
    changeDefault('random_forest', 'max_depth', 3);
    changeDefault('random_forest', 'criterion', 'entropy');
    const loaded = await loadModel(json);
    expect(loaded.params).toEqual(model.params);
    expect(loaded.params).toMatchObject({ max_depth: null, criterion: 'gini', n_estimators: 4 });
    expect(Array.from(loaded.predictProba(data.X))).toEqual(Array.from(model.predictProba(data.X)));

    const network = await trainerFor('neural_network').fit(
      data.X,
      data.y,
      3,
      { hidden_layers: [5], epochs: 1 },
      { seed: 3 },
    );
    changeDefault('neural_network', 'hidden_layers', [7, 7]);
    const reloaded = await loadModel(roundTrip(network.toJSON()));
    expect(reloaded.params).toMatchObject({ hidden_layers: [5], epochs: 1 });
    expect(Array.from(reloaded.predictProba(data.X))).toEqual(Array.from(network.predictProba(data.X)));
  }, 60_000);

  it('stored values are taken as stored: no coercion, no bounds (a tightened bound does not refuse an old model)', () => {
    expect(storedParams('xgboost', { n_estimators: 5000, max_depth: 30 })).toMatchObject({
      n_estimators: 5000,
      max_depth: 30,
    });
    expect(() => storedParams('xgboost', { n_estimators: '5' })).toThrow(TypeError);
  });

  it('a model saved before parameters were stored loads with the catalog defaults, resolved once', async () => {
    for (const modelType of ['decision_tree', 'xgboost', 'logistic_regression', 'svm', 'pca'] as const) {
      const model = await trainerFor(modelType).fit(data.X, data.y, 3, {}, { seed: 4 });
      const { params: _dropped, ...legacy } = roundTrip(model.toJSON());
      const loaded = await loadModel(legacy);
      expect(loaded.params).toEqual(resolveParams(modelType, {}));
      expect(Array.from(loaded.predictProba(data.X))).toEqual(Array.from(model.predictProba(data.X)));
    }
  }, 60_000);

  it('an old forest JSON with engine settings beside the catalog names keeps the catalog names only', async () => {
    const tree = await trainerFor('decision_tree').fit(data.X, data.y, 3, { max_depth: 3 }, { seed: 5 });
    const json = roundTrip(tree.toJSON());
    // What decision trees stored before: the forest's reading of their parameters.
    json.params = {
      ...tree.params,
      n_estimators: 1,
      max_features: 'all',
      bootstrap: false,
    };
    const loaded = await loadModel(json);
    expect(loaded.params).toEqual({ max_depth: 3, min_samples_split: 2, min_samples_leaf: 1, criterion: 'gini' });
  });
});
