import { APP_VERSION } from '../version.js';

/** One dependency as health reports it. */
export interface DependencyStatus {
  /** database, redis or queue. */
  name: string;
  ok: boolean;
  /** Why it is down (the error's message), or what it is when up (the queue's kind). */
  detail: string | null;
  latencyMs: number | null;
}

export interface HealthReport {
  /** ok while every dependency answers, else degraded (the failing one named in `dependencies`). */
  status: 'ok' | 'degraded';
  ready: boolean;
  version: string;
  uptimeSeconds: number;
  tfBackend: string | null;
  queuedRuns: number;
  runningRuns: number;
  /** in-process or bullmq. */
  queue: string;
  /** Processes with training workers the shared queue sees (BullMQ); null with the in-process queue. */
  workers: number | null;
  dependencies: DependencyStatus[];
  nodeVersion: string;
}

export interface QueueCounts {
  queued: number;
  running: number;
}

/** What health asks beyond the queue's counts. */
export interface HealthProbes {
  /** Throws when the database does not answer. */
  database?: () => Promise<void>;
  /** Redis's state, when there is a Redis. */
  redis?: () => Promise<DependencyStatus>;
  /** Worker processes on the shared queue. */
  workers?: () => Promise<number>;
  queue?: string;
}

/** A dependency that has not answered in this long is reported down (health itself never hangs on one). */
const PROBE_TIMEOUT_MS = 2000;

async function timed<T>(name: string, probe: () => Promise<T>): Promise<{ value: T | null; status: DependencyStatus }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      probe(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`));
        }, PROBE_TIMEOUT_MS);
      }),
    ]);
    return { value, status: { name, ok: true, detail: null, latencyMs: Math.round(performance.now() - started) } };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { value: null, status: { name, ok: false, detail, latencyMs: null } };
  } finally {
    clearTimeout(timer);
  }
}

export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly queueCounts: () => Promise<QueueCounts>,
    private readonly tfBackend: () => string | null,
    private readonly probes: HealthProbes = {},
  ) {}

  async report(): Promise<HealthReport> {
    const { database, redis, workers } = this.probes;
    const queueKind = this.probes.queue ?? 'in-process';
    const [db, cache, counts, seen] = await Promise.all([
      database ? timed('database', database) : null,
      redis ? timed('redis', redis) : null,
      timed('queue', this.queueCounts),
      workers ? timed('queue', workers) : null,
    ]);
    const dependencies: DependencyStatus[] = [];
    if (db) dependencies.push(db.status);
    // The probe reports Redis's own state (a PING); a timeout of the probe itself is reported the same way.
    if (cache) dependencies.push(cache.value ?? cache.status);
    dependencies.push({ ...counts.status, detail: counts.status.detail ?? queueKind });
    const ready = dependencies.every((dependency) => dependency.ok);
    return {
      status: ready ? 'ok' : 'degraded',
      ready,
      version: APP_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      tfBackend: this.tfBackend(),
      queuedRuns: counts.value?.queued ?? 0,
      runningRuns: counts.value?.running ?? 0,
      queue: queueKind,
      workers: seen ? seen.value : null,
      dependencies,
      nodeVersion: process.version,
    };
  }
}
