/**
 * Validation of hyperparameters against the catalog's specs: the only place that coerces (HTML forms send strings),
 * checks bounds and fills defaults. Every refusal is a BAD_USER_INPUT AppError naming `hyperparameters.<name>`.
 */
import { badInput, quoteInput } from '../../domain/errors.js';
import type { HyperparameterValue, Hyperparameters, ModelTypeId } from '../types.js';
import { cloneValue, defaultHyperparameters, getModelSpec, type HyperparameterSpec, type ModelSpec } from './specs.js';

/**
 * Checks `raw` against the model's specs and returns a complete parameter set (defaults filled, values
 * coerced to their types, keys in spec order). `undefined`/`null` `raw` means "all defaults".
 * Strings are coerced because HTML forms send nothing else: "100", "0.5", "true"/"false", "[64,32]" or
 * "64,32", and "none"/"null"/"" for nullable params.
 */
export function validateHyperparameters(modelType: ModelTypeId, raw: unknown): Hyperparameters {
  const model = getModelSpec(modelType);
  if (raw === undefined || raw === null) return defaultHyperparameters(modelType);
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw badInput(
      `hyperparameters must be an object of name → value, got ${describe(raw)}`,
      'hyperparameters',
      'an object',
    );
  }
  const input = translateFormAliases(model, raw as Record<string, unknown>);
  const known = new Set(model.hyperparameters.map((s) => s.name));
  for (const key of Object.keys(input)) {
    if (known.has(key)) continue;
    const accepted = [...known].join(', ');
    const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    const hint = snake !== key && known.has(snake) ? ` (did you mean '${snake}'?)` : '';
    throw badInput(
      `unknown hyperparameter ${quoteInput(key)} for ${model.id}${hint}; accepted: ${accepted}`,
      `hyperparameters.${key}`,
      accepted,
    );
  }
  const out: Hyperparameters = {};
  for (const spec of model.hyperparameters) {
    const value = input[spec.name];
    if (value !== undefined) checkShape(spec, value);
    out[spec.name] = value === undefined ? cloneValue(spec.default) : validateValue(model.id, spec, value);
  }
  return out;
}

/**
 * The original web client's names in the catalog's: `hidden_layer_sizes` → `hidden_layers`, `max_iter` → `epochs`;
 * a fixed setting (`fit_intercept`) is checked and dropped. Giving both a name and its alias is refused.
 */
export function toCatalogNames(modelType: ModelTypeId, input: Record<string, unknown>): Record<string, unknown> {
  return translateFormAliases(getModelSpec(modelType), input);
}

function translateFormAliases(model: ModelSpec, input: Record<string, unknown>): Record<string, unknown> {
  if (!model.formAliases?.length) return input;
  const known = new Set(model.hyperparameters.map((s) => s.name));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const alias = known.has(key) ? undefined : model.formAliases.find((a) => a.name === key);
    if (!alias) {
      out[key] = value;
      continue;
    }
    const field = `hyperparameters.${key}`;
    if ('target' in alias) {
      if (alias.target in input) {
        throw badInput(
          `give ${alias.target} or its scikit-learn name ${key}, not both`,
          field,
          `${alias.target} alone`,
        );
      }
      out[alias.target] = value;
      continue;
    }
    const word =
      typeof value === 'string' || typeof value === 'boolean' ? String(value).trim().toLowerCase() : undefined;
    if (word === undefined || !alias.fixed.accepts.includes(word)) {
      const allowed = `one of ${alias.fixed.accepts.join(', ')}`;
      throw badInput(
        `${key} must be ${allowed} for ${model.id}: ${alias.fixed.why}; got ${describe(value)}`,
        field,
        allowed,
      );
    }
  }
  return out;
}

/** Values are scalars or a flat list: anything deeper or bigger than this is refused before it is read. */
const MAX_VALUE_DEPTH = 4;
const MAX_VALUE_ITEMS = 10_000;

/**
 * Refuses over-deep or over-large values (e.g. a list nested 10,000 levels) before anything walks them
 * recursively (describing a value, String() of a nested array): iterative, bounded by MAX_VALUE_ITEMS steps.
 */
function checkShape(spec: HyperparameterSpec, value: unknown): void {
  const refuse = (): never => {
    const allowed = describeAllowed(spec);
    throw badInput(
      `${spec.name} must be ${allowed}, got a value nested or sized beyond reason`,
      `hyperparameters.${spec.name}`,
      allowed,
    );
  };
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  let items = 1;
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top.value !== 'object' || top.value === null) continue;
    if (top.depth >= MAX_VALUE_DEPTH) refuse();
    const children: unknown[] = Array.isArray(top.value) ? top.value : Object.values(top.value);
    items += children.length;
    if (items > MAX_VALUE_ITEMS) refuse();
    for (const child of children) stack.push({ value: child, depth: top.depth + 1 });
  }
}

/** Human wording of what a spec accepts, used in messages and exposed as `allowed`. */
export function describeAllowed(spec: HyperparameterSpec): string {
  let text: string;
  switch (spec.type) {
    case 'bool':
      text = 'true or false';
      break;
    case 'enum':
      text = `one of ${(spec.choices ?? []).join(', ')}`;
      break;
    case 'int_list':
    case 'float_list':
      text =
        `a list of ${spec.type === 'int_list' ? `${spec.minItems ?? 1} to ${spec.maxItems ?? '∞'} integers` : 'numbers'}` +
        (spec.min !== undefined && spec.max !== undefined ? `, each from ${spec.min} to ${spec.max}` : '');
      if (spec.specialValues?.length) text += ` or one of ${spec.specialValues.join(', ')}`;
      break;
    case 'run_id_list':
      text = `a list of ${spec.minItems ?? 1} to ${spec.maxItems ?? '∞'} different training run ids ([] until chosen)`;
      break;
    default: {
      const noun = spec.type === 'int' ? 'an integer' : 'a number';
      text = `${noun}${rangeWords(spec)}`;
      if (spec.specialValues?.length) text += ` or one of ${spec.specialValues.join(', ')}`;
    }
  }
  if (spec.nullable) text += ' or null';
  return text;
}

function rangeWords(spec: HyperparameterSpec): string {
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) {
    return spec.minExclusive ? ` greater than ${min} and at most ${max}` : ` from ${min} to ${max}`;
  }
  if (min !== undefined) return spec.minExclusive ? ` greater than ${min}` : ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NULL_WORDS = new Set(['', 'none', 'null']);
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function validateValue(modelId: ModelTypeId, spec: HyperparameterSpec, value: unknown): HyperparameterValue {
  const field = `hyperparameters.${spec.name}`;
  const allowed = describeAllowed(spec);
  const fail = (got: unknown): never => {
    throw badInput(`${spec.name} must be ${allowed}, got ${describe(got)}`, field, allowed);
  };

  if (value === null || (typeof value === 'string' && NULL_WORDS.has(value.trim().toLowerCase()))) {
    if (spec.nullable) return null;
    if (value === null) {
      throw badInput(
        `${spec.name} cannot be null (omit it to use the default ${JSON.stringify(spec.default)}); it must be ${allowed}`,
        field,
        allowed,
      );
    }
    return fail(value);
  }

  switch (spec.type) {
    case 'bool': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const word = value.trim().toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
      }
      return fail(value);
    }
    case 'enum': {
      if (typeof value !== 'string') return fail(value);
      const word = value.trim().toLowerCase();
      const match = spec.choices?.find((choice) => choice.toLowerCase() === word) ?? spec.valueAliases?.[word];
      return match ?? fail(value);
    }
    case 'int_list':
    case 'float_list':
      if (typeof value === 'string' && spec.specialValues) {
        const word = value.trim().toLowerCase();
        const special = spec.specialValues.find((s) => s.toLowerCase() === word);
        if (special) return special;
      }
      return validateNumberList(spec, value, fail);
    case 'run_id_list':
      return validateRunIds(spec, value, fail);
    case 'int':
    case 'float': {
      if (typeof value === 'string' && spec.specialValues) {
        const word = value.trim().toLowerCase();
        const special = spec.specialValues.find((s) => s.toLowerCase() === word);
        if (special) return special;
      }
      const number = toNumber(value);
      if (number === null) return fail(value);
      if (spec.type === 'int' && !Number.isInteger(number)) return fail(value);
      if (!inRange(spec, number)) return fail(value);
      // A count of components must be whole; a share of variance is any number in (0, 1).
      if (modelId === 'pca' && spec.name === 'n_components' && number >= 1 && !Number.isInteger(number)) {
        throw badInput(
          `n_components must be a share of variance between 0 and 1 or a whole number of components from 1 to ${spec.max}, got ${describe(value)}`,
          field,
          allowed,
        );
      }
      return number;
    }
  }
}

/** A list as given, or a form's text of it: "[64, 32]", "64,32", '["run_a", "run_b"]' (quotes dropped). */
function listItems(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value as unknown[];
  if (typeof value === 'number') return [value];
  if (typeof value !== 'string') return null;
  const inner = value
    .trim()
    .replace(/^\[(.*)\]$/s, '$1')
    .trim();
  return inner === ''
    ? []
    : inner
        .split(/[\s,;]+/)
        .map((part) => part.replace(/^["']|["']$/g, ''))
        .filter((part) => part !== '');
}

function validateNumberList(spec: HyperparameterSpec, value: unknown, fail: (got: unknown) => never): number[] {
  const items = listItems(value) ?? fail(value);
  const list: number[] = [];
  for (const item of items) {
    const number = toNumber(item);
    if (number === null || (spec.type === 'int_list' && !Number.isInteger(number)) || !inRange(spec, number))
      return fail(value);
    list.push(number);
  }
  if (list.length < (spec.minItems ?? 0) || list.length > (spec.maxItems ?? Infinity)) return fail(value);
  return list;
}

/** Run ids are checked against the runs (exist, visible, succeeded, same test rows) when a run starts. */
function validateRunIds(spec: HyperparameterSpec, value: unknown, fail: (got: unknown) => never): string[] {
  const items = listItems(value) ?? fail(value);
  const ids: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' || !/^[\w-]{1,64}$/.test(item.trim())) return fail(value);
    ids.push(item.trim());
  }
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined)
    throw badInput(
      `${spec.name} lists run ${quoteInput(repeated)} twice; give each run once (weights set its share)`,
      `hyperparameters.${spec.name}`,
      describeAllowed(spec),
    );
  // [] is the default: not chosen yet (a soft_voting run refuses to start without its members).
  if (ids.length > 0 && (ids.length < (spec.minItems ?? 0) || ids.length > (spec.maxItems ?? Infinity)))
    return fail(value);
  return ids;
}

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const text = value.trim();
    return NUMBER_PATTERN.test(text) ? Number(text) : null;
  }
  return null;
}

function inRange(spec: HyperparameterSpec, value: number): boolean {
  if (spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min)) return false;
  if (spec.max !== undefined && value > spec.max) return false;
  return true;
}

function describe(value: unknown): string {
  if (typeof value === 'string' || Array.isArray(value)) return quoteInput(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
