/**
 * The TensorFlow.js side of the MLP: the layers model (seeded initialisers, a seeded dropout layer), the classifier
 * that predicts with it, and its saved form (topology + weight specs + base64 weights in our own JSON, through a
 * custom IO handler). The training steps run in engine.ts.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Activation, NeuralNetworkParams } from '../../catalog.js';
import { sharesOfMagnitude } from '../../importance.js';
import type { HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../../types.js';
import type { Tf, TfBackend } from '../tf-backend.js';

// Seeded dropout layer (registered once per TensorFlow.js instance so saved models load)

const registered = new WeakSet<object>();

interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
}

export function registerSeededDropout(tf: Tf): (args: SeededDropoutArgs) => tfTypes.layers.Layer {
  class SeededDropout extends tf.layers.Layer {
    static className = 'SeededDropout';
    private readonly rate: number;
    private readonly seed: number;
    /** A new mask for every training batch: seed + call count. */
    private calls = 0;

    constructor(args: SeededDropoutArgs) {
      super({ name: args.name });
      this.rate = args.rate;
      this.seed = args.seed;
    }

    override call(inputs: tfTypes.Tensor | tfTypes.Tensor[], kwargs: { training?: boolean }): tfTypes.Tensor {
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      if (kwargs.training !== true || this.rate <= 0) return input;
      const seed = this.seed + this.calls++;
      return tf.tidy(() => tf.dropout(input, this.rate, undefined, seed));
    }

    override getConfig(): tfTypes.serialization.ConfigDict {
      return { ...super.getConfig(), rate: this.rate, seed: this.seed };
    }
  }
  if (!registered.has(tf.serialization)) {
    tf.serialization.registerClass(SeededDropout);
    registered.add(tf.serialization);
  }
  return (args) => new SeededDropout(args);
}

// Serialisation

export const FORMAT_VERSION = 1;

export interface NeuralNetworkJson extends SerializedModel {
  modelType: 'neural_network';
  numClasses: number;
  numFeatures: number;
  /** Backend that trained the model; probabilities are bit-identical when reloaded on the same backend. */
  backend: TfBackend;
  modelTopology: object;
  weightSpecs: tfTypes.io.WeightsManifestEntry[];
  /** Little-endian weight buffer, base64. */
  weightData: string;
  history: HistoryPoint[];
  epochsRun: number;
  bestEpoch: number;
}

export async function captureArtifacts(tf: Tf, model: tfTypes.LayersModel): Promise<tfTypes.io.ModelArtifacts> {
  const handedOver: { artifacts?: tfTypes.io.ModelArtifacts } = {};
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      handedOver.artifacts = artifacts;
      return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) });
    }),
  );
  if (!handedOver.artifacts) throw new Error('TensorFlow.js did not hand over the model artifacts');
  return handedOver.artifacts;
}

export function weightBuffer(tf: Tf, data: tfTypes.io.WeightData | undefined): ArrayBuffer {
  if (!data) return new ArrayBuffer(0);
  return new tf.io.CompositeArrayBuffer(data).slice();
}

export class NeuralNetworkClassifier implements TrainedClassifier {
  readonly modelType = 'neural_network' as const;
  readonly numClasses: number;
  readonly numFeatures: number;
  private readonly importance: Float64Array;

  constructor(
    private readonly tf: Tf,
    private readonly model: tfTypes.LayersModel,
    private readonly json: NeuralNetworkJson,
    readonly params: NeuralNetworkParams,
  ) {
    this.numClasses = json.numClasses;
    this.numFeatures = json.numFeatures;
    this.importance = firstLayerImportance(model, json.numFeatures);
  }

  /** Backend the model was trained on. */
  get backend(): TfBackend {
    return this.json.backend;
  }

  predictProba(X: Matrix): Float64Array {
    if (X.cols !== this.numFeatures) throw new RangeError(`expected ${this.numFeatures} features, got ${X.cols}`);
    const K = this.numClasses;
    if (X.rows === 0) return new Float64Array(0);
    const { tf, model } = this;
    const raw = tf.tidy(() => {
      const input = tf.tensor2d(Float32Array.from(X.data), [X.rows, X.cols]);
      return (model.predict(input, { batchSize: 4096 }) as tfTypes.Tensor).dataSync() as Float32Array;
    });
    const out = new Float64Array(X.rows * K);
    if (raw.length === X.rows && K === 2) {
      // One logistic unit (two classes; models saved before it have a two-unit softmax): P(class 1).
      for (let i = 0; i < X.rows; i++) {
        out[2 * i] = 1 - raw[i];
        out[2 * i + 1] = raw[i];
      }
      return out;
    }
    // float32 softmax rows sum to 1 within ~1e-7: renormalise in float64 so they sum to 1 exactly enough.
    for (let i = 0; i < X.rows; i++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += raw[i * K + k];
      for (let k = 0; k < K; k++) out[i * K + k] = sum > 0 ? raw[i * K + k] / sum : 1 / K;
    }
    return out;
  }

  /**
   * A rough proxy: the sum of |first-layer weights| leaving each (standardised) input, normalised. It ignores
   * everything after the first layer; permutation importance is the faithful measure for a network.
   */
  featureImportance(): Float64Array {
    return Float64Array.from(this.importance);
  }

  history(): HistoryPoint[] {
    return this.json.history.map((point) => ({ ...point }));
  }

  toJSON(): NeuralNetworkJson {
    return {
      ...this.json,
      params: { ...this.params, hidden_layers: [...this.params.hidden_layers] },
      history: this.history(),
    };
  }

  /** Frees the model's tensors (weights). The classifier is unusable afterwards. */
  dispose(): void {
    this.model.dispose();
  }
}

function firstLayerImportance(model: tfTypes.LayersModel, numFeatures: number): Float64Array {
  const importance = new Float64Array(numFeatures);
  const dense = model.layers.find((layer) => layer.getClassName() === 'Dense');
  if (!dense) return sharesOfMagnitude(importance);
  const kernel = dense.getWeights()[0];
  const values = kernel.dataSync();
  const units = kernel.shape[1] ?? 1;
  for (let j = 0; j < numFeatures; j++)
    for (let u = 0; u < units; u++) importance[j] += Math.abs(values[j * units + u]);
  return sharesOfMagnitude(importance);
}

/**
 * scikit-learn's MLPClassifier initialisation: kernel and bias uniform in ±√(factor / (fan_in + fan_out)), factor 6
 * (2 for logistic hidden units), as tfjs initialisers (seeded); batch norm's beta replaces the bias.
 */
function sklearnInitialisers(
  tf: Tf,
  fanIn: number,
  fanOut: number,
  activation: Activation,
  seed: number,
): Pick<NonNullable<Parameters<Tf['layers']['dense']>[0]>, 'kernelInitializer' | 'biasInitializer'> {
  const factor = activation === 'sigmoid' ? 2 : 6;
  const bound = Math.sqrt(factor / (fanIn + fanOut));
  return {
    // varianceScaling's uniform limit is √(3 · scale / ((fan_in + fan_out) / 2)) = bound for scale = factor / 6.
    kernelInitializer: tf.initializers.varianceScaling({
      scale: factor / 6,
      mode: 'fanAvg',
      distribution: 'uniform',
      seed,
    }),
    biasInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: seed + 1_000_003 }),
  };
}

/**
 * The network for `numClasses` classes: the hidden layers, then a softmax output, or one sigmoid unit for two
 * classes (as scikit-learn). Exported for the engine-vs-tfjs test.
 */
export function buildModel(
  tf: Tf,
  d: number,
  numClasses: number,
  p: NeuralNetworkParams,
  seed: number,
): tfTypes.Sequential {
  const seededDropout = registerSeededDropout(tf);
  const model = tf.sequential();
  let layerSeed = seed;
  let inputShape: number[] | undefined = [d];
  let fanIn = d;
  for (const units of p.hidden_layers) {
    const { kernelInitializer, biasInitializer } = sklearnInitialisers(tf, fanIn, units, p.activation, layerSeed++);
    model.add(
      tf.layers.dense({
        units,
        inputShape,
        activation: p.batch_norm ? 'linear' : p.activation,
        useBias: !p.batch_norm, // batch norm's beta replaces the bias
        kernelInitializer,
        biasInitializer,
      }),
    );
    inputShape = undefined;
    fanIn = units;
    if (p.batch_norm) {
      model.add(tf.layers.batchNormalization());
      model.add(tf.layers.activation({ activation: p.activation }));
    }
    if (p.dropout_rate > 0) model.add(seededDropout({ rate: p.dropout_rate, seed: (layerSeed++ * 7919) % 2147483647 }));
  }
  const outputs = numClasses === 2 ? 1 : numClasses;
  model.add(
    tf.layers.dense({
      units: outputs,
      inputShape,
      activation: outputs === 1 ? 'sigmoid' : 'softmax',
      ...sklearnInitialisers(tf, fanIn, outputs, p.activation, layerSeed),
    }),
  );
  return model;
}
