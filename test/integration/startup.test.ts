/**
 * What `npm start` prints, run as a person runs it (a child process): one summary with GraphiQL's address, the
 * datasets with rows and source, the TF.js backend and the database; one line for a port in use.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startServer } from './harness.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

interface Started {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts src/main.ts; resolves when `until` matches stdout (then stops it) or when it exits. */
function runServer(env: Record<string, string>, until: RegExp | null): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      // SQLite at DATABASE_PATH: these are the start-up messages of the database file.
      DATABASE_URL: '',
      NASA_DATA_DIR: path.join(dir, 'nasa'),
      DATABASE_PATH: path.join(dir, 'db.sqlite'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'development',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (until?.test(stdout)) child.kill('SIGTERM');
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('npm start', () => {
  it('prints one summary: GraphiQL URL, datasets with rows and source, TF.js backend, database path', async () => {
    const { stdout, stderr } = await runServer({}, /Uploads /);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/GraphiQL\s+http:\/\/127\.0\.0\.1:\d+\/graphql/);
    expect(stdout).toMatch(/kepler\s+9,564 rows \(embedded snapshot, exported 2025-11-16\)/);
    expect(stdout).toMatch(/k2\s+1,806 rows \(embedded snapshot/);
    expect(stdout).toMatch(/tess\s+7,771 rows \(embedded snapshot/);
    expect(stdout).toMatch(/TF\.js\s+\S/);
    expect(stdout).toMatch(/Database\s+\/.*db\.sqlite/);
  }, 90_000);

  it('names the folder checked when a table is missing and the snapshot is off', async () => {
    const { stdout } = await runServer({ NASA_EMBEDDED_SNAPSHOT: 'off' }, /Uploads /);
    expect(stdout).toMatch(
      /kepler\s+not available: The kepler table \(kepler_koi\.csv or kepler_koi\.csv\.gz\) is neither in \/\S+\/nasa \(NASA_DATA_DIR\)/,
    );
  }, 90_000);

  it('a port in use gives one line naming PORT and how to choose another, no stack trace', async () => {
    const busy = http.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const { code, stdout, stderr } = await runServer({ PORT: String(port) }, null);
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toEqual([
        `Port ${port} on 127.0.0.1 is already in use (another server is running there). Stop it, or choose another port: PORT=${port + 1} npm start`,
      ]);
      expect(stdout).not.toMatch(/GraphiQL/);
    } finally {
      await new Promise<void>((resolve) =>
        busy.close(() => {
          resolve();
        }),
      );
    }
  }, 90_000);

  it('a file path where a folder should be names the variable in one line (DATABASE_PATH, UPLOAD_DIR)', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'startup-file-')), 'plain-file');
    fs.writeFileSync(file, 'not a folder');
    const database = await runServer({ DATABASE_PATH: path.join(file, 'db.sqlite') }, null);
    expect(database.code).toBe(2);
    expect(database.stderr.trim().split('\n')).toEqual([
      `Cannot start: DATABASE_PATH: cannot use ${path.join(file, 'db.sqlite')}: a part of the path is a file, not a folder. Choose another path (DATABASE_PATH=...).`,
    ]);
    const uploads = await runServer({ UPLOAD_DIR: path.join(file, 'uploads') }, null);
    expect(uploads.code).toBe(2);
    expect(uploads.stderr.trim()).toMatch(
      /^Cannot start: UPLOAD_DIR: cannot use .*: a part of the path is a file, not a folder\./,
    );
  }, 90_000);
});

describe('one server per SQLite file', () => {
  it('refuses a second server on the same DATABASE_PATH, naming the first; a stale lock is taken over', async () => {
    const first = await startServer({ sqlite: true });
    try {
      const error = await startServer({ dir: first.dir, sqlite: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(
        /^DATABASE_PATH: .*test\.db is already used by another Exoplanet Playground server \(this process, since \d{4}-/,
      );
      expect((error as Error).message).toMatch(/DATABASE_PATH=data\/other\.db npm start/);
      // The first server is untouched.
      expect((await first.gql('{ health { status } }')).data).toEqual({ health: { status: 'ok' } });
    } finally {
      await first.stop();
    }
    // kill -9 leaves the lock behind with a pid that no longer runs: the next start takes it over.
    const gone = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) =>
      gone.once('exit', () => {
        resolve(gone.pid ?? 0);
      }),
    );
    fs.writeFileSync(
      path.join(first.dir, 'test.db.lock'),
      JSON.stringify({ pid: deadPid, host: os.hostname(), startedAt: '2026-01-01T00:00:00.000Z' }),
    );
    const again = await startServer({ dir: first.dir, sqlite: true });
    expect((await again.gql('{ health { status } }')).data).toEqual({ health: { status: 'ok' } });
    await again.stop();
    expect(fs.existsSync(path.join(first.dir, 'test.db.lock'))).toBe(false);
  }, 60_000);
});
