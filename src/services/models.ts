/**
 * Trained artefacts (preprocessing + model) stored in the DB as gzipped JSON, and a cache of loaded predictors
 * bounded by their estimated bytes (MODEL_CACHE_MB). Owns the `models` table.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { models } from '../db/schema.js';
import { loadSizedPredictor, type Predictor, type SizedPredictor } from '../ml/predictor.js';
import { ByteBudgetCache, DEFAULT_CACHE_BYTES } from '../ml/cache.js';

const gunzipAsync = promisify(gunzip);
export const ARTIFACT_FORMAT = 'pipeline+json+gzip/v1';

export class ModelStore {
  private readonly cache: ByteBudgetCache<SizedPredictor>;

  constructor(
    private readonly db: Db,
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

  save(runId: string, artifactGzip: Uint8Array): void {
    const bytes = Buffer.from(artifactGzip.buffer, artifactGzip.byteOffset, artifactGzip.byteLength);
    this.db
      .insert(models)
      .values({ runId, format: ARTIFACT_FORMAT, bytes, sizeBytes: bytes.byteLength, createdAt: new Date() })
      .run();
  }

  /** The gzipped artefact, as stored; null when the run has no model. */
  bytes(runId: string): Buffer | null {
    const row = this.db.select({ bytes: models.bytes }).from(models).where(eq(models.runId, runId)).get();
    return row ? row.bytes : null;
  }

  sizeBytes(runId: string): number | null {
    const row = this.db.select({ size: models.sizeBytes }).from(models).where(eq(models.runId, runId)).get();
    return row ? row.size : null;
  }

  /** The loaded predictor of a run (cached); null when the run has no stored model. */
  async predictor(runId: string): Promise<Predictor | null> {
    if (!this.cache.has(runId) && this.sizeBytes(runId) === null) return null;
    const loaded = await this.cache.getOrLoad(runId, async () => {
      const gzipped = this.bytes(runId);
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
