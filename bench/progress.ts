/**
 * Progress-after-fitting benchmark (issue 9, item 5): trains a 1,000-tree random forest on the real Kepler table
 * through the real server (buildApp on 127.0.0.1:0, temp DB, the training worker) while a graphql-ws client
 * subscribes to trainingProgress, and prints:
 *  - the permutation-importance time (the run's timings; `explainSeconds` where the server has no separate figure),
 *  - the run's total time,
 *  - the longest gap between live events while the run is active (first RUNNING event → terminal event), and in
 *    which stage it fell; the events per stage.
 * Side by side with a saved earlier measurement: BENCH_SAVE=before stores this run's figures in
 * bench/results/progress-before.json; later runs print them as the "before" column.
 * Run: npm run bench:progress  (BENCH_TREES overrides 1000; NASA_DATA_DIR overrides the embedded snapshot.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { gql as postGraphQL } from './graphql-http.js';
import { buildBenchApp } from './bench-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const trees = Number(process.env.BENCH_TREES ?? 1000);
const resultsFile = path.join(here, 'results', 'progress-before.json');
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

// The real tables: NASA_DATA_DIR, else the server's own default (its data folder, else the embedded snapshot).
const nasaDir = process.env.NASA_DATA_DIR;

const { app, dir } = await buildBenchApp('progress', nasaDir ? { NASA_DATA_DIR: nasaDir } : {});
const { url, port } = await app.start();
const gql = <T>(query: string, variables: Record<string, unknown> = {}) => postGraphQL<T>(url, query, variables);

interface Event {
  seq: number;
  status: string;
  stage: string;
  step: number;
  totalSteps: number;
  etaSeconds: number | null;
  message: string | null;
}
interface Received {
  at: number;
  event: Event;
}

export interface Figures {
  measuredAt: string;
  commit: string | null;
  trees: number;
  permutationSeconds: number | null;
  explainSeconds: number | null;
  totalSeconds: number | null;
  longestGapSeconds: number;
  longestGapStage: string;
  eventsPerStage: Record<string, number>;
  permutationMethod: string | null;
}

function commit(): string | null {
  try {
    const head = fs.readFileSync(path.join(repoRoot, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 7);
    return fs
      .readFileSync(path.join(repoRoot, '.git', head.slice(5)), 'utf8')
      .trim()
      .slice(0, 7);
  } catch {
    return null;
  }
}

try {
  const kepler = await gql<{ datasets: { id: string; available: boolean }[] }>('{ datasets { id available } }');
  if (!kepler.datasets.some((d) => d.id === 'kepler' && d.available))
    throw new Error('The Kepler table is not available; set NASA_DATA_DIR.');

  const { createSession } = await gql<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await gql('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: {
      sessionId: createSession.id,
      datasetId: 'kepler',
      modelType: 'random_forest',
      hyperparameters: { n_estimators: trees },
    },
  });
  const { startTraining } = await gql<{ startTraining: { id: string } }>(
    'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
    { s: createSession.id },
  );
  const runId = startTraining.id;

  const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const received: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    client.subscribe<{ trainingProgress: Event }>(
      {
        query:
          'subscription ($r: ID!) { trainingProgress(runId: $r) { seq status stage step totalSteps etaSeconds message } }',
        variables: { r: runId },
      },
      {
        next: (value) => {
          if (value.data) received.push({ at: performance.now(), event: value.data.trainingProgress });
          if (value.errors?.length) reject(new Error(JSON.stringify(value.errors)));
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  await client.dispose();

  // Gaps while the run is active: from its first RUNNING event to the terminal one.
  const firstRunning = received.findIndex((r) => r.event.status === 'RUNNING');
  let longestGap = 0;
  let longestGapStage = 'n/a';
  const eventsPerStage: Record<string, number> = {};
  for (let i = Math.max(1, firstRunning + 1); i < received.length; i++) {
    const gap = (received[i].at - received[i - 1].at) / 1000;
    if (gap > longestGap) {
      longestGap = gap;
      // A gap belongs to the stage that was under way while nothing arrived; name both ends.
      const from = received[i - 1].event;
      const to = received[i].event;
      longestGapStage = `${from.stage} "${from.message ?? ''}" → ${to.stage}${to.stage === from.stage ? ` "${to.message ?? ''}"` : ''}`;
    }
  }
  for (const r of received.slice(Math.max(0, firstRunning)))
    eventsPerStage[r.event.stage] = (eventsPerStage[r.event.stage] ?? 0) + 1;
  const last = received.at(-1)?.event;
  if (!last || !TERMINAL.has(last.status)) throw new Error('The subscription ended without a terminal event.');
  if (last.status !== 'SUCCEEDED') throw new Error(`The run ended ${last.status}: ${last.message}`);

  // The permutation figure: a separate timing where the server reports one, else the whole explaining stage.
  const { trainingRun } = await gql<{ trainingRun: { timings: Record<string, number | null> | null } }>(
    'query ($id: ID!) { trainingRun(id: $id) { timings { explainSeconds totalSeconds } } }',
    { id: runId },
  );
  let permutationSeconds: number | null = null;
  let permutationMethod: string | null = null;
  try {
    const detail = await gql<{
      trainingRun: {
        timings: { permutationSeconds: number | null } | null;
        explanation: {
          permutation: {
            method: string;
            sampling: string;
            rowsPerRepeat: number;
            rowsTotal: number;
            repeats: number;
          } | null;
        } | null;
      };
    }>(
      'query ($id: ID!) { trainingRun(id: $id) { timings { permutationSeconds } explanation { permutation { method sampling rowsPerRepeat rowsTotal repeats } } } }',
      { id: runId },
    );
    permutationSeconds = detail.trainingRun.timings?.permutationSeconds ?? null;
    const p = detail.trainingRun.explanation?.permutation;
    if (p)
      permutationMethod = `${p.method}, ${p.sampling}: ${p.rowsPerRepeat} of ${p.rowsTotal} test rows, ${p.repeats} repeats`;
  } catch (error) {
    // A server without these fields (the code before issue 9): the explaining stage stands for it.
    if (!String(error).includes('Cannot query field')) throw error;
  }

  const figures: Figures = {
    measuredAt: new Date().toISOString(),
    commit: commit(),
    trees,
    permutationSeconds,
    explainSeconds: trainingRun.timings?.explainSeconds ?? null,
    totalSeconds: trainingRun.timings?.totalSeconds ?? null,
    longestGapSeconds: longestGap,
    longestGapStage,
    eventsPerStage,
    permutationMethod,
  };

  if (process.env.BENCH_SAVE === 'before') {
    fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
    fs.writeFileSync(resultsFile, `${JSON.stringify(figures, null, 2)}\n`);
  }
  const before: Figures | null =
    fs.existsSync(resultsFile) && process.env.BENCH_SAVE !== 'before'
      ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Figures)
      : null;

  const s = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(2)} s`);
  const permutationOf = (f: Figures) =>
    f.permutationSeconds !== null ? s(f.permutationSeconds) : `${s(f.explainSeconds)} (whole explaining stage)`;
  const stages = (f: Figures) =>
    Object.entries(f.eventsPerStage)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const rows: [string, (f: Figures) => string][] = [
    ['commit', (f) => `${f.commit ?? '?'} (${f.measuredAt.slice(0, 16)}Z)`],
    ['random forest trees', (f) => String(f.trees)],
    ['permutation importance', permutationOf],
    ['  method', (f) => f.permutationMethod ?? 'all test rows, 5 repeats (implicit)'],
    ['explaining stage', (f) => s(f.explainSeconds)],
    ['total run', (f) => s(f.totalSeconds)],
    ['longest gap between live events', (f) => s(f.longestGapSeconds)],
    ['  where', (f) => f.longestGapStage],
    ['events per stage', stages],
  ];
  console.log(
    `bench:progress — ${trees}-tree random forest on Kepler, real server, one graphql-ws subscriber; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`,
  );
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const column = Math.max(34, ...(before ? rows.map(([, f]) => f(before).length + 2) : [0]));
  console.log(`${''.padEnd(width)}${before ? 'before'.padEnd(column) : ''}${before ? 'after' : 'this run'}`);
  for (const [label, value] of rows)
    console.log(`${label.padEnd(width)}${before ? value(before).padEnd(column) : ''}${value(figures)}`);
  const ok = (figures.permutationSeconds ?? figures.explainSeconds ?? Infinity) <= 5 && figures.longestGapSeconds <= 2;
  console.log(`targets: permutation importance ≤ 5 s, longest gap ≤ 2 s → ${ok ? 'met' : 'NOT met'}`);
} finally {
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
