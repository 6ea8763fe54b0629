/**
 * Training progress events and the pub/sub that carries them to subscribers. Behind a small interface so that
 * several server instances can later share one (yoga's Redis event target plugs into createPubSub).
 */
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
}

type Channels = { 'run:progress': [runId: string, payload: TrainingProgressEvent] };

export function createInMemoryProgressBus(eventTarget?: PubSubEventTarget<Channels>): ProgressBus {
  const pubsub = createPubSub<Channels>(eventTarget ? { eventTarget } : undefined);
  let listeners = 0;
  return {
    publish: (event) => pubsub.publish('run:progress', event.runId, event),
    subscribe: (runId) => {
      const source = pubsub.subscribe('run:progress', runId);
      listeners++;
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          listeners--;
        }
      };
      return {
        [Symbol.asyncIterator]: () => {
          const iterator = source[Symbol.asyncIterator]();
          return {
            next: () => iterator.next(),
            return: async (value?: unknown) => {
              release();
              return (await iterator.return?.(value)) ?? { done: true as const, value: undefined };
            },
          };
        },
      };
    },
    listenerCount: () => listeners,
  };
}
