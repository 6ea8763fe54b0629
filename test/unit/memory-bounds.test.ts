/**
 * Issue 17 goal 6: what a fit or a prediction holds is bounded and goes when idle. The SVM's kernel-column cache
 * keeps its bound and its values while carving columns from large blocks (which the allocator returns whole); the
 * tree-prediction helper thread ends after its idle time (or at once, when a training task ends) and a later batch
 * predicts the same bits; a packed or loaded tree model is on shared memory, so the helper reads its nodes without a
 * copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KernelColumns, dotRows, kernelValue, squaredNorms, type KernelSpec } from '../../src/ml/models/svm/kernels.js';
import {
  accumulateRows,
  endPredictHelper,
  predictHelperAlive,
  predictHelperIdle,
  predictHelperReady,
  startPredictHelper,
} from '../../src/ml/models/trees/predict-parallel.js';
import { PackedTrees, emptyTreeArrays, type TreeArrays } from '../../src/ml/models/trees/structure.js';
import { Random } from '../../src/ml/random.js';
import { StoredFields } from '../../src/ml/models/stored.js';
import type { SerializedModel } from '../../src/ml/types.js';

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

/**
 * Waits for the prediction helper to answer its first message (~0.15 s through tsx when quiet, seconds on a loaded
 * CI machine). Its idle time counts from when its timer first saw it ready, so this poll has a whole idle period.
 */
async function helperReady(): Promise<void> {
  for (let waited = 0; !predictHelperReady() && waited < 1_000; waited++) {
    expect(predictHelperAlive()).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
  }
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
    await helperReady();
    expect(predictHelperReady()).toBe(true);
    const two = new Float64Array(rows * 2);
    accumulateRows(trees, data, rows, 2, two, 2, 2);
    expect(Buffer.from(two.buffer).equals(Buffer.from(single.buffer))).toBe(true);
    expect(predictHelperAlive()).toBe(true);

    // Idle 300 ms from its last use, or from when its idle timer first saw it ready: ended well within 2 s.
    await new Promise((r) => setTimeout(r, 2000));
    expect(predictHelperAlive()).toBe(false);

    startPredictHelper();
    await helperReady();
    const again = new Float64Array(rows * 2);
    accumulateRows(trees, data, rows, 2, again, 2, 2);
    expect(Buffer.from(again.buffer).equals(Buffer.from(single.buffer))).toBe(true);

    // A training task ends it at once (src/ml/worker.ts), with the run's models and buffers.
    endPredictHelper();
    expect(predictHelperAlive()).toBe(false);
  }, 120_000);
});

describe('tree models on shared memory', () => {
  /** A complete tree of `depth` levels in pre-order (left child next), split thresholds varied by node. */
  function completeTree(depth: number, seed: number): TreeArrays {
    const n = 2 ** (depth + 1) - 1;
    const rng = new Random(seed);
    const tree = emptyTreeArrays(n, 2);
    tree.cover.fill(1);
    let next = 0;
    const grow = (d: number): number => {
      const id = next++;
      if (d === depth) {
        tree.feature[id] = tree.left[id] = tree.right[id] = -1;
        const p = rng.next();
        tree.values.set([p, 1 - p], id * 2);
        return id;
      }
      tree.feature[id] = d % 2;
      tree.threshold[id] = rng.next() * 2 - 1;
      tree.defaultLeft[id] = d % 2;
      tree.left[id] = grow(d + 1);
      tree.right[id] = grow(d + 1);
      return id;
    };
    grow(0);
    return tree;
  }

  it('a packed and a loaded model go to the prediction helper without a copy, and predict the same bits', async () => {
    const packed = PackedTrees.pack(
      [0, 1, 2, 3].map((t) => completeTree(14, t)),
      2,
      null,
    );
    // As the binary artefact hands them over: each array's bytes (StoredBytes), read back by the loader.
    const serialized: SerializedModel = { modelType: 'random_forest', formatVersion: 1, trees: packed.toJSON() };
    const loaded = PackedTrees.fromStored(StoredFields.of(serialized, 1).record('trees'), 2, 2);
    const modelBytes = packed.feature.length * (4 + 8 + 4 + 4 + 1 + 8 + 2 * 8);
    expect(modelBytes).toBeGreaterThan(5 * 2 ** 20);
    for (const trees of [packed, loaded])
      for (const a of [trees.feature, trees.threshold, trees.left, trees.right, trees.defaultLeft, trees.values])
        expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);

    const rows = 50_000;
    const data = randomData(rows, 2, 9);
    const single = new Float64Array(rows * 2);
    accumulateRows(packed, data, rows, 2, single, 2, 1);
    startPredictHelper();
    await helperReady();
    expect(predictHelperReady()).toBe(true);
    for (const trees of [packed, loaded]) {
      // Its prediction layout built first (on this thread, once per model), so only the hand-over is measured; the
      // helper reads this layout too instead of building its own.
      accumulateRows(trees, data, 1, 2, new Float64Array(2), 2, 1);
      const layout = trees.predictLayout();
      for (const a of [layout.rec, layout.splitKey, layout.splitThreshold, layout.leafNode])
        expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      const two = new Float64Array(rows * 2);
      const before = process.memoryUsage().arrayBuffers;
      accumulateRows(trees, data, rows, 2, two, 2, 2);
      // The rows and outputs cross on shared buffers (~1.2 MB); a copy of the model would be modelBytes more.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(modelBytes / 4);
      expect(Buffer.from(two.buffer).equals(Buffer.from(single.buffer))).toBe(true);
    }
  }, 120_000);
});
