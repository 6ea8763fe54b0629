import { describe, it, expect } from 'vitest';
import {
  binaryRanking,
  evaluate,
  jsonSafe,
  macroF1,
  sortNumbers,
  type Metrics,
  type RawCurve,
} from '../../src/ml/evaluate.js';
import { Random } from '../../src/ml/random.js';

/** Probabilities for a binary problem from P(class 1). */
function binaryProba(p1: number[]): Float64Array {
  const out = new Float64Array(p1.length * 2);
  p1.forEach((p, i) => {
    out[2 * i] = 1 - p;
    out[2 * i + 1] = p;
  });
  return out;
}

/** One row per predicted class, with `confidence` on it and the rest spread evenly. */
function probaFor(predicted: number[], k: number, confidence = 0.8): Float64Array {
  const out = new Float64Array(predicted.length * k).fill((1 - confidence) / (k - 1));
  predicted.forEach((c, i) => (out[i * k + c] = confidence));
  return out;
}

function allNumbersFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(allNumbersFinite);
  if (value && typeof value === 'object') return Object.values(value).every(allNumbersFinite);
  return true;
}

/** Brute-force Mann–Whitney AUC: P(score_pos > score_neg) + ½ P(tie). */
function pairwiseAuc(scores: number[], positive: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (!positive[i]) return;
    scores.forEach((t, j) => {
      if (positive[j]) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('evaluate: binary, hand-computed', () => {
  // Scores with ties across the classes: positives .9 .6 .4, negatives .9 .4 .1.
  const y = Int32Array.from([1, 0, 1, 0, 1, 0]);
  const p1 = [0.9, 0.9, 0.6, 0.4, 0.4, 0.1];
  const m = evaluate(y, binaryProba(p1), ['no', 'yes']);

  it('ROC AUC counts ties as half (6 / 9)', () => {
    expect(m.perClass[1].rocAuc).toBeCloseTo(6 / 9, 12);
    // With probabilities summing to 1 the other class has the same AUC, so the macro is that too.
    expect(m.perClass[0].rocAuc).toBeCloseTo(6 / 9, 12);
    expect(m.rocAucOvrMacro).toBeCloseTo(6 / 9, 12);
  });

  it('average precision steps over tied thresholds', () => {
    // Thresholds .9 (P ½, R ⅓), .6 (P ⅔, R ⅔), .4 (P .6, R 1), .1 (no recall gain).
    expect(m.perClass[1].prAuc).toBeCloseTo((0.5 + 2 / 3 + 0.6) / 3, 12);
  });

  it('confusion matrix, accuracy and log loss', () => {
    // Predicted (argmax): 1 1 1 0 0 0.
    expect(m.confusionMatrix).toEqual({
      labels: ['no', 'yes'],
      matrix: [
        [2, 1],
        [1, 2],
      ],
    });
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    const expected = -(Math.log(0.9) * 2 + Math.log(0.1) + Math.log(0.6) * 2 + Math.log(0.4)) / 6;
    expect(m.logLoss).toBeCloseTo(expected, 12);
  });

  it('ROC curve runs from (0,0) to (1,1) through the tie groups', () => {
    const roc = m.rocCurves[1];
    expect(roc.x[0]).toBe(0);
    expect(roc.y[0]).toBe(0);
    expect(roc.x.at(-1)).toBe(1);
    expect(roc.y.at(-1)).toBe(1);
    expect(roc.thresholds[0]).toBeNull();
    // Points (0,0) (⅓,⅓) (⅓,⅔) (⅔,1) (1,1): none collinear.
    expect(roc.x).toEqual([0, 1 / 3, 1 / 3, 2 / 3, 1]);
    expect(roc.y).toEqual([0, 1 / 3, 2 / 3, 1, 1]);
    expect(roc.thresholds).toEqual([null, 0.9, 0.6, 0.4, 0.1]);
  });
});

describe('evaluate: three classes, hand-computed', () => {
  const y = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 2, 0]);
  const predicted = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0];
  const m = evaluate(y, probaFor(predicted, 3), ['a', 'b', 'c']);

  it('confusion matrix has true classes as rows', () => {
    expect(m.confusionMatrix.matrix).toEqual([
      [3, 1, 0],
      [0, 1, 1],
      [1, 0, 3],
    ]);
  });

  it('per-class, macro and weighted precision / recall / F1', () => {
    expect(m.perClass.map((c) => [c.precision, c.recall, c.f1, c.support])).toEqual([
      [0.75, 0.75, 0.75, 4],
      [0.5, 0.5, 0.5, 2],
      [0.75, 0.75, 0.75, 4],
    ]);
    expect(m.macro.f1).toBeCloseTo(2 / 3, 12);
    expect(m.weighted.f1).toBeCloseTo(0.7, 12);
    expect(m.accuracy).toBeCloseTo(0.7, 12);
    expect(m.balancedAccuracy).toBeCloseTo(2 / 3, 12);
    expect(macroF1(y, Int32Array.from(predicted), 3)).toBeCloseTo(2 / 3, 12);
  });

  it('majority baseline predicts the first most frequent class, or the one given', () => {
    expect(m.majorityBaseline.label).toBe('a');
    expect(m.majorityBaseline.accuracy).toBeCloseTo(0.4, 12);
    // F1 of 'a' = 2·4 / (4 + 10); 'b' and 'c' are present, F1 0.
    expect(m.majorityBaseline.macroF1).toBeCloseTo(8 / 14 / 3, 12);
    const given = evaluate(y, probaFor(predicted, 3), ['a', 'b', 'c'], { majorityClass: 1 });
    const { macroF1, ...baseline } = given.majorityBaseline;
    expect(baseline).toEqual({ label: 'b', accuracy: 0.2 });
    expect(macroF1).toBeCloseTo((2 * 2) / 12 / 3, 12);
  });

  it('calibration bins the top-class confidence', () => {
    const bins = m.calibration.topClass;
    expect(bins).toHaveLength(10);
    // Every row has confidence .8 → bin [0.8, 0.9), 7 of 10 correct.
    const { meanPredicted, ...bin } = bins[8];
    expect(bin).toEqual({ lower: 0.8, upper: 0.9, count: 10, observed: 0.7 });
    expect(meanPredicted).toBeCloseTo(0.8, 12);
    expect(bins[0]).toMatchObject({ count: 0, meanPredicted: null, observed: null });
    expect(m.calibration.expectedCalibrationError).toBeCloseTo(0.1, 12);
    // Per class: P(a) is .8 on 4 rows predicted 'a' (3 are 'a') and .1 on the other 6 (1 is 'a').
    const a = m.calibration.perClass[0].bins;
    expect(a[8]).toMatchObject({ count: 4, observed: 0.75 });
    expect(a[1]).toMatchObject({ count: 6, observed: 1 / 6 });
  });
});

describe('evaluate: agrees with scikit-learn 1.2.1', () => {
  // Reference values printed by sklearn.metrics on this exact input (integer-like scores, so many ties,
  // including argmax ties, which both resolve to the first class).
  const y = Int32Array.from([
    0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2,
    0,
  ]);
  const rows = [
    [0.82, 0.09, 0.09],
    [0.23, 0.08, 0.69],
    [0.6, 0.33, 0.07],
    [0.11, 0.33, 0.56],
    [0.47, 0.33, 0.2],
    [0.07, 0.47, 0.46],
    [0.14, 0.14, 0.72],
    [0.18, 0.53, 0.29],
    [0.29, 0.29, 0.42],
    [0.38, 0.08, 0.54],
    [0.3, 0.39, 0.31],
    [0.23, 0.23, 0.54],
    [0.3, 0.3, 0.4],
    [0.23, 0.69, 0.08],
    [0.05, 0.47, 0.48],
    [0.43, 0.14, 0.43],
    [0.06, 0.53, 0.41],
    [0.38, 0.23, 0.39],
    [0.08, 0.54, 0.38],
    [0.09, 0.27, 0.64],
    [0.45, 0.27, 0.28],
    [0.07, 0.47, 0.46],
    [0.22, 0.39, 0.39],
    [0.18, 0.41, 0.41],
    [0.27, 0.27, 0.46],
    [0.41, 0.18, 0.41],
    [0.54, 0.23, 0.23],
    [0.36, 0.36, 0.28],
    [0.09, 0.64, 0.27],
    [0.39, 0.39, 0.22],
    [0.47, 0.37, 0.16],
    [0.69, 0.23, 0.08],
    [0.24, 0.43, 0.33],
    [0.18, 0.53, 0.29],
    [0.43, 0.14, 0.43],
    [0.41, 0.41, 0.18],
    [0.41, 0.53, 0.06],
    [0.23, 0.38, 0.39],
    [0.43, 0.43, 0.14],
    [0.41, 0.53, 0.06],
  ];
  const m = evaluate(y, Float64Array.from(rows.flat()), ['a', 'b', 'c']);

  it('matches roc_auc_score, average_precision_score, f1/precision/recall, balanced accuracy and log_loss', () => {
    expect(m.rocAucOvrMacro).toBeCloseTo(0.5670572916666666, 12);
    expect(m.perClass.map((c) => c.rocAuc)).toEqual([
      expect.closeTo(0.63671875, 12),
      expect.closeTo(0.587890625, 12),
      expect.closeTo(0.47656250000000006, 12),
    ]);
    expect(m.perClass.map((c) => c.prAuc)).toEqual([
      expect.closeTo(0.5961016627601968, 12),
      expect.closeTo(0.3433736832443729, 12),
      expect.closeTo(0.4186996815562358, 12),
    ]);
    expect(m.macro.f1).toBeCloseTo(0.3194805194805195, 12);
    expect(m.weighted.f1).toBeCloseTo(0.32883116883116886, 12);
    expect(m.macro.precision).toBeCloseTo(0.32539682539682535, 12);
    expect(m.weighted.recall).toBeCloseTo(0.325, 12);
    expect(m.balancedAccuracy).toBeCloseTo(1 / 3, 12);
    expect(m.accuracy).toBeCloseTo(0.325, 12);
    expect(m.logLoss).toBeCloseTo(1.1542603684322903, 10);
    expect(m.confusionMatrix.matrix).toEqual([
      [6, 5, 5],
      [2, 3, 3],
      [6, 6, 4],
    ]);
  });
});

describe('evaluate: undefined metrics and JSON safety', () => {
  it('a class absent from the test split gets null recall/AUC, never NaN', () => {
    // Class 'b' never occurs; it is predicted once.
    const y = Int32Array.from([0, 0, 2, 2]);
    const m = evaluate(y, probaFor([0, 1, 2, 2], 3), ['a', 'b', 'c']);
    const b = m.perClass[1];
    expect(b).toMatchObject({ support: 0, precision: 0, recall: null, f1: 0, rocAuc: null, prAuc: null });
    // Macro over present-or-predicted classes, 0/0 as 0 (sklearn): F1 a = 2/3, b = 0, c = 1.
    expect(m.macro.f1).toBeCloseTo((2 / 3 + 0 + 1) / 3, 12);
    expect(m.balancedAccuracy).toBeCloseTo((0.5 + 1) / 2, 12);
    expect(m.rocAucOvrMacro).not.toBeNull();
    expect(allNumbersFinite(m)).toBe(true);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('a class neither present nor predicted is left out of the macro average', () => {
    const y = Int32Array.from([0, 0, 2, 2]);
    const m = evaluate(y, probaFor([0, 2, 2, 2], 3), ['a', 'b', 'c']);
    expect(m.perClass[1]).toMatchObject({ precision: null, recall: null, f1: null });
    // F1 a = 2·1/(2+1) = 2/3, c = 2·2/(2+3) = 0.8.
    expect(m.macro.f1).toBeCloseTo((2 / 3 + 0.8) / 2, 12);
    expect(macroF1(y, Int32Array.from([0, 2, 2, 2]), 3)).toBeCloseTo((2 / 3 + 0.8) / 2, 12);
  });

  it('survives one class only, zero probabilities and NaN probabilities', () => {
    const y = Int32Array.from([1, 1, 1]);
    const proba = Float64Array.from([1, 0, Number.NaN, Number.NaN, 0.2, 0.8]);
    const m = evaluate(y, proba, ['x', 'y']);
    expect(m.rocAucOvrMacro).toBeNull();
    expect(m.perClass[0].rocAuc).toBeNull();
    expect(m.logLoss).toBeCloseTo(-(Math.log(1e-15) * 2 + Math.log(0.8)) / 3, 10);
    expect(allNumbersFinite(m)).toBe(true);
  });

  it('handles an empty test split', () => {
    const m: Metrics = evaluate(new Int32Array(0), new Float64Array(0), ['x', 'y']);
    expect(m.accuracy).toBeNull();
    expect(m.logLoss).toBeNull();
    expect(m.macro.f1).toBeNull();
    expect(allNumbersFinite(m)).toBe(true);
  });

  it('rejects mismatched shapes and bad labels', () => {
    expect(() => evaluate(Int32Array.from([0, 1]), new Float64Array(3), ['x', 'y'])).toThrow(RangeError);
    expect(() => evaluate(Int32Array.from([0, 2]), new Float64Array(4), ['x', 'y'])).toThrow(RangeError);
  });

  it('jsonSafe turns every non-finite number into null, deeply, and typed arrays into arrays', () => {
    const input = {
      a: Number.NaN,
      b: [1, Number.POSITIVE_INFINITY, { c: Number.NEGATIVE_INFINITY, d: 'text', e: null, f: true }],
      g: Float64Array.from([0.5, Number.NaN]),
      h: Int32Array.from([3]),
    };
    expect(jsonSafe(input)).toEqual({
      a: null,
      b: [1, null, { c: null, d: 'text', e: null, f: true }],
      g: [0.5, null],
      h: [3],
    });
    expect(input.a).toBeNaN();
  });
});

describe('evaluate: curves and random agreement with brute force', () => {
  it('per-class AUC equals the pairwise Mann–Whitney count with heavy ties', () => {
    const random = new Random(7);
    const n = 300;
    const k = 3;
    const y = new Int32Array(n);
    const proba = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      y[i] = random.int(k);
      let total = 0;
      for (let c = 0; c < k; c++) {
        // Few distinct values → many ties; class signal added to make AUC non-trivial.
        const v = random.int(4) + (c === y[i] ? random.int(3) : 0) + 1;
        proba[i * k + c] = v;
        total += v;
      }
      for (let c = 0; c < k; c++) proba[i * k + c] /= total;
    }
    const m = evaluate(y, proba, ['a', 'b', 'c']);
    for (let c = 0; c < k; c++) {
      const scores = Array.from({ length: n }, (_, i) => proba[i * k + c]);
      const positive = Array.from(y, (label) => label === c);
      expect(m.perClass[c].rocAuc).toBeCloseTo(pairwiseAuc(scores, positive), 12);
    }
  });

  it('downsamples long curves to ≤ 100 points, keeping both ends', () => {
    const random = new Random(1);
    const n = 2000;
    const y = new Int32Array(n);
    const p1: number[] = [];
    for (let i = 0; i < n; i++) {
      y[i] = random.next() < 0.4 ? 1 : 0;
      p1.push(Math.min(1, Math.max(0, 0.3 * y[i] + 0.7 * random.next())));
    }
    const m = evaluate(y, binaryProba(p1), ['no', 'yes']);
    for (const curve of [...m.rocCurves, ...m.prCurves]) {
      expect(curve.x.length).toBeLessThanOrEqual(100);
      expect(curve.x.length).toBeGreaterThan(50);
      expect(curve.y).toHaveLength(curve.x.length);
      expect(curve.thresholds).toHaveLength(curve.x.length);
    }
    const roc = m.rocCurves[1];
    expect([roc.x[0], roc.y[0]]).toEqual([0, 0]);
    expect([roc.x.at(-1), roc.y.at(-1)]).toEqual([1, 1]);
    const pr = m.prCurves[1];
    expect([pr.x[0], pr.y[0]]).toEqual([0, 1]);
    expect(pr.x.at(-1)).toBe(1);
    // The PR curve ends at recall 1 with precision = prevalence.
    expect(pr.y.at(-1)).toBeCloseTo(Array.from(y).filter((v) => v === 1).length / n, 12);
    // Monotone FPR/TPR after downsampling.
    for (let i = 1; i < roc.x.length; i++) {
      expect(roc.x[i]).toBeGreaterThanOrEqual(roc.x[i - 1]);
      expect(roc.y[i]).toBeGreaterThanOrEqual(roc.y[i - 1]);
    }
  });

  it('binaryRanking gives the curves of sorting rows by score, ties and NaN included', () => {
    // The oracle: rows sorted by score (NaN lowest), each run of equal scores one threshold.
    const byRows = (scores: Float64Array, positive: Uint8Array) => {
      const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
      const order = Array.from(scores, (_, i) => i).sort((a, b) => key(b) - key(a));
      const totalPositive = positive.reduce((sum, p) => sum + p, 0);
      const totalNegative = scores.length - totalPositive;
      const roc = { x: [0], y: [0], thresholds: [NaN] };
      const pr = { x: [0], y: [1], thresholds: [NaN] };
      let tp = 0;
      let fp = 0;
      for (let start = 0; start < order.length;) {
        const threshold = key(order[start]);
        for (; start < order.length && key(order[start]) === threshold; start++) {
          if (positive[order[start]]) tp++;
          else fp++;
        }
        const t = Number.isFinite(threshold) ? threshold : NaN;
        roc.x.push(totalNegative ? fp / totalNegative : 0);
        roc.y.push(totalPositive ? tp / totalPositive : 0);
        roc.thresholds.push(t);
        pr.x.push(totalPositive ? tp / totalPositive : 0);
        pr.y.push(tp / (tp + fp));
        pr.thresholds.push(t);
      }
      return { roc, pr };
    };
    const random = new Random(11);
    for (const n of [1, 7, 500]) {
      const scores = Float64Array.from({ length: n }, () => {
        const u = random.next();
        return u < 0.05 ? NaN : u < 0.1 ? -Infinity : u < 0.15 ? Infinity : random.int(6) / 5;
      });
      const positive = Uint8Array.from({ length: n }, () => (random.next() < 0.3 ? 1 : 0));
      const ranked = binaryRanking(scores, positive);
      const expected = byRows(scores, positive);
      const plain = (curve: RawCurve) => ({
        x: Array.from(curve.x),
        y: Array.from(curve.y),
        thresholds: Array.from(curve.thresholds),
      });
      expect(plain(ranked.roc)).toEqual(expected.roc);
      expect(plain(ranked.pr)).toEqual(expected.pr);
    }
  });

  it('binaryRanking gives null AUC without negatives and null AP without positives', () => {
    const scores = Float64Array.from([0.2, 0.4]);
    expect(binaryRanking(scores, Uint8Array.from([1, 1])).rocAuc).toBeNull();
    expect(binaryRanking(scores, Uint8Array.from([1, 1])).averagePrecision).toBe(1);
    expect(binaryRanking(scores, Uint8Array.from([0, 0])).averagePrecision).toBeNull();
  });
});

describe('sortNumbers', () => {
  const bits = (values: Float64Array) =>
    Array.from(new BigUint64Array(values.buffer, values.byteOffset, values.length));
  /** The first index where the two differ in their bits (-1: none), a short message where a diff would be long. */
  const firstDifference = (a: Float64Array, b: Float64Array) => {
    const [x, y] = [bits(a), bits(b)];
    return x.findIndex((value, i) => value !== y[i]);
  };
  it('sorts as Float64Array#sort does, bit for bit: signs, zeros, infinities, subnormals, ties', () => {
    const random = new Random(7);
    const special = [0, -0, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -1, 1, 0.5];
    for (const size of [0, 1, 2, 3, 100, 5_000]) {
      const values = Float64Array.from({ length: size }, (_, i) =>
        i % 7 === 0
          ? special[random.int(special.length)]
          : i % 5 === 0
            ? Math.round(random.next() * 4) / 4
            : (random.next() - 0.3) * 10 ** random.int(12),
      );
      const expected = values.slice().sort();
      sortNumbers(values);
      expect(firstDifference(values, expected)).toBe(-1);
    }
  });

  it('sorts a view into a larger buffer and leaves the rest of the buffer alone', () => {
    const buffer = Float64Array.of(9, 3, -2, 0.5, -0, 7);
    sortNumbers(buffer.subarray(1, 5));
    expect(bits(buffer)).toEqual(bits(Float64Array.of(9, -2, -0, 0.5, 3, 7)));
  });
});
