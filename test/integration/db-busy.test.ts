/**
 * Another process holding SQLite's write lock (issue 12, items 1 and 6): requests that write answer 503 with
 * Retry-After at once instead of blocking the event loop for seconds and answering 500; a training run's progress
 * writes fail quietly (live events go on) and its end is stored once the lock is gone; the server never exits.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startServer, waitForRun, type TestServer } from './harness.js';

describe('a database locked by another process', () => {
  let server: TestServer;
  let outsider: Database.Database;
  beforeAll(async () => {
    // SQLite's own write lock, taken by another process: nothing to do with PostgreSQL.
    server = await startServer({ sqlite: true });
    outsider = new Database(path.join(server.dir, 'test.db'));
  });
  afterAll(async () => {
    if (outsider.inTransaction) outsider.exec('ROLLBACK');
    outsider.close();
    await server.stop();
  });

  it('answers writes with 503 + Retry-After quickly, over GraphQL and REST, while reads and health go on', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    outsider.exec('BEGIN IMMEDIATE');
    try {
      const started = performance.now();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: 'mutation { createSession { id } }' }),
      });
      const elapsed = performance.now() - started;
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
      expect(body.errors[0].message).toMatch(/database is busy/);
      expect(elapsed).toBeLessThan(1500); // was 5 s of a blocked event loop, then a masked 500

      const rest = await fetch(`${server.url}/select`);
      expect(rest.status).toBe(503);
      expect(rest.headers.get('retry-after')).toBe('1');
      expect(await rest.json()).toMatchObject({ status: 'error', code: 'SERVICE_UNAVAILABLE' });

      // Reads do not need the write lock (WAL).
      expect(
        (await server.gql('query ($s: ID!) { session(id: $s) { id } health { status } }', { s: createSession.id }))
          .data,
      ).toEqual({ session: { id: createSession.id }, health: { status: 'ok' } });
    } finally {
      outsider.exec('ROLLBACK');
    }
  });

  it('a run whose writes hit the lock keeps streaming, and stores its end once the lock is released', async () => {
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await server.data(
      'mutation ($s: ID!) { configureSession(input: { sessionId: $s, modelType: "random_forest", hyperparameters: { n_estimators: 300 } }) { id } }',
      { s: createSession.id },
    );
    const { startTraining } = await server.data<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: createSession.id },
    );
    const stream = collect<{ trainingProgress: { status: string; seq: number } }>(
      server.wsClient(),
      'subscription ($r: ID!) { trainingProgress(runId: $r) { status seq } }',
      { r: startTraining.id },
    );
    outsider.exec('BEGIN IMMEDIATE');
    await new Promise((resolve) => setTimeout(resolve, 4000)); // the run trains (and may finish) under the lock
    outsider.exec('ROLLBACK');
    const { events, error } = await stream;
    expect(error).toBeUndefined();
    const { trainingRun } = await server.data<{ trainingRun: { error: string | null } }>(
      'query ($r: ID!) { trainingRun(id: $r) { error } }',
      { r: startTraining.id },
    );
    expect(trainingRun.error).toBeNull();
    expect(events.at(-1)?.trainingProgress.status).toBe('SUCCEEDED');
    const seqs = events.map((e) => e.trainingProgress.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await waitForRun(server, startTraining.id, 60_000)).toBe('SUCCEEDED');
    expect((await server.gql('{ health { status } }')).data).toEqual({ health: { status: 'ok' } });
  }, 90_000);
});
