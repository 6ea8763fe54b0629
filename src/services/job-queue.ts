/**
 * The training queue: FIFO with bounded concurrency. Behind an interface so a Redis-backed queue can replace it.
 */
export type JobExecutor = (runId: string, signal: AbortSignal) => Promise<void>;

export interface JobQueue {
  enqueue(runId: string): Promise<void>;
  /** Removes a queued job; false when it is not queued (running or unknown). */
  remove(runId: string): Promise<boolean>;
  /** Aborts a running job; false when it is not running. */
  abort(runId: string): Promise<boolean>;
  /** 1-based position among queued jobs, or null. */
  position(runId: string): Promise<number | null>;
  isRunning(runId: string): Promise<boolean>;
  counts(): Promise<{ queued: number; running: number }>;
  /** Stops taking jobs, aborts running ones and waits for them to settle. */
  close(): Promise<void>;
  /**
   * A shared queue (BullMQ): why the job failed (its workers were lost more often than the attempts allow), or
   * null. Recovery fails a RUNNING run or search whose job is neither running nor queued with it; `job` names it.
   */
  failedReason?(id: string, job?: 'training' | 'search'): Promise<string | null>;
}

export class InMemoryJobQueue implements JobQueue {
  private readonly queued: string[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private closed = false;

  constructor(
    private readonly concurrency: number,
    private readonly execute: JobExecutor,
  ) {}

  enqueue(runId: string): Promise<void> {
    if (this.closed || this.queued.includes(runId) || this.running.has(runId)) return Promise.resolve();
    this.queued.push(runId);
    this.pump();
    return Promise.resolve();
  }

  remove(runId: string): Promise<boolean> {
    const index = this.queued.indexOf(runId);
    if (index === -1) return Promise.resolve(false);
    this.queued.splice(index, 1);
    return Promise.resolve(true);
  }

  abort(runId: string): Promise<boolean> {
    const job = this.running.get(runId);
    if (!job) return Promise.resolve(false);
    job.controller.abort();
    return Promise.resolve(true);
  }

  position(runId: string): Promise<number | null> {
    const index = this.queued.indexOf(runId);
    return Promise.resolve(index === -1 ? null : index + 1);
  }

  isRunning(runId: string): Promise<boolean> {
    return Promise.resolve(this.running.has(runId));
  }

  counts(): Promise<{ queued: number; running: number }> {
    return Promise.resolve({ queued: this.queued.length, running: this.running.size });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queued.length = 0;
    for (const job of this.running.values()) job.controller.abort();
    await Promise.allSettled([...this.running.values()].map((job) => job.done));
  }

  private pump(): void {
    for (;;) {
      if (this.closed || this.running.size >= this.concurrency) break;
      const runId = this.queued.shift();
      if (runId === undefined) break;
      const controller = new AbortController();
      const done = this.execute(runId, controller.signal)
        .catch(() => {
          // The executor records its own failures; the queue only keeps going.
        })
        .finally(() => {
          this.running.delete(runId);
          this.pump();
        });
      this.running.set(runId, { controller, done });
    }
  }
}
