/**
 * The plain-TypeScript training loop of the MLP (src/ml/models/neural/engine.ts):
 * - against TensorFlow.js' own training (`model.fit` with Adam) from the same initial weights: a few full-batch
 *   steps must land on the same parameters, which checks the forward pass, every gradient (dense, activations,
 *   batch norm, softmax and logistic log-loss) and the update;
 * - scikit-learn's MLPClassifier details: the initialisation bounds, the L2 term's gradient (finite differences),
 *   the Adam step (by hand), and batches gathered into one preallocated buffer.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/ml/catalog.js';
import { buildModel, engineFromModel } from '../../src/ml/models/neural/index.js';
import { initTensorflow } from '../../src/ml/models/tf-backend.js';
import { Random } from '../../src/ml/random.js';
import type { Hyperparameters } from '../../src/ml/types.js';
import { gaussianBlobs } from './models-fixtures.js';

const cases: [string, number, Hyperparameters][] = [
  ['relu', 3, { hidden_layers: [16, 8], activation: 'relu', dropout_rate: 0, learning_rate: 0.01, alpha: 0 }],
  [
    'tanh + batch norm',
    3,
    { hidden_layers: [12, 6], activation: 'tanh', batch_norm: true, dropout_rate: 0, learning_rate: 0.01, alpha: 0 },
  ],
  [
    'sigmoid + batch norm',
    3,
    { hidden_layers: [10], activation: 'sigmoid', batch_norm: true, dropout_rate: 0, learning_rate: 0.02, alpha: 0 },
  ],
  [
    'two classes: one logistic output unit',
    2,
    { hidden_layers: [16, 8], activation: 'relu', dropout_rate: 0, learning_rate: 0.01, alpha: 0 },
  ],
];

describe('neural network training engine', () => {
  for (const [name, k, params] of cases) {
    it(`has tfjs autodiff's gradients and takes its Adam steps (${name})`, async () => {
      const { tf } = await initTensorflow();
      const data = gaussianBlobs(7, 64, 5, k, 1.5);
      const n = data.X.rows;
      const p = resolveParams('neural_network', params);
      const steps = 4;

      const reference = buildModel(tf, 5, k, p, 123);
      const ours = buildModel(tf, 5, k, p, 123);
      const engine = engineFromModel(ours, p, 5, n, p.learning_rate);
      const order = Int32Array.from({ length: n }, (_, i) => i);
      const xs = tf.tensor2d(Float32Array.from(data.X.data), [n, 5]);
      const ys = tf.tidy(() =>
        k === 2 ? tf.tensor2d(Float32Array.from(data.y), [n, 1]) : tf.oneHot(tf.tensor1d(data.y, 'int32'), k).toFloat(),
      );

      // The gradients at the initial weights, against tfjs' autodiff (float32).
      engine.gradients(data.X, data.y, order, 0, n, new Random(1));
      const variables = reference.trainableWeights.map((w) => {
        const variable = w.read();
        if (!(variable instanceof tf.Variable)) throw new Error(`${w.name} is not a tf.Variable`);
        return variable;
      });
      const { grads } = tf.variableGrads(() => {
        const output = reference.apply(xs, { training: true }) as tfTypes.Tensor;
        return (k === 2 ? tf.metrics.binaryCrossentropy(ys, output) : tf.metrics.categoricalCrossentropy(ys, output))
          .mean()
          .asScalar();
      }, variables);
      const ourGradients = engine.layers.flatMap((layer) => {
        const kernel = new Float64Array(layer.inputs * layer.units);
        for (let j = 0; j < layer.units; j++)
          for (let i = 0; i < layer.inputs; i++) kernel[i * layer.units + j] = layer.dKernelT[j * layer.inputs + i];
        return [
          kernel,
          ...(layer.dBias ? [layer.dBias] : []),
          ...(layer.batchNorm ? [layer.batchNorm.dGamma, layer.batchNorm.dBeta] : []),
        ];
      });
      expect(ourGradients).toHaveLength(variables.length);
      variables.forEach((variable, w) => {
        const expected = grads[variable.name].dataSync();
        const scale = Math.max(...Array.from(expected, Math.abs));
        for (let i = 0; i < expected.length; i++)
          expect(Math.abs(ourGradients[w][i] - expected[i])).toBeLessThan(1e-5 * scale + 1e-9);
      });
      tf.dispose(Object.values(grads));

      const losses: number[] = [];
      for (let s = 0; s < steps; s++) losses.push(engine.trainBatch(data.X, data.y, order, 0, n, new Random(1)) / n);
      // tfjs folds Adam's bias correction into the moments, scikit-learn (and ours) into the learning rate: the same
      // step but for where epsilon enters, which only matters for gradients ≲ 1e-6 (dead ReLUs).
      reference.compile({
        optimizer: tf.train.adam(p.learning_rate, 0.9, 0.999, 1e-8),
        loss: k === 2 ? 'binaryCrossentropy' : 'categoricalCrossentropy',
      });
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
      // float32 (tfjs) vs float64 (ours) and epsilon's place: measured ≤ 2.5e-4 · lr over 4 steps (≤ 1e-6 with
      // batch norm); a wrong gradient moves weights by ~learning rate per step.
      expect(worst).toBeLessThan(p.learning_rate * 0.05);
      // ...and the weights did move.
      const initial = buildModel(tf, 5, k, p, 123);
      const start = initial.getWeights().map((w) => Array.from(w.dataSync()));
      expect(Math.max(...start[0].map((v, i) => Math.abs(v - actual[0][i])))).toBeGreaterThan(p.learning_rate);
      for (const m of [reference, ours, initial]) m.dispose();
    });
  }

  it("initialises kernels and biases uniformly in ±√(factor / (fan_in + fan_out)), as scikit-learn's MLP", async () => {
    const { tf } = await initTensorflow();
    for (const [activation, factor, k] of [
      ['relu', 6, 3],
      ['tanh', 6, 2],
      ['sigmoid', 2, 3],
    ] as const) {
      const p = resolveParams('neural_network', { hidden_layers: [40, 20], activation, dropout_rate: 0 });
      const model = buildModel(tf, 30, k, p, 5);
      const outputs = k === 2 ? 1 : k;
      const fans = [
        [30, 40],
        [40, 20],
        [20, outputs],
      ];
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      expect(weights.map((w) => w.length)).toEqual(fans.flatMap(([fanIn, fanOut]) => [fanIn * fanOut, fanOut]));
      fans.forEach(([fanIn, fanOut], layer) => {
        const bound = Math.sqrt(factor / (fanIn + fanOut));
        for (const values of [weights[2 * layer], weights[2 * layer + 1]]) {
          const largest = Math.max(...values.map(Math.abs));
          expect(largest).toBeLessThanOrEqual(bound);
          // Uniform over the whole range (the biases too, not zeros); the 3-value output bias is only non-zero.
          expect(largest).toBeGreaterThan(values.length >= 20 ? 0.8 * bound : 0);
        }
      });
      model.dispose();
    }
  });

  for (const [name, k, batchNorm] of [
    ['softmax', 3, false],
    ['one logistic unit', 2, false],
    ['batch norm', 3, true],
  ] as const)
    it(`computes the gradient of log-loss + alpha/2·‖W‖²/rows (finite differences, ${name})`, async () => {
      const { tf } = await initTensorflow();
      const data = gaussianBlobs(3, 10, 4, k, 1);
      const rows = data.X.rows;
      const p = resolveParams('neural_network', {
        hidden_layers: [5, 3],
        activation: 'tanh',
        batch_norm: batchNorm,
        dropout_rate: 0,
        alpha: 0.5,
      });
      const model = buildModel(tf, 4, k, p, 11);
      const engine = engineFromModel(model, p, 4, rows, p.learning_rate);
      const order = Int32Array.from({ length: rows }, (_, i) => i);
      const objective = () => engine.gradients(data.X, data.y, order, 0, rows, new Random(1)) / rows;
      objective();
      // Every analytic gradient, copied before any parameter moves.
      const params: [Float64Array, Float64Array][] = engine.layers.flatMap((layer) => [
        [layer.kernelT, Float64Array.from(layer.dKernelT)] as [Float64Array, Float64Array],
        ...(layer.bias && layer.dBias
          ? [[layer.bias, Float64Array.from(layer.dBias)] as [Float64Array, Float64Array]]
          : []),
        ...(layer.batchNorm
          ? [
              [layer.batchNorm.gamma, Float64Array.from(layer.batchNorm.dGamma)] as [Float64Array, Float64Array],
              [layer.batchNorm.beta, Float64Array.from(layer.batchNorm.dBeta)] as [Float64Array, Float64Array],
            ]
          : []),
      ]);
      const h = 1e-5;
      let checked = 0;
      for (const [values, analytic] of params)
        for (let i = 0; i < values.length; i++) {
          const saved = values[i];
          values[i] = saved + h;
          const up = objective();
          values[i] = saved - h;
          const down = objective();
          values[i] = saved;
          expect(analytic[i]).toBeCloseTo((up - down) / (2 * h), 8);
          checked++;
        }
      expect(checked).toBeGreaterThan(30);
      // The penalty is in the objective: alpha/2 · ‖W‖² / rows on top of the mean log-loss.
      const squares = engine.layers.reduce((s, l) => s + l.kernelT.reduce((t, w) => t + w * w, 0), 0);
      const withoutPenalty = engineFromModel(model, p, 4, rows, p.learning_rate, 0);
      const logLoss = withoutPenalty.gradients(data.X, data.y, order, 0, rows, new Random(1)) / rows;
      expect(objective()).toBeCloseTo(logLoss + (0.5 * 0.5 * squares) / rows, 12);
      model.dispose();
    });

  it("takes scikit-learn's Adam step: lr·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + 1e-8)", async () => {
    const { tf } = await initTensorflow();
    const data = gaussianBlobs(4, 12, 3, 3, 1);
    const rows = data.X.rows;
    const lr = 0.01;
    const p = resolveParams('neural_network', { hidden_layers: [4], dropout_rate: 0, alpha: 0.1, learning_rate: lr });
    const model = buildModel(tf, 3, 3, p, 13);
    const engine = engineFromModel(model, p, 3, rows, lr);
    const order = Int32Array.from({ length: rows }, (_, i) => i);
    const flat = (arrays: Float64Array[]) => arrays.flatMap((a) => Array.from(a));
    const gradients = () => {
      engine.gradients(data.X, data.y, order, 0, rows, new Random(1));
      return flat(engine.layers.flatMap((l) => [l.dKernelT, ...(l.dBias ? [l.dBias] : [])]));
    };
    let theta = flat(engine.saveState());
    const m = new Float64Array(theta.length);
    const v = new Float64Array(theta.length);
    for (let t = 1; t <= 3; t++) {
      const g = gradients();
      engine.trainBatch(data.X, data.y, order, 0, rows, new Random(1));
      const step = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      theta = theta.map((value, i) => {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        return value - (step * m[i]) / (Math.sqrt(v[i]) + 1e-8);
      });
      const actual = flat(engine.saveState());
      for (let i = 0; i < theta.length; i++) expect(actual[i]).toBeCloseTo(theta[i], 13);
    }
    model.dispose();
  });

  it('gathers each batch into one preallocated buffer and leaves the table untouched', async () => {
    const { tf } = await initTensorflow();
    const data = gaussianBlobs(5, 200, 6, 3, 1);
    const tableBefore = Float64Array.from(data.X.data);
    const p = resolveParams('neural_network', { hidden_layers: [8], dropout_rate: 0.2 });
    const model = buildModel(tf, 6, 3, p, 17);
    const capacity = 16;
    const engine = engineFromModel(model, p, 6, capacity, p.learning_rate);
    const buffer = engine.input;
    expect(buffer.length).toBe(capacity * 6);
    const order = new Random(3).shuffle(Int32Array.from({ length: 200 }, (_, i) => i));
    const rng = new Random(1);
    for (let from = 0; from < 200; from += capacity) {
      const rows = Math.min(capacity, 200 - from);
      engine.trainBatch(data.X, data.y, order, from, rows, rng);
      expect(engine.input).toBe(buffer);
      for (let i = 0; i < rows; i++)
        expect(Array.from(buffer.subarray(i * 6, (i + 1) * 6))).toEqual(
          Array.from(data.X.data.subarray(order[from + i] * 6, (order[from + i] + 1) * 6)),
        );
    }
    // Prediction streams through the same buffer, `capacity` rows at a time.
    expect(engine.predict(data.X)).toHaveLength(200 * 3);
    expect(engine.input).toBe(buffer);
    expect(data.X.data).toEqual(tableBefore);
    model.dispose();
  });
});
