/**
 * Starts the real server on 127.0.0.1 (port 0) with its own temporary DB and upload folder, and speaks to it
 * over real HTTP, SSE and the official graphql-ws client.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll } from 'vitest';
import WebSocket from 'ws';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { buildApp, type App } from '../../src/http/server.js';
import { createLogger, type LogLevel } from '../../src/logger.js';
import { MISSION_IDS, isNasaTableAvailable } from '../../src/ml/data/index.js';
import { NASA_DIR, nasaTableText } from '../fixtures/nasa.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export { NASA_DIR };
/** Always true with the embedded snapshot; kept so tests read as "this needs the real tables". */
export const HAS_NASA = MISSION_IDS.every((mission) => isNasaTableAvailable(NASA_DIR, mission));
export const HAS_KEPLER = isNasaTableAvailable(NASA_DIR, 'kepler');

export interface GraphQLResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; field?: string; allowed?: unknown } }[];
}

export interface TestServer {
  app: App;
  config: AppConfig;
  url: string;
  wsUrl: string;
  dir: string;
  /** Structured log lines written by the server (parsed JSON), when started with captureLogs. */
  logs: Record<string, unknown>[];
  /**
   * POST /graphql with JSON; returns the parsed body (and asserts nothing). `headers` may be `{ token }`: the owner
   * token sent as `Authorization: Bearer <token>`.
   */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResult<T>>;
  /** Like gql, but throws on errors and returns data. */
  data<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<T>;
  /** With `asOwner`: the owner token gql and data send unless given another (what this server's uploads list under). */
  ownerToken: string | null;
  /** A graphql-ws client; with `token`, sent in connection_init as `{ authorization: "Bearer <token>" }`. */
  wsClient(options?: { token?: string }): Client;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Reuse a folder (DB + uploads) across restarts. */
  dir?: string;
  /** NASA_DATA_DIR of the server. Default: NASA_DATA_DIR when set, else an empty folder (the embedded snapshot serves). */
  nasaDir?: string;
  /** Keep the server's log lines (level error and up, or from the level given) in `logs`. */
  captureLogs?: boolean | LogLevel;
  /**
   * SQLite even when the environment has DATABASE_URL (tests of the database file itself: locking, DATABASE_PATH
   * errors, an outside write lock). Giving env.DATABASE_PATH implies it.
   */
  sqlite?: boolean;
  /** Mint an owner token at start and send it with every gql/data request (tests that list their uploads). */
  asOwner?: boolean;
  /** Send this owner token instead (a restart on the same folder keeps its tokens valid). */
  ownerToken?: string | null;
}

/**
 * With DATABASE_URL (an admin URL of a PostgreSQL server, as `npm run test:engines` sets it) each server folder gets
 * its own fresh database, `t_<random>`: a restart on the same folder finds its data again. This file's databases are
 * dropped after its tests.
 */
const ADMIN_URL = process.env.DATABASE_URL?.trim() || null;
const databases = new Map<string, string>();

async function adminQuery(text: string): Promise<void> {
  if (!ADMIN_URL) return;
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The PostgreSQL URL of the folder's database, made on first use. */
async function databaseFor(adminUrl: string, dir: string): Promise<string> {
  let name = databases.get(dir);
  if (!name) {
    name = `t_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    databases.set(dir, name);
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

if (ADMIN_URL && process.env.VITEST)
  afterAll(async () => {
    for (const name of databases.values()) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    databases.clear();
  });

/**
 * Runs SQL on a server's database while the server is stopped (a test sets up what a crash leaves), on SQLite or
 * PostgreSQL alike: `?` placeholders; returns the rows.
 */
export async function runSql(config: AppConfig, text: string, params: unknown[] = []): Promise<unknown[]> {
  if (config.databaseUrl) {
    let n = 0;
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    try {
      const result = await client.query<Record<string, unknown>>(
        text.replace(/\?/g, () => `$${String(++n)}`),
        params,
      );
      return result.rows;
    } finally {
      await client.end();
    }
  }
  const db = new Database(config.databasePath);
  try {
    const statement = db.prepare(text);
    return statement.reader ? statement.all(...params) : (statement.run(...params), []);
  } finally {
    db.close();
  }
}

/** Whether servers of this run use PostgreSQL (DATABASE_URL set) unless a test asks for SQLite. */
export const ON_POSTGRES = ADMIN_URL !== null;

/** `{ token }` becomes `Authorization: Bearer <token>`; other headers pass as they are. */
function withToken(headers: Record<string, string>): Record<string, string> {
  if (!('token' in headers)) return headers;
  const { token, ...rest } = headers;
  return { ...rest, authorization: `Bearer ${token}` };
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-test-'));
  const sqlite = options.sqlite === true || options.env?.DATABASE_PATH !== undefined;
  const databaseUrl = ADMIN_URL && !sqlite ? await databaseFor(ADMIN_URL, dir) : '';
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: path.join(dir, 'test.db'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      NASA_DATA_DIR: options.nasaDir ?? (process.env.NASA_DATA_DIR?.trim() ? NASA_DIR : path.join(dir, 'nasa')),
      TRAINING_THREADS: '2',
      // The suite creates hundreds of sessions from 127.0.0.1; test/integration/owners.test.ts sets a low limit.
      RATE_LIMIT_CREATES_PER_MINUTE: '100000',
      ...options.env,
    },
    repoRoot,
  );
  const logs: Record<string, unknown>[] = [];
  const logger = options.captureLogs
    ? createLogger(options.captureLogs === true ? 'error' : options.captureLogs, {}, (line) =>
        logs.push(JSON.parse(line) as Record<string, unknown>),
      )
    : createLogger(process.env.TEST_LOG === '1' ? 'debug' : 'silent');
  const app = await buildApp(config, { logger });
  const { port } = await app.start();
  const url = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const clients: Client[] = [];
  let ownerToken: string | null = options.ownerToken ?? null;
  const gql = async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(ownerToken !== null && !('token' in headers) && !('authorization' in headers)
          ? { authorization: `Bearer ${ownerToken}` }
          : {}),
        ...withToken(headers),
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResult<T>;
  };
  if (options.asOwner) {
    const minted = (await gql('mutation { createSession { id } }')) as { extensions?: { ownerToken?: unknown } };
    if (typeof minted.extensions?.ownerToken !== 'string') throw new Error('the server minted no owner token');
    ownerToken = minted.extensions.ownerToken;
  }
  return {
    app,
    config,
    url,
    wsUrl,
    dir,
    logs,
    ownerToken,
    gql,
    data: async <T>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
      const result = await gql<T>(query, variables, headers);
      if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data;
    },
    wsClient: (options = {}) => {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        ...(options.token !== undefined && { connectionParams: { authorization: `Bearer ${options.token}` } }),
      });
      clients.push(client);
      return client;
    },
    stop: async () => {
      await Promise.all(
        clients.map(async (c) => {
          await c.dispose();
        }),
      );
      await app.stop();
    },
  };
}

/** Collects every event of a subscription until it completes (or errors), with a timeout. */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
  timeoutMs = 120_000,
  /** Called with each event as it arrives. */
  onEvent?: (event: T) => void,
): Promise<{ events: T[]; error?: unknown }> {
  return new Promise((resolve, reject) => {
    const events: T[] = [];
    const timer = setTimeout(() => {
      dispose();
      reject(new Error(`subscription did not complete within ${timeoutMs} ms (${events.length} events)`));
    }, timeoutMs);
    const dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors?.length) {
            clearTimeout(timer);
            resolve({ events, error: value.errors });
            return;
          }
          if (value.data) {
            events.push(value.data);
            onEvent?.(value.data);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          resolve({ events, error });
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ events });
        },
      },
    );
  });
}

/** Reads an SSE subscription (yoga's default transport) until the server completes it. */
export async function collectSse<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T[]> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const events: T[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    if (!lines.some((l) => l === 'event: next')) continue;
    const data = lines
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    const parsed = JSON.parse(data) as GraphQLResult<T>;
    if (parsed.data) events.push(parsed.data);
  }
  return events;
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until a run has ended and returns its status. */
export async function waitForRun(server: TestServer, runId: string, timeoutMs = 180_000): Promise<string> {
  return waitFor(
    async () => {
      const { trainingRun } = await server.data<{ trainingRun: { status: string } }>(
        'query ($id: ID!) { trainingRun(id: $id) { status } }',
        { id: runId },
      );
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(trainingRun.status) ? trainingRun.status : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Creates a session, configures it, starts training; returns the ids. */
export async function startRun(
  server: TestServer,
  input: Record<string, unknown>,
): Promise<{ sessionId: string; runId: string }> {
  const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId: createSession.id, ...input },
  });
  const { startTraining } = await server.data<{ startTraining: { id: string } }>(
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: createSession.id },
  );
  return { sessionId: createSession.id, runId: startTraining.id };
}

/** The first Kepler rows as objects keyed by column name (from the real table). */
export function keplerRows(
  count: number,
  filter: (row: Record<string, string>) => boolean = () => true,
): Record<string, string>[] {
  const text = nasaTableText('kepler');
  const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
  const columns = lines[0].split(',');
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const row = Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
    if (filter(row)) rows.push(row);
    if (rows.length >= count) break;
  }
  return rows;
}
