/**
 * A run's progress, written: worker messages throttled into events (plus heartbeats while a worker is quiet), each
 * event persisted (so a loss curve can be drawn afterwards and late subscribers start from the current state) and
 * then published on the bus; a run's end stored (retried while storage fails) and announced.
 */
import { and, eq, notInArray } from 'drizzle-orm';
import { isDatabaseBusy, isStorageFull } from '../../db/errors.js';
import type { Store } from '../../db/store.js';
import type {
  FeatureImportanceEntry,
  PipelineStage,
  PostFitStage,
  ProgressMetrics,
  RunDetails,
  RunMetrics,
  RunStage,
  RunStatus,
  RunTimings,
  TerminalStatus,
  TrainingProgressEvent,
} from '../../domain/run.js';
import { isTerminal, TERMINAL_STATUSES } from '../../domain/run.js';
import type { Logger } from '../../logger.js';
import { stepShare, type StepProgress } from '../../ml/types.js';
import type { WorkerMessage } from '../../ml/worker.js';
import type { ProgressBus } from '../progress-bus.js';
import type { RunQueries } from './queries.js';

/** Share of the whole run at which each stage starts; a stage with steps fills up to the next one's start. */
export const STAGE_START: Readonly<Record<RunStage, number>> = {
  QUEUED: 0,
  LOADING: 0.01,
  PREPROCESSING: 0.05,
  CROSS_VALIDATING: 0.06,
  TRAINING: 0.1,
  EVALUATING: 0.8,
  EXPLAINING: 0.84,
  REFITTING: 0.9,
  SAVING: 0.94,
  DONE: 1,
};
const STAGE_END: Readonly<Record<SteppedStage, number>> = {
  CROSS_VALIDATING: 0.5,
  TRAINING: STAGE_START.EVALUATING,
  EVALUATING: STAGE_START.EXPLAINING,
  EXPLAINING: STAGE_START.REFITTING,
  REFITTING: STAGE_START.SAVING,
  SAVING: STAGE_START.DONE,
};

/** Where a stage starts for this run: after cross-validation (K models, the most work), the fit has what is left. */
function stageStart(live: LiveRun, stage: RunStage): number {
  return stage === 'TRAINING' && live.crossValidated ? STAGE_END.CROSS_VALIDATING : STAGE_START[stage];
}
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
/** How often, and how long apart, the end of a run is stored again after a storage error (about 2 minutes). */
export const FINISH_ATTEMPTS = 120;
export const FINISH_RETRY_MS = 1000;

type SteppedStage = 'CROSS_VALIDATING' | 'TRAINING' | PostFitStage;

/** A cross-validation step: the fold under way and the share of the whole cross-validation done. */
interface FoldStep {
  fold: number;
  folds: number;
  share: number;
}

interface LiveRun {
  lastStepEmit: number;
  lastDecile: number;
  /** The stage under way and when it began (its steps' ETA is measured from there). */
  stage: RunStage;
  stageStartedAt: number;
  pendingStep: { stage: SteppedStage; progress: StepProgress; fold?: FoldStep } | null;
  /** The run cross-validated before its fit (its later stages start later). */
  crossValidated: boolean;
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

function newLive(): LiveRun {
  const now = Date.now();
  return {
    lastStepEmit: 0,
    lastDecile: -1,
    stage: 'QUEUED',
    stageStartedAt: now,
    pendingStep: null,
    crossValidated: false,
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

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function finiteOrUndefined(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** What an event says; the recorder adds the run id, seq, time and queue position. */
export interface ProgressUpdate {
  status: RunStatus;
  stage: RunStage;
  progress: number;
  step: number;
  totalSteps: number;
  message: string;
  metrics?: ProgressMetrics | null;
  etaSeconds?: number | null;
  /** Repeats the last event's state (see startHeartbeat): it leaves the ETA that heartbeats count down as it is. */
  heartbeat?: boolean;
}

/** What a run's end stores. */
export interface RunEnd {
  message: string;
  error?: string;
  metrics?: RunMetrics;
  featureImportance?: FeatureImportanceEntry[];
  timings?: RunTimings;
  details?: RunDetails;
}

/** The state of the last event of a live run (what a "waiting" or "storing" message repeats). */
export interface LiveState {
  stage: RunStage;
  progress: number;
  step: number;
  totalSteps: number;
}

/**
 * A run's events in the order they were emitted: each one is numbered, stored and published after the previous one
 * was (storage is asynchronous), so the stored seqs and the published ones are the same gap-free sequence.
 * `tail` resolves to the seq of the last event, or NaN when it must be read from the database.
 */
interface EventChain {
  tail: Promise<number>;
  pending: number;
}

export class ProgressRecorder {
  private readonly live = new Map<string, LiveRun>();
  private readonly chains = new Map<string, EventChain>();

  constructor(
    private readonly store: Store,
    private readonly runs: RunQueries,
    private readonly bus: ProgressBus,
    private readonly logger: Logger,
  ) {}

  /** A new run: its events count from 1. */
  begin(runId: string): void {
    this.live.set(runId, newLive());
    this.chains.set(runId, { tail: Promise.resolve(0), pending: 0 });
  }

  liveState(runId: string): LiveState | null {
    return this.live.get(runId) ?? null;
  }

  /** A pipeline stage begins. */
  stage(runId: string, stage: PipelineStage, message: string): void {
    this.flushStep(runId);
    const live = this.live.get(runId);
    if (!live) return;
    // emit() moves live.stage (and its start time) to the new stage.
    live.lastDecile = -1;
    live.etaSeconds = null;
    // A stage after fitting counts its own steps from 0 (the fit's count stays in trainingStep for DONE).
    const postFit =
      stage === 'EVALUATING' ||
      stage === 'EXPLAINING' ||
      stage === 'REFITTING' ||
      stage === 'SAVING' ||
      stage === 'CROSS_VALIDATING';
    if (stage === 'CROSS_VALIDATING') live.crossValidated = true;
    void this.emit(runId, {
      status: 'RUNNING',
      stage,
      progress: stageStart(live, stage),
      step: postFit ? 0 : live.step,
      totalSteps: postFit ? 0 : live.totalSteps,
      message,
    });
  }

  onWorkerMessage(runId: string, message: WorkerMessage): void {
    // A run leaves `live` when it ends (finish): a message from a cancelled run's worker finds nothing here.
    const live = this.live.get(runId);
    if (!live) return;
    if (message.type === 'stage') {
      this.stage(runId, message.stage, message.message);
      return;
    }
    if (message.type === 'fold') {
      this.onFold(runId, live, message);
      return;
    }
    const stage = message.type === 'step' ? 'TRAINING' : message.stage;
    // A late step of a stage that has ended (the throttle's timer, a slow port) would move progress backwards.
    if (stage !== live.stage) return;
    const { progress } = message;
    const decile = Math.floor(10 * stepShare(progress));
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

  /**
   * Cross-validation: a fold's start and end go out at once (step 0 / the fold's last step), the steps of its model
   * through the step throttle; each event names the fold (metrics.fold of metrics.folds).
   */
  private onFold(runId: string, live: LiveRun, message: Extract<WorkerMessage, { type: 'fold' }>): void {
    if (live.stage !== 'CROSS_VALIDATING') return;
    const { event } = message;
    const fold: FoldStep = { fold: event.fold, folds: event.folds, share: event.progress };
    const progress: StepProgress = event.step
      ? { ...event.step, message: event.message }
      : { step: event.phase === 'FOLD_DONE' ? 1 : 0, totalSteps: 1, message: event.message };
    if (event.phase !== 'STEP') {
      this.emitStep(runId, 'CROSS_VALIDATING', progress, fold);
      return;
    }
    live.pendingStep = { stage: 'CROSS_VALIDATING', progress, fold };
    if (!live.stepTimer)
      this.scheduleStep(runId, live, Math.max(0, live.lastStepEmit + STEP_EVENT_INTERVAL_MS - Date.now()));
  }

  private scheduleStep(runId: string, live: LiveRun, delayMs: number): void {
    live.stepTimer = setTimeout(() => {
      live.stepTimer = null;
      if (!live.pendingStep || this.live.get(runId) !== live) return;
      // Subscribers still busy with earlier events: wait rather than queue more (the step is only a refinement).
      if (this.bus.backlog(runId) > 0) this.scheduleStep(runId, live, BACKLOG_RETRY_MS);
      else this.emitStep(runId, live.pendingStep.stage, live.pendingStep.progress, live.pendingStep.fold);
    }, delayMs);
  }

  startHeartbeat(runId: string): void {
    const live = this.live.get(runId);
    if (!live) return;
    live.heartbeat = setInterval(() => {
      if (this.live.get(runId) !== live) return;
      const now = Date.now();
      // Subscribers still busy with earlier events are not waiting for one.
      if (now - live.lastEmitAt < HEARTBEAT_AFTER_MS || this.bus.backlog(runId) > 0) return;
      void this.emit(runId, {
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
  flushStep(runId: string): void {
    const live = this.live.get(runId);
    if (live?.pendingStep)
      this.emitStep(runId, live.pendingStep.stage, live.pendingStep.progress, live.pendingStep.fold);
  }

  /** Stops a run's timers and drops its live state (its next events start from the stored seq). */
  forget(runId: string): void {
    const live = this.live.get(runId);
    if (live?.stepTimer) clearTimeout(live.stepTimer);
    if (live?.heartbeat) clearInterval(live.heartbeat);
    this.live.delete(runId);
    if (this.chains.get(runId)?.pending === 0) this.chains.delete(runId);
  }

  private emitStep(runId: string, stage: SteppedStage, progress: StepProgress, fold?: FoldStep): void {
    const live = this.live.get(runId);
    if (!live) return;
    live.pendingStep = null;
    const now = Date.now();
    live.lastStepEmit = now;
    // A long step reports how far into it the model is (`partial`): the share moves within it, the step does not.
    const share = clamp01(fold ? fold.share : stepShare(progress));
    live.lastDecile = Math.floor(share * 10);
    const elapsed = (now - live.stageStartedAt) / 1000;
    const etaSeconds = share > 0 ? (elapsed / share) * (1 - share) : null;
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
    if (fold) {
      metrics.fold = fold.fold;
      metrics.folds = fold.folds;
    }
    const start = stageStart(live, stage);
    void this.emit(runId, {
      status: 'RUNNING',
      stage,
      progress: start + share * (STAGE_END[stage] - start),
      step: progress.step,
      totalSteps: progress.totalSteps,
      metrics: Object.keys(metrics).length > 0 ? metrics : null,
      message: progress.message ?? `Step ${progress.step} of ${progress.totalSteps}`,
      etaSeconds,
    });
  }

  /**
   * Stores the run's end and announces it; a run that has already ended is left as it is (the store only changes a
   * run that is not terminal, so two processes or two callers never both end it).
   */
  async finish(runId: string, status: TerminalStatus, result: RunEnd, attempt = 1): Promise<void> {
    // Events still being stored write their stage and progress columns: stored after the end, they would show a
    // SUCCEEDED run still EVALUATING (on PostgreSQL, once nothing waited between the last step and the end).
    await this.chains.get(runId)?.tail;
    const current = await this.runs.get(runId);
    if (!current || isTerminal(current.status)) return;
    const finishedAt = new Date();
    const live = this.live.get(runId);
    if (!(await this.storeFinish(runId, status, current, result, finishedAt, attempt))) return;
    // DONE reports the fit's trees / rounds / epochs, not the steps of the last stage after it.
    const fitSteps = status === 'SUCCEEDED' && live && live.trainingTotalSteps > 0;
    const step = fitSteps ? live.trainingStep : current.step;
    const totalSteps = fitSteps ? live.trainingTotalSteps : current.totalSteps;
    const announced = this.emit(runId, {
      status,
      stage: status === 'SUCCEEDED' ? 'DONE' : current.stage,
      progress: status === 'SUCCEEDED' ? 1 : current.progress,
      step,
      totalSteps,
      message: result.message,
    });
    this.forget(runId);
    await announced;
  }

  /**
   * Stores a run's end; false when it is not stored (already ended elsewhere, or a storage error). A storage error
   * (an outside write lock, a full disk) must neither end the process nor lose the result: the write is tried again
   * every FINISH_RETRY_MS for FINISH_ATTEMPTS attempts, the run staying live meanwhile; after that it stays RUNNING
   * in the database and the next start's recovery fails it with a reason.
   */
  private async storeFinish(
    runId: string,
    status: TerminalStatus,
    current: { stage: RunStage; progress: number },
    result: RunEnd,
    finishedAt: Date,
    attempt: number,
  ): Promise<boolean> {
    const runs = this.store.t.trainingRuns;
    try {
      const changed = await this.store.update(
        'trainingRuns',
        {
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
        },
        and(eq(runs.id, runId), notInArray(runs.status, [...TERMINAL_STATUSES])),
      );
      return changed > 0;
    } catch (error) {
      const retry = attempt < FINISH_ATTEMPTS;
      this.logger.warn('could not store the end of a run', { runId, status, attempt, retry, err: error });
      if (retry)
        setTimeout(() => {
          void this.finish(runId, status, result, attempt + 1);
        }, FINISH_RETRY_MS).unref();
      return false;
    }
  }

  /**
   * Updates the run's live state now; then, after the run's earlier events, numbers the event, persists it with the
   * run's progress columns and publishes it. Resolves once published; never rejects (a storage error is logged:
   * live subscribers still get the event, the stored history misses it).
   */
  emit(runId: string, event: ProgressUpdate): Promise<void> {
    let live = this.live.get(runId);
    if (!live) {
      live = newLive();
      if (!TERMINAL_STATUSES.has(event.status)) this.live.set(runId, live);
    }
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
    const at = new Date();
    let chain = this.chains.get(runId);
    if (!chain) {
      chain = { tail: Promise.resolve(Number.NaN), pending: 0 };
      this.chains.set(runId, chain);
    }
    const ownChain = chain;
    ownChain.pending += 1;
    const published = ownChain.tail.then(async (lastSeq) => {
      const seq = (Number.isNaN(lastSeq) ? await this.runs.lastEventSeq(runId) : lastSeq) + 1;
      return this.persistAndPublish(runId, seq, event, at);
    });
    ownChain.tail = published.catch((error: unknown) => {
      this.logger.warn('progress event not numbered', { runId, err: error });
      return Number.NaN;
    });
    return ownChain.tail.then(() => {
      ownChain.pending -= 1;
      if (ownChain.pending === 0 && !this.live.has(runId) && this.chains.get(runId) === ownChain)
        this.chains.delete(runId);
    });
  }

  /** Stores and publishes the event; returns the seq it got. */
  private async persistAndPublish(runId: string, wanted: number, event: ProgressUpdate, at: Date): Promise<number> {
    let seq = wanted;
    const published: TrainingProgressEvent = {
      runId,
      seq,
      status: event.status,
      stage: event.stage,
      progress: clamp01(event.progress),
      step: event.step,
      totalSteps: event.totalSteps,
      metrics: event.metrics ?? null,
      message: event.message,
      etaSeconds: event.etaSeconds ?? null,
      at,
      // Events are published before a run enters the queue (start) or after it left (stop): no position yet.
      queuePosition: null,
    };
    // ETA and queue position are live-only: they are stale the moment they are read back.
    const { etaSeconds: _eta, queuePosition: _position, ...stored } = published;
    const { stage, progress, step, totalSteps, message } = published;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.transaction(async (tx) => {
          await tx.insert('progressEvents', { ...stored, seq });
          await tx.update(
            'trainingRuns',
            { stage, progress, step, totalSteps, message },
            eq(tx.t.trainingRuns.id, runId),
          );
        });
        break;
      } catch (error) {
        // Another process wrote this seq meanwhile (an API instance cancelling a run a worker trains): the next
        // free one, so subscribers that skip what they have seen still get this event.
        // (Not while the database is busy or full: the event then waits for no read, it streams and moves on.)
        const taken =
          attempt < 3 && !isDatabaseBusy(error) && !isStorageFull(error)
            ? await this.runs.lastEventSeq(runId).catch(() => 0)
            : 0;
        if (taken >= seq) {
          seq = taken + 1;
          continue;
        }
        // Called from timers and worker messages: a storage error here (an outside write lock, a full disk) must
        // not escape and end the process. Live subscribers still get the event; the stored history misses it.
        this.logger.warn('progress event not stored', { runId, seq, err: error });
        break;
      }
    }
    this.bus.publish({ ...published, seq });
    return seq;
  }
}
