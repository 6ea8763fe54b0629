/**
 * Defensive reads of hyperparameters. The catalog validates and fills defaults before training; these helpers
 * still coerce numeric strings and fall back to the defaults so the engine can be used directly.
 */
import type { Hyperparameters, HyperparameterValue } from '../../types.js';

function numeric(value: HyperparameterValue | undefined): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

export function numberParam(
  params: Hyperparameters,
  key: string,
  fallback: number,
  min = -Infinity,
  max = Infinity,
): number {
  const v = numeric(params[key]);
  if (v === null) return fallback;
  return Math.min(max, Math.max(min, v));
}

export function intParam(
  params: Hyperparameters,
  key: string,
  fallback: number,
  min = -Infinity,
  max = Infinity,
): number {
  return Math.round(numberParam(params, key, fallback, min, max));
}

/** An integer where null / absent / ≤ 0 means "no limit" (max_depth, early_stopping_rounds). */
export function optionalLimit(params: Hyperparameters, key: string, fallback: number | null): number {
  const raw = params[key];
  const v = raw === undefined ? fallback : numeric(raw);
  return v === null || v <= 0 ? Infinity : Math.round(v);
}

export function boolParam(params: Hyperparameters, key: string, fallback: boolean): boolean {
  const v = params[key];
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  return fallback;
}

export function choiceParam<T extends string>(
  params: Hyperparameters,
  key: string,
  choices: readonly T[],
  fallback: T,
): T {
  const v = params[key];
  return typeof v === 'string' && (choices as readonly string[]).includes(v) ? (v as T) : fallback;
}

/**
 * scikit-learn's max_features: 'sqrt' (default), 'log2', 'all' / null / 'none', an integer count (> 1) or a
 * fraction in (0, 1]. Returns the number of features examined per split, in [1, cols].
 */
export function maxFeaturesCount(params: Hyperparameters, cols: number, fallback: 'sqrt' | 'all'): number {
  const v = params.max_features;
  let count: number;
  const asNumber = numeric(v ?? undefined);
  if (v === undefined) count = fallback === 'sqrt' ? Math.sqrt(cols) : cols;
  else if (v === null || v === 'all' || v === 'none' || v === 'None') count = cols;
  else if (v === 'sqrt' || v === 'auto') count = Math.sqrt(cols);
  else if (v === 'log2') count = Math.log2(cols);
  else if (asNumber !== null) count = asNumber <= 1 ? asNumber * cols : asNumber;
  else count = fallback === 'sqrt' ? Math.sqrt(cols) : cols;
  return Math.max(1, Math.min(cols, Math.floor(count)));
}
