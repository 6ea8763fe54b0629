/**
 * Trained artefacts (preprocessing + model) stored in the DB gzipped (binary; JSON before), and a cache of loaded
 * predictors bounded by their estimated bytes (MODEL_CACHE_MB). Owns the `models` table.
 */
import { eq } from 'drizzle-orm';
import type { Store } from '../db/store.js';
import { loadGzippedPredictor, type Predictor, type SizedPredictor } from '../ml/predictor.js';
import { ByteBudgetCache, DEFAULT_CACHE_BYTES } from '../ml/cache.js';
import type { EvictionLog } from '../ml/worker.js';

/** Binary artefacts (src/ml/artifact.ts encodeArtifact); rows stored before hold gzipped JSON, still read. */
export const ARTIFACT_FORMAT = 'pipeline+binary+gzip/v2';
/** Forgotten run ids listed to worker threads (a thread that missed more drops its whole cache). */
const EVICTION_LOG_LENGTH = 64;
/** Stored sizes remembered (a few numbers per run; a stored model never changes size until it is forgotten). */
const SIZE_MEMO_ENTRIES = 4096;

export class ModelStore {
  private readonly cache: ByteBudgetCache<SizedPredictor>;
  private evictionTotal = 0;
  private readonly recentEvictions: string[] = [];
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly store: Store,
    options: { cacheBytes?: number } = {},
  ) {
    this.cache = new ByteBudgetCache({
      maxBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
      sizeOf: (loaded) => loaded.bytes,
      // TensorFlow.js weights live outside the garbage-collected heap.
      dispose: (loaded) => {
        loaded.predictor.dispose();
      },
    });
  }

  async save(runId: string, artifactGzip: Uint8Array): Promise<void> {
    // A run saved again (refitted) must not be answered from a predictor loaded from its earlier model.
    this.forget([runId]);
    const bytes = Buffer.from(artifactGzip.buffer, artifactGzip.byteOffset, artifactGzip.byteLength);
    await this.store.insert('models', {
      runId,
      format: ARTIFACT_FORMAT,
      bytes,
      sizeBytes: bytes.byteLength,
      createdAt: new Date(),
    });
  }

  /** The gzipped artefact, as stored; null when the run has no model. */
  async bytes(runId: string): Promise<Buffer | null> {
    const { models } = this.store.t;
    const row = await this.store.first('models', { columns: ['bytes'], where: eq(models.runId, runId) });
    return row ? row.bytes : null;
  }

  async sizeBytes(runId: string): Promise<number | null> {
    const known = this.sizes.get(runId);
    if (known !== undefined) return known;
    const { models } = this.store.t;
    const row = await this.store.first('models', { columns: ['sizeBytes'], where: eq(models.runId, runId) });
    if (!row) return null;
    if (this.sizes.size >= SIZE_MEMO_ENTRIES) this.sizes.clear();
    this.sizes.set(runId, row.sizeBytes);
    return row.sizeBytes;
  }

  /** The run's predictor if it is loaded on this thread now (no I/O, no wait), else null. */
  loaded(runId: string): Predictor | null {
    return this.cache.peek(runId)?.predictor ?? null;
  }

  /** The loaded predictor of a run (cached); null when the run has no stored model. */
  async predictor(runId: string): Promise<Predictor | null> {
    if (!this.cache.has(runId) && (await this.sizeBytes(runId)) === null) return null;
    const loaded = await this.cache.getOrLoad(runId, async () => {
      const gzipped = await this.bytes(runId);
      if (!gzipped) throw new Error(`The model of run ${runId} was deleted while it was loading.`);
      return loadGzippedPredictor(gzipped);
    });
    return loaded.predictor;
  }

  /** Drops cached predictors and frees their model memory (TensorFlow.js tensors are not garbage-collected). */
  forget(runIds: Iterable<string>): void {
    const ids = [...runIds];
    for (const id of ids) {
      this.cache.delete(id);
      this.sizes.delete(id);
      this.evictionTotal++;
      this.recentEvictions.push(id);
    }
    if (this.recentEvictions.length > EVICTION_LOG_LENGTH)
      this.recentEvictions.splice(0, this.recentEvictions.length - EVICTION_LOG_LENGTH);
    for (const listener of this.forgetListeners) listener(ids);
  }

  private readonly forgetListeners: ((runIds: readonly string[]) => void)[] = [];

  /** Calls `listener` with the run ids each `forget` drops (caches of run state kept beside the models). */
  onForget(listener: (runIds: readonly string[]) => void): void {
    this.forgetListeners.push(listener);
  }

  /** The forgotten runs worker threads must drop from their own caches (sent with each inference task). */
  evictions(): EvictionLog {
    return { total: this.evictionTotal, recent: this.recentEvictions.slice() };
  }

  /** Entries and estimated bytes of the predictor cache. */
  cacheStats() {
    return this.cache.stats();
  }
}
