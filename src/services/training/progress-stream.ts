/**
 * A run's progress, read live: the current state as the first event, then every event the bus carries, completing
 * after the terminal one.
 */
import { notFound } from '../../domain/errors.js';
import { TERMINAL_STATUSES, type TrainingProgressEvent } from '../../domain/run.js';
import type { JobQueue } from '../job-queue.js';
import type { Caller } from '../owners.js';
import type { ProgressBus } from '../progress-bus.js';
import type { RunQueries } from './queries.js';

export interface ProgressStreamOptions {
  /** A subscriber that heard nothing for this long reads the stored events after its last one (a remote bus). */
  quietPollMs?: number;
}

export class ProgressStream {
  constructor(
    private readonly runs: RunQueries,
    private readonly bus: ProgressBus,
    private readonly queue: Pick<JobQueue, 'position'>,
    private readonly options: ProgressStreamOptions = {},
  ) {}

  /** The run's current state as a progress event (the first event every subscriber gets). */
  async snapshot(runId: string): Promise<TrainingProgressEvent | null> {
    const run = await this.runs.get(runId);
    if (!run) return null;
    const last = await this.runs.lastEvent(runId);
    return {
      runId,
      seq: last?.seq ?? 0,
      status: run.status,
      stage: run.stage,
      progress: run.progress,
      step: run.step,
      totalSteps: run.totalSteps,
      metrics: last?.metrics ?? null,
      message: run.message,
      etaSeconds: null,
      at: last?.at ?? run.createdAt,
      queuePosition: run.status === 'QUEUED' ? await this.queue.position(runId) : null,
    };
  }

  /**
   * Live progress of a run: its snapshot first, then every later event, completing after the terminal one.
   * A plain iterator over the bus (no Repeater or generator per subscriber: this runs once per subscriber × event):
   * `return()` releases the bus listener at once, even while a next() waits.
   *
   * Gap-free across processes: the bus is attached before the snapshot is read (a remote bus confirms it), events
   * at or below the last one handed out are skipped, and when an event's seq jumps the events in between are read
   * from the database first (a remote bus delivers at most once: a reconnect loses messages). With `quietPollMs`
   * (a remote bus) a subscriber that hears nothing that long reads the stored events after its last one, so an
   * outage of the bus, or a lost terminal event, never leaves it waiting.
   */
  async subscribe(caller: Caller, runId: string): Promise<AsyncIterable<TrainingProgressEvent>> {
    await this.runs.requireVisible(caller, runId);
    if (!(await this.runs.state(runId))) throw notFound('Training run', runId);
    const done: IteratorResult<TrainingProgressEvent> = { done: true, value: undefined };
    const quietPollMs = this.options.quietPollMs ?? 0;
    let source: AsyncIterator<TrainingProgressEvent> | null = null;
    let inflight: Promise<IteratorResult<TrainingProgressEvent>> | null = null;
    const pending: TrainingProgressEvent[] = [];
    let lastSeq = -1;
    let finished = false;
    const finish = () => {
      finished = true;
      void source?.return?.();
    };
    const handOut = (event: TrainingProgressEvent): IteratorResult<TrainingProgressEvent> => {
      lastSeq = event.seq;
      // The terminal event is the last: release the listener now, the following next() completes.
      if (TERMINAL_STATUSES.has(event.status)) finish();
      return { done: false, value: event };
    };
    /** The bus's next event, or 'quiet' when none came within quietPollMs (the same next() is awaited later). */
    const pull = async (from: AsyncIterator<TrainingProgressEvent>) => {
      inflight ??= from.next();
      if (quietPollMs <= 0) {
        const result = await inflight;
        inflight = null;
        return result;
      }
      let timer: NodeJS.Timeout | undefined;
      const quiet = new Promise<'quiet'>((resolve) => {
        timer = setTimeout(() => {
          resolve('quiet');
        }, quietPollMs);
      });
      const result = await Promise.race([inflight, quiet]);
      clearTimeout(timer);
      if (result !== 'quiet') inflight = null;
      return result;
    };
    const iterator: AsyncIterator<TrainingProgressEvent> = {
      next: async () => {
        if (finished) return done;
        const queued = pending.shift();
        if (queued) return handOut(queued);
        if (!source) {
          // Subscribe before reading the snapshot, so no event falls between the two; duplicates are skipped by seq.
          source = this.bus.subscribe(runId)[Symbol.asyncIterator]();
          await this.bus.attached?.();
          const snapshot = await this.snapshot(runId);
          if (!snapshot) {
            finish();
            return done;
          }
          lastSeq = snapshot.seq;
          if (TERMINAL_STATUSES.has(snapshot.status)) finish();
          return { done: false, value: snapshot };
        }
        for (;;) {
          const next = await pull(source);
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- return() may set it while next() waits
          if (finished) return done;
          if (next === 'quiet') {
            pending.push(...(await this.runs.eventsAfter(runId, lastSeq)));
            const stored = pending.shift();
            if (stored) return handOut(stored);
            continue;
          }
          if (next.done) {
            finish();
            return done;
          }
          const event = next.value;
          if (event.seq <= lastSeq) continue;
          if (event.seq > lastSeq + 1) {
            // A gap: what the bus lost is in the database (events are stored before they are published).
            const missing = await this.runs.eventsAfter(runId, lastSeq, event.seq);
            pending.push(...missing, event);
            return handOut(pending.shift() ?? event);
          }
          return handOut(event);
        }
      },
      return: () => {
        finish();
        return Promise.resolve(done);
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }
}
