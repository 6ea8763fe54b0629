/**
 * Shared fan-out of one run's progress over graphql-ws (speed issue 16): results executed once per event and
 * operation (src/http/shared-subscriptions.ts) and written once serialised per result (src/http/websocket.ts). The
 * run stays QUEUED behind a long blocker; the events are published on the real progress bus, so every subscriber
 * sees exactly the events of the test, and the real server, ProgressStream and graphql-ws client do the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Client } from 'graphql-ws';
import type { TrainingProgressEvent } from '../../src/domain/run.js';
import { HAS_KEPLER, startRun, startServer, waitFor, type TestServer } from './harness.js';

/** A subscription watched as it goes: `events` fills live, `done` settles on complete or error. */
interface Watched<T> {
  events: T[];
  errors: unknown[];
  done: Promise<void>;
}

function watch<T>(client: Client, query: string, variables: Record<string, unknown>): Watched<T> {
  const watched: Watched<T> = { events: [], errors: [], done: Promise.resolve() };
  watched.done = new Promise((resolve) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) watched.errors.push(value.errors);
          if (value.data) watched.events.push(value.data);
        },
        error: (error) => {
          watched.errors.push(error);
          resolve();
        },
        complete: () => {
          resolve();
        },
      },
    );
  });
  return watched;
}

describe.skipIf(!HAS_KEPLER)('shared WebSocket fan-out of a run', () => {
  let server: TestServer;
  let blockerRunId: string;

  beforeAll(async () => {
    server = await startServer();
    // Holds the only training slot for the whole file: the runs under test stay QUEUED, their events are ours.
    const blocker = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'neural_network',
      hyperparameters: { epochs: 500, hidden_layers: [16], early_stopping_patience: 0 },
    });
    blockerRunId = blocker.runId;
  }, 120_000);

  afterAll(async () => {
    await server.gql('mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: blockerRunId });
    await server.stop();
  });

  /** A queued run and a publisher of its next events (seq after the stored ones). */
  async function queuedRun() {
    const { runId } = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'random_forest',
      hyperparameters: { n_estimators: 10 },
    });
    const { trainingRun } = await server.data<{ trainingRun: { events: { seq: number }[] } }>(
      'query ($r: ID!) { trainingRun(id: $r) { events { seq } } }',
      { r: runId },
    );
    let seq = Math.max(0, ...trainingRun.events.map((e) => e.seq));
    const publish = (overrides: Partial<TrainingProgressEvent> = {}): TrainingProgressEvent => {
      seq += 1;
      const event: TrainingProgressEvent = {
        runId,
        seq,
        status: 'QUEUED',
        stage: 'QUEUED',
        progress: seq / 100,
        step: seq,
        totalSteps: 100,
        metrics: { loss: 1 / seq, valAccuracy: 0.5 },
        message: `event ${seq}`,
        etaSeconds: seq,
        at: new Date(),
        queuePosition: 2,
        ...overrides,
      };
      server.app.services.progressBus.publish(event);
      return event;
    };
    const cancel = () => server.gql('mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: runId });
    return { runId, publish, cancel };
  }

  it('subscribers with different selection sets on one run each get exactly their own fields', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const queries = {
      a: 'subscription ($r: ID!) { trainingProgress(runId: $r) { seq status } }',
      b: 'subscription ($r: ID!) { trainingProgress(runId: $r) { seq message progress metrics { loss } } }',
      aliased: 'subscription ($r: ID!) { trainingProgress(runId: $r) { n: seq s: status } }',
      named: 'subscription Named($r: ID!) { trainingProgress(runId: $r) { seq etaSeconds step } }',
    } as const;
    type Key = keyof typeof queries;
    // Two subscribers per document: the same operation shares one execution, the others get their own.
    const keys: Key[] = ['a', 'a', 'b', 'b', 'aliased', 'aliased', 'named', 'named'];
    const streams = keys.map((key) =>
      watch<{ trainingProgress: Record<string, unknown> }>(server.wsClient(), queries[key], { r: runId }),
    );
    await waitFor(() => (streams.every((s) => s.events.length === 1) ? true : undefined), 30_000, 20);

    const published = [publish(), publish(), publish({ message: 'with "quotes" and ünïcode ✓' })];
    published.push(publish({ status: 'CANCELLED', stage: 'DONE', message: 'Cancelled', queuePosition: null }));
    await Promise.all(streams.map((s) => s.done));
    await cancel();

    const expected: Record<Key, (e: TrainingProgressEvent) => Record<string, unknown>> = {
      a: (e) => ({ seq: e.seq, status: e.status }),
      b: (e) => ({ seq: e.seq, message: e.message, progress: e.progress, metrics: { loss: e.metrics?.loss } }),
      aliased: (e) => ({ n: e.seq, s: e.status }),
      named: (e) => ({ seq: e.seq, etaSeconds: e.etaSeconds, step: e.step }),
    };
    for (const [index, stream] of streams.entries()) {
      expect(stream.errors).toEqual([]);
      const live = stream.events.slice(1).map((e) => e.trainingProgress);
      // Exactly its own fields, in its own order, with the published values.
      expect(live).toEqual(published.map(expected[keys[index]]));
      for (const event of live) expect(Object.keys(event)).toEqual(Object.keys(expected[keys[index]](published[0])));
      expect(Object.keys(stream.events[0].trainingProgress)).toEqual(Object.keys(expected[keys[index]](published[0])));
    }
  });

  it('a subscriber that joins mid-run gets its snapshot, then the live events after it, without duplicates', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const query = 'subscription ($r: ID!) { trainingProgress(runId: $r) { seq status message } }';
    const early = watch<{ trainingProgress: { seq: number; status: string } }>(server.wsClient(), query, { r: runId });
    await waitFor(() => (early.events.length === 1 ? true : undefined), 30_000, 20);
    const before = [publish(), publish(), publish()];
    await waitFor(() => (early.events.length === 4 ? true : undefined), 30_000, 20);

    const late = watch<{ trainingProgress: { seq: number; status: string } }>(server.wsClient(), query, { r: runId });
    await waitFor(() => (late.events.length === 1 ? true : undefined), 30_000, 20);
    const after = [publish(), publish(), publish({ status: 'CANCELLED', stage: 'DONE', queuePosition: null })];
    await Promise.all([early.done, late.done]);
    await cancel();

    const seqs = (w: Watched<{ trainingProgress: { seq: number } }>) => w.events.map((e) => e.trainingProgress.seq);
    expect(early.errors).toEqual([]);
    expect(late.errors).toEqual([]);
    expect(seqs(early).slice(1)).toEqual([...before, ...after].map((e) => e.seq));
    // The late one: its own snapshot (the stored state, QUEUED), then exactly what was published after it joined.
    expect(late.events[0].trainingProgress.status).toBe('QUEUED');
    expect(seqs(late).slice(1)).toEqual(after.map((e) => e.seq));
    expect(new Set(seqs(late)).size).toBe(late.events.length);
    expect(late.events.at(-1)?.trainingProgress.status).toBe('CANCELLED');
  });

  it('a socket that stops reading holds back only its own subscription; it gets everything, in order, once it reads', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const query = 'subscription ($r: ID!) { trainingProgress(runId: $r) { seq status message } }';

    // The slow subscriber speaks graphql-transport-ws by hand over `ws`, so its socket can stop reading.
    const slow = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const slowMessages: { type: string; id?: string; payload?: { data?: { trainingProgress: { seq: number } } } }[] =
      [];
    slow.on('message', (data: Buffer) => slowMessages.push(JSON.parse(data.toString()) as (typeof slowMessages)[0]));
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(JSON.stringify({ type: 'connection_init' }));
    await waitFor(() => (slowMessages.some((m) => m.type === 'connection_ack') ? true : undefined), 10_000, 10);
    slow.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query, variables: { r: runId } } }));
    await waitFor(() => (slowMessages.some((m) => m.type === 'next') ? true : undefined), 10_000, 10);

    const fast = watch<{ trainingProgress: { seq: number; status: string } }>(server.wsClient(), query, { r: runId });
    await waitFor(() => (fast.events.length === 1 ? true : undefined), 30_000, 20);

    // Stop reading: the kernel buffers fill, then the server's writes for this socket wait.
    slow.pause();
    const big = 'x'.repeat(64 * 1024);
    const published: TrainingProgressEvent[] = [];
    for (let i = 0; i < 99; i++) published.push(publish({ message: `${i} ${big}` }));
    published.push(publish({ status: 'CANCELLED', stage: 'DONE', message: 'Cancelled', queuePosition: null }));

    // The fast subscriber gets every event and completes while the slow one is still behind ...
    await fast.done;
    expect(fast.errors).toEqual([]);
    expect(fast.events.slice(1).map((e) => e.trainingProgress.seq)).toEqual(published.map((e) => e.seq));
    const slowReceived = slowMessages.filter((m) => m.type === 'next').length - 1;
    expect(slowReceived).toBeLessThan(published.length);
    // ... with what it is owed still in its own queue on the bus, and staying there: its writes wait for the socket
    // (backpressure reaches the fan-out) instead of piling every frame up in the server's socket buffer.
    expect(server.app.services.progressBus.backlog(runId)).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(server.app.services.progressBus.backlog(runId)).toBeGreaterThan(0);

    slow.resume();
    await waitFor(() => (slowMessages.some((m) => m.type === 'complete') ? true : undefined), 60_000, 20);
    const slowLive = slowMessages.filter((m) => m.type === 'next').slice(1);
    expect(slowLive.map((m) => m.payload?.data?.trainingProgress.seq)).toEqual(published.map((e) => e.seq));
    expect(slowMessages.at(-1)).toEqual({ id: 'slow', type: 'complete' });
    slow.close();
    await cancel();
  });
});
