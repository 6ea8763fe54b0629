/**
 * What a user (or a start-up) does to training runs: start one from a session's config, cancel one, and at start-up
 * recover what the last process left. Each command checks its rule and then writes through the progress recorder and
 * the queue.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Store } from '../../db/store.js';
import { badInput, conflict } from '../../domain/errors.js';
import {
  hasTrainingChoices,
  isActive,
  isTerminal,
  MISSING_FOR_TRAINING,
  missingForTraining,
  type RunConfig,
} from '../../domain/run.js';
import { validateHyperparameters } from '../../ml/catalog.js';
import { resolveModel } from '../../ml/cost.js';
import { checkTrainable, taskTable } from '../../ml/pipeline.js';
import type { DatasetService } from '../datasets.js';
import type { EnsembleService } from '../ensembles.js';
import { newId } from '../ids.js';
import type { JobQueue } from '../job-queue.js';
import type { ModelStore } from '../models.js';
import type { SessionService } from '../sessions.js';
import type { Caller, OwnerService } from '../owners.js';
import { checkBudget, runBudget } from './budget.js';
import type { ProgressRecorder } from './progress.js';
import type { RunQueries, TrainingRunRecord } from './queries.js';

export const RESTART_MESSAGE = 'Interrupted by a server restart; start the training again.';
const QUEUED_MESSAGE = 'Waiting in the training queue';
/** A RUNNING run whose job is gone from the shared queue (its Redis lost its data): nobody will finish it. */
export const LOST_MESSAGE =
  'Training failed: the run was lost from the shared training queue (Redis lost its data while it ran). Start the training again.';

export class TrainingCommands {
  constructor(
    private readonly store: Store,
    private readonly runs: RunQueries,
    private readonly progress: ProgressRecorder,
    private readonly queue: JobQueue,
    private readonly sessions: SessionService,
    private readonly datasets: DatasetService,
    private readonly models: ModelStore,
    private readonly owners: OwnerService,
    /** MAX_TRAINING_SECONDS: a configuration estimated to need much longer than its budget is refused at start. */
    private readonly maxTrainingMs: number,
    private readonly ensembles: EnsembleService,
  ) {}

  /** Whether the session has a run waiting or training (a new start would be a CONFLICT). */
  async hasActiveRun(sessionId: string): Promise<boolean> {
    return (await this.runs.activeRun(sessionId)) !== null;
  }

  queuePosition(runId: string): Promise<number | null> {
    return this.queue.position(runId);
  }

  counts(): Promise<{ queued: number; running: number }> {
    return this.queue.counts();
  }

  /** Snapshots the session's config into a new QUEUED run and queues it. */
  async start(caller: Caller, sessionId: string): Promise<TrainingRunRecord> {
    const session = await this.sessions.require(caller, sessionId);
    this.owners.claim(caller, 'run');
    const active = await this.runs.activeRun(sessionId);
    if (active)
      throw conflict(
        `Session ${sessionId} already has a training run ${active.status.toLowerCase()} (${active.id}); wait for it or cancel it first.`,
      );
    if (!hasTrainingChoices(session)) {
      const [missing] = missingForTraining(session);
      throw badInput(MISSING_FOR_TRAINING[missing], missing);
    }
    const { datasetId, modelType } = session;
    await this.datasets.requireAvailable(datasetId, 'datasetId');
    const hyperparameters = validateHyperparameters(modelType, session.hyperparameters);
    if (modelType === 'soft_voting') {
      // Built from stored runs: their checks replace the fit's (features, split, time estimate).
      const { config, warnings } = await this.ensembles.configFor(caller, session, hyperparameters);
      return this.queueRun(sessionId, datasetId, config, warnings);
    }
    const { features } = await this.datasets.resolveFeatures(datasetId, {
      features: session.features,
      useVettingFeatures: session.useVettingFeatures,
    });
    await this.sessions.checkSelection(session);
    // Too little data for the split is refused now, not after a run that evaluates on nothing; tiny classes warn.
    const table = await this.datasets.labeledTable(datasetId);
    const { warnings, splitCounts } = checkTrainable(table, {
      task: session.task,
      split: session.split,
      seed: session.seed,
    });
    // A configuration that cannot finish within the run's time budget is refused now, with the estimate, instead of
    // holding a training slot until the budget stops it (configure checks the same on the stored counts).
    const budget = runBudget(session.selection.maxTrainingSeconds, this.maxTrainingMs);
    const { refusal, warning } = checkBudget(
      resolveModel(modelType, hyperparameters),
      {
        rows: splitCounts.train,
        features: features.length,
        classes: taskTable(table, session.task).classes.length,
      },
      session.selection,
      budget,
    );
    if (refusal) throw badInput(refusal, 'hyperparameters');
    if (warning) warnings.push(warning);

    return this.queueRun(
      sessionId,
      datasetId,
      {
        modelType,
        hyperparameters,
        features: session.features,
        useVettingFeatures: session.useVettingFeatures,
        task: session.task,
        split: session.split,
        seed: session.seed,
        ...session.selection,
      },
      warnings,
    );
  }

  /**
   * Stores a new QUEUED run of a checked config and queues it. `start` checks the session first; a search queues
   * its best trial's refit here (the search holds the session's place, so no active-run check).
   */
  async queueRun(
    sessionId: string,
    datasetId: string,
    config: RunConfig,
    warnings: string[],
  ): Promise<TrainingRunRecord> {
    const { modelType } = config;
    const id = newId('run');
    await this.store.insert('trainingRuns', {
      id,
      sessionId,
      seq: await this.runs.nextSeq(),
      status: 'QUEUED',
      stage: 'QUEUED',
      progress: 0,
      step: 0,
      totalSteps: 0,
      message: QUEUED_MESSAGE,
      config,
      datasetId,
      modelType,
      details: { warnings },
      createdAt: new Date(),
    });
    this.progress.begin(id);
    await this.progress.emit(id, {
      status: 'QUEUED',
      stage: 'QUEUED',
      progress: 0,
      step: 0,
      totalSteps: 0,
      message: QUEUED_MESSAGE,
    });
    // Whoever trains it (a worker process, with a shared queue) numbers its next events from the stored ones: this
    // process keeps no count of its own that a later event (a cancel) would repeat.
    this.progress.forget(id);
    await this.queue.enqueue(id);
    return this.runs.require(id);
  }

  /** Cancels a queued run (it never starts) or a running one (its worker is stopped). */
  async cancel(caller: Caller, runId: string): Promise<TrainingRunRecord> {
    await this.runs.requireVisible(caller, runId);
    return this.stop(runId);
  }

  private async stop(runId: string): Promise<TrainingRunRecord> {
    const run = await this.runs.require(runId);
    if (isTerminal(run.status)) throw conflict(`Training run ${runId} has already ended (${run.status}).`);
    if ((await this.queue.remove(runId)) || !(await this.queue.isRunning(runId))) {
      await this.progress.finish(runId, 'CANCELLED', { message: 'Cancelled before it started' });
    } else {
      await this.queue.abort(runId);
      // The executor records CANCELLED as soon as the worker is stopped; the caller sees the run as cancelled now.
      await this.progress.finish(runId, 'CANCELLED', { message: 'Cancelled by the user' });
    }
    return this.runs.require(runId);
  }

  /** A session is being deleted: stop its queued and running runs, and free its cached models. */
  async releaseSession(sessionId: string): Promise<void> {
    const runs = await this.runs.ofSession(sessionId);
    for (const run of runs) {
      if (isActive(run.status)) await this.stop(run.id);
    }
    this.models.forget(runs.map((run) => run.id));
  }

  /**
   * A shared queue's worker lost the run (it died mid-run) and another starts it again from the beginning: the run
   * goes back to QUEUED with its attempt counted, and subscribers are told. A run that ended meanwhile (cancelled)
   * is left as it is.
   */
  async retryAfterLostWorker(runId: string, attempt: number, attempts: number): Promise<void> {
    const message = `Worker lost; retrying, attempt ${attempt} of ${attempts}`;
    const runs = this.store.t.trainingRuns;
    const changed = await this.store.update(
      'trainingRuns',
      { status: 'QUEUED', stage: 'QUEUED', progress: 0, step: 0, totalSteps: 0, startedAt: null, message, attempt },
      and(eq(runs.id, runId), inArray(runs.status, ['QUEUED', 'RUNNING'])),
    );
    if (changed === 0) return;
    await this.progress.emit(runId, {
      status: 'QUEUED',
      stage: 'QUEUED',
      progress: 0,
      step: 0,
      totalSteps: 0,
      message,
    });
  }

  /**
   * Start-up (and, with a shared queue, every QUEUE_RECONCILE_SECONDS): runs left RUNNING that no worker holds and
   * the queue does not hold either are failed with the reason; runs left QUEUED are queued (again: queueing is
   * idempotent), oldest first. With the in-process queue nothing runs yet at start-up, so every RUNNING run is a
   * crash's leftover; with BullMQ a run another live worker trains, or one waiting for its retry, is left alone.
   */
  async recover(): Promise<{ failed: number; requeued: number }> {
    let failed = 0;
    for (const id of await this.runs.idsWithStatus('RUNNING')) {
      if ((await this.queue.isRunning(id)) || (await this.queue.position(id)) !== null) continue;
      const reason = this.queue.failedReason ? await this.queue.failedReason(id) : undefined;
      const message = reason ?? (reason === null ? LOST_MESSAGE : RESTART_MESSAGE);
      await this.progress.finish(id, 'FAILED', { message, error: message });
      failed++;
    }
    const queued = await this.runs.idsWithStatus('QUEUED');
    for (const id of queued) await this.queue.enqueue(id);
    return { failed, requeued: queued.length };
  }
}
