/**
 * Predictions and explanations from trained runs. A `predict` call whose estimated cost (rows × model size, plus the
 * model's load when it is not loaded on the event loop yet) fits PREDICT_LOOP_MS is answered on the event loop from a
 * cached predictor; costlier ones, explanations and batches run in the inference worker pool, which keeps its own
 * predictors by run id (src/services/inference.ts). Owns `predictions` and `prediction_rows`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { asc, desc, eq, inArray } from 'drizzle-orm';
import type { Piscina } from 'piscina';
import type { PredictionRow } from '../db/schema.js';
import type { Store } from '../db/store.js';
import type { AppConfig } from '../config.js';
import { badInput, conflict, notFound, uploadTooLarge } from '../domain/errors.js';
import type { PredictionSummary } from '../domain/prediction.js';
import { MAX_PREDICT_ROWS, type Predictor, type RowExplanation, type RowPrediction } from '../ml/predictor.js';
import type { BatchOutput, BatchTask } from '../ml/worker.js';
import { loadMicros, predictMicros } from '../ml/predict-cost.js';
import { getModelSpec, resolveModelType } from '../ml/catalog.js';
import type { DataLocation } from '../ml/data/location.js';
import { isMissionId } from '../ml/data/index.js';
import type { DatasetService } from './datasets.js';
import type { ModelStore } from './models.js';
import { InferenceClient } from './inference.js';
import type { RunQueries, RunState } from './training/index.js';
import { newId } from './ids.js';
import { storePredictionBatch } from './prediction-batches.js';
import type { Caller, OwnerService } from './owners.js';

export type { PredictionSummary };
export type PredictionBatchRecord = PredictionRow;

export interface StoredRowPrediction {
  rowIndex: number;
  ids: Record<string, string>;
  label: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
}

export interface BatchInput {
  runId: string;
  datasetId?: string | null;
  file?: File | null;
  candidatesOnly?: boolean | null;
}

export interface RowsQuery {
  offset?: number;
  limit?: number;
  /** Sort by this class's probability; default: row order. */
  sortByClass?: string | null;
  /** Default: highest probability first when sorting by a class, else row order (first row first). */
  ascending?: boolean | null;
}

/**
 * One CSV cell. Text a spreadsheet would run as a formula (=, +, -, @, tab or CR first; plain numbers excepted) gets a
 * leading apostrophe, so a CSV export of user-supplied ids cannot carry `=HYPERLINK(…)` into someone's spreadsheet.
 */
export function csvCell(value: string): string {
  const neutral =
    /^[=+\-@\t\r]/.test(value) && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(neutral) ? `"${neutral.replace(/"/g, '""')}"` : neutral;
}

/** A SUCCEEDED run stays so until it is deleted: its state is reused this long (another server may delete it). */
const READY_STATE_TTL_MS = 2000;
const READY_STATE_ENTRIES = 4096;

/** Where a `predict` call was answered (counted for tests and the benchmarks). */
export interface PredictRouteCounts {
  loop: number;
  worker: number;
}

export class PredictionService {
  /** Explanations and worker predicts, by run id (the worker keeps loaded predictors). */
  readonly inference: InferenceClient;
  readonly routes: PredictRouteCounts = { loop: 0, worker: 0 };
  private readonly readyRuns = new Map<string, { state: RunState; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly config: AppConfig,
    private readonly runs: Pick<RunQueries, 'state' | 'ofSession' | 'visible' | 'requireVisible'>,
    private readonly models: ModelStore,
    private readonly datasets: DatasetService,
    private readonly pool: Pick<Piscina, 'run'>,
    private readonly owners: OwnerService,
  ) {
    this.inference = new InferenceClient(pool, models);
    models.onForget((runIds) => {
      for (const id of runIds) this.readyRuns.delete(id);
    });
  }

  /** A run that can predict: it exists (NOT_FOUND) and has succeeded (CONFLICT). Reads its status only. */
  async requireReadyRun(runId: string): Promise<RunState> {
    const now = Date.now();
    const known = this.readyRuns.get(runId);
    if (known && known.until > now) return known.state;
    const run = await this.runs.state(runId);
    if (!run) throw notFound('Training run', runId);
    if (run.status !== 'SUCCEEDED') {
      throw conflict(`Training run ${runId} is ${run.status}; only a SUCCEEDED run can predict.`);
    }
    // One DB read per run every READY_STATE_TTL_MS instead of one per call (0.1–0.4 ms each at 500 req/s).
    if (this.readyRuns.size >= READY_STATE_ENTRIES) this.readyRuns.clear();
    this.readyRuns.set(runId, { state: run, until: now + READY_STATE_TTL_MS });
    return run;
  }

  async predict(caller: Caller, runId: string, rows: readonly unknown[]): Promise<RowPrediction[]> {
    await this.runs.requireVisible(caller, runId);
    const run = await this.requireReadyRun(runId);
    if (rows.length === 0) throw badInput('Give at least one row.', 'rows');
    const predictor = await this.loopPredictor(run, rows.length);
    if (predictor) {
      this.routes.loop++;
      return predictor.predictRows(rows);
    }
    if (rows.length > MAX_PREDICT_ROWS) {
      // The same refusal the predictor gives, before the rows are serialised for the worker.
      throw badInput(
        `At most ${MAX_PREDICT_ROWS} rows per call (got ${rows.length}); use a batch prediction for more.`,
        'rows',
      );
    }
    this.routes.worker++;
    const answer: unknown = JSON.parse(await this.inference.predictRowsJson(runId, JSON.stringify(rows)));
    if (!Array.isArray(answer)) throw new Error(`the inference worker answered no predictions for run ${runId}`);
    return answer as RowPrediction[];
  }

  /**
   * The predictor to answer `rows` rows on the event loop with, or null to send the call to the inference worker:
   * neural networks and soft_voting ensembles always (TensorFlow.js loaded on the event loop would stay there for
   * good, ~75 MB, while the worker thread ends when idle), and any call whose estimated cost exceeds PREDICT_LOOP_MS. A model not loaded
   * here counts its load; one whose load does not fit a call but fits PREDICT_LOAD_MS is loaded here once, after
   * the worker answered, so that the cheap calls that follow stay on the loop (a 1,000-tree forest never is).
   */
  private async loopPredictor(run: RunState, rows: number): Promise<Predictor | null> {
    const modelType = resolveModelType(run.modelType);
    // A soft_voting run loads every member (a neural one would bring TensorFlow.js): the worker, always.
    if (modelType && ['neural', 'ensemble'].includes(getModelSpec(modelType).family)) return null;
    const budgetMicros = this.config.predictLoopMs * 1000;
    const loaded = this.models.loaded(run.id);
    if (loaded) return predictMicros(loaded, rows) <= budgetMicros ? loaded : null;
    const size = await this.models.sizeBytes(run.id);
    if (size === null) throw conflict(`Training run ${run.id} has no stored model.`);
    const load = loadMicros(size);
    if (load > budgetMicros) {
      if (load <= this.config.predictLoadMs * 1000) this.loadLater(run.id);
      return null;
    }
    const predictor = await this.models.predictor(run.id);
    if (!predictor) throw conflict(`Training run ${run.id} has no stored model.`);
    return predictMicros(predictor, rows) <= budgetMicros ? predictor : null;
  }

  /** Loads a run's predictor on the event loop on a later macrotask (a failure only leaves calls in the worker). */
  private loadLater(runId: string): void {
    setImmediate(() => {
      this.models.predictor(runId).catch(() => undefined);
    });
  }

  async explain(caller: Caller, runId: string, row: unknown, label?: string | null): Promise<RowExplanation> {
    await this.runs.requireVisible(caller, runId);
    await this.requireReadyRun(runId);
    return this.inference.explain(runId, row, label ?? null);
  }

  async predictBatch(caller: Caller, input: BatchInput): Promise<PredictionBatchRecord> {
    await this.runs.requireVisible(caller, input.runId);
    this.owners.claim(caller, 'prediction');
    const run = await this.requireReadyRun(input.runId);
    const datasetId = input.datasetId ?? null;
    const file = input.file ?? null;
    const hasDataset = datasetId !== null;
    if (hasDataset === (file !== null))
      throw badInput('Give exactly one of datasetId or file.', hasDataset ? 'file' : 'datasetId');
    const artifactGzip = await this.models.bytes(run.id);
    if (!artifactGzip) throw conflict(`Training run ${run.id} has no stored model.`);

    if (input.candidatesOnly && (datasetId === null || !isMissionId(datasetId))) {
      throw badInput('candidatesOnly applies to the NASA tables (kepler, k2, tess) only.', 'candidatesOnly');
    }
    let location: DataLocation;
    let temporary: string | null = null;
    let source: string;
    let output: BatchOutput;
    try {
      if (datasetId !== null) {
        await this.datasets.requireAvailable(datasetId, 'datasetId', caller);
        location = await this.datasets.location(datasetId);
        source = `dataset:${datasetId}`;
      } else if (file !== null) {
        if (file.size > this.config.maxUploadBytes) throw uploadTooLarge(this.config.maxUploadBytes);
        // In the upload folder so the worker can read it; removed in `finally`, swept at start-up after a crash.
        temporary = path.join(this.config.uploadDir, `${newId('pred')}.predict.csv.part`);
        await fs.writeFile(temporary, Buffer.from(await file.arrayBuffer()), { flag: 'wx' });
        location = { kind: 'upload', path: temporary, labelColumn: '' };
        source = 'file';
      } else {
        throw new Error('unreachable: exactly one of datasetId and file was checked above');
      }
      const task: BatchTask = {
        kind: 'predictBatch',
        artifactGzip,
        location,
        candidatesOnly: input.candidatesOnly === true,
        sourceField: hasDataset ? 'datasetId' : 'file',
      };
      output = (await this.pool.run(task)) as BatchOutput;
    } finally {
      if (temporary) await fs.rm(temporary, { force: true });
    }
    return storePredictionBatch(
      this.store,
      run.id,
      datasetId,
      input.candidatesOnly ? `${source}:candidates` : source,
      output,
    );
  }

  /** The batch when the caller may use its run (RunQueries.requireVisible), else null. */
  async get(caller: Caller, id: string): Promise<PredictionBatchRecord | null> {
    const batch = await this.store.first('predictions', { where: eq(this.store.t.predictions.id, id) });
    return batch && (await this.runs.visible(caller, batch.runId)) ? batch : null;
  }

  async require(caller: Caller, id: string): Promise<PredictionBatchRecord> {
    const batch = await this.get(caller, id);
    if (!batch) throw notFound('Prediction', id);
    return batch;
  }

  async rows(batch: PredictionBatchRecord, query: RowsQuery = {}): Promise<StoredRowPrediction[]> {
    const { predictionRows } = this.store.t;
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000);
    const offset = Math.max(query.offset ?? 0, 0);
    let order;
    if (query.sortByClass) {
      const index = batch.classes.indexOf(query.sortByClass);
      if (index === -1)
        throw badInput(
          `Unknown class "${query.sortByClass}"; the classes are ${batch.classes.join(', ')}.`,
          'sortByClass',
          batch.classes,
        );
      const probability = this.store.jsonArrayElement(predictionRows.probabilities, index);
      order =
        query.ascending === true
          ? [asc(probability), asc(predictionRows.rowIndex)]
          : [desc(probability), asc(predictionRows.rowIndex)];
    } else {
      order = [query.ascending === false ? desc(predictionRows.rowIndex) : asc(predictionRows.rowIndex)];
    }
    const rows = await this.store.select('predictionRows', {
      where: eq(predictionRows.predictionId, batch.id),
      orderBy: order,
      limit,
      offset,
    });
    return rows.map((row) => ({
      rowIndex: row.rowIndex,
      ids: row.ids,
      label: row.label,
      confidence: row.confidence,
      probabilities: batch.classes.map((label, c) => ({ label, probability: row.probabilities[c] })),
    }));
  }

  /** The batch as CSV: identifying columns, label, confidence, one probability column per class. */
  async *csv(batch: PredictionBatchRecord): AsyncGenerator<string> {
    const { predictionRows } = this.store.t;
    const quote = csvCell;
    yield (
      [...batch.idColumns, 'row_index', 'predicted_label', 'confidence', ...batch.classes.map((c) => `p_${c}`)]
        .map(quote)
        .join(',') + '\n'
    );
    const pageSize = 2000;
    for (let offset = 0; offset < batch.rowCount; offset += pageSize) {
      const page = await this.store.select('predictionRows', {
        where: eq(predictionRows.predictionId, batch.id),
        orderBy: [asc(predictionRows.rowIndex)],
        limit: pageSize,
        offset,
      });
      let chunk = '';
      for (const row of page) {
        chunk +=
          [
            ...batch.idColumns.map((c) => quote(row.ids[c] ?? '')),
            String(row.rowIndex),
            quote(row.label),
            String(row.confidence),
            ...row.probabilities.map(String),
          ].join(',') + '\n';
      }
      yield chunk;
    }
  }

  /** Batches of a run, newest first. */
  forRun(runId: string, limit = 20): Promise<PredictionBatchRecord[]> {
    const { predictions } = this.store.t;
    return this.store.select('predictions', {
      where: eq(predictions.runId, runId),
      orderBy: [desc(predictions.createdAt)],
      limit,
    });
  }

  /** The newest batch over all runs of a session (REST /result). */
  async latestForSession(sessionId: string): Promise<PredictionBatchRecord | null> {
    const runIds = (await this.runs.ofSession(sessionId)).map((run) => run.id);
    if (runIds.length === 0) return null;
    const { predictions } = this.store.t;
    return this.store.first('predictions', {
      where: inArray(predictions.runId, runIds),
      orderBy: [desc(predictions.createdAt)],
    });
  }
}
