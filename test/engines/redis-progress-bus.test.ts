/**
 * The progress bus over a real Redis: events published by one process's bus reach another's subscribers in order,
 * channels under different prefixes never meet, malformed messages are dropped, and `attached()` means attached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { enginesUnavailableReason, startRedis, type RunningEngine } from '../fixtures/engines.js';
import { createLogger } from '../../src/logger.js';
import {
  createRedisProgressBus,
  decodeProgressEvent,
  type RedisProgressBus,
} from '../../src/services/progress-bus-redis.js';
import type { TrainingProgressEvent } from '../../src/services/progress-bus.js';

const unavailable = enginesUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must have PostgreSQL and Redis: ${unavailable}`);

function event(runId: string, seq: number): TrainingProgressEvent {
  return {
    runId,
    seq,
    status: seq === 5 ? 'SUCCEEDED' : 'RUNNING',
    stage: seq === 5 ? 'DONE' : 'TRAINING',
    progress: seq / 5,
    step: seq,
    totalSteps: 5,
    metrics: seq === 2 ? { loss: 0.5, valAccuracy: 0.75 } : null,
    message: `Step ${seq} of 5`,
    etaSeconds: seq === 3 ? 1.5 : null,
    at: new Date(1_700_000_000_000 + seq),
    queuePosition: null,
  };
}

async function take(iterator: AsyncIterator<TrainingProgressEvent>, count: number): Promise<TrainingProgressEvent[]> {
  const events: TrainingProgressEvent[] = [];
  while (events.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

describe.skipIf(unavailable !== null)('progress bus over Redis', () => {
  let redis: RunningEngine | undefined;
  const buses: RedisProgressBus[] = [];
  const logger = createLogger('silent');
  const bus = async (prefix: string) => {
    if (!redis) throw new Error('redis did not start');
    const created = createRedisProgressBus({ url: redis.url, prefix, logger });
    buses.push(created);
    await created.ready(10_000);
    return created;
  };
  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(buses.map((created) => created.close()));
    await redis?.stop();
  });

  it("carries one process's events to another's subscribers, in order, dates and metrics intact", async () => {
    const publisher = await bus('a:');
    const subscriber = await bus('a:');
    const iterator = subscriber.subscribe('run_x')[Symbol.asyncIterator]();
    await subscriber.attached();
    const sent = [1, 2, 3, 4, 5].map((seq) => event('run_x', seq));
    for (const one of sent) publisher.publish(one);
    publisher.publish(event('run_other', 1));
    expect(await take(iterator, 5)).toEqual(sent);
    await iterator.return?.();
    expect(subscriber.listenerCount()).toBe(0);
  });

  it('keeps deployments apart by prefix', async () => {
    const publisher = await bus('one:');
    const other = await bus('two:');
    const same = await bus('one:');
    const otherIterator = other.subscribe('run_y')[Symbol.asyncIterator]();
    const sameIterator = same.subscribe('run_y')[Symbol.asyncIterator]();
    await Promise.all([other.attached(), same.attached()]);
    publisher.publish(event('run_y', 1));
    expect((await take(sameIterator, 1)).map((one) => one.seq)).toEqual([1]);
    // Nothing for the other prefix: a marker published on its own channel arrives first.
    (await bus('two:')).publish(event('run_y', 9));
    expect((await take(otherIterator, 1)).map((one) => one.seq)).toEqual([9]);
    await Promise.all([otherIterator.return?.(), sameIterator.return?.()]);
  });

  it('drops messages that are not progress events', async () => {
    if (!redis) throw new Error('redis did not start');
    const subscriber = await bus('c:');
    const iterator = subscriber.subscribe('run_z')[Symbol.asyncIterator]();
    await subscriber.attached();
    const raw = new Redis(redis.url);
    try {
      await raw.publish('c:run:progress:run_z', 'not json');
      await raw.publish('c:run:progress:run_z', JSON.stringify({ runId: 'run_z', seq: 'one' }));
      await raw.publish('c:run:progress:run_z', JSON.stringify(event('run_z', 2)));
    } finally {
      raw.disconnect();
    }
    expect((await take(iterator, 1)).map((one) => one.seq)).toEqual([2]);
    await iterator.return?.();
  });

  it('decodes field by field', () => {
    const wire: unknown = JSON.parse(JSON.stringify(event('run_d', 2)));
    expect(decodeProgressEvent(wire)).toEqual(event('run_d', 2));
    expect(decodeProgressEvent({ ...event('run_d', 2), status: 'DONE' })).toBeNull();
    expect(decodeProgressEvent({ ...event('run_d', 2), at: 'yesterday' })).toBeNull();
    expect(decodeProgressEvent({ ...event('run_d', 2), seq: 1.5 })).toBeNull();
  });
});
