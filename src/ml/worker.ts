/**
 * Worker-thread entry (piscina): training, batch prediction and explanations run here, never on the event loop.
 * Progress travels back over a MessagePort; cancellation terminates the thread (piscina's abort signal).
 */
import type { MessagePort } from 'node:worker_threads';
import { loadDataLocation, type DataLocation } from './data/location.js';
import { ColumnTable } from './data/columns.js';
import { badInput, toWorkerError } from '../domain/errors.js';
import {
  prestartPredictHelper,
  trainPipeline,
  heldOutForStorage,
  type HeldOutForStorage,
  type PipelineArtifact,
  type PipelineConfig,
  type PipelineHooks,
  type PipelineResult,
  type PostFitStage,
  type Stage,
} from './pipeline.js';
import { Predictor, loadGzippedPredictor, type RowExplanation, type SizedPredictor } from './predictor.js';
import { ByteBudgetCache, cacheBytesFromEnv } from './cache.js';
import { GZIP_SLICE_BYTES, decodeGzippedArtifact, encodeArtifactParts, gzipArtifactParts } from './artifact.js';
import type { StepProgress } from './types.js';
import type { CvProgress } from './selection/cross-validate.js';
import {
  compareEvaluations,
  type ComparisonOptions,
  type EvaluatedRows,
  type RunComparison,
} from './selection/compare.js';
import { lowerThisThreadPriority } from './thread-priority.js';
import { prestartHistogramHelper } from './models/trees/grow-helper.js';
import { endPredictHelper } from './models/trees/predict-parallel.js';
import { processClockMs } from './clock.js';
import { memoryReporter } from './memory-report.js';
import { tableCacheStats } from './data/table-cache.js';
import { trainSoftVoting, type EnsembleInfo } from './selection/ensemble-run.js';
import { warmUp } from './warm-up.js';

lowerThisThreadPriority();

export type WorkerMessage =
  | { type: 'stage'; stage: Stage; message: string }
  /** A step of fitting (tree, round, epoch). */
  | { type: 'step'; progress: StepProgress }
  /** A step of a stage after fitting (rows predicted, trees permuted, megabytes compressed). */
  | { type: 'stageStep'; stage: PostFitStage; progress: StepProgress }
  /** Cross-validation: a fold started, a step of its model, or the fold is done. */
  | { type: 'fold'; event: Omit<CvProgress, 'metrics'> };

/**
 * A training task's port: its progress, then `end`, its last message. The runner waits for `end`, since the task's
 * result travels another way and can overtake the last progress messages.
 */
export type TrainPortMessage = WorkerMessage | { type: 'end' };

export interface TrainTask {
  kind: 'train';
  location: DataLocation;
  config: PipelineConfig;
  /** The other mission's table when config.crossMission is set. */
  crossMissionLocation?: DataLocation;
  /** soft_voting: the member runs' stored artefacts (gzipped) and out-of-fold probabilities, in member order. */
  members?: { runId: string; artifactGzip: Uint8Array; outOfFold?: Float64Array }[];
  threads: number;
  port: MessagePort;
}

export interface TrainOutput extends Omit<PipelineResult, 'artifact' | 'heldOut'> {
  /** The held-out predictions as test_predictions stores them, serialised by this thread. */
  heldOut: HeldOutForStorage;
  /** The binary artefact gzipped (artifact.ts): stored as is, so a reload sees exactly these numbers. */
  artifactGzip: Uint8Array;
  loadSeconds: number;
  /** When this thread began the task and when it finished it (processClockMs: the same clock in every thread): the runner
   * tells thread start-up (before the fit) and the hand-off of this result (after it) from the rest. */
  taskStartedAt: number;
  taskEndedAt: number;
  /** The artefact encoded and gzipped. */
  packSeconds: number;
  /** soft_voting: its members and their weights. */
  ensemble?: EnsembleInfo;
}

export interface BatchTask {
  kind: 'predictBatch';
  artifactGzip: Uint8Array;
  /** A dataset, or an uploaded file to predict on (`upload` with any labelColumn: labels are not needed). */
  location: DataLocation;
  /** NASA tables: predict only the unresolved CANDIDATE rows. */
  candidatesOnly: boolean;
  /** The request field the data came from, named when the data cannot be predicted. */
  sourceField?: 'datasetId' | 'file';
}

export interface BatchOutput {
  classes: string[];
  idColumns: string[];
  ids: Record<string, string>[];
  /** rows × classes */
  probabilities: Float64Array;
  /** Rows whose every feature is missing (their probabilities are the model's answer to an all-missing row). */
  skippedRows: number[];
  /** Model features absent from the data (missing in every row). */
  missingFeatures: string[];
}

/**
 * A run's model as inference tasks name it. Each thread keeps loaded predictors by run id (byte-bounded LRU), so a
 * task ships only the run id; a thread that does not hold it answers NEED_ARTIFACT and the caller sends the task
 * again with the gzipped artefact (src/services/inference.ts). Piscina may hand a task to any thread, so a thread
 * cannot assume it saw the run before.
 */
export interface ModelRef {
  runId: string;
  /** The stored gzipped artefact: only when the thread asked for it. */
  artifactGzip?: Uint8Array;
  /** Runs whose models were forgotten (deleted with their session, or saved again): see applyEvictions. */
  evictions: EvictionLog;
}

/** `total` run ids forgotten since the process started; `recent` the last of them, oldest first. */
export interface EvictionLog {
  total: number;
  recent: readonly string[];
}

export interface ExplainTask {
  kind: 'explain';
  model: ModelRef;
  row: unknown;
  label: string | null;
}

/**
 * `predict` in the worker (neural networks: TensorFlow.js is loaded in worker threads only; and calls too costly for
 * the event loop). The rows travel as JSON text and the predictions come back as JSON text: structured clone of a
 * thousand 49-column objects costs the event loop ~10× what JSON.stringify does.
 */
export interface PredictRowsTask {
  kind: 'predictRows';
  model: ModelRef;
  /** JSON array of row objects. */
  rowsJson: string;
}

/** The answer of a thread that does not hold the run's predictor: send the task again with `artifactGzip`. */
export interface NeedArtifact {
  needArtifact: true;
}

export interface ModelAnswer<T> {
  needArtifact: false;
  value: T;
}

/** compareRuns: each other run's held-out predictions against the first run's (paired bootstrap, McNemar). */
export interface CompareTask {
  kind: 'compareRuns';
  base: EvaluatedRows;
  others: EvaluatedRows[];
  options: ComparisonOptions;
}

/** A fresh training thread's JIT warm-up (src/ml/warm-up.ts), stopped early once `stop[0]` is set. */
export interface WarmUpTask {
  kind: 'warmUp';
  /** On a SharedArrayBuffer: the pool sets it when a real task arrives. */
  stop: Int32Array;
}

export type WorkerTask = TrainTask | BatchTask | ExplainTask | PredictRowsTask | CompareTask | WarmUpTask;

/** Loaded predictors by run id; the thread itself ends when idle (src/services/worker-pool.ts). */
const predictors = new ByteBudgetCache<SizedPredictor>({
  maxBytes: cacheBytesFromEnv(),
  sizeOf: (loaded) => loaded.bytes,
  dispose: (loaded) => {
    loaded.predictor.dispose();
  },
});

/** MEMORY_REPORT=1 (benchmarks, tests): this thread's heap and caches after each task. */
const reportMemory = memoryReporter('worker', { predictors: () => predictors.stats(), tables: tableCacheStats });

/** How many evictions this thread has applied (null: none seen yet, a new thread has nothing to evict). */
let evictionsSeen: number | null = null;

/** Drops the predictors of runs forgotten since the last task; all of them when more were forgotten than listed. */
function applyEvictions(log: EvictionLog): void {
  const unseen = evictionsSeen === null ? 0 : log.total - evictionsSeen;
  evictionsSeen = log.total;
  if (unseen <= 0) return;
  if (unseen > log.recent.length) predictors.clear();
  else for (const runId of log.recent.slice(-unseen)) predictors.delete(runId);
}

async function readArtifact(artifactGzip: Uint8Array): Promise<PipelineArtifact> {
  return (await decodeGzippedArtifact(artifactGzip)).artifact;
}

/** The run's predictor from this thread's cache, loaded from the shipped artefact, or null (ask for it). */
async function predictorFor(model: ModelRef): Promise<Predictor | null> {
  applyEvictions(model.evictions);
  const { artifactGzip } = model;
  if (!predictors.has(model.runId) && !artifactGzip) return null;
  const loaded = await predictors.getOrLoad(model.runId, () => {
    if (!artifactGzip) throw new Error(`no artefact for run ${model.runId}`); // unreachable: checked above
    return loadGzippedPredictor(artifactGzip);
  });
  return loaded.predictor;
}

async function withModel<T>(model: ModelRef, use: (predictor: Predictor) => T): Promise<ModelAnswer<T> | NeedArtifact> {
  const predictor = await predictorFor(model);
  return predictor ? { needArtifact: false, value: use(predictor) } : { needArtifact: true };
}

/** Wall-clock milliseconds since the epoch, with performance.now()'s resolution (every thread's origin agrees). */

async function train(task: TrainTask): Promise<TrainOutput> {
  const send = (message: WorkerMessage) => {
    task.port.postMessage(message);
  };
  const taskStartedAt = processClockMs();
  // Boosting's helper thread starts while the data loads, not inside the fit (grow-helper.ts). So does the tree
  // prediction helper the pipeline starts for its evaluation: started there, after loading, its start (~0.1–0.15 CPU s)
  // ran beside a short fit's two threads (the pipeline's own start is then a no-op; the finally below ends it).
  if (task.config.modelType === 'xgboost' && task.threads >= 2) prestartHistogramHelper();
  try {
    prestartPredictHelper(task.config.modelType, task.threads);
    send({ type: 'stage', stage: 'LOADING', message: 'Loading the dataset' });
    const started = performance.now();
    const table = await loadDataLocation(task.location);
    const crossMissionTable = task.crossMissionLocation ? await loadDataLocation(task.crossMissionLocation) : undefined;
    const loadSeconds = (performance.now() - started) / 1000;
    const hooks: PipelineHooks = {
      threads: task.threads,
      crossMissionTable,
      onFold: ({ metrics: _metrics, ...event }) => {
        send({ type: 'fold', event });
      },
      onStage: (stage, message) => {
        send({ type: 'stage', stage, message });
      },
      onStep: (progress) => {
        send({ type: 'step', progress });
      },
      onStageStep: (stage, progress) => {
        send({ type: 'stageStep', stage, progress });
      },
    };
    const result: PipelineResult & { ensemble?: EnsembleInfo } = task.members
      ? await trainSoftVoting(
          table,
          task.config,
          await Promise.all(
            task.members.map(async (m) => ({
              runId: m.runId,
              artifact: await readArtifact(m.artifactGzip),
              ...(m.outOfFold ? { outOfFold: m.outOfFold } : {}),
            })),
          ),
          hooks,
        )
      : await trainPipeline(table, task.config, hooks);
    const { artifact, heldOut, ...rest } = result;
    send({ type: 'stage', stage: 'SAVING', message: 'Serialising and compressing the model' });
    const packStarted = performance.now();
    const encoded = encodeArtifactParts(artifact);
    const megabytes = encoded.reduce((sum, part) => sum + part.byteLength, 0) / 1e6;
    const artifactGzip = await gzipArtifactParts(encoded, (step, totalSteps) => {
      send({
        type: 'stageStep',
        stage: 'SAVING',
        progress: {
          step,
          totalSteps,
          message: `Compressed ${Math.min(megabytes, (step * GZIP_SLICE_BYTES) / 1e6).toFixed(0)} of ${megabytes.toFixed(0)} MB of model`,
        },
      });
    });
    const packSeconds = (performance.now() - packStarted) / 1000;
    // The hand-off (the runner's handOffSeconds) includes serialising the held-out predictions.
    const taskEndedAt = processClockMs();
    return {
      ...rest,
      heldOut: heldOutForStorage(heldOut),
      artifactGzip,
      loadSeconds,
      packSeconds,
      taskStartedAt,
      taskEndedAt,
    };
  } finally {
    // Its models and buffers are this run's: gone with the run, not at the thread's idle timeout.
    endPredictHelper();
    const end: TrainPortMessage = { type: 'end' };
    task.port.postMessage(end);
    task.port.close();
  }
}

async function predictBatch(task: BatchTask): Promise<BatchOutput> {
  const artifact = await readArtifact(task.artifactGzip);
  const predictor = await Predictor.load(artifact);
  let table: ColumnTable;
  if (task.location.kind === 'nasa') {
    const labeled = await loadDataLocation(task.location);
    table = labeled.table;
    if (task.candidatesOnly) {
      const candidate = labeled.classes.indexOf('candidate');
      const rows: number[] = [];
      labeled.labels.forEach((label, i) => label === candidate && rows.push(i));
      table = table.take(rows);
    }
  } else {
    // Uploads to predict on need no label column: read the raw table.
    table = await ColumnTable.readFile(task.location.path);
  }
  const present = artifact.features.filter((f) => table.has(f));
  if (present.length === 0) {
    throw badInput(
      `The data has none of the model's features (${artifact.features.join(', ')}).`,
      task.sourceField ?? 'datasetId',
    );
  }
  const cols = artifact.features.length;
  const columns = artifact.features.map((f) => (table.has(f) ? table.numbers(table.indexOf(f)) : null));
  const rowCount = table.rowCount;
  const X = { rows: rowCount, cols, data: new Float64Array(rowCount * cols).fill(NaN) };
  const skippedRows: number[] = [];
  for (let r = 0; r < rowCount; r++) {
    let any = false;
    for (let j = 0; j < cols; j++) {
      const column = columns[j];
      if (column === null) continue;
      const v = column[r];
      X.data[r * cols + j] = v;
      if (!Number.isNaN(v)) any = true;
    }
    if (!any) skippedRows.push(r);
  }
  const idColumns = artifact.idColumns.filter((c) => table.has(c));
  const idCells = idColumns.map((c) => table.texts(table.indexOf(c)));
  const ids = Array.from({ length: rowCount }, (_, r) =>
    Object.fromEntries(idColumns.map((c, i) => [c, idCells[i][r]])),
  );
  return {
    classes: predictor.classes,
    idColumns,
    ids,
    probabilities: predictor.predictMatrix(X),
    skippedRows,
    missingFeatures: artifact.features.filter((f) => !present.includes(f)),
  };
}

export type WorkerAnswer =
  | TrainOutput
  | BatchOutput
  | ModelAnswer<RowExplanation>
  | ModelAnswer<string>
  | NeedArtifact
  | RunComparison[]
  | number;

export default async function run(task: WorkerTask): Promise<WorkerAnswer> {
  // Not a task: it holds nothing afterwards (only tasks' leftovers are reported: memory-settle counts them), and the
  // pool ignores its failure.
  if (task.kind === 'warmUp') return warmUp(task.stop);
  try {
    switch (task.kind) {
      case 'train':
        return await train(task);
      case 'predictBatch':
        return await predictBatch(task);
      case 'explain':
        return await withModel(task.model, (predictor) => predictor.explain(task.row, task.label));
      case 'predictRows':
        return await withModel(task.model, (predictor) => {
          const rows: unknown = JSON.parse(task.rowsJson);
          if (!Array.isArray(rows)) throw new TypeError('predictRows: rowsJson is not an array');
          return JSON.stringify(predictor.predictRows(rows));
        });
      case 'compareRuns':
        return task.others.map((other) => compareEvaluations(task.base, other, task.options));
    }
  } catch (error) {
    // Structured clone drops an AppError's code and field: the pool's `fromWorkerError` restores them.
    throw toWorkerError(error);
  } finally {
    reportMemory();
  }
}
