/**
 * The plain-TypeScript training loop of neural.ts against TensorFlow.js' own training (`model.fit` with Adam)
 * from the same initial weights: a few full-batch steps must land on the same parameters, which checks the
 * forward pass, every gradient (dense, activations, batch norm, softmax cross-entropy) and the Adam update.
 */
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/ml/catalog.js';
import { buildModel, engineFromModel } from '../../src/ml/models/neural/index.js';
import { initTensorflow } from '../../src/ml/models/tf-backend.js';
import { Random } from '../../src/ml/random.js';
import type { Hyperparameters } from '../../src/ml/types.js';
import { gaussianBlobs } from './models-fixtures.js';

const cases: [string, Hyperparameters][] = [
  ['relu', { hidden_layers: [16, 8], activation: 'relu', dropout_rate: 0, learning_rate: 0.01 }],
  [
    'tanh + batch norm',
    { hidden_layers: [12, 6], activation: 'tanh', batch_norm: true, dropout_rate: 0, learning_rate: 0.01 },
  ],
  [
    'sigmoid + batch norm',
    { hidden_layers: [10], activation: 'sigmoid', batch_norm: true, dropout_rate: 0, learning_rate: 0.02 },
  ],
];

describe('neural network training engine', () => {
  for (const [name, params] of cases) {
    it(`takes the same Adam steps as tfjs model.fit (${name})`, async () => {
      const { tf } = await initTensorflow();
      const data = gaussianBlobs(7, 64, 5, 3, 1.5);
      const n = data.X.rows;
      const p = resolveParams('neural_network', params);
      const steps = 4;

      const reference = buildModel(tf, 5, 3, p, 123);
      const ours = buildModel(tf, 5, 3, p, 123);
      const engine = engineFromModel(ours, p, 5, n, p.learning_rate);
      const order = Int32Array.from({ length: n }, (_, i) => i);
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) losses.push(engine.trainBatch(data.X, data.y, order, 0, n, new Random(1)) / n);

      reference.compile({ optimizer: tf.train.adam(p.learning_rate), loss: 'categoricalCrossentropy' });
      const xs = tf.tensor2d(Float32Array.from(data.X.data), [n, 5]);
      const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(data.y, 'int32'), 3).toFloat());
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- tfjs exports the enum type only; 0 is SILENT
      const fitted = await reference.fit(xs, ys, { epochs: steps, batchSize: n, shuffle: false, verbose: 0 });
      tf.dispose([xs, ys]);

      // Each epoch's loss is the loss before that epoch's step, on both sides.
      const tfLosses = fitted.history.loss.map(Number);
      for (let s = 0; s < steps; s++) expect(losses[s]).toBeCloseTo(tfLosses[s], 5);
      // Layer by layer (model.getWeights() lists all trainable weights before the moving statistics).
      const expected = reference.layers.flatMap((layer) => layer.getWeights()).map((w) => Array.from(w.dataSync()));
      const actual = engine.snapshot();
      expect(actual.map((a) => a.length)).toEqual(expected.map((e) => e.length));
      let worst = 0;
      for (let w = 0; w < expected.length; w++)
        for (let i = 0; i < expected[w].length; i++) worst = Math.max(worst, Math.abs(actual[w][i] - expected[w][i]));
      // float32 (tfjs) vs float64 (ours) arithmetic; measured ≤ 1e-6; a wrong gradient moves weights by ~learning rate per step.
      expect(worst).toBeLessThan(p.learning_rate * 1e-3);
      // ...and the weights did move.
      const initial = buildModel(tf, 5, 3, p, 123);
      const start = initial.getWeights().map((w) => Array.from(w.dataSync()));
      expect(Math.max(...start[0].map((v, i) => Math.abs(v - actual[0][i])))).toBeGreaterThan(p.learning_rate);
      for (const m of [reference, ours, initial]) m.dispose();
    });
  }
});
