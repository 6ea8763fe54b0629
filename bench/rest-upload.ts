/**
 * A CSV upload through REST (POST /api/upload, multipart) against the same upload over GraphQL (POST /graphql,
 * multipart uploadDataset) on one server, in one run: wall time per upload and the process's peak RSS above its
 * idle level while uploading. REST parses the multipart body once and passes the File to the same in-process
 * operation; before, it re-encoded the body as multipart for yoga, which parsed it again.
 * Run: npm run bench:rest-upload [-- <MB> <repeats>]  (default 30 MB, 5 uploads each). Shared machine: noisy.
 */
import fs from 'node:fs';
import { print } from 'graphql';
import { buildBenchApp } from './bench-server.js';

/** The operation REST runs for POST /api/upload, so both answers select the same fields. */
const UPLOAD_QUERY = print(await uploadDocument());

async function uploadDocument() {
  try {
    return (await import('../src/rest/operations/index.js')).UploadDatasetMutation;
  } catch {
    // Before the typed documents (for a comparison run on an older checkout): the same selection as a string.
    const { parse } = await import('graphql');
    return parse(
      'mutation ($file: File!, $name: String, $label: String) { uploadDataset(file: $file, name: $name, labelColumn: $label) { id name kind mission available hint rowCount labelColumn classes featureColumns classCounts { label count } createdAt originalFileName sizeBytes columns { name type missingShare } } }',
    );
  }
}

const sizeMb = Number(process.argv[2] ?? 30);
const repeats = Number(process.argv[3] ?? 5);

function csvOfSize(bytes: number): string {
  const lines = ['period,depth,duration,snr,label'];
  let size = lines[0].length + 1;
  for (let i = 0; size < bytes; i++) {
    const line = `${(1 + (i % 997) / 7).toFixed(4)},${String(100 + (i % 89))},${(2 + (i % 13) / 5).toFixed(2)},${String(7 + (i % 31))},${i % 2 ? 'planet' : 'false_positive'}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

const { app, dir } = await buildBenchApp('rest-upload', { MAX_UPLOAD_MB: String(sizeMb + 5) });
const { url } = await app.start();
const csv = new Blob([csvOfSize(sizeMb * 1024 * 1024)], { type: 'text/csv' });

async function viaRest(): Promise<void> {
  const form = new FormData();
  form.set('file', csv, 'bench.csv');
  form.set('label_column', 'label');
  const response = await fetch(`${url}/api/upload`, { method: 'POST', body: form });
  if (response.status !== 201) throw new Error(`REST upload: ${String(response.status)} ${await response.text()}`);
}

async function viaGraphQL(): Promise<void> {
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: UPLOAD_QUERY,
      variables: { file: null, label: 'label' },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', csv, 'bench.csv');
  const response = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'graphql-preflight': '1' } });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(`GraphQL upload: ${JSON.stringify(body.errors)}`);
}

async function measure(name: string, upload: () => Promise<void>): Promise<void> {
  await upload(); // warm-up
  global.gc?.();
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await upload();
    times.push(performance.now() - started);
  }
  clearInterval(sampler);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    `${name.padEnd(8)} ${String(sizeMb)} MB × ${String(repeats)}: median ${median.toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)}), peak RSS +${((peak - idle) / 1024 / 1024).toFixed(0)} MB over idle`,
  );
}

try {
  for (const round of [1, 2]) {
    console.log(`round ${String(round)}`);
    await measure('REST', viaRest);
    await measure('GraphQL', viaGraphQL);
  }
} finally {
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
