import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/ml/types.js';
import { Random } from '../../src/ml/random.js';
import { xgboostTrainer } from '../../src/ml/models/trees/index.js';
import { HALVED_BUILD_MIN_ROWS } from '../../src/ml/models/trees/grow-gradient.js';
import {
  endRoundRows,
  JOB,
  JOB_INTS,
  meanLogLoss,
  RESULT_INTS,
  runJob,
  type JobArrays,
  type RoundState,
} from '../../src/ml/models/trees/grow-jobs.js';

/** The round's end as boosting wrote it before (softmax with a max shift, logs summed in row order): the oracle. */
function plainRoundEnd(
  margins: Float64Array,
  labels: Int32Array,
  K: number,
  gradientClasses: number,
): { probs: Float64Array; gh: Float64Array[]; loss: number; correct: number } {
  const n = labels.length;
  const probs = new Float64Array(n * K);
  const gh = Array.from({ length: gradientClasses }, () => new Float64Array(2 * n));
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const b = r * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (margins[b + k] > max) max = margins[b + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      probs[b + k] = Math.exp(margins[b + k] - max);
      sum += probs[b + k];
    }
    for (let k = 0; k < K; k++) probs[b + k] /= sum;
    loss -= Math.log(Math.max(probs[b + labels[r]], 1e-15));
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[b + k] > probs[b + best]) best = k;
    if (best === labels[r]) correct++;
    for (let k = 0; k < gradientClasses; k++) {
      const p = probs[b + k];
      gh[k][2 * r] = p - (labels[r] === k ? 1 : 0);
      gh[k][2 * r + 1] = Math.max(2 * p * (1 - p), 1e-16);
    }
  }
  return { probs, gh, loss: loss / n, correct };
}

function state(margins: Float64Array, labels: Int32Array, K: number, gradientClasses: number): RoundState {
  const n = labels.length;
  return {
    labels,
    classes: K,
    margins,
    probs: new Float64Array(n * K),
    gh: Array.from({ length: gradientClasses }, () => new Float64Array(2 * n)),
    rowValue: new Float64Array(n),
    likelihood: new Float64Array(n),
  };
}

describe('boosting round end (endRoundRows)', () => {
  const rng = new Random(5);
  const n = 1001;

  for (const [K, gradientClasses] of [
    [2, 1],
    [2, 2],
    [3, 3],
  ]) {
    it(`${K} classes, ${gradientClasses} gradient classes: bit for bit the plain softmax pass, in one block or many`, () => {
      // Margins of all magnitudes, ties (equal margins) and huge gaps (probabilities clamped at 1e-15).
      const margins = Float64Array.from({ length: n * K }, (_, i) =>
        i % 97 === 0 ? 0 : (rng.next() - 0.5) * 10 ** rng.int(3) * (i % 89 === 0 ? 100 : 1),
      );
      const labels = Int32Array.from({ length: n }, () => rng.int(K));
      const expected = plainRoundEnd(margins, labels, K, gradientClasses);
      const losses = new Set<number>();
      for (const blocks of [1, 3, 7]) {
        const s = state(margins.slice(), labels, K, gradientClasses);
        let correct = 0;
        for (let i = 0; i < blocks; i++)
          correct += endRoundRows(s, Math.floor((i * n) / blocks), Math.floor(((i + 1) * n) / blocks), false);
        expect(correct).toBe(expected.correct);
        // The loss is the plain sum of logs up to rounding, and the same bits however the rows were split.
        const loss = meanLogLoss(s.likelihood, n);
        expect(Math.abs(loss - expected.loss)).toBeLessThan(1e-13 * expected.loss);
        losses.add(loss);
        expect(Array.from(s.probs)).toEqual(Array.from(expected.probs));
        for (let k = 0; k < gradientClasses; k++) expect(Array.from(s.gh[k])).toEqual(Array.from(expected.gh[k]));
      }
      expect(losses.size).toBe(1);
    });
  }

  it('the mean log loss of rows all clamped at p = 1e-15 does not underflow (likelihoods multiplied by blocks)', () => {
    const loss = meanLogLoss(new Float64Array(n).fill(1e-15), n);
    expect(Math.abs(loss + Math.log(1e-15))).toBeLessThan(1e-12);
  });

  it("mirror adds the tree's leaf values to class 0's margins and subtracts them from class 1's first", () => {
    const margins = Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 ? -1 : 1) * (rng.next() - 0.5));
    const labels = Int32Array.from({ length: n }, () => rng.int(2));
    const rowValue = Float64Array.from({ length: n }, () => (rng.next() - 0.5) * 0.3);
    const updated = margins.slice();
    for (let r = 0; r < n; r++) {
      updated[2 * r] += 1 * rowValue[r];
      updated[2 * r + 1] += -1 * rowValue[r];
    }
    const expected = plainRoundEnd(updated, labels, 2, 1);
    const s = state(margins, labels, 2, 1);
    s.rowValue.set(rowValue);
    expect(endRoundRows(s, 0, 500, true) + endRoundRows(s, 500, n, true)).toBe(expected.correct);
    expect(Array.from(s.margins)).toEqual(Array.from(updated));
    expect(Array.from(s.gh[0])).toEqual(Array.from(expected.gh[0]));
    expect(Math.abs(meanLogLoss(s.likelihood, n) - expected.loss)).toBeLessThan(1e-13 * expected.loss);
  });
});

describe('boosting partition job (branch-free)', () => {
  it('is the stable partition on bin ≤ split, missing rows on their side, whole node or half', () => {
    const rng = new Random(9);
    const rows = 3000;
    const numBins = 40; // value bins 0–39, missing bin 40
    const bins = Uint8Array.from({ length: 2 * rows }, () => (rng.next() < 0.1 ? numBins : rng.int(numBins)));
    const order = Uint32Array.from({ length: rows }, (_, i) => i);
    new Random(4).shuffle(order);
    const empty = new Float64Array(0);
    const a: JobArrays = {
      rows,
      cols: 2,
      bins,
      slots: new Uint16Array(0),
      numBins: Int32Array.from([numBins, numBins]),
      offsets: Int32Array.from([0, numBins + 1, 2 * numBins + 2]),
      idx: new Uint32Array(rows),
      scratch: new Uint32Array(rows),
      gh: empty,
      features: Int32Array.from([0, 1]),
      jobs: new Int32Array(JOB_INTS),
      jobFloats: empty,
      results: new Int32Array(RESULT_INTS),
      resultFloats: empty,
      params: { lambda: 1, alpha: 0, minChildWeight: 1 },
      matrix: matrix(0, 2),
      sampleRows: new Uint32Array(0),
      maxBins: numBins,
      edgeTable: empty,
      round: state(empty, new Int32Array(0), 0, 0),
    };
    for (const [feature, bin, missingLeft, whole, start, end] of [
      [1, 17, 0, 1, 0, rows],
      [0, 0, 1, 1, 11, 2711],
      [1, 39, 0, 0, 300, 1900],
      [0, 25, 1, 0, 0, rows],
    ]) {
      a.idx.set(order);
      const column = bins.subarray(feature * rows, (feature + 1) * rows);
      const goesLeft = (row: number): boolean => (column[row] === numBins ? missingLeft === 1 : column[row] <= bin);
      const segment = Array.from(order.subarray(start, end));
      const lefts = segment.filter(goesLeft);
      const rights = segment.filter((row) => !goesLeft(row));
      a.jobs.set([JOB.partition, start, end, feature, bin, missingLeft | (whole << 1)]);
      runJob(a, 0, 2, () => empty);
      expect(a.results[0]).toBe(lefts.length);
      expect(Array.from(a.idx.subarray(start, start + lefts.length))).toEqual(lefts);
      if (whole) expect(Array.from(a.idx.subarray(start + lefts.length, end))).toEqual(rights);
      else expect(Array.from(a.scratch.subarray(start, start + rights.length))).toEqual(rights);
      // Rows outside the segment are untouched.
      expect(Array.from(a.idx.subarray(0, start))).toEqual(Array.from(order.subarray(0, start)));
      expect(Array.from(a.idx.subarray(end))).toEqual(Array.from(order.subarray(end)));
    }
  });
});

describe('boosting with two classes (mirrored trees, round end on both threads)', () => {
  it('is identical with 1 and 2 threads, with and without a row sample', async () => {
    const rng = new Random(21);
    const rows = 3 * HALVED_BUILD_MIN_ROWS;
    const cols = 5;
    const data = Float64Array.from({ length: rows * cols }, () => (rng.next() < 0.03 ? NaN : rng.normal()));
    const y = Int32Array.from({ length: rows }, (_, r) =>
      (data[r * cols] || 0) - 0.6 * (data[r * cols + 1] || 0) + 0.5 * rng.normal() > 0 ? 1 : 0,
    );
    const X = matrix(rows, cols, data);
    const paramSets: Record<string, number>[] = [
      { n_estimators: 6, max_depth: 5 },
      { n_estimators: 6, max_depth: 5, subsample: 0.7 },
    ];
    for (const params of paramSets) {
      const one = await xgboostTrainer.fit(X, y, 2, params, { seed: 3, threads: 1 });
      const two = await xgboostTrainer.fit(X, y, 2, params, { seed: 3, threads: 2 });
      expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
      expect(one.history()[5].loss).toBeLessThan(one.history()[0].loss ?? NaN);
    }
  });
});
