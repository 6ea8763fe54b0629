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
import { ComparisonService } from './comparisons.js';
import { createInMemoryProgressBus, type ProgressBus } from './progress-bus.js';
import { createWorkerPool } from './worker-pool.js';
import { connectCluster, type Cluster } from './cluster.js';
import type { BullMqJobQueue } from './job-queue-bullmq.js';
import type { HealthProbes } from './health.js';
import { OwnerService } from './owners.js';
import { SEARCH_JOB_PREFIX, SearchService } from './searches.js';

/** With the Redis bus, a subscriber that hears nothing this long reads the stored events (a Redis outage). */
const QUIET_POLL_MS = 3000;
/** How often idle sessions are looked for (or SESSION_IDLE_HOURS, when shorter). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

function sharedProbes(cluster: Cluster, queue: BullMqJobQueue): HealthProbes {
  return {
    redis: () => cluster.redis(),
    workers: async () => (await queue.workerInfo()).workers,
    queue: 'bullmq',
  };
}

export interface Services {
  /** Owner tokens, API keys and creation limits (README "Owners and access"). */
  owners: OwnerService;
  health: HealthService;
  datasets: DatasetService;
  sessions: SessionService;
  /** Reads of training runs and their stored progress. */
  runs: RunQueries;
  /** Start, cancel, recover; queue positions and counts. */
  training: TrainingCommands;
  /** Live progress of a run (subscriptions). */
  trainingProgress: ProgressStream;
  /** Hyperparameter searches: start, cancel, read, live progress. */
  searches: SearchService;
  predictions: PredictionService;
  /** compareRuns: paired comparisons of runs on the same held-out rows. */
  comparisons: ComparisonService;
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
  // REDIS_URL: the progress bus and the training queue are shared through Redis (README "Scaling out").
  const cluster = config.redisUrl === null ? null : await connectCluster(config, config.redisUrl, logger);
  const shared: { queue: BullMqJobQueue | null } = { queue: null };
  const owners = await OwnerService.open(store, config);
  const datasets = new DatasetService(store, config, logger, owners);
  const sessions = new SessionService(store, datasets, owners, { maxTrainingMs: config.maxTrainingMs });
  const models = new ModelStore(store, { cacheBytes: config.modelCacheBytes });
  const progressBus: ProgressBus = cluster?.bus ?? createInMemoryProgressBus();
  // With TRAINING_WARM_UP one fresh thread waits, warmed up (~48 MB idle; without it the first run after an idle spell
  // waits ~0.5–1 s for a thread and runs cold code); threads that ran a task end after workerIdleMs idle: they hold
  // what the task loaded (see worker-pool.ts).
  const trainingPool = createWorkerPool(config.trainingConcurrency, {
    recycleAfterIdleMs: config.workerIdleMs,
    warm: config.trainingWarmUp,
    warmUp: config.trainingWarmUp,
  });
  // Explanations and batch predictions get their own worker, so they never wait behind a long training.
  const inferencePool = createWorkerPool(1, { recycleAfterIdleMs: config.workerIdleMs });
  const training = createTraining({
    store,
    sessions,
    datasets,
    models,
    owners,
    bus: progressBus,
    pool: trainingPool,
    logger,
    // EMBEDDED_WORKERS=0: this process only serves and enqueues; worker processes train.
    concurrency: config.embeddedWorkers ? config.trainingConcurrency : 0,
    threads: config.trainingThreads,
    maxTrainingMs: config.maxTrainingMs,
    createQueue: cluster
      ? (concurrency, execute, hooks) =>
          (shared.queue = cluster.createQueue(concurrency, execute, (runId, attempt, attempts) =>
            hooks.onRetry(runId, attempt, attempts),
          ))
      : undefined,
    quietPollMs: cluster ? QUIET_POLL_MS : undefined,
  });
  // Searches run on the training queue: registered before it takes jobs (a shared queue's worker may have one).
  const searches = new SearchService(
    store,
    sessions,
    datasets,
    owners,
    training.runs,
    training.commands,
    training.queue,
    progressBus,
    trainingPool,
    logger,
    { threads: config.trainingThreads, maxTrainingMs: config.maxTrainingMs },
  );
  training.addJobKind(SEARCH_JOB_PREFIX, searches.execute);
  await shared.queue?.ready();
  sessions.onDelete((sessionId) => training.commands.releaseSession(sessionId));
  sessions.onDelete((sessionId) => searches.releaseSession(sessionId));
  const predictions = new PredictionService(store, config, training.runs, models, datasets, inferencePool, owners);
  const health = new HealthService(() => training.queue.counts(), tfBackendName, {
    database: () => handle.ping(),
    ...(cluster && shared.queue ? sharedProbes(cluster, shared.queue) : {}),
  });

  const recovered = await training.commands.recover();
  if (recovered.failed || recovered.requeued) logger.info('training queue recovered', recovered);
  const recoveredSearches = await searches.recover();
  if (recoveredSearches.failed || recoveredSearches.requeued) logger.info('searches recovered', recoveredSearches);
  // With a shared queue, runs and searches can be left behind while this process runs (a Redis that lost its data,
  // a job whose workers were all lost): checked again every QUEUE_RECONCILE_SECONDS (idempotent, see recover()).
  let reconciling = false;
  const reconcileJobs = async () => {
    const runs = await training.commands.recover().catch((error: unknown) => {
      logger.warn('could not check runs against the shared queue', { err: error });
      return null;
    });
    if (runs?.failed) logger.warn('training runs lost by the shared queue failed', runs);
    const lost = await searches.recover().catch((error: unknown) => {
      logger.warn('could not check searches against the shared queue', { err: error });
      return null;
    });
    if (lost?.failed) logger.warn('searches lost by the shared queue failed', lost);
  };
  const reconcile = cluster
    ? setInterval(() => {
        if (reconciling) return;
        reconciling = true;
        void reconcileJobs().finally(() => {
          reconciling = false;
        });
      }, config.queueReconcileMs)
    : null;
  reconcile?.unref();
  // Expiry (SESSION_IDLE_HOURS): at start-up, then every SWEEP_INTERVAL_MS; every process may sweep (idempotent).
  const sweep = async () => {
    try {
      const swept = await sessions.sweepIdle(config.sessionIdleMs);
      if (swept.sessions || swept.uploads) logger.info('idle sessions expired', { ...swept });
    } catch (error) {
      logger.warn('could not sweep idle sessions', { err: error });
    }
  };
  let sweeping: Promise<void> | null = null;
  const startSweep = () => {
    sweeping ??= sweep().finally(() => {
      sweeping = null;
    });
  };
  if (config.sessionIdleMs > 0) startSweep();
  const sweeper =
    config.sessionIdleMs > 0 ? setInterval(startSweep, Math.min(SWEEP_INTERVAL_MS, config.sessionIdleMs)) : null;
  sweeper?.unref();
  // Nothing heavy is loaded at start (issue 9: idle RSS ≤ 150 MB). The NASA tables are parsed on first use (all
  // three held ~75 MB on the event loop's heap); TensorFlow.js loads with the first neural network (~75 MB more),
  // and `health` names the backend it will use without loading it.

  return {
    owners,
    health,
    datasets,
    sessions,
    runs: training.runs,
    training: training.commands,
    trainingProgress: training.progress,
    searches,
    predictions,
    comparisons: new ComparisonService(training.runs, inferencePool),
    models,
    progressBus,
    close: async () => {
      searches.prepareShutdown();
      if (reconcile) clearInterval(reconcile);
      if (sweeper) clearInterval(sweeper);
      await sweeping;
      await training.close();
      await Promise.allSettled([trainingPool.destroy(), inferencePool.destroy()]);
      await cluster?.close();
      await handle.close();
    },
  };
}
