/**
 * The dashboard's browser code (src/dashboard/client) bundled by esbuild on the first request and kept in memory:
 * a fresh clone serves /app after `npm ci && npm start` with no build step. esbuild runs as a short-lived child
 * process (its CLI), so nothing of it stays in this process and the event loop is never blocked.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface Bundle {
  js: Buffer;
  gzip: Buffer;
  etag: string;
  buildMs: number;
}

/** The entry next to this module: main.ts from the sources, main.js from `npm run build`'s dist. */
function entryPath(): string {
  for (const name of ['main.ts', 'main.js']) {
    const file = fileURLToPath(new URL(`./client/${name}`, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new Error('the dashboard entry (src/dashboard/client/main.ts) is missing');
}

/**
 * esbuild's install step replaces its bin/esbuild shim by the native binary where it can; otherwise the shim is a
 * Node script that starts the binary.
 */
function esbuildCommand(): [string, string[]] {
  const cli = createRequire(import.meta.url).resolve('esbuild/bin/esbuild');
  const head = Buffer.alloc(2);
  const fd = fs.openSync(cli, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  return head.toString('latin1') === '#!' ? [process.execPath, [cli]] : [cli, []];
}

/** Bundles the browser code with esbuild's CLI (minified ES2022 module); resolves with the JavaScript. */
export function buildBundle(entry = entryPath()): Promise<Buffer> {
  const args = [
    entry,
    '--bundle',
    '--minify',
    '--format=esm',
    '--platform=browser',
    '--target=es2022',
    '--legal-comments=none',
    '--log-level=error',
    '--charset=utf8',
  ];
  return new Promise((resolve, reject) => {
    // No NODE_OPTIONS: the CLI wrapper is plain JavaScript and needs none of the app's loaders.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const [command, prefix] = esbuildCommand();
    const child = spawn(command, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`esbuild failed (exit ${code}): ${Buffer.concat(err).toString('utf8').slice(0, 2000)}`));
    });
  });
}

let cached: Promise<Bundle> | null = null;

/** The bundle, built once per process; a failed build is retried on the next request. */
export function dashboardBundle(): Promise<Bundle> {
  if (!cached) {
    const started = performance.now();
    const pending = buildBundle().then((js) => ({
      js,
      gzip: gzipSync(js, { level: 9 }),
      etag: `"${createHash('sha256').update(js).digest('base64url').slice(0, 22)}"`,
      buildMs: Math.round(performance.now() - started),
    }));
    pending.catch(() => {
      if (cached === pending) cached = null;
    });
    cached = pending;
  }
  return cached;
}
