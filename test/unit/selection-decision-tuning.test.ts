import { describe, expect, it } from 'vitest';
import { argmaxRows, macroF1 } from '../../src/ml/evaluate.js';
import { fitClassScales, scaleClasses } from '../../src/ml/selection/ensemble.js';
import { applyClassScales, tuneDecision } from '../../src/ml/selection/decision-tuning.js';

/** Fixed, seeded probabilities: class c's rows lean to c, with noise, and the later classes are rarer. */
function fixedData(rows: number, k: number, seed: number): { labels: Int32Array; proba: Float64Array } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const labels = new Int32Array(rows);
  const proba = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const u = next();
    labels[r] = k === 2 ? (u < 0.3 ? 1 : 0) : u < 0.55 ? 0 : u < 0.85 ? 1 : 2;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      // The model under-predicts the rare classes: their true rows get only a small lift.
      const lift = c === labels[r] ? (c === 0 ? 1.2 : 0.5) : 0;
      sum += proba[r * k + c] = next() + lift + (c === 0 ? 0.4 : 0);
    }
    for (let c = 0; c < k; c++) proba[r * k + c] /= sum;
  }
  return { labels, proba };
}

const score = (labels: Int32Array, proba: Float64Array, k: number) => macroF1(labels, argmaxRows(proba, k), k);
/** The scales' grid of fitClassScales: 4^((i − 12) / 12), i = 0..24. */
const GRID = Array.from({ length: 25 }, (_, i) => Math.pow(4, (i - 12) / 12));

describe('decision tuning: class scales for macro-F1', () => {
  it('two classes: the fitted scale is the brute-force best of the grid (ties keep the smallest move)', () => {
    const { labels, proba } = fixedData(400, 2, 7);
    const untuned = score(labels, proba, 2);
    let best = { scale: 1, value: untuned };
    for (const scale of GRID) {
      const value = score(labels, scaleClasses(proba, [1, scale]), 2);
      if (value > best.value + 1e-12) best = { scale, value };
    }
    const fitted = fitClassScales(proba, labels, 2);
    expect(best.value).toBeGreaterThan(untuned + 0.01); // the data does leave something to tune
    expect(fitted.scales).toEqual([1, best.scale]);
    expect(fitted.score).toBe(best.value);
  });

  it('three classes: coordinate ascent reaches the brute-force grid optimum here and never beats it', () => {
    const { labels, proba } = fixedData(600, 3, 11);
    let bruteForce = score(labels, proba, 3);
    for (const s1 of GRID)
      for (const s2 of GRID) bruteForce = Math.max(bruteForce, score(labels, scaleClasses(proba, [1, s1, s2]), 3));
    const fitted = fitClassScales(proba, labels, 3);
    expect(fitted.score).toBeLessThanOrEqual(bruteForce + 1e-12);
    expect(fitted.score).toBeCloseTo(bruteForce, 12);
    expect(fitted.scales[0]).toBe(1);
    expect(score(labels, scaleClasses(proba, fitted.scales), 3)).toBe(fitted.score);
  });

  it('tuneDecision fits on the held-out rows only and reports before / after, the test scored with the same scales', () => {
    const fit = fixedData(500, 2, 3);
    const test = fixedData(300, 2, 4);
    const tuned = tuneDecision(
      { on: 'OUT_OF_FOLD', labels: fit.labels, proba: fit.proba },
      { labels: test.labels, proba: test.proba },
      ['FALSE POSITIVE', 'PLANET'],
    );
    expect(tuned.classScales).toEqual(fitClassScales(fit.proba, fit.labels, 2).scales);
    expect(tuned.info.fitted.before).toBe(score(fit.labels, fit.proba, 2));
    expect(tuned.info.fitted.after).toBeGreaterThanOrEqual(tuned.info.fitted.before);
    expect(tuned.info.test.before).toBe(score(test.labels, test.proba, 2));
    expect(Array.from(tuned.testProba)).toEqual(Array.from(scaleClasses(test.proba, tuned.classScales)));
    expect(Math.abs(tuned.info.test.after - score(test.labels, tuned.testProba, 2))).toBeLessThan(1e-9);
    expect(tuned.info.fittedRows).toBe(500);
    expect(tuned.info.description).toMatch(/out-of-fold predictions \(500 rows; the test split was not used\)/);
    // Rows stay probabilities; no scales leave them as they are.
    for (let r = 0; r < 300; r++) expect(tuned.testProba[2 * r] + tuned.testProba[2 * r + 1]).toBeCloseTo(1, 12);
    expect(applyClassScales(test.proba, undefined)).toBe(test.proba);
  });
});
