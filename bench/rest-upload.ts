/**
 * Issue 17 goal 2: parsing and validating a 34 MB CSV (bench:scale's seeded synthetic table, 200,000 rows × 21
 * columns) in ≤ 2 s through the server, streaming, off the event loop, memory ≤ 3× the file while parsing; pandas'
 * read_csv of the same file measured in the same run.
 *
 * Prints, in one run: where an upload's time goes (the server's own stage timings from its 'dataset uploaded' log
 * line: received (the file's last byte), written (.part closed), firstParsed (the upload thread's answer for its first
 * slice: before `received` when parsing overlaps receiving), validated, compressed, stored; and each stage's function
 * alone in this process: tokenising, the whole summary, sha256, gzip), then the
 * upload through REST (POST /api/upload) and through GraphQL (multipart uploadDataset), sent by curl, with wall and
 * CPU time (every thread of this process: the server, its upload thread, zlib's pool) and peak RSS above idle; first
 * the upload into a new upload thread (UPLOAD_WARM_UP off), then into the kept, warmed one (the server's default and
 * bench:scale's case), then `repeats` into the thread the last upload used.
 * Run: npm run bench:rest-upload [-- <rows> <repeats>]  (default 200,000 rows, 3 uploads each). The machine is
 * shared: wall times are noisy, compare CPU, and read `uptime` (printed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { print } from 'graphql';
import { createLogger } from '../src/logger.js';
import { streamCsvFile } from '../src/ml/data/csv-stream.js';
import { summarizeUpload } from '../src/ml/data/upload-summary.js';
import { UploadDatasetMutation } from '../src/rest/operations/index.js';
import { UPLOAD_GZIP_LEVEL } from '../src/ml/data/upload-copy.js';
import { closeUploadWorker, keepUploadThread, RecyclingPool } from '../src/services/worker-pool.js';
import { buildBenchApp } from './bench-server.js';
import { writeSyntheticCsv } from './synthetic.js';

const rows = Number(process.argv[2] ?? 200_000);
const repeats = Number(process.argv[3] ?? 3);
const GOAL_SECONDS = 2;
const GOAL_MEMORY = 3;
const PYTHON = '/usr/bin/python3';
const UPLOAD_QUERY = print(UploadDatasetMutation);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-bench-rest-upload-'));
const file = path.join(dir, 'synthetic.csv');
const bytes = writeSyntheticCsv(file, rows);
const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** Seconds the event loop's thread has run on a CPU (Linux: its schedstat, in ns); NaN elsewhere. */
function loopThreadSeconds(): number {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${String(process.pid)}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/**
 * Wall and CPU (every thread of this process; `loop`: the event loop's thread alone) of `run`, and the peak RSS above
 * the level before it.
 */
async function measured<T>(
  run: () => Promise<T> | T,
): Promise<{ value: T; wall: number; cpu: number; loop: number; rss: number }> {
  global.gc?.();
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const cpu = process.cpuUsage();
  const loopBefore = loopThreadSeconds();
  const started = performance.now();
  const value = await run();
  const wall = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const loop = loopThreadSeconds() - loopBefore;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { value, wall, cpu: (used.user + used.system) / 1e6, loop, rss: peak - idle };
}

/** pandas.read_csv of the file in its own process: wall and CPU seconds. */
async function pandas(): Promise<{ wall: number; cpu: number } | { error: string }> {
  const script =
    'import sys, time, json\nimport pandas as pd\nw = time.perf_counter(); c = time.process_time()\n' +
    'pd.read_csv(sys.argv[1])\nprint(json.dumps({"wall": time.perf_counter() - w, "cpu": time.process_time() - c}))';
  try {
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    return JSON.parse(stdout) as { wall: number; cpu: number };
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0] };
  }
}

/** The server's stage timings, read from its 'dataset uploaded' log lines. */
const stages: Record<string, number>[] = [];
const logger = createLogger('info', {}, (line) => {
  const entry = JSON.parse(line) as { msg?: string; level?: string; stages?: Record<string, number> };
  if (entry.msg === 'dataset uploaded' && entry.stages) stages.push(entry.stages);
  else if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(line + '\n');
});
const {
  app,
  config,
  dir: serverDir,
} = await buildBenchApp(
  'rest-upload',
  { LOG_LEVEL: 'info', MAX_UPLOAD_MB: String(Math.ceil(bytes / 2 ** 20) + 5) },
  logger,
);
const { url } = await app.start();
/** curl, in its own process, so that this process's CPU time is the server's alone. */
async function curl(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('curl', ['-sS', ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return stdout;
}

async function viaRest(): Promise<void> {
  const answer = await curl([
    '-w',
    '\n%{http_code}',
    `${url}/api/upload`,
    // The label before the file, as GraphQL's operations come before its file: the upload is parsed as it arrives.
    '-F',
    'label_column=label',
    '-F',
    `file=@${file};type=text/csv`,
  ]);
  if (!answer.endsWith('\n201')) throw new Error(`REST upload: ${answer.slice(0, 500)}`);
}

async function viaGraphQL(): Promise<void> {
  const operations = JSON.stringify({ query: UPLOAD_QUERY, variables: { file: null, label: 'label' } });
  const answer = await curl([
    `${url}/graphql`,
    '-H',
    'graphql-preflight: 1',
    '-F',
    `operations=${operations}`,
    '-F',
    `map=${JSON.stringify({ 0: ['variables.file'] })}`,
    '-F',
    `0=@${file};type=text/csv`,
  ]);
  if (!answer.includes('"uploadDataset":{')) throw new Error(`GraphQL upload: ${answer.slice(0, 500)}`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  console.log(
    `uptime: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (load 1/5/15 min, ${String(os.cpus().length)} cores)`,
  );
  console.log(`file: ${String(rows)} rows × 21 columns, ${mb(bytes)} (bench/synthetic.ts)`);
  const reference = await pandas();
  const pandasLine =
    'error' in reference
      ? `pandas: ${reference.error}`
      : `pandas read_csv: wall ${reference.wall.toFixed(2)} s, CPU ${reference.cpu.toFixed(2)} s`;
  console.log(pandasLine);

  console.log('\nstages alone, in this thread (second of two runs):');
  const alone: [string, () => unknown][] = [
    [
      'tokenise (no sink)',
      () => {
        let cells = 0;
        return streamCsvFile(file, {
          header: (names) => (cells = names.length),
          row: (row) => (cells += row.width),
        });
      },
    ],
    ['validate + summary', () => summarizeUpload(file, 'label')],
    ['sha256', () => createHash('sha256').update(fs.readFileSync(file)).digest('hex')],
    [
      `gzip level ${String(UPLOAD_GZIP_LEVEL)}`,
      () => gzipSync(fs.readFileSync(file), { level: UPLOAD_GZIP_LEVEL }).length,
    ],
  ];
  for (const [name, run] of alone) {
    await measured(run);
    const { wall, cpu, rss } = await measured(run);
    console.log(`  ${name.padEnd(20)} wall ${wall.toFixed(2)} s, CPU ${cpu.toFixed(2)} s, RSS +${mb(rss)}`);
  }

  const summary = await measured(() => summarizeUpload(file, 'label'));
  const memoryRatio = summary.rss / bytes;
  console.log(
    `  memory while parsing: peak RSS +${mb(summary.rss)} = ${memoryRatio.toFixed(2)}× the file (goal ≤ ${String(GOAL_MEMORY)}×) ${mark(memoryRatio <= GOAL_MEMORY)}`,
  );

  const results: Record<string, { wall: number[]; cpu: number[]; loop: number[]; rss: number }> = {};
  for (const [name, upload] of [
    ['REST', viaRest],
    ['GraphQL', viaGraphQL],
  ] as const) {
    const stageText = () =>
      Object.entries(stages.at(-1) ?? {})
        .map(([key, ms]) => `${key} ${ms.toFixed(0)} ms`)
        .join(' · ');
    // The first upload into a new upload thread (UPLOAD_WARM_UP off): the thread's start and its parser's cold JIT
    // come on top of the warm figure below.
    await closeUploadWorker();
    const cold = await measured(upload);
    console.log(
      `\n${name}: first upload into a new upload thread (UPLOAD_WARM_UP off): wall ${cold.wall.toFixed(2)} s, CPU ${cold.cpu.toFixed(2)} s; ` +
        `server stages: ${stageText()}`,
    );
    // The server's own case (bench:scale's every upload: its used thread ended while it trained): the kept thread,
    // started and warmed up beforehand.
    await closeUploadWorker();
    await sleep(500);
    const withoutThread = process.memoryUsage.rss();
    keepUploadThread(config.workerIdleMs);
    await RecyclingPool.allWarmedUp();
    await sleep(500);
    // What the idle server pays for the kept thread (UPLOAD_WARM_UP), in this process's RSS.
    const keptCost = process.memoryUsage.rss() - withoutThread;
    const kept = await measured(upload);
    console.log(
      `${name}: first upload into the kept, warmed upload thread (UPLOAD_WARM_UP on; idle RSS +${mb(keptCost)} for it): ` +
        `wall ${kept.wall.toFixed(2)} s, CPU ${kept.cpu.toFixed(2)} s; server stages: ${stageText()}`,
    );
    const wall: number[] = [];
    const cpu: number[] = [];
    const loop: number[] = [];
    let rss = 0;
    stages.length = 0;
    for (let i = 0; i < repeats; i++) {
      const run = await measured(upload);
      wall.push(run.wall);
      cpu.push(run.cpu);
      loop.push(run.loop);
      rss = Math.max(rss, run.rss);
    }
    results[name] = { wall, cpu, loop, rss };
    const keys = Object.keys(stages[0] ?? {});
    const stageLine = keys.map((key) => `${key} ${median(stages.map((s) => s[key])).toFixed(0)} ms`).join(' · ');
    console.log(
      `${name}: ${String(repeats)} uploads after it, median wall ${median(wall).toFixed(2)} s (min ${Math.min(...wall).toFixed(2)}), ` +
        `median CPU ${median(cpu).toFixed(2)} s (the event loop's thread ${median(loop).toFixed(2)} s), peak RSS +${mb(rss)} = ${(rss / bytes).toFixed(1)}× the file`,
    );
    console.log(`  server stages (ms since the resolver started, median): ${stageLine}`);
    const overlapped = stages.filter((s) => s.firstParsed < s.received).length;
    console.log(
      `  parsed while arriving: the upload thread's first slice parsed before the last byte arrived in ${String(overlapped)} of ${String(stages.length)} uploads; ` +
        `after the last byte: ${median(stages.map((s) => s.stored - s.received)).toFixed(0)} ms (write end, parse tail, gzip, DB row)`,
    );
    const before = median(stages.map((s, i) => wall[i] * 1000 - s.stored));
    console.log(`  before the resolver (headers, fields before the file) + the answer: ${before.toFixed(0)} ms`);
  }

  console.log(
    `\nuptime: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const rest = median(results.REST.wall);
  const restCpu = median(results.REST.cpu);
  const vsPandas =
    'error' in reference
      ? ''
      : ` · pandas ${reference.wall.toFixed(2)} s wall / ${reference.cpu.toFixed(2)} s CPU (${(rest / reference.wall).toFixed(1)}× its wall)`;
  console.log(
    `goal: ${mb(bytes)} parsed and validated through the server ≤ ${String(GOAL_SECONDS)} s: ${rest.toFixed(2)} s wall ${mark(rest <= GOAL_SECONDS)}, ${restCpu.toFixed(2)} s CPU ${mark(restCpu <= GOAL_SECONDS)}${vsPandas}`,
  );
} finally {
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(serverDir, { recursive: true, force: true });
}
