/**
 * Sessions: one user's workflow (dataset, model config, runs). Owns the `sessions` table.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { sessions, type SessionRow } from '../db/schema.js';
import { badInput, notFound } from '../errors.js';
import { MODEL_CATALOG, resolveModelType, validateHyperparameters } from '../ml/catalog.js';
import type { Hyperparameters, ModelTypeId } from '../ml/types.js';
import type { DatasetService } from './datasets.js';
import { newId } from './ids.js';

export type Task = 'THREE_CLASS' | 'BINARY';

export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

export interface SessionConfig {
  datasetId: string | null;
  modelType: ModelTypeId | null;
  hyperparameters: Hyperparameters;
  features: string[] | null;
  task: Task;
  split: SplitSizes;
  seed: number;
  useVettingFeatures: boolean;
}

export interface SessionRecord extends SessionConfig {
  id: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConfigureSessionInput {
  sessionId: string;
  datasetId?: string | null;
  modelType?: string | null;
  hyperparameters?: unknown;
  features?: string[] | null;
  task?: Task | null;
  split?: SplitSizes | null;
  seed?: number | null;
  useVettingFeatures?: boolean | null;
}

export const DEFAULT_DATASET = 'kepler';
export const DEFAULT_MODEL: ModelTypeId = 'random_forest';
export const DEFAULT_SPLIT: SplitSizes = { train: 0.7, validation: 0.1, test: 0.2 };
export const DEFAULT_SEED = 42;

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    datasetId: row.datasetId,
    modelType: row.modelType as ModelTypeId | null,
    hyperparameters: row.hyperparameters as Hyperparameters,
    features: row.features ?? null,
    task: row.task,
    split: { train: row.trainShare, validation: row.validationShare, test: row.testShare },
    seed: row.seed,
    useVettingFeatures: row.useVettingFeatures,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function validateSplit(split: SplitSizes): SplitSizes {
  const { train, validation, test } = split;
  for (const [name, value] of Object.entries(split)) {
    if (!Number.isFinite(value) || value < 0 || value >= 1) {
      throw badInput(`split.${name} must be a share from 0 to below 1, got ${value}.`, `split.${name}`, 'a number in [0, 1)');
    }
  }
  if (train < 0.3) throw badInput(`split.train must be at least 0.3, got ${train}.`, 'split.train', 'a number from 0.3');
  if (test < 0.05) throw badInput(`split.test must be at least 0.05 so metrics mean something, got ${test}.`, 'split.test', 'a number from 0.05');
  const sum = train + validation + test;
  if (Math.abs(sum - 1) > 1e-6) {
    throw badInput(`split.train + split.validation + split.test must be 1, got ${Number(sum.toFixed(6))}.`, 'split', 'shares summing to 1');
  }
  return { train, validation, test };
}

export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly datasets: DatasetService,
  ) {}

  /** A new session, ready to train with defaults: the Kepler table and a random forest. */
  create(): SessionRecord {
    const now = new Date();
    const row: SessionRow = {
      id: newId('ses'),
      datasetId: DEFAULT_DATASET,
      modelType: DEFAULT_MODEL,
      hyperparameters: validateHyperparameters(DEFAULT_MODEL, undefined),
      features: null,
      task: 'THREE_CLASS',
      trainShare: DEFAULT_SPLIT.train,
      validationShare: DEFAULT_SPLIT.validation,
      testShare: DEFAULT_SPLIT.test,
      seed: DEFAULT_SEED,
      useVettingFeatures: false,
      createdAt: now,
      updatedAt: now,
    };
    this.db.insert(sessions).values(row).run();
    return toRecord(row);
  }

  get(id: string): SessionRecord | null {
    const row = this.db.select().from(sessions).where(eq(sessions.id, id)).get();
    return row ? toRecord(row) : null;
  }

  require(id: string): SessionRecord {
    const session = this.get(id);
    if (!session) throw notFound('Session', id);
    return session;
  }

  /** Partial update: fields left out keep their value. A new model type resets hyperparameters to its defaults. */
  async configure(input: ConfigureSessionInput): Promise<SessionRecord> {
    const current = this.require(input.sessionId);
    const next: SessionConfig = { ...current };

    if (input.datasetId !== undefined && input.datasetId !== null) {
      await this.datasets.requireAvailable(input.datasetId, 'datasetId');
      if (input.datasetId !== current.datasetId && input.features === undefined) next.features = null;
      next.datasetId = input.datasetId;
    }
    if (input.modelType !== undefined && input.modelType !== null) {
      const resolved = resolveModelType(input.modelType);
      if (!resolved) {
        const allowed = MODEL_CATALOG.map((spec) => spec.id);
        throw badInput(`Unknown model type "${input.modelType}". Choose one of: ${allowed.join(', ')}.`, 'modelType', allowed);
      }
      if (resolved !== current.modelType) next.hyperparameters = validateHyperparameters(resolved, undefined);
      next.modelType = resolved;
    }
    if (input.hyperparameters !== undefined && input.hyperparameters !== null) {
      if (!next.modelType) throw badInput('Choose a model type before setting hyperparameters.', 'modelType');
      const given = input.hyperparameters;
      const merged = typeof given === 'object' && !Array.isArray(given) ? { ...next.hyperparameters, ...(given as Record<string, unknown>) } : given;
      next.hyperparameters = validateHyperparameters(next.modelType, merged);
    }
    if (input.task !== undefined && input.task !== null) next.task = input.task;
    if (input.split !== undefined && input.split !== null) next.split = validateSplit(input.split);
    if (input.seed !== undefined && input.seed !== null) {
      if (!Number.isSafeInteger(input.seed) || input.seed < 0 || input.seed > 2 ** 31 - 1) {
        throw badInput(`seed must be a whole number from 0 to 2147483647, got ${input.seed}.`, 'seed', 'an integer in [0, 2147483647]');
      }
      next.seed = input.seed;
    }
    if (input.useVettingFeatures !== undefined && input.useVettingFeatures !== null) next.useVettingFeatures = input.useVettingFeatures;
    if (input.features !== undefined) next.features = input.features === null || input.features.length === 0 ? null : [...input.features];

    if (next.datasetId && (next.features !== null || next.useVettingFeatures !== current.useVettingFeatures)) {
      await this.datasets.resolveFeatures(next.datasetId, { features: next.features, useVettingFeatures: next.useVettingFeatures });
    }

    const updatedAt = new Date();
    this.db
      .update(sessions)
      .set({
        datasetId: next.datasetId,
        modelType: next.modelType,
        hyperparameters: next.hyperparameters,
        features: next.features,
        task: next.task,
        trainShare: next.split.train,
        validationShare: next.split.validation,
        testShare: next.split.test,
        seed: next.seed,
        useVettingFeatures: next.useVettingFeatures,
        updatedAt,
      })
      .where(eq(sessions.id, current.id))
      .run();
    return { ...next, id: current.id, createdAt: current.createdAt, updatedAt };
  }

  private readonly deleteHooks: ((sessionId: string) => void)[] = [];

  /** Called before a session is deleted (the training service stops its runs and frees their models). */
  onDelete(hook: (sessionId: string) => void): void {
    this.deleteHooks.push(hook);
  }

  /** Deletes the session; its runs, models and predictions go with it (foreign keys cascade). */
  delete(id: string): boolean {
    if (!this.get(id)) return false;
    for (const hook of this.deleteHooks) hook(id);
    const result = this.db.delete(sessions).where(eq(sessions.id, id)).run();
    return result.changes > 0;
  }

  /** What is missing before training can start; empty when ready. */
  missingForTraining(session: SessionConfig): string[] {
    const missing: string[] = [];
    if (!session.datasetId) missing.push('datasetId');
    if (!session.modelType) missing.push('modelType');
    return missing;
  }
}
