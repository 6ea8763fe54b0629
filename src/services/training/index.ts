/**
 * Training, split by job and wired in one place: run queries, commands (start, cancel, recover), the runner that
 * trains a queued run in a worker thread, progress written (throttle, persist, publish) and read (subscriptions),
 * and the queue behind its `JobQueue` interface.
 */
import type { Piscina } from 'piscina';
import type { Store } from '../../db/store.js';
import type { Logger } from '../../logger.js';
import type { DatasetService } from '../datasets.js';
import { InMemoryJobQueue, type JobExecutor, type JobQueue } from '../job-queue.js';
import type { ModelStore } from '../models.js';
import type { ProgressBus } from '../progress-bus.js';
import type { SessionService } from '../sessions.js';
import type { OwnerService } from '../owners.js';
import { TrainingCommands } from './commands.js';
import { ProgressRecorder } from './progress.js';
import { ProgressStream } from './progress-stream.js';
import { RunQueries } from './queries.js';
import { TrainingRunner } from './runner.js';
import { EnsembleService } from '../ensembles.js';

export { TrainingCommands, RESTART_MESSAGE } from './commands.js';
export { ProgressStream } from './progress-stream.js';
export {
  DEFAULT_RUNS_PAGE,
  MAX_RUNS_PAGE,
  RunQueries,
  type RunState,
  type TrainingRunPage,
  type TrainingRunRecord,
} from './queries.js';
export { TrainingRunner } from './runner.js';

export interface TrainingDeps {
  store: Store;
  sessions: SessionService;
  datasets: DatasetService;
  models: ModelStore;
  owners: OwnerService;
  bus: ProgressBus;
  /** The worker threads that train (`run` is all that is used). */
  pool: Pick<Piscina, 'run'>;
  logger: Logger;
  /** Runs trained at once. */
  concurrency: number;
  /** Threads a run's model may use. */
  threads: number;
  /** A run's training task is stopped after this long (MAX_TRAINING_SECONDS). */
  maxTrainingMs: number;
  /** Another queue (e.g. Redis-backed) given the runner's executor; default the in-memory FIFO. */
  createQueue?: (concurrency: number, execute: JobExecutor, hooks: QueueHooks) => JobQueue;
  /** A remote bus: subscribers that hear nothing this long read the stored events (ProgressStream). */
  quietPollMs?: number;
}

/** What a shared queue calls back into training. */
export interface QueueHooks {
  /** A run starts again after its worker was lost (attempt ≥ 2 of `attempts`). */
  onRetry(runId: string, attempt: number, attempts: number): Promise<void>;
}

export interface Training {
  runs: RunQueries;
  commands: TrainingCommands;
  progress: ProgressStream;
  queue: JobQueue;
  /** Jobs whose id starts with `prefix` are run by `execute` (register before the queue takes jobs). */
  addJobKind(prefix: string, execute: JobExecutor): void;
  /** Stops taking runs; runs training now go back to the queue for the next start. */
  close(): Promise<void>;
}

export function createTraining(deps: TrainingDeps): Training {
  const runs = new RunQueries(deps.store, (sessionId) => deps.sessions.ownerOf(sessionId));
  const recorder = new ProgressRecorder(deps.store, runs, deps.bus, deps.logger);
  const ensembles = new EnsembleService(deps.store, runs, deps.models);
  const runner = new TrainingRunner(
    deps.store,
    runs,
    recorder,
    deps.datasets,
    deps.models,
    deps.pool,
    deps.logger,
    { threads: deps.threads, maxTrainingMs: deps.maxTrainingMs },
    ensembles,
  );
  const createQueue = deps.createQueue ?? ((concurrency, execute) => new InMemoryJobQueue(concurrency, execute));
  // Other kinds of job share the queue (and its slots) by id prefix: a search is `search_…` (src/services/searches.ts).
  const jobKinds = new Map<string, JobExecutor>();
  const execute: JobExecutor = (id, signal) => {
    for (const [prefix, kind] of jobKinds) if (id.startsWith(prefix)) return kind(id, signal);
    return runner.execute(id, signal);
  };
  const queue: JobQueue = createQueue(deps.concurrency, execute, {
    // Called by the queue's worker, after `commands` exists.
    onRetry: (runId, attempt, attempts) => commands.retryAfterLostWorker(runId, attempt, attempts),
  });
  const commands: TrainingCommands = new TrainingCommands(
    deps.store,
    runs,
    recorder,
    queue,
    deps.sessions,
    deps.datasets,
    deps.models,
    deps.owners,
    deps.maxTrainingMs,
    ensembles,
  );
  return {
    runs,
    commands,
    progress: new ProgressStream(runs, deps.bus, queue, { quietPollMs: deps.quietPollMs }),
    queue,
    addJobKind: (prefix, kind) => {
      jobKinds.set(prefix, kind);
    },
    close: async () => {
      runner.prepareShutdown();
      await queue.close();
    },
  };
}
