/**
 * Platt and isotonic calibration, Brier score, log loss, ECE and reliability curves against scikit-learn 1.2 on
 * fixed data (test/fixtures/selection-calibration.json, made by scripts/selection-fixtures.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyCalibration,
  calibrationMeasures,
  calibrationReport,
  fitCalibration,
  fitIsotonic,
  applyCalibrator,
  reliabilityCurve,
  type CalibrationMethod,
} from '../../src/ml/selection/calibration.js';

interface Measures {
  brier: number;
  binaryBrier: number | null;
  logLoss: number;
  ece: number;
  curves: Record<'uniform' | 'quantile', [number[], number[]]>[];
}

interface Case {
  k: number;
  method: CalibrationMethod;
  fitProba: number[];
  fitLabels: number[];
  testProba: number[];
  testLabels: number[];
  calibrated: number[];
  ab?: [number, number][];
  measures: { before: Measures; after: Measures };
}

const { cases } = JSON.parse(
  readFileSync(new URL('../fixtures/selection-calibration.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

const classesOf = (k: number) => Array.from({ length: k }, (_, c) => `class${c}`);

describe.each(cases.map((c) => [`${c.method}, ${c.k} classes`, c] as const))('%s', (_name, c) => {
  const calibration = fitCalibration(Float64Array.from(c.fitProba), Int32Array.from(c.fitLabels), c.k, c.method);
  const testProba = Float64Array.from(c.testProba);
  const testLabels = Int32Array.from(c.testLabels);
  const after = applyCalibration(calibration, testProba);

  it("calibrates held-out rows as scikit-learn's CalibratedClassifierCV(cv='prefit')", () => {
    expect(calibration.calibrators).toHaveLength(c.k === 2 ? 1 : c.k);
    expect(after).toHaveLength(c.calibrated.length);
    // Platt: scikit-learn's BFGS stops at gradient 1e-5, ours at the optimum; isotonic is exact.
    const tolerance = c.method === 'sigmoid' ? 1e-5 : 1e-12;
    after.forEach((p, i) => {
      expect(Math.abs(p - c.calibrated[i]), `value ${i}`).toBeLessThan(tolerance);
    });
    if (c.ab) {
      c.ab.forEach(([a, b], j) => {
        const fitted = calibration.calibrators[j];
        if (fitted.method !== 'sigmoid') throw new Error('expected a sigmoid calibrator');
        expect(fitted.a).toBeCloseTo(a, 4);
        expect(fitted.b).toBeCloseTo(b, 4);
      });
    }
  });

  it('measures before and after as scikit-learn / numpy do', () => {
    const report = calibrationReport(calibration, 'validation split', testLabels, testProba, classesOf(c.k));
    for (const [side, measures] of [
      ['before', report.before],
      ['after', report.after],
    ] as const) {
      const expected = c.measures[side];
      const tolerance = c.method === 'sigmoid' && side === 'after' ? 4 : 10;
      expect(measures.brierScore, `${side} brier`).toBeCloseTo(expected.brier, tolerance);
      if (expected.binaryBrier === null) expect(measures.binaryBrierScore).toBeNull();
      else expect(measures.binaryBrierScore).toBeCloseTo(expected.binaryBrier, tolerance);
      expect(measures.logLoss, `${side} log loss`).toBeCloseTo(expected.logLoss, tolerance);
      expect(measures.expectedCalibrationError, `${side} ECE`).toBeCloseTo(expected.ece, tolerance);
      measures.reliability.forEach(({ curve }, cls) => {
        const [observed, predicted] = expected.curves[cls].uniform;
        expect(curve.observed).toHaveLength(observed.length);
        curve.observed.forEach((v, b) => {
          expect(v).toBeCloseTo(observed[b], tolerance);
        });
        curve.predicted.forEach((v, b) => {
          expect(v).toBeCloseTo(predicted[b], tolerance);
        });
      });
    }
    // The fixture's model is overconfident: calibration lowers the ECE on held-out rows, and Platt the log loss
    // (isotonic maps some rows to exactly 0 or 1, which log loss punishes: here it rises, as in scikit-learn).
    if (c.method === 'sigmoid') expect(report.after.logLoss).toBeLessThan(report.before.logLoss);
    expect(report.after.expectedCalibrationError).toBeLessThan(report.before.expectedCalibrationError);
  });

  it("quantile reliability curves match calibration_curve(strategy='quantile')", () => {
    for (let cls = 0; cls < c.k; cls++) {
      const p = Float64Array.from({ length: testLabels.length }, (_, i) => testProba[i * c.k + cls]);
      const positive = Uint8Array.from(testLabels, (y) => (y === cls ? 1 : 0));
      const curve = reliabilityCurve(positive, p, 10, 'quantile');
      const [observed, predicted] = c.measures.before.curves[cls].quantile;
      expect(curve.observed).toHaveLength(observed.length);
      curve.observed.forEach((v, b) => {
        expect(v).toBeCloseTo(observed[b], 12);
      });
      curve.predicted.forEach((v, b) => {
        expect(v).toBeCloseTo(predicted[b], 12);
      });
    }
  });

  it('rows still sum to 1 and survive JSON', () => {
    for (let i = 0; i < testLabels.length; i++) {
      let sum = 0;
      for (let k = 0; k < c.k; k++) sum += after[i * c.k + k];
      expect(sum).toBeCloseTo(1, 12);
    }
    const copy = JSON.parse(JSON.stringify(calibration)) as typeof calibration;
    expect(applyCalibration(copy, testProba)).toEqual(after);
  });
});

describe('isotonic details', () => {
  it('pools violators, merges tied scores and clips outside the fitted range', () => {
    const iso = fitIsotonic(Float64Array.from([0.1, 0.2, 0.2, 0.3, 0.4]), Uint8Array.from([0, 1, 0, 0, 1]));
    // Means per distinct score: 0, 0.5 (2 rows), 0, 1 → PAV pools 0.5 (weight 2) and 0 (weight 1) into 1/3.
    expect(iso.x).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(iso.y).toEqual([0, 1 / 3, 1 / 3, 1]);
    expect(applyCalibrator(iso, 0)).toBe(0);
    expect(applyCalibrator(iso, 0.15)).toBeCloseTo(1 / 6, 12);
    expect(applyCalibrator(iso, 0.35)).toBeCloseTo(2 / 3, 12);
    expect(applyCalibrator(iso, 0.9)).toBe(1);
  });

  it('calibrationMeasures gives no binary Brier for three classes', () => {
    const m = calibrationMeasures(Int32Array.from([0, 1, 2]), Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), [
      'a',
      'b',
      'c',
    ]);
    expect(m.binaryBrierScore).toBeNull();
    expect(m.brierScore).toBe(0);
    expect(m.expectedCalibrationError).toBe(0);
  });
});
