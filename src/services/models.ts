/**
 * Trained artefacts (preprocessing + model) stored in the DB as gzipped JSON, and a small cache of loaded
 * predictors. Owns the `models` table.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { models } from '../db/schema.js';
import { Predictor } from '../ml/predictor.js';
import type { PipelineArtifact } from '../ml/pipeline.js';

const gunzipAsync = promisify(gunzip);
export const ARTIFACT_FORMAT = 'pipeline+json+gzip/v1';
const CACHE_SIZE = 8;

export class ModelStore {
  private readonly cache = new Map<string, Promise<Predictor>>();

  constructor(private readonly db: Db) {}

  save(runId: string, artifactGzip: Uint8Array): void {
    const bytes = Buffer.from(artifactGzip.buffer, artifactGzip.byteOffset, artifactGzip.byteLength);
    this.db.insert(models).values({ runId, format: ARTIFACT_FORMAT, bytes, sizeBytes: bytes.byteLength, createdAt: new Date() }).run();
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
    const cached = this.cache.get(runId);
    if (cached) {
      this.cache.delete(runId);
      this.cache.set(runId, cached);
      return cached;
    }
    const bytes = this.bytes(runId);
    if (!bytes) return null;
    const loading = gunzipAsync(bytes).then((json) => Predictor.load(JSON.parse(json.toString('utf8')) as PipelineArtifact));
    this.cache.set(runId, loading);
    loading.catch(() => this.cache.delete(runId));
    if (this.cache.size > CACHE_SIZE) this.forget([this.cache.keys().next().value as string]);
    return loading;
  }

  /** Drops cached predictors and frees their model memory (TensorFlow.js tensors are not garbage-collected). */
  forget(runIds: Iterable<string>): void {
    for (const id of runIds) {
      const cached = this.cache.get(id);
      this.cache.delete(id);
      cached?.then((predictor) => predictor.dispose()).catch(() => undefined);
    }
  }
}
