/**
 * The real engines the scale-out runs on start here as throw-away servers on loopback ports: a smoke test of the
 * fixture the PostgreSQL and Redis tests build on (and of the Debian packages .ci/run installs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { enginesUnavailableReason, startPostgres, startRedis, type RunningEngine } from '../fixtures/engines.js';

const unavailable = enginesUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must have PostgreSQL and Redis: ${unavailable}`);

describe.skipIf(unavailable !== null)('real engines', () => {
  let postgres: RunningEngine | undefined;
  let redis: RunningEngine | undefined;
  const url = (engine: RunningEngine | undefined) => {
    if (!engine) throw new Error('the engine did not start');
    return engine.url;
  };
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('PostgreSQL answers SQL on its loopback port', async () => {
    const client = new pg.Client({ connectionString: url(postgres) });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>('select version() as version');
      expect(rows[0]?.version).toMatch(/^PostgreSQL 1\d/);
    } finally {
      await client.end();
    }
  });

  it('Redis delivers a published message to a subscriber', async () => {
    const publisher = new Redis(url(redis));
    const subscriber = new Redis(url(redis));
    try {
      await subscriber.subscribe('hello');
      const received = new Promise<string>((resolve) =>
        subscriber.once('message', (_channel: string, message: string) => {
          resolve(message);
        }),
      );
      await publisher.publish('hello', 'world');
      expect(await received).toBe('world');
    } finally {
      publisher.disconnect();
      subscriber.disconnect();
    }
  });
});
