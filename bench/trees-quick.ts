/**
 * `npm run bench:trees`: the tree engine's goals beside the reference in the same run (bench/trees-reference.py:
 * scikit-learn RandomForest, XGBoost hist, 2 threads, on exactly the same matrices). Kepler (physics-only features,
 * 3 classes, random 80/20 split): predict 10,000 rows (forest and boosting ≤ 1.0× the reference and ≤ 50 ms), fit
 * (boosting and forest ≤ 1.0×); bench:scale's seeded synthetic table (20 features, 2 classes) at 20,000 and 200,000
 * rows: boosting fit ≤ 1.5× XGBoost hist, split 70/30. Medians of --repeat N (default 3) runs; ✓/✗ per goal.
 * TESS TOI (the mission's default features, 3 classes, random 80/20 split): boosting fit ≤ 1.0×.
 * Run: npm run bench:trees -- [--repeat 3] [--scale 20000,200000 | none] [--no-kepler] [--no-tess] [path/to/kepler_koi.csv]
 *
 * `--details`: the older per-model figures (fit, predict, TreeSHAP per row, macro-F1, peak RSS).
 * Env (with --details): ONLY=rf|xgb|dt (one model), NO1=1 / NO2=1 (skip the 1- / 2-thread forest), STATS=1 (tree depth figures),
 * ALG2=1 (also time the published O(L·D²) TreeSHAP and compare it with the default one).
 * CPU figures (process.cpuUsage) are printed next to wall time: on a shared machine they are the steadier ones.
 *
 * Boosting on the synthetic table is issue 17 goal 3's authority at 20,000 rows (bench:scale has no such size by
 * default). Both sides: 100 rounds, depth 6, learning rate 0.1, 2 threads, missing cells left missing, the fit
 * timed with its binning, no validation set. bench:scale's boosting row measures the same settings through the
 * server, where ours' fit also tracks the 10 % validation split each round (in-process, trainPipeline's fit and
 * this direct fit measured the same CPU at 200,000 rows: 3.90-5.40 s vs 4.53-5.23 s, 3 alternating rounds, load
 * 11-13) and runs on the lowered-priority training threads (src/ml/thread-priority.ts). At load ~10 its fit took
 * 9.75 s against 5.4-6.0 s here, not from the priority alone: this process run at nice 10 fitted as fast (5.65 and
 * 7.03 s against 6.92 and 7.13 s at nice 0, 140,000 rows, alternating, load 6-9). Here the histogram helper runs at
 * nice 10 beside this nice-0 thread and takes less of the work under load (0.5-0.6 of ~4.2 CPU s; 1.6-1.9 when both
 * are at nice 10, as the server's are).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { MISSIONS } from '../src/ml/data/missions.js';
import { median } from './stats.js';

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

/**
 * TESS TOI as the app reads it by default: the mission's default features, labels mapped to its three classes
 * (false positive, candidate, planet; unmapped labels dropped).
 */
function loadTess(): { X: Matrix; y: Int32Array } {
  const spec = MISSIONS.tess;
  const text = nasaTableText('tess')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
  const header = parsed.meta.fields ?? [];
  const features = spec.defaultFeatures.filter((c) => header.includes(c));
  const classes = ['false_positive', 'candidate', 'planet'];
  const classOf = (r: Record<string, string>): number => {
    const label = r[spec.labelColumn].trim().toUpperCase();
    return Object.hasOwn(spec.labelMap, label) ? classes.indexOf(spec.labelMap[label]) : -1;
  };
  const rows = parsed.data.filter((r) => classOf(r) >= 0);
  const data = new Float64Array(rows.length * features.length);
  rows.forEach((r, i) => {
    features.forEach((c, j) => (data[i * features.length + j] = r[c] === '' ? NaN : Number(r[c])));
  });
  return { X: matrix(rows.length, features.length, data), y: Int32Array.from(rows, classOf) };
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

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? undefined : process.argv[at + 1];
  return value ?? fallback;
}
const THREADS = 2;
const PREDICT_REPEATS = 10;
const csvPath = process.argv.slice(2).find((a) => a.endsWith('.csv')); // a kepler_koi.csv, else NASA_DATA_DIR or the snapshot
const { X, y } = loadKepler(csvPath);
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

// ---------------------------------------------------------------------------------------------------------------
// Goals beside the reference (issue 16 goals 1 and 3, issue 17 goal 3), measured in the same run.

interface Side {
  fitSeconds: number[];
  predictMs: number[];
  /** CPU time of every thread of the process: steadier than wall time on a loaded machine. */
  fitCpuSeconds: number[];
  predictCpuMs: number[];
  macroF1: number;
}

function writeBinary(file: string, a: Float64Array | Int32Array): void {
  writeFileSync(file, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

/** bench/trees-reference.py on exactly these matrices; null (with the reason printed) when it cannot run. */
function reference(
  models: ('rf' | 'xgb')[],
  train: Matrix,
  ytrain: Int32Array,
  test: Matrix,
  ytest: Int32Array,
  predict: Matrix,
  repeats: number,
): Record<string, Side> | null {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-trees-'));
  try {
    writeBinary(path.join(dir, 'train_X.bin'), train.data);
    writeBinary(path.join(dir, 'test_X.bin'), test.data);
    writeBinary(path.join(dir, 'predict_X.bin'), predict.data);
    writeBinary(path.join(dir, 'train_y.bin'), ytrain);
    writeBinary(path.join(dir, 'test_y.bin'), ytest);
    const config = { cols: train.cols, threads: THREADS, models, repeats, predictRepeats: PREDICT_REPEATS };
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'trees-reference.py');
    const result = spawnSync('/usr/bin/python3', [script, dir], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (result.status !== 0) {
      console.log(
        `  reference unavailable: ${(result.stderr || result.error?.message || '').trim().split('\n').at(-1)}`,
      );
      return null;
    }
    return JSON.parse(result.stdout) as Record<string, Side>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Best of PREDICT_REPEATS predictProba calls on `rows` (after a warm-up that also starts the prediction helper
 * thread): wall ms and CPU ms (both threads).
 */
async function predictBest(model: TrainedClassifier, rows: Matrix): Promise<{ wall: number; cpu: number }> {
  model.predictProba(rows);
  await new Promise((resolve) => setTimeout(resolve, 500));
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < PREDICT_REPEATS; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    model.predictProba(rows);
    wall = Math.min(wall, performance.now() - t0);
    cpu = Math.min(cpu, cpuSeconds(c0) * 1000);
  }
  return { wall, cpu };
}

async function ours(
  trainer: ModelTrainer,
  params: Record<string, number>,
  threads: number,
  train: Matrix,
  ytrain: Int32Array,
  test: Matrix,
  ytest: Int32Array,
  predict: Matrix | null,
  numClasses: number,
  repeats: number,
): Promise<Side> {
  const side: Side = { fitSeconds: [], predictMs: [], fitCpuSeconds: [], predictCpuMs: [], macroF1: NaN };
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const model = await trainer.fit(train, ytrain, numClasses, params, { seed: 42, threads });
    side.fitSeconds.push((performance.now() - t0) / 1000);
    side.fitCpuSeconds.push(cpuSeconds(c0));
    if (predict) {
      const { wall, cpu } = await predictBest(model, predict);
      side.predictMs.push(wall);
      side.predictCpuMs.push(cpu);
    }
    side.macroF1 = macroF1(model.predictProba(test), ytest, numClasses);
  }
  return side;
}

const mark = (ok: boolean): string => (ok ? '✓' : '✗');

function goalLine(
  what: string,
  our: number,
  ref: number | null | undefined,
  unit: string,
  ratioGoal: number,
  absGoal?: number,
  cpu?: { ours: number; ref: number | null | undefined },
): string {
  const digits = unit === 's' ? 2 : 1;
  let line = `  ${what.padEnd(34)} ours ${our.toFixed(digits).padStart(7)} ${unit}`;
  if (ref != null && Number.isFinite(ref)) {
    const ratio = our / ref;
    line += `  reference ${ref.toFixed(digits).padStart(7)} ${unit}  ratio ${ratio.toFixed(2)}× (goal ≤ ${ratioGoal.toFixed(1)}× ${mark(ratio <= ratioGoal)})`;
  } else line += '  reference -';
  if (absGoal !== undefined) line += `  goal ≤ ${absGoal} ${unit} ${mark(our <= absGoal)}`;
  if (cpu)
    line += `  | cpu, all threads: ours ${cpu.ours.toFixed(digits)} ${unit}, reference ${cpu.ref?.toFixed(digits) ?? '-'} ${unit}`;
  return line;
}

/** Issue 16 goal 3 on one table: the boosting fit ≤ 1.0× XGBoost hist, wall and CPU of all threads. */
function boostingFitLine(xgb: Side, ref: Side | undefined): string {
  return goalLine(
    'boosting 100 rounds d6: fit',
    median(xgb.fitSeconds),
    ref && median(ref.fitSeconds),
    's',
    1,
    undefined,
    {
      ours: median(xgb.fitCpuSeconds),
      ref: ref && median(ref.fitCpuSeconds),
    },
  );
}

/** The seeded synthetic table of bench:scale (same generator, cells rounded to 5 decimals as its CSV). */
function syntheticTable(rows: number): { X: Matrix; y: Int32Array } {
  let state = rows >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const F = 20;
  const data = new Float64Array(rows * F);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: F }, gaussian);
    const score = 1.2 * x[0] - 0.8 * x[1] + 0.6 * x[2] * x[3] + 0.5 * Math.sin(2 * x[4]) + 0.9 * gaussian();
    for (let j = 0; j < F; j++) data[i * F + j] = random() < 0.005 ? NaN : Number(x[j].toFixed(5));
    y[i] = score > 0 ? 1 : 0;
  }
  return { X: matrix(rows, F, data), y };
}

async function goals(): Promise<void> {
  const repeats = Math.max(1, Number(argument('repeat', '3')));
  const scaleArg = argument('scale', '20000,200000');
  const scaleRows = scaleArg === 'none' ? [] : scaleArg.split(',').map(Number);
  const skipKepler = process.argv.includes('--no-kepler');
  console.log(
    `bench:trees — Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )} on ${cpus().length} cores; medians of ${repeats} repeats; predict = best of ${PREDICT_REPEATS} calls, wall (both sides on ${THREADS} threads)`,
  );
  if (!skipKepler) {
    const ref = reference(['rf', 'xgb'], Xtr, ytr, Xte, yte, big, repeats);
    const rf = await ours(randomForestTrainer, { n_estimators: 100 }, THREADS, Xtr, ytr, Xte, yte, big, 3, repeats);
    const xgb = await ours(
      xgboostTrainer,
      { n_estimators: 100, max_depth: 6 },
      THREADS,
      Xtr,
      ytr,
      Xte,
      yte,
      big,
      3,
      repeats,
    );
    console.log(`Kepler (train ${Xtr.rows}, test ${Xte.rows}, predict ${big.rows} rows × ${X.cols} features)`);
    console.log(
      goalLine('random forest 100 trees: predict', median(rf.predictMs), ref && median(ref.rf.predictMs), 'ms', 1, 50, {
        ours: median(rf.predictCpuMs),
        ref: ref && median(ref.rf.predictCpuMs),
      }),
    );
    console.log(
      goalLine(
        'boosting 100 rounds d6: predict',
        median(xgb.predictMs),
        ref && median(ref.xgb.predictMs),
        'ms',
        1,
        50,
        {
          ours: median(xgb.predictCpuMs),
          ref: ref && median(ref.xgb.predictCpuMs),
        },
      ),
    );
    console.log(
      goalLine(
        'random forest 100 trees: fit',
        median(rf.fitSeconds),
        ref && median(ref.rf.fitSeconds),
        's',
        1,
        undefined,
        {
          ours: median(rf.fitCpuSeconds),
          ref: ref && median(ref.rf.fitCpuSeconds),
        },
      ),
    );
    console.log(boostingFitLine(xgb, ref?.xgb));
    console.log(
      `  macro-F1: forest ${rf.macroF1.toFixed(4)} (reference ${ref?.rf.macroF1.toFixed(4) ?? '-'}), boosting ${xgb.macroF1.toFixed(4)} (reference ${ref?.xgb.macroF1.toFixed(4) ?? '-'})`,
    );
    console.log(
      `  all fits (s): forest ${rf.fitSeconds.map((s) => s.toFixed(2)).join(' ')} / ${ref?.rf.fitSeconds.map((s) => s.toFixed(2)).join(' ') ?? '-'}; boosting ${xgb.fitSeconds.map((s) => s.toFixed(2)).join(' ')} / ${ref?.xgb.fitSeconds.map((s) => s.toFixed(2)).join(' ') ?? '-'}`,
    );
    console.log(
      `  all predicts (ms): forest ${rf.predictMs.map((s) => s.toFixed(1)).join(' ')} / ${ref?.rf.predictMs.map((s) => s.toFixed(1)).join(' ') ?? '-'}; boosting ${xgb.predictMs.map((s) => s.toFixed(1)).join(' ')} / ${ref?.xgb.predictMs.map((s) => s.toFixed(1)).join(' ') ?? '-'}`,
    );
  }
  if (!process.argv.includes('--no-tess')) {
    // Issue 16 goal 3: boosting fit ≤ 1.0× XGBoost hist on TESS too (random 80/20 split, as Kepler).
    const tess = loadTess();
    const tessOrder = new Uint32Array(tess.X.rows).map((_, i) => i);
    new Random(42).shuffle(tessOrder);
    const cut = Math.round(tess.X.rows * 0.8);
    const Ttr = takeRows(tess.X, tessOrder.subarray(0, cut));
    const Tytr = takeLabels(tess.y, tessOrder.subarray(0, cut));
    const Tte = takeRows(tess.X, tessOrder.subarray(cut));
    const Tyte = takeLabels(tess.y, tessOrder.subarray(cut));
    const none = matrix(0, tess.X.cols, new Float64Array(0));
    const ref = reference(['xgb'], Ttr, Tytr, Tte, Tyte, none, repeats);
    const xgb = await ours(
      xgboostTrainer,
      { n_estimators: 100, max_depth: 6 },
      THREADS,
      Ttr,
      Tytr,
      Tte,
      Tyte,
      null,
      3,
      repeats,
    );
    console.log(`TESS TOI (train ${Ttr.rows}, test ${Tte.rows} rows × ${tess.X.cols} features)`);
    console.log(boostingFitLine(xgb, ref?.xgb));
    console.log(
      `  macro-F1 ${xgb.macroF1.toFixed(4)} (reference ${ref?.xgb.macroF1.toFixed(4) ?? '-'}); all fits (s) ${xgb.fitSeconds.map((s) => s.toFixed(2)).join(' ')} / ${ref?.xgb.fitSeconds.map((s) => s.toFixed(2)).join(' ') ?? '-'}`,
    );
  }
  for (const rows of scaleRows) {
    const { X: SX, y: Sy } = syntheticTable(rows);
    const shuffled = new Uint32Array(rows).map((_, i) => i);
    new Random(42).shuffle(shuffled);
    const cut = Math.round(rows * 0.7);
    const Str = takeRows(SX, shuffled.subarray(0, cut));
    const Sytr = takeLabels(Sy, shuffled.subarray(0, cut));
    const Ste = takeRows(SX, shuffled.subarray(cut));
    const Syte = takeLabels(Sy, shuffled.subarray(cut));
    const none = matrix(0, SX.cols, new Float64Array(0));
    const ref = reference(['xgb'], Str, Sytr, Ste, Syte, none, repeats);
    const xgb = await ours(
      xgboostTrainer,
      { n_estimators: 100, max_depth: 6 },
      THREADS,
      Str,
      Sytr,
      Ste,
      Syte,
      null,
      2,
      repeats,
    );
    console.log(
      `Synthetic table of bench:scale, ${rows.toLocaleString('en')} rows (train ${Str.rows}, test ${Ste.rows}) × ${SX.cols}`,
    );
    console.log(
      goalLine(
        'boosting 100 rounds d6: fit',
        median(xgb.fitSeconds),
        ref && median(ref.xgb.fitSeconds),
        's',
        1.5,
        undefined,
        {
          ours: median(xgb.fitCpuSeconds),
          ref: ref && median(ref.xgb.fitCpuSeconds),
        },
      ),
    );
    console.log(
      `  macro-F1 ${xgb.macroF1.toFixed(4)} (reference ${ref?.xgb.macroF1.toFixed(4) ?? '-'}); all fits (s) ${xgb.fitSeconds.map((s) => s.toFixed(2)).join(' ')} / ${ref?.xgb.fitSeconds.map((s) => s.toFixed(2)).join(' ') ?? '-'}`,
    );
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

if (process.argv.includes('--details')) {
  const which = process.env.ONLY ?? 'all';
  if (which === 'all' || which === 'rf') {
    if (!process.env.NO1) await run('random_forest 100 (1 thr)', randomForestTrainer, { n_estimators: 100 }, 1);
    if (!process.env.NO2) await run('random_forest 100 (2 thr)', randomForestTrainer, { n_estimators: 100 }, 2);
  }
  if (which === 'all' || which === 'xgb')
    await run('xgboost 100 rounds d6', xgboostTrainer, { n_estimators: 100, max_depth: 6 }, 1);
  if (which === 'all' || which === 'dt') await run('decision_tree', decisionTreeTrainer, {}, 1);
  clearInterval(rssTimer);
  console.log(`peak RSS ${(peakRss / 1e6).toFixed(0)} MB (timings on a shared 2-core machine: noisy)`);
} else {
  clearInterval(rssTimer);
  await goals();
}
