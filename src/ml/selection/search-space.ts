/**
 * Search spaces over the catalog's typed hyperparameters: a default space per model type (ranges inside the
 * catalog's bounds, chosen where the Kepler/K2/TESS tables make a difference), seeded sampling, and a check of a
 * user's space against the catalog (a bound outside the catalog's range is refused naming `space.<name>`).
 *
 * The budget of successive halving is one resource per model type, given as a share of its full value: the number
 * of trees (random forest) or boosting rounds (xgboost), the epochs (neural network), and for the models without
 * such a count (decision tree, logistic regression, PCA, SVM) the share of the training rows.
 */
import { cloneValue, getModelSpec, validateHyperparameters, type HyperparameterSpec } from '../catalog.js';
import { badInput } from '../../domain/errors.js';
import type { Random } from '../random.js';
import type { HyperparameterValue, Hyperparameters, ModelTypeId } from '../types.js';

export type Dimension =
  | { name: string; kind: 'int'; low: number; high: number; log?: boolean }
  | { name: string; kind: 'float'; low: number; high: number; log?: boolean }
  | { name: string; kind: 'choice'; values: HyperparameterValue[] };

/** What successive halving gives a trial more of. */
export type Resource =
  { kind: 'param'; param: 'n_estimators' | 'epochs'; full: number; least: number } | { kind: 'rows' };

export interface SearchSpace {
  modelType: ModelTypeId;
  dimensions: Dimension[];
  /** Values every trial gets (the resource parameter at its full value among them). */
  fixed: Hyperparameters;
  resource: Resource;
}

const TREE_DEPTHS: HyperparameterValue[] = [null, 6, 8, 10, 12, 16, 20, 30];

/** The default space of each model type. */
export function defaultSearchSpace(modelType: ModelTypeId): SearchSpace {
  switch (modelType) {
    case 'random_forest':
      return {
        modelType,
        dimensions: [
          { name: 'max_depth', kind: 'choice', values: TREE_DEPTHS },
          { name: 'min_samples_leaf', kind: 'int', low: 1, high: 16, log: true },
          { name: 'min_samples_split', kind: 'int', low: 2, high: 20, log: true },
          { name: 'max_features', kind: 'choice', values: ['sqrt', 'log2', 'all'] },
          { name: 'criterion', kind: 'choice', values: ['gini', 'entropy'] },
          { name: 'bootstrap', kind: 'choice', values: [true, false] },
        ],
        fixed: { n_estimators: 300 },
        resource: { kind: 'param', param: 'n_estimators', full: 300, least: 20 },
      };
    case 'xgboost':
      return {
        modelType,
        dimensions: [
          { name: 'learning_rate', kind: 'float', low: 0.01, high: 0.3, log: true },
          { name: 'max_depth', kind: 'int', low: 2, high: 10 },
          { name: 'min_child_weight', kind: 'float', low: 0.5, high: 20, log: true },
          { name: 'subsample', kind: 'float', low: 0.5, high: 1 },
          { name: 'colsample_bytree', kind: 'float', low: 0.3, high: 1 },
          { name: 'reg_lambda', kind: 'float', low: 0.1, high: 100, log: true },
          { name: 'reg_alpha', kind: 'choice', values: [0, 0.01, 0.1, 1, 10] },
          { name: 'gamma', kind: 'choice', values: [0, 0.1, 0.5, 1, 5] },
        ],
        fixed: { n_estimators: 300, early_stopping_rounds: null, max_bin: 255 },
        resource: { kind: 'param', param: 'n_estimators', full: 300, least: 20 },
      };
    case 'decision_tree':
      return {
        modelType,
        dimensions: [
          { name: 'max_depth', kind: 'choice', values: [null, 3, 4, 5, 6, 8, 10, 12, 16] },
          { name: 'min_samples_leaf', kind: 'int', low: 1, high: 64, log: true },
          { name: 'min_samples_split', kind: 'int', low: 2, high: 64, log: true },
          { name: 'criterion', kind: 'choice', values: ['gini', 'entropy'] },
        ],
        fixed: {},
        resource: { kind: 'rows' },
      };
    case 'logistic_regression':
      return {
        modelType,
        dimensions: [{ name: 'C', kind: 'float', low: 1e-3, high: 1e3, log: true }],
        fixed: { max_iter: 1000 },
        resource: { kind: 'rows' },
      };
    case 'pca':
      return {
        modelType,
        dimensions: [
          { name: 'n_components', kind: 'choice', values: [0.8, 0.9, 0.95, 0.99] },
          { name: 'C', kind: 'float', low: 1e-3, high: 1e3, log: true },
        ],
        fixed: { max_iter: 1000 },
        resource: { kind: 'rows' },
      };
    case 'svm':
      return {
        modelType,
        dimensions: [
          { name: 'C', kind: 'float', low: 0.1, high: 100, log: true },
          { name: 'gamma', kind: 'choice', values: ['scale', 0.003, 0.01, 0.03, 0.1, 0.3] },
        ],
        // A kernel SVM's cost grows with the square of its rows: 3,000 keeps a 5-fold trial near a minute.
        fixed: { kernel: 'rbf', max_train_rows: 3000 },
        resource: { kind: 'rows' },
      };
    case 'soft_voting':
      throw badInput(
        'soft_voting averages runs you choose (its members); it has no hyperparameters to search. Search the ' +
          "members' model types, then train a soft_voting run over the best runs.",
        'input.modelTypes',
      );
    case 'neural_network':
      return {
        modelType,
        dimensions: [
          {
            name: 'hidden_layers',
            kind: 'choice',
            values: [[64], [128], [64, 32], [128, 64], [128, 64, 32], [256, 128]],
          },
          { name: 'activation', kind: 'choice', values: ['relu', 'tanh'] },
          { name: 'dropout_rate', kind: 'float', low: 0, high: 0.5 },
          { name: 'learning_rate', kind: 'float', low: 1e-4, high: 1e-2, log: true },
          { name: 'batch_size', kind: 'choice', values: [32, 64, 128, 256] },
          { name: 'batch_norm', kind: 'choice', values: [true, false] },
        ],
        // No early stopping: cross-validation folds carry no validation split of their own.
        fixed: { epochs: 60, early_stopping_patience: 0 },
        resource: { kind: 'param', param: 'epochs', full: 60, least: 6 },
      };
  }
}

function specOf(modelType: ModelTypeId, name: string): HyperparameterSpec {
  const spec = getModelSpec(modelType).hyperparameters.find((s) => s.name === name);
  if (!spec) throw badInput(`${modelType} has no hyperparameter "${name}".`, `space.${name}`);
  return spec;
}

/**
 * Checks a space against the catalog: every dimension a hyperparameter of the model, numeric ranges of the right
 * type inside the catalog's bounds (low ≤ high, log ranges above 0), every choice a value the catalog accepts.
 */
export function checkSearchSpace(space: SearchSpace): void {
  const names = new Set<string>();
  for (const d of space.dimensions) {
    const spec = specOf(space.modelType, d.name);
    if (names.has(d.name)) throw badInput(`"${d.name}" appears twice in the space.`, `space.${d.name}`);
    names.add(d.name);
    if (d.kind === 'choice') {
      if (d.values.length === 0) throw badInput(`"${d.name}" has no values to choose from.`, `space.${d.name}`);
      for (const value of d.values) validateHyperparameters(space.modelType, { ...space.fixed, [d.name]: value });
      continue;
    }
    if (spec.type !== d.kind && !(spec.type === 'float' && d.kind === 'int')) {
      throw badInput(`"${d.name}" is a ${spec.type} hyperparameter, not a ${d.kind} range.`, `space.${d.name}`);
    }
    const min = spec.min ?? -Infinity;
    const max = spec.max ?? Infinity;
    const below = spec.minExclusive ? d.low <= min : d.low < min;
    if (!(d.low <= d.high) || below || d.high > max || (d.log && d.low <= 0)) {
      throw badInput(
        `"${d.name}" range ${d.low}..${d.high} must satisfy low ≤ high within the catalog's ${spec.minExclusive ? '(' : '['}${min}, ${max}]${d.log ? ', above 0 on a log scale' : ''}.`,
        `space.${d.name}`,
      );
    }
  }
  validateHyperparameters(space.modelType, space.fixed);
}

/** One draw from the space (log ranges uniform in the logarithm; ints rounded), completed by the catalog. */
export function sampleParams(space: SearchSpace, random: Random): Hyperparameters {
  const drawn: Hyperparameters = { ...space.fixed };
  for (const d of space.dimensions) {
    if (d.kind === 'choice') {
      const value = d.values[random.int(d.values.length)];
      drawn[d.name] = cloneValue(value);
      continue;
    }
    const u = random.next();
    const x = d.log
      ? Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low)))
      : d.low + u * (d.high - d.low);
    drawn[d.name] = d.kind === 'int' ? Math.min(d.high, Math.max(d.low, Math.round(x))) : x;
  }
  return validateHyperparameters(space.modelType, drawn);
}

/**
 * The parameters and row share of a trial given `share` (0..1] of the full resource: tree / round / epoch counts
 * scale (rounded, at least the space's least), or the training rows do.
 */
export function withResource(
  space: SearchSpace,
  params: Hyperparameters,
  share: number,
): { params: Hyperparameters; rowFraction: number; amount: number } {
  const resource = space.resource;
  if (resource.kind === 'rows') return { params, rowFraction: share, amount: share };
  const amount = Math.max(resource.least, Math.min(resource.full, Math.round(resource.full * share)));
  return { params: { ...params, [resource.param]: amount }, rowFraction: 1, amount };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isChoiceValue = (value: unknown): value is HyperparameterValue =>
  value === null ||
  ['number', 'string', 'boolean'].includes(typeof value) ||
  (Array.isArray(value) && value.every((item) => typeof item === 'number'));

/** One dimension of a caller's space (JSON), its shape checked; the catalog bounds are checkSearchSpace's. */
function parseDimension(raw: unknown, at: string): Dimension {
  if (!isRecord(raw) || typeof raw.name !== 'string')
    throw badInput('A dimension is an object with a "name" and a "kind" (int, float or choice).', at);
  const { name, kind } = raw;
  if (kind === 'choice') {
    const { values } = raw;
    if (!Array.isArray(values) || !values.every(isChoiceValue))
      throw badInput(`"${name}": a choice needs "values", a list of hyperparameter values.`, `${at}.values`);
    return { name, kind, values };
  }
  if (kind !== 'int' && kind !== 'float')
    throw badInput(`"${name}": kind must be int, float or choice.`, `${at}.kind`, ['int', 'float', 'choice']);
  const { low, high, log } = raw;
  if (typeof low !== 'number' || typeof high !== 'number' || !Number.isFinite(low) || !Number.isFinite(high))
    throw badInput(`"${name}": a ${kind} range needs numbers "low" and "high".`, at);
  if (log !== undefined && typeof log !== 'boolean') throw badInput(`"${name}": "log" is true or false.`, `${at}.log`);
  return { name, kind, low, high, ...(log === undefined ? {} : { log }) };
}

/**
 * A model type's space with a caller's overrides (JSON: `{ dimensions?: [...], fixed?: {...} }`) over the default
 * one: a dimension replaces the default's of the same name (or adds one), a fixed value takes a dimension out of the
 * search. Checked against the catalog (checkSearchSpace); errors name `space.<modelType>.…`.
 */
export function spaceWithOverrides(modelType: ModelTypeId, raw: unknown): SearchSpace {
  const base = defaultSearchSpace(modelType);
  if (raw === undefined || raw === null) return base;
  const at = `space.${modelType}`;
  if (!isRecord(raw)) throw badInput('A space override is an object with "dimensions" and/or "fixed".', at);
  const unknownKey = Object.keys(raw).find((k) => k !== 'dimensions' && k !== 'fixed');
  if (unknownKey !== undefined)
    throw badInput(`Unknown key "${unknownKey}" (dimensions, fixed).`, `${at}.${unknownKey}`);
  let dimensions = base.dimensions;
  if (raw.dimensions !== undefined) {
    if (!Array.isArray(raw.dimensions)) throw badInput('"dimensions" is a list.', `${at}.dimensions`);
    const given = raw.dimensions.map((d, i) => parseDimension(d, `${at}.dimensions.${i}`));
    dimensions = [...base.dimensions.filter((d) => !given.some((g) => g.name === d.name)), ...given];
  }
  let fixed = base.fixed;
  if (raw.fixed !== undefined) {
    if (!isRecord(raw.fixed)) throw badInput('"fixed" is an object of name → value.', `${at}.fixed`);
    const names = Object.keys(raw.fixed);
    const checked = validateHyperparameters(modelType, { ...base.fixed, ...raw.fixed });
    fixed = { ...base.fixed, ...Object.fromEntries(names.map((n) => [n, checked[n]])) };
    dimensions = dimensions.filter((d) => !names.includes(d.name));
  }
  let resource = base.resource;
  // A fixed tree / round / epoch count is the full resource successive halving scales down from.
  if (resource.kind === 'param' && typeof fixed[resource.param] === 'number') {
    const full = fixed[resource.param];
    if (typeof full === 'number') resource = { ...resource, full, least: Math.min(resource.least, full) };
  }
  const space = { modelType, dimensions, fixed, resource };
  checkSearchSpace(space);
  return space;
}
