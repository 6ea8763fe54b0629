/**
 * Run comparison: McNemar against scipy (binomtest / chi2.sf), observed metrics against scikit-learn, the paired
 * bootstrap's spread against an independent numpy bootstrap, and the refusals (test/fixtures/selection-compare.json).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/ml/evaluate.js';
import {
  compareEvaluations,
  differentRowsReason,
  mcnemar,
  type EvaluatedRows,
} from '../../src/ml/selection/compare.js';
import { AppError } from '../../src/domain/errors.js';

interface Fixture {
  mcnemar: { b: number; c: number; method: string; statistic: number; pValue: number }[];
  labels: number[];
  groups: string[];
  probaA: number[];
  probaB: number[];
  observedA: Record<string, number>;
  observedB: Record<string, number>;
  discordant: { b: number; c: number };
  bootstrapSd: Record<'ROWS' | 'STARS', Record<'accuracy' | 'macroF1', number>>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/selection-compare.json', import.meta.url), 'utf8'),
) as Fixture;
const classes = ['false_positive', 'candidate', 'planet'];
const rowIds = fixture.labels.map((_, i) => `K${String(i).padStart(5, '0')}.01`);
const runA: EvaluatedRows = {
  name: 'run A',
  rowIds,
  labels: Int32Array.from(fixture.labels),
  proba: Float64Array.from(fixture.probaA),
  classes,
};
const runB: EvaluatedRows = { ...runA, name: 'run B', proba: Float64Array.from(fixture.probaB) };

describe('mcnemar', () => {
  it.each(fixture.mcnemar)('b=$b c=$c: $method as scipy', (expected) => {
    const result = mcnemar(expected.b, expected.c);
    expect(result.method).toBe(expected.method);
    expect(result.statistic).toBeCloseTo(expected.statistic, 12);
    expect(Math.abs(result.pValue - expected.pValue)).toBeLessThan(1e-12 + 1e-9 * expected.pValue);
  });
});

describe('compareEvaluations', () => {
  const rows = compareEvaluations(runA, runB, { resamples: 2000, seed: 7 });
  const stars = compareEvaluations(runA, runB, { resamples: 2000, seed: 7, groups: fixture.groups });

  it("reports each run's metrics as scikit-learn and evaluate.ts compute them, and the difference B − A", () => {
    const evaluatedA = evaluate(runA.labels, runA.proba, classes);
    for (const m of rows.metrics) {
      expect(m.a, `${m.metric} A`).toBeCloseTo(fixture.observedA[m.metric], 12);
      expect(m.b, `${m.metric} B`).toBeCloseTo(fixture.observedB[m.metric], 12);
      expect(m.difference).toBeCloseTo(fixture.observedB[m.metric] - fixture.observedA[m.metric], 12);
    }
    const byName = Object.fromEntries(rows.metrics.map((m) => [m.metric, m.a]));
    expect(byName.rocAucOvrMacro).toBeCloseTo(evaluatedA.rocAucOvrMacro ?? NaN, 12);
    expect(byName.logLoss).toBeCloseTo(evaluatedA.logLoss ?? NaN, 12);
    expect(rows.mcnemar).toMatchObject(fixture.discordant);
  });

  it('gives intervals around the observed difference, as wide as an independent bootstrap (rows and stars)', () => {
    for (const [result, mode] of [
      [rows, 'ROWS'],
      [stars, 'STARS'],
    ] as const) {
      expect(result.resampling).toBe(mode);
      for (const metric of ['accuracy', 'macroF1'] as const) {
        const m = result.metrics.find((x) => x.metric === metric);
        if (m?.ciLower == null || m.ciUpper === null || m.difference === null) throw new Error(metric);
        expect(m.ciLower).toBeLessThan(m.difference);
        expect(m.ciUpper).toBeGreaterThan(m.difference);
        // 95 % percentile interval ≈ ±1.96 sd of the independent bootstrap: width within 20 %.
        const width = m.ciUpper - m.ciLower;
        const expected = 2 * 1.96 * fixture.bootstrapSd[mode][metric];
        expect(width / expected, `${mode} ${metric}`).toBeGreaterThan(0.8);
        expect(width / expected, `${mode} ${metric}`).toBeLessThan(1.2);
      }
    }
    // B is the better model on this data: it wins in most resamples, log loss and Brier counted lower-is-better.
    for (const m of rows.metrics) expect(m.shareBBetter, m.metric).toBeGreaterThan(0.9);
  });

  it('is reproducible for a seed, and identical models differ by exactly 0', () => {
    expect(compareEvaluations(runA, runB, { resamples: 200, seed: 3 })).toEqual(
      compareEvaluations(runA, runB, { resamples: 200, seed: 3 }),
    );
    const same = compareEvaluations(runA, { ...runA, name: 'copy' }, { resamples: 100 });
    for (const m of same.metrics) expect([m.difference, m.ciLower, m.ciUpper, m.shareBBetter]).toEqual([0, 0, 0, 0]);
    expect(same.mcnemar).toMatchObject({ b: 0, c: 0, pValue: 1 });
  });

  it('refuses runs evaluated on other rows, saying why (BAD_USER_INPUT on runIds)', () => {
    const fewer = { ...runB, rowIds: rowIds.slice(1), labels: runB.labels.slice(1), proba: runB.proba.slice(3) };
    expect(differentRowsReason(runA, fewer)).toMatch(/run A was evaluated on 400 rows and run B on 399/);
    const shifted = { ...runB, rowIds: rowIds.map((id, i) => (i === 5 ? 'K99999.01' : id)) };
    expect(differentRowsReason(runA, shifted)).toMatch(
      /1 of 400 differ \(first at position 6: K00005\.01 vs K99999\.01\)/,
    );
    const relabelled = { ...runB, labels: runB.labels.map((y, i) => (i === 0 ? (y + 1) % 3 : y)) };
    expect(differentRowsReason(runA, relabelled)).toMatch(/the table changed between the runs/);
    const binary = { ...runB, classes: ['false_positive', 'planet'] };
    expect(differentRowsReason(runA, binary)).toMatch(/different tasks/);
    try {
      compareEvaluations(runA, fewer);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('BAD_USER_INPUT');
      expect((error as AppError).field).toBe('runIds');
    }
  });
});
