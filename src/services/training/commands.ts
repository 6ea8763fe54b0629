/**
 * What a user (or a start-up) does to training runs: start one from a session's config, cancel one, and at start-up
 * recover what the last process left. Each command checks its rule and then writes through the progress recorder and
 * the queue.
 */
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
import { checkTrainable } from '../../ml/pipeline.js';
import type { DatasetService } from '../datasets.js';
import { newId } from '../ids.js';
import type { JobQueue } from '../job-queue.js';
import type { ModelStore } from '../models.js';
import type { SessionService } from '../sessions.js';
import type { ProgressRecorder } from './progress.js';
import type { RunQueries, TrainingRunRecord } from './queries.js';

export const RESTART_MESSAGE = 'Interrupted by a server restart; start the training again.';
const QUEUED_MESSAGE = 'Waiting in the training queue';

export class TrainingCommands {
  constructor(
    private readonly store: Store,
    private readonly runs: RunQueries,
    private readonly progress: ProgressRecorder,
    private readonly queue: JobQueue,
    private readonly sessions: SessionService,
    private readonly datasets: DatasetService,
    private readonly models: ModelStore,
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
  async start(sessionId: string): Promise<TrainingRunRecord> {
    const session = await this.sessions.require(sessionId);
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
    await this.datasets.resolveFeatures(datasetId, {
      features: session.features,
      useVettingFeatures: session.useVettingFeatures,
    });
    // Too little data for the split is refused now, not after a run that evaluates on nothing; tiny classes warn.
    const { warnings } = checkTrainable(await this.datasets.labeledTable(datasetId), {
      task: session.task,
      split: session.split,
      seed: session.seed,
    });

    const config: RunConfig = {
      modelType,
      hyperparameters,
      features: session.features,
      useVettingFeatures: session.useVettingFeatures,
      task: session.task,
      split: session.split,
      seed: session.seed,
    };
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
    await this.queue.enqueue(id);
    return this.runs.require(id);
  }

  /** Cancels a queued run (it never starts) or a running one (its worker is stopped). */
  async cancel(runId: string): Promise<TrainingRunRecord> {
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
      if (isActive(run.status)) await this.cancel(run.id);
    }
    this.models.forget(runs.map((run) => run.id));
  }

  /** Start-up: runs left RUNNING by a crash failed; runs left QUEUED go back in the queue, oldest first. */
  async recover(): Promise<{ failed: number; requeued: number }> {
    const running = await this.runs.idsWithStatus('RUNNING');
    for (const id of running)
      await this.progress.finish(id, 'FAILED', { message: RESTART_MESSAGE, error: RESTART_MESSAGE });
    const queued = await this.runs.idsWithStatus('QUEUED');
    for (const id of queued) await this.queue.enqueue(id);
    return { failed: running.length, requeued: queued.length };
  }
}
