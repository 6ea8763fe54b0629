/**
 * Grouped stratified folds and cross-validation, checked against scikit-learn 1.2 on fixed data
 * (test/fixtures/selection-cv.json, made by scripts/selection-fixtures.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crossValidate, summaryOf, type CvProgress, type FoldTrainer } from '../../src/ml/selection/cross-validate.js';
import { stratifiedGroupKFold } from '../../src/ml/selection/folds.js';
import { AppError } from '../../src/domain/errors.js';

interface Fixture {
  labels: number[];
  groups: string[];
  X: number[][];
  classes: string[];
  folds: number;
  sklearnFoldOf: number[];
  sklearnFoldOf3: number[];
  perFold: Record<string, number>[];
  summary: Record<string, { mean: number; sd: number }>;
  pooledOofMacroF1: number;
  pooledOofLogLoss: number;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/selection-cv.json', import.meta.url), 'utf8')) as Fixture;
const labels = Int32Array.from(fixture.labels);
const k = fixture.classes.length;

/** The fixture script's toy model: softmax of minus the squared distance to each class's training mean. */
const nearestCentroid: FoldTrainer = (trainRows) => {
  const d = fixture.X[0].length;
  const sums = Array.from({ length: k }, () => new Float64Array(d));
  const counts = new Float64Array(k);
  for (const r of trainRows) {
    counts[labels[r]]++;
    for (let j = 0; j < d; j++) sums[labels[r]][j] += fixture.X[r][j];
  }
  const centroids = sums.map((s, c) => Array.from(s, (v) => v / counts[c]));
  return Promise.resolve((rows: Int32Array) => {
    const out = new Float64Array(rows.length * k);
    rows.forEach((r, i) => {
      const z = centroids.map((mu) => -mu.reduce((acc, m, j) => acc + (fixture.X[r][j] - m) ** 2, 0));
      const top = Math.max(...z);
      const e = z.map((v) => Math.exp(v - top));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((v, c) => (out[i * k + c] = v / sum));
    });
    return out;
  });
};

function classShares(rows: Int32Array): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const r of rows) counts[labels[r]]++;
  return counts.map((c) => c / rows.length);
}

describe('stratifiedGroupKFold', () => {
  it("without a seed, assigns every row to scikit-learn's StratifiedGroupKFold(shuffle=False) fold", () => {
    expect(Array.from(stratifiedGroupKFold(labels, fixture.groups, 5, null).foldOf)).toEqual(fixture.sklearnFoldOf);
    expect(Array.from(stratifiedGroupKFold(labels, fixture.groups, 3, null).foldOf)).toEqual(fixture.sklearnFoldOf3);
  });

  it.each([null, 1, 42, 2026])(
    'seed %s: groups never straddle folds, class shares stay close, rows partition',
    (seed) => {
      const a = stratifiedGroupKFold(labels, fixture.groups, 5, seed);
      const foldOfGroup = new Map<string, number>();
      fixture.groups.forEach((g, i) => {
        const seen = foldOfGroup.get(g);
        if (seen === undefined) foldOfGroup.set(g, a.foldOf[i]);
        else expect(a.foldOf[i]).toBe(seen);
      });
      const overall = classShares(Int32Array.from(labels.keys()));
      let total = 0;
      a.testRows.forEach((test, f) => {
        total += test.length;
        expect(test.length + a.trainRows[f].length).toBe(labels.length);
        expect(test.length).toBeGreaterThan(labels.length / 5 - 15);
        expect(test.length).toBeLessThan(labels.length / 5 + 15);
        // Each class's share within 0.06 of the whole's (326 rows in 120 stars of 1–4 rows).
        classShares(test).forEach((share, c) => {
          expect(Math.abs(share - overall[c])).toBeLessThan(0.06);
        });
        for (const r of test) expect(a.foldOf[r]).toBe(f);
      });
      expect(total).toBe(labels.length);
    },
  );

  it('is reproducible with a seed and changes with it', () => {
    const a = stratifiedGroupKFold(labels, fixture.groups, 5, 42).foldOf;
    expect(stratifiedGroupKFold(labels, fixture.groups, 5, 42).foldOf).toEqual(a);
    expect(stratifiedGroupKFold(labels, fixture.groups, 5, 43).foldOf).not.toEqual(a);
  });

  it('refuses fewer groups than folds, and fewer than 2 folds, naming cvFolds', () => {
    const y = Int32Array.from([0, 1, 0, 1]);
    expect(() => stratifiedGroupKFold(y, ['a', 'a', 'b', 'b'], 3, 1)).toThrow(/needs at least 3 groups .* has 2/);
    try {
      stratifiedGroupKFold(y, null, 1, 1);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).field).toBe('cvFolds');
    }
  });
});

describe('crossValidate', () => {
  it("gives scikit-learn's per-fold metrics and their mean ± sd (n − 1), OOF probabilities and pooled metrics", async () => {
    const events: CvProgress[] = [];
    const result = await crossValidate(nearestCentroid, {
      labels,
      groups: fixture.groups,
      classes: fixture.classes,
      folds: fixture.folds,
      seed: null,
      onProgress: (e) => events.push(e),
    });
    expect(result.perFold).toHaveLength(5);
    result.perFold.forEach((fold, f) => {
      for (const [name, expected] of Object.entries(fixture.perFold[f])) {
        expect(fold.metrics[name], `${name} fold ${f + 1}`).toBeCloseTo(expected, 10);
      }
    });
    for (const [name, expected] of Object.entries(fixture.summary)) {
      expect(result.summary[name].mean, name).toBeCloseTo(expected.mean, 10);
      expect(result.summary[name].sd, name).toBeCloseTo(expected.sd, 10);
      expect(result.summary[name].definedFolds).toBe(5);
    }
    expect(result.pooled.macro.f1).toBeCloseTo(fixture.pooledOofMacroF1, 10);
    expect(result.pooled.logLoss).toBeCloseTo(fixture.pooledOofLogLoss, 10);
    // Every row predicted exactly once, by the model of its own fold.
    for (let i = 0; i < labels.length; i++) {
      const row = result.outOfFold.subarray(i * k, (i + 1) * k);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    // Per-class names exist for every class.
    expect(Object.keys(result.summary)).toEqual(expect.arrayContaining(['a.f1', 'b.recall', 'c.rocAuc', 'brierScore']));
    // Live progress: a start and an end per fold, in order, progress rising to 1.
    expect(events.map((e) => `${e.phase}:${e.fold}`)).toEqual(
      [1, 2, 3, 4, 5].flatMap((f) => [`FOLD_STARTED:${f}`, `FOLD_DONE:${f}`]),
    );
    expect(events.at(-1)?.progress).toBe(1);
    expect(events.at(-1)?.message).toMatch(/^Fold 5 of 5: macro-F1 0\.\d{3}$/);
  });

  it('forwards model steps as STEP events within their fold, and stops when aborted', async () => {
    const controller = new AbortController();
    const events: CvProgress[] = [];
    const stepping: FoldTrainer = async (rows, context) => {
      for (let s = 1; s <= 4; s++) context.onStep({ step: s, totalSteps: 4 });
      if (context.fold === 2) controller.abort();
      return nearestCentroid(rows, context);
    };
    await expect(
      crossValidate(stepping, {
        labels,
        groups: fixture.groups,
        classes: fixture.classes,
        seed: 3,
        signal: controller.signal,
        onProgress: (e) => events.push(e),
      }),
    ).rejects.toThrow(/cancelled/);
    const steps = events.filter((e) => e.phase === 'STEP');
    expect(steps.map((e) => e.progress)).toEqual([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]);
    expect(events.filter((e) => e.phase === 'FOLD_DONE')).toHaveLength(1);
  });

  it('summaryOf: mean, sample sd, min, max; sd null for one value, everything null for none', () => {
    const s = summaryOf([0.7, 0.75, 0.8]);
    expect(s.mean).toBeCloseTo(0.75, 12);
    expect(s.sd).toBeCloseTo(0.05, 12);
    expect([s.min, s.max, s.definedFolds]).toEqual([0.7, 0.8, 3]);
    expect(summaryOf([0.5]).sd).toBeNull();
    expect(summaryOf([])).toEqual({ mean: null, sd: null, min: null, max: null, definedFolds: 0 });
  });
});
