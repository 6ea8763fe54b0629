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
