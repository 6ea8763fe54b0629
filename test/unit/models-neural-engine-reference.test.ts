/**
 * The MLP engine's fast kernels (src/ml/models/neural/gemm.ts: WebAssembly SIMD products, fused passes) against the
 * plain-JavaScript loop they replaced (test/unit/mlp-engine-reference.ts): from the same initial weights, the same
 * shuffles and the same dropout draws, every parameter after every step and every loss must agree to ~1e-12.
 */
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/ml/catalog.js';
import { buildModel, engineFromModel } from '../../src/ml/models/neural/index.js';
import { initTensorflow } from '../../src/ml/models/tf-backend.js';
import { Random } from '../../src/ml/random.js';
import type { Hyperparameters } from '../../src/ml/types.js';
import { referenceEngineFromModel } from './mlp-engine-reference.js';
import { gaussianBlobs } from './models-fixtures.js';

const cases: [string, number, number, Hyperparameters][] = [
  // The bench's goal network (scikit-learn's settings), three classes and one logistic unit.
  ['(64, 32) relu, alpha 1e-4, 3 classes', 3, 30, { hidden_layers: [64, 32], alpha: 1e-4, dropout_rate: 0 }],
  ['(64, 32) relu, alpha 1e-4, 2 classes', 2, 30, { hidden_layers: [64, 32], alpha: 1e-4, dropout_rate: 0 }],
  // Odd widths everywhere (the kernels' vector and scalar tails), a batch that does not divide the rows.
  ['(7, 5, 3) tanh, dropout 0.2', 3, 5, { hidden_layers: [7, 5, 3], activation: 'tanh', dropout_rate: 0.2 }],
  [
    '(9) sigmoid, batch norm, 4 classes',
    4,
    11,
    { hidden_layers: [9], activation: 'sigmoid', batch_norm: true, dropout_rate: 0, alpha: 0.01 },
  ],
  ['(128, 64, 32) relu, batch norm, dropout', 2, 17, { hidden_layers: [128, 64, 32], batch_norm: true }],
];

describe('neural network engine against the reference loop', () => {
  for (const [name, k, d, params] of cases)
    it(`takes the same steps as the plain-JavaScript loop (${name})`, async () => {
      const { tf } = await initTensorflow();
      const data = gaussianBlobs(11, 203, d, k, 1);
      const n = data.X.rows;
      const p = resolveParams('neural_network', { batch_size: 13, learning_rate: 0.01, ...params });
      const model = buildModel(tf, d, k, p, 21);
      // Capacity above the batch: prediction streams 40 rows at a time, the batches use part of the buffers.
      const engine = engineFromModel(model, p, d, 40, p.learning_rate);
      const reference = referenceEngineFromModel(model, p, d, 40, p.learning_rate);
      model.dispose();
      const orders = [new Random(5), new Random(5)];
      const dropout = [new Random(6), new Random(6)];
      const order = [Int32Array.from({ length: n }, (_, i) => i), Int32Array.from({ length: n }, (_, i) => i)];
      let worst = 0;
      let steps = 0;
      const compare = (actual: Float64Array[], expected: Float64Array[]) => {
        expect(actual.map((a) => a.length)).toEqual(expected.map((e) => e.length));
        expected.forEach((values, w) => {
          for (let i = 0; i < values.length; i++) {
            const gap = Math.abs(actual[w][i] - values[i]) / Math.max(1, Math.abs(values[i]));
            worst = Math.max(worst, gap);
          }
        });
      };
      for (let epoch = 0; epoch < 3; epoch++) {
        orders[0].shuffle(order[0]);
        orders[1].shuffle(order[1]);
        for (let from = 0; from < n; from += p.batch_size) {
          const rows = Math.min(p.batch_size, n - from);
          const loss = engine.trainBatch(data.X, data.y, order[0], from, rows, dropout[0]);
          const expectedLoss = reference.trainBatch(data.X, data.y, order[1], from, rows, dropout[1]);
          expect(Math.abs(loss - expectedLoss)).toBeLessThanOrEqual(1e-12 * Math.abs(expectedLoss));
          compare(engine.saveState(), reference.saveState());
          steps++;
        }
      }
      expect(steps).toBe(3 * Math.ceil(n / p.batch_size));
      expect(worst).toBeLessThanOrEqual(1e-12);
      // Inference (moving batch-norm statistics, no dropout), in chunks of the capacity.
      const proba = engine.predict(data.X);
      const expected = reference.predict(data.X);
      expect(proba).toHaveLength(expected.length);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(proba[i] - expected[i])).toBeLessThanOrEqual(1e-12);
    });
});
