import { describe, expect, it } from 'vitest';
import { argmaxRows, macroF1 } from '../../src/ml/evaluate.js';
import { fitClassScales, fitVotingWeights, scaleClasses, softVote } from '../../src/ml/selection/ensemble.js';
import { defaultSearchSpace, spaceWithOverrides } from '../../src/ml/selection/search-space.js';
import { AppError } from '../../src/domain/errors.js';

describe('soft voting', () => {
  it('is the (weighted) mean of the members’ probabilities', () => {
    const a = Float64Array.from([0.9, 0.1, 0.2, 0.8]);
    const b = Float64Array.from([0.5, 0.5, 0.6, 0.4]);
    const close = (actual: Float64Array, expected: number[]) => {
      expected.forEach((v, i) => {
        expect(actual[i]).toBeCloseTo(v, 12);
      });
    };
    close(softVote([a, b]), [0.7, 0.3, 0.4, 0.6]);
    close(softVote([a, b], [3, 1]), [0.8, 0.2, 0.3, 0.7]);
    expect(() => softVote([a, b], [0, 0])).toThrow(RangeError);
  });

  it('fits weights and class scales on out-of-fold rows that never score worse than the plain vote', () => {
    // Member 0 is right on every row, member 1 always says class 0; class 1 is the minority.
    const labels = Int32Array.from([0, 0, 0, 1, 1, 0, 0, 1]);
    const good = Float64Array.from(Array.from(labels).flatMap((y) => (y === 1 ? [0.45, 0.55] : [0.6, 0.4])));
    const bad = Float64Array.from(Array.from(labels).flatMap(() => [0.9, 0.1]));
    const plain = macroF1(labels, argmaxRows(softVote([good, bad]), 2), 2);
    const fitted = fitVotingWeights([good, bad], labels, 2);
    expect(fitted.score).toBeGreaterThanOrEqual(plain);
    expect(fitted.score).toBe(1);
    expect(fitted.weights[0]).toBeGreaterThan(fitted.weights[1]);
    // The equal vote calls everything class 0; a larger scale on class 1 recovers it.
    const scales = fitClassScales(softVote([good, bad]), labels, 2);
    expect(scales.score).toBe(1);
    expect(scales.scales[1]).toBeGreaterThan(1);
    const scaled = scaleClasses(softVote([good, bad]), scales.scales);
    expect(scaled[0] + scaled[1]).toBeCloseTo(1, 12);
  });
});

describe('search space overrides', () => {
  it('replaces a dimension, fixes a parameter out of the search and scales the resource from a fixed count', () => {
    const space = spaceWithOverrides('random_forest', {
      dimensions: [{ name: 'min_samples_leaf', kind: 'int', low: 2, high: 4 }],
      fixed: { n_estimators: 90, bootstrap: true },
    });
    expect(space.dimensions.find((d) => d.name === 'min_samples_leaf')).toEqual({
      name: 'min_samples_leaf',
      kind: 'int',
      low: 2,
      high: 4,
    });
    expect(space.dimensions.some((d) => d.name === 'bootstrap')).toBe(false);
    expect(space.fixed).toMatchObject({ n_estimators: 90, bootstrap: true });
    expect(space.resource).toEqual({ kind: 'param', param: 'n_estimators', full: 90, least: 20 });
    expect(spaceWithOverrides('random_forest', undefined)).toEqual(defaultSearchSpace('random_forest'));
  });

  it('refuses shapes and bounds naming the field', () => {
    const fieldOf = (raw: unknown) => {
      try {
        spaceWithOverrides('decision_tree', raw);
      } catch (error) {
        return error instanceof AppError ? error.field : String(error);
      }
      return null;
    };
    expect(fieldOf({ dimensions: [{ name: 'max_depth', kind: 'int', low: 0, high: 4 }] })).toBe('space.max_depth');
    expect(fieldOf({ dimensions: [{ name: 'criterion', kind: 'choice' }] })).toBe(
      'space.decision_tree.dimensions.0.values',
    );
    expect(fieldOf({ colour: 1 })).toBe('space.decision_tree.colour');
    expect(fieldOf({ dimensions: [{ name: 'no_such', kind: 'float', low: 1, high: 2 }] })).toBe('space.no_such');
  });
});
