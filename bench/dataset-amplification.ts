/**
 * Issue 12, item 3: the amplification query (20 aliases of `datasets { id previewRows(limit: 1) }`) with UPLOADS
 * uploads, and the first listing after a restart. Prints wall time and GET /api/health latency (p50/p99/max, one
 * probe every 20 ms from this process) while each runs. Knobs: UPLOADS (default 24), ROWS per upload (20000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { buildApp, type App } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UPLOADS = Number(process.env.UPLOADS ?? 24);
const ROWS = Number(process.env.ROWS ?? 20_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-bench-amplification-'));

async function start(): Promise<{ app: App; url: string }> {
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: path.join(dir, 'bench.db'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      LOG_LEVEL: 'warn',
    },
    repoRoot,
  );
  const app = await buildApp(config, { logger: createLogger('warn') });
  const { port } = await app.start();
  return { app, url: `http://127.0.0.1:${String(port)}` };
}

function csv(seed: number): string {
  const lines = ['period_days,depth_ppm,duration_hours,radius,teq,insol,snr,impact,notes,verdict'];
  for (let i = 0; i < ROWS; i++) {
    const v = (k: number) => (((i + 1) * k + seed) % 1000) / 7;
    lines.push(
      `${v(7919).toFixed(3)},${v(104729).toFixed(1)},${v(13).toFixed(2)},${v(31).toFixed(2)},${v(17).toFixed(0)},${v(3).toFixed(2)},${v(11).toFixed(1)},${v(5).toFixed(2)},note ${String(i)},${i % 3 ? 'real' : 'fake'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function upload(url: string, seed: number): Promise<void> {
  const form = new FormData();
  const query = 'mutation ($file: File!) { uploadDataset(file: $file, labelColumn: "verdict") { id } }';
  form.set('operations', JSON.stringify({ query, variables: { file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([csv(seed)]), `u${String(seed)}.csv`);
  const response = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'graphql-preflight': '1' } });
  if (!response.ok) throw new Error(`upload ${String(seed)}: ${String(response.status)} ${await response.text()}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Runs `query` once while probing health; prints wall time, response summary and health latency. */
async function measure(label: string, url: string, query: string): Promise<void> {
  const latencies: number[] = [];
  const state = { running: true };
  const probe = (async () => {
    while (state.running) {
      const t = performance.now();
      await (await fetch(`${url}/api/health`)).arrayBuffer();
      latencies.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  const wall = performance.now() - t0;
  state.running = false;
  await probe;
  const sorted = latencies.sort((a, b) => a - b);
  const outcome = body.errors?.length
    ? `${String(response.status)} ${body.errors[0]?.extensions?.code ?? ''}`
    : '200 data';
  console.log(
    `${label.padEnd(44)} wall ${wall.toFixed(0).padStart(6)} ms  ${outcome.padEnd(30)} health p50 ${percentile(sorted, 50).toFixed(1)} p99 ${percentile(sorted, 99).toFixed(1)} max ${(sorted.at(-1) ?? 0).toFixed(1)} ms (n=${String(sorted.length)})  rss +${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(0)} MB`,
  );
}

const amplification = `{ ${Array.from({ length: 20 }, (_, i) => `a${String(i)}: datasets { id previewRows(limit: 1) }`).join(' ')} }`;
const listing = '{ datasets { id name rowCount labelColumn classes featureColumns classCounts { label count } } }';

let server = await start();
for (let i = 0; i < UPLOADS; i++) await upload(server.url, i);
const bytes = fs
  .readdirSync(path.join(dir, 'uploads'))
  .reduce((sum, f) => sum + fs.statSync(path.join(dir, 'uploads', f)).size, 0);
console.log(`${String(UPLOADS)} uploads × ${String(ROWS)} rows (${(bytes / 1e6).toFixed(1)} MB in all)`);
await server.app.stop();

server = await start();
await measure('first listing after restart', server.url, listing);
await measure('amplification (20 aliases × datasets × previewRows)', server.url, amplification);
await measure('amplification again', server.url, amplification);
await measure('6 aliases (within the cost limit)', server.url, amplification.split(' a6:')[0] + ' }');
await server.app.stop();
fs.rmSync(dir, { recursive: true, force: true });
