/**
 * The one cache policy for loaded models and parsed tables, on the main thread and in workers: least recently used
 * entries go once the estimated bytes of all entries exceed a budget. A count alone bounds nothing: one 1,000-tree
 * forest outweighs a hundred logistic regressions. Pure (no I/O), so src/ml and src/services can both use it.
 */

/** Default budget of each cache (MODEL_CACHE_MB overrides it for the app's caches). */
export const DEFAULT_CACHE_BYTES = 96 * 1024 * 1024;

export interface ByteBudgetCacheOptions<V> {
  /** Most estimated bytes kept; the newest entry is kept even when it alone exceeds it (it is in use). */
  maxBytes: number;
  /** Estimated bytes the loaded value keeps alive (heap and native memory). */
  sizeOf: (value: V) => number;
  /**
   * Frees what the value holds outside the garbage-collected heap (TensorFlow.js weights). Runs on a later
   * macrotask than the eviction, so a caller that received the value in the current one finishes with it first.
   */
  dispose?: (value: V) => void;
  /** Entries unused for this long are dropped too, so an idle server returns the memory (default: never). */
  idleMs?: number;
}

interface Entry<V> {
  value: Promise<V>;
  /** The value once loaded (what `peek` answers without waiting). */
  loaded?: V;
  /** null while loading: not counted and not evicted until it is sized. */
  bytes: number | null;
  lastUsed: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

export class ByteBudgetCache<V> {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private totalBytes = 0;

  constructor(private readonly options: ByteBudgetCacheOptions<V>) {
    if (!(options.maxBytes >= 0)) throw new RangeError(`maxBytes must be ≥ 0, got ${options.maxBytes}`);
  }

  /**
   * The cached value of `key`, or the value `load` makes (one load per key at a time: concurrent callers share it).
   * A failed load is not cached.
   */
  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      hit.lastUsed = Date.now();
      return hit.value;
    }
    const entry: Entry<V> = { value: load(), bytes: null, lastUsed: Date.now() };
    this.entries.set(key, entry);
    this.scheduleIdleSweep();
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return; // deleted while loading: deletion disposed it
        entry.loaded = value;
        entry.bytes = Math.max(0, this.options.sizeOf(value));
        this.totalBytes += entry.bytes;
        this.evict(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  /** The loaded value of `key` now (counted as a use), or undefined when it is absent or still loading. */
  peek(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit?.loaded === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    hit.lastUsed = Date.now();
    return hit.loaded;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Drops `key` and disposes its value (once loaded). */
  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.release(entry);
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.delete(key);
  }

  stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.totalBytes, maxBytes: this.options.maxBytes };
  }

  private sweepTimer: NodeJS.Timeout | null = null;

  /** One unref'd timer while there are entries: it never keeps the process alive. */
  private scheduleIdleSweep(): void {
    const idleMs = this.options.idleMs;
    if (idleMs === undefined || this.sweepTimer || this.entries.size === 0) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      const now = Date.now();
      for (const [key, entry] of this.entries) {
        if (entry.bytes !== null && now - entry.lastUsed >= idleMs) this.delete(key);
      }
      this.scheduleIdleSweep();
    }, idleMs);
    this.sweepTimer.unref();
  }

  private evict(keep: string): void {
    for (const [key, entry] of this.entries) {
      if (this.totalBytes <= this.options.maxBytes) return;
      if (key === keep || entry.bytes === null) continue;
      this.entries.delete(key);
      this.release(entry);
    }
  }

  private release(entry: Entry<V>): void {
    if (entry.bytes !== null) this.totalBytes -= entry.bytes;
    entry.bytes = null;
    const { dispose } = this.options;
    if (!dispose) return;
    entry.value.then(
      (value) =>
        setImmediate(() => {
          dispose(value);
        }),
      () => undefined,
    );
  }
}

/**
 * WORKER_IDLE_SECONDS from the environment, in ms (default 10 s): idle worker threads end and idle tables go after it.
 * Read where no config is at hand (module load, worker threads), so it never throws: loadConfig refuses a bad value
 * at start-up with the variable's name, and here the default stands in for it.
 */
export function idleMsFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.WORKER_IDLE_SECONDS?.trim();
  return raw && /^\d+$/.test(raw) && Number(raw) >= 1 ? Number(raw) * 1000 : 10_000;
}

/** MODEL_CACHE_MB from the environment (whole MB, ≥ 0), else the default. Workers read it too (same environment). */
export function cacheBytesFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.MODEL_CACHE_MB?.trim();
  if (!raw) return DEFAULT_CACHE_BYTES;
  if (!/^\d+$/.test(raw)) throw new RangeError(`MODEL_CACHE_MB must be a whole number of megabytes, got "${raw}"`);
  return Number(raw) * 1024 * 1024;
}
