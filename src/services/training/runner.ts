/**
 * Trains one queued run (the job queue's executor): marks it RUNNING, hands it to a worker thread, relays the
 * worker's progress, stores the model and the results. Storage errors never end the process: writes are retried
 * while another process holds the database's write lock, and a stop puts the run back in the queue.
 */
import { MessageChannel } from 'node:worker_threads';
import { eq } from 'drizzle-orm';
import type { Piscina } from 'piscina';
import { isDatabaseBusy, isStorageFull } from '../../db/errors.js';
import type { Store } from '../../db/store.js';
import { AppError, fromWorkerError } from '../../domain/errors.js';
import type { Logger } from '../../logger.js';
import type { TrainOutput, TrainPortMessage, TrainTask } from '../../ml/worker.js';
import { APP_VERSION, packageVersion } from '../../version.js';
import type { DatasetService } from '../datasets.js';
import type { EnsembleService } from '../ensembles.js';
import { JOB_HANDED_BACK, JOB_LOCK_LOST } from '../job-abort.js';
import type { ModelStore } from '../models.js';
import { OUT_OF_FOLD_SOURCE } from '../../domain/run.js';
import { storePredictionBatch } from '../prediction-batches.js';
import { budgetStopMessage, runBudget } from './budget.js';
import { saveHeldOut } from './held-out.js';
import { FINISH_ATTEMPTS, FINISH_RETRY_MS, STAGE_START, type ProgressRecorder } from './progress.js';
import type { RunQueries } from './queries.js';
import { processClockMs } from '../../ml/clock.js';

/** Wall-clock milliseconds since the epoch, comparable with the training thread's (src/ml/worker.ts). */

/** A run that was training when the server stopped gracefully: back in the queue, it starts again on the next start. */
const STOPPED_MESSAGE =
  'The server stopped while this run was training; it starts again from the beginning when the server is back.';
/** Longest wait for a finished worker's last progress messages. */
const PORT_DRAIN_MS = 1000;

export interface TrainingRunnerOptions {
  /** Threads a run's model may use (random forest trees in parallel). */
  threads: number;
  /** A run's worker task is stopped after this long (MAX_TRAINING_SECONDS), or its session's shorter budget. */
  maxTrainingMs: number;
}

/** The abort reason of a run whose time budget ran out. */
const TIME_BUDGET_SPENT = 'time-budget-spent';

/**
 * What a run says when it failed for a reason that is not the user's input: never the raw error, which can carry
 * server paths and internal names (the log has it, under the run id); what the user can do where that is known.
 */
function unexpectedRunFailure(error: unknown, runId: string): string {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  if (code === 'ENOENT')
    return "Training failed: the dataset's file is no longer on the server. Upload it again and start a new run.";
  if (isStorageFull(error)) return 'Training failed: the server ran out of disk space. Try again later.';
  if (isDatabaseBusy(error))
    return 'Training failed: the database was busy (another process held its write lock) while the result was stored. Start the run again.';
  return `Training failed because of an unexpected error on the server (logged under run ${runId}).`;
}

function versions(modelType: string): Record<string, string> {
  const found: Record<string, string> = { app: APP_VERSION, node: process.version };
  if (modelType === 'neural_network') {
    for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node']) {
      const version = packageVersion(name);
      if (version) found[name] = version;
    }
  }
  return found;
}

export class TrainingRunner {
  private stopping = false;

  constructor(
    private readonly store: Store,
    private readonly runs: RunQueries,
    private readonly progress: ProgressRecorder,
    private readonly datasets: DatasetService,
    private readonly models: ModelStore,
    private readonly pool: Pick<Piscina, 'run'>,
    private readonly logger: Logger,
    private readonly options: TrainingRunnerOptions,
    private readonly ensembles: EnsembleService,
  ) {}

  /** A graceful stop is under way: runs that the queue aborts now go back to the queue instead of being cancelled. */
  prepareShutdown(): void {
    this.stopping = true;
  }

  /** The job queue's executor. */
  readonly execute = async (runId: string, signal: AbortSignal): Promise<void> => {
    const run = await this.runs.get(runId);
    if (run?.status !== 'QUEUED') return;
    const startedAt = new Date();
    const startedClock = processClockMs();
    const byId = eq(this.store.t.trainingRuns.id, runId);
    try {
      await this.whileDatabaseBusy(runId, signal, () =>
        this.store.update('trainingRuns', { status: 'RUNNING', startedAt }, byId),
      );
    } catch (error) {
      // Still QUEUED in the database: the next start's recovery queues it again.
      this.logger.error('could not start a run', { runId, err: error });
      return;
    }
    void this.progress.emit(runId, {
      status: 'RUNNING',
      stage: 'LOADING',
      progress: STAGE_START.LOADING,
      step: 0,
      totalSteps: 0,
      message: 'Starting',
    });
    this.progress.startHeartbeat(runId);
    const channel = new MessageChannel();
    // The time budget counts from here: loading, training, evaluating and explaining all run in the worker task,
    // which the pool stops (its thread terminated) when the budget aborts it, mid-epoch or mid-batch alike.
    const timeBudget = runBudget(run.config.maxTrainingSeconds, this.options.maxTrainingMs);
    const budget = new AbortController();
    const budgetTimer = setTimeout(() => {
      budget.abort(TIME_BUDGET_SPENT);
    }, timeBudget.seconds * 1000);
    try {
      const checksum = await this.datasets.checksum(run.datasetId);
      const location = await this.datasets.location(run.datasetId);
      const crossMission = run.config.crossMission;
      const crossMissionLocation = crossMission ? await this.datasets.location(crossMission) : undefined;
      await this.whileDatabaseBusy(runId, signal, () =>
        this.store.update('trainingRuns', { datasetChecksum: checksum, versions: versions(run.modelType) }, byId),
      );
      // The worker ends its port with `end` after its last message; the task's result travels another way and can
      // overtake the last progress messages (a stage's final step), so they are awaited before the run moves on.
      // (The port's 'close' alone reached this side only after PORT_DRAIN_MS: every run waited 1 s for nothing.)
      const portClosed = new Promise<void>((resolve) => {
        channel.port1.on('message', (message: TrainPortMessage) => {
          if (message.type === 'end') resolve();
          else this.progress.onWorkerMessage(runId, message);
        });
        channel.port1.once('close', () => {
          resolve();
        });
      });
      const members = run.modelType === 'soft_voting' ? await this.ensembles.membersForTraining(run.config) : null;
      const task: TrainTask = {
        kind: 'train',
        location,
        config: run.config,
        ...(crossMissionLocation ? { crossMissionLocation } : {}),
        ...(members ? { members } : {}),
        threads: this.options.threads,
        port: channel.port2,
      };
      const output = (await this.pool.run(task, {
        transferList: [channel.port2],
        signal: AbortSignal.any([signal, budget.signal]),
      })) as TrainOutput;
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([portClosed, new Promise((resolve) => (drainTimer = setTimeout(resolve, PORT_DRAIN_MS)))]);
      clearTimeout(drainTimer);
      const handOffSeconds = (processClockMs() - output.taskEndedAt) / 1000;
      this.progress.flushStep(runId);
      if ((await this.runs.state(runId))?.status !== 'RUNNING') return;
      // Writing a large model (a 1,000-tree forest is ~23 MB gzipped) takes a while, off the event loop on SQLite
      // (src/db/sqlite-writer.ts) as on PostgreSQL: say so first.
      const live = this.progress.liveState(runId);
      if (live) {
        const megabytes = (output.artifactGzip.byteLength / 1e6).toFixed(1);
        void this.progress.emit(runId, {
          status: 'RUNNING',
          stage: 'SAVING',
          progress: live.progress,
          step: live.step,
          totalSteps: live.totalSteps,
          message: `Storing the model (${megabytes} MB)`,
        });
      }
      let saveStarted = performance.now();
      await this.whileDatabaseBusy(runId, signal, () => this.models.save(runId, output.artifactGzip));
      const saveModelSeconds = (performance.now() - saveStarted) / 1000;
      // Out-of-fold predictions: a prediction batch of the run, paged like any other (before the run reads SUCCEEDED).
      let outOfFoldPredictionId: string | undefined;
      const { outOfFold } = output;
      if (outOfFold) {
        await this.whileDatabaseBusy(runId, signal, async () => {
          outOfFoldPredictionId = (
            await storePredictionBatch(this.store, runId, run.datasetId, OUT_OF_FOLD_SOURCE, outOfFold)
          ).id;
        });
      }
      saveStarted = performance.now();
      await this.whileDatabaseBusy(runId, signal, () => saveHeldOut(this.store, runId, output.heldOut));
      const saveTestPredictionsSeconds = (performance.now() - saveStarted) / 1000;
      const finishedAt = new Date();
      const totalSeconds = (finishedAt.getTime() - startedAt.getTime()) / 1000;
      await this.progress.finish(runId, 'SUCCEEDED', {
        message: `Done: macro-F1 ${output.metrics.macro.f1?.toFixed(3) ?? 'n/a'} on ${output.splitCounts.test} held-out rows`,
        metrics: output.metrics,
        featureImportance: output.featureImportance,
        timings: {
          queuedSeconds: (startedAt.getTime() - run.createdAt.getTime()) / 1000,
          startSeconds: (output.taskStartedAt - startedClock) / 1000,
          loadSeconds: output.loadSeconds,
          ...output.timings,
          packSeconds: output.packSeconds,
          handOffSeconds,
          saveModelSeconds,
          saveTestPredictionsSeconds,
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
          ...(output.crossValidation ? { crossValidation: output.crossValidation } : {}),
          ...(outOfFoldPredictionId ? { outOfFoldPredictionId } : {}),
          ...(output.calibration ? { calibration: output.calibration } : {}),
          ...(output.decisionTuning ? { decisionTuning: output.decisionTuning } : {}),
          ...(output.refit ? { refit: output.refit } : {}),
          ...(output.crossMission ? { crossMission: output.crossMission } : {}),
          ...(output.ensemble ? { ensemble: output.ensemble } : {}),
        },
      });
    } catch (error) {
      if (budget.signal.aborted && !signal.aborted) {
        const message = budgetStopMessage(timeBudget);
        await this.progress.finish(runId, 'FAILED', { message, error: message });
        return;
      }
      if (signal.aborted) {
        // Another worker has the job now (this one lost its lock): leave the run to it, write nothing.
        if (signal.reason === JOB_LOCK_LOST) return;
        if (this.stopping || signal.reason === JOB_HANDED_BACK) await this.requeueAfterStop(runId);
        else await this.progress.finish(runId, 'CANCELLED', { message: 'Cancelled by the user' });
        return;
      }
      const coded = fromWorkerError(error);
      const message = coded instanceof AppError ? coded.message : unexpectedRunFailure(error, runId);
      if (!(coded instanceof AppError)) this.logger.error('training failed', { runId, err: error });
      await this.progress.finish(runId, 'FAILED', { message, error: message });
    } finally {
      clearTimeout(budgetTimer);
      channel.port1.close();
      this.progress.forget(runId);
    }
  };

  /**
   * Runs a write, and while another process holds the database's write lock tries it again every FINISH_RETRY_MS
   * (for as long as a run's end is retried), saying so live; any other error, or a cancel, goes to the caller.
   */
  private async whileDatabaseBusy(runId: string, signal: AbortSignal, write: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (error) {
        if (!isDatabaseBusy(error) || attempt >= FINISH_ATTEMPTS || signal.aborted) throw error;
        const live = this.progress.liveState(runId);
        if (live && attempt === 1) {
          void this.progress.emit(runId, {
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

  private async requeueAfterStop(runId: string): Promise<void> {
    try {
      await this.store.update(
        'trainingRuns',
        {
          status: 'QUEUED',
          stage: 'QUEUED',
          progress: 0,
          step: 0,
          totalSteps: 0,
          startedAt: null,
          message: STOPPED_MESSAGE,
        },
        eq(this.store.t.trainingRuns.id, runId),
      );
      await this.progress.emit(runId, {
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
}
