import { describe, it, expect } from 'vitest';
import { permutationImportance, stratifiedSample } from '../../src/ml/explain/permutation.js';
import {
  featurePermutations,
  forestPathLength,
  forestPermutationImportance,
} from '../../src/ml/explain/tree-permutation.js';
import { argmaxRows, macroF1 } from '../../src/ml/evaluate.js';
import { treePermutationRows } from '../../src/ml/pipeline.js';
import { Random } from '../../src/ml/random.js';
import { decisionTreeTrainer, randomForestTrainer, ForestModel } from '../../src/ml/models/trees/forest.js';
import { BoostedTreesModel, xgboostTrainer } from '../../src/ml/models/trees/boosting.js';
import { defaultHyperparameters } from '../../src/ml/catalog.js';
import { AbortError } from '../../src/ml/types.js';
import { helperStats, predictHelperReady, startPredictHelper } from '../../src/ml/models/trees/predict-parallel.js';
import { importanceDataset } from '../fixtures/importance-data.js';
import { instanceOf } from './models-fixtures.js';

/** The importance fixture with 10 % of feature 1 missing (NaN paths are exercised). */
const dataset = (rows: number, seed: number) => importanceDataset(rows, seed, 0.1);

const forestParams = {
  n_estimators: 40,
  max_depth: null,
  min_samples_split: 2,
  min_samples_leaf: 1,
  criterion: 'gini',
  max_features: 'sqrt',
  bootstrap: true,
};

describe('forestPermutationImportance', async () => {
  const train = dataset(1200, 3);
  const test = dataset(600, 4);
  const forest = instanceOf(await randomForestTrainer.fit(train.X, train.y, 3, forestParams, { seed: 9 }), ForestModel);

  it('gives exactly what predicting every shuffled copy gives (same permutations, same drops)', () => {
    const fast = forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 5, repeats: 4 });
    const slow = permutationImportance((M) => forest.predictProba(M), test.X, test.y, 3, { seed: 5, repeats: 4 });
    expect(fast.baseline).toBe(slow.baseline);
    for (let j = 0; j < 4; j++) {
      expect(fast.mean[j]).toBeCloseTo(slow.mean[j], 12);
      expect(fast.std[j]).toBeCloseTo(slow.std[j], 12);
    }
    expect(fast.rowsPerRepeat).toBe(600);
  });

  it('matches for a single deep tree too', async () => {
    const tree = instanceOf(
      await decisionTreeTrainer.fit(
        train.X,
        train.y,
        3,
        { max_depth: null, min_samples_split: 2, min_samples_leaf: 1, criterion: 'gini' },
        { seed: 1 },
      ),
      ForestModel,
    );
    const fast = forestPermutationImportance(tree.trees, test.X, test.y, 3, { seed: 2, repeats: 3 });
    const slow = permutationImportance((M) => tree.predictProba(M), test.X, test.y, 3, { seed: 2, repeats: 3 });
    for (let j = 0; j < 4; j++) expect(fast.mean[j]).toBeCloseTo(slow.mean[j], 12);
  });

  it('ranks the signal features first and the noise features last, with a confidence interval', () => {
    const result = forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 5, repeats: 5 });
    const order = Array.from(result.mean.keys()).sort((a, b) => result.mean[b] - result.mean[a]);
    expect(order.slice(0, 2)).toEqual([0, 1]);
    expect(result.mean[0]).toBeGreaterThan(0.2);
    expect(Math.max(result.mean[2], result.mean[3])).toBeLessThan(0.03);
    // t(4) × sample std / √5
    const sampleStd = result.std[0] * Math.sqrt(5 / 4);
    expect(result.ci95[0]).toBeCloseTo((2.776 * sampleStd) / Math.sqrt(5), 10);
  });

  it('with a row sample per repeat: seeded, same ranking, and the sample is what it says', () => {
    const a = forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 5, repeats: 5, rowsPerRepeat: 200 });
    const b = forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 5, repeats: 5, rowsPerRepeat: 200 });
    expect(Array.from(a.mean)).toEqual(Array.from(b.mean));
    expect(a.rowsPerRepeat).toBe(200);
    const full = forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 5, repeats: 5 });
    expect(Array.from(a.mean)).not.toEqual(Array.from(full.mean));
    const order = Array.from(a.mean.keys()).sort((x, y) => a.mean[y] - a.mean[x]);
    expect(order.slice(0, 2)).toEqual([0, 1]);
    // The full-data figure of the strongest feature lies within the sampled estimate's interval.
    expect(Math.abs(a.mean[0] - full.mean[0])).toBeLessThan(a.ci95[0]);
  });

  it('reports one step per tree and stops when aborted', () => {
    const steps: number[] = [];
    forestPermutationImportance(forest.trees, test.X, test.y, 3, {
      seed: 1,
      repeats: 2,
      onProgress: (done, total) => steps.push(done / total),
    });
    expect(steps.length).toBe(40);
    expect(steps.at(-1)).toBe(1);
    const controller = new AbortController();
    let seen = 0;
    expect(() =>
      forestPermutationImportance(forest.trees, test.X, test.y, 3, {
        seed: 1,
        repeats: 2,
        signal: controller.signal,
        onProgress: () => {
          if (++seen === 3) controller.abort();
        },
      }),
    ).toThrow(AbortError);
    expect(seen).toBe(3);
  });

  it('does not modify the input matrix; path length grows with the trees', () => {
    const copy = Float64Array.from(test.X.data);
    forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 1, repeats: 2 });
    expect(test.X.data).toEqual(copy);
    expect(forestPathLength(forest.trees)).toBeGreaterThan(40);
  });
});

describe('forestPermutationImportance on two threads (half of the trees on the prediction helper)', async () => {
  const train = dataset(1200, 3);
  const test = dataset(600, 4);
  const forest = instanceOf(await randomForestTrainer.fit(train.X, train.y, 3, forestParams, { seed: 9 }), ForestModel);
  const boosted = instanceOf(
    await xgboostTrainer.fit(train.X, train.y, 3, defaultHyperparameters('xgboost'), { seed: 9 }),
    BoostedTreesModel,
  );
  startPredictHelper();
  for (let waited = 0; !predictHelperReady() && waited < 400; waited++) await new Promise((r) => setTimeout(r, 50));

  it('gives the one-thread figures (forest and boosting, every row or sampled)', () => {
    expect(predictHelperReady()).toBe(true);
    const cases = [
      { trees: forest.trees, sum: { kind: 'mean' as const }, proba: forest.predictProba(test.X) },
      {
        trees: boosted.trees,
        sum: { kind: 'margin' as const, base: boosted.baseScore },
        proba: boosted.predictProba(test.X),
      },
    ];
    for (const { trees, sum, proba } of cases) {
      for (const rowsPerRepeat of [600, 300]) {
        const options = { seed: 5, repeats: 4, rowsPerRepeat, baselineProba: proba };
        const before = helperStats.permuteParts;
        const steps: number[] = [];
        const two = forestPermutationImportance(
          trees,
          test.X,
          test.y,
          3,
          { ...options, threads: 2, onProgress: (done, total) => steps.push(done / total) },
          sum,
        );
        expect(helperStats.permuteParts).toBe(before + 1);
        expect(steps.at(-1)).toBe(1);
        expect(steps.every((step, i) => i === 0 || step >= steps[i - 1])).toBe(true);
        const one = forestPermutationImportance(trees, test.X, test.y, 3, options, sum);
        expect(two.baseline).toBe(one.baseline);
        for (let j = 0; j < 4; j++) {
          expect(two.mean[j]).toBeCloseTo(one.mean[j], 12);
          expect(two.std[j]).toBeCloseTo(one.std[j], 12);
        }
      }
    }
  });

  it("two-class boosting through class 0's trees alone gives the bits of walking every tree (1 and 2 threads)", async () => {
    const y2 = (y: Int32Array) => y.map((v) => (v === 2 ? 1 : 0));
    const testY = y2(test.y);
    // 24 rounds, and 25: an odd count, whose two-thread split falls inside a round's pair.
    for (const n_estimators of [24, 25]) {
      const params = { ...defaultHyperparameters('xgboost'), n_estimators };
      const model = instanceOf(
        await xgboostTrainer.fit(train.X, y2(train.y), 2, params, { seed: 4 }),
        BoostedTreesModel,
      );
      const classZero = model.mirroredTrees();
      if (!classZero) throw new Error('a two-class model with every feature per tree is mirrored');
      expect(classZero.treeCount).toBe(n_estimators);
      for (const threads of [1, 2]) {
        for (const rowsPerRepeat of [600, 300]) {
          const options = { seed: 5, repeats: 4, rowsPerRepeat, threads, baselineProba: model.predictProba(test.X) };
          const before = helperStats.permuteParts;
          const half = forestPermutationImportance(classZero, test.X, testY, 2, options, { kind: 'mirrored' });
          expect(helperStats.permuteParts).toBe(before + (threads === 2 ? 1 : 0));
          const every = forestPermutationImportance(model.trees, test.X, testY, 2, options, {
            kind: 'margin',
            base: model.baseScore,
          });
          expect(half.baseline).toBe(every.baseline);
          for (const key of ['mean', 'std', 'ci95'] as const)
            expect(Array.from(half[key]).every((v, j) => Object.is(v, every[key][j]))).toBe(true);
          expect(half.mean.some((v) => v !== 0)).toBe(true);
        }
      }
    }
    expect(() =>
      forestPermutationImportance(boosted.trees, test.X, test.y, 3, { seed: 1 }, { kind: 'mirrored' }),
    ).toThrow(TypeError);
  });
});

describe('forestPermutationImportance on boosted trees (class margins)', async () => {
  const train = dataset(1200, 3);
  const test = dataset(600, 4);
  const boosted = instanceOf(
    await xgboostTrainer.fit(train.X, train.y, 3, defaultHyperparameters('xgboost'), { seed: 9 }),
    BoostedTreesModel,
  );
  const margins = { kind: 'margin' as const, base: boosted.baseScore };

  it('gives what predicting every shuffled copy gives', () => {
    const fast = forestPermutationImportance(boosted.trees, test.X, test.y, 3, { seed: 5, repeats: 4 }, margins);
    const slow = permutationImportance((M) => boosted.predictProba(M), test.X, test.y, 3, { seed: 5, repeats: 4 });
    expect(fast.baseline).toBe(slow.baseline);
    for (let j = 0; j < 4; j++) {
      expect(fast.mean[j]).toBeCloseTo(slow.mean[j], 12);
      expect(fast.std[j]).toBeCloseTo(slow.std[j], 12);
    }
  });

  it('refuses trees that do not fit the decision rule', () => {
    expect(() => forestPermutationImportance(boosted.trees, test.X, test.y, 3, { seed: 1 })).toThrow(TypeError);
  });
});

describe('sampled permutation importance states its error', async () => {
  const train = dataset(1200, 3);
  const test = dataset(2000, 4);
  const forest = instanceOf(await randomForestTrainer.fit(train.X, train.y, 3, forestParams, { seed: 9 }), ForestModel);
  const proba = forest.predictProba(test.X);

  it('given the evaluation probabilities, sampled repeats are stratified and the baseline is the full split', () => {
    const sampled = forestPermutationImportance(forest.trees, test.X, test.y, 3, {
      seed: 5,
      repeats: 5,
      rowsPerRepeat: 300,
      baselineProba: proba,
    });
    const full = forestPermutationImportance(forest.trees, test.X, test.y, 3, { seed: 5, repeats: 5 });
    expect(sampled.baseline).toBe(full.baseline);
    expect(sampled.rowsPerRepeat).toBe(300);
  });

  it('a sampled repeat gives exactly what predicting its shuffled sample gives, rows in several samples included', () => {
    const repeats = 4;
    const rowsPerRepeat = 1200; // of 2,000: most rows are in more than one repeat's sample
    const fast = forestPermutationImportance(forest.trees, test.X, test.y, 3, {
      seed: 7,
      repeats,
      rowsPerRepeat,
      baselineProba: proba,
    });
    // The reference: the same samples and shuffled values, each copy predicted from scratch.
    const { rows, cols, data } = test.X;
    const permutations = featurePermutations(cols, rows, repeats, 7);
    const sampler = new Random(7 ^ 0x5a5a5a5a);
    const samples = Array.from({ length: repeats }, () => stratifiedSample(test.y, 3, rowsPerRepeat, sampler));
    const predicted = argmaxRows(proba, 3);
    for (let j = 0; j < cols; j++) {
      const drops = samples.map((sample, r) => {
        const copy = new Float64Array(sample.length * cols);
        sample.forEach((i, a) => {
          copy.set(data.subarray(i * cols, (i + 1) * cols), a * cols);
          copy[a * cols + j] = data[permutations[j][r][i] * cols + j];
        });
        const labels = Int32Array.from(sample, (i) => test.y[i]);
        const unshuffled = Int32Array.from(sample, (i) => predicted[i]);
        const shuffled = argmaxRows(forest.predictProba({ rows: sample.length, cols, data: copy }), 3);
        return macroF1(labels, unshuffled, 3) - macroF1(labels, shuffled, 3);
      });
      expect(fast.mean[j]).toBeCloseTo(drops.reduce((a, b) => a + b, 0) / repeats, 12);
    }
  });

  it('the 95 % interval shrinks as more rows are scored', () => {
    // Many repeats, so the interval itself is steady; averaged over the features that matter.
    const width = (rowsPerRepeat: number) => {
      const r = forestPermutationImportance(forest.trees, test.X, test.y, 3, {
        seed: 11,
        repeats: 20,
        rowsPerRepeat,
        baselineProba: proba,
      });
      return (r.ci95[0] + r.ci95[1]) / 2;
    };
    const small = width(100);
    const medium = width(400);
    const large = width(1600);
    expect(medium).toBeLessThan(small);
    expect(large).toBeLessThan(medium);
    // About 1/√rows: four times the rows, roughly half the width.
    expect(large / small).toBeLessThan(0.5);
  });
});

describe("rows a tree ensemble's exact permutation scores (treePermutationRows)", () => {
  // 20 features, 5 repeats, a 100-tree forest ~20 deep: the work budget allows ~4,500 rows.
  const rowsFor = (trainRows: number, testRows = 1_000_000, model: 'random_forest' | 'xgboost' = 'random_forest') =>
    treePermutationRows(model, testRows, 20, 2_000, 5, trainRows);

  it('grows with the fit, from at least 400 rows to at most 2,000 whatever the table size', () => {
    expect(rowsFor(7_000)).toBe(400); // 2.5 % is 175: the floor
    expect(rowsFor(35_000)).toBe(875);
    expect(rowsFor(140_000)).toBe(2_000); // 2.5 % would be 3,500
    expect(rowsFor(700_000)).toBe(2_000);
    expect(rowsFor(140_000, 1_000_000, 'xgboost')).toBe(1_680);
    expect(treePermutationRows('decision_tree', 1_000_000, 20, 30, 5, 140_000)).toBe(2_000); // 10 % would be 14,000
  });

  it('never more rows than the split has, and within the work budget for huge forests', () => {
    expect(rowsFor(140_000, 1_500)).toBe(1_500);
    expect(rowsFor(140_000, 300)).toBe(300);
    // Σ depth 13,400 (a 1,000-tree forest): 0.9e9 / (5 × 20 × 13,400) = 671 rows.
    expect(treePermutationRows('random_forest', 1_000_000, 20, 13_400, 5, 140_000)).toBe(671);
  });
});

describe('Random.permutation', () => {
  it('is shuffle of 0..n-1: same order, same state after (n = 0, 1, 2, 1,000)', () => {
    for (const n of [0, 1, 2, 1_000]) {
      const a = new Random(99);
      const b = new Random(99);
      const into = new Int32Array(n).fill(-1);
      expect(Array.from(a.permutation(into))).toEqual(b.shuffle(Array.from({ length: n }, (_, i) => i)));
      expect(a.next()).toBe(b.next());
    }
  });
});
