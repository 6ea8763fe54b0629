/**
 * The periodic reconcile of the shared (BullMQ) queue covers searches as it covers runs (issue 14): while the server
 * runs, a search left RUNNING whose job is gone fails with the reason, and one left QUEUED without a job is queued
 * again and runs. Real PostgreSQL and Redis; skipped with the reason outside CI when they are not installed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enginesUnavailableReason, startPostgres, startRedis, type RunningEngine } from '../fixtures/engines.js';
import { startServer, waitFor, type TestServer } from '../integration/harness.js';
import { SEARCH_LOST_MESSAGE } from '../../src/services/searches.js';

const unavailable = enginesUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must have PostgreSQL and Redis: ${unavailable}`);

const START = 'mutation ($s: ID!, $i: SearchInput!) { startSearch(sessionId: $s, input: $i) { id } }';
const SEARCH = 'query ($s: ID!) { search(id: $s) { status message bestRun { id } } }';

interface View {
  status: string;
  message: string | null;
  bestRun: { id: string } | null;
}

describe.skipIf(unavailable !== null)('searches and the shared queue’s periodic reconcile', () => {
  let postgres: RunningEngine | undefined;
  let redis: RunningEngine | undefined;
  let server: TestServer | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-reconcile-'));

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await Promise.allSettled([postgres?.stop(), redis?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails a RUNNING search whose job vanished and re-queues a QUEUED one, without a restart', async () => {
    if (!postgres || !redis) throw new Error('the engines did not start');
    server = await startServer({
      dir,
      env: {
        DATABASE_URL: postgres.url,
        DATABASE_PATH: path.join(dir, 'unused.db'),
        REDIS_URL: redis.url,
        QUEUE_RECONCILE_SECONDS: '1',
      },
    });
    const live = server;
    const { createSession } = await live.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await live.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
      input: { sessionId: createSession.id, datasetId: 'kepler', modelType: 'decision_tree' },
    });
    const { startSearch } = await live.data<{ startSearch: { id: string } }>(START, {
      s: createSession.id,
      i: { modelTypes: ['decision_tree'], cvFolds: 2, maxTrials: 1, seed: 3 },
    });
    const id = startSearch.id;
    const ended = (want: string) =>
      waitFor(async () => {
        const { search } = await live.data<{ search: View }>(SEARCH, { s: id });
        return search.status === want ? search : undefined;
      }, 120_000);
    const first = await ended('SUCCEEDED');

    // Its job completed (and was removed): marked RUNNING again, nobody holds it — the next reconcile fails it.
    const sql = async (text: string) => {
      const client = new pg.Client({ connectionString: live.config.databaseUrl ?? '' });
      await client.connect();
      try {
        await client.query(text, [id]);
      } finally {
        await client.end();
      }
    };
    await sql(`update searches set status = 'RUNNING', finished_at = null, error = null where id = $1`);
    const lost = await ended('FAILED');
    expect(lost.message).toBe(SEARCH_LOST_MESSAGE);

    // Left QUEUED with no job: the next reconcile queues it, and it runs again to a new refit run.
    await sql(
      `update searches set status = 'QUEUED', trials = '[]', best_run_id = null, finished_at = null, error = null where id = $1`,
    );
    const again = await ended('SUCCEEDED');
    expect(again.bestRun?.id).toBeDefined();
    expect(again.bestRun?.id).not.toBe(first.bestRun?.id);
  }, 300_000);
});
