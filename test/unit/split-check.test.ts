import { describe, expect, it } from 'vitest';
import { DEFAULT_SPLIT_SIZES, MIN_ROWS_PER_CLASS, checkedSplit, minimumRowsPerClass } from '../../src/ml/data/split.js';
import { AppError } from '../../src/domain/errors.js';
import { checkTrainable } from '../../src/ml/pipeline.js';
import { customLabeledTable } from '../../src/ml/data/dataset.js';

/** `perClass[c]` rows of class c, one row per group (no star holds two rows). */
function labelsOf(perClass: number[]): Int32Array {
  return Int32Array.from(perClass.flatMap((n, c) => Array.from({ length: n }, () => c)));
}

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('checkedSplit: the smallest data a run may train on', () => {
  const sizes = { ...DEFAULT_SPLIT_SIZES };

  it('refuses 4 rows, naming the counts per class and split and the smallest dataset that works', () => {
    const error = refusal(() => checkedSplit(labelsOf([2, 2]), null, ['fake', 'real'], sizes, 42));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.field).toBe('datasetId');
    const n = minimumRowsPerClass(2, sizes, 42);
    expect(error.message).toContain(`smallest dataset that works has ${n} rows per class`);
    expect(error.message).toMatch(/class "fake" has \d+ (validation|test)( and \d+ test)? row\(s\)/);
    // Every class with its rows per split.
    expect(error.message).toMatch(/"fake" 2 \(\d+\/\d+\/\d+\), "real" 2 \(\d+\/\d+\/\d+\)/);
    expect(error.message).toContain(
      `at least ${MIN_ROWS_PER_CLASS.train} train, ${MIN_ROWS_PER_CLASS.validation} validation, ${MIN_ROWS_PER_CLASS.test} test`,
    );
  });

  it('the stated minimum is exact: that many rows per class train, one fewer is refused', () => {
    for (const numClasses of [2, 3]) {
      const n = minimumRowsPerClass(numClasses, sizes, 42);
      expect(n).toBeGreaterThanOrEqual(
        MIN_ROWS_PER_CLASS.train + MIN_ROWS_PER_CLASS.validation + MIN_ROWS_PER_CLASS.test,
      );
      const classes = Array.from({ length: numClasses }, (_, c) => `c${c}`);
      const ok = checkedSplit(labelsOf(classes.map(() => n)), null, classes, sizes, 42);
      for (const c of ok.counts) {
        expect(c.test).toBeGreaterThanOrEqual(MIN_ROWS_PER_CLASS.test);
        expect(c.validation).toBeGreaterThanOrEqual(MIN_ROWS_PER_CLASS.validation);
        expect(c.train).toBeGreaterThanOrEqual(MIN_ROWS_PER_CLASS.train);
      }
      expect(() => checkedSplit(labelsOf(classes.map(() => n - 1)), null, classes, sizes, 42)).toThrow(AppError);
    }
  });

  it('without a validation share, the validation split may be empty and fewer rows do', () => {
    const noValidation = { train: 0.75, validation: 0, test: 0.25 };
    const n = minimumRowsPerClass(2, noValidation, 42);
    // A small validation share needs many rows to get one of each class there.
    const withValidation = { train: 0.7, validation: 0.05, test: 0.25 };
    expect(n).toBeLessThan(minimumRowsPerClass(2, withValidation, 42));
    const error = refusal(() => checkedSplit(labelsOf([n, n]), null, ['a', 'b'], withValidation, 42));
    expect(error.message).toContain(`with no validation split (validation 0), ${n}`);
    const { split, warnings } = checkedSplit(labelsOf([n, n]), null, ['a', 'b'], noValidation, 42);
    expect(split.validation.length).toBe(0);
    expect(warnings.length).toBe(2);
  });

  it('counts what the grouped split really does: a star holding most of a class fails the check', () => {
    // Class "b" has 12 rows, but 11 belong to one star: they all land in one split.
    const labels = labelsOf([40, 12]);
    const groups = Array.from(labels, (y, i) => (y === 1 && i < 51 ? 'big-star' : `star-${i}`));
    const error = refusal(() => checkedSplit(labels, groups, ['a', 'b'], sizes, 42));
    expect(error.message).toContain('class "b" has');
    expect(error.message).toContain('more when a star has several rows');
  });

  it('warns about a tiny but trainable class, and only about it', () => {
    const { warnings, counts } = checkedSplit(labelsOf([200, 200, 15]), null, ['a', 'b', 'c'], sizes, 42);
    expect(counts.map((c) => c.total)).toEqual([200, 200, 15]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Class "c" is tiny: 15 rows \(train \d+, validation \d+, test \d+\)/);
  });

  it('checkTrainable applies the rule to the table the task trains on', () => {
    const rows = [
      ...Array.from({ length: 30 }, (_, i) => [String(i), 'FALSE POSITIVE']),
      ...Array.from({ length: 30 }, (_, i) => [String(i), 'CANDIDATE']),
      ...Array.from({ length: 3 }, (_, i) => [String(i), 'CONFIRMED']),
    ];
    const table = customLabeledTable({ columns: ['x', 'label'], rows }, 'label');
    const error = refusal(() => checkTrainable(table, { task: 'THREE_CLASS', split: sizes, seed: 42 }));
    expect(error.message).toMatch(/"CONFIRMED" 3 \(/);
    // Two classes of 30 train, but each has fewer than 10 test rows: a warning each.
    const fine = checkTrainable(customLabeledTable({ columns: ['x', 'label'], rows: rows.slice(0, 60) }, 'label'), {
      task: 'THREE_CLASS',
      split: sizes,
      seed: 42,
    });
    expect(fine.splitCounts.train + fine.splitCounts.validation + fine.splitCounts.test).toBe(60);
    expect(fine.warnings.map((w) => w.split(':')[0])).toEqual([
      'Class "CANDIDATE" is tiny',
      'Class "FALSE POSITIVE" is tiny',
    ]);
    expect(fine.warnings[0]).toMatch(/^Class "CANDIDATE" is tiny: 30 rows \(train \d+, validation \d+, test \d+\)/);
  });
});
