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
import http from 'node:http';
import os from 'node:os';
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

const isOk = (answer: { status: number; text: string }) => answer.status === 200 && !answer.text.includes('"errors"');

async function openLoop(job: OpenLoopJob): Promise<OpenLoopReport> {
  const url = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const body = Buffer.from(job.body);
  for (let i = 0; i < job.warmupRequests; i++) await post(agent, url, body, job.headers);
  const interval = 1000 / job.rate;
  const total = Math.round(job.rate * job.durationS);
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        lags.push(now - (start + next * interval));
        pending.push(
          post(agent, url, body, job.headers).then((answer) => {
            if (isOk(answer)) latencies.push(answer.ms);
            else errors++;
          }),
        );
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now() - 0.3));
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
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
