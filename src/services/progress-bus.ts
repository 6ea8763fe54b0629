/**
 * Training progress events and the pub/sub that carries them to subscribers. Behind a small interface so that
 * several server instances can later share one (yoga's Redis event target plugs into createPubSub).
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSubEventTarget } from 'graphql-yoga';
import type { Stage } from '../ml/pipeline.js';

export type RunStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export interface ProgressMetrics {
  loss?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface TrainingProgressEvent {
  runId: string;
  /** Per run, increasing: a client that reconnects skips what it has seen. */
  seq: number;
  status: RunStatus;
  stage: Stage;
  /** 0..1 over the whole run. */
  progress: number;
  step: number;
  totalSteps: number;
  metrics: ProgressMetrics | null;
  message: string | null;
  etaSeconds: number | null;
  at: Date;
  /** 1-based place in the queue while QUEUED. */
  queuePosition: number | null;
}

export interface ProgressBus {
  publish(event: TrainingProgressEvent): void;
  /** Events of one run from now on; `return()` on the iterator releases the listener. */
  subscribe(runId: string): AsyncIterable<TrainingProgressEvent>;
  /** Listeners currently attached (tests check that unsubscribing releases them). */
  listenerCount(): number;
  /**
   * Events of the run published but not yet handed to every local subscriber. The publisher holds back optional
   * (step) events while it is above zero, so a slow fan-out never builds a queue. A remote bus may return 0.
   */
  backlog(runId: string): number;
}

type Channels = { 'run:progress': [runId: string, payload: TrainingProgressEvent] };

/**
 * Subscribers served per event-loop turn. Each delivery runs the subscriber's GraphQL selection and writes its socket
 * (~0.1 ms); with 1,000 subscribers one event would hold the loop for 100 ms or more, so the rest wait for the next
 * turn and other requests are answered in between.
 */
const DELIVERIES_PER_TURN = 25;

function createTurnTaker(perTurn: number): () => Promise<void> {
  let used = 0;
  let resetScheduled = false;
  return async () => {
    while (used >= perTurn) await new Promise<void>((resolve) => setImmediate(resolve));
    used++;
    if (!resetScheduled) {
      resetScheduled = true;
      setImmediate(() => {
        used = 0;
        resetScheduled = false;
      });
    }
  };
}

export function createInMemoryProgressBus(eventTarget?: PubSubEventTarget<Channels>): ProgressBus {
  const target = eventTarget ?? new EventTarget();
  // One listener per subscriber on a run's topic: hundreds are expected, not a leak.
  if (target instanceof EventTarget) setMaxListeners(0, target);
  const pubsub = createPubSub<Channels>({ eventTarget: target as PubSubEventTarget<Channels> });
  const takeTurn = createTurnTaker(DELIVERIES_PER_TURN);
  /** Per run: events published, subscribers, and the sum over subscribers of (published when joined + delivered). */
  const runs = new Map<string, { published: number; subscribers: number; accounted: number }>();
  const runState = (runId: string) => {
    let state = runs.get(runId);
    if (!state) runs.set(runId, (state = { published: 0, subscribers: 0, accounted: 0 }));
    return state;
  };
  let listeners = 0;
  return {
    publish: (event) => {
      const state = runs.get(event.runId);
      if (state) state.published++;
      pubsub.publish('run:progress', event.runId, event);
    },
    subscribe: (runId) => {
      const source = pubsub.subscribe('run:progress', runId);
      listeners++;
      const state = runState(runId);
      state.subscribers++;
      const joinedAt = state.published;
      state.accounted += joinedAt;
      let delivered = 0;
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          listeners--;
          state.subscribers--;
          state.accounted -= joinedAt + delivered;
          if (state.subscribers === 0) runs.delete(runId);
        }
      };
      const iterator = source[Symbol.asyncIterator]();
      // The pubsub's Repeater attaches its listener on the first next(): ask now, so "from now on" holds even for a
      // caller that reads a snapshot first.
      let primed: Promise<IteratorResult<TrainingProgressEvent>> | null = iterator.next();
      primed.catch(() => undefined);
      return {
        [Symbol.asyncIterator]: () => {
          return {
            next: async () => {
              const pending = primed ?? iterator.next();
              primed = null;
              const result = await pending;
              if (!result.done && !released) {
                await takeTurn();
                if (!released) {
                  delivered++;
                  state.accounted++;
                }
              }
              return result;
            },
            return: async (value?: unknown) => {
              release();
              return (await iterator.return?.(value)) ?? { done: true as const, value: undefined };
            },
          };
        },
      };
    },
    listenerCount: () => listeners,
    backlog: (runId) => {
      const state = runs.get(runId);
      return state ? state.subscribers * state.published - state.accounted : 0;
    },
  };
}
