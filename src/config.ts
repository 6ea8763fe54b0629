/**
 * Typed configuration from the environment. A bad value stops start-up with a message naming the variable.
 */
import path from 'node:path';
import os from 'node:os';
import { DEFAULT_CACHE_BYTES } from './ml/cache.js';

export type NodeEnv = 'development' | 'production' | 'test';

export interface AppConfig {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  secretKey: string | null;
  databasePath: string;
  /** PostgreSQL (DATABASE_URL=postgres://…) instead of SQLite at databasePath; null keeps SQLite. */
  databaseUrl: string | null;
  uploadDir: string;
  nasaDataDir: string;
  /** Whether the gzip snapshot in embedded-data/nasa stands in for tables missing from nasaDataDir. */
  nasaEmbeddedSnapshot: boolean;
  /** Exact origins allowed cross-origin; `*` allows any. */
  corsOrigins: string[];
  maxUploadBytes: number;
  /** Largest JSON (or form) request body, on /graphql and REST alike: MAX_JSON_BODY_MB. Files use maxUploadBytes. */
  maxJsonBodyBytes: number;
  /** graphql-ws limits (src/http/websocket.ts): operations running at once on one socket. */
  wsMaxSubscriptionsPerSocket: number;
  /** Open WebSocket connections per client address; more are refused with HTTP 429 at the handshake. */
  wsMaxConnectionsPerClient: number;
  /** Token bucket per socket: messages per second sustained, and the burst a socket may send at once. */
  wsMessagesPerSecond: number;
  wsMessageBurst: number;
  /** A progress subscriber whose socket falls this many bytes of events behind is ended (WS_MAX_OWED_MB). */
  wsMaxOwedBytes: number;
  trainingConcurrency: number;
  /** Threads a training run may use inside its worker (random forest trees in parallel). */
  trainingThreads: number;
  /** A run still training after this long is stopped and fails saying so (MAX_TRAINING_SECONDS). */
  maxTrainingMs: number;
  /** Byte budget of each loaded-model cache (event loop, inference worker): MODEL_CACHE_MB. */
  modelCacheBytes: number;
  /** Worker threads that ran a task end after this long idle, returning their memory: WORKER_IDLE_SECONDS. */
  workerIdleMs: number;
  /**
   * One training thread is kept, started at boot and after each recycle, and runs the JIT warm-up before its first
   * task (src/ml/warm-up.ts), so a run's first fit and evaluation run optimised code: TRAINING_WARM_UP.
   */
  trainingWarmUp: boolean;
  /**
   * An HTTP server keeps one upload thread, started with the server and after each recycle, which parses a small
   * table first (src/ml/upload-worker.ts), so an upload meets a started thread and optimised code: UPLOAD_WARM_UP.
   */
  uploadWarmUp: boolean;
  /**
   * Most estimated event-loop time of one `predict` call, model load included (PREDICT_LOOP_MS); costlier calls go
   * to the inference worker (src/ml/predict-cost.ts).
   */
  predictLoopMs: number;
  /**
   * Most estimated event-loop time to load a model there once, after a call the worker answered, so that the next
   * cheap calls are answered on the loop (PREDICT_LOAD_MS); larger models stay in the worker.
   */
  predictLoadMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Scale-out (README "Scaling out"): Redis for the progress bus and the BullMQ queue; null keeps both in-process. */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel (REDIS_PREFIX): deployments sharing one Redis stay apart. */
  redisPrefix: string;
  /** Whether this API process also trains (EMBEDDED_WORKERS=0: it only serves and enqueues; needs REDIS_URL). */
  embeddedWorkers: boolean;
  /** Starts of a run before it fails because its workers were lost (TRAINING_ATTEMPTS; BullMQ only). */
  trainingAttempts: number;
  /** A BullMQ job's lock (QUEUE_LOCK_SECONDS): a dead worker's run is retried after about this long. */
  queueLockMs: number;
  /** How often workers look for jobs whose lock expired (QUEUE_STALLED_CHECK_SECONDS). */
  queueStalledIntervalMs: number;
  /** How often queued and running runs are checked against the queue (QUEUE_RECONCILE_SECONDS; BullMQ only). */
  queueReconcileMs: number;
  /** On SIGTERM a worker's running runs get this long to finish before they go back to the queue. */
  workerStopGraceMs: number;
  /** Start-up waits this long for the database and Redis to answer, retrying, before it gives up. */
  dependencyWaitMs: number;
  /** Owners and access (README "Owners and access"): keys one of which creating operations need; null = open. */
  apiKeys: string[] | null;
  /** Sessions idle longer than this are deleted with their runs and uploads (SESSION_IDLE_HOURS); 0 = never. */
  sessionIdleMs: number;
  /** Sessions, uploads and runs one client may create per minute (a token bucket per process); 0 = no limit. */
  rateLimitCreatesPerMinute: number;
  /** Whether the client address comes from X-Forwarded-For (TRUST_PROXY: behind a reverse proxy). */
  trustProxy: boolean;
  /** GraphiQL served at GET /graphql (GRAPHIQL). */
  graphiql: boolean;
  /** `__schema` / `__type` answered (INTROSPECTION); GraphiQL needs it. */
  introspection: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()))
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

function readSwitch(env: Env, name: string, fallback: boolean): boolean {
  return readEnum(env, name, ['on', 'off'], fallback ? 'on' : 'off') === 'on';
}

/** API_KEYS: comma-separated, each 16+ characters of [A-Za-z0-9._~+/=-] (what fits a header unquoted). */
function readApiKeys(env: Env): string[] | null {
  const raw = env.API_KEYS?.trim();
  if (!raw) return null;
  const keys = raw
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
  for (const key of keys) {
    if (key.length < 16 || !/^[\w.~+/=-]+$/.test(key))
      throw new ConfigError(
        'API_KEYS',
        `each key must be 16 or more characters of letters, digits and . _ ~ + / = - (comma-separated); one is ${key.length} characters long`,
      );
  }
  return keys;
}

function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim() as T;
  if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return value;
}

type ScaleOut = Pick<
  AppConfig,
  | 'redisUrl'
  | 'redisPrefix'
  | 'embeddedWorkers'
  | 'trainingAttempts'
  | 'queueLockMs'
  | 'queueStalledIntervalMs'
  | 'queueReconcileMs'
  | 'workerStopGraceMs'
  | 'dependencyWaitMs'
>;

function scaleOut(env: Env): ScaleOut {
  const redisUrl = env.REDIS_URL?.trim() || null;
  if (redisUrl !== null && !/^rediss?:\/\/\S+$/.test(redisUrl))
    throw new ConfigError('REDIS_URL', `must look like redis://host:6379 (or rediss://), got "${redisUrl}"`);
  const redisPrefix = env.REDIS_PREFIX?.trim() || 'exo:';
  if (!/^[\w:.-]{1,64}$/.test(redisPrefix))
    throw new ConfigError(
      'REDIS_PREFIX',
      `must be 1 to 64 letters, digits, '_', '-', '.' or ':', got "${redisPrefix}"`,
    );
  const embeddedWorkers = readEnum(env, 'EMBEDDED_WORKERS', ['0', '1'], '1') === '1';
  if (!embeddedWorkers && redisUrl === null)
    throw new ConfigError('EMBEDDED_WORKERS', '=0 needs REDIS_URL (worker processes take runs from the shared queue)');
  const queueLockMs = readInt(env, 'QUEUE_LOCK_SECONDS', 30, 1, 3600) * 1000;
  return {
    redisUrl,
    redisPrefix,
    embeddedWorkers,
    trainingAttempts: readInt(env, 'TRAINING_ATTEMPTS', 2, 1, 10),
    queueLockMs,
    queueStalledIntervalMs:
      readInt(env, 'QUEUE_STALLED_CHECK_SECONDS', Math.min(30, queueLockMs / 1000), 1, 3600) * 1000,
    queueReconcileMs: readInt(env, 'QUEUE_RECONCILE_SECONDS', 15, 1, 3600) * 1000,
    workerStopGraceMs: readInt(env, 'WORKER_STOP_GRACE_SECONDS', 10, 0, 86400) * 1000,
    dependencyWaitMs: readInt(env, 'DEPENDENCY_WAIT_SECONDS', 30, 0, 3600) * 1000,
  };
}

// The original web client's dev servers (ports 3000 and 3001, as the original allowed) and Vite's default port.
const DEV_ORIGINS = [
  'http://localhost:3000',
  'http://localhost:3001',
  'http://localhost:5173',
  'http://127.0.0.1:3000',
  'http://127.0.0.1:3001',
  'http://127.0.0.1:5173',
];

export function loadConfig(env: Env = process.env, cwd = process.cwd()): AppConfig {
  const nodeEnv = readEnum<NodeEnv>(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  const secretKey = env.SECRET_KEY?.trim() || null;
  if (nodeEnv === 'production' && !secretKey) {
    throw new ConfigError('SECRET_KEY', 'is required when NODE_ENV=production (set a long random string)');
  }
  if (secretKey !== null && nodeEnv === 'production' && secretKey.length < 16) {
    throw new ConfigError('SECRET_KEY', 'must be at least 16 characters in production');
  }
  const host = env.HOST?.trim() || (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1');
  const corsRaw = env.CORS_ORIGINS;
  let corsOrigins: string[];
  if (corsRaw === undefined || corsRaw.trim() === '') {
    corsOrigins = nodeEnv === 'production' ? [] : DEV_ORIGINS;
  } else {
    corsOrigins = corsRaw
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
    for (const origin of corsOrigins) {
      if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
        throw new ConfigError(
          'CORS_ORIGINS',
          `"${origin}" is not an origin like https://example.org (comma-separated list, or *)`,
        );
      }
    }
  }
  const resolve = (value: string) => path.resolve(cwd, value);
  const databasePath = env.DATABASE_PATH?.trim() || 'data/playground.db';
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl))
    throw new ConfigError(
      'DATABASE_URL',
      `must look like postgres://user:password@host:5432/database, got "${databaseUrl.replace(/:[^:@/]*@/, ':***@')}"`,
    );
  return {
    nodeEnv,
    port: readInt(env, 'PORT', 5000, 0, 65535),
    host,
    secretKey,
    databasePath: databasePath === ':memory:' ? databasePath : resolve(databasePath),
    databaseUrl,
    uploadDir: resolve(env.UPLOAD_DIR?.trim() || 'uploads'),
    nasaDataDir: resolve(env.NASA_DATA_DIR?.trim() || 'data/nasa'),
    nasaEmbeddedSnapshot: readEnum(env, 'NASA_EMBEDDED_SNAPSHOT', ['on', 'off'], 'on') === 'on',
    corsOrigins,
    maxUploadBytes: readInt(env, 'MAX_UPLOAD_MB', 50, 1, 2048) * 1024 * 1024,
    maxJsonBodyBytes: readInt(env, 'MAX_JSON_BODY_MB', 4, 1, 512) * 1024 * 1024,
    wsMaxSubscriptionsPerSocket: readInt(env, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 100, 1, 100_000),
    wsMaxConnectionsPerClient: readInt(env, 'WS_MAX_CONNECTIONS_PER_CLIENT', 256, 1, 100_000),
    wsMessagesPerSecond: readInt(env, 'WS_MESSAGES_PER_SECOND', 50, 1, 100_000),
    wsMessageBurst: readInt(env, 'WS_MESSAGE_BURST', 200, 1, 1_000_000),
    wsMaxOwedBytes: readInt(env, 'WS_MAX_OWED_MB', 16, 1, 1024) * 2 ** 20,
    trainingConcurrency: readInt(
      env,
      'TRAINING_CONCURRENCY',
      Math.max(1, Math.floor(os.availableParallelism() / 2)),
      1,
      64,
    ),
    trainingThreads: readInt(env, 'TRAINING_THREADS', Math.max(1, Math.min(4, os.availableParallelism())), 1, 64),
    // 30 minutes: far above any default run (a 200,000-row forest takes ~1 minute), short enough that one
    // oversized network cannot hold a training slot for an afternoon.
    maxTrainingMs: readInt(env, 'MAX_TRAINING_SECONDS', 1800, 1, 7 * 86400) * 1000,
    modelCacheBytes: readInt(env, 'MODEL_CACHE_MB', DEFAULT_CACHE_BYTES / (1024 * 1024), 0, 65536) * 1024 * 1024,
    workerIdleMs: readInt(env, 'WORKER_IDLE_SECONDS', 10, 1, 86400) * 1000,
    trainingWarmUp: readSwitch(env, 'TRAINING_WARM_UP', true),
    uploadWarmUp: readSwitch(env, 'UPLOAD_WARM_UP', true),
    predictLoopMs: readInt(env, 'PREDICT_LOOP_MS', 2, 0, 60_000),
    predictLoadMs: readInt(env, 'PREDICT_LOAD_MS', 250, 0, 60_000),
    ...scaleOut(env),
    apiKeys: readApiKeys(env),
    sessionIdleMs: readInt(env, 'SESSION_IDLE_HOURS', 168, 0, 24 * 3650) * 3600 * 1000,
    rateLimitCreatesPerMinute: readInt(env, 'RATE_LIMIT_CREATES_PER_MINUTE', 60, 0, 1_000_000),
    trustProxy: readSwitch(env, 'TRUST_PROXY', false),
    graphiql: readSwitch(env, 'GRAPHIQL', true),
    introspection: readSwitch(env, 'INTROSPECTION', true),
    logLevel: readEnum(
      env,
      'LOG_LEVEL',
      ['debug', 'info', 'warn', 'error', 'silent'],
      nodeEnv === 'test' ? 'warn' : 'info',
    ),
  };
}
