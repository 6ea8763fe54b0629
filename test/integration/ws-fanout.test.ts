/**
 * Shared fan-out of one run's progress over graphql-ws (speed issue 16): one shared source per run and operation,
 * results executed once per event (src/http/shared-subscriptions.ts), serialised once and framed per subscriber
 * (src/http/ws-fanout.ts). The
 * run stays QUEUED behind a long blocker; the events are published on the real progress bus, so every subscriber
 * sees exactly the events of the test, and the real server, ProgressStream and graphql-ws client do the rest.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Client } from 'graphql-ws';
import type { TrainingProgressEvent } from '../../src/domain/run.js';
import { fanOutTrace, type FanOutTraceMessage } from '../../src/http/ws-fanout.js';
import { HAS_KEPLER, startRun, startServer, waitFor, type TestServer } from './harness.js';

/** A subscription watched as it goes: `events` fills live, `done` settles on complete or error. */
interface Watched<T> {
  events: T[];
  errors: unknown[];
  done: Promise<void>;
}

/** A subscriber that speaks graphql-transport-ws by hand over `ws`: every message, as text and parsed. */
interface RawMessage {
  type: string;
  id?: string;
  payload?: { data?: { trainingProgress: Record<string, unknown> }; errors?: unknown } & Record<string, unknown>;
}
async function rawSocket(server: TestServer, token?: string) {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  const texts: string[] = [];
  const messages: RawMessage[] = [];
  socket.on('message', (data: Buffer) => {
    texts.push(data.toString());
    messages.push(JSON.parse(data.toString()) as RawMessage);
  });
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(
    JSON.stringify({
      type: 'connection_init',
      ...(token ? { payload: { authorization: `Bearer ${token}` } } : {}),
    }),
  );
  await waitFor(() => (messages.some((m) => m.type === 'connection_ack') ? true : undefined), 10_000, 10);
  const subscribe = (id: string, query: string, variables: Record<string, unknown>) => {
    socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  };
  /** Messages of one operation id. */
  const of = (id: string) => messages.filter((m) => m.id === id);
  return { socket, texts, messages, subscribe, of };
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
    // 8 MB: above what the slow-socket test owes (100 x 64 kB), below what the drop test owes.
    server = await startServer({ env: { WS_MAX_OWED_MB: '8' } });
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
    // ... and the run's one shared source is not held back by it (what it is owed waits in the fan-out's log).
    expect(server.app.services.progressBus.backlog(runId)).toBe(0);

    slow.resume();
    await waitFor(() => (slowMessages.some((m) => m.type === 'complete') ? true : undefined), 60_000, 20);
    const slowLive = slowMessages.filter((m) => m.type === 'next').slice(1);
    expect(slowLive.map((m) => m.payload?.data?.trainingProgress.seq)).toEqual(published.map((e) => e.seq));
    expect(slowMessages.at(-1)).toEqual({ id: 'slow', type: 'complete' });
    slow.close();
    await cancel();
  });

  const PROGRESS = 'subscription ($r: ID!) { trainingProgress(runId: $r) { seq status message } }';

  it('many subscribers (several on one socket) each get every event in order under their own id, then complete', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const listenersBefore = server.app.services.progressBus.listenerCount();
    // 20 sockets, 3 operations each (ids that need JSON escaping too): 60 subscribers of one shared source.
    const sockets = await Promise.all(Array.from({ length: 20 }, () => rawSocket(server)));
    const ids = ['a', 'b "quoted"', 'c\\\\ü'];
    for (const raw of sockets) for (const id of ids) raw.subscribe(id, PROGRESS, { r: runId });
    await waitFor(
      () => (sockets.every((raw) => ids.every((id) => raw.of(id).length === 1)) ? true : undefined),
      30_000,
      20,
    );
    const published = Array.from({ length: 30 }, () => publish());
    published.push(publish({ status: 'CANCELLED', stage: 'DONE', message: 'Cancelled', queuePosition: null }));
    await waitFor(
      () => (sockets.every((raw) => ids.every((id) => raw.of(id).at(-1)?.type === 'complete')) ? true : undefined),
      30_000,
      20,
    );
    const expected = published.map((e) => ({ seq: e.seq, status: e.status, message: e.message }));
    for (const raw of sockets) {
      for (const id of ids) {
        const own = raw.of(id);
        expect(own[0].type).toBe('next');
        expect(own.slice(1, -1).map((m) => m.payload?.data?.trainingProgress)).toEqual(expected);
        expect(own.at(-1)).toEqual({ id, type: 'complete' });
        expect(own.slice(0, -1).every((m) => m.type === 'next')).toBe(true);
      }
      // graphql-ws's exact bytes: key order id, type, payload.
      for (const [index, text] of raw.texts.entries()) {
        const message = raw.messages[index];
        if (message.type === 'next')
          expect(text).toBe(JSON.stringify({ id: message.id, type: 'next', payload: message.payload }));
      }
      raw.socket.close();
    }
    await cancel();
    // The shared source and every subscriber's snapshot stream released their bus listeners.
    await waitFor(
      () => (server.app.services.progressBus.listenerCount() <= listenersBefore ? true : undefined),
      10_000,
      20,
    );
  });

  it('a socket that fell behind catches up in writes of consecutive graphql-ws messages (≤ 64 kB each), byte-exact and in order; complete follows the last', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const raw = await rawSocket(server);
    raw.subscribe('behind', PROGRESS, { r: runId });
    await waitFor(() => (raw.of('behind').length === 1 ? true : undefined), 30_000, 20);

    // The fan-out's trace (ws-fanout.ts): a message per result entering its log and per socket write (with the seqs
    // of its first and last frame).
    const writes: Extract<FanOutTraceMessage, { type: 'write' }>[] = [];
    const logged = new Set<number | undefined>();
    const onTrace = (message: unknown) => {
      const traced = message as FanOutTraceMessage;
      if (traced.type === 'write') writes.push(traced);
      else logged.add(traced.seq);
    };
    diagnostics_channel.subscribe(fanOutTrace.name, onTrace);
    // Big events until the kernel's buffers are full and the fan-out holds this socket's next ones in its log ...
    raw.socket.pause();
    const big = 'x'.repeat(64 * 1024);
    const published: TrainingProgressEvent[] = [];
    const lastWritten = () => writes.at(-1)?.last ?? 0;
    for (let chunk = 0; chunk < 30 && lastWritten() === (published.at(-1)?.seq ?? 0); chunk++) {
      for (let i = 0; i < 10; i++) published.push(publish({ message: `${published.length} ${big}` }));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(lastWritten()).toBeLessThan(published.at(-1)?.seq ?? 0);
    const bigs = published.length;
    // ... then small ones, all owed at once when it reads again.
    for (let i = 0; i < 50; i++) published.push(publish());
    published.push(publish({ status: 'CANCELLED', stage: 'DONE', message: 'Cancelled', queuePosition: null }));
    await waitFor(() => (logged.has(published.at(-1)?.seq) ? true : undefined), 30_000, 20);
    raw.socket.resume();
    await waitFor(() => (raw.of('behind').some((m) => m.type === 'complete') ? true : undefined), 60_000, 20);
    diagnostics_channel.unsubscribe(fanOutTrace.name, onTrace);

    // Each event its own WebSocket message, exactly the bytes graphql-ws sends, in order, then `complete`.
    const texts = raw.texts.filter((text) => (JSON.parse(text) as RawMessage).id === 'behind');
    expect(texts.slice(1)).toEqual([
      ...published.map((e) =>
        JSON.stringify({
          id: 'behind',
          type: 'next',
          payload: { data: { trainingProgress: { seq: e.seq, status: e.status, message: e.message } } },
        }),
      ),
      JSON.stringify({ id: 'behind', type: 'complete' }),
    ]);
    // The writes carried consecutive seqs, each once, in order (a big one alone: it fills a write's 64 kB); the 51
    // small ones owed at once went out together.
    const carried = writes.flatMap((w) =>
      w.first === undefined || w.last === undefined
        ? []
        : Array.from({ length: w.last - w.first + 1 }, (_, i) => (w.first ?? 0) + i),
    );
    expect(carried).toEqual(published.map((e) => e.seq));
    expect(writes.at(-1)).toEqual(expect.objectContaining({ first: published[bigs].seq, last: published.at(-1)?.seq }));
    raw.socket.close();
    await cancel();
  });

  it('a subscriber that completes mid-run gets nothing more; the others on its socket and elsewhere carry on', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const one = await rawSocket(server);
    const two = await rawSocket(server);
    one.subscribe('leaves', PROGRESS, { r: runId });
    one.subscribe('stays', PROGRESS, { r: runId });
    two.subscribe('other', PROGRESS, { r: runId });
    await waitFor(
      () => (one.of('leaves').length + one.of('stays').length + two.of('other').length === 3 ? true : undefined),
      30_000,
      20,
    );
    const before = [publish(), publish()];
    await waitFor(() => (one.of('leaves').length === 3 ? true : undefined), 30_000, 20);
    one.socket.send(JSON.stringify({ id: 'leaves', type: 'complete' }));
    // The server has read the client's complete once an operation sent after it is answered.
    one.subscribe('probe', 'query { health { status } }', {});
    await waitFor(() => (one.of('probe').some((m) => m.type === 'complete') ? true : undefined), 30_000, 20);
    const after = [publish(), publish(), publish({ status: 'CANCELLED', stage: 'DONE', queuePosition: null })];
    await waitFor(
      () =>
        one.of('stays').at(-1)?.type === 'complete' && two.of('other').at(-1)?.type === 'complete' ? true : undefined,
      30_000,
      20,
    );
    const seqs = (messages: RawMessage[]) =>
      messages.filter((m) => m.type === 'next').map((m) => m.payload?.data?.trainingProgress.seq);
    expect(seqs(one.of('leaves')).slice(1)).toEqual(before.map((e) => e.seq));
    // No complete echoed for an operation the client completed itself.
    expect(one.of('leaves').every((m) => m.type === 'next')).toBe(true);
    for (const messages of [one.of('stays'), two.of('other')])
      expect(seqs(messages).slice(1)).toEqual([...before, ...after].map((e) => e.seq));
    one.socket.close();
    two.socket.close();
    await cancel();
  });

  it("another owner's subscription to a run is refused while the run's shared stream serves its owner", async () => {
    const minted = (await server.gql('mutation { createSession { id } }')) as { extensions?: { ownerToken?: string } };
    const token = minted.extensions?.ownerToken ?? '';
    expect(token).not.toBe('');
    const headers = { token };
    // A session created with the token is the owner's alone (not shared by id).
    const { createSession } = await server.data<{ createSession: { id: string } }>(
      'mutation { createSession { id } }',
      {},
      headers,
    );
    await server.data(
      'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }',
      { input: { sessionId: createSession.id, datasetId: 'kepler', modelType: 'random_forest' } },
      headers,
    );
    const { startTraining } = await server.data<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: createSession.id },
      headers,
    );
    const runId = startTraining.id;
    const owner = await rawSocket(server, token);
    owner.subscribe('mine', PROGRESS, { r: runId });
    await waitFor(() => (owner.of('mine').length === 1 ? true : undefined), 30_000, 20);

    const other = (await server.gql('mutation { createSession { id } }')) as { extensions?: { ownerToken?: string } };
    for (const stranger of [await rawSocket(server), await rawSocket(server, other.extensions?.ownerToken)]) {
      stranger.subscribe('theirs', PROGRESS, { r: runId });
      await waitFor(() => (stranger.messages.some((m) => m.id === 'theirs') ? true : undefined), 30_000, 20);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const answer = stranger.of('theirs');
      expect(answer.some((m) => m.payload?.data?.trainingProgress)).toBe(false);
      expect(JSON.stringify(answer)).toContain('NOT_FOUND');
      stranger.socket.close();
    }
    expect(owner.of('mine').every((m) => m.type === 'next')).toBe(true);
    await server.data('mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: runId }, headers);
    await waitFor(() => (owner.of('mine').at(-1)?.type === 'complete' ? true : undefined), 30_000, 20);
    expect(owner.of('mine').at(-2)?.payload?.data?.trainingProgress.status).toBe('CANCELLED');
    owner.socket.close();
  });

  it('a socket that stops reading and falls more than WS_MAX_OWED_MB behind is ended with an error; the others get everything', async () => {
    const { runId, publish, cancel } = await queuedRun();
    const slow = await rawSocket(server);
    slow.subscribe('slow', PROGRESS, { r: runId });
    const fast = watch<{ trainingProgress: { seq: number } }>(server.wsClient(), PROGRESS, { r: runId });
    await waitFor(() => (slow.of('slow').length === 1 && fast.events.length === 1 ? true : undefined), 30_000, 20);
    slow.socket.pause();
    // 400 x 64 kB: far more than the 8 MB bound plus what the kernel buffers hold.
    const big = 'x'.repeat(64 * 1024);
    const published: TrainingProgressEvent[] = [];
    for (let i = 0; i < 400; i++) published.push(publish({ message: `${i} ${big}` }));
    published.push(publish({ status: 'CANCELLED', stage: 'DONE', message: 'Cancelled', queuePosition: null }));
    await fast.done;
    expect(fast.errors).toEqual([]);
    expect(fast.events.slice(1).map((e) => e.trainingProgress.seq)).toEqual(published.map((e) => e.seq));

    slow.socket.resume();
    await waitFor(() => (slow.of('slow').at(-1)?.type === 'error' ? true : undefined), 60_000, 20);
    const ended = slow.of('slow');
    const received = ended.filter((m) => m.type === 'next').slice(1);
    // What it got is a gap-free prefix of the events, then the error saying why.
    expect(received.length).toBeLessThan(published.length);
    expect(received.map((m) => m.payload?.data?.trainingProgress.seq)).toEqual(
      published.slice(0, received.length).map((e) => e.seq),
    );
    expect(JSON.stringify(ended.at(-1))).toContain('SERVICE_UNAVAILABLE');
    expect(JSON.stringify(ended.at(-1))).toContain('WS_MAX_OWED_MB');
    slow.socket.close();
    await cancel();
  });
});
