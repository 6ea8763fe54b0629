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

/** The next event's seq, or undefined once the subscription ended. */
async function nextSeq(iterator: AsyncIterator<TrainingProgressEvent>): Promise<number | undefined> {
  const result = await iterator.next();
  return result.done ? undefined : result.value.seq;
}

describe('in-memory progress bus fan-out', () => {
  it('hands every subscriber the same event objects in publish order, also when several are queued', async () => {
    const bus = createInMemoryProgressBus();
    const iterators = Array.from({ length: 40 }, () => bus.subscribe('run_a')[Symbol.asyncIterator]());
    const published = [1, 2, 3, 4, 5].map((seq) => event('run_a', seq));
    for (const e of published) bus.publish(e);
    expect(bus.backlog('run_a')).toBe(200);
    for (const iterator of iterators) {
      const received: TrainingProgressEvent[] = [];
      for (const _ of published) {
        const result = await iterator.next();
        if (!result.done) received.push(result.value);
      }
      // The very objects published: downstream can key shared work on them.
      expect(received).toEqual(published);
      received.forEach((e, i) => {
        expect(e).toBe(published[i]);
      });
    }
    expect(bus.backlog('run_a')).toBe(0);
    await Promise.all(
      iterators.map(async (iterator) => {
        await iterator.return?.();
      }),
    );
    expect(bus.listenerCount()).toBe(0);
  });

  it('ends a waiting next() when the subscriber leaves, and later events reach only those still there', async () => {
    const bus = createInMemoryProgressBus();
    const leaving = bus.subscribe('run_a')[Symbol.asyncIterator]();
    const staying = bus.subscribe('run_a')[Symbol.asyncIterator]();
    const waiting = leaving.next();
    await leaving.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(await leaving.next()).toEqual({ done: true, value: undefined });
    expect(bus.listenerCount()).toBe(1);
    bus.publish(event('run_a', 1));
    expect(bus.backlog('run_a')).toBe(1);
    expect(await nextSeq(staying)).toBe(1);
    await staying.return?.();
    expect(bus.listenerCount()).toBe(0);
    // With nobody left the run's channel is gone: publishing is a no-op and a new subscriber starts from now.
    bus.publish(event('run_a', 2));
    const late = bus.subscribe('run_a')[Symbol.asyncIterator]();
    expect(bus.backlog('run_a')).toBe(0);
    bus.publish(event('run_a', 3));
    expect(await nextSeq(late)).toBe(3);
    await late.return?.();
  });
});
