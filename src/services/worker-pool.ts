/**
 * Piscina pools running src/ml/worker.ts. Workers load TypeScript through tsx, also when the app itself runs
 * under another loader (vitest).
 *
 * Memory: a thread keeps what its tasks left behind (the tables it parsed, cached predictors, TensorFlow.js and its
 * WASM heap, which never shrinks, a V8 heap grown by training) until it exits. So a thread that has run a task is
 * ended once the pool has been idle for `recycleAfterIdleMs`; a warm pool starts a fresh, lean thread in its place.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { fromWorkerError } from '../domain/errors.js';
import type { ArrivedUpload, UploadWorkerTask } from '../ml/upload-worker.js';
import { lowerThreadsPriority, threadsStartedSinceLastCall } from '../ml/thread-priority.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const compiled = path.extname(fileURLToPath(import.meta.url)) === '.js';
export const WORKER_FILE = path.resolve(here, '..', 'ml', compiled ? 'worker.js' : 'worker.ts');
/** The entry of search jobs' tasks (given per task to the training pool). */
export const SEARCH_WORKER_FILE = path.resolve(here, '..', 'ml', compiled ? 'search-worker.js' : 'search-worker.ts');
/** The lean entry of the upload thread (CSV code only). */
export const UPLOAD_WORKER_FILE = path.resolve(here, '..', 'ml', compiled ? 'upload-worker.js' : 'upload-worker.ts');

/** Default idle time after which threads that ran a task are ended (WORKER_IDLE_SECONDS overrides it). */
const DEFAULT_RECYCLE_AFTER_IDLE_MS = 10_000;

/** V8 flags are process-wide (workers have them already) and Worker refuses them in execArgv (ERR_WORKER_INVALID_EXEC_ARGV). */
const V8_ONLY_FLAG =
  /^--(expose[-_]gc|max[-_]semi[-_]space[-_]size|max[-_]old[-_]space[-_]size|optimize[-_]for[-_]size|stack[-_]size)\b/;

function workerExecArgv(): string[] {
  const argv = process.execArgv.filter(
    (arg) => !arg.startsWith('--input-type') && !arg.startsWith('--eval') && !V8_ONLY_FLAG.test(arg),
  );
  const hasTsx = argv.some(
    (arg, i) => (arg === '--import' && argv[i + 1]?.startsWith('tsx')) || arg.startsWith('--import=tsx'),
  );
  return compiled || hasTsx ? argv : [...argv, '--import', 'tsx'];
}

export interface WorkerPoolOptions {
  /** Keep one thread alive, so a run's first progress event does not wait for a thread to start (~0.5–1 s). */
  warm?: boolean;
  /**
   * The kept thread (warm) runs its entry's JIT warm-up (a `warmUp` task: training's is src/ml/warm-up.ts, uploads'
   * src/ml/upload-worker.ts) as it starts, at boot and after each recycle, so the first task runs optimised code. A
   * task that arrives meanwhile stops it.
   */
  warmUp?: boolean;
  /** End threads that ran a task after this long with no task in the pool (default 10 s; Infinity: never). */
  recycleAfterIdleMs?: number;
  /** The worker's entry file (default src/ml/worker.ts). */
  filename?: string;
  /** Tasks one thread runs at once (default 1: a training task is long and busy). */
  concurrentTasksPerWorker?: number;
}

/**
 * Piscina with idle recycling. Every task goes through `run`, so the pool knows when it is idle; threads are ended
 * only then, and tasks that arrive while they are exiting wait for the exit (piscina would otherwise hand a task to a
 * thread that is about to go, and fail it).
 */
export class RecyclingPool extends Piscina {
  /** Pools not destroyed yet (liveWorkerThreadIds). */
  private static readonly open = new Set<RecyclingPool>();
  private active = 0;
  /** A task ran since the threads were last recycled. */
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private exiting: Promise<void> | null = null;
  private closed = false;
  /** The warm-up running on the kept thread: its stop flag (shared with the thread) and its end. */
  private warming: { stop: Int32Array; done: Promise<void> } | null = null;
  /** Warm-ups run, and what stopping them cost the tasks that arrived meanwhile (bench:scale, tests). */
  readonly warmUps = { started: 0, stopped: 0, waitedMs: 0 };

  constructor(
    options: ConstructorParameters<typeof Piscina>[0],
    private readonly recycleAfterIdleMs: number,
    /** Its threads run below the event loop's priority from their start (the training entry lowers it anyway). */
    readonly background = false,
    /** Run the training warm-up on the kept thread at start and after each recycle (WorkerPoolOptions.warmUp). */
    private readonly warmsUp = false,
  ) {
    super(options);
    RecyclingPool.open.add(this);
    this.startWarmUp();
  }

  /**
   * Sends the warm-up task; piscina gives it to the kept thread (minThreads 1), starting it if need be. Not counted
   * as a task: the pool stays clean, so the warmed thread is not recycled for it.
   */
  private startWarmUp(): void {
    if (!this.warmsUp || this.closed) return;
    const stop = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    this.warmUps.started++;
    const done = super
      .run({ kind: 'warmUp', stop })
      .then(
        () => undefined,
        // A warm-up that fails (or whose thread is terminated) costs nothing but its warmth.
        () => undefined,
      )
      .finally(() => {
        if (this.warming?.stop === stop) this.warming = null;
      });
    this.warming = { stop, done };
  }

  /** Resolves once no warm-up is running (bench:scale's idle RSS, tests). */
  warmedUp(): Promise<void> {
    return this.warming?.done ?? Promise.resolve();
  }

  /** Resolves once no open pool runs a warm-up (bench:scale measures idle and settled RSS with the warmed thread). */
  static async allWarmedUp(): Promise<void> {
    await Promise.all([...RecyclingPool.open].map((pool) => pool.warmedUp()));
  }

  /** Recycles every open pool now, as their idle timers would later (benchmarks settle the server before measuring). */
  static async recycleAll(): Promise<void> {
    await Promise.all([...RecyclingPool.open].map((pool) => pool.recycle()));
  }

  /** Stops a running warm-up between its steps and waits for it: the task then gets the warmed thread. */
  private async stopWarmUp(): Promise<void> {
    const warming = this.warming;
    if (!warming) return;
    const started = performance.now();
    Atomics.store(warming.stop, 0, 1);
    await warming.done;
    this.warmUps.stopped++;
    this.warmUps.waitedMs += performance.now() - started;
  }

  /** A Worker just started (process 'worker' event) by a background pool: lowers the new threads' priority. */
  static readonly onWorkerStarted = (worker: Worker): void => {
    const started = threadsStartedSinceLastCall();
    if ([...RecyclingPool.open].some((pool) => pool.background && pool.threads.includes(worker)))
      lowerThreadsPriority(started);
  };

  /** The thread ids of every open pool's live threads (memory reports and tests: idle threads end). */
  static liveThreadIds(): number[] {
    return [...RecyclingPool.open].flatMap((pool) => pool.threads.map((thread) => thread.threadId));
  }

  override async run(task: unknown, options?: Parameters<Piscina['run']>[1]): Promise<unknown> {
    this.cancelTimer();
    this.active++;
    this.dirty = true;
    try {
      if (this.exiting) await this.exiting;
      await this.stopWarmUp();
      return await super.run(task, options);
    } catch (error) {
      // A worker's AppError arrives as a plain Error carrying it (toWorkerError): callers get the AppError back.
      throw fromWorkerError(error);
    } finally {
      this.active--;
      if (this.active === 0) this.scheduleRecycle();
    }
  }

  /** Ends every thread that ran a task, now, if no task is running (tests, or a caller that knows it is done). */
  recycle(): Promise<void> {
    this.cancelTimer();
    if (this.closed || this.active > 0 || !this.dirty) return this.exiting ?? Promise.resolve();
    this.dirty = false;
    const threads = this.threads;
    const exits = threads.map(
      (thread) =>
        new Promise<void>((resolve) =>
          thread.once('exit', () => {
            resolve();
          }),
        ),
    );
    for (const thread of threads) void thread.terminate();
    const exiting = Promise.all(exits).then(() => {
      if (this.exiting === exiting) this.exiting = null;
      // The fresh thread piscina starts in their place warms up again.
      if (this.active === 0) this.startWarmUp();
    });
    this.exiting = exiting;
    return exiting;
  }

  override async destroy(): Promise<void> {
    this.closed = true;
    if (this.warming) Atomics.store(this.warming.stop, 0, 1);
    RecyclingPool.open.delete(this);
    this.cancelTimer();
    await this.exiting;
    return super.destroy();
  }

  private scheduleRecycle(): void {
    if (this.closed || !this.dirty || !Number.isFinite(this.recycleAfterIdleMs)) return;
    this.timer = setTimeout(() => void this.recycle(), this.recycleAfterIdleMs);
    // An idle timer must not keep the process alive.
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

process.on('worker', RecyclingPool.onWorkerStarted);

export function createWorkerPool(maxThreads: number, options: WorkerPoolOptions = {}): RecyclingPool {
  const recycleAfterIdleMs = options.recycleAfterIdleMs ?? DEFAULT_RECYCLE_AFTER_IDLE_MS;
  return new RecyclingPool(
    {
      filename: options.filename ?? WORKER_FILE,
      minThreads: options.warm ? 1 : 0,
      maxThreads,
      // Threads beyond the warm one also go after piscina's own idle timeout (they may never have run a task).
      idleTimeout: Number.isFinite(recycleAfterIdleMs) ? recycleAfterIdleMs : 60_000,
      execArgv: workerExecArgv(),
      // A training task is long; queue the rest of the jobs in our own FIFO queue, not in piscina's.
      concurrentTasksPerWorker: options.concurrentTasksPerWorker ?? 1,
    },
    recycleAfterIdleMs,
    (options.filename ?? WORKER_FILE) === WORKER_FILE,
    options.warmUp === true && options.warm === true,
  );
}

/** Uploads the upload thread parses at once (each fed while it arrives: most of a slow one's time is waiting). */
const UPLOAD_TASKS_PER_THREAD = 4;

/** The thread that parses uploads: its own (an upload never waits behind a training run). */
let uploadPool: RecyclingPool | null = null;

function createUploadPool(idleMs: number, keep: boolean): RecyclingPool {
  return createWorkerPool(1, {
    recycleAfterIdleMs: idleMs,
    filename: UPLOAD_WORKER_FILE,
    concurrentTasksPerWorker: UPLOAD_TASKS_PER_THREAD,
    warm: keep,
    warmUp: keep,
  });
}

/** The upload pool; made on first use (no thread kept) unless keepUploadThread made it first. */
function uploadWorker(idleMs: number): RecyclingPool {
  uploadPool ??= createUploadPool(idleMs, false);
  return uploadPool;
}

/**
 * UPLOAD_WARM_UP: one upload thread is kept, started now and again after each recycle, and summarises a small
 * synthetic table first (src/ml/upload-worker.ts), so an upload meets a started thread running optimised parsing
 * code instead of waiting for a thread and parsing its first slices cold. No-op once the pool exists.
 */
export function keepUploadThread(idleMs: number): void {
  uploadPool ??= createUploadPool(idleMs, true);
}

/**
 * Validates and summarises an upload still arriving, in the upload thread: its bytes come on the task's port
 * (src/services/upload-feed.ts). The thread takes several such tasks at once: one fed by a slow client mostly waits
 * for bytes, and must not hold up the uploads behind it.
 */
export async function summarizeUploadStreamInWorker(task: UploadWorkerTask, idleMs: number): Promise<ArrivedUpload> {
  return (await uploadWorker(idleMs).run(task, { transferList: [task.port] })) as ArrivedUpload;
}

/** Ends the upload thread (tests; a server stopping). */
export async function closeUploadWorker(): Promise<void> {
  const pool = uploadPool;
  uploadPool = null;
  await pool?.destroy();
}
