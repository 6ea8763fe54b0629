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
import type { HistoryPoint, SerializedModel } from '../../types.js';
import { throwIfAborted } from '../../types.js';
import { defineTrainer } from '../define.js';
import { lossAndAccuracy } from '../step-metrics.js';
import { StoredFields } from '../stored.js';
import { initTensorflow, type TfBackend } from '../tf-backend.js';
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

const TF_BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const satisfies readonly TfBackend[];
/** The weight dtypes our models save (4 bytes each). */
const WEIGHT_DTYPES = ['float32', 'int32'] as const;

/**
 * The stored network, checked field by field; the topology is handed to TensorFlow.js, which checks it while
 * building the layers. The weight buffer must hold exactly the weights the specs list.
 */
function neuralNetworkJsonOf(serialized: SerializedModel): NeuralNetworkJson {
  const stored = StoredFields.of(serialized, FORMAT_VERSION);
  const modelTopology = stored.object('modelTopology');
  let weightCount = 0;
  const weightSpecs = stored.records('weightSpecs').map((spec) => {
    const shape = Array.from(spec.integers('shape', 0, 1 << 30));
    weightCount += shape.reduce((a, b) => a * b, 1);
    return { name: spec.string('name'), shape, dtype: spec.oneOf('dtype', WEIGHT_DTYPES) };
  });
  const weightData = stored.string('weightData');
  stored.bytes('weightData', 4, weightCount);
  return {
    modelType: 'neural_network',
    formatVersion: FORMAT_VERSION,
    numClasses: stored.integer('numClasses', 1),
    numFeatures: stored.integer('numFeatures'),
    backend: stored.oneOf('backend', TF_BACKENDS),
    modelTopology,
    weightSpecs,
    weightData,
    history: stored.history(),
    epochsRun: stored.integer('epochsRun'),
    bestEpoch: stored.integer('bestEpoch'),
  };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * How often a long epoch says how far it is (batch 1 on a large table, or wide layers, make one epoch take seconds to
 * minutes): the run's progress then moves within the epoch. The recorder throttles events further.
 */
const PARTIAL_PROGRESS_MS = 250;

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
    const validation = options.validation && options.validation.X.rows > 0 ? options.validation : undefined;
    // Early stopping as scikit-learn's: an epoch counts as an improvement when the loss falls by at least `tol`
    // below the best so far. On the validation loss when there is a validation split (the best weights are kept
    // and restored), else on the training loss (as MLPClassifier's default, nothing to restore).
    const patience = p.early_stopping_patience;
    const history: HistoryPoint[] = [];
    let bestLoss = Infinity;
    let bestEpoch = 0;
    let bestWeights: Float64Array[] | null = null;
    let epochsWithoutImprovement = 0;
    let lastYield = performance.now();
    let lastPartial = lastYield;
    const batches = Math.ceil(n / batchSize);

    try {
      const engine = engineFromModel(model, p, d, Math.max(batchSize, 1024), p.learning_rate);
      for (let epoch = 1; epoch <= p.epochs; epoch++) {
        throwIfAborted(options.signal);
        rng.shuffle(order);
        let lossSum = 0;
        for (let from = 0, batch = 0; from < n; from += batchSize, batch++) {
          // How far into the epoch: whole batches, and within a long batch its layers (throttled).
          const partial = (withinBatch: number) => {
            const now = performance.now();
            if (!options.onStep || now - lastPartial < PARTIAL_PROGRESS_MS) return;
            lastPartial = now;
            const done = batch + withinBatch;
            options.onStep({
              step: epoch - 1,
              totalSteps: p.epochs,
              partial: done / batches,
              message: `Epoch ${epoch} of ${p.epochs}: batch ${(batch + 1).toLocaleString('en-US')} of ${batches.toLocaleString('en-US')}${withinBatch < 1 ? ` (${Math.round(withinBatch * 100)} %)` : ''}`,
            });
          };
          lossSum += engine.trainBatch(X, y, order, from, Math.min(batchSize, n - from), dropoutRng, partial);
          if (batch + 1 < batches) partial(1);
          const now = performance.now();
          // Let timers and worker messages through so that an abort can arrive mid-epoch.
          if (now - lastYield > 100) {
            await yieldToEventLoop();
            lastYield = performance.now();
            throwIfAborted(options.signal);
          }
        }

        const loss = n > 0 ? lossSum / n : 0;
        const point: HistoryPoint = { step: epoch, loss };
        if (validation) {
          const metrics = lossAndAccuracy(engine.predict(validation.X), validation.y, numClasses);
          point.valLoss = metrics.loss;
          point.valAccuracy = metrics.accuracy;
        }
        history.push(point);
        options.onStep?.({ totalSteps: p.epochs, ...point });
        lastPartial = performance.now();

        if (patience > 0) {
          const monitored = point.valLoss ?? loss;
          if (monitored < bestLoss - p.tol) epochsWithoutImprovement = 0;
          else epochsWithoutImprovement++;
          if (monitored < bestLoss) {
            bestLoss = monitored;
            bestEpoch = epoch;
            if (validation) bestWeights = engine.saveState();
          }
          if (epochsWithoutImprovement >= patience) {
            options.onStep?.({
              totalSteps: p.epochs,
              ...point,
              message: validation
                ? `early stopping: no validation-loss improvement ≥ ${p.tol} for ${patience} epochs, best epoch ${bestEpoch}`
                : `early stopping: no training-loss improvement ≥ ${p.tol} for ${patience} epochs`,
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
    const json = neuralNetworkJsonOf(serialized);
    const { tf } = await initTensorflow();
    registerSeededDropout(tf);
    const bytes = Buffer.from(json.weightData, 'base64');
    const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const handler: tfTypes.io.IOHandler = {
      load: () => Promise.resolve({ modelTopology: json.modelTopology, weightSpecs: json.weightSpecs, weightData }),
    };
    const model = await tf.loadLayersModel(handler);
    return new NeuralNetworkClassifier(tf, model, json, params);
  },
});
