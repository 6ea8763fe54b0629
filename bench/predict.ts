/**
 * Prediction and explanation figures on the real Kepler table, each goal with ✓/✗ beside its reference in the run:
 *  1. Speed issue 16 goal 6: single-row `predict` over HTTP GraphQL against the real server (buildApp on
 *     127.0.0.1:0, a Kepler random forest of 100 trees trained through the API) at increasing open-loop rates: the
 *     curve offered rate → achieved rate, p50, p99, server CPU per request. The load comes from another process
 *     (bench/load-generator.ts: a request every 1/rate s whatever the answers, latency from the actual send); with
 *     `taskset` the server process (event loop and worker threads) is pinned to core 0 and the generator to core 1.
 *     Goals: p99 ≤ 5 ms at 500 req/s; ≥ 2,000 req/s on one core before p99 exceeds 5 ms.
 *  2. TreeSHAP per row (mean over 100 rows; RF 100 trees, xgboost 100 rounds). Target ≤ 20 ms.
 *  3. Model-agnostic (sampling Shapley) explanation for logistic_regression and neural_network. Target ≤ 1 s.
 *  4. Batch prediction of the full Kepler table: over HTTP (worker, stored) and the pure path.
 * Explanations over HTTP: npm run bench:explain; `health` during costly predicts: npm run bench:predict-load.
 * Run: npm run bench:predict [-- --seconds 4 --rates 250,500,1000,1500,2000,2500,3000 --curve-only --no-settle]  (NASA_DATA_DIR defaults to the
 * embedded snapshot). The database and uploads live in a temporary folder, removed at the end.
 */
import './production-env.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import { decodeArtifactBytes } from '../src/ml/artifact.js';
import { parseCsvBuffer } from '../src/ml/data/csv.js';
import { readNasaTable } from '../src/ml/data/nasa-source.js';
import { NASA_DIR, nasaTableSource } from '../test/fixtures/nasa.js';
import { buildBenchApp, settleWorkerThreads } from './bench-server.js';
import { gql as postGql, trainKeplerForest } from './graphql-http.js';
import {
  MAIN_THREAD,
  cpuByThread,
  loadLabel,
  recordServerLatency,
  startLoadGenerator,
  threadTicks,
  type OpenLoopReport,
} from './load-generator.js';

const PREDICT_QUERY =
  'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence probabilities { label probability } warnings } }';
const P99_GOAL_MS = 5;
const GOAL_RATE = 500;
const GOAL_MAX_RATE = 2000;
/** Requests sent one at a time before the unreported first window, and before each window (counted in its CPU). */
const WARM_UP_REQUESTS = 300;
const WINDOW_WARM_UP_REQUESTS = 50;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}
const SECONDS = Number(option('seconds', '4'));
const RATES = option('rates', '250,500,1000,1500,2000,2500,3000')
  .split(',')
  .map(Number)
  .filter((rate) => rate > 0);

/** Measure right after training, the used thread's recycle and the warm-up still to come (the unsettled case). */
const NO_SETTLE = process.argv.includes('--no-settle');
/** Only section 1 (A/B rounds of the curve). */
const CURVE_ONLY = process.argv.includes('--curve-only');

const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** Kepler rows as the API takes them: raw strings keyed by column name, every column. */
async function keplerRows(): Promise<Record<string, string>[]> {
  const table = parseCsvBuffer(await readNasaTable(nasaTableSource('kepler')));
  return table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i]])));
}

const { app, dir } = await buildBenchApp('predict', {
  NODE_ENV: 'production',
  SECRET_KEY: randomBytes(32).toString('hex'),
  HOST: '127.0.0.1',
  NASA_DATA_DIR: NASA_DIR,
});
try {
  await main();
} finally {
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const { validateHyperparameters } = await import('../src/ml/catalog.js');
  const { DEFAULT_SPLIT_SIZES, featureMatrix, loadNasaTable } = await import('../src/ml/data/index.js');
  const { trainPipeline } = await import('../src/ml/pipeline.js');
  const { Predictor } = await import('../src/ml/predictor.js');
  const { treeEnsembleOf, treeShap } = await import('../src/ml/models/trees/index.js');
  type ModelTypeId = import('../src/ml/types.js').ModelTypeId;

  const { url } = await app.start();
  const gql = <T>(query: string, variables: Record<string, unknown> = {}) => postGql<T>(url, query, variables);
  console.log(
    `Exoplanet Playground — prediction benchmark (${os.cpus()[0]?.model ?? 'cpu'}; Node ${process.version}; ${loadLabel()})`,
  );

  // One Kepler random forest of 100 trees, trained through the API.
  let started = performance.now();
  const runId = await trainKeplerForest(url);
  console.log(
    `trained random_forest (100 trees) through the API in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const allRows = await keplerRows();
  const rowOf = (r: number) => allRows[r % allRows.length];
  const body = JSON.stringify({ query: PREDICT_QUERY, variables: { r: runId, rows: [rowOf(17)] } });
  await gql(PREDICT_QUERY, { r: runId, rows: [rowOf(17)] });
  if (!NO_SETTLE) await settleWorkerThreads();

  // 1. The curve: open-loop rates, load from the other core.
  const generator = startLoadGenerator({ pinServer: true });
  const routes = app.services.predictions.routes;
  const routesBefore = { ...routes };
  const curve: (OpenLoopReport & {
    cpuUs: number;
    mainUs: number;
    otherUs: number;
    server: ReturnType<ReturnType<typeof recordServerLatency>['stop']>;
    load: string;
  })[] = [];
  try {
    let misses = 0;
    // One window first, not reported: the request path's first requests run cold code and V8 compiles it on other
    // threads (bench:predict-profile: the first window cost about twice the next), which is start-up, not throughput.
    await generator.run({
      kind: 'openLoop',
      url: `${url}/graphql`,
      body,
      rate: RATES[0],
      durationS: 2,
      warmupRequests: WARM_UP_REQUESTS,
    });
    for (const rate of RATES) {
      const cpu = process.cpuUsage();
      const threads = threadTicks();
      const serverLatency = recordServerLatency();
      const report = await generator.run({
        kind: 'openLoop',
        url: `${url}/graphql`,
        body,
        rate,
        durationS: SECONDS,
        warmupRequests: WINDOW_WARM_UP_REQUESTS,
      });
      const used = process.cpuUsage(cpu);
      const server = serverLatency.stop();
      const answered = report.ok + report.errors + WINDOW_WARM_UP_REQUESTS;
      const byThread = cpuByThread(threads, threadTicks(), answered);
      const mainUs = byThread.find((t) => t.name === MAIN_THREAD)?.us ?? NaN;
      const cpuUs = (used.user + used.system) / answered;
      curve.push({ ...report, cpuUs, mainUs, otherUs: cpuUs - mainUs, server, load: loadLabel() });
      // Two rates in a row over the goal: the rest of the curve says nothing more.
      misses = report.p99 > P99_GOAL_MS || report.achievedRate < 0.95 * rate ? misses + 1 : 0;
      if (misses >= 2) break;
    }
  } finally {
    generator.close();
  }
  console.log(
    `\n1. single-row predict over HTTP GraphQL, open loop, ${SECONDS} s per rate (body ${body.length} B: one full Kepler row); ${generator.placement}`,
  );
  console.table(
    curve.map((r) => ({
      'offered req/s': r.rate,
      'achieved req/s': Math.round(r.achievedRate),
      ok: r.ok,
      errors: r.errors,
      'p50 ms': Number(r.p50.toFixed(2)),
      'p99 ms': Number(r.p99.toFixed(2)),
      'max ms': Number(r.max.toFixed(1)),
      'send lag p99 ms': Number(r.sendLagP99.toFixed(2)),
      'from intended p50/p99 ms': `${r.fromIntendedP50.toFixed(2)} / ${r.fromIntendedP99.toFixed(2)}`,
      'in server p50/p99 ms': `${r.server.p50.toFixed(2)} / ${r.server.p99.toFixed(2)}`,
      'GC pauses n / ms / max': `${r.server.gc.count} / ${Math.round(r.server.gc.totalMs)} / ${r.server.gc.maxMs.toFixed(1)}`,
      'server CPU µs/req': Math.round(r.cpuUs),
      'main / other threads µs/req': `${Math.round(r.mainUs)} / ${Math.round(r.otherUs)}`,
      [`p99 ≤ ${P99_GOAL_MS} ms`]: mark(r.p99 <= P99_GOAL_MS && r.achievedRate >= 0.95 * r.rate),
      load: r.load,
    })),
  );
  console.log(
    "   p50/p99: from the actual send to the answer read (the goal's figure: the server's queueing comes after the\n" +
      "   send, so it hides none of it); from intended send: plus the generator's lag (its timers, GC, other processes on\n" +
      "   its core); in server: headers parsed to response handed to the socket (Node's http diagnostics channels).\n" +
      "   GC pauses: the event loop's, in the window (count, total ms, longest ms).\n" +
      "   server CPU: the whole process (process.cpuUsage), split into the event loop's thread and all others\n" +
      `   (/proc, 10 ms ticks). Worker threads ${NO_SETTLE ? 'NOT settled (--no-settle): the used training thread is recycled and its successor warms up ~10 s after the training, inside the curve' : 'settled first: the used training thread recycled and the kept one warmed up before the curve'};\n` +
      `   an unreported 2 s window at ${RATES[0]} req/s warms the request path up first.`,
  );
  console.log(
    `   answered on the event loop: ${routes.loop - routesBefore.loop}, in the inference worker: ${routes.worker - routesBefore.worker}`,
  );
  const at500 = curve.find((r) => r.rate === GOAL_RATE);
  const sustained = curve.filter((r) => r.p99 <= P99_GOAL_MS && r.achievedRate >= 0.95 * r.rate);
  const best = sustained.reduce((a, r) => Math.max(a, r.rate), 0);
  console.log(
    `   goal: p99 ≤ ${P99_GOAL_MS} ms at ${GOAL_RATE} req/s — ${at500 ? `${mark(at500.p99 <= P99_GOAL_MS)} p99 ${at500.p99.toFixed(2)} ms` : 'not measured'}`,
  );
  console.log(
    `   goal: ≥ ${GOAL_MAX_RATE} req/s on one core with p99 ≤ ${P99_GOAL_MS} ms — ${mark(best >= GOAL_MAX_RATE)} highest offered rate held: ${best} req/s`,
  );

  if (CURVE_ONLY) return;

  // 2. TreeSHAP per row, pure path (the explain worker runs the same code).
  const kepler = await loadNasaTable(NASA_DIR, 'kepler');
  const train = async (modelType: ModelTypeId, hyperparameters: Record<string, unknown>) => {
    const result = await trainPipeline(kepler, {
      modelType,
      hyperparameters: validateHyperparameters(modelType, hyperparameters),
      features: null,
      useVettingFeatures: false,
      task: 'THREE_CLASS',
      split: DEFAULT_SPLIT_SIZES,
      seed: 1,
    });
    return Predictor.load(result.artifact);
  };
  const rows = Array.from({ length: 100 }, (_, i) => rowOf(i * 97));
  const shapRows: Record<string, unknown>[] = [];
  for (const [modelType, hyperparameters, label] of [
    ['random_forest', { n_estimators: 100 }, 'RF 100 trees'],
    ['xgboost', { n_estimators: 100 }, 'xgboost 100 rounds'],
  ] as const) {
    const predictor = await train(modelType, hyperparameters);
    const ensemble = treeEnsembleOf(predictor.model);
    if (!ensemble) throw new Error('not a tree model');
    const nodes = ensemble.trees.reduce((a, t) => a + t.feature.length, 0);
    predictor.explain(rows[0]);
    const X = predictor.preprocessor.transform(featureMatrix(kepler, predictor.features));
    const cols = X.cols;
    const cpu = process.cpuUsage();
    started = performance.now();
    for (const row of rows) predictor.explain(row);
    const explainMs = (performance.now() - started) / rows.length;
    const explainCpuMs = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1000 / rows.length;
    started = performance.now();
    for (let i = 0; i < 100; i++) treeShap(ensemble, X.data.subarray(i * cols, (i + 1) * cols), 2);
    const shapMs = (performance.now() - started) / 100;
    shapRows.push({
      model: label,
      trees: ensemble.trees.length,
      nodes,
      'treeShap ms/row': Number(shapMs.toFixed(2)),
      'explain() ms/row': Number(explainMs.toFixed(2)),
      'explain() CPU ms/row': Number(explainCpuMs.toFixed(2)),
      '≤ 20 ms': mark(explainMs <= 20),
    });
  }
  console.log('\n2. TreeSHAP per row (mean over 100 Kepler rows, predicted class; pure path) — target ≤ 20 ms');
  console.table(shapRows);
  console.log('   explanations over HTTP (worker, predictor kept by run id): npm run bench:explain');

  // 3. Model-agnostic explanations.
  const agnosticRows: Record<string, unknown>[] = [];
  for (const [modelType, hyperparameters] of [
    ['logistic_regression', {}],
    ['neural_network', { epochs: 20 }],
  ] as const) {
    const predictor = await train(modelType, hyperparameters);
    predictor.explain(rows[0]);
    const times: number[] = [];
    let residual = 0;
    for (const row of rows.slice(0, 10)) {
      const t = performance.now();
      const e = predictor.explain(row);
      times.push(performance.now() - t);
      residual = Math.max(residual, Math.abs(e.residual));
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    agnosticRows.push({
      model: modelType,
      method: 'sampling Shapley (32 permutations, 64 background rows)',
      'mean ms': Number(mean.toFixed(1)),
      'max ms': Number(times[times.length - 1].toFixed(1)),
      'max |residual|': residual,
      '≤ 1 s': mark(times[times.length - 1] <= 1000),
    });
  }
  console.log('\n3. model-agnostic explanation per row (10 Kepler rows) — target ≤ 1 s');
  console.table(agnosticRows);

  // 4. Batch prediction of the full table.
  started = performance.now();
  const { predictBatch } = await gql<{ predictBatch: { id: string; rowCount: number } }>(
    'mutation ($r: ID!) { predictBatch(runId: $r, datasetId: "kepler") { id rowCount } }',
    { r: runId },
  );
  const httpBatchS = (performance.now() - started) / 1000;
  started = performance.now();
  const csv = await (await fetch(`${url}/api/predictions/${predictBatch.id}.csv`)).text();
  const csvS = (performance.now() - started) / 1000;
  const stored = await app.services.models.bytes(runId);
  if (!stored) throw new Error(`run ${runId} has no stored model`);
  const forest = await Predictor.load(decodeArtifactBytes(gunzipSync(stored)));
  const features = featureMatrix(kepler, forest.features);
  started = performance.now();
  forest.predictMatrix(features);
  const pureS = (performance.now() - started) / 1000;
  console.log('\n4. batch prediction of the full Kepler table (RF 100 trees)');
  console.table([
    {
      path: 'predictBatch over HTTP (worker: load + predict; store rows in SQLite)',
      rows: predictBatch.rowCount,
      seconds: Number(httpBatchS.toFixed(2)),
    },
    {
      path: 'GET /api/predictions/<id>.csv',
      rows: csv.trimEnd().split('\n').length - 1,
      seconds: Number(csvS.toFixed(2)),
    },
    {
      path: 'pure predictMatrix (features parsed, no storage)',
      rows: features.rows,
      seconds: Number(pureS.toFixed(2)),
    },
  ]);
}
