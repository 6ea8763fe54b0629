/**
 * Training progress events and the pub/sub that carries them to subscribers. Behind a small interface so that
 * several server instances can later share one (yoga's Redis event target plugs into createPubSub).
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSubEventTarget } from 'graphql-yoga';
import type { TrainingProgressEvent } from '../domain/run.js';

export type { TrainingProgressEvent };

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
  /**
   * A remote bus: resolves once the subscriptions made so far receive what is published from now on (the subscriber
   * reads its snapshot after it). The in-process bus has none: subscribe() attaches at once.
   */
  attached?(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- createPubSub needs an index-signature-compatible type
type Channels = { 'run:progress': [runId: string, payload: TrainingProgressEvent] };

/**
 * Subscribers served per event-loop turn. Each delivery runs the subscriber's envelop hooks, serialises its message and
 * writes its socket (~35 µs); with 1,000 subscribers one event would hold the loop for tens of ms, so the rest wait for
 * the next turn and other requests are answered in between.
 */
const DELIVERIES_PER_TURN = 25;

type Waiter = (result: IteratorResult<TrainingProgressEvent>) => void;

interface Subscriber {
  /** Published, not yet handed out (FIFO: order per subscriber is the publish order). */
  readonly queue: TrainingProgressEvent[];
  /** Pending next() calls. */
  readonly waiters: Waiter[];
  /** In the ready list (waits for a delivery slot). */
  ready: boolean;
  released: boolean;
}

interface RunChannel {
  readonly subscribers: Set<Subscriber>;
  /** Events published while at least one subscriber listened. */
  published: number;
  /** Sum over subscribers of (published when joined + delivered): the backlog is subscribers × published − this. */
  accounted: number;
  readonly detach: () => void;
}

/**
 * One event-target listener per run (not per subscriber), fanned out here to plain per-subscriber queues: no Repeater,
 * Event object or listener dispatch per (subscriber × event). Hand-outs go through one budget of DELIVERIES_PER_TURN
 * per event-loop turn; the rest wait in a FIFO ready list drained on later turns (setImmediate).
 */
export function createInMemoryProgressBus(eventTarget?: PubSubEventTarget<Channels>): ProgressBus {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it (typescript-eslint resolves these types differently)
  const target = eventTarget ?? (new EventTarget() as PubSubEventTarget<Channels>);
  if (target instanceof EventTarget) setMaxListeners(0, target);
  // Publishing still goes through yoga's pubsub, so a shared (e.g. Redis) event target sees the same topics.
  const pubsub = createPubSub<Channels>({ eventTarget: target });
  const runs = new Map<string, RunChannel>();
  let listeners = 0;

  const readyList: { subscriber: Subscriber; run: RunChannel }[] = [];
  let drainScheduled = false;

  const handOut = (subscriber: Subscriber, run: RunChannel) => {
    const event = subscriber.queue.shift();
    const waiter = subscriber.waiters.shift();
    // Only called with an event queued and a next() waiting (see drain).
    if (event === undefined || waiter === undefined) return;
    run.accounted++;
    waiter({ done: false, value: event });
  };

  /** One turn's share: at most DELIVERIES_PER_TURN hand-outs, in FIFO order; the rest on the next turn. */
  const drain = () => {
    drainScheduled = false;
    let slots = DELIVERIES_PER_TURN;
    while (readyList.length > 0 && slots > 0) {
      const { subscriber, run } = readyList.shift() as { subscriber: Subscriber; run: RunChannel };
      if (subscriber.released || subscriber.queue.length === 0 || subscriber.waiters.length === 0) {
        subscriber.ready = false;
        continue;
      }
      handOut(subscriber, run);
      slots--;
      // Several next() calls pending and more queued: back in line, behind the others.
      if (subscriber.queue.length > 0 && subscriber.waiters.length > 0) readyList.push({ subscriber, run });
      else subscriber.ready = false;
    }
    if (readyList.length > 0) scheduleDrain();
  };
  const scheduleDrain = () => {
    if (drainScheduled) return;
    drainScheduled = true;
    setImmediate(drain);
  };

  /**
   * Puts a subscriber with an event and a pending next() in line. Hand-outs always happen in `drain` (check phase,
   * right after the I/O that published), never inside publish() or next(): the per-turn budget then holds whatever
   * the callers do, and a publisher's own code never runs subscribers' GraphQL work synchronously.
   */
  const offer = (subscriber: Subscriber, run: RunChannel) => {
    if (subscriber.ready || subscriber.queue.length === 0 || subscriber.waiters.length === 0) return;
    subscriber.ready = true;
    readyList.push({ subscriber, run });
    scheduleDrain();
  };

  const channel = (runId: string): RunChannel => {
    const existing = runs.get(runId);
    if (existing) return existing;
    // The topic yoga's createPubSub dispatches for publish('run:progress', runId, …).
    const topic = `run:progress:${runId}`;
    // A remote target hands over null for a message that did not decode (progress-bus-redis.ts): dropped.
    const listener = (event: CustomEvent<TrainingProgressEvent | null>) => {
      if (event.detail === null) return;
      run.published++;
      for (const subscriber of run.subscribers) {
        subscriber.queue.push(event.detail);
        offer(subscriber, run);
      }
    };
    const run: RunChannel = {
      subscribers: new Set(),
      published: 0,
      accounted: 0,
      detach: () => {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it (typescript-eslint resolves these types differently)
        target.removeEventListener(topic, listener as EventListener);
      },
    };
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it (typescript-eslint resolves these types differently)
    target.addEventListener(topic, listener as EventListener);
    runs.set(runId, run);
    return run;
  };

  return {
    publish: (event) => {
      pubsub.publish('run:progress', event.runId, event);
    },
    subscribe: (runId) => {
      // Attached now, not at the first next(): "from now on" holds even for a caller that reads a snapshot first.
      const run = channel(runId);
      const subscriber: Subscriber = { queue: [], waiters: [], ready: false, released: false };
      run.subscribers.add(subscriber);
      run.accounted += run.published;
      listeners++;
      const release = () => {
        if (subscriber.released) return;
        subscriber.released = true;
        listeners--;
        run.subscribers.delete(subscriber);
        // What it was still owed leaves the backlog with it.
        run.accounted -= run.published - subscriber.queue.length;
        subscriber.queue.length = 0;
        if (run.subscribers.size === 0) {
          run.detach();
          if (runs.get(runId) === run) runs.delete(runId);
        }
        for (const waiter of subscriber.waiters.splice(0)) waiter({ done: true, value: undefined });
      };
      const iterator: AsyncIterator<TrainingProgressEvent> = {
        next: () => {
          if (subscriber.released) return Promise.resolve({ done: true, value: undefined });
          return new Promise<IteratorResult<TrainingProgressEvent>>((resolve) => {
            subscriber.waiters.push(resolve);
            offer(subscriber, run);
          });
        },
        return: () => {
          release();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
      return { [Symbol.asyncIterator]: () => iterator };
    },
    listenerCount: () => listeners,
    backlog: (runId) => {
      const run = runs.get(runId);
      return run ? run.subscribers.size * run.published - run.accounted : 0;
    },
  };
}
