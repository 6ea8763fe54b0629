import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ByteBudgetCache, cacheBytesFromEnv, DEFAULT_CACHE_BYTES, idleMsFromEnv } from '../../src/ml/cache.js';

interface Item {
  name: string;
  bytes: number;
}

function cache(maxBytes: number, disposed: string[] = []) {
  return new ByteBudgetCache<Item>({
    maxBytes,
    sizeOf: (item) => item.bytes,
    dispose: (item) => disposed.push(item.name),
  });
}

/** Lets disposals scheduled on later macrotasks run. */
const macrotasks = () => sleep(5);
const item = (name: string, bytes: number) => () => Promise.resolve({ name, bytes });

describe('ByteBudgetCache', () => {
  it('evicts the least recently used entries once the bytes exceed the budget, whatever the count', async () => {
    const disposed: string[] = [];
    const c = cache(100, disposed);
    await c.getOrLoad('a', item('a', 40));
    await c.getOrLoad('b', item('b', 40));
    await c.getOrLoad('a', item('a-again', 1)); // a hit: `a` becomes the most recent, its loader is not called
    await c.getOrLoad('c', item('c', 40));
    expect(c.has('b')).toBe(false);
    expect(c.has('a') && c.has('c')).toBe(true);
    expect(c.stats()).toEqual({ entries: 2, bytes: 80, maxBytes: 100 });
    // Many small entries fit where two large ones did not.
    for (let i = 0; i < 10; i++) await c.getOrLoad(`s${i}`, item(`s${i}`, 2));
    expect(c.stats()).toMatchObject({ entries: 12, bytes: 100 });
    await macrotasks();
    expect(disposed).toEqual(['b']);
  });

  it('keeps the newest entry even when it alone exceeds the budget, and drops it for the next one', async () => {
    const c = cache(10);
    const big = await c.getOrLoad('big', item('big', 50));
    expect(big.name).toBe('big');
    expect(c.has('big')).toBe(true);
    await c.getOrLoad('small', item('small', 5));
    expect(c.has('big')).toBe(false);
    expect(c.stats()).toMatchObject({ entries: 1, bytes: 5 });
  });

  it('disposes an evicted value on a later macrotask, so a caller holding it finishes first', async () => {
    const disposed: string[] = [];
    const c = cache(10, disposed);
    await c.getOrLoad('a', item('a', 8));
    await c.getOrLoad('b', item('b', 8));
    expect(disposed).toEqual([]);
    await macrotasks();
    expect(disposed).toEqual(['a']);
  });

  it('shares one load between concurrent callers, and does not cache a failed load', async () => {
    const c = cache(100);
    let loads = 0;
    const load = () => Promise.resolve({ name: `load ${++loads}`, bytes: 1 });
    const [x, y] = await Promise.all([c.getOrLoad('k', load), c.getOrLoad('k', load)]);
    expect(x).toBe(y);
    expect(loads).toBe(1);
    await expect(c.getOrLoad('bad', () => Promise.reject(new Error('corrupt')))).rejects.toThrow('corrupt');
    expect(c.has('bad')).toBe(false);
    expect((await c.getOrLoad('bad', item('fixed', 1))).name).toBe('fixed');
  });

  it('a value deleted while loading is disposed once loaded and not counted', async () => {
    const disposed: string[] = [];
    const c = cache(100, disposed);
    let resolve!: (value: Item) => void;
    const pending = c.getOrLoad('slow', () => new Promise<Item>((r) => (resolve = r)));
    c.delete('slow');
    resolve({ name: 'slow', bytes: 30 });
    await pending;
    await macrotasks();
    expect(disposed).toEqual(['slow']);
    expect(c.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('reads MODEL_CACHE_MB', () => {
    expect(cacheBytesFromEnv({})).toBe(DEFAULT_CACHE_BYTES);
    expect(cacheBytesFromEnv({ MODEL_CACHE_MB: '16' })).toBe(16 * 1024 * 1024);
    expect(() => cacheBytesFromEnv({ MODEL_CACHE_MB: 'lots' })).toThrow(/MODEL_CACHE_MB/);
  });

  it('drops entries unused for idleMs (an idle server returns the memory), keeps those in use', async () => {
    const disposed: string[] = [];
    const c = new ByteBudgetCache<Item>({
      maxBytes: 1000,
      sizeOf: (i) => i.bytes,
      dispose: (i) => disposed.push(i.name),
      idleMs: 60,
    });
    await c.getOrLoad('old', item('old', 10));
    await c.getOrLoad('used', item('used', 10));
    for (let i = 0; i < 6; i++) {
      await sleep(20);
      await c.getOrLoad('used', item('never', 1)); // a hit keeps it fresh
    }
    await macrotasks();
    expect(c.has('old')).toBe(false);
    expect(c.has('used')).toBe(true);
    expect(disposed).toEqual(['old']);
    await sleep(200);
    expect(c.stats()).toEqual({ entries: 0, bytes: 0, maxBytes: 1000 });
  });

  it('reads WORKER_IDLE_SECONDS', () => {
    expect(idleMsFromEnv({})).toBe(10_000);
    expect(idleMsFromEnv({ WORKER_IDLE_SECONDS: '3' })).toBe(3000);
    // A bad value is loadConfig's to refuse, by name; read at module load it must not throw first.
    expect(idleMsFromEnv({ WORKER_IDLE_SECONDS: '0' })).toBe(10_000);
  });
});
