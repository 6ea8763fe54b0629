/**
 * A run's progress, read live: the current state as the first event, then every event the bus carries, completing
 * after the terminal one.
 */
import { notFound } from '../../domain/errors.js';
import { TERMINAL_STATUSES, type TrainingProgressEvent } from '../../domain/run.js';
import type { JobQueue } from '../job-queue.js';
import type { ProgressBus } from '../progress-bus.js';
import type { RunQueries } from './queries.js';

export class ProgressStream {
  constructor(
    private readonly runs: RunQueries,
    private readonly bus: ProgressBus,
    private readonly queue: Pick<JobQueue, 'position'>,
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
   */
  async subscribe(runId: string): Promise<AsyncIterable<TrainingProgressEvent>> {
    if (!(await this.runs.state(runId))) throw notFound('Training run', runId);
    const done: IteratorResult<TrainingProgressEvent> = { done: true, value: undefined };
    let source: AsyncIterator<TrainingProgressEvent> | null = null;
    let lastSeq = -1;
    let finished = false;
    const finish = () => {
      finished = true;
      void source?.return?.();
    };
    const iterator: AsyncIterator<TrainingProgressEvent> = {
      next: async () => {
        if (finished) return done;
        if (!source) {
          // Subscribe before reading the snapshot, so no event falls between the two; duplicates are skipped by seq.
          source = this.bus.subscribe(runId)[Symbol.asyncIterator]();
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
          const next = await source.next();
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- return() may set it while next() waits
          if (finished || next.done) {
            finish();
            return done;
          }
          const event = next.value;
          if (event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          // The terminal event is the last: release the listener now, the following next() completes.
          if (TERMINAL_STATUSES.has(event.status)) finish();
          return { done: false, value: event };
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
