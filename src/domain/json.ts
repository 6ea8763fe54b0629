/**
 * Bounds for free-form JSON that clients send and the server stores (a session's preprocessingConfig): anything
 * deeper or bigger is refused before a recursive walk (JSON.stringify when storing it) can overflow the stack.
 */
import { badInput } from './errors.js';

export interface JsonBounds {
  maxDepth: number;
  maxItems: number;
}

/** What a web client's settings object needs, with room to spare. */
export const STORED_JSON_BOUNDS: JsonBounds = { maxDepth: 16, maxItems: 10_000 };

/** Iterative: a value nested 100,000 levels is refused after at most maxItems steps. */
export function checkJsonShape(value: unknown, field: string, bounds: JsonBounds = STORED_JSON_BOUNDS): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  let items = 1;
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top.value !== 'object' || top.value === null) continue;
    const children: unknown[] = Array.isArray(top.value) ? top.value : Object.values(top.value);
    items += children.length;
    if (top.depth >= bounds.maxDepth || items > bounds.maxItems)
      throw badInput(
        `${field} must be nested at most ${String(bounds.maxDepth)} levels deep with at most ${bounds.maxItems.toLocaleString('en-US')} values.`,
        field,
        `JSON nested ≤ ${String(bounds.maxDepth)} levels, ≤ ${bounds.maxItems.toLocaleString('en-US')} values`,
      );
    for (const child of children) stack.push({ value: child, depth: top.depth + 1 });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checkers of stored JSON columns (src/domain/stored-*.ts declare one per stored type; src/db/stored-columns.ts
// applies them to every row the Store reads). A checker returns the value as its type, rebuilt from the fields the
// type has, or throws naming the first field that is wrong; the path is put together only when one is.

/** Checks a value read back from storage and returns it as its type. */
export type Checker<T> = (value: unknown) => T;

/** Thrown by checkers; each enclosing object or array prepends its key on the way out. */
class MalformedField extends Error {
  readonly path: (string | number)[] = [];
}

const malformed = (): never => {
  throw new MalformedField('malformed stored JSON');
};

/** Fails a checker naming `field` (a check across fields, e.g. two lengths that must agree). */
export function malformedField(field: string): never {
  const error = new MalformedField('malformed stored JSON');
  error.path.push(field);
  throw error;
}

const OPTIONAL: unique symbol = Symbol('optional');
/** A field that may be missing (a row stored before it existed). */
export interface Optional<T> extends Checker<T | undefined> {
  readonly [OPTIONAL]: true;
}

type Out<C> = C extends Checker<infer T> ? T : never;
type Shape = Record<string, Checker<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Simplify<
  { [K in keyof S as S[K] extends Optional<unknown> ? never : K]: Out<S[K]> } & {
    [K in keyof S as S[K] extends Optional<unknown> ? K : never]?: Exclude<Out<S[K]>, undefined>;
  }
>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Runs `check` on the child `key`, naming it in the path when it fails. */
function at<T>(key: string | number, check: Checker<T>, value: unknown): T {
  try {
    return check(value);
  } catch (error) {
    if (error instanceof MalformedField) error.path.unshift(key);
    throw error;
  }
}

export const isNumber: Checker<number> = (value) => (typeof value === 'number' ? value : malformed());
export const isInteger: Checker<number> = (value) =>
  typeof value === 'number' && Number.isInteger(value) ? value : malformed();
export function integerIn(min: number, max: number): Checker<number> {
  return (value) =>
    Number.isInteger(value) && isNumber(value) >= min && isNumber(value) <= max ? isNumber(value) : malformed();
}
export const isString: Checker<string> = (value) => (typeof value === 'string' ? value : malformed());
export const isBoolean: Checker<boolean> = (value) => (typeof value === 'boolean' ? value : malformed());
/** Any JSON value, kept as it is (a client's free-form settings). */
export const isJson: Checker<unknown> = (value) => value;

export function oneOf<const T extends string | number>(allowed: readonly T[]): Checker<T> {
  return (value) => allowed.find((a) => a === value) ?? malformed();
}

export function nullable<T>(check: Checker<T>): Checker<T | null> {
  return (value) => (value === null ? null : check(value));
}

export function optional<T>(check: Checker<T>): Optional<T> {
  return Object.assign((value: unknown) => (value === undefined ? undefined : check(value)), {
    [OPTIONAL]: true as const,
  });
}

/** An optional field stored as null by some versions: missing and null both read as missing. */
export function optionalOrNull<T>(check: Checker<T>): Optional<T> {
  return Object.assign((value: unknown) => (value === undefined || value === null ? undefined : check(value)), {
    [OPTIONAL]: true as const,
  });
}

/** A field added later: a row stored before it reads as `fallback` (the value older versions meant). */
export function withDefault<T>(check: Checker<T>, fallback: T): Checker<T> {
  return (value) => (value === undefined ? fallback : check(value));
}

export function arrayOf<T>(check: Checker<T>): Checker<T[]> {
  return (value) => {
    if (!Array.isArray(value)) return malformed();
    const out: T[] = new Array<T>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = at(i, check, value[i]);
    return out;
  };
}

/** The first element that is not of the type (its index), or -1. */
function firstNot(list: readonly unknown[], type: 'number' | 'string'): number {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== type) return i;
  return -1;
}
const everyNumber = (list: unknown[]): list is number[] => firstNot(list, 'number') === -1;
const everyString = (list: unknown[]): list is string[] => firstNot(list, 'string') === -1;

/** Numbers: checked in place (the hot shape of curves and probabilities), the array itself returned. */
export const isNumbers: Checker<number[]> = (value) => {
  const list: unknown[] = Array.isArray(value) ? value : malformed();
  return everyNumber(list) ? list : at(firstNot(list, 'number'), malformed, list);
};

export const isStrings: Checker<string[]> = (value) => {
  const list: unknown[] = Array.isArray(value) ? value : malformed();
  return everyString(list) ? list : at(firstNot(list, 'string'), malformed, list);
};

export function recordOf<T>(check: Checker<T>): Checker<Record<string, T>> {
  return (value) => {
    if (!isRecord(value)) return malformed();
    const out: Record<string, T> = {};
    for (const key of Object.keys(value)) out[key] = at(key, check, value[key]);
    return out;
  };
}

/** An object of exactly the shape's fields (others are dropped); missing optional fields stay missing. */
export function objectOf<S extends Shape>(shape: S): Checker<ObjectOf<S>> {
  const fields = Object.entries(shape).map(([key, check]) => ({ key, check, optional: OPTIONAL in check }));
  return (value) => {
    if (!isRecord(value)) return malformed();
    const out: Record<string, unknown> = {};
    for (const { key, check, optional: isOptional } of fields) {
      const checked = at(key, check, value[key]);
      if (!isOptional || checked !== undefined) out[key] = checked;
    }
    // Every field of the shape was checked by its own checker just above.
    return out as ObjectOf<S>;
  };
}

/**
 * objectOf for a declared type: the shape must name every field of T (optional ones included), so a field added to
 * the type later fails the typecheck here instead of being dropped from every row read.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T is the type whose fields the shape must name
export function fieldsOf<T>() {
  return <S extends { [K in keyof Required<T>]: Checker<unknown> }>(shape: S): Checker<ObjectOf<S>> => objectOf(shape);
}

/** The first of two checkers that accepts the value (the second one's failure is the one reported). */
export function either<A, B>(a: Checker<A>, b: Checker<B>): Checker<A | B> {
  return (value) => {
    try {
      return a(value);
    } catch (error) {
      if (!(error instanceof MalformedField)) throw error;
      return b(value);
    }
  };
}

/** A union told apart by the string field `tag` (e.g. `kind`): the checker of the value's own case. */
export function byTag<C extends Record<string, Checker<unknown>>>(tag: string, cases: C): Checker<Out<C[keyof C]>> {
  return (value) => {
    if (!isRecord(value)) return malformed();
    const key = value[tag];
    // Each case checks its own tag (oneOf) with the rest of its fields.
    if (typeof key === 'string' && Object.hasOwn(cases, key)) return cases[key](value) as Out<C[keyof C]>;
    return at(tag, malformed, key);
  };
}

/** `a.b[2].c` */
function pathText(path: readonly (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${String(key)}]` : i === 0 ? key : `.${key}`)).join('');
}

/**
 * The checker of one stored column (`what`: table.column): a malformed value is a corrupt row, a server fault — a
 * plain Error naming the column and the field (masked at the edge, logged).
 */
export function storedColumn<T>(what: string, check: Checker<T>): Checker<T> {
  return (value) => {
    try {
      return check(value);
    } catch (error) {
      if (!(error instanceof MalformedField)) throw error;
      const field = pathText(error.path);
      throw new Error(`The stored ${what} is malformed (${field === '' ? 'the value itself' : field}).`, {
        cause: error,
      });
    }
  };
}
