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

/**
 * Checkers of JSON the server stored and reads back (a session's options, a run's details): stored data is never
 * cast. A value that fails is a corrupt row, a server fault: a plain Error naming `what` and the field, masked at
 * the edge and logged, never answered as if it were fine.
 */
export function storedJson(what: string) {
  const corrupt = (field: string): never => {
    throw new Error(`The stored ${what} is malformed (${field}).`);
  };
  const isRecord = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  const number = (value: unknown, field: string): number => (typeof value === 'number' ? value : corrupt(field));
  const checkers = {
    corrupt,
    record: (value: unknown, field: string): Record<string, unknown> => (isRecord(value) ? value : corrupt(field)),
    number,
    numberOrNull: (value: unknown, field: string): number | null => (value === null ? null : number(value, field)),
    intIn: (value: unknown, min: number, max: number, field: string): number =>
      Number.isInteger(value) && number(value, field) >= min && number(value, field) <= max
        ? number(value, field)
        : corrupt(field),
    string: (value: unknown, field: string): string => (typeof value === 'string' ? value : corrupt(field)),
    boolean: (value: unknown, field: string): boolean => (typeof value === 'boolean' ? value : corrupt(field)),
    oneOf: <T>(value: unknown, allowed: readonly T[], field: string): T =>
      allowed.find((a) => a === value) ?? corrupt(field),
    array: (value: unknown, field: string): unknown[] => (Array.isArray(value) ? value : corrupt(field)),
    numbers: (value: unknown, field: string): number[] => {
      const list: unknown[] = Array.isArray(value) ? value : corrupt(field);
      return list.map((v) => number(v, field));
    },
    strings: (value: unknown, field: string): string[] => {
      const list: unknown[] = Array.isArray(value) ? value : corrupt(field);
      return list.map((v) => (typeof v === 'string' ? v : corrupt(field)));
    },
  };
  return checkers;
}
