/**
 * Hyperparameter search as a job (issue 14 item 2): real server, real Kepler table, the official graphql-ws client
 * and SSE. Small searches (decision trees, 3 folds) so each takes seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, collectSse, startServer, waitFor, waitForRun, type TestServer } from './harness.js';
import { call, expectOriginalError, expectOriginalSuccess } from './rest-helpers.js';

interface Trial {
  trial: number;
  candidate: number;
  modelType: string;
  params: Record<string, unknown>;
  status: string;
  score: number | null;
  sd: number | null;
  fitSeconds: number | null;
}

interface ProgressEvent {
  seq: number;
  type: string;
  status: string;
  trial: Trial | null;
  best: Trial | null;
  leaderboard: Trial[];
  bestRunId: string | null;
}

interface SearchView {
  id: string;
  status: string;
  message: string | null;
  error: string | null;
  leaderboard: Trial[];
  trials: Trial[];
  best: Trial | null;
  bestRun: { id: string; status: string; modelType: string; metrics: { macroF1: number } | null } | null;
}

const TRIAL = 'trial candidate modelType params status score sd fitSeconds';
const PROGRESS = `subscription ($s: ID!) { searchProgress(searchId: $s) { seq type status trial { ${TRIAL} } best { ${TRIAL} } leaderboard { ${TRIAL} } bestRunId } }`;
const SEARCH = `query ($s: ID!) { search(id: $s) { id status message error trials { ${TRIAL} } leaderboard { ${TRIAL} } best { ${TRIAL} } bestRun { id status modelType metrics { macroF1 } } } }`;
const START = 'mutation ($s: ID!, $i: SearchInput!) { startSearch(sessionId: $s, input: $i) { id status } }';
const SMALL = { modelTypes: ['decision_tree'], cvFolds: 3, maxTrials: 5, seed: 7, budgetSeconds: 120 };

async function session(server: TestServer): Promise<string> {
  const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId: createSession.id, datasetId: 'kepler', modelType: 'decision_tree' },
  });
  return createSession.id;
}

async function search(server: TestServer, id: string): Promise<SearchView> {
  return (await server.data<{ search: SearchView }>(SEARCH, { s: id })).search;
}

async function ended(server: TestServer, id: string): Promise<SearchView> {
  return waitFor(async () => {
    const s = await search(server, id);
    return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(s.status) ? s : undefined;
  }, 120_000);
}

describe('hyperparameter search as a job', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
  });
  afterAll(() => server.stop());

  it('streams trials live over graphql-ws, ends with a sorted leaderboard and a refitted best run', async () => {
    const sessionId = await session(server);
    const { startSearch } = await server.data<{ startSearch: { id: string; status: string } }>(START, {
      s: sessionId,
      i: SMALL,
    });
    // The answer reads the search back after queueing it: a free worker (a BullMQ worker on PostgreSQL + Redis) may
    // already have taken it.
    expect(['QUEUED', 'RUNNING']).toContain(startSearch.status);
    const client = server.wsClient();
    const { events, error } = await collect<{ searchProgress: ProgressEvent }>(client, PROGRESS, {
      s: startSearch.id,
    });
    await client.dispose();
    expect(error).toBeUndefined();
    const stream = events.map((e) => e.searchProgress);
    expect(stream[0].type).toBe('SNAPSHOT');
    expect(stream.map((e) => e.seq)).toEqual(stream.map((_, i) => i + 1));
    const last = stream[stream.length - 1];
    expect(last.type).toBe('DONE');
    expect(last.status).toBe('SUCCEEDED');
    // Every trial the snapshot did not hold arrives as TRIAL_STARTED then TRIAL_DONE; each new best as BEST_CHANGED.
    const seen = new Set(stream[0].leaderboard.map((t) => t.trial));
    const started = stream.filter((e) => e.type === 'TRIAL_STARTED').map((e) => e.trial?.trial);
    const done = stream.filter((e) => e.type === 'TRIAL_DONE').map((e) => e.trial?.trial);
    expect(started.length).toBeGreaterThan(0);
    expect(new Set([...seen, ...done]).size).toBe(SMALL.maxTrials);
    expect(done).toEqual(started);
    expect(stream.some((e) => e.type === 'BEST_CHANGED')).toBe(true);
    for (const e of stream.filter((x) => x.type === 'TRIAL_DONE')) {
      expect(e.trial?.score).toBeGreaterThan(0);
      expect(e.trial?.sd).not.toBeNull();
      expect(e.trial?.fitSeconds).toBeGreaterThanOrEqual(0);
    }

    const result = await search(server, startSearch.id);
    expect(result.leaderboard).toHaveLength(SMALL.maxTrials);
    const scores = result.leaderboard.map((t) => t.score ?? -1);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(last.leaderboard.map((t) => t.trial)).toEqual(result.leaderboard.map((t) => t.trial));
    expect(result.best?.trial).toBe(result.leaderboard[0].trial);
    expect(last.bestRunId).toBe(result.bestRun?.id);
    const runId = result.bestRun?.id ?? '';
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
    const refit = await search(server, startSearch.id);
    expect(refit.bestRun?.modelType).toBe('decision_tree');
    expect(refit.bestRun?.metrics?.macroF1).toBeGreaterThan(0.5);
    const { trainingRun } = await server.data<{
      trainingRun: { reproducibility: { config: { hyperparameters: unknown } } };
    }>('query ($r: ID!) { trainingRun(id: $r) { reproducibility { config } } }', { r: runId });
    expect(trainingRun.reproducibility.config.hyperparameters).toEqual(result.best?.params);

    // A late subscriber (SSE) gets the whole leaderboard in its snapshot, then DONE.
    const late = (await collectSse<{ searchProgress: ProgressEvent }>(server.url, PROGRESS, { s: startSearch.id })).map(
      (e) => e.searchProgress,
    );
    expect(late.map((e) => e.type)).toEqual(['SNAPSHOT', 'DONE']);
    expect(late[0].leaderboard.map((t) => t.trial)).toEqual(result.leaderboard.map((t) => t.trial));

    // The same seed draws the same candidates: the same parameters in the same order.
    const again = await server.data<{ startSearch: { id: string } }>(START, { s: sessionId, i: SMALL });
    const second = await ended(server, again.startSearch.id);
    expect(second.status).toBe('SUCCEEDED');
    expect(second.trials.map((t) => t.params)).toEqual(result.trials.map((t) => t.params));
    expect(second.trials.map((t) => t.score)).toEqual(result.trials.map((t) => t.score));
  }, 240_000);

  it('refuses a bad space, a second active search and a budget above MAX_TRAINING_SECONDS', async () => {
    const sessionId = await session(server);
    const bad = await server.gql(START, {
      s: sessionId,
      i: { ...SMALL, space: { decision_tree: { dimensions: [{ name: 'max_depth', kind: 'int', low: 0, high: 5 }] } } },
    });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0].extensions?.field).toBe('space.max_depth');
    const budget = await server.gql(START, { s: sessionId, i: { ...SMALL, budgetSeconds: 10 ** 6 } });
    expect(budget.errors?.[0].extensions?.field).toBe('input.budgetSeconds');
    const first = await server.data<{ startSearch: { id: string } }>(START, {
      s: sessionId,
      i: { ...SMALL, maxTrials: 200 },
    });
    const second = await server.gql(START, { s: sessionId, i: SMALL });
    expect(second.errors?.[0].extensions?.code).toBe('CONFLICT');
    await server.data('mutation ($s: ID!) { cancelSearch(id: $s) { id } }', { s: first.startSearch.id });
  }, 60_000);

  it('cancelSearch stops a running search and keeps its trials', async () => {
    const sessionId = await session(server);
    const { startSearch } = await server.data<{ startSearch: { id: string } }>(START, {
      s: sessionId,
      i: { ...SMALL, modelTypes: ['random_forest'], maxTrials: 50, cvFolds: 5 },
    });
    await waitFor(async () => ((await search(server, startSearch.id)).trials.length > 0 ? true : undefined), 60_000);
    const { cancelSearch } = await server.data<{ cancelSearch: { status: string } }>(
      'mutation ($s: ID!) { cancelSearch(id: $s) { status } }',
      { s: startSearch.id },
    );
    expect(cancelSearch.status).toBe('CANCELLED');
    const after = await search(server, startSearch.id);
    expect(after.trials.length).toBeGreaterThan(0);
    expect(after.trials.length).toBeLessThan(50);
    expect(after.bestRun).toBeNull();
    // The slot is free again: a new search of the session starts and finishes.
    const next = await server.data<{ startSearch: { id: string } }>(START, { s: sessionId, i: SMALL });
    expect((await ended(server, next.startSearch.id)).status).toBe('SUCCEEDED');
  }, 180_000);

  it('REST: POST /training with a search config starts one; GET /training reports it, then its best run', async () => {
    const sessionId = await session(server);
    const bad = await call(server, 'POST', '/training', {
      json: { session_id: sessionId, search: { model_types: ['no_such_model'] } },
    });
    expectOriginalError(bad, 400, 'BAD_USER_INPUT');
    const started = expectOriginalSuccess(
      await call(server, 'POST', '/training', {
        json: {
          session_id: sessionId,
          search: { model_types: 'dt', strategy: 'SUCCESSIVE_HALVING', cv_folds: 3, max_trials: 9, seed: 3 },
        },
      }),
      202,
    );
    expect(started.kind).toBe('search');
    expect(started.training_started).toBe(true);
    const searchId = String(started.search_id);
    // Polled until the search has ended and the run refitting its best trial is reported, with the search beside it.
    const final = await waitFor(
      async () => {
        const body = expectOriginalSuccess(
          await call(server, 'GET', '/training', { query: { session_id: sessionId } }),
        );
        return body.kind === undefined && body.progress === 100 ? body : undefined;
      },
      120_000,
      250,
    );
    const searchView = final.search as {
      search_id: string;
      leaderboard: { rung: number; score: number }[];
      step: number;
    };
    expect(searchView.search_id).toBe(searchId);
    // Successive halving, 9 candidates: 9 + 3 + 1 trials; the leaderboard is each candidate once, top rung first.
    expect(searchView.step).toBe(13);
    expect(searchView.leaderboard).toHaveLength(9);
    expect(searchView.leaderboard[0].rung).toBe(2);
    expect(final.run_id).toBe((await search(server, searchId)).bestRun?.id);
    expect(final.training_status).toBe('completed');
  }, 180_000);
});

describe('startSearch and the creation rate limit', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ env: { RATE_LIMIT_CREATES_PER_MINUTE: '2' } });
  });
  afterAll(() => limited.stop());

  it('counts a search as a creation: over RATE_LIMIT_CREATES_PER_MINUTE it is 429 RATE_LIMITED with Retry-After', async () => {
    // The session is the first creation, the search the second; the next search is over the limit.
    const sessionId = await session(limited);
    const first = await limited.data<{ startSearch: { id: string } }>(START, { s: sessionId, i: SMALL });
    const res = await fetch(`${limited.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: START, variables: { s: sessionId, i: SMALL } }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(body.errors?.[0]?.message).toMatch(/searches created by this client .* this search was not created/);
    // Refused before anything was stored: the session still has its one search.
    const { searches } = await limited.data<{ searches: { id: string }[] }>(
      'query ($s: ID!) { searches(sessionId: $s) { id } }',
      { s: sessionId },
    );
    expect(searches.map((s) => s.id)).toEqual([first.startSearch.id]);
    await limited.data('mutation ($id: ID!) { cancelSearch(id: $id) { id } }', { id: first.startSearch.id });
  });
});
