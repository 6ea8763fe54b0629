/**
 * Multi-layer perceptron: a TensorFlow.js layers model (backend from `tf-backend.ts`) for initialisation,
 * prediction and the saved format, trained by the plain-TypeScript loop below (see "Training engine" for why).
 *
 * Determinism (same seed ⇒ same weights): initialisers are seeded, epochs are shuffled and dropout masks drawn
 * with our `Random`, and the training arithmetic is plain JavaScript (no backend-dependent kernels). The model
 * keeps a `SeededDropout` layer (identity at inference) so the topology says where dropout was applied and
 * models saved by earlier versions still load. Cancellation is checked between batches.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { Random } from '../../random.js';
import type { HistoryPoint } from '../../types.js';
import { throwIfAborted } from '../../types.js';
import { defineTrainer } from '../define.js';
import { historyOf, lossAndAccuracy } from '../step-metrics.js';
import { initTensorflow } from '../tf-backend.js';
import { copyIntoModel, engineFromModel } from './engine.js';
import {
  FORMAT_VERSION,
  NeuralNetworkClassifier,
  buildModel,
  captureArtifacts,
  registerSeededDropout,
  weightBuffer,
  type NeuralNetworkJson,
} from './tf-model.js';

export { MlpEngine, engineFromModel } from './engine.js';
export { buildModel } from './tf-model.js';

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const neuralNetworkTrainer = defineTrainer('neural_network', {
  async fit(X, y, numClasses, p, options) {
    throwIfAborted(options.signal);
    const { tf, backend } = await initTensorflow();
    const rng = new Random(options.seed);
    const n = X.rows;
    const d = X.cols;
    const batchSize = Math.min(p.batch_size, Math.max(1, n));
    const model = buildModel(tf, d, numClasses, p, 1 + rng.int(1_000_000_000));
    const dropoutRng = rng.fork(1);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const validation = options.validation;
    const earlyStopping = p.early_stopping_patience > 0 && validation !== undefined && validation.X.rows > 0;
    const history: HistoryPoint[] = [];
    let bestLoss = Infinity;
    let bestEpoch = 0;
    let bestWeights: Float64Array[] | null = null;
    let epochsWithoutImprovement = 0;
    let lastYield = performance.now();

    try {
      const engine = engineFromModel(model, p, d, Math.max(batchSize, 1024), p.learning_rate);
      for (let epoch = 1; epoch <= p.epochs; epoch++) {
        throwIfAborted(options.signal);
        rng.shuffle(order);
        let lossSum = 0;
        for (let from = 0; from < n; from += batchSize) {
          lossSum += engine.trainBatch(X, y, order, from, Math.min(batchSize, n - from), dropoutRng);
          // Let timers and worker messages through so that an abort can arrive mid-epoch.
          if (performance.now() - lastYield > 100) {
            await yieldToEventLoop();
            lastYield = performance.now();
            throwIfAborted(options.signal);
          }
        }

        const point: HistoryPoint = { step: epoch, loss: n > 0 ? lossSum / n : 0 };
        if (validation && validation.X.rows > 0) {
          const metrics = lossAndAccuracy(engine.predict(validation.X), validation.y, numClasses);
          point.valLoss = metrics.loss;
          point.valAccuracy = metrics.accuracy;
        }
        history.push(point);
        options.onStep?.({ totalSteps: p.epochs, ...point });

        if (earlyStopping && point.valLoss !== undefined) {
          if (point.valLoss < bestLoss) {
            bestLoss = point.valLoss;
            bestEpoch = epoch;
            bestWeights = engine.saveState();
            epochsWithoutImprovement = 0;
          } else if (++epochsWithoutImprovement >= p.early_stopping_patience) {
            options.onStep?.({
              totalSteps: p.epochs,
              ...point,
              message: `early stopping: no validation improvement for ${p.early_stopping_patience} epochs, best epoch ${bestEpoch}`,
            });
            break;
          }
        }
      }
      if (bestWeights && bestEpoch !== history.length) engine.restoreState(bestWeights);
      copyIntoModel(tf, engine, model);
    } catch (error) {
      model.dispose();
      throw error;
    }

    const artifacts = await captureArtifacts(tf, model);
    const json: NeuralNetworkJson = {
      modelType: 'neural_network',
      formatVersion: FORMAT_VERSION,
      numClasses,
      numFeatures: d,
      backend,
      modelTopology: artifacts.modelTopology as object,
      weightSpecs: artifacts.weightSpecs ?? [],
      weightData: Buffer.from(weightBuffer(tf, artifacts.weightData)).toString('base64'),
      history,
      epochsRun: history.length,
      bestEpoch: bestWeights ? bestEpoch : history.length,
    };
    return new NeuralNetworkClassifier(tf, model, json, p);
  },

  async load(serialized, params) {
    const json = serialized as NeuralNetworkJson;
    if (json.formatVersion !== FORMAT_VERSION) {
      throw new Error(`not a neural_network model (format ${String(json.formatVersion)})`);
    }
    const { tf } = await initTensorflow();
    registerSeededDropout(tf);
    const bytes = Buffer.from(json.weightData, 'base64');
    const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const handler: tfTypes.io.IOHandler = {
      load: () => Promise.resolve({ modelTopology: json.modelTopology, weightSpecs: json.weightSpecs, weightData }),
    };
    const model = await tf.loadLayersModel(handler);
    return new NeuralNetworkClassifier(tf, model, { ...json, history: historyOf(json.history) }, params);
  },
});
