/** The scale-out variables (README "Scaling out"): defaults, bounds and the refusals that name the variable. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('scale-out configuration', () => {
  it('defaults to one process: SQLite, no Redis, embedded workers, two attempts, 30 s locks', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      databaseUrl: null,
      redisUrl: null,
      redisPrefix: 'exo:',
      embeddedWorkers: true,
      trainingAttempts: 2,
      queueLockMs: 30_000,
      queueStalledIntervalMs: 30_000,
      queueReconcileMs: 15_000,
      workerStopGraceMs: 10_000,
      dependencyWaitMs: 30_000,
      maxTrainingMs: 1_800_000,
    });
  });

  it('reads PostgreSQL, Redis and the queue settings, and checks the stalled-job scan against a short lock', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://exo:secret@127.0.0.1:5432/exo',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
      REDIS_PREFIX: 'class-a:',
      EMBEDDED_WORKERS: '0',
      TRAINING_ATTEMPTS: '3',
      QUEUE_LOCK_SECONDS: '10',
      QUEUE_RECONCILE_SECONDS: '5',
      WORKER_STOP_GRACE_SECONDS: '0',
      DEPENDENCY_WAIT_SECONDS: '0',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://exo:secret@127.0.0.1:5432/exo',
      redisUrl: 'redis://127.0.0.1:6379/2',
      redisPrefix: 'class-a:',
      embeddedWorkers: false,
      trainingAttempts: 3,
      queueLockMs: 10_000,
      // Defaults to the lock when the lock is shorter than 30 s: a dead worker's run is found within one lock.
      queueStalledIntervalMs: 10_000,
      queueReconcileMs: 5_000,
      workerStopGraceMs: 0,
      dependencyWaitMs: 0,
    });
  });

  it('refuses API-only processes without a shared queue', () => {
    const error = refusal({ EMBEDDED_WORKERS: '0' });
    expect(error.variable).toBe('EMBEDDED_WORKERS');
    expect(error.message).toContain('REDIS_URL');
  });

  it('never prints the database password when DATABASE_URL is malformed', () => {
    const error = refusal({ DATABASE_URL: 'mysql://exo:hunter2@db:3306/exo' });
    expect(error.variable).toBe('DATABASE_URL');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('postgres://');
  });

  it.each([
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_PREFIX', 'has spaces'],
    ['REDIS_PREFIX', 'x'.repeat(65)],
    ['EMBEDDED_WORKERS', 'yes'],
    ['TRAINING_ATTEMPTS', '0'],
    ['TRAINING_ATTEMPTS', '11'],
    ['QUEUE_LOCK_SECONDS', '0'],
    ['QUEUE_STALLED_CHECK_SECONDS', '3601'],
    ['QUEUE_RECONCILE_SECONDS', 'soon'],
    ['WORKER_STOP_GRACE_SECONDS', '-1'],
    ['DEPENDENCY_WAIT_SECONDS', '1.5'],
    ['MAX_TRAINING_SECONDS', '0'],
  ])('refuses %s=%s, naming it', (name, value) => {
    const env: Record<string, string> = { [name]: value };
    expect(refusal(env).variable).toBe(name);
  });
});
