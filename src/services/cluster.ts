/**
 * The scale-out pieces wired from the config (REDIS_URL): the progress bus over Redis, the BullMQ queue, Redis's
 * health, and the start-up wait for a dependency that is not up yet.
 */
import { Redis } from 'ioredis';
import { ConfigError, type AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { BullMqJobQueue } from './job-queue-bullmq.js';
import type { DependencyStatus } from './health.js';
import type { JobExecutor } from './job-queue.js';
import { createRedisProgressBus, type RedisProgressBus } from './progress-bus-redis.js';

const RETRY_EVERY_MS = 500;
const LOG_EVERY_MS = 5000;

/**
 * Calls `attempt` until it succeeds: a dependency still starting (a database or Redis container coming up with the
 * app) is waited for, saying so once every few seconds; after `waitMs` the last error ends start-up, naming it.
 */
export async function waitForDependency<T>(
  name: string,
  attempt: () => Promise<T>,
  waitMs: number,
  logger: Logger,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  let lastLog = 0;
  for (;;) {
    try {
      const result = await attempt();
      if (lastLog > 0) logger.info(`${name} is up`);
      return result;
    } catch (error) {
      // A bad setting is not a dependency that is still starting.
      if (error instanceof ConfigError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (Date.now() >= deadline)
        throw new Error(
          `${name} did not answer within ${Math.round(waitMs / 1000)} s (DEPENDENCY_WAIT_SECONDS): ${reason}`,
          { cause: error },
        );
      if (Date.now() - lastLog >= LOG_EVERY_MS) {
        lastLog = Date.now();
        logger.warn(`${name} is not reachable yet; retrying`, {
          reason,
          giveUpInSeconds: Math.round((deadline - Date.now()) / 1000),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    }
  }
}

/** Connects once and PINGs; rejects when Redis does not answer. */
async function pingOnce(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => {
    // The rejected connect() reports it.
  });
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

export interface Cluster {
  bus: RedisProgressBus;
  /** The BullMQ queue for the runner's executor; workers only when this process trains. */
  createQueue(
    concurrency: number,
    execute: JobExecutor,
    onRetry: (runId: string, attempt: number, attempts: number) => Promise<void>,
  ): BullMqJobQueue;
  /** Redis's health (PING on the bus's connection state and a timed PING). */
  redis(): Promise<DependencyStatus>;
  close(): Promise<void>;
}

export async function connectCluster(config: AppConfig, redisUrl: string, logger: Logger): Promise<Cluster> {
  await waitForDependency('Redis', () => pingOnce(redisUrl), config.dependencyWaitMs, logger);
  const bus = createRedisProgressBus({ url: redisUrl, prefix: config.redisPrefix, logger });
  await bus.ready(Math.max(1000, config.dependencyWaitMs));
  const health = new Redis(redisUrl, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectionName: `${config.redisPrefix}health`,
  });
  health.on('error', () => {
    // Reported by redis() while it lasts; ioredis reconnects.
  });
  return {
    bus,
    createQueue: (concurrency, execute, onRetry) => {
      return new BullMqJobQueue({
        url: redisUrl,
        prefix: config.redisPrefix,
        concurrency,
        execute,
        attempts: config.trainingAttempts,
        lockDurationMs: config.queueLockMs,
        stalledIntervalMs: config.queueStalledIntervalMs,
        stopGraceMs: config.workerStopGraceMs,
        onRetry,
        logger,
      });
    },
    redis: async () => {
      const started = performance.now();
      try {
        await health.ping();
        return { name: 'redis', ok: true, detail: null, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return {
          name: 'redis',
          ok: false,
          detail: error instanceof Error ? error.message : String(error),
          latencyMs: null,
        };
      }
    },
    close: async () => {
      await bus.close();
      await health.quit().catch(() => undefined);
      health.disconnect();
    },
  };
}
