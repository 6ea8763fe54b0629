/**
 * PCA fitted on the training matrix, then multinomial logistic regression on the components
 * (scikit-learn's `make_pipeline(PCA(n_components, whiten), LogisticRegression(C, max_iter))`).
 *
 * The components are the eigenvectors of the d×d covariance matrix (ml-matrix's symmetric eigen-decomposition;
 * d is at most a few hundred, so this is cheaper than an SVD of the n×d data). Signs are fixed so that each
 * component's largest-|loading| entry is positive, which makes the model deterministic.
 */
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import type { PcaParams } from '../catalog.js';
import type { LinearScored, LinearScores } from '../explain/linear-permutation.js';
import { sharesOfMagnitude } from '../importance.js';
import type { HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../types.js';
import { throwIfAborted } from '../types.js';
import { defineTrainer } from './define.js';
import { fitLogisticWithHistory } from './linear.js';
import { StoredFields } from './stored.js';
import { softmaxRegressionProba, type SoftmaxRegressionModel } from './softmax-regression.js';

export interface PcaProjection {
  numFeatures: number;
  /** Column means of the training matrix. */
  mean: Float64Array;
  /** k × numFeatures, row-major, orthonormal rows sorted by decreasing variance. */
  components: Float64Array;
  numComponents: number;
  /** Variance along each kept component (covariance eigenvalue, n−1 denominator). */
  explainedVariance: Float64Array;
  /** Share of the total variance of each kept component. */
  explainedVarianceRatio: Float64Array;
  whiten: boolean;
}

/**
 * Fits the projection. `nComponents` in (0, 1): keep the fewest components whose cumulative variance share
 * exceeds it (scikit-learn's rule); ≥ 1: that many components (capped at min(rows, features)).
 */
export function fitPca(X: Matrix, nComponents: number, whiten: boolean): PcaProjection {
  const n = X.rows;
  const d = X.cols;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X.data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, n);

  const covariance = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = X.data[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const va = centred[a];
      if (va === 0) continue;
      for (let b = a; b < d; b++) covariance[a * d + b] += va * centred[b];
    }
  }
  const denominator = Math.max(1, n - 1);
  const rows: number[][] = [];
  for (let a = 0; a < d; a++) {
    const row = new Array<number>(d);
    for (let b = 0; b < d; b++) row[b] = (a <= b ? covariance[a * d + b] : covariance[b * d + a]) / denominator;
    rows.push(row);
  }
  const evd = new EigenvalueDecomposition(new MlMatrix(rows), { assumeSymmetric: true });
  const values = evd.realEigenvalues.map((v) => Math.max(0, v));
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((_, index) => index).sort((p, q) => values[q] - values[p] || p - q);
  const total = values.reduce((s, v) => s + v, 0);

  const maxComponents = Math.max(1, Math.min(n, d));
  let k: number;
  if (nComponents > 0 && nComponents < 1) {
    k = 0;
    let cumulative = 0;
    while (k < order.length) {
      cumulative += total > 0 ? values[order[k]] / total : 1 / d;
      k++;
      if (cumulative > nComponents) break;
    }
  } else {
    k = Math.floor(nComponents);
  }
  k = Math.max(1, Math.min(k, maxComponents));

  const components = new Float64Array(k * d);
  const explainedVariance = new Float64Array(k);
  const explainedVarianceRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const column = order[c];
    let largest = 0;
    for (let j = 0; j < d; j++)
      if (Math.abs(vectors.get(j, column)) > Math.abs(largest)) largest = vectors.get(j, column);
    const sign = largest < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) components[c * d + j] = sign * vectors.get(j, column);
    explainedVariance[c] = values[column];
    explainedVarianceRatio[c] = total > 0 ? values[column] / total : 0;
  }
  return { numFeatures: d, mean, components, numComponents: k, explainedVariance, explainedVarianceRatio, whiten };
}

/** Projects rows onto the kept components (divided by √variance when whitening). */
export function pcaTransform(projection: PcaProjection, X: Matrix): Matrix {
  const { numFeatures: d, numComponents: k, mean, components } = projection;
  if (X.cols !== d) throw new RangeError(`expected ${d} features, got ${X.cols}`);
  const scales = new Float64Array(k);
  for (let c = 0; c < k; c++)
    scales[c] = projection.whiten ? 1 / Math.sqrt(Math.max(projection.explainedVariance[c], 1e-12)) : 1;
  const out = new Float64Array(X.rows * k);
  const centred = new Float64Array(d);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < d; j++) centred[j] = X.data[i * d + j] - mean[j];
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += centred[j] * components[c * d + j];
      out[i * k + c] = s * scales[c];
    }
  }
  return { rows: X.rows, cols: k, data: out };
}

const FORMAT_VERSION = 1;

interface PcaJson extends SerializedModel {
  modelType: 'pca';
  numClasses: number;
  numFeatures: number;
  numComponents: number;
  whiten: boolean;
  mean: number[];
  components: number[];
  explainedVariance: number[];
  explainedVarianceRatio: number[];
  coef: number[];
  intercept: number[];
  history: HistoryPoint[];
}

class PcaClassifier implements TrainedClassifier, LinearScored {
  readonly modelType = 'pca' as const;
  readonly numClasses: number;
  readonly numFeatures: number;
  /**
   * The projection and the logistic regression folded into one linear model on the inputs (linearScores): a row
   * costs outputs × features instead of components × features + outputs × components, the same probabilities to
   * rounding (the evaluation's and every prediction's cost, issue 17 goal 4).
   */
  private readonly folded: SoftmaxRegressionModel;

  constructor(
    readonly params: PcaParams,
    readonly projection: PcaProjection,
    private readonly logistic: SoftmaxRegressionModel,
    private readonly steps: HistoryPoint[],
  ) {
    this.numClasses = logistic.numClasses;
    this.numFeatures = projection.numFeatures;
    const { outputs, weights, intercept } = this.linearScores();
    this.folded = { numClasses: this.numClasses, numFeatures: this.numFeatures, outputs, coef: weights, intercept };
  }

  predictProba(X: Matrix): Float64Array {
    return softmaxRegressionProba(this.folded, X);
  }

  /**
   * The logistic weights carried back to the inputs through the loadings: scores W·P·(x − mean) + b, i.e. weights
   * W·P and intercept b − W·P·mean (P scaled per component when whitened).
   */
  linearScores(): LinearScores {
    const { numComponents: k, numFeatures: d, components, explainedVariance, whiten, mean } = this.projection;
    const { outputs, coef, intercept } = this.logistic;
    const weights = new Float64Array(outputs * d);
    const shifted = Float64Array.from(intercept);
    for (let o = 0; o < outputs; o++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let c = 0; c < k; c++) {
          const weight = whiten ? coef[o * k + c] / Math.sqrt(Math.max(explainedVariance[c], 1e-12)) : coef[o * k + c];
          s += weight * components[c * d + j];
        }
        weights[o * d + j] = s;
        shifted[o] -= s * mean[j];
      }
    }
    return { outputs, weights, intercept: shifted };
  }

  /** |W·P| summed over classes (linearScores' weights). */
  featureImportance(): Float64Array {
    const { outputs, weights } = this.linearScores();
    const d = this.numFeatures;
    const importance = new Float64Array(d);
    for (let o = 0; o < outputs; o++) for (let j = 0; j < d; j++) importance[j] += Math.abs(weights[o * d + j]);
    return sharesOfMagnitude(importance);
  }

  history(): HistoryPoint[] {
    return this.steps.map((point) => ({ ...point }));
  }

  toJSON(): PcaJson {
    const p = this.projection;
    return {
      modelType: 'pca',
      formatVersion: FORMAT_VERSION,
      numClasses: this.numClasses,
      numFeatures: this.numFeatures,
      params: { ...this.params },
      numComponents: p.numComponents,
      whiten: p.whiten,
      mean: Array.from(p.mean),
      components: Array.from(p.components),
      explainedVariance: Array.from(p.explainedVariance),
      explainedVarianceRatio: Array.from(p.explainedVarianceRatio),
      coef: Array.from(this.logistic.coef),
      intercept: Array.from(this.logistic.intercept),
      history: this.history(),
    };
  }
}

export const pcaTrainer = defineTrainer('pca', {
  async fit(X, y, numClasses, params, options) {
    throwIfAborted(options.signal);
    // No whitening: scikit-learn's default, and logistic regression's penalty would weigh whitened components alike.
    const projection = fitPca(X, params.n_components, false);
    throwIfAborted(options.signal);
    const { fit, history } = await fitLogisticWithHistory(
      pcaTransform(projection, X),
      y,
      numClasses,
      params,
      options,
      (m) => pcaTransform(projection, m),
    );
    return new PcaClassifier(params, projection, fit, history);
  },

  load(json, params) {
    const stored = StoredFields.of(json, FORMAT_VERSION);
    const numClasses = stored.integer('numClasses', 1);
    const numFeatures = stored.integer('numFeatures');
    const k = stored.integer('numComponents');
    const projection: PcaProjection = {
      numFeatures,
      mean: stored.numbers('mean', numFeatures),
      components: stored.numbers('components', k * numFeatures),
      numComponents: k,
      explainedVariance: stored.numbers('explainedVariance', k),
      explainedVarianceRatio: stored.numbers('explainedVarianceRatio', k),
      whiten: stored.boolean('whiten'),
    };
    const outputs = numClasses === 2 ? 1 : numClasses;
    const logistic: SoftmaxRegressionModel = {
      numClasses,
      numFeatures: k,
      outputs,
      coef: stored.numbers('coef', outputs * k),
      intercept: stored.numbers('intercept', outputs),
    };
    return new PcaClassifier(params, projection, logistic, stored.history());
  },
});
