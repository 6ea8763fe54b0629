import { describe, it, expect } from 'vitest';
import { groupedStratifiedSplit, DEFAULT_SPLIT_SIZES, type SplitIndices } from '../../src/ml/data/index.js';
import { Random } from '../../src/ml/random.js';
import { expectDataError } from '../fixtures/data-fixtures.js';

/** Synthetic data: stars with 1..6 rows each, class mix depends on the star (like multi-planet systems). */
function synthetic(numStars: number, seed: number) {
  const rng = new Random(seed);
  const labels: number[] = [];
  const groups: string[] = [];
  for (let s = 0; s < numStars; s++) {
    const size = 1 + Math.floor(rng.next() ** 3 * 6);
    const bias = rng.int(3);
    for (let k = 0; k < size; k++) {
      labels.push(rng.next() < 0.6 ? bias : rng.int(3));
      groups.push(`star-${s}`);
    }
  }
  return { labels: Int32Array.from(labels), groups };
}

function checkPartition(split: SplitIndices, n: number) {
  const all = [...split.train, ...split.validation, ...split.test].sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const part of [split.train, split.validation, split.test]) {
    for (let i = 1; i < part.length; i++) expect(part[i]).toBeGreaterThan(part[i - 1]);
  }
}

function classShares(labels: Int32Array, indices: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const i of Array.from(indices)) counts[labels[i]]++;
  return counts.map((c) => c / indices.length);
}

describe('groupedStratifiedSplit', () => {
  const { labels, groups } = synthetic(3000, 7);
  const n = labels.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const overall = classShares(labels, all, 3);

  it('partitions the rows, sorted, with no star on two sides', () => {
    const split = groupedStratifiedSplit(labels, groups, 3, DEFAULT_SPLIT_SIZES, 42);
    checkPartition(split, n);
    const side = new Map<string, string>();
    for (const [name, part] of Object.entries(split)) {
      for (const i of part as Int32Array) {
        const previous = side.get(groups[i]);
        expect(previous === undefined || previous === name, `${groups[i]} on ${previous} and ${name}`).toBe(true);
        side.set(groups[i], name);
      }
    }
  });

  it('keeps class shares within 2 points of the overall shares and sizes within 1 point of the request', () => {
    const split = groupedStratifiedSplit(labels, groups, 3, { train: 0.6, validation: 0.15, test: 0.25 }, 3);
    expect(Math.abs(split.train.length / n - 0.6)).toBeLessThan(0.01);
    expect(Math.abs(split.validation.length / n - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(split.test.length / n - 0.25)).toBeLessThan(0.01);
    for (const part of [split.train, split.validation, split.test]) {
      classShares(labels, part, 3).forEach((share, c) => {
        expect(Math.abs(share - overall[c])).toBeLessThan(0.02);
      });
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = groupedStratifiedSplit(labels, groups, 3, DEFAULT_SPLIT_SIZES, 42);
    const b = groupedStratifiedSplit(labels, groups, 3, DEFAULT_SPLIT_SIZES, 42);
    const c = groupedStratifiedSplit(labels, groups, 3, DEFAULT_SPLIT_SIZES, 43);
    expect(b).toEqual(a);
    expect(Array.from(c.test)).not.toEqual(Array.from(a.test));
  });

  it('without groups, stratifies single rows exactly (up to rounding)', () => {
    const y = Int32Array.from({ length: 1000 }, (_, i) => (i < 100 ? 0 : i < 400 ? 1 : 2));
    const split = groupedStratifiedSplit(y, null, 3, DEFAULT_SPLIT_SIZES, 1);
    checkPartition(split, 1000);
    const count = (part: Int32Array, c: number) => Array.from(part).filter((i) => y[i] === c).length;
    expect([count(split.train, 0), count(split.validation, 0), count(split.test, 0)]).toEqual([70, 10, 20]);
    expect([count(split.train, 1), count(split.validation, 1), count(split.test, 1)]).toEqual([210, 30, 60]);
    expect([count(split.train, 2), count(split.validation, 2), count(split.test, 2)]).toEqual([420, 60, 120]);
  });

  it('leaves a split with share 0 empty', () => {
    const split = groupedStratifiedSplit(labels, groups, 3, { train: 0.8, validation: 0, test: 0.2 }, 5);
    expect(split.validation.length).toBe(0);
    checkPartition(split, n);
  });

  it('one huge group lands whole on one side', () => {
    const y = Int32Array.from({ length: 200 }, (_, i) => i % 2);
    const g = Array.from({ length: 200 }, (_, i) => (i < 50 ? 'big' : `s${i}`));
    const split = groupedStratifiedSplit(y, g, 2, DEFAULT_SPLIT_SIZES, 9);
    const sidesOfBig = [split.train, split.validation, split.test].filter((part) =>
      Array.from(part).some((i) => i < 50),
    );
    expect(sidesOfBig).toHaveLength(1);
    expect(sidesOfBig[0].filter((i) => i < 50)).toHaveLength(50);
  });

  it('validates sizes and labels', () => {
    expectDataError(
      () => groupedStratifiedSplit(labels, groups, 3, { train: 0.7, validation: 0.2, test: 0.2 }, 1),
      'BAD_USER_INPUT',
      'split',
      /add up to 1/,
    );
    expectDataError(
      () => groupedStratifiedSplit(labels, groups, 3, { train: 1.2, validation: -0.1, test: -0.1 }, 1),
      'BAD_USER_INPUT',
      'split',
    );
    expectDataError(
      () => groupedStratifiedSplit(labels, groups, 3, { train: 1, validation: 0, test: 0 }, 1),
      'BAD_USER_INPUT',
      'split',
      /must not be empty/,
    );
    expect(() => groupedStratifiedSplit(Int32Array.from([0, 3]), null, 3, DEFAULT_SPLIT_SIZES, 1)).toThrow(RangeError);
    expect(() => groupedStratifiedSplit(Int32Array.from([0, 1]), ['a'], 2, DEFAULT_SPLIT_SIZES, 1)).toThrow(RangeError);
  });
});
