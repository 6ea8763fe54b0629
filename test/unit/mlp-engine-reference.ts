/**
 * The MLP training engine as it was before the WebAssembly SIMD product (src/ml/models/neural/engine.ts at commit
 * 4aa9943, float64 JavaScript loops, tfjs' copy-into-model and snapshot left out), kept as the reference that
 * test/unit/models-neural-engine-reference.test.ts trains side by side with today's engine: the same seed must give
 * the same weights to ~1e-12 per step.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Activation, NeuralNetworkParams } from '../../src/ml/catalog.js';
import type { Random } from '../../src/ml/random.js';
import type { Matrix } from '../../src/ml/types.js';

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
  /** units × inputs: rows are the kernel's columns, so every product below runs along contiguous memory. */
  kernelT: Float64Array;
  /** inputs × units (tfjs' layout), refreshed from kernelT before it is needed for the input gradient. */
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
  /** grad transposed (units × rows), for the kernel gradient. */
  gradT: Float64Array;
}

interface AdamSlot {
  value: Float64Array;
  grad: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/**
 * C (aRows × bRows) = A · Bᵀ for row-major A (aRows × len) and B (bRows × len). Blocks of 4 × 2 outputs share
 * their loads: ~1.9 GMAC/s here against ~0.5 for the plain triple loop.
 */
function multiplyABt(
  A: Float64Array,
  aRows: number,
  B: Float64Array,
  bRows: number,
  len: number,
  C: Float64Array,
): void {
  let a = 0;
  for (; a + 3 < aRows; a += 4) {
    const a0 = a * len;
    const a1 = a0 + len;
    const a2 = a1 + len;
    const a3 = a2 + len;
    let b = 0;
    for (; b + 1 < bRows; b += 2) {
      const b0 = b * len;
      const b1 = b0 + len;
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let t = 0; t < len; t++) {
        const y0 = B[b0 + t];
        const y1 = B[b1 + t];
        let x = A[a0 + t];
        s00 += x * y0;
        s01 += x * y1;
        x = A[a1 + t];
        s10 += x * y0;
        s11 += x * y1;
        x = A[a2 + t];
        s20 += x * y0;
        s21 += x * y1;
        x = A[a3 + t];
        s30 += x * y0;
        s31 += x * y1;
      }
      const c = a * bRows + b;
      C[c] = s00;
      C[c + 1] = s01;
      C[c + bRows] = s10;
      C[c + bRows + 1] = s11;
      C[c + 2 * bRows] = s20;
      C[c + 2 * bRows + 1] = s21;
      C[c + 3 * bRows] = s30;
      C[c + 3 * bRows + 1] = s31;
    }
    for (; b < bRows; b++) {
      const b0 = b * len;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let t = 0; t < len; t++) {
        const y = B[b0 + t];
        s0 += A[a0 + t] * y;
        s1 += A[a1 + t] * y;
        s2 += A[a2 + t] * y;
        s3 += A[a3 + t] * y;
      }
      C[a * bRows + b] = s0;
      C[(a + 1) * bRows + b] = s1;
      C[(a + 2) * bRows + b] = s2;
      C[(a + 3) * bRows + b] = s3;
    }
  }
  for (; a < aRows; a++) {
    const a0 = a * len;
    for (let b = 0; b < bRows; b++) {
      const b0 = b * len;
      let s = 0;
      for (let t = 0; t < len; t++) s += A[a0 + t] * B[b0 + t];
      C[a * bRows + b] = s;
    }
  }
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

export class ReferenceMlpEngine {
  private readonly adam: AdamSlot[] = [];
  private adamStep = 0;
  /** The batch's rows, gathered here (the table itself is only read): allocated once, for `capacity` rows. */
  readonly input: Float64Array;
  /** The batch's input transposed (features × rows), for the first kernel's gradient. */
  private readonly inputT: Float64Array;
  /** Each hidden layer's output transposed, for the next kernel's gradient. */
  private readonly actT: Float64Array[];
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
    private readonly alpha = 0,
  ) {
    this.input = new Float64Array(capacity * numFeatures);
    this.inputT = new Float64Array(capacity * numFeatures);
    this.actT = layers.map((layer) => new Float64Array(capacity * layer.units));
    this.binary = layers[layers.length - 1].units === 1;
    const slot = (value: Float64Array, grad: Float64Array): AdamSlot => ({
      value,
      grad,
      m: new Float64Array(value.length),
      v: new Float64Array(value.length),
    });
    for (const layer of layers) {
      this.adam.push(slot(layer.kernelT, layer.dKernelT));
      if (layer.bias && layer.dBias) this.adam.push(slot(layer.bias, layer.dBias));
      if (layer.batchNorm)
        this.adam.push(
          slot(layer.batchNorm.gamma, layer.batchNorm.dGamma),
          slot(layer.batchNorm.beta, layer.batchNorm.dBeta),
        );
    }
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
      multiplyABt(x, rows, layer.kernelT, units, layer.inputs, z);
      if (layer.bias) {
        const bias = layer.bias;
        for (let i = 0; i < rows; i++) for (let j = 0; j < units; j++) z[i * units + j] += bias[j];
      }
      if (layer.batchNorm) this.batchNormForward(layer.batchNorm, z, rows, units, training);
      if (training && this.onLayer) this.onLayer(this.layerShare(this.layers.indexOf(layer), false));
      if (layer === this.layers[this.layers.length - 1]) {
        if (this.binary) applyActivation('sigmoid', z, z, rows);
        else softmaxRows(z, rows, units);
        return z;
      }
      applyActivation(this.activation, z, layer.act, length);
      if (training && layer.keep && dropoutRng) {
        const scale = 1 / (1 - layer.dropoutRate);
        for (let i = 0; i < length; i++) {
          const keep = dropoutRng.next() >= layer.dropoutRate ? scale : 0;
          layer.keep[i] = keep;
          layer.act[i] *= keep;
        }
      }
      x = layer.act;
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
      const loss = this.gradients(X, y, order, from, rows, dropoutRng);
      this.step();
      return loss;
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
    this.gather(X, order, from, rows);
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
    for (let l = this.layers.length - 1; l >= 0; l--) {
      this.backward(l, rows);
      this.onLayer?.(this.layerShare(l, true));
    }
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

  /** Turns layer l's output gradient into parameter gradients and the previous layer's output gradient. */
  private backward(l: number, rows: number): void {
    const layer = this.layers[l];
    const { units, inputs } = layer;
    const length = rows * units;
    const g = layer.grad;
    if (l < this.layers.length - 1) {
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
    if (layer.batchNorm) {
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
    // dKernelT (units × inputs) = gᵀ · x
    const x = l === 0 ? this.input : this.layers[l - 1].act;
    const xT = l === 0 ? this.inputT : this.actT[l - 1];
    transpose(x, rows, inputs, xT);
    transpose(g, rows, units, layer.gradT);
    multiplyABt(layer.gradT, units, xT, inputs, rows, layer.dKernelT);
    if (l === 0) return;
    // previous layer's output gradient (rows × inputs) = g · kernelᵀ
    transpose(layer.kernelT, units, inputs, layer.kernel);
    multiplyABt(g, rows, layer.kernel, inputs, units, this.layers[l - 1].grad);
  }

  /** scikit-learn's Adam: lr · √(1 − β2ᵗ) / (1 − β1ᵗ) · m / (√v + ε). */
  private step(): void {
    this.adamStep++;
    const t = this.adamStep;
    const lr = (this.learningRate * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
    for (const { value, grad, m, v } of this.adam) {
      for (let i = 0; i < value.length; i++) {
        const gi = grad[i];
        const mi = (m[i] = ADAM_BETA1 * m[i] + (1 - ADAM_BETA1) * gi);
        const vi = (v[i] = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * gi * gi);
        value[i] -= (lr * mi) / (Math.sqrt(vi) + ADAM_EPSILON);
      }
    }
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
 * (As the engine's own engineFromModel was at that commit.)
 */
export function referenceEngineFromModel(
  model: tfTypes.LayersModel,
  p: NeuralNetworkParams,
  numFeatures: number,
  capacity: number,
  learningRate: number,
  alpha = p.alpha,
): ReferenceMlpEngine {
  const layers: DenseState[] = [];
  let inputs = numFeatures;
  for (const layer of model.layers) {
    const className = layer.getClassName();
    const weights = layer.getWeights().map((w) => Float64Array.from(w.dataSync()));
    if (className === 'Dense') {
      const kernel = weights[0];
      const units = kernel.length / inputs;
      const kernelT = new Float64Array(kernel.length);
      transpose(kernel, inputs, units, kernelT);
      layers.push({
        inputs,
        units,
        kernelT,
        kernel,
        bias: weights[1] ?? null,
        dKernelT: new Float64Array(kernel.length),
        dBias: weights[1] ? new Float64Array(units) : null,
        batchNorm: null,
        dropoutRate: 0,
        pre: new Float64Array(capacity * units),
        act: new Float64Array(capacity * units),
        keep: null,
        grad: new Float64Array(capacity * units),
        gradT: new Float64Array(capacity * units),
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
  return new ReferenceMlpEngine(layers, p.activation, numFeatures, capacity, learningRate, alpha);
}
