/**
 * Trained artefacts (preprocessing + model) stored in the DB as gzipped JSON, and a cache of loaded predictors
 * bounded by their estimated bytes (MODEL_CACHE_MB). Owns the `models` table.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { eq } from 'drizzle-orm';
import type { Store } from '../db/store.js';
import { loadSizedPredictor, type Predictor, type SizedPredictor } from '../ml/predictor.js';
import { ByteBudgetCache, DEFAULT_CACHE_BYTES } from '../ml/cache.js';

const gunzipAsync = promisify(gunzip);
export const ARTIFACT_FORMAT = 'pipeline+json+gzip/v1';

export class ModelStore {
  private readonly cache: ByteBudgetCache<SizedPredictor>;

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
    const { models } = this.store.t;
    const row = await this.store.first('models', { columns: ['sizeBytes'], where: eq(models.runId, runId) });
    return row ? row.sizeBytes : null;
  }

  /** The loaded predictor of a run (cached); null when the run has no stored model. */
  async predictor(runId: string): Promise<Predictor | null> {
    if (!this.cache.has(runId) && (await this.sizeBytes(runId)) === null) return null;
    const loaded = await this.cache.getOrLoad(runId, async () => {
      const gzipped = await this.bytes(runId);
      if (!gzipped) throw new Error(`The model of run ${runId} was deleted while it was loading.`);
      return loadSizedPredictor((await gunzipAsync(gzipped)).toString('utf8'));
    });
    return loaded.predictor;
  }

  /** Drops cached predictors and frees their model memory (TensorFlow.js tensors are not garbage-collected). */
  forget(runIds: Iterable<string>): void {
    for (const id of runIds) this.cache.delete(id);
  }

  /** Entries and estimated bytes of the predictor cache. */
  cacheStats() {
    return this.cache.stats();
  }
}
