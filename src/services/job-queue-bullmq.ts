/**
 * The training queue on BullMQ (REDIS_URL): one queue shared by every API instance and worker process. A job's id is
 * its run's id, so queueing a run twice is a no-op. Jobs are taken in FIFO order (no priorities; a run handed back
 * by a stopping worker goes to the front); processes with workers (TRAINING_CONCURRENCY each, EMBEDDED_WORKERS or
 * `npm run worker`) run the same executor as the in-memory queue.
 *
 * Retries are for lost workers only: a training error is the run's answer (FAILED), not retried. A worker that dies
 * mid-run (kill -9, a lost machine) stops renewing its job's lock; BullMQ's stalled-job check on another worker puts
 * the job back in the queue, and the next worker starts the run again from the beginning (onRetry records the
 * attempt). After `attempts` starts the job fails, and recovery (TrainingCommands.recover) fails the run with the
 * reason. Cancelling a running run reaches the worker holding it over a Redis pub/sub channel.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { JOB_HANDED_BACK, JOB_LOCK_LOST } from './job-abort.js';
import type { JobExecutor, JobQueue } from './job-queue.js';

export { JOB_HANDED_BACK, JOB_LOCK_LOST };

export interface BullMqJobQueueOptions {
  url: string;
  /** Key prefix of the queue and name prefix of the cancel channel (REDIS_PREFIX). */
  prefix: string;
  /** Runs trained at once in this process; 0: this process only enqueues (EMBEDDED_WORKERS=0). */
  concurrency: number;
  execute: JobExecutor;
  /** Starts of a run before it fails for lost workers (TRAINING_ATTEMPTS). */
  attempts: number;
  /** A job's lock lasts this long unless renewed (renewed every half); a dead worker's job is back after about it. */
  lockDurationMs: number;
  /** How often workers look for jobs whose lock expired. */
  stalledIntervalMs: number;
  /** On close, running jobs get this long to finish before they are handed back to the queue. */
  stopGraceMs: number;
  /** Called before a run starts again after a lost worker (attempt ≥ 2). */
  onRetry?: (runId: string, attempt: number, attempts: number) => Promise<void>;
  logger: Logger;
}

export interface QueueWorkerInfo {
  /** Worker connections BullMQ sees on the queue (every process with workers has one). */
  workers: number;
}

const QUEUE_NAME = 'training';
const CANCEL_CHANNEL = 'training:cancel';
/** Queue positions are read from Redis at most this often (a snapshot per subscriber would read them each time). */
const POSITIONS_TTL_MS = 100;
/** Failed jobs are kept (their reason is the run's) this long. */
const KEEP_FAILED_SECONDS = 7 * 24 * 3600;

const QUEUED_STATES = new Set(['waiting', 'prioritized', 'delayed', 'paused', 'waiting-children']);

export class BullMqJobQueue implements JobQueue {
  private readonly connection: Redis;
  private readonly queue: Queue;
  private readonly worker: Worker | null;
  private readonly cancelSubscriber: Redis | null;
  /** Runs this process is training, by id. */
  private readonly local = new Map<string, AbortController>();
  private readonly handedBack = new Set<string>();
  private positions: { at: number; ids: Promise<string[]> } | null = null;
  private closed = false;

  constructor(private readonly options: BullMqJobQueueOptions) {
    const { url, prefix, logger } = options;
    // BullMQ's commands wait for Redis to come back (a worker's blocking connection must); an API request that
    // queues a run while Redis is down fails after the bounded retries below instead of hanging.
    this.connection = new Redis(url, { maxRetriesPerRequest: null, connectionName: `${prefix}queue` });
    this.connection.on('error', () => {
      // Reported by the queue's own 'error' listener and by health; ioredis reconnects.
    });
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection, prefix: `${prefix}bull` });
    this.queue.on('error', (error: Error) => {
      logger.warn('training queue: Redis error', { err: error });
    });
    if (options.concurrency > 0) {
      this.worker = new Worker(QUEUE_NAME, this.process, {
        connection: this.connection,
        prefix: `${prefix}bull`,
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: Math.max(0, options.attempts - 1),
        autorun: true,
      });
      this.worker.on('error', (error: Error) => {
        logger.warn('training worker: Redis error', { err: error });
      });
      this.worker.on('lockRenewalFailed', (jobIds: string[]) => {
        // The job may already be back in the queue for another worker: stop this copy without writing anything.
        for (const id of jobIds) {
          logger.warn('training worker lost the lock of its job; stopping its copy of the run', { runId: id });
          this.local.get(id)?.abort(JOB_LOCK_LOST);
        }
      });
      this.worker.on('stalled', (jobId: string) => {
        logger.warn('a training job stalled (its worker stopped); back in the queue', { runId: jobId });
      });
      this.cancelSubscriber = new Redis(url, { maxRetriesPerRequest: null, connectionName: `${prefix}cancel` });
      this.cancelSubscriber.on('error', () => {
        // ioredis reconnects and subscribes again; a cancel lost meanwhile is caught by the run's status check.
      });
      this.cancelSubscriber.on('message', (_channel: string, runId: string) => {
        this.local.get(runId)?.abort();
      });
      void this.cancelSubscriber.subscribe(this.cancelChannel).catch((error: unknown) => {
        logger.warn('training worker: could not listen for cancellations', { err: error });
      });
    } else {
      this.worker = null;
      this.cancelSubscriber = null;
    }
  }

  private get cancelChannel(): string {
    return `${this.options.prefix}${CANCEL_CHANNEL}`;
  }

  /** Waits for Redis and (with workers) for the worker to be ready to take jobs. */
  async ready(): Promise<void> {
    await this.queue.waitUntilReady();
    if (this.worker) await this.worker.waitUntilReady();
  }

  /** BullMQ's processor: the run's executor, abortable by the job's signal, a cancel message or a stop. */
  private readonly process = async (job: Job, _token?: string, signal?: AbortSignal): Promise<void> => {
    const runId = job.id;
    if (runId === undefined) return;
    const controller = new AbortController();
    signal?.addEventListener('abort', () => {
      controller.abort(signal.reason);
    });
    this.local.set(runId, controller);
    this.options.logger.info('training job taken', { runId, attempt: job.attemptsStarted, pid: process.pid });
    try {
      if (job.attemptsStarted > 1) await this.options.onRetry?.(runId, job.attemptsStarted, this.options.attempts);
      await this.options.execute(runId, controller.signal);
    } finally {
      this.local.delete(runId);
    }
  };

  async enqueue(runId: string): Promise<void> {
    if (this.closed) return;
    await this.add(runId, false);
  }

  private async add(runId: string, front: boolean): Promise<void> {
    this.positions = null;
    await this.queue.add(
      'train',
      {},
      {
        jobId: runId,
        lifo: front,
        // Lost workers are retried through stalled-job recovery, not through BullMQ's error retries.
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: { age: KEEP_FAILED_SECONDS },
      },
    );
  }

  async remove(runId: string): Promise<boolean> {
    const state = await this.queue.getJobState(runId);
    if (!QUEUED_STATES.has(state)) return false;
    this.positions = null;
    // 0 when a worker took it in between (it is locked): the caller then aborts it instead.
    return (await this.queue.remove(runId)) === 1;
  }

  async abort(runId: string): Promise<boolean> {
    const local = this.local.get(runId);
    if (local) {
      local.abort();
      return true;
    }
    if ((await this.queue.getJobState(runId)) !== 'active') return false;
    await this.connection.publish(this.cancelChannel, runId);
    return true;
  }

  async position(runId: string): Promise<number | null> {
    const now = Date.now();
    if (!this.positions || now - this.positions.at > POSITIONS_TTL_MS)
      this.positions = { at: now, ids: this.queue.getRanges(['prioritized', 'wait'], 0, -1, true) };
    const ids = await this.positions.ids;
    const index = ids.indexOf(runId);
    return index === -1 ? null : index + 1;
  }

  async isRunning(runId: string): Promise<boolean> {
    if (this.local.has(runId)) return true;
    return (await this.queue.getJobState(runId)) === 'active';
  }

  async counts(): Promise<{ queued: number; running: number }> {
    const counts = await this.queue.getJobCounts('active', 'wait', 'prioritized', 'delayed');
    const count = (state: string) => counts[state] ?? 0;
    return {
      queued: count('wait') + count('prioritized') + count('delayed'),
      running: count('active'),
    };
  }

  /** Why the run's job failed (it stalled more often than the attempts allow), or null when it has not. */
  async failedReason(id: string, what: 'training' | 'search' = 'training'): Promise<string | null> {
    const job = await this.queue.getJob(id);
    if (!job || (await job.getState()) !== 'failed') return null;
    const attempts = this.options.attempts;
    return `${what === 'search' ? 'Search' : 'Training'} failed: the worker running it was lost ${attempts === 1 ? 'and' : `${attempts} times (attempt ${attempts} of ${attempts}), so`} it is not tried again (${job.failedReason || 'failed'}). Start the ${what} again.`;
  }

  /** Processes with workers on this queue, as BullMQ sees their connections. */
  async workerInfo(): Promise<QueueWorkerInfo> {
    return { workers: (await this.queue.getWorkers()).length };
  }

  /** Runs training in this process now. */
  localRuns(): string[] {
    return [...this.local.keys()];
  }

  /**
   * Stops taking jobs; running ones get stopGraceMs to finish, then are handed back (the runner puts the run back
   * to QUEUED and the job goes to the front of the queue for another worker).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.worker) {
      const closing = this.worker.close();
      const grace = setTimeout(() => {
        for (const [runId, controller] of this.local) {
          this.handedBack.add(runId);
          this.options.logger.info('handing a run back to the queue', { runId });
          controller.abort(JOB_HANDED_BACK);
        }
      }, this.options.stopGraceMs);
      await closing;
      clearTimeout(grace);
      for (const runId of this.handedBack) {
        await this.add(runId, true).catch((error: unknown) => {
          this.options.logger.warn('could not hand a run back to the queue (the next recovery queues it)', {
            runId,
            err: error,
          });
        });
      }
      await this.cancelSubscriber?.quit().catch(() => undefined);
    }
    await this.queue.close();
    await this.connection.quit().catch(() => undefined);
  }
}
