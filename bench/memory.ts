/**
 * Memory benchmark (issue 9, item 7): the real server as a child process (what `npm start` runs, plus a GC hook;
 * PORT=0, temporary DB and uploads), its resident set size read from /proc/<pid>/status (VmRSS of the
 * server process: worker threads are threads of that process, so their heaps and TensorFlow.js are included).
 *
 * Prints:
 *  - idle RSS after start (settled ~2 s after the server listens; no request made yet)  target ≤ 150 MB;
 *  - RSS after `health { tfBackend }` (the backend is reported without loading TensorFlow.js on the event loop);
 *  - for each of the 7 model types on Kepler (small but real hyperparameters): train, predict 50 rows, explain one
 *    row, predict the whole table in a batch; RSS after each, and the peak;
 *  - settled RSS after 15 s idle (worker threads that ran a task end after WORKER_IDLE_SECONDS, 10 s) and then a
 *    main-thread GC (SIGUSR2 → gc(), installed by a tiny --import hook)   target ≤ 350 MB.
 * Run: npm run bench:memory  (NASA_DATA_DIR: a folder with the tables, else the server's default: data/nasa, else the
 * embedded snapshot; BENCH_SETTLE_S: the idle wait after the workload, default 15; BENCH_MODELS=svm,pca: only these
 * model types (none: the idle figures only); BENCH_DETAIL=1: /proc/<pid>/status lines and the resident memory by kind
 * of mapping, e.g. what glibc keeps in the malloc arenas of threads that have ended).
 * Timings printed beside each model are wall clock on a shared machine: context only.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { gql } from './graphql-http.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
/** A folder with the NASA tables, else the server's default (its data folder, else the embedded snapshot). */
const nasaDir = process.env.NASA_DATA_DIR ? path.resolve(repoRoot, process.env.NASA_DATA_DIR) : null;
const settleSeconds = Number(process.env.BENCH_SETTLE_S ?? 15);
const detail = process.env.BENCH_DETAIL === '1';
const IDLE_TARGET_MB = 150;
const SETTLED_TARGET_MB = 350;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

const ALL_MODELS: { modelType: string; hyperparameters: Record<string, unknown> }[] = [
  { modelType: 'random_forest', hyperparameters: { n_estimators: 100 } },
  { modelType: 'xgboost', hyperparameters: { n_estimators: 100, max_depth: 6 } },
  { modelType: 'decision_tree', hyperparameters: { max_depth: 8 } },
  { modelType: 'logistic_regression', hyperparameters: {} },
  { modelType: 'svm', hyperparameters: { max_train_rows: 3000 } },
  { modelType: 'pca', hyperparameters: { n_components: 8 } },
  { modelType: 'neural_network', hyperparameters: { hidden_layers: [64, 32], epochs: 20 } },
];
const chosen = process.env.BENCH_MODELS?.split(',').map((m) => m.trim());
const MODELS = chosen ? ALL_MODELS.filter((m) => chosen.includes(m.modelType)) : ALL_MODELS;

// Lets the bench force a full collection of the server's main-thread heap before the settled reading: SIGUSR2 →
// gc() (SIGUSR1 is the inspector's). Not `--expose-gc` on the command line: piscina hands execArgv to its workers and
// Worker refuses that flag. Worker threads import the hook too, where signal listeners are inert.
const GC_HOOK_SOURCE = `import v8 from 'node:v8'; import vm from 'node:vm'; import { isMainThread } from 'node:worker_threads';
if (isMainThread) { v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc'); process.on('SIGUSR2', () => gc()); }`;
const GC_HOOK = `data:text/javascript,${encodeURIComponent(GC_HOOK_SOURCE)}`;

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

function statusLines(pid: number): string {
  return fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .filter((line) => /^(VmRSS|RssAnon|RssFile|RssShmem|VmHWM|Threads):/.test(line))
    .join('  ');
}

/** Resident memory of the process by kind of mapping (BENCH_DETAIL=1): where the RSS lives. */
function mappingBreakdown(pid: number): string {
  const groups = new Map<string, number>();
  let kind = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const size = parseInt(header[2], 16) - parseInt(header[1], 16);
      const name = header[3];
      if (name === '[heap]') kind = 'main malloc arena [heap]';
      else if (name.startsWith('/')) kind = 'files (node binary, libraries)';
      else if (name) kind = name;
      else if (size > 1024 ** 3) kind = 'anonymous > 1 GB (WASM memories)';
      // glibc's per-thread arenas are heaps of ≤ 64 MB aligned on 64 MB; they outlive their threads.
      else if (parseInt(header[1], 16) % (64 * 1024 ** 2) === 0 && size <= 64 * 1024 ** 2)
        kind = 'glibc thread malloc arenas (64 MB-aligned)';
      else if (size <= 256 * 1024) kind = 'anonymous ≤ 256 KB (V8 heap pages)';
      else if (size <= 64 * 1024 ** 2) kind = 'anonymous 256 KB–64 MB (V8 large objects, mmapped buffers)';
      else kind = 'anonymous 64 MB–1 GB';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) groups.set(kind, (groups.get(kind) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...groups]
    .filter(([, value]) => value >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, value]) => `    ${value.toFixed(0).padStart(4)} MB  ${name}`)
    .join('\n');
}

const mb = (value: number) => `${value.toFixed(0).padStart(4)} MB`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** The arguments after `node` in package.json's start script. */
function startScriptArgs(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [command, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`the start script does not run node: ${pkg.scripts.start}`);
  return args;
}

/** Polls RSS every 250 ms for `seconds`; returns the last reading (and the samples' min/max for context). */
async function settle(pid: number, seconds: number): Promise<{ last: number; min: number; max: number }> {
  let min = Infinity;
  let max = 0;
  let last = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    last = rssMb(pid);
    min = Math.min(min, last);
    max = Math.max(max, last);
    await sleep(250);
  }
  return { last, min, max };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-bench-memory-'));
  // Exactly what `npm start` runs (its node flags and entry), with the GC hook in front.
  const startArgs = startScriptArgs();
  const child = spawn(process.execPath, ['--import', GC_HOOK, ...startArgs], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: path.join(dir, 'bench.db'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      ...(nasaDir ? { NASA_DATA_DIR: nasaDir } : {}),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the server did not start');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => {
      reject(new Error(`server exited (${code}): ${stderr}`));
    }),
  );
  const started = performance.now();
  const url = await Promise.race([
    new Promise<string>((resolve) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /http:\/\/[^\s/]+:(\d+)\/graphql/.exec(stdout);
        if (match) resolve(`http://127.0.0.1:${match[1]}`);
      });
    }),
    exited,
  ]);
  const listenSeconds = (performance.now() - started) / 1000;

  try {
    console.log(
      `Memory benchmark — server pid ${pid}, Node ${process.version}, ${os.availableParallelism()} CPUs; RSS = VmRSS of the server process (worker threads included)`,
    );
    console.log(
      `server: node ${startArgs.join(' ')}  (npm start); Kepler from ${nasaDir ?? "the server's default source"}`,
    );
    console.log(`listening after ${listenSeconds.toFixed(1)} s`);
    const idle = await settle(pid, 2);
    console.log(
      `idle RSS after start (2 s settle)       ${mb(idle.last)}   target ≤ ${IDLE_TARGET_MB} MB  ${mark(idle.last <= IDLE_TARGET_MB)}`,
    );
    if (detail) console.log(`  ${statusLines(pid)}\n${mappingBreakdown(pid)}`);

    const { health } = await gql<{ health: { tfBackend: string | null } }>(url, '{ health { tfBackend } }');
    const { models } = await gql<{ models: { id: string; tfBackend: string | null }[] }>(
      url,
      '{ models { id tfBackend } }',
    );
    const nnBackend = models.find((m) => m.id === 'neural_network')?.tfBackend ?? null;
    await sleep(500);
    console.log(
      `after health/models (tfBackend ${health.tfBackend ?? 'null'} / ${nnBackend ?? 'null'})  ${mb(rssMb(pid))}`,
    );

    const { dataset } = await gql<{ dataset: { previewRows: Record<string, string | null>[] } }>(
      url,
      '{ dataset(id: "kepler") { previewRows(offset: 0, limit: 50) } }',
    );
    const rows = dataset.previewRows.map((row) =>
      Object.fromEntries(Object.entries(row).filter((entry): entry is [string, string] => entry[1] !== null)),
    );
    console.log(`after dataset preview                   ${mb(rssMb(pid))}`);

    let peak = rssMb(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
    for (const { modelType, hyperparameters } of MODELS) {
      const t0 = performance.now();
      const { createSession } = await gql<{ createSession: { id: string } }>(url, 'mutation { createSession { id } }');
      await gql(url, 'mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
        input: { sessionId: createSession.id, datasetId: 'kepler', modelType, hyperparameters },
      });
      const { startTraining } = await gql<{ startTraining: { id: string } }>(
        url,
        'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
        { s: createSession.id },
      );
      const runId = startTraining.id;
      let status = 'QUEUED';
      let error: string | null = null;
      while (!TERMINAL.has(status)) {
        await sleep(200);
        const { trainingRun } = await gql<{ trainingRun: { status: string; error: string | null } }>(
          url,
          'query ($r: ID!) { trainingRun(id: $r) { status error } }',
          { r: runId },
        );
        ({ status, error } = trainingRun);
      }
      if (status !== 'SUCCEEDED') throw new Error(`${modelType}: ${status} ${error ?? ''}`);
      const trained = (performance.now() - t0) / 1000;
      await gql(url, 'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence } }', {
        r: runId,
        rows,
      });
      await gql(url, 'query ($r: ID!, $row: JSON!) { explain(runId: $r, row: $row) { label output } }', {
        r: runId,
        row: rows[0],
      });
      await gql(url, 'mutation ($r: ID!) { predictBatch(runId: $r, datasetId: "kepler") { id rowCount } }', {
        r: runId,
      });
      console.log(
        `${modelType.padEnd(20)} trained in ${trained.toFixed(1).padStart(5)} s, predicted, explained, batch  RSS ${mb(rssMb(pid))}`,
      );
    }
    clearInterval(sampler);
    console.log(`peak RSS during the workload            ${mb(peak)}`);

    const waited = await settle(pid, settleSeconds);
    process.kill(pid, 'SIGUSR2');
    await sleep(1000);
    const settled = rssMb(pid);
    console.log(
      `settled RSS after ${settleSeconds} s idle + GC        ${mb(settled)}   target ≤ ${SETTLED_TARGET_MB} MB  ${mark(settled <= SETTLED_TARGET_MB)}  (${waited.max.toFixed(0)} MB at the start of the wait)`,
    );
    if (detail) console.log(`  ${statusLines(pid)}\n${mappingBreakdown(pid)}`);
  } finally {
    child.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
