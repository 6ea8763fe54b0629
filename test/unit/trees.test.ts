import { describe, expect, it } from 'vitest';
import {
  AbortError,
  matrix,
  type Matrix,
  type ModelTrainer,
  type StepProgress,
  type TrainedClassifier,
} from '../../src/ml/types.js';
import { Random } from '../../src/ml/random.js';
import {
  BoostedTreesModel,
  decisionTreeTrainer,
  ensembleOutput,
  randomForestTrainer,
  treeShap,
  xgboostTrainer,
} from '../../src/ml/models/trees/index.js';
import { binColumns, binOf, fitBinMapper, sortFinite } from '../../src/ml/models/trees/binning.js';
import { GradientTreeGrower, HALVED_BUILD_MIN_ROWS } from '../../src/ml/models/trees/grow-gradient.js';
import { prestartedHistogramHelper, prestartHistogramHelper } from '../../src/ml/models/trees/grow-helper.js';
import { buildHistogram } from '../../src/ml/models/trees/histogram.js';
import { ensembleOf, instanceOf, stored } from './models-fixtures.js';

const trainers: [string, ModelTrainer, Record<string, number>][] = [
  ['decision_tree', decisionTreeTrainer, {}],
  ['random_forest', randomForestTrainer, { n_estimators: 12 }],
  ['xgboost', xgboostTrainer, { n_estimators: 15, max_depth: 4 }],
];

/** 3 classes driven by features 0 and 1 (with noise), the other features are noise; ~5 % missing. */
function synthetic(rows: number, cols: number, seed: number, missing = 0.05): { X: Matrix; y: Int32Array } {
  const rng = new Random(seed);
  const data = new Float64Array(rows * cols);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[r * cols + c] = rng.next() < missing ? NaN : rng.normal();
    const a = data[r * cols] || 0;
    const b = data[r * cols + 1] || 0;
    const score = a + 0.7 * b * b - 0.5 + 0.3 * rng.normal();
    y[r] = score < -0.3 ? 0 : score < 0.6 ? 1 : 2;
  }
  return { X: matrix(rows, cols, data), y };
}

function fromRows(rows: number[][]): Matrix {
  return matrix(rows.length, rows[0].length, Float64Array.from(rows.flat()));
}

function rowSumsAreOne(p: Float64Array, K: number): void {
  for (let r = 0; r < p.length / K; r++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      expect(p[r * K + k]).toBeGreaterThanOrEqual(0);
      s += p[r * K + k];
    }
    expect(s).toBeCloseTo(1, 12);
  }
}

function bytesOf(a: Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('binning', () => {
  it('uses midpoints between few distinct values and ≤ 255 quantile bins for many', () => {
    const rows = 2000;
    const data = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      data[r * 2] = [1, 2, 5][r % 3];
      data[r * 2 + 1] = r % 7 === 0 ? NaN : Math.sin(r) * 1000 + r;
    }
    const mapper = fitBinMapper(matrix(rows, 2, data));
    expect(Array.from(mapper.edges[0])).toEqual([1.5, 3.5, Infinity]);
    expect(mapper.numBins[1]).toBeLessThanOrEqual(255);
    expect(mapper.numBins[1]).toBeGreaterThan(200);
    expect(binOf(mapper, 1, NaN)).toBe(mapper.numBins[1]);
    // Bins agree with the raw thresholds: x ≤ edges[b] ⇔ bin(x) ≤ b.
    for (let r = 0; r < rows; r++) {
      const x = data[r * 2 + 1];
      if (Number.isNaN(x)) continue;
      const b = binOf(mapper, 1, x);
      expect(x <= mapper.edges[1][b]).toBe(true);
      if (b > 0) expect(x > mapper.edges[1][b - 1]).toBe(true);
    }
  });

  it("binColumns' four-row fixed-step search gives binOf's bin for every value (edges exactly, ±∞, NaN, few and 255 bins)", () => {
    const rng = new Random(11);
    const rows = 3001; // not a multiple of four: the tail is binned one row at a time
    const cols = 3;
    const data = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      data[r * cols] = rng.normal();
      data[r * cols + 1] = [1, 2, 5][r % 3];
      data[r * cols + 2] = r % 11 === 0 ? NaN : r % 13 === 0 ? Infinity : r % 17 === 0 ? -Infinity : rng.int(300);
    }
    const X = matrix(rows, cols, data);
    const mapper = fitBinMapper(X);
    // Values exactly on the edges, and just above them.
    for (let r = 0; r < rows; r += 5) {
      const e = mapper.edges[0];
      const b = rng.int(e.length - 1);
      data[r * cols] = r % 10 === 0 ? e[b] : e[b] + Math.abs(e[b]) * 1e-15;
    }
    const bins = binColumns(X, mapper);
    for (let f = 0; f < cols; f++)
      for (let r = 0; r < rows; r++) expect(bins[f * rows + r]).toBe(binOf(mapper, f, data[r * cols + f]));
  });

  it("the radix sort orders finite doubles exactly as Float64Array's sort (signs, zeros, subnormals, ties)", () => {
    const rng = new Random(7);
    for (const n of [100, 5000, 50_000]) {
      const a = Float64Array.from({ length: n }, (_, i) => {
        if (i % 17 === 0) return -0;
        if (i % 19 === 0) return 0;
        if (i % 23 === 0) return (rng.next() < 0.5 ? -1 : 1) * 5e-324 * (1 + (i % 5));
        if (i % 29 === 0) return 3.25; // ties
        return (rng.next() - 0.5) * 10 ** ((i % 40) - 20);
      });
      const expected = Array.from(a.slice().sort());
      const sorted = Array.from(sortFinite(a));
      expect(sorted.map((v) => Object.is(v, -0))).toEqual(expected.map((v) => Object.is(v, -0)));
      expect(sorted).toEqual(expected);
    }
  });
});

describe('hand-checked trees', () => {
  // Feature 0 separates the classes between 3 and 10; feature 1 is noise.
  const X = fromRows([
    [1, 5],
    [2, 1],
    [3, 4],
    [10, 2],
    [11, 6],
    [12, 3],
  ]);
  const y = Int32Array.from([0, 0, 0, 1, 1, 1]);

  it('decision tree splits at the midpoint 6.5 and predicts pure leaves', async () => {
    const model = await decisionTreeTrainer.fit(X, y, 2, {}, { seed: 1 });
    const tree = ensembleOf(model).trees[0];
    expect(tree.nodeCount).toBe(3);
    expect(tree.feature[0]).toBe(0);
    expect(tree.threshold[0]).toBe(6.5);
    expect(Array.from(tree.cover)).toEqual([6, 3, 3]);
    const p = model.predictProba(
      fromRows([
        [6.5, 0],
        [6.6, 0],
        [-100, 9],
        [100, 9],
      ]),
    );
    expect(Array.from(p)).toEqual([1, 0, 0, 1, 1, 0, 0, 1]);
    expect(Array.from(model.featureImportance())).toEqual([1, 0]);
  });

  it('xgboost finds the same split and the XGBoost leaf weights', async () => {
    const model = instanceOf(
      await xgboostTrainer.fit(X, y, 2, { n_estimators: 1, max_depth: 1, learning_rate: 0.5 }, { seed: 1 }),
      BoostedTreesModel,
    );
    const trees = ensembleOf(model).trees;
    expect(trees).toHaveLength(2);
    for (const tree of trees) {
      expect(tree.feature[0]).toBe(0);
      expect(tree.threshold[0]).toBe(6.5);
    }
    // Class 0 tree, left leaf: p = 0.5 → g = -0.5, h = 2·0.25 = 0.5 per row; w = -G/(H+λ)·η = 1.5/2.5·0.5 = 0.3.
    expect(trees[0].values[1]).toBeCloseTo(0.3, 14);
    expect(trees[0].values[2]).toBeCloseTo(-0.3, 14);
    expect(trees[0].cover[0]).toBeCloseTo(3, 14);
  });

  it('min_samples_leaf and max_depth are respected', async () => {
    const { X: Xs, y: ys } = synthetic(300, 4, 9);
    const model = await decisionTreeTrainer.fit(Xs, ys, 3, { min_samples_leaf: 20, max_depth: 3 }, { seed: 1 });
    const tree = ensembleOf(model).trees[0];
    const depth = (n: number): number =>
      tree.feature[n] < 0 ? 0 : 1 + Math.max(depth(tree.left[n]), depth(tree.right[n]));
    expect(depth(0)).toBeLessThanOrEqual(3);
    for (let n = 0; n < tree.nodeCount; n++) if (tree.feature[n] < 0) expect(tree.cover[n]).toBeGreaterThanOrEqual(20);
    const stump = await decisionTreeTrainer.fit(Xs, ys, 3, { max_depth: 1 }, { seed: 1 });
    expect(ensembleOf(stump).trees[0].nodeCount).toBe(3);
  });

  it('a large gamma prunes every split (XGBoost pruner)', async () => {
    const { X: Xs, y: ys } = synthetic(200, 3, 2);
    const model = await xgboostTrainer.fit(Xs, ys, 3, { n_estimators: 3, gamma: 1000 }, { seed: 1 });
    for (const t of ensembleOf(model).trees) expect(t.nodeCount).toBe(1);
  });
});

describe('prediction walks', () => {
  // Fewer than four rows walk each row's trees side by side (PackedTrees.accumulateFew) instead of rows side by side:
  // deep trees (unbounded depth, 4 lanes refilled as trees end) and complete layouts (boosting), with missing values.
  for (const [name, trainer, params] of [
    ['random_forest', randomForestTrainer, { n_estimators: 11 }],
    ['xgboost', xgboostTrainer, { n_estimators: 9, max_depth: 5 }],
  ] as const) {
    it(`${name}: 1, 2 and 3 rows at a time give the batch's probabilities, bit for bit`, async () => {
      const { X, y } = synthetic(1500, 6, 17, 0.1);
      const model = await trainer.fit(X, y, 3, params, { seed: 5 });
      const test = synthetic(60, 6, 18, 0.2).X;
      const batch = model.predictProba(test);
      for (const size of [1, 2, 3]) {
        for (let r = 0; r + size <= test.rows; r += size) {
          const part = model.predictProba(matrix(size, 6, test.data.slice(r * 6, (r + size) * 6)));
          expect(Array.from(part)).toEqual(Array.from(batch.subarray(r * 3, (r + size) * 3)));
        }
      }
    });
  }
});

describe('missing values', () => {
  // x ∈ {1..4} → class 0, x ∈ {7..10} → class 1; NaN rows are labelled `nanClass`.
  function data(nanClass: number): { X: Matrix; y: Int32Array } {
    const xs = [1, 2, 3, 4, 7, 8, 9, 10, NaN, NaN, NaN];
    const labels = [0, 0, 0, 0, 1, 1, 1, 1, nanClass, nanClass, nanClass];
    return { X: matrix(xs.length, 1, Float64Array.from(xs)), y: Int32Array.from(labels) };
  }
  for (const [name, trainer, params] of [
    ['decision_tree', decisionTreeTrainer, {}],
    ['xgboost', xgboostTrainer, { n_estimators: 20, max_depth: 1, learning_rate: 0.5, min_child_weight: 0 }],
  ] as const) {
    it(`${name} learns where missing values go`, async () => {
      for (const nanClass of [0, 1]) {
        const { X, y } = data(nanClass);
        const model = await trainer.fit(X, y, 2, params, { seed: 3 });
        const tree = ensembleOf(model).trees[0];
        expect(tree.feature[0]).toBe(0);
        expect(tree.threshold[0]).toBe(5.5);
        expect(tree.defaultLeft[0]).toBe(nanClass === 0 ? 1 : 0);
        const p = model.predictProba(matrix(3, 1, Float64Array.from([NaN, 0, 100])));
        expect(p[0 * 2 + nanClass]).toBeGreaterThan(0.9);
        expect(p[1 * 2 + 0]).toBeGreaterThan(0.9);
        expect(p[2 * 2 + 1]).toBeGreaterThan(0.9);
      }
    });
  }

  it('without missing values in training, NaN follows the heavier child', async () => {
    const X = matrix(7, 1, Float64Array.from([1, 2, 3, 4, 5, 10, 11]));
    const y = Int32Array.from([0, 0, 0, 0, 0, 1, 1]);
    const model = await decisionTreeTrainer.fit(X, y, 2, {}, { seed: 1 });
    const tree = ensembleOf(model).trees[0];
    expect(tree.defaultLeft[0]).toBe(1);
    expect(model.predictProba(matrix(1, 1, Float64Array.from([NaN])))[0]).toBe(1);
  });
});

describe.each(trainers)('%s', (name, trainer, params) => {
  const { X, y } = synthetic(800, 6, 21);
  const test = synthetic(300, 6, 22);

  it('probabilities sum to 1, beat the majority class, importance sums to 1 and ranks the signal first', async () => {
    const model = await trainer.fit(X, y, 3, params, { seed: 5 });
    expect(model.modelType).toBe(name);
    expect(model.numClasses).toBe(3);
    expect(model.numFeatures).toBe(6);
    const p = model.predictProba(test.X);
    rowSumsAreOne(p, 3);
    let correct = 0;
    const counts = [0, 0, 0];
    for (let r = 0; r < test.X.rows; r++) {
      let best = 0;
      for (let k = 1; k < 3; k++) if (p[r * 3 + k] > p[r * 3 + best]) best = k;
      if (best === test.y[r]) correct++;
      counts[test.y[r]]++;
    }
    expect(correct / test.X.rows).toBeGreaterThan(Math.max(...counts) / test.X.rows + 0.15);
    const imp = model.featureImportance();
    expect(imp.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const ranked = Array.from(imp.keys()).sort((a, b) => imp[b] - imp[a]);
    expect(ranked.slice(0, 2).sort()).toEqual([0, 1]);
  });

  it('same seed ⇒ identical model; save/load gives bit-identical probabilities', async () => {
    const a = await trainer.fit(X, y, 3, params, { seed: 11 });
    const b = await trainer.fit(X, y, 3, params, { seed: 11 });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    const json = stored(a);
    const loaded: TrainedClassifier = await trainer.load(json);
    expect(loaded.modelType).toBe(name);
    expect(bytesOf(loaded.predictProba(test.X)).equals(bytesOf(a.predictProba(test.X)))).toBe(true);
    expect(Array.from(loaded.featureImportance())).toEqual(Array.from(a.featureImportance()));
    expect(loaded.history()).toEqual(a.history());
    expect(JSON.stringify(loaded.toJSON())).toBe(JSON.stringify(a.toJSON()));
    // Another trainer refuses the JSON.
    const other = trainers.find(([n]) => n !== name)?.[1];
    if (!other) throw new Error('only one trainer');
    await expect(other.load(json)).rejects.toThrow();
  });

  it('predictions match a plain walk of the exposed tree structure (deep trees too)', async () => {
    const deep = name === 'xgboost' ? { ...params, max_depth: 16 } : { ...params };
    const model = await trainer.fit(X, y, 3, deep, { seed: 2 });
    const ensemble = ensembleOf(model);
    const p = model.predictProba(test.X);
    for (let r = 0; r < test.X.rows; r++) {
      const out = ensembleOutput(ensemble, test.X.data.subarray(r * 6, r * 6 + 6));
      if (ensemble.outputSpace === 'margin') {
        const e = Array.from(out, (v) => Math.exp(v - Math.max(...out)));
        const s = e.reduce((u, v) => u + v, 0);
        for (let k = 0; k < 3; k++) expect(p[r * 3 + k]).toBeCloseTo(e[k] / s, 12);
      } else for (let k = 0; k < 3; k++) expect(p[r * 3 + k]).toBeCloseTo(out[k], 12);
    }
  });

  it('one to three rows at a time (walked tree beside tree) predict the bits of the whole batch (deep trees too)', async () => {
    for (const depth of name === 'xgboost' ? [4, 16] : [undefined]) {
      const model = await trainer.fit(X, y, 3, depth === undefined ? params : { ...params, max_depth: depth }, {
        seed: 3,
      });
      const whole = model.predictProba(test.X);
      for (const rows of [1, 2, 3]) {
        for (let r = 0; r + rows <= test.X.rows; r += rows) {
          const part = model.predictProba(matrix(rows, 6, test.X.data.subarray(r * 6, (r + rows) * 6)));
          expect(bytesOf(part).equals(bytesOf(whole.subarray(r * 3, (r + rows) * 3))), `row ${r} of ${rows}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('a cancelled training stops promptly with AbortError', async () => {
    const pre = new AbortController();
    pre.abort();
    await expect(trainer.fit(X, y, 3, params, { seed: 1, signal: pre.signal })).rejects.toBeInstanceOf(AbortError);
    if (name === 'decision_tree') return;
    const controller = new AbortController();
    const steps: number[] = [];
    const t0 = performance.now();
    const run = trainer.fit(
      X,
      y,
      3,
      { ...params, n_estimators: 1000 },
      {
        seed: 1,
        signal: controller.signal,
        onStep: (s: StepProgress) => {
          steps.push(s.step);
          if (s.step === 3) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(steps.length).toBeLessThan(10);
  });
});

describe('random forest', () => {
  const { X, y } = synthetic(1500, 8, 31);

  it('is identical with 1 and 2 threads; steps are monotonic', async () => {
    const params = { n_estimators: 16, max_features: 'sqrt', criterion: 'entropy' };
    const one = await randomForestTrainer.fit(X, y, 3, params, { seed: 9, threads: 1 });
    const steps: number[] = [];
    const two = await randomForestTrainer.fit(X, y, 3, params, {
      seed: 9,
      threads: 2,
      onStep: (s) => steps.push(s.step),
    });
    expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
    expect(steps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const other = await randomForestTrainer.fit(X, y, 3, params, { seed: 10, threads: 1 });
    expect(JSON.stringify(other.toJSON())).not.toBe(JSON.stringify(one.toJSON()));
  });

  it('cancels its worker threads', async () => {
    const controller = new AbortController();
    const t0 = performance.now();
    const run = randomForestTrainer.fit(
      X,
      y,
      3,
      { n_estimators: 1000 },
      {
        seed: 1,
        threads: 2,
        signal: controller.signal,
        onStep: (s) => {
          if (s.step === 5) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('without bootstrap and with all features, every tree equals the single decision tree', async () => {
    const forest = await randomForestTrainer.fit(
      X,
      y,
      3,
      { n_estimators: 3, bootstrap: false, max_features: 'all' },
      { seed: 4 },
    );
    const tree = await decisionTreeTrainer.fit(X, y, 3, {}, { seed: 4 });
    expect(bytesOf(forest.predictProba(X)).equals(bytesOf(tree.predictProba(X)))).toBe(true);
  });
});

describe('xgboost', () => {
  it('builds histograms four rows at a time with the sums, bit for bit, of one row at a time', () => {
    const rng = new Random(17);
    const rows = 1003; // not a multiple of four: the tail is added one row at a time
    const cols = 7;
    const bins = 9;
    // Few bins, so rows in a group of four often share a slot; gradients of mixed magnitudes (order-sensitive sums).
    const slots = Uint16Array.from({ length: rows * cols }, (_, i) => (i % cols) * (bins + 1) + rng.int(bins + 1));
    const gh = Float64Array.from({ length: 2 * rows }, (_, i) =>
      i % 2 ? rng.next() : (rng.next() - 0.5) * 10 ** rng.int(8),
    );
    const idx = Uint32Array.from({ length: rows }, (_, i) => i);
    new Random(3).shuffle(idx);
    const size = 2 * cols * (bins + 1);
    for (const features of [Int32Array.from([0, 1, 2, 3, 4, 5, 6]), Int32Array.from([1, 4, 6])]) {
      for (const [start, end] of [
        [0, rows],
        [5, 702],
      ]) {
        const expected = new Float64Array(size);
        for (let i = start; i < end; i++)
          for (const f of features) {
            const o = slots[idx[i] * cols + f] * 2;
            expected[o] += gh[2 * idx[i]];
            expected[o + 1] += gh[2 * idx[i] + 1];
          }
        const hist = new Float64Array(size);
        buildHistogram(hist, idx, start, end, gh, slots, cols, features, features.length);
        expect(Array.from(hist)).toEqual(Array.from(expected));
      }
    }
  });

  it('early stopping keeps the best validation round; history has validation metrics', async () => {
    const { X, y } = synthetic(600, 5, 41);
    const val = synthetic(300, 5, 42);
    const steps: StepProgress[] = [];
    const model = instanceOf(
      await xgboostTrainer.fit(
        X,
        y,
        3,
        { n_estimators: 400, learning_rate: 0.3, early_stopping_rounds: 5 },
        {
          seed: 1,
          validation: val,
          onStep: (s) => steps.push(s),
        },
      ),
      BoostedTreesModel,
    );
    const history = model.history();
    expect(history.length).toBeLessThan(400);
    const losses = history.map((h) => h.valLoss ?? NaN);
    const best = losses.indexOf(Math.min(...losses));
    expect(model.rounds).toBe(best + 1);
    expect(history.length).toBe(best + 1 + 5);
    expect(ensembleOf(model).trees).toHaveLength(3 * (best + 1));
    expect(steps[0]).toMatchObject({ step: 1, totalSteps: 400 });
    expect(steps[0].loss).toBeGreaterThan(0);
    expect(steps[0].valAccuracy).toBeGreaterThan(0.3);
    // Training loss goes down.
    expect(history[history.length - 1].loss).toBeLessThan(history[0].loss ?? NaN);
  });

  it('is identical with 1 and 2 threads (both threads take split searches, partitions and histogram builds of a batch of nodes)', async () => {
    const { X, y } = synthetic(3 * HALVED_BUILD_MIN_ROWS, 6, 71);
    const paramSets: Record<string, number>[] = [
      { n_estimators: 5, max_depth: 5 },
      { n_estimators: 5, max_depth: 5, colsample_bytree: 0.5, subsample: 0.8 },
    ];
    for (const params of paramSets) {
      const one = await xgboostTrainer.fit(X, y, 3, params, { seed: 2, threads: 1 });
      const two = await xgboostTrainer.fit(X, y, 3, params, { seed: 2, threads: 2 });
      expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
    }
  });

  it('a helper thread started ahead of the fit (as a training task does) serves it: the same model as 1 thread', async () => {
    const { X, y } = synthetic(2 * HALVED_BUILD_MIN_ROWS, 5, 72);
    const params = { n_estimators: 4, max_depth: 4 };
    const one = await xgboostTrainer.fit(X, y, 3, params, { seed: 6, threads: 1 });
    prestartHistogramHelper();
    const two = await xgboostTrainer.fit(X, y, 3, params, { seed: 6, threads: 2 });
    expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
  });

  it('prestartedHistogramHelper resolves once an idle helper has loaded (benchmarks time fits after it); the fit that takes it is unchanged', async () => {
    const { X, y } = synthetic(2 * HALVED_BUILD_MIN_ROWS, 5, 74);
    const params = { n_estimators: 4, max_depth: 4 };
    const one = await xgboostTrainer.fit(X, y, 3, params, { seed: 7, threads: 1 });
    await prestartedHistogramHelper();
    const two = await xgboostTrainer.fit(X, y, 3, params, { seed: 7, threads: 2 });
    expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
  });

  it('a grower handed the matrix bins it as fitBinMapper + binColumns do, and grows the same trees (1 and 2 threads)', () => {
    // Over HALVED_PARTITION_MIN_ROWS rows: the root's partition and build are halves, its split search two jobs.
    const { X, y } = synthetic(3 * HALVED_BUILD_MIN_ROWS, 5, 73);
    for (let r = 0; r < X.rows; r += 9) X.data[r * X.cols + 2] = NaN;
    const mapper = fitBinMapper(X, 40, 3);
    const params = { maxDepth: 5, lambda: 1, alpha: 0, gamma: 0.1, minChildWeight: 1, eta: 0.3 };
    const gh = new Float64Array(2 * X.rows);
    for (let r = 0; r < X.rows; r++) {
      gh[2 * r] = (y[r] === 1 ? -0.6 : 0.4) + 0.01 * (r % 7);
      gh[2 * r + 1] = 0.2 + 0.01 * (r % 5);
    }
    const rows = Uint32Array.from({ length: X.rows }, (_, i) => i);
    const features = Int32Array.from([0, 1, 2, 3, 4]);
    const grow = (grower: GradientTreeGrower): string => {
      try {
        const gain = new Float64Array(X.cols);
        const rowValue = new Float64Array(X.rows);
        const tree = grower.grow(gh, rows, features, gain, rowValue);
        return JSON.stringify([
          Array.from(tree.feature),
          Array.from(tree.threshold),
          Array.from(tree.values),
          Array.from(gain),
          Array.from(rowValue),
        ]);
      } finally {
        grower.close();
      }
    };
    const expected = grow(
      new GradientTreeGrower(
        { rows: X.rows, cols: X.cols, bins: binColumns(X, mapper), numBins: mapper.numBins, edges: mapper.edges },
        params,
      ),
    );
    for (const threads of [1, 2])
      expect(grow(new GradientTreeGrower({ matrix: X, maxBins: 40, seed: 3 }, params, threads))).toBe(expected);
  });

  it("the split search's division-free pre-check never changes the chosen splits", async () => {
    // reg_alpha 1e-300 takes the exact path everywhere and changes no gradient sum that matters.
    const { X, y } = synthetic(2000, 6, 81);
    const params = { n_estimators: 8, max_depth: 6, min_child_weight: 0.01 };
    const fast = await xgboostTrainer.fit(X, y, 3, params, { seed: 5 });
    const exact = await xgboostTrainer.fit(X, y, 3, { ...params, reg_alpha: 1e-300 }, { seed: 5 });
    const trees = (model: TrainedClassifier) =>
      JSON.stringify(ensembleOf(model).trees.map((t) => Array.from(t.threshold)));
    expect(trees(fast)).toBe(trees(exact));
    expect(Array.from(fast.predictProba(X))).toEqual(Array.from(exact.predictProba(X)));
  });

  it('subsample and colsample_bytree are seeded', async () => {
    const { X, y } = synthetic(400, 8, 51);
    const params = { n_estimators: 10, subsample: 0.7, colsample_bytree: 0.5, reg_alpha: 0.5 };
    const a = await xgboostTrainer.fit(X, y, 3, params, { seed: 3 });
    const b = await xgboostTrainer.fit(X, y, 3, params, { seed: 3 });
    const c = await xgboostTrainer.fit(X, y, 3, params, { seed: 4 });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(JSON.stringify(a.toJSON())).not.toBe(JSON.stringify(c.toJSON()));
    rowSumsAreOne(a.predictProba(X), 3);
  });

  it('two classes use the same softmax model', async () => {
    const { X, y } = synthetic(300, 4, 61);
    const y2 = y.map((v) => (v === 2 ? 1 : 0));
    const model = await xgboostTrainer.fit(X, y2, 2, { n_estimators: 10 }, { seed: 1 });
    rowSumsAreOne(model.predictProba(X), 2);
    expect(ensembleOf(model).trees).toHaveLength(20);
  });

  it("two classes: class 1's tree is class 0's mirrored, and equals the tree grown on class 1's gradients", async () => {
    const { X, y } = synthetic(500, 4, 62);
    const y2 = y.map((v) => (v === 2 ? 1 : 0));
    const params = { n_estimators: 4, max_depth: 4, learning_rate: 0.3, max_bin: 64 };
    const trees = ensembleOf(await xgboostTrainer.fit(X, y2, 2, params, { seed: 1 })).trees;
    for (let round = 0; round < 4; round++) {
      const [a, b] = [trees[2 * round], trees[2 * round + 1]];
      expect([a.output, b.output]).toEqual([0, 1]);
      expect(Array.from(b.feature)).toEqual(Array.from(a.feature));
      expect(Array.from(b.threshold)).toEqual(Array.from(a.threshold));
      expect(Array.from(b.defaultLeft)).toEqual(Array.from(a.defaultLeft));
      expect(Array.from(b.cover)).toEqual(Array.from(a.cover));
      expect(Array.from(b.values, (v) => v + 0)).toEqual(Array.from(a.values, (v) => -v + 0)); // −0 and 0 add alike
    }
    // Round 0 (every margin 0, p = ½): grow class 1's tree from its own gradients, as it was grown before mirroring.
    const mapper = fitBinMapper(X, 64, 1);
    const grower = new GradientTreeGrower(
      { rows: X.rows, cols: X.cols, bins: binColumns(X, mapper), numBins: mapper.numBins, edges: mapper.edges },
      { maxDepth: 4, lambda: 1, alpha: 0, gamma: 0, minChildWeight: 1, eta: 0.3 },
    );
    const gh = new Float64Array(2 * X.rows);
    for (let r = 0; r < X.rows; r++) {
      gh[2 * r] = 0.5 - y2[r];
      gh[2 * r + 1] = 0.5;
    }
    const rows = Uint32Array.from({ length: X.rows }, (_, i) => i);
    const grown = grower.grow(gh, rows, Int32Array.from([0, 1, 2, 3]), new Float64Array(4), new Float64Array(X.rows));
    expect(Array.from(trees[1].feature)).toEqual(Array.from(grown.feature));
    expect(Array.from(trees[1].threshold)).toEqual(Array.from(grown.threshold));
    expect(Array.from(trees[1].defaultLeft)).toEqual(Array.from(grown.defaultLeft));
    expect(Array.from(trees[1].values, (v) => v + 0)).toEqual(Array.from(grown.values, (v) => v + 0));
  });

  it("two classes predict through class 0's trees alone, with the margins of every tree summed", async () => {
    const { X, y } = synthetic(600, 4, 63);
    for (let i = 0; i < X.data.length; i += 7) X.data[i] = NaN;
    const y2 = y.map((v) => (v === 2 ? 1 : 0));
    for (const colsample_bytree of [1, 0.5]) {
      // colsample_bytree 0.5: class 1's trees are grown (not mirrored), and every tree is walked.
      const model = await xgboostTrainer.fit(X, y2, 2, { n_estimators: 12, colsample_bytree }, { seed: 1 });
      if (!(model instanceof BoostedTreesModel)) throw new Error('not a boosting model');
      const every = new Float64Array(X.rows * 2);
      model.trees.accumulate(X.data, X.rows, X.cols, every, 2);
      const margins = model.predictMargins(X);
      expect(margins.every((m, i) => Object.is(m, every[i]))).toBe(true);
      expect(margins.some((m) => m !== 0)).toBe(true);
    }
  });
});

it('rejects bad training data', async () => {
  const X = matrix(3, 1, Float64Array.from([1, 2, 3]));
  await expect(xgboostTrainer.fit(X, Int32Array.from([0, 1, 3]), 3, {}, { seed: 1 })).rejects.toThrow(RangeError);
  await expect(randomForestTrainer.fit(X, Int32Array.from([0, 1]), 2, {}, { seed: 1 })).rejects.toThrow(RangeError);
  const model = await decisionTreeTrainer.fit(X, Int32Array.from([0, 1, 1]), 2, {}, { seed: 1 });
  expect(() => model.predictProba(matrix(1, 2))).toThrow(RangeError);
});

describe('edge cases', () => {
  it('wide data (> 65,536 histogram slots), an all-missing column and a constant column still train', async () => {
    const rows = 300;
    const cols = 300;
    const rng = new Random(8);
    const data = new Float64Array(rows * cols);
    const y = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) data[r * cols + c] = c === 1 ? NaN : c === 2 ? 7 : rng.normal();
      y[r] = data[r * cols] > 0 ? 1 : 0;
    }
    const X = matrix(rows, cols, data);
    for (const [trainer, params] of [
      [xgboostTrainer, { n_estimators: 5, max_depth: 3 }],
      [randomForestTrainer, { n_estimators: 5 }],
    ] as const) {
      const model = await trainer.fit(X, y, 2, params, { seed: 1 });
      rowSumsAreOne(model.predictProba(X), 2);
      const imp = model.featureImportance();
      expect(imp[1]).toBe(0);
      expect(imp[2]).toBe(0);
      expect(imp.indexOf(Math.max(...imp))).toBe(0);
    }
  });

  it('a class absent from the training labels gets probability 0 (forest) and a single-leaf tree explains as zeros', async () => {
    const X = matrix(4, 1, Float64Array.from([1, 2, 3, 4]));
    const y = Int32Array.from([1, 1, 1, 1]);
    const model = await decisionTreeTrainer.fit(X, y, 3, {}, { seed: 1 });
    expect(Array.from(model.predictProba(X).subarray(0, 3))).toEqual([0, 1, 0]);
    const ensemble = ensembleOf(model);
    expect(ensemble.trees[0].nodeCount).toBe(1);
    const shap = treeShap(ensemble, Float64Array.from([2]), 1);
    expect(shap.baseValue).toBe(1);
    expect(Array.from(shap.contributions)).toEqual([0]);
  });
});
