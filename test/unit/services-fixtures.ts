/**
 * The services on a temporary SQLite database, without the HTTP stack: real datasets, sessions, models and training
 * (queries, commands, runner, progress), with the worker pool and the job queue replaceable per test.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Piscina } from 'piscina';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { openDatabase, type DbHandle } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import runTask, { type WorkerTask } from '../../src/ml/worker.js';
import { DatasetService } from '../../src/services/datasets.js';
import type { JobExecutor, JobQueue } from '../../src/services/job-queue.js';
import { ModelStore } from '../../src/services/models.js';
import { createInMemoryProgressBus, type ProgressBus } from '../../src/services/progress-bus.js';
import { SessionService } from '../../src/services/sessions.js';
import { Caller, OwnerService } from '../../src/services/owners.js';
import { createTraining, type Training } from '../../src/services/training/index.js';

export type Pool = Pick<Piscina, 'run'>;

/** Runs every task in this thread with the real worker function (a small decision tree trains in milliseconds). */
export const inProcessPool: Pool = {
  run: (task: WorkerTask) => runTask(task),
};

/** A queue that only records: the test runs the executor itself, when it wants. */
export class ManualQueue implements JobQueue {
  readonly queued: string[] = [];
  readonly running = new Map<string, AbortController>();
  constructor(readonly execute: JobExecutor) {}
  enqueue(runId: string): Promise<void> {
    if (!this.queued.includes(runId)) this.queued.push(runId);
    return Promise.resolve();
  }
  remove(runId: string): Promise<boolean> {
    const index = this.queued.indexOf(runId);
    if (index === -1) return Promise.resolve(false);
    this.queued.splice(index, 1);
    return Promise.resolve(true);
  }
  abort(runId: string): Promise<boolean> {
    const controller = this.running.get(runId);
    controller?.abort();
    return Promise.resolve(controller !== undefined);
  }
  position(runId: string): Promise<number | null> {
    const index = this.queued.indexOf(runId);
    return Promise.resolve(index === -1 ? null : index + 1);
  }
  isRunning(runId: string): Promise<boolean> {
    return Promise.resolve(this.running.has(runId));
  }
  counts(): Promise<{ queued: number; running: number }> {
    return Promise.resolve({ queued: this.queued.length, running: this.running.size });
  }
  close(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    return Promise.resolve();
  }
  /** Takes the run out of the queue and trains it to its end. */
  async runNext(): Promise<string> {
    const runId = this.queued.shift();
    if (runId === undefined) throw new Error('nothing queued');
    const controller = new AbortController();
    this.running.set(runId, controller);
    try {
      await this.execute(runId, controller.signal);
    } finally {
      this.running.delete(runId);
    }
    return runId;
  }
}

export interface ServicesUnderTest {
  owners: OwnerService;
  dir: string;
  config: AppConfig;
  handle: DbHandle;
  datasets: DatasetService;
  sessions: SessionService;
  models: ModelStore;
  bus: ProgressBus;
  training: Training;
  queue: ManualQueue | null;
  /** Training again on the same database (a restart). */
  restart(options?: { pool?: Pool }): Training & { queue: ManualQueue };
  close(): Promise<void>;
}

export function createServicesUnderTest(
  options: { pool?: Pool; manualQueue?: boolean; env?: Record<string, string> } = {},
): ServicesUnderTest {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-services-'));
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_PATH: path.join(dir, 'test.db'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      ...options.env,
    },
    dir,
  );
  const logger = createLogger('silent');
  const handle = openDatabase(config.databasePath);
  const owners = new OwnerService(randomBytes(32), config);
  const datasets = new DatasetService(handle.store, config, logger, owners);
  const sessions = new SessionService(handle.store, datasets, owners, { maxTrainingMs: config.maxTrainingMs });
  const models = new ModelStore(handle.store, { cacheBytes: 1e6 });
  const bus = createInMemoryProgressBus();
  let queue: ManualQueue | null = null;
  const build = (pool: Pool, manual: boolean): { training: Training; manual: ManualQueue | null } => {
    let made: ManualQueue | null = null;
    const training = createTraining({
      store: handle.store,
      sessions,
      datasets,
      models,
      owners,
      bus,
      pool,
      logger,
      concurrency: 1,
      threads: 1,
      maxTrainingMs: config.maxTrainingMs,
      ...(manual && {
        createQueue: (_concurrency: number, execute: JobExecutor) => (made = new ManualQueue(execute)),
      }),
    });
    return { training, manual: made };
  };
  const first = build(options.pool ?? inProcessPool, options.manualQueue ?? false);
  const { training } = first;
  queue = first.manual;
  const trainings = [training];
  return {
    owners,
    dir,
    config,
    handle,
    datasets,
    sessions,
    models,
    bus,
    training,
    get queue() {
      return queue;
    },
    restart(restartOptions = {}) {
      const again = build(restartOptions.pool ?? inProcessPool, true);
      trainings.push(again.training);
      if (!again.manual) throw new Error('a restart has a manual queue');
      return { ...again.training, queue: again.manual };
    },
    close: async () => {
      for (const each of trainings) await each.close();
      handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The caller of service calls in unit tests: the server's own (no owner, no API key, no rate limit). */
export const SERVER = Caller.server();

/** A small two-class upload (120 rows) that any model trains on quickly. */
export async function uploadSmallDataset(datasets: DatasetService): Promise<string> {
  const rows = Array.from({ length: 120 }, (_, i) => `${(i % 2) * 5 + (i % 7) / 7},${i % 11},${i % 2 ? 'yes' : 'no'}`);
  const dataset = await datasets.upload(SERVER, {
    file: new File([`a,b,label\n${rows.join('\n')}\n`], 'small.csv'),
    labelColumn: 'label',
  });
  return dataset.id;
}

/** A session on the small upload with a decision tree. */
export async function readySession(services: ServicesUnderTest): Promise<string> {
  const datasetId = await uploadSmallDataset(services.datasets);
  const session = await services.sessions.create(SERVER);
  await services.sessions.configure(SERVER, { sessionId: session.id, datasetId, modelType: 'decision_tree' });
  return session.id;
}
