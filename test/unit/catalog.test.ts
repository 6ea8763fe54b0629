import { describe, it, expect } from 'vitest';
import {
  MODEL_CATALOG,
  defaultHyperparameters,
  describeAllowed,
  getModelSpec,
  resolveModelType,
  toCatalogNames,
  validateHyperparameters,
} from '../../src/ml/catalog.js';
import { AppError } from '../../src/domain/errors.js';
import type { ModelTypeId } from '../../src/ml/types.js';

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a HyperparameterError');
}

describe('catalog contents', () => {
  it('lists the eight model types once each', () => {
    expect(MODEL_CATALOG.map((m) => m.id).sort()).toEqual([
      'decision_tree',
      'logistic_regression',
      'neural_network',
      'pca',
      'random_forest',
      'soft_voting',
      'svm',
      'xgboost',
    ]);
  });

  it('marks tree models as NaN-native and unscaled, the others as needing imputation and scaling', () => {
    for (const spec of MODEL_CATALOG) {
      // A soft_voting run's members preprocess for themselves.
      if (spec.id === 'soft_voting') {
        expect(spec).toMatchObject({ family: 'ensemble', hasTreeStructure: false });
        expect(spec.preprocessing).toEqual({ impute: false, scale: false });
        continue;
      }
      const tree = ['random_forest', 'xgboost', 'decision_tree'].includes(spec.id);
      expect(spec.family === 'tree').toBe(tree);
      expect(spec.hasTreeStructure).toBe(tree);
      expect(spec.preprocessing).toEqual({ impute: !tree, scale: !tree });
    }
    expect(getModelSpec('svm').family).toBe('kernel');
    expect(getModelSpec('neural_network').family).toBe('neural');
    expect(getModelSpec('pca').family).toBe('linear');
  });

  it('has defaults that pass their own validation, for every model', () => {
    for (const spec of MODEL_CATALOG) {
      const defaults = defaultHyperparameters(spec.id);
      expect(validateHyperparameters(spec.id, defaults)).toEqual(defaults);
      expect(validateHyperparameters(spec.id, {})).toEqual(defaults);
      expect(validateHyperparameters(spec.id, undefined)).toEqual(defaults);
      for (const p of spec.hyperparameters) {
        expect(p.description.length).toBeGreaterThan(5);
        if (p.type === 'enum') expect(p.choices).toContain(p.default);
      }
    }
  });

  it('has the documented defaults', () => {
    expect(defaultHyperparameters('random_forest')).toEqual({
      n_estimators: 100,
      max_depth: null,
      min_samples_split: 2,
      min_samples_leaf: 1,
      criterion: 'gini',
      max_features: 'sqrt',
      bootstrap: true,
    });
    expect(defaultHyperparameters('xgboost')).toEqual({
      n_estimators: 100,
      max_depth: 6,
      learning_rate: 0.1,
      reg_lambda: 1,
      reg_alpha: 0,
      gamma: 0,
      min_child_weight: 1,
      subsample: 1,
      colsample_bytree: 1,
      early_stopping_rounds: null,
      max_bin: 255,
    });
    expect(defaultHyperparameters('neural_network')).toEqual({
      hidden_layers: [128, 64, 32],
      activation: 'relu',
      dropout_rate: 0.2,
      batch_norm: false,
      learning_rate: 0.001,
      epochs: 100,
      batch_size: 32,
      alpha: 0.0001,
      early_stopping_patience: 10,
      tol: 0.0001,
    });
    expect(defaultHyperparameters('logistic_regression')).toEqual({ C: 1, max_iter: 1000 });
    expect(defaultHyperparameters('decision_tree')).toEqual({
      max_depth: null,
      min_samples_split: 2,
      min_samples_leaf: 1,
      criterion: 'gini',
    });
    expect(defaultHyperparameters('svm')).toEqual({
      C: 1,
      kernel: 'rbf',
      gamma: 'scale',
      degree: 3,
      coef0: 0,
      max_train_rows: 10000,
    });
    expect(defaultHyperparameters('pca')).toEqual({ n_components: 0.95, C: 1, max_iter: 1000 });
  });

  it('returns fresh copies of list defaults', () => {
    const a = defaultHyperparameters('neural_network');
    (a.hidden_layers as number[]).push(7);
    expect(defaultHyperparameters('neural_network').hidden_layers).toEqual([128, 64, 32]);
  });
});

describe('resolveModelType', () => {
  const cases: [string, ModelTypeId][] = [
    ['random_forest', 'random_forest'],
    ['rf', 'random_forest'],
    ['random_forests', 'random_forest'],
    ['xgb', 'xgboost'],
    ['gradient_boosting', 'xgboost'],
    ['deep_learning', 'neural_network'],
    ['nn', 'neural_network'],
    ['MLP', 'neural_network'],
    ['linear_regression', 'logistic_regression'],
    ['logistic', 'logistic_regression'],
    ['lr', 'logistic_regression'],
    ['tree', 'decision_tree'],
    ['cart', 'decision_tree'],
    ['dt', 'decision_tree'],
    ['support_vector_machine', 'svm'],
    ['svc', 'svm'],
    ['principal_component_analysis', 'pca'],
    ['  XGBoost ', 'xgboost'],
    ['Random Forest', 'random_forest'],
    ['decision-tree', 'decision_tree'],
  ];
  it.each(cases)('%s → %s', (input, id) => {
    expect(resolveModelType(input)).toBe(id);
  });

  it('returns null for unknown ids', () => {
    expect(resolveModelType('kmeans')).toBeNull();
    expect(resolveModelType('')).toBeNull();
  });
});

describe('validateHyperparameters: accepted input', () => {
  it('fills defaults around the given values and keeps spec order', () => {
    const params = validateHyperparameters('xgboost', { max_depth: 3, learning_rate: 0.3 });
    expect(params.max_depth).toBe(3);
    expect(params.learning_rate).toBe(0.3);
    expect(params.n_estimators).toBe(100);
    expect(Object.keys(params)).toEqual(getModelSpec('xgboost').hyperparameters.map((p) => p.name));
  });

  it('coerces strings sent by HTML forms', () => {
    expect(
      validateHyperparameters('random_forest', {
        n_estimators: '250',
        max_depth: ' 12 ',
        bootstrap: 'false',
        max_features: 'LOG2',
        criterion: 'entropy',
      }),
    ).toMatchObject({ n_estimators: 250, max_depth: 12, bootstrap: false, max_features: 'log2', criterion: 'entropy' });
    expect(
      validateHyperparameters('xgboost', { learning_rate: '0.05', subsample: '.8', n_estimators: '1e2' }),
    ).toMatchObject({
      learning_rate: 0.05,
      subsample: 0.8,
      n_estimators: 100,
    });
    expect(validateHyperparameters('neural_network', { batch_norm: 'true' }).batch_norm).toBe(true);
    expect(validateHyperparameters('neural_network', { batch_norm: 'on' }).batch_norm).toBe(true);
  });

  it('reads integer lists from arrays, JSON text and comma lists', () => {
    expect(validateHyperparameters('neural_network', { hidden_layers: [64, 32] }).hidden_layers).toEqual([64, 32]);
    expect(validateHyperparameters('neural_network', { hidden_layers: '[64, 32]' }).hidden_layers).toEqual([64, 32]);
    expect(validateHyperparameters('neural_network', { hidden_layers: '64,32,16' }).hidden_layers).toEqual([
      64, 32, 16,
    ]);
    expect(validateHyperparameters('neural_network', { hidden_layers: ['8', '4'] }).hidden_layers).toEqual([8, 4]);
    expect(validateHyperparameters('neural_network', { hidden_layers: 16 }).hidden_layers).toEqual([16]);
  });

  it('accepts null and its spellings for nullable params', () => {
    for (const none of [null, 'none', 'None', 'null', '']) {
      expect(validateHyperparameters('random_forest', { max_depth: none }).max_depth).toBeNull();
    }
    expect(validateHyperparameters('xgboost', { early_stopping_rounds: '20' }).early_stopping_rounds).toBe(20);
  });

  it('accepts svm gamma as a special word or a positive number', () => {
    expect(validateHyperparameters('svm', { gamma: 'auto' }).gamma).toBe('auto');
    expect(validateHyperparameters('svm', { gamma: 'Scale' }).gamma).toBe('scale');
    expect(validateHyperparameters('svm', { gamma: 0.01 }).gamma).toBe(0.01);
    expect(validateHyperparameters('svm', { gamma: '2' }).gamma).toBe(2);
  });

  it('accepts pca n_components as a variance share or a whole count', () => {
    expect(validateHyperparameters('pca', { n_components: 0.8 }).n_components).toBe(0.8);
    expect(validateHyperparameters('pca', { n_components: '10' }).n_components).toBe(10);
    expect(validateHyperparameters('pca', { n_components: 1 }).n_components).toBe(1);
  });

  it('accepts the range ends', () => {
    expect(validateHyperparameters('random_forest', { n_estimators: 1 }).n_estimators).toBe(1);
    expect(validateHyperparameters('random_forest', { n_estimators: 1000 }).n_estimators).toBe(1000);
    expect(validateHyperparameters('xgboost', { learning_rate: 1 }).learning_rate).toBe(1);
    expect(validateHyperparameters('neural_network', { early_stopping_patience: 0 }).early_stopping_patience).toBe(0);
    expect(validateHyperparameters('svm', { coef0: -1000 }).coef0).toBe(-1000);
    expect(validateHyperparameters('logistic_regression', { C: 1e6 }).C).toBe(1e6);
  });
});

describe('validateHyperparameters: rejected input', () => {
  it('rejects a non-object', () => {
    for (const raw of ['n_estimators=5', 42, [1, 2], true]) {
      const error = errorOf(() => validateHyperparameters('random_forest', raw));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.field).toBe('hyperparameters');
    }
  });

  it('rejects unknown keys and lists the accepted ones', () => {
    const error = errorOf(() => validateHyperparameters('random_forest', { n_trees: 10 }));
    expect(error.field).toBe('hyperparameters.n_trees');
    expect(error.message).toContain('unknown hyperparameter "n_trees"');
    expect(error.message).toContain('n_estimators, max_depth, min_samples_split');
    // A key of another model is unknown here.
    expect(errorOf(() => validateHyperparameters('logistic_regression', { n_estimators: 10 })).field).toBe(
      'hyperparameters.n_estimators',
    );
  });

  it('suggests the snake_case name for a camelCase key', () => {
    const error = errorOf(() => validateHyperparameters('random_forest', { nEstimators: 10 }));
    expect(error.message).toContain("did you mean 'n_estimators'?");
  });

  it('names the key and the range for out-of-range values', () => {
    const error = errorOf(() => validateHyperparameters('random_forest', { n_estimators: 0 }));
    expect(error.message).toBe('n_estimators must be an integer from 1 to 1000, got 0');
    expect(error.field).toBe('hyperparameters.n_estimators');
    expect(error.allowed).toBe('an integer from 1 to 1000');
    expect(errorOf(() => validateHyperparameters('random_forest', { n_estimators: 1001 })).message).toContain(
      'got 1001',
    );
    expect(errorOf(() => validateHyperparameters('xgboost', { max_depth: 17 })).message).toBe(
      'max_depth must be an integer from 1 to 16, got 17',
    );
    expect(errorOf(() => validateHyperparameters('random_forest', { min_samples_split: 1 })).field).toBe(
      'hyperparameters.min_samples_split',
    );
    expect(errorOf(() => validateHyperparameters('neural_network', { dropout_rate: 0.95 })).message).toBe(
      'dropout_rate must be a number from 0 to 0.9, got 0.95',
    );
    expect(errorOf(() => validateHyperparameters('xgboost', { max_bin: 4 })).field).toBe('hyperparameters.max_bin');
    expect(errorOf(() => validateHyperparameters('svm', { max_train_rows: 99 })).field).toBe(
      'hyperparameters.max_train_rows',
    );
  });

  it('treats exclusive lower bounds as exclusive', () => {
    const error = errorOf(() => validateHyperparameters('xgboost', { learning_rate: 0 }));
    expect(error.message).toBe('learning_rate must be a number greater than 0 and at most 1, got 0');
    expect(errorOf(() => validateHyperparameters('xgboost', { subsample: 0 })).field).toBe('hyperparameters.subsample');
    expect(errorOf(() => validateHyperparameters('logistic_regression', { C: 0 })).field).toBe('hyperparameters.C');
    expect(errorOf(() => validateHyperparameters('svm', { gamma: 0 })).message).toBe(
      'gamma must be a number greater than 0 and at most 1000 or one of scale, auto, got 0',
    );
    // An upper bound too (issue 12): a huge gamma can only memorise, and overflows the kernel.
    expect(errorOf(() => validateHyperparameters('svm', { gamma: 1e9 })).field).toBe('hyperparameters.gamma');
    expect(errorOf(() => validateHyperparameters('pca', { n_components: 0 })).field).toBe(
      'hyperparameters.n_components',
    );
  });

  it('rejects a non-integer for an int param', () => {
    expect(errorOf(() => validateHyperparameters('random_forest', { n_estimators: 10.5 })).message).toBe(
      'n_estimators must be an integer from 1 to 1000, got 10.5',
    );
    expect(errorOf(() => validateHyperparameters('neural_network', { epochs: '20.5' })).field).toBe(
      'hyperparameters.epochs',
    );
  });

  it('rejects wrong types', () => {
    expect(errorOf(() => validateHyperparameters('random_forest', { n_estimators: 'many' })).message).toBe(
      'n_estimators must be an integer from 1 to 1000, got "many"',
    );
    expect(errorOf(() => validateHyperparameters('random_forest', { bootstrap: 'maybe' })).message).toBe(
      'bootstrap must be true or false, got "maybe"',
    );
    expect(errorOf(() => validateHyperparameters('random_forest', { bootstrap: 1 })).field).toBe(
      'hyperparameters.bootstrap',
    );
    expect(errorOf(() => validateHyperparameters('xgboost', { learning_rate: true })).field).toBe(
      'hyperparameters.learning_rate',
    );
    expect(errorOf(() => validateHyperparameters('xgboost', { learning_rate: { value: 1 } })).message).toContain(
      'got an object',
    );
    expect(errorOf(() => validateHyperparameters('xgboost', { n_estimators: Number.NaN })).field).toBe(
      'hyperparameters.n_estimators',
    );
    expect(errorOf(() => validateHyperparameters('xgboost', { n_estimators: '0x10' })).field).toBe(
      'hyperparameters.n_estimators',
    );
    expect(errorOf(() => validateHyperparameters('svm', { gamma: 'big' })).field).toBe('hyperparameters.gamma');
  });

  it('rejects null for a non-nullable param and "none" words', () => {
    const error = errorOf(() => validateHyperparameters('xgboost', { max_depth: null }));
    expect(error.message).toContain('max_depth cannot be null');
    expect(errorOf(() => validateHyperparameters('xgboost', { max_depth: 'none' })).field).toBe(
      'hyperparameters.max_depth',
    );
    expect(errorOf(() => validateHyperparameters('random_forest', { n_estimators: '' })).field).toBe(
      'hyperparameters.n_estimators',
    );
  });

  it('lists the choices of an enum', () => {
    const error = errorOf(() => validateHyperparameters('random_forest', { max_features: 'half' }));
    expect(error.message).toBe('max_features must be one of sqrt, log2, all, got "half"');
    expect(errorOf(() => validateHyperparameters('svm', { kernel: 'cubic' })).message).toContain(
      'one of rbf, linear, poly, sigmoid',
    );
    expect(errorOf(() => validateHyperparameters('neural_network', { activation: 3 })).field).toBe(
      'hyperparameters.activation',
    );
  });

  it('rejects bad integer lists', () => {
    const bad: unknown[] = [[], [64, 0], [64, 2000], [64.5], [1, 2, 3, 4, 5, 6, 7], 'a,b', '[]', { a: 1 }, true];
    for (const value of bad) {
      const error = errorOf(() => validateHyperparameters('neural_network', { hidden_layers: value }));
      expect(error.field).toBe('hyperparameters.hidden_layers');
      expect(error.message).toContain('hidden_layers must be a list of 1 to 6 integers, each from 1 to 1024');
    }
  });

  it('rejects a fractional pca component count', () => {
    const error = errorOf(() => validateHyperparameters('pca', { n_components: 2.5 }));
    expect(error.field).toBe('hyperparameters.n_components');
    expect(error.message).toContain('whole number of components');
    expect(errorOf(() => validateHyperparameters('pca', { n_components: 501 })).field).toBe(
      'hyperparameters.n_components',
    );
  });

  it('describes every spec in words', () => {
    expect(describeAllowed(getModelSpec('random_forest').hyperparameters[1])).toBe('an integer from 1 to 100 or null');
  });
});

describe("the original web client's scikit-learn names (form aliases)", () => {
  it('maps each alias, sent as a string, onto its catalog hyperparameter; the result has catalog names only', () => {
    const nn = validateHyperparameters('neural_network', {
      hidden_layer_sizes: '100,50',
      activation: 'logistic',
      learning_rate: '0.01',
      max_iter: '40',
    });
    expect(nn).toMatchObject({ hidden_layers: [100, 50], activation: 'sigmoid', learning_rate: 0.01, epochs: 40 });
    expect(Object.keys(nn)).toEqual(getModelSpec('neural_network').hyperparameters.map((h) => h.name));
    expect(validateHyperparameters('neural_network', { learning_rate_init: '0.005' }).learning_rate).toBe(0.005);
    expect(validateHyperparameters('decision_tree', { criterion: 'log_loss' }).criterion).toBe('entropy');
    expect(validateHyperparameters('random_forest', { criterion: 'LOG_LOSS' }).criterion).toBe('entropy');
  });

  it('accepts a fixed setting only with the values that match this implementation, and drops it', () => {
    const linear = validateHyperparameters('logistic_regression', {
      fit_intercept: 'true',
      normalize: 'false',
      C: '0.5',
    });
    expect(linear).toEqual({ C: 0.5, max_iter: 1000 });
    expect(validateHyperparameters('logistic_regression', { fit_intercept: true, normalize: 'true' })).toEqual(
      defaultHyperparameters('logistic_regression'),
    );
    for (const solver of ['auto', 'full', 'arpack', 'randomized']) {
      expect(validateHyperparameters('pca', { svd_solver: solver, n_components: '5' })).toEqual({
        ...defaultHyperparameters('pca'),
        n_components: 5,
      });
    }
  });

  it('refuses a value that cannot map with a 400-style error naming the field sent', () => {
    const intercept = errorOf(() => validateHyperparameters('logistic_regression', { fit_intercept: 'false' }));
    expect(intercept.field).toBe('hyperparameters.fit_intercept');
    expect(intercept.message).toContain('always fits an (unpenalised) intercept');
    expect(errorOf(() => validateHyperparameters('pca', { svd_solver: 'lapack' })).field).toBe(
      'hyperparameters.svd_solver',
    );
    expect(errorOf(() => validateHyperparameters('neural_network', { activation: 'softplus' })).field).toBe(
      'hyperparameters.activation',
    );
    // The alias carries the target's rules, named by the catalog's field.
    expect(errorOf(() => validateHyperparameters('neural_network', { hidden_layer_sizes: '100,abc' })).field).toBe(
      'hyperparameters.hidden_layers',
    );
    expect(errorOf(() => validateHyperparameters('neural_network', { max_iter: '0' })).field).toBe(
      'hyperparameters.epochs',
    );
    // A name and its alias together are ambiguous.
    expect(errorOf(() => validateHyperparameters('neural_network', { epochs: 5, max_iter: 10 })).field).toBe(
      'hyperparameters.max_iter',
    );
    // Aliases belong to their model: max_iter is logistic regression's own name, hidden_layer_sizes is not a tree's.
    expect(validateHyperparameters('logistic_regression', { max_iter: '50' }).max_iter).toBe(50);
    expect(errorOf(() => validateHyperparameters('random_forest', { hidden_layer_sizes: '10' })).field).toBe(
      'hyperparameters.hidden_layer_sizes',
    );
  });

  it('declares each alias once, for a hyperparameter that exists, never shadowing a catalog name', () => {
    for (const model of MODEL_CATALOG) {
      const names = model.hyperparameters.map((h) => h.name);
      const aliases = (model.formAliases ?? []).map((a) => a.name);
      expect(new Set(aliases).size).toBe(aliases.length);
      for (const alias of model.formAliases ?? []) {
        expect(names).not.toContain(alias.name);
        if ('target' in alias) expect(names).toContain(alias.target);
      }
      for (const spec of model.hyperparameters)
        for (const target of Object.values(spec.valueAliases ?? {})) expect(spec.choices).toContain(target);
    }
  });

  it('toCatalogNames renames before a merge over stored values', () => {
    expect(toCatalogNames('neural_network', { hidden_layer_sizes: '8', dropout_rate: 0.1 })).toEqual({
      hidden_layers: '8',
      dropout_rate: 0.1,
    });
    expect(toCatalogNames('random_forest', { n_estimators: 5 })).toEqual({ n_estimators: 5 });
  });
});
