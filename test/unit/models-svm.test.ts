import { describe, expect, it } from 'vitest';
import {
  coupleProbabilities,
  resolveGamma,
  sigmoidPredict,
  sigmoidTrain,
  svmTrainer,
} from '../../src/ml/models/svm/index.js';
import { fitSoftmaxRegression } from '../../src/ml/models/softmax-regression.js';
import { resolveParams } from '../../src/ml/catalog.js';
import { Random } from '../../src/ml/random.js';
import { AbortError, type Matrix, type TrainedClassifier } from '../../src/ml/types.js';
import { SvmClassifier, predictProbaState } from '../../src/ml/models/svm/model.js';
import {
  PARALLEL_SVM_MIN_WORK,
  helperStats,
  predictHelperReady,
  startPredictHelper,
} from '../../src/ml/models/trees/predict-parallel.js';
import { accuracy, gaussianBlobs, instanceOf, stored } from './models-fixtures.js';

type Svm = TrainedClassifier & {
  decisionFunction(X: Matrix): Float64Array;
  numSupportVectors: number;
  trainRows: number;
};

describe('svm', () => {
  it('finds the maximum-margin line on a hand-checked problem: x = ±1, linear ⇒ f(x) = −x (class 0 is +1)', async () => {
    const X: Matrix = { rows: 4, cols: 1, data: Float64Array.from([-1, -2, 1, 2]) };
    const model = (await svmTrainer.fit(
      X,
      Int32Array.from([0, 0, 1, 1]),
      2,
      { kernel: 'linear', C: 10 },
      { seed: 1 },
    )) as Svm;
    const f = model.decisionFunction({ rows: 3, cols: 1, data: Float64Array.from([-1, 0, 1]) });
    expect(f[0]).toBeCloseTo(1, 2);
    expect(f[1]).toBeCloseTo(0, 2);
    expect(f[2]).toBeCloseTo(-1, 2);
    expect(model.numSupportVectors).toBe(2); // only ±1 lie on the margin
  });

  it('separates linearly separable data perfectly with the linear kernel; importance is |w|', async () => {
    const rng = new Random(5);
    const rows = 300;
    const data = new Float64Array(rows * 3);
    const y = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const a = rng.normal();
      const b = rng.normal();
      data[i * 3] = a;
      data[i * 3 + 1] = b;
      data[i * 3 + 2] = rng.normal();
      const margin = 2 * a - b;
      if (Math.abs(margin) < 0.3) data[i * 3] += margin > 0 ? 0.3 : -0.3; // keep a gap
      y[i] = 2 * data[i * 3] - b > 0 ? 1 : 0;
    }
    const X: Matrix = { rows, cols: 3, data };
    const model = await svmTrainer.fit(X, y, 2, { kernel: 'linear', C: 100 }, { seed: 3 });
    expect(accuracy(model.predictProba(X), y, 2)).toBe(1);
    const importance = model.featureImportance();
    expect(importance[0] / importance[1]).toBeGreaterThan(1.5); // true w ∝ (2, −1, 0)
    expect(importance[0] / importance[1]).toBeLessThan(2.5);
    expect(importance[2]).toBeLessThan(0.1);
  });

  it('classifies 3 Gaussian blobs with the rbf kernel; probabilities sum to 1; save/load identical; deterministic', async () => {
    const train = gaussianBlobs(11, 600, 5, 3, 3);
    const test = gaussianBlobs(12, 300, 5, 3, 3);
    const model = (await svmTrainer.fit(train.X, train.y, 3, {}, { seed: 4, validation: test })) as Svm;
    const proba = model.predictProba(test.X);
    expect(accuracy(proba, test.y, 3)).toBeGreaterThan(0.9);
    for (let i = 0; i < test.X.rows; i++) {
      const row = proba.subarray(i * 3, i * 3 + 3);
      expect(row[0] + row[1] + row[2]).toBeCloseTo(1, 12);
      for (const p of row) expect(p).toBeGreaterThanOrEqual(0);
    }
    const loaded = await svmTrainer.load(stored(model));
    expect(Array.from(loaded.predictProba(test.X))).toEqual(Array.from(proba));
    const again = await svmTrainer.fit(train.X, train.y, 3, {}, { seed: 4 });
    expect(Array.from(again.predictProba(test.X))).toEqual(Array.from(proba));
    expect(model.history().length).toBe(3); // one point per pair of classes
    expect(model.history().at(-1)?.valAccuracy).toBeGreaterThan(0.9);
    const importance = model.featureImportance();
    expect(importance.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(Math.min(importance[0], importance[1], importance[2])).toBeGreaterThan(
      Math.max(importance[3], importance[4]),
    );
  });

  it('poly and sigmoid kernels train; absent classes get probability 0', async () => {
    const train = gaussianBlobs(13, 300, 4, 2, 3);
    for (const kernel of ['poly', 'sigmoid'] as const) {
      const model = await svmTrainer.fit(train.X, train.y, 3, { kernel, gamma: 'auto' }, { seed: 1 });
      const proba = model.predictProba(train.X);
      expect(accuracy(proba, train.y, 3)).toBeGreaterThan(kernel === 'poly' ? 0.9 : 0.8);
      for (let i = 0; i < train.X.rows; i++) expect(proba[i * 3 + 2]).toBe(0);
    }
  });

  it('predicts each kernel as the kernel formula row by row gives, whatever the block of rows (37 rows: 32 + 4 + 1)', async () => {
    const train = gaussianBlobs(21, 240, 5, 3, 2);
    const test = gaussianBlobs(22, 37, 5, 3, 2);
    for (const kernel of ['rbf', 'linear', 'poly', 'sigmoid'] as const) {
      const model = instanceOf(
        await svmTrainer.fit(train.X, train.y, 3, { kernel, gamma: 0.2 }, { seed: 2 }),
        SvmClassifier,
      );
      const { supportVectors: sv, pairs, spec } = model.state;
      const { gamma, degree, coef0 } = spec;
      const d = test.X.cols;
      const f = model.decisionFunction(test.X);
      for (let i = 0; i < test.X.rows; i++) {
        const x = test.X.data.subarray(i * d, i * d + d);
        pairs.forEach((pair, q) => {
          let sum = 0;
          pair.supportIndices.forEach((s, t) => {
            const v = sv.subarray(s * d, s * d + d);
            let dot = 0;
            let distance = 0;
            for (let j = 0; j < d; j++) {
              dot += v[j] * x[j];
              distance += (v[j] - x[j]) ** 2;
            }
            const k =
              kernel === 'rbf'
                ? Math.exp(-gamma * distance)
                : kernel === 'linear'
                  ? dot
                  : kernel === 'poly'
                    ? (gamma * dot + coef0) ** degree
                    : Math.tanh(gamma * dot + coef0);
            sum += pair.coefficients[t] * k;
          });
          expect(Math.abs(f[i * pairs.length + q] - (sum - pair.rho))).toBeLessThan(1e-12 * Math.max(1, Math.abs(sum)));
        });
      }
    }
  });

  it('predicts a large batch with half of the rows on the helper thread, the same bits', async () => {
    const train = gaussianBlobs(23, 600, 5, 3, 1);
    const model = instanceOf(await svmTrainer.fit(train.X, train.y, 3, {}, { seed: 2 }), SvmClassifier);
    const rows = Math.ceil(PARALLEL_SVM_MIN_WORK / model.numSupportVectors) + 1;
    const test = gaussianBlobs(24, rows, 5, 3, 1);
    startPredictHelper();
    for (let waited = 0; !predictHelperReady() && waited < 400; waited++) await new Promise((r) => setTimeout(r, 50));
    expect(predictHelperReady()).toBe(true);
    const batches = helperStats.svmBatches;
    const proba = model.predictProba(test.X);
    expect(helperStats.svmBatches).toBe(batches + 1);
    expect(Array.from(proba)).toEqual(Array.from(predictProbaState(model.state, test.X)));
  });

  it("resolves gamma as scikit-learn: 'scale' = 1/(d·Var X), 'auto' = 1/d, numbers as given", () => {
    const X: Matrix = { rows: 2, cols: 2, data: Float64Array.from([0, 2, 4, 6]) }; // mean 3, variance 5
    expect(resolveGamma('scale', X)).toBeCloseTo(1 / 10, 15);
    expect(resolveGamma('auto', X)).toBe(0.5);
    expect(resolveGamma(0.25, X)).toBe(0.25);
    expect(resolveGamma(resolveParams('svm', { gamma: '0.125' }).gamma, X)).toBe(0.125);
  });

  it('Platt scaling finds the maximum-likelihood sigmoid and pairwise coupling recovers consistent probabilities', async () => {
    const rng = new Random(2);
    const decisions = new Float64Array(20000);
    const positive = new Uint8Array(20000);
    for (let i = 0; i < decisions.length; i++) {
      decisions[i] = rng.normal() * 2;
      positive[i] = rng.next() < sigmoidPredict(decisions[i], -1.5, 0.3) ? 1 : 0;
    }
    const [A, B] = sigmoidTrain(decisions, positive);
    // Same maximum-likelihood fit by the (independent) logistic regression solver, unpenalised: P = σ(w·f + b).
    const reference = await fitSoftmaxRegression(
      { rows: decisions.length, cols: 1, data: decisions },
      Int32Array.from(positive),
      2,
      { C: 1e12, maxIter: 500 },
    );
    expect(A).toBeCloseTo(-reference.coef[0], 2); // Platt's smoothed targets move it by ~1/n
    expect(B).toBeCloseTo(-reference.intercept[0], 2);
    expect(A).toBeCloseTo(-1.5, 0);
    const p = [0.5, 0.3, 0.2];
    const r = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) r[i * 3 + j] = p[i] / (p[i] + p[j]);
    const out = new Float64Array(3);
    coupleProbabilities(3, r, out);
    out.forEach((v, i) => {
      expect(v).toBeCloseTo(p[i], 2);
    }); // libsvm stops at max error 0.005/k
  });

  it('subsamples to max_train_rows (stratified) and honours the abort signal', async () => {
    const train = gaussianBlobs(14, 900, 4, 3, 3);
    const small = (await svmTrainer.fit(train.X, train.y, 3, { max_train_rows: 300 }, { seed: 1 })) as Svm;
    expect(small.trainRows).toBe(300);
    expect(accuracy(small.predictProba(train.X), train.y, 3)).toBeGreaterThan(0.9);
    const controller = new AbortController();
    let steps = 0;
    const run = svmTrainer.fit(
      train.X,
      train.y,
      3,
      {},
      {
        seed: 1,
        signal: controller.signal,
        onStep: () => {
          if (++steps === 2) controller.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(steps).toBe(2);
  });
});
