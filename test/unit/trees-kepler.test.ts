/**
 * Real-data check of the tree engine on the Kepler KOI table (physics-only columns, 3 classes, random 80/20
 * split), from the embedded snapshot or NASA_DATA_DIR.
 */
import { nasaTableText } from '../fixtures/nasa.js';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { matrix, takeLabels, takeRows, type Matrix, type TrainedClassifier } from '../../src/ml/types.js';
import { Random } from '../../src/ml/random.js';
import {
  ensembleOutput,
  randomForestTrainer,
  treeShap,
  treeShapAll,
  xgboostTrainer,
} from '../../src/ml/models/trees/index.js';
import { predictHelperReady, predictThreads, startPredictHelper } from '../../src/ml/models/trees/predict-parallel.js';
import { KEPLER_PHYSICS_12, ensembleOf } from './models-fixtures.js';

const LABELS: Record<string, number> = { 'FALSE POSITIVE': 0, CANDIDATE: 1, CONFIRMED: 2 };

function loadKepler(): { X: Matrix; y: Int32Array } {
  const text = nasaTableText('kepler')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
  const header = parsed.meta.fields ?? [];
  const features = KEPLER_PHYSICS_12.flatMap((c) => [c, `${c}_err1`, `${c}_err2`]).filter((c) => header.includes(c));
  const rows = parsed.data.filter((r) => r.koi_disposition in LABELS);
  const data = new Float64Array(rows.length * features.length);
  rows.forEach((r, i) => {
    features.forEach((c, j) => (data[i * features.length + j] = r[c] ? Number(r[c]) : NaN));
  });
  return { X: matrix(rows.length, features.length, data), y: Int32Array.from(rows, (r) => LABELS[r.koi_disposition]) };
}

function macroF1(proba: Float64Array, y: Int32Array, K: number): number {
  const tp = new Float64Array(K);
  const fp = new Float64Array(K);
  const fn = new Float64Array(K);
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

/** Σ contributions + baseValue = model output, for every class of `rows` test rows. */
function checkAdditivity(model: TrainedClassifier, X: Matrix, rows: number): void {
  const ensemble = ensembleOf(model);
  const M = X.cols;
  for (let r = 0; r < rows; r++) {
    const row = X.data.slice(r * M, (r + 1) * M);
    const out = ensembleOutput(ensemble, row);
    // Every class in one pass, and the single-class entry point on the planet class.
    const all = treeShapAll(ensemble, row);
    for (let k = 0; k < 3; k++) {
      let sum = all.baseValues[k];
      for (let j = 0; j < M; j++) sum += all.contributions[k * M + j];
      expect(Math.abs(sum - out[k])).toBeLessThanOrEqual(1e-6);
    }
    const planet = treeShap(ensemble, row, 2);
    let sum = planet.baseValue;
    for (const c of planet.contributions) sum += c;
    expect(Math.abs(sum - out[2])).toBeLessThanOrEqual(1e-6);
  }
}

/**
 * Every Kepler row (missing values included): probabilities on one thread and on two (the helper walks the second
 * half) are bit-identical, and equal a plain walk of the exposed trees (ensembleOutput) to 1e-12.
 */
async function checkPrediction(model: TrainedClassifier, X: Matrix, space: 'probability' | 'margin'): Promise<void> {
  const saved = predictThreads.count;
  try {
    predictThreads.count = 1;
    const one = model.predictProba(X);
    predictThreads.count = 2;
    startPredictHelper();
    for (let waited = 0; !predictHelperReady() && waited < 200; waited++) await new Promise((r) => setTimeout(r, 50));
    expect(predictHelperReady()).toBe(true);
    const two = model.predictProba(X);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    const ensemble = ensembleOf(model);
    let maxDiff = 0;
    for (let r = 0; r < X.rows; r++) {
      const out = ensembleOutput(ensemble, X.data.subarray(r * X.cols, (r + 1) * X.cols));
      if (space === 'margin') {
        const max = Math.max(...out);
        const e = Array.from(out, (m) => Math.exp(m - max));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let k = 0; k < 3; k++) out[k] = e[k] / sum;
      }
      for (let k = 0; k < 3; k++) maxDiff = Math.max(maxDiff, Math.abs(out[k] - one[r * 3 + k]));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-12);
  } finally {
    predictThreads.count = saved;
  }
}

describe('tree models on the Kepler table', () => {
  const { X, y } = loadKepler();
  const order = Uint32Array.from({ length: X.rows }, (_, i) => i);
  new Random(42).shuffle(order);
  const nTrain = Math.round(X.rows * 0.8);
  const Xtr = takeRows(X, order.subarray(0, nTrain));
  const ytr = takeLabels(y, order.subarray(0, nTrain));
  const Xte = takeRows(X, order.subarray(nTrain));
  const yte = takeLabels(y, order.subarray(nTrain));

  it('random forest reaches macro-F1 ≥ 0.70 and TreeSHAP adds up on 100 rows', async () => {
    const model = await randomForestTrainer.fit(Xtr, ytr, 3, { n_estimators: 60 }, { seed: 42, threads: 2 });
    const f1 = macroF1(model.predictProba(Xte), yte, 3);
    console.log(`Kepler random_forest (60 trees) macro-F1 ${f1.toFixed(4)}`);
    expect(f1).toBeGreaterThanOrEqual(0.7);
    checkAdditivity(model, Xte, 100);
    await checkPrediction(model, X, 'probability');
  });

  it('xgboost reaches macro-F1 ≥ 0.70 and TreeSHAP adds up on 100 rows', async () => {
    const model = await xgboostTrainer.fit(Xtr, ytr, 3, { n_estimators: 100 }, { seed: 42 });
    const f1 = macroF1(model.predictProba(Xte), yte, 3);
    console.log(`Kepler xgboost (100 rounds) macro-F1 ${f1.toFixed(4)}`);
    expect(f1).toBeGreaterThanOrEqual(0.7);
    checkAdditivity(model, Xte, 100);
    await checkPrediction(model, X, 'margin');
  });
});
