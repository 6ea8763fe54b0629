import { describe, expect, it } from 'vitest';
import { lossAndAccuracy } from '../../src/ml/models/step-metrics.js';
import { neuralNetworkTrainer } from '../../src/ml/models/neural/index.js';
import { initTensorflow, tfBackendName } from '../../src/ml/models/tf-backend.js';
import { AbortError, type TrainedClassifier } from '../../src/ml/types.js';
import { NeuralNetworkClassifier } from '../../src/ml/models/neural/tf-model.js';
import { accuracy, gaussianBlobs, instanceOf, stored } from './models-fixtures.js';

type Network = TrainedClassifier & { dispose(): void; backend: string };
const small = { hidden_layers: [16, 8], epochs: 15, batch_size: 32, learning_rate: 0.01, dropout_rate: 0.1 };

describe('neural network', () => {
  it('initialises the WASM backend (SIMD) under vitest', async () => {
    const { backend, tf } = await initTensorflow();
    expect(tfBackendName()).toBe(backend);
    expect(['wasm', 'tensorflow']).toContain(backend); // 'cpu' here would mean the WASM files failed to load
    if (backend === 'wasm') expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
  });

  it('learns Gaussian blobs; history per epoch; probabilities sum to 1; normalised importance', async () => {
    const train = gaussianBlobs(41, 900, 6, 3, 3);
    const test = gaussianBlobs(42, 450, 6, 3, 3);
    const steps: number[] = [];
    const model = (await neuralNetworkTrainer.fit(
      train.X,
      train.y,
      3,
      { ...small, early_stopping_patience: 0 },
      {
        seed: 1,
        validation: test,
        // Whole epochs (a slow epoch also reports partial ones, `partial`, on the clock).
        onStep: (s) => {
          if (s.partial === undefined) steps.push(s.step);
        },
      },
    )) as Network;
    const proba = model.predictProba(test.X);
    expect(accuracy(proba, test.y, 3)).toBeGreaterThan(0.93);
    for (let i = 0; i < test.X.rows; i++) expect(proba[i * 3] + proba[i * 3 + 1] + proba[i * 3 + 2]).toBeCloseTo(1, 12);
    expect(steps).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    const history = model.history();
    expect(history).toHaveLength(15);
    expect(history.at(-1)?.loss).toBeLessThan(history[0].loss ?? NaN);
    expect(history.at(-1)?.valAccuracy).toBeGreaterThan(0.93);
    const importance = model.featureImportance();
    expect(importance.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(importance.every((v) => v >= 0)).toBe(true);
    model.dispose();
  });

  it('is deterministic for a seed (dropout and batch norm included) and round-trips bit-identically', async () => {
    const train = gaussianBlobs(43, 300, 5, 3, 2);
    const params = { ...small, epochs: 4, batch_norm: true, dropout_rate: 0.3 };
    const a = (await neuralNetworkTrainer.fit(train.X, train.y, 3, params, { seed: 9 })) as Network;
    const b = (await neuralNetworkTrainer.fit(train.X, train.y, 3, params, { seed: 9 })) as Network;
    const c = (await neuralNetworkTrainer.fit(train.X, train.y, 3, params, { seed: 10 })) as Network;
    expect(b.toJSON().weightData).toBe(a.toJSON().weightData);
    expect(c.toJSON().weightData).not.toBe(a.toJSON().weightData);
    const loaded = (await neuralNetworkTrainer.load(stored(a))) as Network;
    expect(Array.from(loaded.predictProba(train.X))).toEqual(Array.from(a.predictProba(train.X)));
    expect(loaded.featureImportance()).toEqual(a.featureImportance());
    for (const m of [a, b, c, loaded]) m.dispose();
  });

  it('stops early on validation loss and restores the best weights', async () => {
    const train = gaussianBlobs(44, 120, 10, 3, 1);
    const validation = gaussianBlobs(45, 300, 10, 3, 1);
    // A big network on few noisy rows overfits quickly: validation loss turns up.
    const model = (await neuralNetworkTrainer.fit(
      train.X,
      train.y,
      3,
      {
        hidden_layers: [128, 128],
        epochs: 200,
        learning_rate: 0.01,
        dropout_rate: 0,
        batch_size: 16,
        early_stopping_patience: 5,
        tol: 0, // every decrease counts: the stop comes exactly 5 epochs after the best
      },
      { seed: 2, validation },
    )) as Network;
    const history = model.history();
    expect(history.length).toBeLessThan(200);
    const best = Math.min(...history.map((p) => p.valLoss ?? NaN));
    const bestEpoch = history.findIndex((p) => p.valLoss === best) + 1;
    expect(history.length).toBe(bestEpoch + 5);
    const restored = lossAndAccuracy(model.predictProba(validation.X), validation.y, 3).loss;
    expect(restored).toBeCloseTo(best, 5);
    model.dispose();
  });

  it('with a tolerance, counts only decreases of at least tol; without a validation split, stops on the training loss', async () => {
    const train = gaussianBlobs(44, 120, 10, 3, 1);
    const validation = gaussianBlobs(45, 300, 10, 3, 1);
    const params = { hidden_layers: [32], epochs: 300, learning_rate: 0.01, dropout_rate: 0, batch_size: 16 };
    const tol = 0.02;
    const model = (await neuralNetworkTrainer.fit(
      train.X,
      train.y,
      3,
      { ...params, early_stopping_patience: 5, tol },
      { seed: 2, validation },
    )) as Network;
    // Replays the rule on the recorded losses: the run stops at the first epoch that ends 5 epochs without a
    // decrease of at least tol below the best so far.
    const replay = (losses: number[]) => {
      let best = Infinity;
      let without = 0;
      for (const [i, loss] of losses.entries()) {
        without = loss < best - tol ? 0 : without + 1;
        best = Math.min(best, loss);
        if (without >= 5) return i + 1;
      }
      return losses.length;
    };
    const history = model.history();
    expect(history.length).toBeLessThan(300);
    expect(replay(history.map((p) => p.valLoss ?? NaN))).toBe(history.length);
    model.dispose();

    const noValidation = (await neuralNetworkTrainer.fit(
      train.X,
      train.y,
      3,
      { ...params, early_stopping_patience: 5, tol },
      { seed: 2 },
    )) as Network;
    const trainingLosses = noValidation.history().map((p) => p.loss ?? NaN);
    expect(trainingLosses.length).toBeLessThan(300);
    expect(replay(trainingLosses)).toBe(trainingLosses.length);
    expect(noValidation.toJSON().bestEpoch).toBe(trainingLosses.length); // nothing to restore without validation
    noValidation.dispose();
  });

  it('has one logistic output unit for two classes (as scikit-learn), probabilities [1 − p, p]', async () => {
    const train = gaussianBlobs(48, 600, 5, 2, 2);
    const test = gaussianBlobs(49, 300, 5, 2, 2);
    const model = (await neuralNetworkTrainer.fit(
      train.X,
      train.y,
      2,
      { ...small, early_stopping_patience: 0 },
      { seed: 3, validation: test },
    )) as Network;
    expect(instanceOf(model, NeuralNetworkClassifier).toJSON().weightSpecs.at(-2)?.shape).toEqual([8, 1]);
    const proba = model.predictProba(test.X);
    expect(proba).toHaveLength(600);
    for (let i = 0; i < 300; i++) expect(proba[2 * i] + proba[2 * i + 1]).toBe(1);
    expect(accuracy(proba, test.y, 2)).toBeGreaterThan(0.9);
    expect(model.history().at(-1)?.valAccuracy).toBeCloseTo(accuracy(proba, test.y, 2), 2);
    const loaded = (await neuralNetworkTrainer.load(stored(model))) as Network;
    expect(Array.from(loaded.predictProba(test.X))).toEqual(Array.from(proba));
    for (const m of [model, loaded]) m.dispose();
  });

  it('cancels within 1 s in the middle of a long epoch, and leaks no tensors', async () => {
    const { tf } = await initTensorflow();
    const before = tf.memory().numTensors;
    const big = gaussianBlobs(46, 60000, 30, 3, 1); // one epoch at batch 32 takes several seconds
    const controller = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, 700);
    const run = neuralNetworkTrainer.fit(
      big.X,
      big.y,
      3,
      { hidden_layers: [128, 64, 32], epochs: 50 },
      { seed: 1, signal: controller.signal },
    );
    await expect(run).rejects.toBeInstanceOf(AbortError);
    const latency = performance.now() - abortedAt;
    expect(abortedAt).toBeGreaterThan(0);
    expect(latency).toBeLessThan(1000);
    expect(tf.memory().numTensors).toBe(before);

    const train = gaussianBlobs(47, 200, 4, 3, 3);
    const model = (await neuralNetworkTrainer.fit(
      train.X,
      train.y,
      3,
      { ...small, epochs: 3, batch_norm: true },
      { seed: 1, validation: train },
    )) as Network;
    const weights = tf.memory().numTensors - before;
    expect(weights).toBe(12); // 2 dense kernels (no bias with batch norm) + 2×4 batch-norm + output kernel & bias
    for (let i = 0; i < 3; i++) model.predictProba(train.X);
    model.toJSON();
    expect(tf.memory().numTensors - before).toBe(weights);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
