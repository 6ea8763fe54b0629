import { describe, it, expect } from 'vitest';
import { createInMemoryProgressBus, type TrainingProgressEvent } from '../../src/services/progress-bus.js';

function event(runId: string, seq: number): TrainingProgressEvent {
  return {
    runId,
    seq,
    status: 'RUNNING',
    stage: 'TRAINING',
    progress: 0.5,
    step: seq,
    totalSteps: 100,
    metrics: null,
    message: null,
    etaSeconds: null,
    at: new Date(0),
    queuePosition: null,
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The next event's seq, or undefined once the subscription ended. */
async function nextSeq(iterator: AsyncIterator<TrainingProgressEvent>): Promise<number | undefined> {
  const result = await iterator.next();
  return result.done ? undefined : result.value.seq;
}

describe('in-memory progress bus', () => {
  it('delivers events published after subscribe() even before the first next() (a snapshot is read in between)', async () => {
    const bus = createInMemoryProgressBus();
    const iterator = bus.subscribe('run_a')[Symbol.asyncIterator]();
    bus.publish(event('run_a', 1));
    bus.publish(event('run_b', 1));
    bus.publish(event('run_a', 2));
    expect(await nextSeq(iterator)).toBe(1);
    expect(await nextSeq(iterator)).toBe(2);
    await iterator.return?.();
    expect(bus.listenerCount()).toBe(0);
  });

  it('counts the backlog per run: published minus handed out, per subscriber, and forgets subscribers that leave', async () => {
    const bus = createInMemoryProgressBus();
    const first = bus.subscribe('run_a')[Symbol.asyncIterator]();
    const second = bus.subscribe('run_a')[Symbol.asyncIterator]();
    expect(bus.backlog('run_a')).toBe(0);
    bus.publish(event('run_a', 1));
    bus.publish(event('run_a', 2));
    bus.publish(event('run_b', 1));
    expect(bus.backlog('run_a')).toBe(4);
    expect(bus.backlog('run_b')).toBe(0);
    await first.next();
    await first.next();
    await second.next();
    expect(bus.backlog('run_a')).toBe(1);
    // A late subscriber owes nothing for what was published before it joined.
    const late = bus.subscribe('run_a')[Symbol.asyncIterator]();
    expect(bus.backlog('run_a')).toBe(1);
    // Leaving with an undelivered event removes it from the backlog.
    await second.return?.();
    expect(bus.backlog('run_a')).toBe(0);
    bus.publish(event('run_a', 3));
    expect(bus.backlog('run_a')).toBe(2);
    await first.return?.();
    await late.return?.();
    expect(bus.backlog('run_a')).toBe(0);
    expect(bus.listenerCount()).toBe(0);
  });

  it('hands one event to at most 25 subscribers per event-loop turn, the rest in later turns, all in order', async () => {
    const bus = createInMemoryProgressBus();
    const subscribers = 60;
    const iterators = Array.from({ length: subscribers }, () => bus.subscribe('run_a')[Symbol.asyncIterator]());
    const received: number[] = [];
    const reads = iterators.map((iterator) => iterator.next().then(() => received.push(1)));
    bus.publish(event('run_a', 1));
    const perTurn: number[] = [];
    let seen = 0;
    while (seen < subscribers) {
      await nextTurn();
      perTurn.push(received.length - seen);
      seen = received.length;
    }
    await Promise.all(reads);
    expect(perTurn.every((count) => count <= 25)).toBe(true);
    expect(perTurn.filter((count) => count > 0).length).toBeGreaterThanOrEqual(3);
    expect(bus.backlog('run_a')).toBe(0);
    await Promise.all(
      iterators.map(async (iterator) => {
        await iterator.return?.();
      }),
    );
  });
});
