/**
 * Where the server's CPU goes in a single-row `predict` over GraphQL HTTP (speed issue 16 goal 6's breakdown): the
 * real server (buildApp, 127.0.0.1:0, a Kepler random forest of 100 trees trained through the API), load from another
 * process at a fixed open-loop rate (bench/load-generator.ts, server pinned to core 0 when taskset exists).
 *  1. server CPU µs per request (process.cpuUsage over the window ÷ answers), without the profiler;
 *  2. a V8 CPU profile of a second window (node:inspector, in this process), its samples attributed twice:
 *     self time by where the running code lives (package or source folder), and inclusive time of the stages a
 *     request goes through (a sample counts once for each stage on its stack).
 * CPU time per request, not wall latency, is the figure to compare: the machine is shared (load printed beside it).
 * Run: npm run bench:predict-profile [-- --rate 400 --seconds 4]
 */
import './production-env.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Session, type Profiler } from 'node:inspector/promises';
import { parseCsvBuffer } from '../src/ml/data/csv.js';
import { readNasaTable } from '../src/ml/data/nasa-source.js';
import { NASA_DIR, nasaTableSource } from '../test/fixtures/nasa.js';
import { buildBenchApp, settleWorkerThreads } from './bench-server.js';
import { gql as postGql, trainKeplerForest } from './graphql-http.js';
import { MAIN_THREAD, cpuByThread, loadLabel, startLoadGenerator, threadTicks } from './load-generator.js';

const PREDICT_QUERY =
  'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence probabilities { label probability } warnings } }';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}
const RATE = Number(option('rate', '400'));
const SECONDS = Number(option('seconds', '4'));
const ROUNDS = Number(option('rounds', '3'));
/** Profile yoga's path instead of the direct one. */
const PROFILE_YOGA = process.argv.includes('--profile-yoga');

/** Where a frame's code lives: a package, a source folder, Node's internals, or V8's pseudo-frames. */
function placeOf(frame: Profiler.ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native ${functionName || '(anonymous)'}`;
  }
  if (url.startsWith('node:')) return url.includes('http') || url.includes('net') ? 'node http/net' : 'node other';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (pkg) {
    if (pkg[1] === 'graphql') return `graphql/${pkg[2].split('/')[0]}`;
    return pkg[1];
  }
  const src = /\/(src|bench)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  return url;
}

/** Request stages by frame: graphql-js's own entry points and this server's pieces. */
function stageOf(frame: Profiler.ProfileNode['callFrame']): string | null {
  const { url, functionName } = frame;
  if (url.includes('graphql/language/parser')) return 'graphql parse';
  if (url.includes('graphql/validation/')) return 'graphql validate';
  if (url.includes('graphql/execution/')) return 'graphql execute';
  if (url.includes('@escape.tech')) return 'graphql-armor rules';
  if (url.includes('src/http/list-cost') || url.includes('src/http/request-errors')) return 'own validation plugins';
  if (url.includes('src/http/graphql-app') || url.includes('src/http/caller') || url.includes('src/http/context'))
    return 'context + caller';
  if (url.includes('src/services/owners')) return 'owner service';
  if (url.includes('src/services/training/queries')) return 'run queries (owner check, state)';
  if (url.includes('src/services/predictions')) return 'prediction service';
  if (url.includes('src/ml/')) return 'model (parse row, trees)';
  if (url.includes('src/schema/')) return 'resolvers';
  if (url.includes('drizzle-orm') || url.includes('better-sqlite3')) return 'database';
  if (url.includes('src/logger')) return 'logger';
  if (url.includes('src/http/server')) return 'edge handler (server.ts)';
  if (url.includes('@whatwg-node/server')) return 'fetch adapter (@whatwg-node/server)';
  if (url.includes('@whatwg-node/node-fetch')) return 'Fetch Request/Response/Headers (@whatwg-node/node-fetch)';
  if (url.includes('graphql-yoga')) return 'yoga';
  if (url.includes('@envelop/core')) return 'envelop';
  if (functionName === 'stringify' && url === '') return 'JSON.stringify';
  if (functionName === 'parse' && url === '') return 'JSON.parse';
  return null;
}

/** µs per request by thread name, as text for the tables. */
function perThread(
  before: ReturnType<typeof threadTicks>,
  after: ReturnType<typeof threadTicks>,
  answered: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, us, userUs, systemUs } of cpuByThread(before, after, answered))
    out[name] = `${Math.round(us)} µs/req (user ${Math.round(userUs)}, system ${Math.round(systemUs)})`;
  return out;
}

interface Attributed {
  totalUs: number;
  idleUs: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
}

function attribute(profile: Profiler.Profile): Attributed {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const stagesMemo = new Map<number, string[]>();
  const stagesOf = (id: number): string[] => {
    const memo = stagesMemo.get(id);
    if (memo) return memo;
    const stages = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      const stage = node ? stageOf(node.callFrame) : null;
      if (stage) stages.add(stage);
    }
    const list = [...stages];
    stagesMemo.set(id, list);
    return list;
  };
  let totalUs = 0;
  let idleUs = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]);
    const us = deltas[i + 1] ?? 0;
    if (!node) continue;
    const place = placeOf(node.callFrame);
    if (place === '(idle)') {
      idleUs += us;
      continue;
    }
    totalUs += us;
    self.set(place, (self.get(place) ?? 0) + us);
    for (const stage of stagesOf(node.id)) inclusive.set(stage, (inclusive.get(stage) ?? 0) + us);
  }
  return { totalUs, idleUs, self, inclusive };
}

const { app, dir } = await buildBenchApp('predict-profile', {
  NODE_ENV: 'production',
  SECRET_KEY: randomBytes(32).toString('hex'),
  HOST: '127.0.0.1',
  NASA_DATA_DIR: NASA_DIR,
});
try {
  const { url } = await app.start();
  const runId = await trainKeplerForest(url);
  const table = parseCsvBuffer(await readNasaTable(nasaTableSource('kepler')));
  const row = Object.fromEntries(table.columns.map((c, i) => [c, table.rows[17][i]]));
  const body = JSON.stringify({ query: PREDICT_QUERY, variables: { r: runId, rows: [row] } });
  await postGql(url, PREDICT_QUERY, { r: runId, rows: [row] });
  await settleWorkerThreads();

  const generator = startLoadGenerator({ pinServer: true });
  const session = new Session();
  session.connect();
  try {
    const window = async (warmupRequests: number, headers: Record<string, string> = {}) => {
      const cpu = process.cpuUsage();
      const threads = threadTicks();
      const routes = { ...app.services.predictions.routes };
      const report = await generator.run({
        kind: 'openLoop',
        url: `${url}/graphql`,
        body,
        headers,
        rate: RATE,
        durationS: SECONDS,
        warmupRequests,
      });
      const used = process.cpuUsage(cpu);
      const answered = report.ok + report.errors + warmupRequests;
      const byThread = perThread(threads, threadTicks(), answered);
      const { loop, worker } = app.services.predictions.routes;
      return {
        report,
        answered,
        cpuUs: (used.user + used.system) / answered,
        byThread,
        routed: `loop ${loop - routes.loop}, worker ${worker - routes.worker}`,
        load: loadLabel(),
      };
    };
    // yoga's own path, for comparison in the same run: a request with an Origin header (one CORS_ORIGINS does not
    // list, so no CORS headers) is left to yoga's Fetch layer by src/http/direct-graphql.ts; the answers are the same.
    const viaYoga = { origin: 'http://bench.invalid' };
    // One window of each first, not reported: the JIT warms both paths up (the first window cost twice the next).
    await window(300, viaYoga);
    await window(300);
    const windows: { label: string; w: Awaited<ReturnType<typeof window>> }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      windows.push({ label: 'yoga (Fetch layer)', w: await window(50, viaYoga) });
      windows.push({ label: 'direct (direct-graphql.ts)', w: await window(50) });
    }
    const plain = windows[windows.length - 1].w;
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const profiled = await window(50, PROFILE_YOGA ? viaYoga : {});
    const { profile } = await session.post('Profiler.stop');
    const { totalUs, idleUs, self, inclusive } = attribute(profile);
    const perRequest = (us: number) => Number((us / profiled.answered).toFixed(1));

    console.log(
      `single-row predict over HTTP GraphQL at ${RATE} req/s for ${SECONDS} s per window (${generator.placement}; body ${body.length} B)`,
    );
    console.table(
      [...windows, { label: `profiled (${PROFILE_YOGA ? 'yoga' : 'direct'})`, w: profiled }].map(({ label, w }) => ({
        window: label,
        answered: w.answered,
        errors: w.report.errors,
        'p50 ms': Number(w.report.p50.toFixed(2)),
        'p99 ms': Number(w.report.p99.toFixed(2)),
        'server CPU µs/req': Math.round(w.cpuUs),
        'main thread': w.byThread[MAIN_THREAD] ?? '',
        // Worker threads and V8's helper threads share core 0 with the event loop: their CPU is in the total.
        'other threads': Object.entries(w.byThread)
          .filter(([name]) => name !== MAIN_THREAD)
          .map(([name, figure]) => `${name} ${figure.split(' ')[0]}`)
          .join(', '),
        routed: w.routed,
        load: w.load,
      })),
    );
    const median = (label: string) => {
      const values = windows
        .filter((x) => x.label === label)
        .map((x) => x.w.cpuUs)
        .sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)];
    };
    console.log(
      `server CPU per request, median of ${ROUNDS} windows each: yoga ${Math.round(median('yoga (Fetch layer)'))} µs, direct ${Math.round(median('direct (direct-graphql.ts)'))} µs`,
    );
    console.log('server CPU by thread, plain window (Linux /proc, 10 ms ticks):');
    console.table(plain.byThread);
    console.log(
      `profile: ${perRequest(totalUs)} µs/req sampled on the main thread (busy), ${perRequest(idleUs)} µs/req idle; ` +
        'the profiler adds its own overhead, so read shares, and the plain window for the absolute figure',
    );
    const table1 = [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([place, us]) => ({
        'self time in': place,
        'µs/req': perRequest(us),
        share: `${((100 * us) / totalUs).toFixed(1)} %`,
      }));
    console.log('\nself time by where the code lives (top 25)');
    console.table(table1);
    console.log('\ninclusive time by stage (a sample counts for every stage on its stack; stages nest)');
    console.table(
      [...inclusive.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([stage, us]) => ({
          stage,
          'µs/req': perRequest(us),
          share: `${((100 * us) / totalUs).toFixed(1)} %`,
        })),
    );
    if (process.env.CPU_PROFILE_OUT) fs.writeFileSync(process.env.CPU_PROFILE_OUT, JSON.stringify(profile));
  } finally {
    session.disconnect();
    generator.close();
  }
} finally {
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
