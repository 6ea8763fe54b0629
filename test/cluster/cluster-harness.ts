/**
 * A cluster of real processes for the scale-out tests and bench:cluster: API servers (`src/main.ts`) and training
 * workers (`src/worker.ts`) started as child processes on loopback ports, sharing one PostgreSQL and one Redis.
 * Redis here is restartable on the same port with its data kept (append-only file), as a deployment's would be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { freePort, redisServerPath } from '../fixtures/engines.js';
import type { GraphQLResult } from '../integration/harness.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A structured log line of a child (JSON on stderr). */
export type LogLine = Record<string, unknown>;

export interface ClusterProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Parsed JSON log lines so far. */
  readonly logs: LogLine[];
  /** Everything it wrote, the last 20,000 characters (for failure messages). */
  output(): string;
  /** Resolves when a log line matches (also one already seen). */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<number | null>;
  /** SIGTERM and wait (SIGKILL after 30 s). */
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export interface ApiProcess extends ClusterProcess {
  readonly url: string;
  readonly wsUrl: string;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
  data<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  wsClient(): Client;
}

function spawnChild(name: string, script: string, env: Record<string, string>): ClusterProcess {
  const child = spawn(process.execPath, ['--max-semi-space-size=2', '--import', 'tsx', script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const logs: LogLine[] = [];
  const watchers: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let output = '';
  let partial = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const raw of lines) {
      if (!raw.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const watcher of watchers.filter((one) => one.match(line))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(line);
      }
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    child,
    pid: child.pid,
    logs,
    output: () => output,
    waitForLog: (match, timeoutMs = 120_000) => {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${name}: no matching log line within ${timeoutMs} ms\n${output.slice(-3000)}`));
        }, timeoutMs);
        watchers.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    exited,
    stop: () => stopWith('SIGTERM'),
    kill9: () => stopWith('SIGKILL'),
  };
}

async function waitUntil(check: () => Promise<boolean>, what: string, child: ClusterProcess, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.child.exitCode !== null) throw new Error(`${what}: exited (${child.child.exitCode})\n${child.output()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The environment every process of one cluster shares. */
export function clusterEnv(databaseUrl: string, redisUrl: string, prefix: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'info',
    TRAINING_CONCURRENCY: '1',
    TRAINING_THREADS: '1',
    TRAINING_ATTEMPTS: '2',
    QUEUE_LOCK_SECONDS: '4',
    QUEUE_STALLED_CHECK_SECONDS: '1',
    QUEUE_RECONCILE_SECONDS: '2',
    WORKER_STOP_GRACE_SECONDS: '5',
    NASA_DATA_DIR: path.join(os.tmpdir(), 'exo-cluster-no-nasa'),
  };
}

export async function startApi(name: string, env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exo-api-'));
  const proc = spawnChild(name, 'src/main.ts', {
    EMBEDDED_WORKERS: '0',
    UPLOAD_DIR: path.join(dir, 'uploads'),
    DATABASE_PATH: path.join(dir, 'unused.db'),
    ...env,
    PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${url}/api/health`)).ok, `${name} /api/health`, proc);
  const clients: Client[] = [];
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResult<T>;
  };
  const stop = () => proc.stop();
  return {
    ...proc,
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    gql,
    data: async <T>(query: string, variables: Record<string, unknown> = {}) => {
      const result = await gql<T>(query, variables);
      if (result.errors?.length || !result.data) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
      return result.data;
    },
    wsClient: () => {
      const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, lazy: true });
      clients.push(client);
      return client;
    },
    stop: async () => {
      await Promise.all(
        clients.map(async (client) => {
          await client.dispose();
        }),
      );
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startWorker(name: string, env: Record<string, string>): Promise<ClusterProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exo-worker-'));
  const proc = spawnChild(name, 'src/worker.ts', {
    UPLOAD_DIR: path.join(dir, 'uploads'),
    DATABASE_PATH: path.join(dir, 'unused.db'),
    ...env,
  });
  await waitUntil(() => Promise.resolve(proc.output().includes('Training worker ready')), `${name} ready`, proc);
  const stop = () => proc.stop();
  return {
    ...proc,
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis that can be stopped and started again on the same port, keeping its data (append-only file). */
export interface RestartableRedis {
  readonly url: string;
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exo-redis-r-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'];
  let child: ChildProcess | null = null;
  const up = async () => {
    const started = spawn(bin, args, { stdio: 'ignore' });
    child = started;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => {
          resolve(false);
        });
      });
      if (ok) return;
      if (started.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not come up');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const down = async () => {
    const running = child;
    if (running?.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    restart: async (downMs) => {
      await down();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await up();
    },
    stop: async () => {
      await down();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
