/**
 * Client side of bench/live.ts, run in its own process (fork) so the server's event loop is measured alone.
 * Opens graphql-ws clients (official `graphql-ws` client over `ws`, one socket each), subscribes them to a run,
 * records when each event arrives, and times `health` queries. Talks to the parent over the IPC channel.
 */
import fs from 'node:fs';
import os from 'node:os';
import { gql } from './graphql-http.js';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const PROGRESS_SUBSCRIPTION = `subscription ($runId: ID!) {
  trainingProgress(runId: $runId) { runId seq status stage progress step totalSteps message etaSeconds at metrics { loss valLoss valAccuracy } }
}`;

interface ProgressEvent {
  seq: number;
  status: string;
  stage: string;
  step: number;
  at: string;
}

/** One received event: seq, status, stage, server `at` (ms) and local receive time (ms, same clock). */
export interface Received {
  seq: number;
  status: string;
  stage: string;
  at: number;
  receivedAt: number;
}

export type ParentMessage =
  | { type: 'first'; url: string; sessionId: string }
  | {
      type: 'subscribe';
      url: string;
      runId: string;
      subscribers: number;
      healthQueries: number;
      /** Handshakes in flight at once from this process (the processes together keep the server's backlog short). */
      connectBatch: number;
    };

export type ChildMessage =
  | {
      type: 'first';
      requestStart: number;
      responseAt: number;
      snapshot: Received;
      firstEvent: Received | null;
      events: number;
    }
  | { type: 'ready'; connectMs: number }
  | {
      type: 'done';
      /** Per subscriber, the events after the snapshot. */
      perSubscriber: Received[][];
      snapshots: Received[];
      errors: string[];
      healthMs: number[];
      /** Wall-clock end of each health query (ms). */
      healthEndAt: number[];
      healthErrors: string[];
      clientLoopDelayP99Ms: number;
      /** Sockets closed before their subscription completed (the server dropped them). */
      disconnects: number;
      /** Their close codes, with how many sockets closed with each (1006: no close frame, e.g. keep-alive terminate). */
      disconnectCodes: Partial<Record<string, number>>;
    }
  | { type: 'error'; message: string };

/**
 * BENCH_CLIENT_NICE (set by bench/live.ts for the subscriber processes only): every thread of this process at that
 * niceness (Linux: setpriority on a thread id renices that thread; threads started later inherit it), so the
 * subscribers, which in production run on other machines, do not take the server's CPU at its own priority.
 */
const clientNice = Number(process.env.BENCH_CLIENT_NICE ?? 0);
if (clientNice > 0 && process.platform === 'linux')
  for (const tid of fs.readdirSync('/proc/self/task')) os.setPriority(Number(tid), clientNice);

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** `onDisconnect`: the socket closed after connecting, before the caller disposed of the client. */
function connect(wsUrl: string, onDisconnect?: (code: number) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      // Closes are counted (onDisconnect), not printed: graphql-ws logs the whole CloseEvent by default.
      onNonLazyError: () => undefined,
      keepAlive: 0,
      on: {
        connected: () => {
          connected = true;
          resolve(client);
        },
        closed: (event) => {
          if (connected) onDisconnect?.(typeof event === 'object' && event && 'code' in event ? Number(event.code) : 0);
          const { code, reason } =
            typeof event === 'object' && event !== null && 'code' in event && 'reason' in event
              ? { code: String(event.code), reason: String(event.reason) }
              : { code: 'none', reason: '' };
          reject(new Error(`socket closed before connecting: code ${code} ${reason}`));
        },
      },
    });
  });
}

function toReceived(event: ProgressEvent, receivedAt: number): Received {
  return { seq: event.seq, status: event.status, stage: event.stage, at: Date.parse(event.at), receivedAt };
}

/** startTraining from an already-connected client, then subscribe with the new id at once. */
async function firstEvent(url: string, sessionId: string): Promise<void> {
  const client = await connect(url.replace('http', 'ws') + '/graphql');
  const requestStart = Date.now();
  const { startTraining } = await gql<{ startTraining: { id: string } }>(
    url,
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: sessionId },
  );
  const responseAt = Date.now();
  const received: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    client.subscribe<{ trainingProgress: ProgressEvent }>(
      { query: PROGRESS_SUBSCRIPTION, variables: { runId: startTraining.id } },
      {
        next: (value) => {
          if (value.data) received.push(toReceived(value.data.trainingProgress, Date.now()));
          else reject(new Error(JSON.stringify(value.errors)));
        },
        error: (error) => {
          reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => {
          resolve();
        },
      },
    );
  });
  await client.dispose();
  send({
    type: 'first',
    requestStart,
    responseAt,
    snapshot: received[0],
    firstEvent: received[1] ?? null,
    events: received.length,
  });
}

async function subscribeMany(
  url: string,
  runId: string,
  count: number,
  healthQueries: number,
  batch: number,
): Promise<void> {
  const wsUrl = url.replace('http', 'ws') + '/graphql';
  // Sockets the server closed while their subscriptions ran (until the clients are disposed of below).
  let disconnects = 0;
  const disconnectCodes: Partial<Record<string, number>> = {};
  let disposing = false;
  const countDisconnect = (code: number) => {
    if (disposing) return;
    disconnects++;
    disconnectCodes[code] = (disconnectCodes[code] ?? 0) + 1;
  };
  const connectStart = Date.now();
  const clients: Client[] = [];
  // Batches, so the server's accept backlog is never the bottleneck of the set-up.
  for (let i = 0; i < count; i += batch) {
    clients.push(
      ...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => connect(wsUrl, countDisconnect)))),
    );
  }
  const perSubscriber: Received[][] = clients.map(() => []);
  const snapshots: Received[] = [];
  const errors: string[] = [];
  let snapshotsLeft = count;
  let onAllSnapshots = (): void => undefined;
  const allSnapshots = new Promise<void>((resolve) => (onAllSnapshots = resolve));
  let onTraining = (): void => undefined;
  const trainingStarted = new Promise<void>((resolve) => (onTraining = resolve));
  const completions = clients.map(
    (client, index) =>
      new Promise<void>((resolve) => {
        let first = true;
        client.subscribe<{ trainingProgress: ProgressEvent }>(
          { query: PROGRESS_SUBSCRIPTION, variables: { runId } },
          {
            next: (value) => {
              const receivedAt = Date.now();
              if (!value.data) {
                errors.push(JSON.stringify(value.errors));
                return;
              }
              const event = toReceived(value.data.trainingProgress, receivedAt);
              if (first) {
                first = false;
                snapshots.push(event);
                if (--snapshotsLeft === 0) onAllSnapshots();
                return;
              }
              perSubscriber[index].push(event);
              if (index === 0 && event.stage === 'TRAINING') onTraining();
            },
            error: (error) => {
              errors.push(error instanceof Error ? error.message : JSON.stringify(error));
              resolve();
            },
            complete: () => {
              resolve();
            },
          },
        );
      }),
  );
  await allSnapshots;
  send({ type: 'ready', connectMs: Date.now() - connectStart });

  // Health queries from this (client) process while the model trains.
  const healthMs: number[] = [];
  const healthEndAt: number[] = [];
  const healthErrors: string[] = [];
  const health = (async () => {
    await trainingStarted;
    for (let i = 0; i < healthQueries; i++) {
      const start = performance.now();
      try {
        await gql(url, '{ health { status } }');
      } catch (error) {
        // A failed query counts as an error of the run (e.g. a keep-alive socket the server closed meanwhile).
        healthErrors.push(
          error instanceof Error
            ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`
            : String(error),
        );
        continue;
      }
      healthMs.push(performance.now() - start);
      healthEndAt.push(Date.now());
    }
  })();

  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  await Promise.all(completions);
  loop.disable();
  if (healthQueries > 0 && perSubscriber[0].some((e) => e.stage === 'TRAINING')) await health;
  disposing = true;
  await Promise.all(
    clients.map(async (client) => {
      await client.dispose();
    }),
  );
  send({
    type: 'done',
    perSubscriber,
    snapshots,
    errors,
    healthMs,
    healthEndAt,
    healthErrors,
    clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    disconnects,
    disconnectCodes,
  });
}

process.on('message', (message: ParentMessage) => {
  const task =
    message.type === 'first'
      ? firstEvent(message.url, message.sessionId)
      : subscribeMany(message.url, message.runId, message.subscribers, message.healthQueries, message.connectBatch);
  task.catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
