/**
 * Search spaces and the search: default spaces inside the catalog's bounds, seeded reproducible candidates, random
 * search and successive halving (rungs, survivors, resources), the time budget, the leaderboard, and a real
 * cross-validated search of decision trees on seeded blobs.
 */
import { describe, expect, it } from 'vitest';
import { MODEL_TYPE_IDS, validateHyperparameters } from '../../src/ml/catalog.js';
import { Random } from '../../src/ml/random.js';
import {
  checkSearchSpace,
  defaultSearchSpace,
  sampleParams,
  withResource,
  type SearchSpace,
} from '../../src/ml/selection/search-space.js';
import {
  cvEvaluator,
  drawCandidate,
  runSearch,
  validationEvaluator,
  type TrialEvaluator,
  type TrialStart,
} from '../../src/ml/selection/search.js';
import { AppError } from '../../src/domain/errors.js';
import { gaussianBlobs } from './models-fixtures.js';

/** A fast stand-in for cross-validation: a known function of the parameters and the resource. */
const synthetic: TrialEvaluator = (candidate) => {
  const p = candidate.params;
  const depth = typeof p.max_depth === 'number' ? p.max_depth : 40;
  const leaf = typeof p.min_samples_leaf === 'number' ? p.min_samples_leaf : 1;
  const trees = typeof p.n_estimators === 'number' ? p.n_estimators : 100;
  const score = 0.8 - Math.abs(depth - 12) / 100 - Math.abs(leaf - 4) / 200 - 20 / trees / 100;
  return Promise.resolve({ score, sd: 0.01, foldScores: [score], fitSeconds: trees / 1000 });
};

describe('search spaces', () => {
  it('refuses to search soft_voting: its members are runs to choose, not hyperparameters to draw', () => {
    expect(() => defaultSearchSpace('soft_voting')).toThrow(/no hyperparameters to search/);
  });

  const searchable = MODEL_TYPE_IDS.filter((m) => m !== 'soft_voting');
  it.each(searchable)('%s: the default space lies within the catalog and its draws validate', (modelType) => {
    const space = defaultSearchSpace(modelType);
    expect(() => {
      checkSearchSpace(space);
    }).not.toThrow();
    const random = new Random(1);
    for (let i = 0; i < 50; i++) {
      const params = sampleParams(space, random);
      expect(validateHyperparameters(modelType, params)).toEqual(params);
      for (const d of space.dimensions) {
        const value = params[d.name];
        if (d.kind === 'choice') expect(d.values).toContainEqual(value);
        else {
          expect(typeof value).toBe('number');
          expect(value as number).toBeGreaterThanOrEqual(d.low);
          expect(value as number).toBeLessThanOrEqual(d.high);
          if (d.kind === 'int') expect(Number.isInteger(value)).toBe(true);
        }
      }
    }
  });

  it('refuses ranges outside the catalog, unknown names and bad choices, naming space.<name>', () => {
    const rf = defaultSearchSpace('random_forest');
    const cases: [SearchSpace, RegExp, string][] = [
      [
        { ...rf, dimensions: [{ name: 'min_samples_leaf', kind: 'int', low: 0, high: 5 }] },
        /within the catalog's \[1, 1000\]/,
        'space.min_samples_leaf',
      ],
      [
        { ...rf, dimensions: [{ name: 'learning_rate', kind: 'float', low: 0.1, high: 0.2 }] },
        /no hyperparameter/,
        'space.learning_rate',
      ],
      [
        { ...rf, dimensions: [{ name: 'max_features', kind: 'choice', values: ['sqrt', 'half'] }] },
        /max_features/,
        'hyperparameters.max_features',
      ],
      [
        {
          ...defaultSearchSpace('xgboost'),
          dimensions: [{ name: 'learning_rate', kind: 'float', low: 0, high: 0.3, log: true }],
        },
        /\(0, 1\], above 0 on a log scale/,
        'space.learning_rate',
      ],
    ];
    for (const [space, message, field] of cases) {
      try {
        checkSearchSpace(space);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(AppError);
        expect((error as AppError).message).toMatch(message);
        expect((error as AppError).field).toBe(field);
      }
    }
  });

  it('applies the resource: trees / rounds / epochs scale, other models get a row share', () => {
    const rf = defaultSearchSpace('random_forest');
    const params = sampleParams(rf, new Random(3));
    expect(withResource(rf, params, 1 / 9)).toMatchObject({ params: { n_estimators: 33 }, rowFraction: 1, amount: 33 });
    expect(withResource(rf, params, 0.01).amount).toBe(20); // never below the space's least
    expect(withResource(defaultSearchSpace('neural_network'), {}, 1 / 3).params).toEqual({ epochs: 20 });
    expect(withResource(defaultSearchSpace('logistic_regression'), { C: 1 }, 1 / 3)).toEqual({
      params: { C: 1 },
      rowFraction: 1 / 3,
      amount: 1 / 3,
    });
  });
});

describe('runSearch', () => {
  const spaces = [defaultSearchSpace('random_forest'), defaultSearchSpace('xgboost')];

  it('draws the same candidates for a seed, whatever else happens, and others for another seed', () => {
    const a = Array.from({ length: 10 }, (_, i) => drawCandidate(spaces, 42, i));
    expect(Array.from({ length: 10 }, (_, i) => drawCandidate(spaces, 42, i))).toEqual(a);
    expect(drawCandidate(spaces, 43, 0)).not.toEqual(a[0]);
    expect(new Set(a.map((c) => c.modelType))).toEqual(new Set(['random_forest', 'xgboost']));
  });

  it('random search: maxTrials trials at the full resource, a leaderboard best first, live start/end hooks', async () => {
    const started: TrialStart[] = [];
    const bests: (number | null)[] = [];
    const result = await runSearch({ spaces: [spaces[0]], strategy: 'RANDOM', seed: 7, maxTrials: 12 }, synthetic, {
      onTrialStart: (t) => started.push(t),
      onTrialEnd: (_t, best) => bests.push(best?.score ?? null),
    });
    expect(result.trials).toHaveLength(12);
    expect(started.map((t) => t.trial)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(result.trials.every((t) => t.params.n_estimators === 300 && t.rung === 0)).toBe(true);
    const scores = result.leaderboard.map((t) => t.score ?? 0);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(result.best).toBe(result.leaderboard[0]);
    // The running best never decreases and ends at the best.
    expect(bests).toEqual(bests.map((_, i) => Math.max(...bests.slice(0, i + 1).map((b) => b ?? 0))));
    expect(bests.at(-1)).toBe(result.best?.score);
    expect(result.stoppedBecause).toBe('COMPLETED');
    // Reproducible.
    const again = await runSearch({ spaces: [spaces[0]], strategy: 'RANDOM', seed: 7, maxTrials: 12 }, synthetic);
    expect(again.trials.map((t) => [t.params, t.score])).toEqual(result.trials.map((t) => [t.params, t.score]));
  });

  it('successive halving: 27 → 9 → 3 candidates on 1/9, 1/3 and all of the trees, the best of the last rung wins', async () => {
    const result = await runSearch({ spaces: [spaces[0]], strategy: 'SUCCESSIVE_HALVING', seed: 5 }, synthetic);
    const perRung = [0, 1, 2].map((r) => result.trials.filter((t) => t.rung === r));
    expect(perRung.map((r) => r.length)).toEqual([27, 9, 3]);
    expect(perRung.map((r) => r[0].params.n_estimators)).toEqual([33, 100, 300]);
    // Survivors are the best of the rung before.
    for (const r of [1, 2]) {
      const previous = [...perRung[r - 1]].sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
      const kept = new Set(previous.slice(0, perRung[r].length).map((t) => t.candidate));
      expect(new Set(perRung[r].map((t) => t.candidate))).toEqual(kept);
    }
    expect(result.best?.rung).toBe(2);
    expect(result.best?.score).toBe(Math.max(...perRung[2].map((t) => t.score ?? 0)));
    expect(result.leaderboard).toHaveLength(27);
    expect(result.leaderboard.slice(0, 3).every((t) => t.rung === 2)).toBe(true);
  });

  it('stops starting trials when the time budget is spent, and records failures without stopping', async () => {
    let calls = 0;
    const slowAndFlaky: TrialEvaluator = async (candidate, context) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 40));
      if (calls === 2) throw new Error('diverged');
      return synthetic(candidate, context);
    };
    const result = await runSearch({ spaces: [spaces[0]], strategy: 'RANDOM', seed: 1, maxSeconds: 0.2 }, slowAndFlaky);
    expect(result.stoppedBecause).toBe('TIME');
    expect(result.trials.length).toBeGreaterThanOrEqual(3);
    expect(result.trials.length).toBeLessThan(10);
    expect(result.trials[1]).toMatchObject({ status: 'FAILED', error: 'diverged', score: null });
    expect(result.best?.status).toBe('DONE');
  });

  it('cross-validates real decision trees: scores are mean ± sd of 3 grouped folds, reproducible', async () => {
    const blobs = gaussianBlobs(11, 300, 4, 3, 1.5);
    const groups = Array.from({ length: 300 }, (_, i) => `star${Math.floor(i / 2)}`);
    const data = { X: blobs.X, labels: blobs.y, groups, classes: ['a', 'b', 'c'] };
    const space = defaultSearchSpace('decision_tree');
    const config = { spaces: [space], strategy: 'RANDOM' as const, seed: 3, maxTrials: 4 };
    const first = await runSearch(config, cvEvaluator(data, { folds: 3, seed: 3 }));
    expect(first.trials.every((t) => t.status === 'DONE' && t.foldScores.length === 3)).toBe(true);
    for (const t of first.trials) {
      const mean = t.foldScores.reduce((a, b) => a + b, 0) / 3;
      expect(t.score).toBeCloseTo(mean, 12);
      expect(t.sd).toBeCloseTo(Math.sqrt(t.foldScores.reduce((a, v) => a + (v - mean) ** 2, 0) / 2), 12);
    }
    expect(first.best?.score).toBeGreaterThan(0.6);
    const second = await runSearch(config, cvEvaluator(data, { folds: 3, seed: 3 }));
    expect(second.trials.map((t) => t.foldScores)).toEqual(first.trials.map((t) => t.foldScores));
    // Halving on rows for a model without a count: the first rung trains on a ninth of each fold's rows.
    const halving = await runSearch(
      { spaces: [space], strategy: 'SUCCESSIVE_HALVING', seed: 3, maxTrials: 9 },
      cvEvaluator(data, { folds: 3, seed: 3 }),
    );
    expect(halving.trials.map((t) => t.resourceShare)).toEqual([
      ...new Array<number>(9).fill(1 / 9),
      1 / 3,
      1 / 3,
      1 / 3,
      1,
    ]);
    // And on a validation split.
    const rows = Int32Array.from({ length: 300 }, (_, i) => i);
    const validation = await runSearch(
      config,
      validationEvaluator(
        data,
        { trainRows: rows.filter((i) => i % 5 !== 0), validationRows: rows.filter((i) => i % 5 === 0) },
        { seed: 3 },
      ),
    );
    expect(validation.trials.every((t) => t.sd === null && t.foldScores.length === 1)).toBe(true);
  });
});
