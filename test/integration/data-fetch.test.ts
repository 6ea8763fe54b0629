/**
 * `npm run data:fetch` against a local stand-in for the archive's TAP service: a good download replaces the table,
 * and every failure (HTTP error, refused connection, wrong content, a much smaller table) names the host and the
 * cause, replaces nothing and leaves no empty folder behind.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNetworkError, fetchNasaTables, FetchError } from '../../src/tools/fetch-nasa.js';
import { nasaTableText } from '../fixtures/nasa.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
/** What TAP sync answers: the CSV without the archive's `#` header. */
const keplerCsv = nasaTableText('kepler')
  .split('\n')
  .filter((line) => !line.startsWith('#'))
  .join('\n');

let server: http.Server;
let base: string;
let mode: 'ok' | '503' | 'html' | 'small' = 'ok';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (mode === '503') return void res.writeHead(503, 'Service Unavailable').end('busy');
    if (mode === 'html')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Maintenance</body></html>\n');
    const body = mode === 'small' ? keplerCsv.split('\n').slice(0, 101).join('\n') + '\n' : keplerCsv;
    res.writeHead(200, { 'content-type': 'text/csv' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/TAP/sync`;
});
afterAll(
  () =>
    new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    ),
);

const tempDir = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fetch-')), 'nasa');
const quiet = { write: () => undefined };

describe('data:fetch', () => {
  it('downloads, checks and writes the table with its download date', async () => {
    mode = 'ok';
    const dir = tempDir();
    const [kepler] = await fetchNasaTables({ missions: ['kepler'], dir, force: false, tapUrl: base, ...quiet });
    expect(kepler).toMatchObject({ rows: 9564, labelledRows: 9564 });
    const text = fs.readFileSync(path.join(dir, 'kepler_koi.csv'), 'utf8');
    expect(text.split('\n')[0]).toMatch(
      /^# Downloaded by npm run data:fetch from 127\.0\.0\.1:\d+ \(table cumulative\) at \d{4}-\d\d-\d\dT/,
    );
    expect(fs.readdirSync(dir)).toEqual(['kepler_koi.csv']); // no temporary file left
  });

  it('refuses a download much smaller than the table it replaces, unless --force', async () => {
    mode = 'ok';
    const dir = tempDir();
    await fetchNasaTables({ missions: ['kepler'], dir, force: false, tapUrl: base, ...quiet });
    const before = fs.readFileSync(path.join(dir, 'kepler_koi.csv'), 'utf8');
    mode = 'small';
    const error = await fetchNasaTables({ missions: ['kepler'], dir, force: false, tapUrl: base, ...quiet }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /kepler: the download has 100 rows, far fewer than the 9564 of the table it would replace; kept the old one/,
    );
    expect(fs.readFileSync(path.join(dir, 'kepler_koi.csv'), 'utf8')).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(['kepler_koi.csv']);
    const [forced] = await fetchNasaTables({ missions: ['kepler'], dir, force: true, tapUrl: base, ...quiet });
    expect(forced.rows).toBe(100);
  });

  it('an HTTP error names the host and the status, suggests the snapshot and NASA_DATA_DIR, and leaves no folder', async () => {
    mode = '503';
    const dir = tempDir();
    const error = await fetchNasaTables({ missions: ['kepler'], dir, force: false, tapUrl: base, ...quiet }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toMatch(/kepler: 127\.0\.0\.1:\d+ answered HTTP 503 Service Unavailable/);
    expect((error as Error).message).toMatch(/embedded snapshot/);
    expect((error as Error).message).toMatch(/NASA_DATA_DIR/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('content that is not the table is refused and the old file is kept', async () => {
    const dir = tempDir();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'kepler_koi.csv'), keplerCsv);
    mode = 'html';
    const error = await fetchNasaTables({ missions: ['kepler'], dir, force: true, tapUrl: base, ...quiet }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/not (a CSV table|the cumulative table)/);
    expect(fs.readFileSync(path.join(dir, 'kepler_koi.csv'), 'utf8')).toBe(keplerCsv);
    expect(fs.readdirSync(dir)).toEqual(['kepler_koi.csv']);
  });

  it('a refused connection is named as such; the CLI prints one message and exits 1 without a stack trace', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) =>
      closed.close(() => {
        resolve();
      }),
    );
    const dir = tempDir();
    const result = await run(process.execPath, ['--import', 'tsx', 'scripts/fetch-nasa-data.ts', 'kepler'], {
      cwd: repoRoot,
      env: { ...process.env, NASA_DATA_DIR: dir, NASA_TAP_URL: `http://127.0.0.1:${port}/TAP/sync` },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `kepler: Could not download from 127\\.0\\.0\\.1:${port}: the connection was refused \\(ECONNREFUSED\\)`,
      ),
    );
    expect(result.stderr).toMatch(/NASA_DATA_DIR/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('names DNS failures and time-outs', () => {
    const dns = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND example.invalid'), { code: 'ENOTFOUND' }),
    });
    expect(describeNetworkError(dns, 'exoplanetarchive.ipac.caltech.edu')).toBe(
      'Could not download from exoplanetarchive.ipac.caltech.edu: the host name could not be resolved (DNS lookup failed: no network, or no DNS server here) (ENOTFOUND).',
    );
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    expect(describeNetworkError(timeout, 'h')).toMatch(/timed out/);
  });
});
