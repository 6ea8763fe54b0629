/**
 * Creates every service once per app, with the DB they own. Resolvers and REST routes reach them through the context.
 */
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { openStore } from '../db/open.js';
import { tfBackendName } from '../ml/models/tf-backend.js';
import { HealthService } from './health.js';
import { DatasetService } from './datasets.js';
import { SessionService } from './sessions.js';
import { ModelStore } from './models.js';
import { createTraining, type ProgressStream, type RunQueries, type TrainingCommands } from './training/index.js';
import { PredictionService } from './predictions.js';
import { createInMemoryProgressBus, type ProgressBus } from './progress-bus.js';
import { createWorkerPool } from './worker-pool.js';

export interface Services {
  health: HealthService;
  datasets: DatasetService;
  sessions: SessionService;
  /** Reads of training runs and their stored progress. */
  runs: RunQueries;
  /** Start, cancel, recover; queue positions and counts. */
  training: TrainingCommands;
  /** Live progress of a run (subscriptions). */
  trainingProgress: ProgressStream;
  predictions: PredictionService;
  models: ModelStore;
  progressBus: ProgressBus;
  close(): Promise<void>;
}

/** Resolves once every service is ready (a shared database or queue would be connected here). */
export async function createServices(config: AppConfig, logger: Logger): Promise<Services> {
  const handle = await openStore(config, {
    onRetry: ({ attempt, error }) => {
      logger.warn('PostgreSQL is not accepting connections yet; retrying', { attempt, error });
    },
  });
  const { store } = handle;
  const datasets = new DatasetService(store, config, logger);
  const sessions = new SessionService(store, datasets);
  const models = new ModelStore(store, { cacheBytes: config.modelCacheBytes });
  const progressBus = createInMemoryProgressBus();
  // No thread waits at start (one costs ~18 MB idle; the first run after an idle spell waits ~0.5–1 s for it), and
  // threads that ran a task end after workerIdleMs idle: they hold what the task loaded (see worker-pool.ts).
  const trainingPool = createWorkerPool(config.trainingConcurrency, { recycleAfterIdleMs: config.workerIdleMs });
  // Explanations and batch predictions get their own worker, so they never wait behind a long training.
  const inferencePool = createWorkerPool(1, { recycleAfterIdleMs: config.workerIdleMs });
  const training = createTraining({
    store,
    sessions,
    datasets,
    models,
    bus: progressBus,
    pool: trainingPool,
    logger,
    concurrency: config.trainingConcurrency,
    threads: config.trainingThreads,
  });
  sessions.onDelete((sessionId) => training.commands.releaseSession(sessionId));
  const predictions = new PredictionService(store, config, training.runs, models, datasets, inferencePool);
  const health = new HealthService(() => training.queue.counts(), tfBackendName);

  const recovered = await training.commands.recover();
  if (recovered.failed || recovered.requeued) logger.info('training queue recovered', recovered);
  // Nothing heavy is loaded at start (issue 9: idle RSS ≤ 150 MB). The NASA tables are parsed on first use (all
  // three held ~75 MB on the event loop's heap); TensorFlow.js loads with the first neural network (~75 MB more),
  // and `health` names the backend it will use without loading it.

  return {
    health,
    datasets,
    sessions,
    runs: training.runs,
    training: training.commands,
    trainingProgress: training.progress,
    predictions,
    models,
    progressBus,
    close: async () => {
      await training.close();
      await Promise.allSettled([trainingPool.destroy(), inferencePool.destroy()]);
      await handle.close();
    },
  };
}
