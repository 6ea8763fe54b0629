/**
 * Training runs: snapshot a session's config into an immutable run, queue it, train it in a worker thread, stream
 * its progress (persisted, then published), store its model and results. Owns `training_runs` and `progress_events`.
 */
import { MessageChannel } from 'node:worker_threads';
import { and, asc, desc, eq, inArray, lt, max, sql } from 'drizzle-orm';
import type { Piscina } from 'piscina';
import type { Db } from '../db/client.js';
import { progressEvents, trainingRuns, type TrainingRunRow } from '../db/schema.js';
import { badInput, conflict, isDatabaseBusy, notFound, toAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkTrainable, type Stage, type PipelineConfig, type PostFitStage } from '../ml/pipeline.js';
import type { StepProgress } from '../ml/types.js';
import type { TrainOutput, TrainTask, WorkerMessage } from '../ml/worker.js';
import { validateHyperparameters } from '../ml/catalog.js';
import { APP_VERSION, packageVersion } from '../version.js';
import type { DatasetService } from './datasets.js';
import type { SessionService } from './sessions.js';
import type { ModelStore } from './models.js';
import {
  TERMINAL_STATUSES,
  type ProgressBus,
  type ProgressMetrics,
  type RunStatus,
  type TrainingProgressEvent,
} from './progress-bus.js';
import type { JobQueue } from './job-queue.js';
import { newId } from './ids.js';

export type TrainingRunRecord = TrainingRunRow & { status: RunStatus; stage: Stage };

/** Share of the whole run at which each stage starts; a stage with steps fills up to the next one's start. */
const STAGE_START: Record<Stage, number> = {
  QUEUED: 0,
  LOADING: 0.01,
  PREPROCESSING: 0.05,
  TRAINING: 0.1,
  EVALUATING: 0.8,
  EXPLAINING: 0.84,
  SAVING: 0.94,
  DONE: 1,
};
const STAGE_ORDER: readonly Stage[] = [
  'QUEUED',
  'LOADING',
  'PREPROCESSING',
  'TRAINING',
  'EVALUATING',
  'EXPLAINING',
  'SAVING',
  'DONE',
];
const stageEnd = (stage: Stage): number =>
  STAGE_START[STAGE_ORDER[Math.min(STAGE_ORDER.indexOf(stage) + 1, STAGE_ORDER.length - 1)]];
/**
 * A running run with nothing to say for this long gets a heartbeat event (same stage and step, ETA counted down),
 * so a client never waits more than about a second between live events, whatever the worker is busy with.
 */
const HEARTBEAT_AFTER_MS = 750;
const HEARTBEAT_CHECK_MS = 250;
/** At most this many step events per second and run, plus one whenever another tenth of the steps is done. */
const STEP_EVENT_INTERVAL_MS = 100;
/** While subscribers still receive the previous event, the next plain step event waits this long and looks again. */
const BACKLOG_RETRY_MS = 10;
export const RESTART_MESSAGE = 'Interrupted by a server restart; start the training again.';
/** A run that was training when the server stopped gracefully: back in the queue, it starts again on the next start. */
const STOPPED_MESSAGE =
  'The server stopped while this run was training; it starts again from the beginning when the server is back.';

interface LiveRun {
  seq: number;
  lastStepEmit: number;
  lastDecile: number;
  /** The stage under way and when it began (its steps' ETA is measured from there). */
  stage: Stage;
  stageStartedAt: number;
  pendingStep: { stage: 'TRAINING' | PostFitStage; progress: StepProgress } | null;
  /** Sends the pending step when the interval is over (set while one waits). */
  stepTimer: NodeJS.Timeout | null;
  /** Of the last event: a stage change and a heartbeat repeat them. */
  step: number;
  totalSteps: number;
  progress: number;
  message: string;
  metrics: ProgressMetrics | null;
  lastEmitAt: number;
  /** ETA of the last event that had one, and when it was sent (heartbeats count it down). */
  etaSeconds: number | null;
  etaAt: number;
  /** Trees / rounds / epochs of the fit: what the DONE event reports, not the last post-fit stage's steps. */
  trainingStep: number;
  trainingTotalSteps: number;
  heartbeat: NodeJS.Timeout | null;
}

function newLive(seq: number): LiveRun {
  const now = Date.now();
  return {
    seq,
    lastStepEmit: 0,
    lastDecile: -1,
    stage: 'QUEUED',
    stageStartedAt: now,
    pendingStep: null,
    stepTimer: null,
    step: 0,
    totalSteps: 0,
    progress: 0,
    message: '',
    metrics: null,
    lastEmitAt: now,
    etaSeconds: null,
    etaAt: now,
    trainingStep: 0,
    trainingTotalSteps: 0,
    heartbeat: null,
  };
}

export interface TrainingServiceOptions {
  threads: number;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function finiteOrUndefined(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/**
 * What a run says when it failed for a reason that is not the user's input: never the raw error, which can carry
 * server paths and internal names (the log has it, under the run id); what the user can do where that is known.
 */
function unexpectedRunFailure(error: unknown, runId: string): string {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  if (code === 'ENOENT')
    return "Training failed: the dataset's file is no longer on the server. Upload it again and start a new run.";
  if (code === 'ENOSPC' || code === 'SQLITE_FULL')
    return 'Training failed: the server ran out of disk space. Try again later.';
  if (isDatabaseBusy(error))
    return 'Training failed: the database was busy (another process held its write lock) while the result was stored. Start the run again.';
  return `Training failed because of an unexpected error on the server (logged under run ${runId}).`;
}

/** How often, and how long apart, the end of a run is stored again after a storage error (about 2 minutes). */
const FINISH_ATTEMPTS = 120;
/** Longest wait for a finished worker's last progress messages. */
const PORT_DRAIN_MS = 1000;
const FINISH_RETRY_MS = 1000;

export class TrainingService {
  private stopping = false;
  private readonly live = new Map<string, LiveRun>();
  private queue!: JobQueue;

  constructor(
    private readonly db: Db,
    private readonly sessions: SessionService,
    private readonly datasets: DatasetService,
    private readonly models: ModelStore,
    private readonly bus: ProgressBus,
    private readonly pool: Piscina,
    private readonly logger: Logger,
    private readonly options: TrainingServiceOptions,
  ) {}

  /** The queue calls back into `execute`; set once at start-up. */
  attachQueue(queue: JobQueue): void {
    this.queue = queue;
  }

  // ----------------------------------------------------------------------------------------------------------
  // Queries

  get(runId: string): TrainingRunRecord | null {
    const row = this.db.select().from(trainingRuns).where(eq(trainingRuns.id, runId)).get();
    return (row as TrainingRunRecord | undefined) ?? null;
  }

  require(runId: string): TrainingRunRecord {
    const run = this.get(runId);
    if (!run) throw notFound('Training run', runId);
    return run;
  }

  /** Runs of a session, newest first; `after` is the id of the last run of the previous page. */
  list(
    sessionId: string,
    first = 20,
    after?: string | null,
  ): { runs: TrainingRunRecord[]; hasNextPage: boolean; totalCount: number } {
    const limit = Math.min(Math.max(first, 1), 100);
    let before: number | null = null;
    if (after) {
      const cursor = this.get(after);
      if (!cursor || cursor.sessionId !== sessionId)
        throw badInput(`Unknown cursor "${after}" for this session.`, 'after');
      before = cursor.seq;
    }
    const where =
      before === null
        ? eq(trainingRuns.sessionId, sessionId)
        : and(eq(trainingRuns.sessionId, sessionId), lt(trainingRuns.seq, before));
    const rows = this.db
      .select()
      .from(trainingRuns)
      .where(where)
      .orderBy(desc(trainingRuns.seq))
      .limit(limit + 1)
      .all() as TrainingRunRecord[];
    const total = this.db
      .select({ n: sql<number>`count(*)` })
      .from(trainingRuns)
      .where(eq(trainingRuns.sessionId, sessionId))
      .get();
    return { runs: rows.slice(0, limit), hasNextPage: rows.length > limit, totalCount: total?.n ?? 0 };
  }

  /** The newest run of a session that succeeded (the one REST /predict and /result use). */
  latestSucceeded(sessionId: string): TrainingRunRecord | null {
    const row = this.db
      .select()
      .from(trainingRuns)
      .where(and(eq(trainingRuns.sessionId, sessionId), eq(trainingRuns.status, 'SUCCEEDED')))
      .orderBy(desc(trainingRuns.seq))
      .limit(1)
      .get();
    return (row as TrainingRunRecord | undefined) ?? null;
  }

  latest(sessionId: string): TrainingRunRecord | null {
    const row = this.db
      .select()
      .from(trainingRuns)
      .where(eq(trainingRuns.sessionId, sessionId))
      .orderBy(desc(trainingRuns.seq))
      .limit(1)
      .get();
    return (row as TrainingRunRecord | undefined) ?? null;
  }

  /** Whether the session has a run waiting or training (a new start would be a CONFLICT). */
  hasActiveRun(sessionId: string): boolean {
    const status = this.latest(sessionId)?.status;
    return status === 'QUEUED' || status === 'RUNNING';
  }

  queuePosition(runId: string): number | null {
    return this.queue.position(runId);
  }

  counts(): { queued: number; running: number } {
    return this.queue.counts();
  }

  /** Persisted progress events of a run, in order. */
  events(runId: string): TrainingProgressEvent[] {
    return this.db
      .select()
      .from(progressEvents)
      .where(eq(progressEvents.runId, runId))
      .orderBy(asc(progressEvents.seq))
      .all()
      .map((row) => ({
        runId: row.runId,
        seq: row.seq,
        status: row.status as RunStatus,
        stage: row.stage as Stage,
        progress: row.progress,
        step: row.step,
        totalSteps: row.totalSteps,
        metrics: row.metrics ?? null,
        message: row.message,
        etaSeconds: null,
        at: row.at,
        queuePosition: null,
      }));
  }

  /** The run's current state as a progress event (the first event every subscriber gets). */
  snapshot(runId: string): TrainingProgressEvent | null {
    const run = this.get(runId);
    if (!run) return null;
    const last = this.db
      .select()
      .from(progressEvents)
      .where(eq(progressEvents.runId, runId))
      .orderBy(desc(progressEvents.seq))
      .limit(1)
      .get();
    return {
      runId,
      seq: last?.seq ?? 0,
      status: run.status,
      stage: run.stage,
      progress: run.progress,
      step: run.step,
      totalSteps: run.totalSteps,
      metrics: last?.metrics ?? null,
      message: run.message,
      etaSeconds: null,
      at: last?.at ?? run.createdAt,
      queuePosition: run.status === 'QUEUED' ? this.queue.position(runId) : null,
    };
  }

  /**
   * Live progress of a run: its snapshot first, then every later event, completing after the terminal one.
   * A plain iterator over the bus (no Repeater or generator per subscriber: this runs once per subscriber × event):
   * `return()` releases the bus listener at once, even while a next() waits.
   */
  progressStream(runId: string): AsyncIterable<TrainingProgressEvent> {
    const run = this.get(runId);
    if (!run) throw notFound('Training run', runId);
    const done: IteratorResult<TrainingProgressEvent> = { done: true, value: undefined };
    let source: AsyncIterator<TrainingProgressEvent> | null = null;
    let lastSeq = -1;
    let finished = false;
    const finish = () => {
      finished = true;
      void source?.return?.();
    };
    const iterator: AsyncIterator<TrainingProgressEvent> = {
      next: async () => {
        if (finished) return done;
        if (!source) {
          // Subscribe before reading the snapshot, so no event falls between the two; duplicates are skipped by seq.
          source = this.bus.subscribe(runId)[Symbol.asyncIterator]();
          const snapshot = this.snapshot(runId);
          if (!snapshot) {
            finish();
            return done;
          }
          lastSeq = snapshot.seq;
          if (TERMINAL_STATUSES.has(snapshot.status)) finish();
          return { done: false, value: snapshot };
        }
        for (;;) {
          const next = await source.next();
          if (finished || next.done) {
            finish();
            return done;
          }
          const event = next.value;
          if (event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          // The terminal event is the last: release the listener now, the following next() completes.
          if (TERMINAL_STATUSES.has(event.status)) finish();
          return { done: false, value: event };
        }
      },
      return: async () => {
        finish();
        return done;
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  // ----------------------------------------------------------------------------------------------------------
  // Commands

  /** Snapshots the session's config into a new QUEUED run and queues it. */
  async start(sessionId: string): Promise<TrainingRunRecord> {
    const session = this.sessions.require(sessionId);
    const active = this.db
      .select({ id: trainingRuns.id, status: trainingRuns.status })
      .from(trainingRuns)
      .where(and(eq(trainingRuns.sessionId, sessionId), inArray(trainingRuns.status, ['QUEUED', 'RUNNING'])))
      .get();
    if (active)
      throw conflict(
        `Session ${sessionId} already has a training run ${active.status.toLowerCase()} (${active.id}); wait for it or cancel it first.`,
      );
    if (!session.datasetId) throw badInput('Choose a dataset first (configureSession datasetId).', 'datasetId');
    if (!session.modelType) throw badInput('Choose a model type first (configureSession modelType).', 'modelType');
    await this.datasets.requireAvailable(session.datasetId, 'datasetId');
    const hyperparameters = validateHyperparameters(session.modelType, session.hyperparameters);
    await this.datasets.resolveFeatures(session.datasetId, {
      features: session.features,
      useVettingFeatures: session.useVettingFeatures,
    });
    // Too little data for the split is refused now, not after a run that evaluates on nothing; tiny classes warn.
    const { warnings } = checkTrainable(await this.datasets.labeledTable(session.datasetId), {
      task: session.task,
      split: session.split,
      seed: session.seed,
    });

    const config: PipelineConfig = {
      modelType: session.modelType,
      hyperparameters,
      features: session.features,
      useVettingFeatures: session.useVettingFeatures,
      task: session.task,
      split: session.split,
      seed: session.seed,
    };
    const now = new Date();
    const id = newId('run');
    const seqRow = this.db
      .select({ value: max(trainingRuns.seq) })
      .from(trainingRuns)
      .get();
    this.db
      .insert(trainingRuns)
      .values({
        id,
        sessionId,
        seq: (seqRow?.value ?? 0) + 1,
        status: 'QUEUED',
        stage: 'QUEUED',
        progress: 0,
        step: 0,
        totalSteps: 0,
        message: 'Waiting in the training queue',
        config: config as unknown as Record<string, unknown>,
        datasetId: session.datasetId,
        modelType: session.modelType,
        details: { warnings },
        createdAt: now,
      })
      .run();
    this.live.set(id, newLive(0));
    this.emit(id, {
      status: 'QUEUED',
      stage: 'QUEUED',
      progress: 0,
      step: 0,
      totalSteps: 0,
      message: 'Waiting in the training queue',
    });
    this.queue.enqueue(id);
    return this.require(id);
  }

  /** Cancels a queued run (it never starts) or a running one (its worker is stopped). */
  cancel(runId: string): TrainingRunRecord {
    const run = this.require(runId);
    if (TERMINAL_STATUSES.has(run.status)) throw conflict(`Training run ${runId} has already ended (${run.status}).`);
    if (this.queue.remove(runId) || !this.queue.isRunning(runId)) {
      this.finish(runId, 'CANCELLED', { message: 'Cancelled before it started' });
    } else {
      this.queue.abort(runId);
      // The executor records CANCELLED as soon as the worker is stopped; the caller sees the run as cancelled now.
      this.finish(runId, 'CANCELLED', { message: 'Cancelled by the user' });
    }
    return this.require(runId);
  }

  /** A graceful stop is under way: runs that the queue aborts now go back to the queue instead of being cancelled. */
  prepareShutdown(): void {
    this.stopping = true;
  }

  private requeueAfterStop(runId: string): void {
    try {
      this.db
        .update(trainingRuns)
        .set({
          status: 'QUEUED',
          stage: 'QUEUED',
          progress: 0,
          step: 0,
          totalSteps: 0,
          startedAt: null,
          message: STOPPED_MESSAGE,
        })
        .where(eq(trainingRuns.id, runId))
        .run();
      this.emit(runId, {
        status: 'QUEUED',
        stage: 'QUEUED',
        progress: 0,
        step: 0,
        totalSteps: 0,
        message: STOPPED_MESSAGE,
      });
    } catch (error) {
      // Left RUNNING: the next start's recovery fails it with RESTART_MESSAGE instead.
      this.logger.warn('could not put a run back in the queue at shutdown', { runId, err: error });
    }
  }

  /** A session is being deleted: stop its queued and running runs, and free its cached models. */
  releaseSession(sessionId: string): void {
    const runs = this.db
      .select({ id: trainingRuns.id, status: trainingRuns.status })
      .from(trainingRuns)
      .where(eq(trainingRuns.sessionId, sessionId))
      .all();
    for (const run of runs) {
      if (run.status === 'QUEUED' || run.status === 'RUNNING') this.cancel(run.id);
    }
    this.models.forget(runs.map((run) => run.id));
  }

  /** Start-up: runs left RUNNING by a crash failed; runs left QUEUED go back in the queue, oldest first. */
  recover(): { failed: number; requeued: number } {
    const running = this.db
      .select({ id: trainingRuns.id })
      .from(trainingRuns)
      .where(eq(trainingRuns.status, 'RUNNING'))
      .all();
    for (const { id } of running) this.finish(id, 'FAILED', { message: RESTART_MESSAGE, error: RESTART_MESSAGE });
    const queued = this.db
      .select({ id: trainingRuns.id })
      .from(trainingRuns)
      .where(eq(trainingRuns.status, 'QUEUED'))
      .orderBy(asc(trainingRuns.seq))
      .all();
    for (const { id } of queued) this.queue.enqueue(id);
    return { failed: running.length, requeued: queued.length };
  }

  // ----------------------------------------------------------------------------------------------------------
  // Execution (called by the queue)

  readonly execute = async (runId: string, signal: AbortSignal): Promise<void> => {
    const run = this.get(runId);
    if (!run || run.status !== 'QUEUED') return;
    const startedAt = new Date();
    try {
      await this.whileDatabaseBusy(runId, signal, () =>
        this.db.update(trainingRuns).set({ status: 'RUNNING', startedAt }).where(eq(trainingRuns.id, runId)).run(),
      );
    } catch (error) {
      // Still QUEUED in the database: the next start's recovery queues it again.
      this.logger.error('could not start a run', { runId, err: error });
      return;
    }
    this.emit(runId, {
      status: 'RUNNING',
      stage: 'LOADING',
      progress: STAGE_START.LOADING,
      step: 0,
      totalSteps: 0,
      message: 'Starting',
    });
    this.startHeartbeat(runId);
    const channel = new MessageChannel();
    try {
      const checksum = await this.datasets.checksum(run.datasetId);
      const location = this.datasets.location(run.datasetId);
      await this.whileDatabaseBusy(runId, signal, () =>
        this.db
          .update(trainingRuns)
          .set({ datasetChecksum: checksum, versions: this.versions(run.modelType) })
          .where(eq(trainingRuns.id, runId))
          .run(),
      );
      channel.port1.on('message', (message: WorkerMessage) => {
        this.onWorkerMessage(runId, message);
      });
      // The worker closes its port after its last message; the task's result travels another way and can overtake
      // the last progress messages (a stage's final step), so they are awaited before the run moves on.
      const portClosed = new Promise<void>((resolve) =>
        channel.port1.once('close', () => {
          resolve();
        }),
      );
      const task: TrainTask = {
        kind: 'train',
        location,
        config: run.config as unknown as PipelineConfig,
        threads: this.options.threads,
        port: channel.port2,
      };
      const output = (await this.pool.run(task, { transferList: [channel.port2], signal })) as TrainOutput;
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([portClosed, new Promise((resolve) => (drainTimer = setTimeout(resolve, PORT_DRAIN_MS)))]);
      clearTimeout(drainTimer);
      this.flushStep(runId);
      if (this.get(runId)?.status !== 'RUNNING') return;
      // Writing a large model (a 1,000-tree forest is ~23 MB gzipped) holds this thread: say so first.
      const live = this.live.get(runId);
      if (live) {
        const megabytes = (output.artifactGzip.byteLength / 1e6).toFixed(1);
        this.emit(runId, {
          status: 'RUNNING',
          stage: 'SAVING',
          progress: live.progress,
          step: live.step,
          totalSteps: live.totalSteps,
          message: `Storing the model (${megabytes} MB)`,
        });
      }
      await this.whileDatabaseBusy(runId, signal, () => {
        this.models.save(runId, output.artifactGzip);
      });
      const finishedAt = new Date();
      const totalSeconds = (finishedAt.getTime() - startedAt.getTime()) / 1000;
      this.finish(runId, 'SUCCEEDED', {
        message: `Done: macro-F1 ${output.metrics.macro.f1?.toFixed(3) ?? 'n/a'} on ${output.splitCounts.test} held-out rows`,
        metrics: output.metrics as unknown as Record<string, unknown>,
        featureImportance: output.featureImportance,
        timings: {
          queuedSeconds: (startedAt.getTime() - run.createdAt.getTime()) / 1000,
          loadSeconds: output.loadSeconds,
          ...output.timings,
          totalSeconds,
        },
        details: {
          history: output.history,
          splitCounts: output.splitCounts,
          features: output.features,
          usesVettingFeatures: output.usesVettingFeatures,
          permutationRows: output.permutationRows,
          explanation: output.explanation,
          warnings: output.warnings,
        },
      });
    } catch (error) {
      if (signal.aborted) {
        if (this.stopping) this.requeueAfterStop(runId);
        else this.finish(runId, 'CANCELLED', { message: 'Cancelled by the user' });
        return;
      }
      const coded = toAppError(error);
      const message = coded ? coded.message : unexpectedRunFailure(error, runId);
      if (!coded) this.logger.error('training failed', { runId, err: error });
      this.finish(runId, 'FAILED', { message, error: message });
    } finally {
      channel.port1.close();
      this.forget(runId);
    }
  };

  private versions(modelType: string): Record<string, string> {
    const versions: Record<string, string> = { app: APP_VERSION, node: process.version };
    if (modelType === 'neural_network') {
      for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node']) {
        const version = packageVersion(name);
        if (version) versions[name] = version;
      }
    }
    return versions;
  }

  private onWorkerMessage(runId: string, message: WorkerMessage): void {
    // A run leaves `live` when it ends (finish): a message from a cancelled run's worker finds nothing here.
    const live = this.live.get(runId);
    if (!live) return;
    if (message.type === 'stage') {
      this.flushStep(runId);
      // emit() moves live.stage (and its start time) to the new stage.
      live.lastDecile = -1;
      live.etaSeconds = null;
      // A stage after fitting counts its own steps from 0 (the fit's count stays in trainingStep for DONE).
      const postFit = message.stage === 'EVALUATING' || message.stage === 'EXPLAINING' || message.stage === 'SAVING';
      this.emit(runId, {
        status: 'RUNNING',
        stage: message.stage,
        progress: STAGE_START[message.stage],
        step: postFit ? 0 : live.step,
        totalSteps: postFit ? 0 : live.totalSteps,
        message: message.message,
      });
      return;
    }
    const stage = message.type === 'step' ? 'TRAINING' : message.stage;
    // A late step of a stage that has ended (the throttle's timer, a slow port) would move progress backwards.
    if (stage !== live.stage) return;
    const { progress } = message;
    const decile = progress.totalSteps > 0 ? Math.floor((10 * progress.step) / progress.totalSteps) : 0;
    if (decile > live.lastDecile || progress.step >= progress.totalSteps) {
      this.emitStep(runId, stage, progress);
      return;
    }
    // Other steps go out from a timer, newest only: messages that queued up while the loop was busy (e.g. fanning
    // out the previous event to many subscribers) collapse into one event instead of one event each.
    live.pendingStep = { stage, progress };
    if (!live.stepTimer)
      this.scheduleStep(runId, live, Math.max(0, live.lastStepEmit + STEP_EVENT_INTERVAL_MS - Date.now()));
  }

  private scheduleStep(runId: string, live: LiveRun, delayMs: number): void {
    live.stepTimer = setTimeout(() => {
      live.stepTimer = null;
      if (!live.pendingStep || this.live.get(runId) !== live) return;
      // Subscribers still busy with earlier events: wait rather than queue more (the step is only a refinement).
      if (this.bus.backlog(runId) > 0) this.scheduleStep(runId, live, BACKLOG_RETRY_MS);
      else this.emitStep(runId, live.pendingStep.stage, live.pendingStep.progress);
    }, delayMs);
  }

  private startHeartbeat(runId: string): void {
    const live = this.live.get(runId);
    if (!live) return;
    live.heartbeat = setInterval(() => {
      if (this.live.get(runId) !== live) return;
      const now = Date.now();
      // Subscribers still busy with earlier events are not waiting for one.
      if (now - live.lastEmitAt < HEARTBEAT_AFTER_MS || this.bus.backlog(runId) > 0) return;
      this.emit(runId, {
        status: 'RUNNING',
        stage: live.stage,
        progress: live.progress,
        step: live.step,
        totalSteps: live.totalSteps,
        message: live.message,
        metrics: live.metrics,
        etaSeconds: live.etaSeconds === null ? null : Math.max(0, live.etaSeconds - (now - live.etaAt) / 1000),
        heartbeat: true,
      });
    }, HEARTBEAT_CHECK_MS);
    live.heartbeat.unref();
  }

  /** The latest step that the throttle held back, if any. */
  private flushStep(runId: string): void {
    const live = this.live.get(runId);
    if (live?.pendingStep) this.emitStep(runId, live.pendingStep.stage, live.pendingStep.progress);
  }

  private forget(runId: string): void {
    const live = this.live.get(runId);
    if (live?.stepTimer) clearTimeout(live.stepTimer);
    if (live?.heartbeat) clearInterval(live.heartbeat);
    this.live.delete(runId);
  }

  private emitStep(runId: string, stage: 'TRAINING' | PostFitStage, progress: StepProgress): void {
    const live = this.live.get(runId);
    if (!live) return;
    live.pendingStep = null;
    const now = Date.now();
    live.lastStepEmit = now;
    const share = progress.totalSteps > 0 ? clamp01(progress.step / progress.totalSteps) : 0;
    live.lastDecile = Math.floor(share * 10);
    const elapsed = (now - live.stageStartedAt) / 1000;
    const etaSeconds =
      progress.step > 0 ? (elapsed / progress.step) * Math.max(0, progress.totalSteps - progress.step) : null;
    live.etaSeconds = etaSeconds;
    live.etaAt = now;
    if (stage === 'TRAINING') {
      live.trainingStep = progress.step;
      live.trainingTotalSteps = progress.totalSteps;
    }
    const metrics: ProgressMetrics = {};
    const loss = finiteOrUndefined(progress.loss);
    const valLoss = finiteOrUndefined(progress.valLoss);
    const valAccuracy = finiteOrUndefined(progress.valAccuracy);
    if (loss !== undefined) metrics.loss = loss;
    if (valLoss !== undefined) metrics.valLoss = valLoss;
    if (valAccuracy !== undefined) metrics.valAccuracy = valAccuracy;
    this.emit(runId, {
      status: 'RUNNING',
      stage,
      progress: STAGE_START[stage] + share * (stageEnd(stage) - STAGE_START[stage]),
      step: progress.step,
      totalSteps: progress.totalSteps,
      metrics: Object.keys(metrics).length > 0 ? metrics : null,
      message: progress.message ?? `Step ${progress.step} of ${progress.totalSteps}`,
      etaSeconds,
    });
  }

  private finish(
    runId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
    result: {
      message: string;
      error?: string;
      metrics?: Record<string, unknown>;
      featureImportance?: unknown[];
      timings?: Record<string, number>;
      details?: Record<string, unknown>;
    },
    attempt = 1,
  ): void {
    const current = this.get(runId);
    if (!current || TERMINAL_STATUSES.has(current.status)) return;
    const finishedAt = new Date();
    const live = this.live.get(runId);
    if (!this.storeFinish(runId, status, current, result, finishedAt, attempt)) return;
    // DONE reports the fit's trees / rounds / epochs, not the steps of the last stage after it.
    const fitSteps = status === 'SUCCEEDED' && live && live.trainingTotalSteps > 0;
    const step = fitSteps ? live.trainingStep : current.step;
    const totalSteps = fitSteps ? live.trainingTotalSteps : current.totalSteps;
    this.emit(runId, {
      status,
      stage: status === 'SUCCEEDED' ? 'DONE' : current.stage,
      progress: status === 'SUCCEEDED' ? 1 : current.progress,
      step,
      totalSteps,
      message: result.message,
    });
    this.forget(runId);
  }

  /**
   * Runs a write, and while another process holds the database's write lock tries it again every FINISH_RETRY_MS
   * (for as long as a run's end is retried), saying so live; any other error, or a cancel, goes to the caller.
   */
  private async whileDatabaseBusy(runId: string, signal: AbortSignal, write: () => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        write();
        return;
      } catch (error) {
        if (!isDatabaseBusy(error) || attempt >= FINISH_ATTEMPTS || signal.aborted) throw error;
        const live = this.live.get(runId);
        if (live && attempt === 1) {
          this.emit(runId, {
            status: 'RUNNING',
            stage: live.stage,
            progress: live.progress,
            step: live.step,
            totalSteps: live.totalSteps,
            message: 'Waiting for the database (another process holds its write lock)',
          });
        }
        await new Promise((resolve) => setTimeout(resolve, FINISH_RETRY_MS).unref());
      }
    }
  }

  /**
   * Stores a run's end. A storage error (an outside write lock, a full disk) must neither end the process nor lose
   * the result: the write is tried again every FINISH_RETRY_MS for FINISH_ATTEMPTS attempts, the run staying live
   * meanwhile; after that it stays RUNNING in the database and the next start's recovery fails it with a reason.
   */
  private storeFinish(
    runId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
    current: { stage: Stage; progress: number },
    result: Parameters<TrainingService['finish']>[2],
    finishedAt: Date,
    attempt: number,
  ): boolean {
    try {
      this.db
        .update(trainingRuns)
        .set({
          status,
          stage: status === 'SUCCEEDED' ? 'DONE' : current.stage,
          progress: status === 'SUCCEEDED' ? 1 : current.progress,
          message: result.message,
          error: result.error ?? null,
          metrics: result.metrics,
          featureImportance: result.featureImportance,
          timings: result.timings,
          details: result.details,
          finishedAt,
        })
        .where(eq(trainingRuns.id, runId))
        .run();
      return true;
    } catch (error) {
      const retry = attempt < FINISH_ATTEMPTS;
      this.logger.warn('could not store the end of a run', { runId, status, attempt, retry, err: error });
      if (retry)
        setTimeout(() => {
          this.finish(runId, status, result, attempt + 1);
        }, FINISH_RETRY_MS).unref();
      return false;
    }
  }

  /** Persists the event and the run's progress columns, then publishes it. */
  private emit(
    runId: string,
    event: {
      status: RunStatus;
      stage: Stage;
      progress: number;
      step: number;
      totalSteps: number;
      message: string;
      metrics?: ProgressMetrics | null;
      etaSeconds?: number | null;
      /** Repeats the last event's state (see startHeartbeat): it leaves the ETA that heartbeats count down as it is. */
      heartbeat?: boolean;
    },
  ): void {
    let live = this.live.get(runId);
    if (!live) {
      const last = this.db
        .select({ seq: max(progressEvents.seq) })
        .from(progressEvents)
        .where(eq(progressEvents.runId, runId))
        .get();
      live = newLive(last?.seq ?? 0);
      if (!TERMINAL_STATUSES.has(event.status)) this.live.set(runId, live);
    }
    live.seq += 1;
    live.step = event.step;
    live.totalSteps = event.totalSteps;
    live.progress = event.progress;
    live.message = event.message;
    live.metrics = event.metrics ?? null;
    live.lastEmitAt = Date.now();
    if (event.stage !== live.stage) {
      live.stage = event.stage;
      live.stageStartedAt = live.lastEmitAt;
    }
    if (!event.heartbeat && event.etaSeconds == null) live.etaSeconds = null;
    const published: TrainingProgressEvent = {
      runId,
      seq: live.seq,
      status: event.status,
      stage: event.stage,
      progress: clamp01(event.progress),
      step: event.step,
      totalSteps: event.totalSteps,
      metrics: event.metrics ?? null,
      message: event.message,
      etaSeconds: event.etaSeconds ?? null,
      at: new Date(),
      queuePosition: event.status === 'QUEUED' ? this.queue.position(runId) : null,
    };
    // ETA and queue position are live-only: they are stale the moment they are read back.
    const { etaSeconds: _eta, queuePosition: _position, ...stored } = published;
    const { stage, progress, step, totalSteps, message } = published;
    try {
      this.db.transaction((tx) => {
        tx.insert(progressEvents).values(stored).run();
        tx.update(trainingRuns)
          .set({ stage, progress, step, totalSteps, message })
          .where(eq(trainingRuns.id, runId))
          .run();
      });
    } catch (error) {
      // Called from timers and worker messages: a storage error here (an outside write lock, a full disk) must not
      // escape and end the process. Live subscribers still get the event; the stored history misses it.
      this.logger.warn('progress event not stored', { runId, seq: published.seq, err: error });
    }
    this.bus.publish(published);
  }
}
