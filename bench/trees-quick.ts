/**
 * Quick figures for the tree engine on the Kepler table (physics-only features, 3 classes, random 80/20 split):
 * fit time, predictProba on 10,000 rows, TreeSHAP per row, macro-F1, peak RSS.
 * Run: node --import tsx bench/trees-quick.ts [path/to/kepler_koi.csv]
 * Env: ONLY=rf|xgb|dt (one model), NO1=1 / NO2=1 (skip the 1- / 2-thread forest), STATS=1 (tree depth figures),
 * ALG2=1 (also time the published O(L·D²) TreeSHAP and compare it with the default one).
 * CPU figures (process.cpuUsage) are printed next to wall time: on a shared machine they are the steadier ones.
 */
import { readFileSync } from 'node:fs';
import { nasaTableText } from '../test/fixtures/nasa.js';
import Papa from 'papaparse';
import {
  matrix,
  takeLabels,
  takeRows,
  type Matrix,
  type ModelTrainer,
  type TrainedClassifier,
} from '../src/ml/types.js';
import { Random } from '../src/ml/random.js';
import {
  decisionTreeTrainer,
  randomForestTrainer,
  treeEnsembleOf,
  treeShap,
  xgboostTrainer,
} from '../src/ml/models/trees/index.js';
import { treeShapAlgorithm2 } from '../test/unit/treeshap-algorithm2.js';
import { KEPLER_PHYSICS_12 } from '../test/unit/models-fixtures.js';

const LABELS: Record<string, number> = { 'FALSE POSITIVE': 0, CANDIDATE: 1, CONFIRMED: 2 };

function loadKepler(path: string | undefined): { X: Matrix; y: Int32Array; features: string[] } {
  const text = (path ? readFileSync(path, 'utf8') : nasaTableText('kepler'))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
  const header = parsed.meta.fields ?? [];
  const features = KEPLER_PHYSICS_12.flatMap((c) => [c, `${c}_err1`, `${c}_err2`]).filter((c) => header.includes(c));
  const rows = parsed.data.filter((r) => r.koi_disposition in LABELS);
  const data = new Float64Array(rows.length * features.length);
  rows.forEach((r, i) => {
    features.forEach((c, j) => (data[i * features.length + j] = r[c] === '' ? NaN : Number(r[c])));
  });
  return {
    X: matrix(rows.length, features.length, data),
    y: Int32Array.from(rows, (r) => LABELS[r.koi_disposition]),
    features,
  };
}

function macroF1(proba: Float64Array, y: Int32Array, K: number): number {
  const tp = new Float64Array(K),
    fp = new Float64Array(K),
    fn = new Float64Array(K);
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (proba[i * K + k] > proba[i * K + best]) best = k;
    if (best === y[i]) tp[best]++;
    else {
      fp[best]++;
      fn[y[i]]++;
    }
  }
  let f1 = 0;
  for (let k = 0; k < K; k++) f1 += (2 * tp[k]) / Math.max(1, 2 * tp[k] + fp[k] + fn[k]);
  return f1 / K;
}

const path = process.argv[2]; // a kepler_koi.csv, else NASA_DATA_DIR or the embedded snapshot
const { X, y } = loadKepler(path);
const order = new Uint32Array(X.rows).map((_, i) => i);
new Random(42).shuffle(order);
const nTrain = Math.round(X.rows * 0.8);
const Xtr = takeRows(X, order.subarray(0, nTrain)),
  ytr = takeLabels(y, order.subarray(0, nTrain));
const Xte = takeRows(X, order.subarray(nTrain)),
  yte = takeLabels(y, order.subarray(nTrain));
const big = takeRows(
  X,
  Array.from({ length: 10_000 }, (_, i) => i % X.rows),
);
console.log(`Kepler: ${X.rows} rows × ${X.cols} features; train ${nTrain}, test ${X.rows - nTrain}`);

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

let peakRss = process.memoryUsage().rss;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10);

async function run(
  name: string,
  trainer: ModelTrainer,
  params: Record<string, number | string | null>,
  threads: number,
): Promise<TrainedClassifier> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const model = await trainer.fit(Xtr, ytr, 3, params, { seed: 42, threads });
  const fit = (performance.now() - t0) / 1000;
  const fitCpu = cpuSeconds(c0);
  model.predictProba(big);
  let predictMs = Infinity;
  for (let i = 0; i < 5; i++) {
    const c1 = process.cpuUsage();
    model.predictProba(big);
    predictMs = Math.min(predictMs, cpuSeconds(c1) * 1000);
  }
  const f1 = macroF1(model.predictProba(Xte), yte, 3);
  const ensemble = treeEnsembleOf(model);
  if (!ensemble) throw new Error('not a tree model');
  const row = Xte.data.subarray(0, Xte.cols);
  treeShap(ensemble, row, 2);
  const c2 = process.cpuUsage();
  const nShap = 50;
  for (let i = 0; i < nShap; i++) treeShap(ensemble, Xte.data.subarray(i * Xte.cols, (i + 1) * Xte.cols), 2);
  const shapMs = (cpuSeconds(c2) * 1000) / nShap;
  const row0 = Xte.data.subarray(0, Xte.cols);
  if (process.env.ALG2) {
    const t3 = performance.now();
    const a = treeShapAlgorithm2(ensemble, row0, 2).contributions;
    const alg2Ms = performance.now() - t3;
    const b = treeShap(ensemble, row0, 2).contributions;
    console.log(
      `  algorithm 2: ${alg2Ms.toFixed(1)} ms/row, max |diff| vs linear ${Math.max(...a.map((v, i) => Math.abs(v - b[i]))).toExponential(2)}`,
    );
  }
  const nodes = ensemble.trees.reduce((s, t) => s + t.nodeCount, 0);
  if (process.env.STATS) {
    let leafDepthSum = 0,
      leaves = 0,
      maxD = 0;
    for (const t of ensemble.trees) {
      const st = [0, 0];
      while (st.length) {
        const d = st.pop() ?? 0,
          n = st.pop() ?? 0;
        if (t.feature[n] < 0) {
          leafDepthSum += d;
          leaves++;
          maxD = Math.max(maxD, d);
        } else st.push(t.left[n], d + 1, t.right[n], d + 1);
      }
    }
    console.log(`  leaves ${leaves}, mean leaf depth ${(leafDepthSum / leaves).toFixed(1)}, max depth ${maxD}`);
  }
  console.log(
    `${name.padEnd(28)} fit ${fit.toFixed(2).padStart(6)} s (cpu ${fitCpu.toFixed(2)} s)  predict10k (cpu) ${predictMs.toFixed(1).padStart(6)} ms  ` +
      `treeshap/row (cpu) ${shapMs.toFixed(2).padStart(6)} ms  macroF1 ${f1.toFixed(4)}  trees ${ensemble.trees.length} nodes ${nodes}`,
  );
  return model;
}

const which = process.env.ONLY ?? 'all';
if (which === 'all' || which === 'rf') {
  if (!process.env.NO1) await run('random_forest 100 (1 thr)', randomForestTrainer, { n_estimators: 100 }, 1);
  if (process.env.NO2) process.exit(0);
  await run('random_forest 100 (2 thr)', randomForestTrainer, { n_estimators: 100 }, 2);
}
if (which === 'all' || which === 'xgb')
  await run('xgboost 100 rounds d6', xgboostTrainer, { n_estimators: 100, max_depth: 6 }, 1);
if (which === 'all' || which === 'dt') await run('decision_tree', decisionTreeTrainer, {}, 1);
clearInterval(rssTimer);
console.log(`peak RSS ${(peakRss / 1e6).toFixed(0)} MB (timings on a shared 2-core machine: noisy)`);
