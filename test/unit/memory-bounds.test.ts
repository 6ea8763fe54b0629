/**
 * Issue 17 goal 6: what a fit or a prediction holds is bounded and goes when idle. The SVM's kernel-column cache
 * keeps its bound and its values while carving columns from large blocks (which the allocator returns whole); the
 * tree-prediction helper thread ends after its idle time and a later batch predicts the same bits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KernelColumns, dotRows, kernelValue, squaredNorms, type KernelSpec } from '../../src/ml/models/svm/kernels.js';
import {
  accumulateRows,
  predictHelperAlive,
  predictHelperIdle,
  predictHelperReady,
  startPredictHelper,
} from '../../src/ml/models/trees/predict-parallel.js';
import { PackedTrees, type TreeArrays } from '../../src/ml/models/trees/structure.js';
import { Random } from '../../src/ml/random.js';

function randomData(rows: number, d: number, seed: number): Float64Array {
  const rng = new Random(seed);
  return Float64Array.from({ length: rows * d }, () => rng.next() * 2 - 1);
}

/** The column as computed directly, rounded to float32 as the cache stores it. */
function expectedColumn(data: Float64Array, rows: number, d: number, spec: KernelSpec, index: number): Float32Array {
  const norms = squaredNorms(data, rows, d);
  return Float32Array.from({ length: rows }, (_, q) =>
    kernelValue(spec, dotRows(data, index * d, data, q * d, d), norms[index], norms[q]),
  );
}

describe('SVM kernel columns', () => {
  const spec: KernelSpec = { kernel: 'rbf', gamma: 0.3, degree: 3, coef0: 0 };

  it('evicting to its bound, each column fetched equals the kernel, and the two last fetched stay intact', () => {
    const rows = 300;
    const d = 5;
    const data = randomData(rows, d, 7);
    // Room for 7 columns: most fetches evict.
    const kernel = new KernelColumns(data, rows, d, spec, squaredNorms(data, rows, d), 4 * rows * 7);
    const rng = new Random(11);
    const buffers = new Set<ArrayBufferLike>();
    for (let step = 0; step < 400; step++) {
      const i = Math.floor(rng.next() * rows);
      const j = Math.floor(rng.next() * rows);
      // SMO's pattern: column i, then column j, then i again; i must not be overwritten by j's fetch.
      const Ki = kernel.get(i);
      const Kj = kernel.get(j);
      expect(Ki).toEqual(expectedColumn(data, rows, d, spec, i));
      expect(Kj).toEqual(expectedColumn(data, rows, d, spec, j));
      expect(kernel.get(i)).toBe(Ki);
      buffers.add(Ki.buffer).add(Kj.buffer);
    }
    // Seven columns of 1,200 bytes: one block, reused.
    expect(buffers.size).toBe(1);
    expect([...buffers][0].byteLength).toBe(7 * rows * 4);
  });

  it('at 10,000 rows, columns (40 KB) come from blocks of 1 MB, never more than the cache holds', () => {
    const rows = 10_000;
    const d = 2;
    const data = randomData(rows, d, 3);
    const kernel = new KernelColumns(data, rows, d, spec, squaredNorms(data, rows, d), 4 * rows * 30);
    const buffers = new Set<ArrayBufferLike>();
    for (let i = 0; i < 60; i++) buffers.add(kernel.get(i).buffer);
    const bytes = [...buffers].reduce((sum, buffer) => sum + buffer.byteLength, 0);
    expect(bytes).toBe(30 * rows * 4);
    for (const buffer of buffers) expect(buffer.byteLength).toBeGreaterThanOrEqual(128 * 1024);
    expect(kernel.get(59)).toEqual(expectedColumn(data, rows, d, spec, 59));
  });
});

describe('tree prediction helper thread', () => {
  const idle = predictHelperIdle.ms;
  afterEach(() => {
    predictHelperIdle.ms = idle;
  });

  it('ends after its idle time; the next large batch predicts the same bits', async () => {
    // Two stumps on feature 0 and 1, two outputs.
    const stump = (feature: number): TreeArrays => ({
      nodeCount: 3,
      feature: Int32Array.of(feature, -1, -1),
      threshold: Float64Array.of(0, 0, 0),
      left: Int32Array.of(1, -1, -1),
      right: Int32Array.of(2, -1, -1),
      defaultLeft: Uint8Array.of(1, 0, 0),
      cover: Float64Array.of(2, 1, 1),
      values: Float64Array.of(0, 0, 0.25, 0.75, 0.6, 0.4),
    });
    const trees = PackedTrees.pack([stump(0), stump(1)], 2, null);
    const rows = 200_000;
    const data = randomData(rows, 2, 5);
    const single = new Float64Array(rows * 2);
    accumulateRows(trees, data, rows, 2, single, 2, 1);

    predictHelperIdle.ms = 300;
    startPredictHelper();
    for (let waited = 0; !predictHelperReady() && waited < 200; waited++) await new Promise((r) => setTimeout(r, 50));
    expect(predictHelperReady()).toBe(true);
    const two = new Float64Array(rows * 2);
    accumulateRows(trees, data, rows, 2, two, 2, 2);
    expect(Buffer.from(two.buffer).equals(Buffer.from(single.buffer))).toBe(true);
    expect(predictHelperAlive()).toBe(true);

    await new Promise((r) => setTimeout(r, 1000));
    expect(predictHelperAlive()).toBe(false);

    startPredictHelper();
    for (let waited = 0; !predictHelperReady() && waited < 200; waited++) await new Promise((r) => setTimeout(r, 50));
    const again = new Float64Array(rows * 2);
    accumulateRows(trees, data, rows, 2, again, 2, 2);
    expect(Buffer.from(again.buffer).equals(Buffer.from(single.buffer))).toBe(true);
  }, 60_000);
});
