/**
 * The progress bus over Redis pub/sub (REDIS_URL): yoga's Redis event target under the same per-run fan-out and
 * per-turn delivery budget as the in-process bus (createInMemoryProgressBus). One Redis channel per run, named under
 * REDIS_PREFIX, so servers sharing one Redis for different deployments (or test servers) never hear each other.
 *
 * Redis pub/sub delivers at most once: a message published while a subscriber's connection is down is lost. The
 * events themselves are stored before they are published, so the subscription side (ProgressStream) fills any gap it
 * sees from the database; this bus only carries them, and never lets a Redis error escape into a publisher.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { PubSubEventTarget } from 'graphql-yoga';
import { RUN_STAGES, RUN_STATUSES, type ProgressMetrics, type TrainingProgressEvent } from '../domain/run.js';
import type { Logger } from '../logger.js';
import { createInMemoryProgressBus, type ProgressBus } from './progress-bus.js';

export interface RedisProgressBus extends ProgressBus {
  /**
   * Resolves once events published from now on reach this process's subscribers (their SUBSCRIBE acknowledged), or
   * after ATTACH_WAIT_MS while Redis is away (subscribers then read the database until it is back).
   */
  attached(): Promise<void>;
  /** Resolves when both connections are up; rejects after `timeoutMs` naming Redis. */
  ready(timeoutMs: number): Promise<void>;
  /** Whether both connections are up (health). */
  connected(): boolean;
  close(): Promise<void>;
}

export interface RedisProgressBusOptions {
  url: string;
  /** Channel names start with it (REDIS_PREFIX). */
  prefix: string;
  logger: Logger;
}

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- createPubSub needs an index-signature-compatible type
type Channels = { 'run:progress': [runId: string, payload: TrainingProgressEvent] };

/** Longest wait for Redis to acknowledge a subscription before a subscriber reads its snapshot anyway. */
const ATTACH_WAIT_MS = 2000;
/** A publish failure is logged at most this often (an outage would otherwise log ~10 lines per second and run). */
const PUBLISH_WARN_INTERVAL_MS = 10_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown): T | null {
  return allowed.find((candidate) => candidate === value) ?? null;
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function decodeMetrics(value: unknown): ProgressMetrics | null {
  if (!isRecord(value)) return null;
  const metrics: ProgressMetrics = {};
  const loss = finiteOrNull(value.loss);
  const valLoss = finiteOrNull(value.valLoss);
  const valAccuracy = finiteOrNull(value.valAccuracy);
  if (loss !== null) metrics.loss = loss;
  if (valLoss !== null) metrics.valLoss = valLoss;
  if (valAccuracy !== null) metrics.valAccuracy = valAccuracy;
  const fold = finiteOrNull(value.fold);
  const folds = finiteOrNull(value.folds);
  if (fold !== null) metrics.fold = fold;
  if (folds !== null) metrics.folds = folds;
  return metrics;
}

/**
 * A progress event read back from its JSON on the wire, field by field (the date travels as an ISO string); null
 * when the message is not one (another program publishing on our channel names).
 */
export function decodeProgressEvent(value: unknown): TrainingProgressEvent | null {
  if (!isRecord(value)) return null;
  const { runId, seq, message, at } = value;
  const status = oneOf(RUN_STATUSES, value.status);
  const stage = oneOf(RUN_STAGES, value.stage);
  const progress = finiteOrNull(value.progress);
  const step = finiteOrNull(value.step);
  const totalSteps = finiteOrNull(value.totalSteps);
  const when = typeof at === 'string' ? new Date(at) : null;
  if (
    typeof runId !== 'string' ||
    typeof seq !== 'number' ||
    !Number.isInteger(seq) ||
    status === null ||
    stage === null ||
    progress === null ||
    step === null ||
    totalSteps === null ||
    (message !== null && typeof message !== 'string') ||
    when === null ||
    Number.isNaN(when.getTime())
  )
    return null;
  return {
    runId,
    seq,
    status,
    stage,
    progress,
    step,
    totalSteps,
    metrics: decodeMetrics(value.metrics),
    message,
    etaSeconds: finiteOrNull(value.etaSeconds),
    at: when,
    queuePosition: finiteOrNull(value.queuePosition),
  };
}

/** The JSON a message carries, decoded; malformed ones become null (the fan-out drops them). */
const serializer = {
  stringify: (message: unknown) => JSON.stringify(message),
  parse: (message: string): unknown => {
    try {
      return decodeProgressEvent(JSON.parse(message));
    } catch {
      return null;
    }
  },
};

/** Resolves once the connection is ready; rejects after timeoutMs. */
export async function waitReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) =>
        client.once('ready', () => {
          resolve();
        }),
      ),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`Redis did not answer within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createRedisProgressBus(options: RedisProgressBusOptions): RedisProgressBus {
  const { prefix, logger } = options;
  // Publishing fails fast while Redis is down (the event is stored; subscribers fill the gap from the database).
  const publishClient = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: `${prefix}progress-pub`,
  });
  // The subscribing connection waits for Redis to come back and subscribes again (ioredis autoResubscribe).
  const subscribeClient = new Redis(options.url, {
    maxRetriesPerRequest: null,
    connectionName: `${prefix}progress-sub`,
  });
  let lastWarn = 0;
  const warn = (message: string, error: unknown) => {
    const now = Date.now();
    if (now - lastWarn < PUBLISH_WARN_INTERVAL_MS) return;
    lastWarn = now;
    logger.warn(message, { err: error });
  };
  // ioredis reports connection errors as 'error' events; without a listener Node would treat them as uncaught.
  publishClient.on('error', (error: unknown) => {
    warn('Redis (progress publisher) unavailable; events stay in the database until it is back', error);
  });
  subscribeClient.on('error', (error: unknown) => {
    warn('Redis (progress subscriber) unavailable; reconnecting', error);
  });
  subscribeClient.on('ready', () => {
    if (lastWarn > 0) logger.info('Redis (progress subscriber) connected again');
  });

  const redisTarget = createRedisEventTarget<CustomEvent<TrainingProgressEvent>>({
    publishClient,
    subscribeClient,
    serializer,
  });
  const channelOf = (topic: string) => `${prefix}${topic}`;
  // Messages that did not decode arrive with a null detail: the fan-out drops them.
  const eventTarget: PubSubEventTarget<Channels> = {
    addEventListener: (topic, listener) => {
      redisTarget.addEventListener(channelOf(topic), listener);
    },
    removeEventListener: (topic, listener) => {
      redisTarget.removeEventListener(channelOf(topic), listener);
    },
    dispatchEvent: (event) => {
      // Our own publish (not yoga's), so a refused publish is logged instead of becoming an unhandled rejection.
      publishClient.publish(channelOf(event.type), serializer.stringify(event.detail)).catch((error: unknown) => {
        warn('a progress event was not published on Redis (it is stored; subscribers read it from there)', error);
      });
      return true;
    },
  };
  const bus = createInMemoryProgressBus(eventTarget);

  return {
    ...bus,
    // Redis keeps no backlog of ours: the local fan-out's is what the publisher can wait on, and a worker has none.
    attached: async () => {
      // The event target sent SUBSCRIBE when the run's first local subscriber attached; a PING on the same connection
      // is answered after that SUBSCRIBE's acknowledgement, so once it returns the subscription is in place.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        subscribeClient.ping().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, ATTACH_WAIT_MS))),
      ]);
      clearTimeout(timer);
    },
    ready: async (timeoutMs) => {
      await Promise.all([waitReady(publishClient, timeoutMs), waitReady(subscribeClient, timeoutMs)]);
    },
    connected: () => publishClient.status === 'ready' && subscribeClient.status === 'ready',
    close: async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
