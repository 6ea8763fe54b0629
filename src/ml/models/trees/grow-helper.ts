/**
 * The protocol by which XGBoost's growing thread and its helper thread (histogram-worker.ts) take the jobs of a batch
 * (grow-jobs.ts) from one shared queue. Synchronised on shared control words (Atomics), not messages: a job takes
 * a millisecond or less, a message round trip about as long.
 */
import { once } from 'node:events';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { spawnTreeWorker } from './common.js';
import { runJob, type JobArrays } from './grow-jobs.js';

/** Control words (Int32Array on a SharedArrayBuffer). */
export const CONTROL = {
  /** Bumped for every batch (and to stop): the helper waits on it. */
  generation: 0,
  /** Batch queue: job count << 16 | next job to take, changed only by compare-and-swap. */
  queue: 1,
  /** Jobs of the batch finished. */
  done: 2,
  /** Features of the tree (a prefix of JobArrays.features). */
  features: 3,
  /** 1 while the helper serves this fit. */
  ready: 4,
  stop: 5,
  length: 6,
} as const;

/** main → helper: the fit's shared arrays; the helper then serves batches until CONTROL.stop is set. */
export interface HistogramJob {
  control: Int32Array;
  arrays: JobArrays;
  /** Histograms (id, SharedArrayBuffer) as the growing thread creates them; read with receiveMessageOnPort. */
  histograms: MessagePort;
}

export interface HistogramMessage {
  id: number;
  buffer: SharedArrayBuffer;
}

/** Takes the next job of the batch in `control`, or −1 when none is left (safe against a batch changing under it). */
export function takeJob(control: Int32Array): number {
  for (;;) {
    const word = Atomics.load(control, CONTROL.queue);
    const next = word & 0xffff;
    if (next >= word >>> 16) return -1;
    if (Atomics.compareExchange(control, CONTROL.queue, word, word + 1) === word) return next;
  }
}

/** Runs jobs of the current batch until none is left. */
export function serveJobs(control: Int32Array, arrays: JobArrays, hist: (id: number) => Float64Array): void {
  for (let j = takeJob(control); j >= 0; j = takeJob(control)) {
    // Read per job: a helper may go on from one tree's batches into the next tree's (another feature count).
    runJob(arrays, j, Atomics.load(control, CONTROL.features), hist);
    const count = Atomics.load(control, CONTROL.queue) >>> 16;
    if (Atomics.add(control, CONTROL.done, 1) + 1 === count) Atomics.notify(control, CONTROL.done);
  }
}

/** Idle helpers kept between fits (unref'd: they never keep the process alive). */
const idleHelpers: Worker[] = [];

/**
 * The growing thread's side of a helper thread: `run` publishes a batch of jobs (already written to the shared job
 * arrays), takes jobs from it too, and returns when all are done. A helper that is slow to wake (or has not started)
 * simply takes fewer jobs: the growing thread runs what is left, with the same results.
 */
export class HistogramHelper {
  private readonly port: MessagePort;

  private constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    port: MessagePort,
  ) {
    this.port = port;
  }

  /** A helper serving batches on these shared arrays (each on a SharedArrayBuffer). */
  static start(arrays: JobArrays, control: Int32Array): HistogramHelper {
    const { port1, port2 } = new MessageChannel();
    const worker = idleHelpers.pop() ?? spawnTreeWorker('histogram-worker');
    worker.removeAllListeners();
    worker.unref();
    port1.unref();
    const job: HistogramJob = { control, arrays, histograms: port2 };
    worker.postMessage(job, [port2]);
    return new HistogramHelper(worker, control, port1);
  }

  /** Hands a new shared histogram to the helper (it reads the message when a job first names the id). */
  share(message: HistogramMessage): void {
    this.port.postMessage(message);
  }

  /** Runs jobs 0 … count − 1 on both threads; `hist` resolves histogram ids on this thread. */
  run(count: number, arrays: JobArrays, hist: (id: number) => Float64Array): void {
    const c = this.control;
    Atomics.store(c, CONTROL.done, 0);
    Atomics.store(c, CONTROL.queue, count << 16);
    Atomics.add(c, CONTROL.generation, 1);
    Atomics.notify(c, CONTROL.generation);
    serveJobs(c, arrays, hist);
    for (let done = Atomics.load(c, CONTROL.done); done < count; done = Atomics.load(c, CONTROL.done)) {
      if (Atomics.wait(c, CONTROL.done, done, HELPER_TIMEOUT_MS) === 'timed-out')
        throw new Error(`histogram helper thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
    }
  }

  /** Stops serving this fit; the thread waits, idle, for the next one. */
  release(): void {
    Atomics.store(this.control, CONTROL.stop, 1);
    Atomics.add(this.control, CONTROL.generation, 1);
    Atomics.notify(this.control, CONTROL.generation);
    this.port.close();
    const worker = this.worker;
    if (idleHelpers.length >= 2) {
      void worker.terminate();
      return;
    }
    keepIdle(worker);
  }
}

/** Keeps `worker` for the next fit (until it fails or exits). */
function keepIdle(worker: Worker): void {
  const drop = (): void => {
    const i = idleHelpers.indexOf(worker);
    if (i >= 0) idleHelpers.splice(i, 1);
  };
  worker.on('error', drop);
  worker.on('exit', drop);
  idleHelpers.push(worker);
}

/**
 * Starts a helper thread ahead of a boosting fit, idle until the fit takes it. A thread starts in ~0.1–0.3 s
 * (more through tsx), during which the fit's first jobs (binning) ran on one thread only: started when a training
 * task begins, it starts while the data is loaded and split instead.
 */
export function prestartHistogramHelper(): void {
  if (idleHelpers.length > 0) return;
  const worker = spawnTreeWorker('histogram-worker');
  worker.unref();
  // The thread says 'loaded' once its modules have (histogram-worker.ts); a fit that takes it first drops this
  // listener. A thread that fails settles it too (never an unhandled rejection): keepIdle drops it.
  loaded.set(
    worker,
    once(worker, 'message').then(
      () => undefined,
      () => undefined,
    ),
  );
  keepIdle(worker);
}

const loaded = new WeakMap<Worker, Promise<void>>();

/**
 * For benchmarks that time a fit as the service runs it: an idle helper prestarted and loaded, as the service's data
 * load lets it be before the fit (a fit otherwise also pays the thread's start, ~0.1–0.3 s of CPU through tsx).
 */
export async function prestartedHistogramHelper(): Promise<void> {
  prestartHistogramHelper();
  await Promise.all(idleHelpers.map((worker) => loaded.get(worker) ?? Promise.resolve()));
}

const HELPER_TIMEOUT_MS = 60_000;
