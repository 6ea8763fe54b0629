/**
 * The load side of the prediction benchmarks, in its own process (its own event loop; pinned to core 1 when
 * `taskset` exists, the server's process to core 0), so it never shares the server's core or measures the server's
 * stalls as its own:
 *  - `openLoop`: POST a body at a fixed rate whatever the answers (no coordinated omission), latency from the send;
 *  - `healthDuring`: poll `health` every few ms while a set of requests runs, each answer's latency and hash.
 * The parent calls `startLoadGenerator()`; this file is also the child's entry (`--load-generator`).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const FLAG = '--load-generator';
/** Cores of the machine, read before any pinning (availableParallelism follows this process's affinity). */
const CORES = os.availableParallelism();

export interface OpenLoopJob {
  kind: 'openLoop';
  url: string;
  body: string;
  /** Extra request headers (bench:predict-profile sends an Accept list to measure yoga's own path). */
  headers?: Record<string, string>;
  rate: number;
  durationS: number;
  warmupRequests: number;
}

export interface OpenLoopReport {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers per second over the sending window (requests still in flight at its end are waited for). */
  achievedRate: number;
  /** How late the scheduler sent (p99), ms: a generator that cannot keep up says so here. */
  sendLagP99: number;
  /**
   * Latency from the intended send time (p50, p99): the actual-send latency plus the generator's own lag. The goal
   * reads the actual-send figures (p50, p99): the server's queueing happens after the send, so they hide none of it,
   * while these add the generator's scheduling error (timers, its own GC, another process on its core).
   */
  fromIntendedP50: number;
  fromIntendedP99: number;
}

export interface HealthDuringJob {
  kind: 'healthDuring';
  url: string;
  /** Poll health this often (ms), from the start until every request answered plus `tailMs`. */
  intervalMs: number;
  tailMs: number;
  /** Sent at once, in parallel, after `delayMs`. */
  requests: { body: string; delayMs: number }[];
}

export interface TimedAnswer {
  ms: number;
  status: number;
  /** The body had a GraphQL `errors` entry. */
  errors: boolean;
  /** sha1 of the body, to compare answers across runs. */
  sha1: string;
  /** Start of the request, ms after the job began. */
  startMs: number;
}

export interface HealthDuringReport {
  health: { count: number; p50: number; p99: number; max: number };
  answers: TimedAnswer[];
}

export type LoadJob = OpenLoopJob | HealthDuringJob;

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function post(
  agent: http.Agent,
  url: URL,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; sentAt: number; ms: number }> {
  return new Promise((resolve) => {
    const sentAt = performance.now();
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            sentAt,
            ms: performance.now() - sentAt,
          });
        });
      },
    );
    request.on('error', (error) => {
      resolve({ status: 0, text: String(error), sentAt, ms: performance.now() - sentAt });
    });
    request.end(body);
  });
}

/** Within this many ms of a send the scheduler polls (setImmediate) instead of sleeping (setTimeout). */
const IMMEDIATE_WITHIN_MS = 1.2;

const isOk = (answer: { status: number; text: string }) => answer.status === 200 && !answer.text.includes('"errors"');

async function openLoop(job: OpenLoopJob): Promise<OpenLoopReport> {
  const url = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const body = Buffer.from(job.body);
  for (let i = 0; i < job.warmupRequests; i++) await post(agent, url, body, job.headers);
  const interval = 1000 / job.rate;
  const total = Math.round(job.rate * job.durationS);
  const latencies: number[] = [];
  const fromIntended: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const intended = start + next * interval;
        lags.push(now - intended);
        pending.push(
          post(agent, url, body, job.headers).then((answer) => {
            if (isOk(answer)) {
              latencies.push(answer.ms);
              fromIntended.push(answer.sentAt + answer.ms - intended);
            } else errors++;
          }),
        );
        next++;
      }
      if (next >= total) {
        resolve();
        return;
      }
      // Timers fire on libuv's millisecond clock (up to ~1 ms late): sleep until ~1 ms before the send, then poll
      // with setImmediate, which still reads answers between polls (a spin would delay their timestamps).
      const wait = start + next * interval - performance.now();
      if (wait > IMMEDIATE_WITHIN_MS) setTimeout(tick, wait - IMMEDIATE_WITHIN_MS);
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const sortedIntended = Float64Array.from(fromIntended).sort();
  return {
    rate: job.rate,
    sent: total,
    ok: latencies.length,
    errors,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
    achievedRate: latencies.length / seconds,
    sendLagP99: percentile(Float64Array.from(lags).sort(), 99),
    fromIntendedP50: percentile(sortedIntended, 50),
    fromIntendedP99: percentile(sortedIntended, 99),
  };
}

async function healthDuring(job: HealthDuringJob): Promise<HealthDuringReport> {
  const url = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const healthBody = Buffer.from(JSON.stringify({ query: '{ health { status } }' }));
  const start = performance.now();
  const state = { done: false };
  const health: number[] = [];
  const poller = (async () => {
    while (!state.done) {
      const answer = await post(agent, url, healthBody);
      if (isOk(answer)) health.push(answer.ms);
      const wait = job.intervalMs - answer.ms;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  const answers = await Promise.all(
    job.requests.map(async ({ body, delayMs }) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const answer = await post(agent, url, Buffer.from(body));
      return {
        ms: answer.ms,
        status: answer.status,
        errors: !isOk(answer),
        sha1: createHash('sha1').update(answer.text).digest('hex'),
        startMs: answer.sentAt - start,
      };
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, job.tailMs));
  state.done = true;
  await poller;
  agent.destroy();
  const sorted = Float64Array.from(health).sort();
  return {
    health: {
      count: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
    },
    answers,
  };
}

if (process.argv.includes(FLAG)) {
  process.on('message', (job: LoadJob) => {
    void (job.kind === 'openLoop' ? openLoop(job) : healthDuring(job)).then((report) => process.send?.(report));
  });
  process.on('disconnect', () => process.exit(0));
}

function pin(pid: number, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface LoadGenerator {
  run(job: OpenLoopJob): Promise<OpenLoopReport>;
  run(job: HealthDuringJob): Promise<HealthDuringReport>;
  /** How the two processes were placed, for the report. */
  placement: string;
  close(): void;
}

/**
 * Forks the generator. `pinServer`: pin this process (the server, its worker threads included) to core 0 and the
 * generator to core 1 with `taskset -a` (Linux); without taskset both float.
 */
export function startLoadGenerator(options: { pinServer: boolean }): LoadGenerator {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [FLAG], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let placement = `server and load generator float over ${CORES} cores (no taskset)`;
  if (options.pinServer && child.pid !== undefined && CORES >= 2) {
    if (pin(process.pid, 0) && pin(child.pid, 1))
      placement =
        'server process (event loop and worker threads) pinned to core 0, load generator to core 1 (taskset -a -cp)';
  }
  const run = (job: LoadJob) =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => {
        reject(new Error(`load generator exited with ${code}`));
      };
      child.once('exit', onExit);
      child.once('message', (report) => {
        child.off('exit', onExit);
        resolve(report);
      });
      child.send(job);
    });
  return {
    run: run as LoadGenerator['run'],
    placement,
    close: () => {
      child.disconnect();
      // The server may go on with other work: let it use every core again.
      if (options.pinServer) execFileSafe(process.pid, CORES);
    },
  };
}

function execFileSafe(pid: number, cores: number): void {
  try {
    execFileSync('taskset', ['-a', '-cp', `0-${cores - 1}`, String(pid)], { stdio: 'ignore' });
  } catch {
    // No taskset: nothing was pinned.
  }
}

/** "load 1.2/0.9/0.7 (2 cores)": printed beside every figure, the machine is shared. */
export function loadLabel(): string {
  const [one, five, fifteen] = os.loadavg();
  return `load ${one.toFixed(1)}/${five.toFixed(1)}/${fifteen.toFixed(1)} (${CORES} cores)`;
}

/** CPU ticks (user, system) of each thread of this process, from /proc (Linux); empty elsewhere. */
export function threadTicks(): Map<string, { name: string; user: number; system: number }> {
  const ticks = new Map<string, { name: string; user: number; system: number }>();
  const base = `/proc/${process.pid}/task`;
  if (!fs.existsSync(base)) return ticks;
  for (const tid of fs.readdirSync(base)) {
    try {
      const stat = fs.readFileSync(`${base}/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime), counted from the state field (3rd).
      ticks.set(tid, {
        name: tid === String(process.pid) ? MAIN_THREAD : name,
        user: Number(fields[11]),
        system: Number(fields[12]),
      });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ticks;
}

/** threadTicks' name for the event loop's thread. */
export const MAIN_THREAD = 'main (event loop)';

/**
 * µs per request by thread name over a window, from two threadTicks readings (100 ticks a second on Linux), busiest
 * first. Threads that ended within the window are missing: their CPU is only in process.cpuUsage's total.
 */
export function cpuByThread(
  before: ReturnType<typeof threadTicks>,
  after: ReturnType<typeof threadTicks>,
  answered: number,
): { name: string; us: number; userUs: number; systemUs: number }[] {
  const tickUs = 1e6 / 100;
  const byName = new Map<string, { user: number; system: number }>();
  for (const [tid, now] of after) {
    const then = before.get(tid) ?? { user: 0, system: 0 };
    const sum = byName.get(now.name) ?? { user: 0, system: 0 };
    sum.user += now.user - then.user;
    sum.system += now.system - then.system;
    byName.set(now.name, sum);
  }
  return [...byName]
    .filter(([, { user, system }]) => user + system > 0)
    .map(([name, { user, system }]) => ({
      name,
      us: ((user + system) * tickUs) / answered,
      userUs: (user * tickUs) / answered,
      systemUs: (system * tickUs) / answered,
    }))
    .sort((a, b) => b.us - a.us);
}

/**
 * Server-side latency of this process's HTTP server (the bench's server runs in it), from Node's diagnostics
 * channels: from the request's headers parsed to the response handed to the socket. It leaves out what the generator
 * adds (its send and read) and the time a request waits in the socket while the event loop is busy with others.
 * Also the main thread's GC pauses over the same window (perf_hooks 'gc' entries).
 */
export function recordServerLatency(): {
  stop(): { count: number; p50: number; p99: number; gc: { count: number; totalMs: number; maxMs: number } };
} {
  const started = new WeakMap<object, number>();
  const times: number[] = [];
  // The event loop's GC pauses in the window: a request that meets one waits for it (a tail source of its own).
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const onStart = (message: unknown) => {
    if (typeof message === 'object' && message !== null && 'response' in message && message.response)
      started.set(message.response, performance.now());
  };
  const onFinish = (message: unknown) => {
    if (typeof message !== 'object' || message === null || !('response' in message) || !message.response) return;
    const at = started.get(message.response);
    if (at !== undefined) times.push(performance.now() - at);
  };
  diagnostics_channel.subscribe('http.server.request.start', onStart);
  diagnostics_channel.subscribe('http.server.response.finish', onFinish);
  return {
    stop: () => {
      diagnostics_channel.unsubscribe('http.server.request.start', onStart);
      diagnostics_channel.unsubscribe('http.server.response.finish', onFinish);
      gcObserver.disconnect();
      const sorted = Float64Array.from(times).sort();
      return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), gc };
    },
  };
}
