/**
 * Training engine of the MLP in plain TypeScript.
 *
 * TensorFlow.js builds the model (seeded Glorot initialisers), predicts and saves it; the training loop itself runs
 * here. Measured on Kepler (6,694 × 30, batch 32): tfjs spends ~2 ms of per-op bookkeeping per batch whatever the
 * layer sizes (`model.fit`, a hand-written `optimizer.minimize` loop and raw fused ops all cost 0.6–0.7 CPU-s per
 * epoch, the gradients alone 0.4 s), about 10× scikit-learn's MLPClassifier; these loops do the same arithmetic
 * without that overhead. Without dropout and batch norm, a step is scikit-learn's MLPClassifier step (so the same
 * settings give statistically the same models, `npm run bench:nn-speed`): Adam as its `AdamOptimizer` (epsilon
 * 1e-8, the bias correction folded into the learning rate), an L2 penalty alpha/2 · ‖W‖² / batch rows on the
 * kernels (not biases), log-loss on a softmax output, or on one logistic unit for two classes. Batch norm follows
 * tfjs-layers (batch statistics and moving averages, momentum 0.99, epsilon 1e-3, biased variance); dropout is
 * inverted. Arithmetic is float64; the model keeps float32. The matrix products run in gemm.ts' WebAssembly SIMD
 * kernel on buffers in its memory (5–10 GMAC/s against ~1.9 for the best JavaScript loop; the same sums in the same
 * order, so the same weights as a scalar loop, test/unit/models-neural-engine-reference.test.ts).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Activation, NeuralNetworkParams } from '../../catalog.js';
import type { Random } from '../../random.js';
import type { Matrix } from '../../types.js';
import type { Tf } from '../tf-backend.js';
import { Arena } from './gemm.js';

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
const BN_MOMENTUM = 0.99;
const BN_EPSILON = 1e-3;
const LOSS_CLIP = 1e-7;

interface BatchNormState {
  gamma: Float64Array;
  beta: Float64Array;
  movingMean: Float64Array;
  movingVariance: Float64Array;
  dGamma: Float64Array;
  dBeta: Float64Array;
  /** Per-batch statistics kept for the backward pass. */
  invStd: Float64Array;
  normalised: Float64Array;
}

interface DenseState {
  inputs: number;
  units: number;
  /** units × inputs: B of the input gradient's product (g · kernelᵀ); Adam and L2 update this copy. */
  kernelT: Float64Array;
  /** inputs × units (tfjs' layout): B of the forward product, refreshed from kernelT at each forward pass. */
  kernel: Float64Array;
  bias: Float64Array | null;
  dKernelT: Float64Array;
  dBias: Float64Array | null;
  batchNorm: BatchNormState | null;
  dropoutRate: number;
  /** Row-major batch buffers: pre-activation, activation output, dropout scale per unit, gradient. */
  pre: Float64Array;
  act: Float64Array;
  keep: Float64Array | null;
  grad: Float64Array;
}

interface AdamSlot {
  value: Float64Array;
  grad: Float64Array;
  /** A kernel, under the L2 penalty. */
  penalised: boolean;
  m: Float64Array;
  v: Float64Array;
}

/** out (cols × rows) = transpose of the first rows × cols block of `values`. */
function transpose(values: Float64Array, rows: number, cols: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = values[i * cols + j];
}

function applyActivation(activation: Activation, pre: Float64Array, out: Float64Array, length: number): void {
  if (activation === 'relu') for (let i = 0; i < length; i++) out[i] = pre[i] > 0 ? pre[i] : 0;
  else if (activation === 'tanh') for (let i = 0; i < length; i++) out[i] = Math.tanh(pre[i]);
  else for (let i = 0; i < length; i++) out[i] = 1 / (1 + Math.exp(-pre[i]));
}

/** Row-wise softmax in place. */
function softmaxRows(values: Float64Array, rows: number, k: number): void {
  for (let i = 0; i < rows; i++) {
    const row = i * k;
    let max = -Infinity;
    for (let c = 0; c < k; c++) if (values[row + c] > max) max = values[row + c];
    let sum = 0;
    for (let c = 0; c < k; c++) sum += values[row + c] = Math.exp(values[row + c] - max);
    for (let c = 0; c < k; c++) values[row + c] /= sum;
  }
}

/** The phases of a training batch, in the order they run (`MlpEngine.profile`). */
export const BATCH_PHASES = [
  'gather',
  'kernel transposes',
  'forward products',
  'forward bias, activation, dropout',
  'output and loss',
  'backward activation, bias',
  'kernel-gradient products',
  'input-gradient products',
  'Adam step',
] as const;
export type BatchPhase = (typeof BATCH_PHASES)[number];

export class MlpEngine {
  /**
   * When set, training batches add their milliseconds per phase here (`npm run bench:nn-speed` prints it); a
   * property check per phase when not.
   */
  profile: Record<BatchPhase, number> | null = null;
  private lapStart = 0;
  private readonly adam: AdamSlot[] = [];
  private adamStep = 0;
  /** The batch's rows, gathered here (the table itself is only read): allocated once, for `capacity` rows. */
  readonly input: Float64Array;
  /** One logistic output unit (two classes, as scikit-learn) instead of a softmax. */
  private readonly binary: boolean;

  constructor(
    readonly layers: DenseState[],
    /** Of every hidden layer; the output is a softmax, or one logistic unit when it has one unit. */
    private readonly activation: Activation,
    private readonly numFeatures: number,
    private readonly capacity: number,
    private readonly learningRate: number,
    /** L2 penalty on the kernels (scikit-learn's `alpha`). */
    private readonly alpha: number,
    /** Holds the layers' kernels and batch buffers, and the input buffer taken here: the products' operands. */
    private readonly arena: Arena,
  ) {
    this.input = arena.take(capacity * numFeatures);
    this.binary = layers[layers.length - 1].units === 1;
    const slot = (value: Float64Array, grad: Float64Array, penalised = false): AdamSlot => ({
      value,
      grad,
      penalised,
      m: new Float64Array(value.length),
      v: new Float64Array(value.length),
    });
    for (const layer of layers) {
      this.adam.push(slot(layer.kernelT, layer.dKernelT, true));
      if (layer.bias && layer.dBias) this.adam.push(slot(layer.bias, layer.dBias));
      if (layer.batchNorm)
        this.adam.push(
          slot(layer.batchNorm.gamma, layer.batchNorm.dGamma),
          slot(layer.batchNorm.beta, layer.batchNorm.dBeta),
        );
    }
  }

  /** Adds the time since the previous lap to `phase` (profiling only). */
  private lap(phase: BatchPhase | null): void {
    if (!this.profile) return;
    const now = performance.now();
    if (phase) this.profile[phase] += now - this.lapStart;
    this.lapStart = now;
  }

  /** Copies the rows order[from .. from+rows) (or from .. from+rows when `order` is null) into the input buffer. */
  private gather(X: Matrix, order: Int32Array | null, from: number, rows: number): void {
    const d = this.numFeatures;
    const source = X.data;
    const input = this.input;
    for (let i = 0; i < rows; i++) {
      const at = (order ? order[from + i] : from + i) * d;
      const to = i * d;
      for (let j = 0; j < d; j++) input[to + j] = source[at + j];
    }
  }

  /** Forward pass over `rows` rows already in the input buffer; returns the output layer's probabilities. */
  private forward(rows: number, training: boolean, dropoutRng: Random | null): Float64Array {
    let x = this.input;
    for (const layer of this.layers) {
      const { units } = layer;
      const length = rows * units;
      const z = layer.pre;
      if (training) this.lap(null);
      transpose(layer.kernelT, units, layer.inputs, layer.kernel);
      if (training) this.lap('kernel transposes');
      this.arena.gemm(z, x, layer.kernel, rows, layer.inputs, units, layer.inputs, 1);
      if (training) this.lap('forward products');
      const last = layer === this.layers[this.layers.length - 1];
      const act = layer.act;
      // The common hidden layer in one pass: bias and ReLU.
      const fusedRelu = !last && !layer.batchNorm && this.activation === 'relu';
      if (layer.bias && fusedRelu) {
        const bias = layer.bias;
        for (let i = 0, at = 0; i < rows; i++)
          for (let j = 0; j < units; j++, at++) {
            const v = (z[at] += bias[j]);
            act[at] = v > 0 ? v : 0;
          }
      } else if (layer.bias) {
        const bias = layer.bias;
        for (let i = 0; i < rows; i++) for (let j = 0; j < units; j++) z[i * units + j] += bias[j];
      }
      if (layer.batchNorm) this.batchNormForward(layer.batchNorm, z, rows, units, training);
      if (training && this.onLayer) this.onLayer(this.layerShare(this.layers.indexOf(layer), false));
      if (last) {
        if (training) this.lap('forward bias, activation, dropout');
        if (this.binary) applyActivation('sigmoid', z, z, rows);
        else softmaxRows(z, rows, units);
        return z;
      }
      if (!(fusedRelu && layer.bias)) applyActivation(this.activation, z, act, length);
      if (training && layer.keep && dropoutRng) {
        const scale = 1 / (1 - layer.dropoutRate);
        for (let i = 0; i < length; i++) {
          const keep = dropoutRng.next() >= layer.dropoutRate ? scale : 0;
          layer.keep[i] = keep;
          layer.act[i] *= keep;
        }
      }
      x = layer.act;
      if (training) this.lap('forward bias, activation, dropout');
    }
    throw new Error('the network has no output layer');
  }

  /** Normalises `z` in place: batch statistics in training (and moving-average updates), else the moving ones. */
  private batchNormForward(bn: BatchNormState, z: Float64Array, rows: number, units: number, training: boolean): void {
    if (!training) {
      for (let j = 0; j < units; j++) {
        const scale = bn.gamma[j] / Math.sqrt(bn.movingVariance[j] + BN_EPSILON);
        for (let i = 0; i < rows; i++) z[i * units + j] = (z[i * units + j] - bn.movingMean[j]) * scale + bn.beta[j];
      }
      return;
    }
    for (let j = 0; j < units; j++) {
      let mean = 0;
      for (let i = 0; i < rows; i++) mean += z[i * units + j];
      mean /= rows;
      let variance = 0;
      for (let i = 0; i < rows; i++) variance += (z[i * units + j] - mean) ** 2;
      variance /= rows;
      const invStd = 1 / Math.sqrt(variance + BN_EPSILON);
      bn.invStd[j] = invStd;
      for (let i = 0; i < rows; i++) {
        const normalised = (z[i * units + j] - mean) * invStd;
        bn.normalised[i * units + j] = normalised;
        z[i * units + j] = normalised * bn.gamma[j] + bn.beta[j];
      }
      bn.movingMean[j] -= (bn.movingMean[j] - mean) * (1 - BN_MOMENTUM);
      bn.movingVariance[j] -= (bn.movingVariance[j] - variance) * (1 - BN_MOMENTUM);
    }
  }

  /** One Adam step on the batch order[from .. from+rows); returns the batch's summed loss (see `gradients`). */
  trainBatch(
    X: Matrix,
    y: Int32Array,
    order: Int32Array,
    from: number,
    rows: number,
    dropoutRng: Random,
    /** Told after each layer's forward and backward pass how much of the batch is done (0..1): a large batch through
     * wide layers takes seconds, and the run's progress moves within it. */
    onLayer?: (share: number) => void,
  ): number {
    this.onLayer = onLayer ?? null;
    try {
      const loss = this.logLossGradients(X, y, order, from, rows, dropoutRng);
      this.lap(null);
      // The L2 term joins the kernels' gradients inside the step (one pass over the weights instead of two).
      const squares = this.step(this.alpha / rows);
      this.lap('Adam step');
      return this.alpha > 0 ? loss + 0.5 * this.alpha * squares : loss;
    } finally {
      this.onLayer = null;
    }
  }

  /** Of the batch under way (trainBatch's onLayer), while it runs. */
  private onLayer: ((share: number) => void) | null = null;

  /**
   * The share of a batch's arithmetic done after layer l's forward pass (backward: false) or its backward pass: each
   * layer costs its weights × rows forwards and twice that backwards (the kernel's and the input's gradients).
   */
  private layerShare(l: number, backward: boolean): number {
    let weights = 0;
    let before = 0;
    this.layers.forEach((layer, i) => {
      const w = layer.inputs * layer.units;
      weights += w;
      if (backward ? i >= l : i <= l) before += w;
    });
    return backward ? (weights + 2 * before) / (3 * weights) : before / (3 * weights);
  }

  /**
   * Fills every parameter's gradient of the batch objective — mean log-loss + alpha/2 · ‖kernels‖² / rows, as
   * scikit-learn's — and returns that objective times `rows` (summed log-loss + alpha/2 · ‖kernels‖²), so that
   * summing over an epoch's batches and dividing by the rows gives scikit-learn's `loss_`.
   */
  gradients(X: Matrix, y: Int32Array, order: Int32Array, from: number, rows: number, dropoutRng: Random): number {
    let loss = this.logLossGradients(X, y, order, from, rows, dropoutRng);
    if (this.alpha > 0) {
      const decay = this.alpha / rows;
      let squares = 0;
      for (const { kernelT, dKernelT } of this.layers)
        for (let i = 0; i < kernelT.length; i++) {
          squares += kernelT[i] * kernelT[i];
          dKernelT[i] += decay * kernelT[i];
        }
      loss += 0.5 * this.alpha * squares;
    }
    return loss;
  }

  /** `gradients` without the L2 term: the summed log-loss, and its gradients. */
  private logLossGradients(
    X: Matrix,
    y: Int32Array,
    order: Int32Array,
    from: number,
    rows: number,
    dropoutRng: Random,
  ): number {
    this.lap(null);
    this.gather(X, order, from, rows);
    this.lap('gather');
    const proba = this.forward(rows, true, dropoutRng);
    const last = this.layers[this.layers.length - 1];
    const K = last.units;
    let loss = 0;
    // d(mean log-loss)/d(logits) = (p - onehot) / rows, for the softmax and for the one logistic unit alike.
    const output = last.grad;
    if (this.binary)
      for (let i = 0; i < rows; i++) {
        const label = y[order[from + i]];
        const p = Math.min(1 - LOSS_CLIP, Math.max(LOSS_CLIP, proba[i]));
        loss -= Math.log(label === 1 ? p : 1 - p);
        output[i] = (proba[i] - label) / rows;
      }
    else
      for (let i = 0; i < rows; i++) {
        const label = y[order[from + i]];
        const row = i * K;
        loss -= Math.log(Math.min(1 - LOSS_CLIP, Math.max(LOSS_CLIP, proba[row + label])));
        for (let c = 0; c < K; c++) output[row + c] = (proba[row + c] - (c === label ? 1 : 0)) / rows;
      }
    this.lap('output and loss');
    for (let l = this.layers.length - 1; l >= 0; l--) {
      this.backward(l, rows);
      this.onLayer?.(this.layerShare(l, true));
      this.lap(null);
    }
    return loss;
  }

  /** Turns layer l's output gradient into parameter gradients and the previous layer's output gradient. */
  private backward(l: number, rows: number): void {
    const layer = this.layers[l];
    const { units, inputs } = layer;
    const length = rows * units;
    const g = layer.grad;
    const hidden = l < this.layers.length - 1;
    const fusedRelu = hidden && this.activation === 'relu' && layer.dBias !== null && !layer.batchNorm;
    if (fusedRelu && layer.dBias) {
      // One pass: dropout mask, ReLU's derivative (from the pre-activation) and the bias gradient.
      const { pre, keep, dBias } = layer;
      dBias.fill(0);
      for (let i = 0, at = 0; i < rows; i++)
        for (let j = 0; j < units; j++, at++) {
          const gv = pre[at] > 0 ? (keep ? g[at] * keep[at] : g[at]) : 0;
          g[at] = gv;
          dBias[j] += gv;
        }
    } else if (hidden) {
      if (layer.keep) for (let i = 0; i < length; i++) g[i] *= layer.keep[i];
      const pre = layer.pre;
      // Derivatives from the pre-activation (act may hold dropout-scaled values).
      if (this.activation === 'relu') for (let i = 0; i < length; i++) g[i] = pre[i] > 0 ? g[i] : 0;
      else if (this.activation === 'tanh')
        for (let i = 0; i < length; i++) {
          const t = Math.tanh(pre[i]);
          g[i] *= 1 - t * t;
        }
      else
        for (let i = 0; i < length; i++) {
          const s = 1 / (1 + Math.exp(-pre[i]));
          g[i] *= s * (1 - s);
        }
    }
    if (fusedRelu) {
      // The bias gradient is summed above.
    } else if (layer.batchNorm) {
      const bn = layer.batchNorm;
      for (let j = 0; j < units; j++) {
        let sumG = 0;
        let sumGx = 0;
        for (let i = 0; i < rows; i++) {
          sumG += g[i * units + j];
          sumGx += g[i * units + j] * bn.normalised[i * units + j];
        }
        bn.dBeta[j] = sumG;
        bn.dGamma[j] = sumGx;
        const scale = (bn.gamma[j] * bn.invStd[j]) / rows;
        for (let i = 0; i < rows; i++) {
          const at = i * units + j;
          g[at] = scale * (rows * g[at] - sumG - bn.normalised[at] * sumGx);
        }
      }
    } else if (layer.dBias) {
      const dBias = layer.dBias;
      dBias.fill(0);
      for (let i = 0; i < rows; i++) for (let j = 0; j < units; j++) dBias[j] += g[i * units + j];
    }
    this.lap('backward activation, bias');
    // dKernelT (units × inputs) = gᵀ · x, gᵀ read through strides.
    const x = l === 0 ? this.input : this.layers[l - 1].act;
    this.arena.gemm(layer.dKernelT, g, x, units, rows, inputs, 1, units);
    this.lap('kernel-gradient products');
    if (l === 0) return;
    // previous layer's output gradient (rows × inputs) = g · kernelᵀ
    this.arena.gemm(this.layers[l - 1].grad, g, layer.kernelT, rows, units, inputs, units, 1);
    this.lap('input-gradient products');
  }

  /**
   * scikit-learn's Adam: lr · √(1 − β2ᵗ) / (1 − β1ᵗ) · m / (√v + ε), the kernels' gradients taking the L2 term
   * decay · w on the way (as `gradients` adds it); returns the kernels' ‖W‖² before the step.
   */
  private step(decay: number): number {
    this.adamStep++;
    const t = this.adamStep;
    const lr = (this.learningRate * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
    let squares = 0;
    for (const { value, grad, m, v, penalised } of this.adam) {
      if (penalised && decay > 0)
        for (let i = 0; i < value.length; i++) {
          const w = value[i];
          squares += w * w;
          const gi = grad[i] + decay * w;
          const mi = (m[i] = ADAM_BETA1 * m[i] + (1 - ADAM_BETA1) * gi);
          const vi = (v[i] = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * gi * gi);
          value[i] = w - (lr * mi) / (Math.sqrt(vi) + ADAM_EPSILON);
        }
      else
        for (let i = 0; i < value.length; i++) {
          const gi = grad[i];
          const mi = (m[i] = ADAM_BETA1 * m[i] + (1 - ADAM_BETA1) * gi);
          const vi = (v[i] = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * gi * gi);
          value[i] -= (lr * mi) / (Math.sqrt(vi) + ADAM_EPSILON);
        }
    }
    return squares;
  }

  /** Class probabilities in inference mode (moving batch-norm statistics, no dropout), rows × classes. */
  predict(X: Matrix): Float64Array {
    const units = this.layers[this.layers.length - 1].units;
    const K = this.binary ? 2 : units;
    const out = new Float64Array(X.rows * K);
    for (let from = 0; from < X.rows; from += this.capacity) {
      const rows = Math.min(this.capacity, X.rows - from);
      this.gather(X, null, from, rows);
      const proba = this.forward(rows, false, null);
      if (this.binary)
        for (let i = 0; i < rows; i++) {
          out[(from + i) * 2] = 1 - proba[i];
          out[(from + i) * 2 + 1] = proba[i];
        }
      else out.set(proba.subarray(0, rows * K), from * K);
    }
    return out;
  }

  /** Exact copies of every parameter and moving statistic (for restoring the best epoch). */
  saveState(): Float64Array[] {
    return this.stateArrays().map((values) => values.slice());
  }

  restoreState(state: Float64Array[]): void {
    this.stateArrays().forEach((values, i) => {
      values.set(state[i]);
    });
  }

  /** The weights as float32 arrays in tfjs' order and layout, layer by layer (kernel inputs × units). */
  snapshot(): Float32Array[] {
    const arrays: Float32Array[] = [];
    for (const layer of this.layers) {
      const kernel = new Float32Array(layer.inputs * layer.units);
      for (let j = 0; j < layer.units; j++)
        for (let k = 0; k < layer.inputs; k++) kernel[k * layer.units + j] = layer.kernelT[j * layer.inputs + k];
      arrays.push(kernel);
      if (layer.bias) arrays.push(Float32Array.from(layer.bias));
      const bn = layer.batchNorm;
      if (bn)
        arrays.push(
          Float32Array.from(bn.gamma),
          Float32Array.from(bn.beta),
          Float32Array.from(bn.movingMean),
          Float32Array.from(bn.movingVariance),
        );
    }
    return arrays;
  }

  private stateArrays(): Float64Array[] {
    const arrays: Float64Array[] = [];
    for (const layer of this.layers) {
      arrays.push(layer.kernelT);
      if (layer.bias) arrays.push(layer.bias);
      if (layer.batchNorm)
        arrays.push(
          layer.batchNorm.gamma,
          layer.batchNorm.beta,
          layer.batchNorm.movingMean,
          layer.batchNorm.movingVariance,
        );
    }
    return arrays;
  }
}

/**
 * Reads the freshly initialised tfjs model into engine layers (Dense [+ BatchNormalization] [+ Activation]
 * [+ SeededDropout] per hidden layer, then the output Dense: softmax, or one sigmoid unit), with buffers for `capacity` rows.
 * Exported (with `MlpEngine`) for the test that checks it against tfjs' own training.
 */
export function engineFromModel(
  model: tfTypes.LayersModel,
  p: NeuralNetworkParams,
  numFeatures: number,
  capacity: number,
  learningRate: number,
  alpha = p.alpha,
): MlpEngine {
  const read = model.layers.map((layer) => ({
    className: layer.getClassName(),
    weights: layer.getWeights().map((w) => Float64Array.from(w.dataSync())),
  }));
  // The products' operands live in the arena: per Dense layer its kernel three times (kernelT, kernel, dKernelT)
  // and three batch buffers (pre, act, grad) of `capacity` rows; and the input buffer.
  let doubles = capacity * numFeatures;
  let buffers = 1;
  for (let i = 0, inputs = numFeatures; i < read.length; i++) {
    if (read[i].className !== 'Dense') continue;
    const size = read[i].weights[0].length;
    doubles += 3 * size + (3 * capacity * size) / inputs;
    buffers += 6;
    inputs = size / inputs;
  }
  const arena = new Arena(doubles, buffers);
  const layers: DenseState[] = [];
  let inputs = numFeatures;
  for (const { className, weights } of read) {
    if (className === 'Dense') {
      const units = weights[0].length / inputs;
      const kernel = arena.take(weights[0].length, weights[0]);
      const kernelT = arena.take(kernel.length);
      transpose(kernel, inputs, units, kernelT);
      layers.push({
        inputs,
        units,
        kernelT,
        kernel,
        bias: weights[1] ?? null,
        dKernelT: arena.take(kernel.length),
        dBias: weights[1] ? new Float64Array(units) : null,
        batchNorm: null,
        dropoutRate: 0,
        pre: arena.take(capacity * units),
        act: arena.take(capacity * units),
        keep: null,
        grad: arena.take(capacity * units),
      });
      inputs = units;
    } else if (className === 'BatchNormalization') {
      const [gamma, beta, movingMean, movingVariance] = weights;
      const units = gamma.length;
      layers[layers.length - 1].batchNorm = {
        gamma,
        beta,
        movingMean,
        movingVariance,
        dGamma: new Float64Array(units),
        dBeta: new Float64Array(units),
        invStd: new Float64Array(units),
        normalised: new Float64Array(capacity * units),
      };
    } else if (className === 'SeededDropout') {
      const dense = layers[layers.length - 1];
      dense.dropoutRate = p.dropout_rate;
      dense.keep = new Float64Array(capacity * dense.units);
    } else if (className !== 'Activation') {
      throw new Error(`unexpected layer ${className} in the network`);
    }
  }
  return new MlpEngine(layers, p.activation, numFeatures, capacity, learningRate, alpha, arena);
}

/** Writes the engine's parameters into the tfjs model, layer by layer in the same order they were read. */
export function copyIntoModel(tf: Tf, engine: MlpEngine, model: tfTypes.LayersModel): void {
  const arrays = engine.snapshot();
  let next = 0;
  tf.tidy(() => {
    for (const layer of model.layers) {
      const current = layer.getWeights();
      if (current.length === 0) continue;
      layer.setWeights(current.map((w) => tf.tensor(arrays[next++], w.shape, 'float32')));
    }
  });
}
