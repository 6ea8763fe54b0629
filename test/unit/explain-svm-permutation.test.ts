import { describe, expect, it } from 'vitest';
import { permutationImportance } from '../../src/ml/explain/permutation.js';
import { APPROX_EXP_ERROR, approxExp, svmPermutationImportance } from '../../src/ml/explain/svm-permutation.js';
import { svmTrainer } from '../../src/ml/models/svm/index.js';
import { SvmClassifier } from '../../src/ml/models/svm/model.js';
import { helperStats, predictHelperReady, startPredictHelper } from '../../src/ml/models/trees/predict-parallel.js';
import { AbortError, type Matrix } from '../../src/ml/types.js';
import { gaussianBlobs, instanceOf } from './models-fixtures.js';

/** The generic routine (predicting every shuffled copy) and the SVM's, with the same options. */
function both(model: SvmClassifier, X: Matrix, y: Int32Array, rowsPerRepeat?: number, numClasses = 3) {
  const options = { seed: 11, repeats: 4, rowsPerRepeat };
  return {
    fast: svmPermutationImportance(model, X, y, numClasses, options),
    slow: permutationImportance((M) => model.predictProba(M), X, y, numClasses, options),
  };
}

describe('svmPermutationImportance', () => {
  // Overlapping blobs: shuffles move many predictions, so equal drops say the shuffled copies' classes are equal.
  const train = gaussianBlobs(31, 300, 4, 3, 1.2);
  const test = gaussianBlobs(32, 150, 4, 3, 1.2);

  it('gives what predicting every shuffled copy gives, for every kernel, sampled or not', async () => {
    for (const kernel of ['rbf', 'linear', 'poly', 'sigmoid'] as const) {
      const model = instanceOf(
        await svmTrainer.fit(train.X, train.y, 3, { kernel, gamma: 0.3 }, { seed: 3 }),
        SvmClassifier,
      );
      for (const rows of [undefined, 60]) {
        const { fast, slow } = both(model, test.X, test.y, rows);
        expect(fast.baseline).toBe(slow.baseline);
        expect(fast.rowsPerRepeat).toBe(slow.rowsPerRepeat);
        expect(Math.max(...slow.mean)).toBeGreaterThan(0.05);
        for (let j = 0; j < test.X.cols; j++) {
          expect(fast.mean[j]).toBeCloseTo(slow.mean[j], 9);
          expect(fast.std[j]).toBeCloseTo(slow.std[j], 9);
          expect(fast.ci95[j]).toBeCloseTo(slow.ci95[j], 9);
        }
      }
    }
  });

  it('gives the same figures for two classes, where RBF copies are summed with approxExp first', async () => {
    const train2 = gaussianBlobs(33, 300, 4, 2, 1.2);
    const test2 = gaussianBlobs(34, 200, 4, 2, 1.2);
    const model = instanceOf(await svmTrainer.fit(train2.X, train2.y, 2, { gamma: 0.3 }, { seed: 3 }), SvmClassifier);
    for (const rows of [undefined, 60]) {
      const { fast, slow } = both(model, test2.X, test2.y, rows, 2);
      expect(fast.baseline).toBe(slow.baseline);
      expect(Math.max(...slow.mean)).toBeGreaterThan(0.05);
      for (let j = 0; j < test2.X.cols; j++) {
        expect(fast.mean[j]).toBeCloseTo(slow.mean[j], 9);
        expect(fast.std[j]).toBeCloseTo(slow.std[j], 9);
      }
    }
    // Every copy's decision on the class boundary (kernel values 0, ρ 0, Platt sigmoid ½ at 0): no class is certain
    // within the bound, so each is summed again with Math.exp, and ties go to the first class as when predicting.
    const state = model.state;
    const edge = new SvmClassifier(
      model.params,
      {
        ...state,
        spec: { ...state.spec, gamma: 1e6 },
        pairs: state.pairs.map((pair) => ({ ...pair, rho: 0, probA: -1, probB: 0 })),
      },
      [],
    );
    const { fast, slow } = both(edge, test2.X, test2.y, undefined, 2);
    expect(fast.baseline).toBe(slow.baseline);
    expect(Array.from(fast.mean)).toEqual(Array.from(slow.mean));
  });

  it('approxExp is within its stated error of Math.exp', () => {
    let worst = 0;
    for (let x = -750; x <= 0; x += 0.00731) {
      const exact = Math.max(Math.exp(x), Math.exp(-700));
      worst = Math.max(worst, Math.abs(approxExp(x) - exact) / exact);
    }
    expect(worst).toBeLessThan(APPROX_EXP_ERROR / 20);
    expect(approxExp(0)).toBe(1);
    expect(approxExp(-0)).toBe(1);
  });

  it('recomputes copies with a missing value from scratch (the same figures)', async () => {
    const model = instanceOf(await svmTrainer.fit(train.X, train.y, 3, {}, { seed: 3 }), SvmClassifier);
    const data = Float64Array.from(test.X.data);
    for (let i = 0; i < test.X.rows; i += 7) data[i * test.X.cols + (i % test.X.cols)] = NaN;
    const { fast, slow } = both(model, { ...test.X, data }, test.y);
    expect(fast.baseline).toBe(slow.baseline);
    for (let j = 0; j < test.X.cols; j++) expect(fast.mean[j]).toBeCloseTo(slow.mean[j], 9);
  });

  it('reports each repeat and stops when the signal is aborted', async () => {
    const model = instanceOf(await svmTrainer.fit(train.X, train.y, 3, {}, { seed: 3 }), SvmClassifier);
    const seen: number[] = [];
    svmPermutationImportance(model, test.X, test.y, 3, {
      seed: 1,
      repeats: 3,
      onProgress: (done) => {
        seen.push(done);
      },
    });
    expect(seen).toEqual([1, 2, 3]);
    const controller = new AbortController();
    const run = () =>
      svmPermutationImportance(model, test.X, test.y, 3, {
        seed: 1,
        repeats: 3,
        signal: controller.signal,
        onProgress: () => {
          controller.abort();
        },
      });
    expect(run).toThrow(AbortError);
  });
  it('gives the one-thread figures with half of each sample on the helper thread', async () => {
    const model = instanceOf(await svmTrainer.fit(train.X, train.y, 3, {}, { seed: 3 }), SvmClassifier);
    startPredictHelper();
    for (let waited = 0; !predictHelperReady() && waited < 400; waited++) await new Promise((r) => setTimeout(r, 50));
    expect(predictHelperReady()).toBe(true);
    const options = { seed: 5, repeats: 3, rowsPerRepeat: 101 };
    const one = svmPermutationImportance(model, test.X, test.y, 3, options);
    const parts = helperStats.svmPermuteParts;
    const seen: number[] = [];
    const two = svmPermutationImportance(model, test.X, test.y, 3, {
      ...options,
      threads: 2,
      onProgress: (done) => {
        seen.push(done);
      },
    });
    expect(helperStats.svmPermuteParts).toBe(parts + 1);
    expect(seen).toEqual([1, 2, 3]);
    expect(Array.from(two.mean)).toEqual(Array.from(one.mean));
    expect(Array.from(two.ci95)).toEqual(Array.from(one.ci95));
  });
});
