/**
 * `logistic_regression`: multinomial logistic regression with an L2 penalty (scikit-learn's
 * `LogisticRegression(penalty='l2', C, solver='lbfgs')`), fitted by softmax-regression.ts, with the loss curve and
 * validation figures per L-BFGS iteration. Deterministic: no randomness, a fixed order of floating-point operations.
 */
import type { LogisticRegressionParams } from '../catalog.js';
import type { LinearScored, LinearScores } from '../explain/linear-permutation.js';
import type { FitOptions, HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../types.js';
import { throwIfAborted } from '../types.js';
import { defineTrainer } from './define.js';
import { lossAndAccuracy } from './step-metrics.js';
import { StoredFields } from './stored.js';
import {
  absoluteWeightImportance,
  fitSoftmaxRegression,
  softmaxRegressionProba,
  type SoftmaxRegressionFit,
  type SoftmaxRegressionModel,
} from './softmax-regression.js';

const FORMAT_VERSION = 1;

interface LogisticJson extends SerializedModel {
  modelType: 'logistic_regression';
  numClasses: number;
  numFeatures: number;
  coef: number[];
  intercept: number[];
  /** Absent in models saved by early versions. */
  iterations?: number;
  converged?: boolean;
  history: HistoryPoint[];
}

class LogisticRegressionClassifier implements TrainedClassifier, LinearScored {
  readonly modelType = 'logistic_regression' as const;
  readonly numClasses: number;
  readonly numFeatures: number;

  constructor(
    readonly params: LogisticRegressionParams,
    private readonly model: SoftmaxRegressionModel,
    private readonly steps: HistoryPoint[],
    readonly iterations: number,
    readonly converged: boolean,
  ) {
    this.numClasses = model.numClasses;
    this.numFeatures = model.numFeatures;
  }

  predictProba(X: Matrix): Float64Array {
    return softmaxRegressionProba(this.model, X);
  }

  /** Its class scores, W·x + b: permutation importance moves them instead of predicting shuffled copies. */
  linearScores(): LinearScores {
    return { outputs: this.model.outputs, weights: this.model.coef, intercept: this.model.intercept };
  }

  featureImportance(): Float64Array {
    return absoluteWeightImportance(this.model.coef, this.model.outputs, this.numFeatures);
  }

  history(): HistoryPoint[] {
    return this.steps.map((point) => ({ ...point }));
  }

  toJSON(): LogisticJson {
    return {
      modelType: 'logistic_regression',
      formatVersion: FORMAT_VERSION,
      numClasses: this.numClasses,
      numFeatures: this.numFeatures,
      params: { ...this.params },
      coef: Array.from(this.model.coef),
      intercept: Array.from(this.model.intercept),
      iterations: this.iterations,
      converged: this.converged,
      history: this.history(),
    };
  }
}

/** Fits the core with history/progress/validation wiring shared by logistic regression and PCA. */
export async function fitLogisticWithHistory(
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  params: LogisticRegressionParams,
  options: FitOptions,
  transformValidation: (X: Matrix) => Matrix = (m) => m,
): Promise<{ fit: SoftmaxRegressionFit; history: HistoryPoint[] }> {
  const { C, max_iter: maxIter } = params;
  const validation = options.validation
    ? { X: transformValidation(options.validation.X), y: options.validation.y }
    : undefined;
  const history: HistoryPoint[] = [];
  const fit = await fitSoftmaxRegression(X, y, numClasses, {
    C,
    maxIter,
    signal: options.signal,
    onIteration(iteration, meanLogLoss, _gradientNorm, model) {
      const point: HistoryPoint = { step: iteration, loss: meanLogLoss };
      if (validation) {
        const metrics = lossAndAccuracy(softmaxRegressionProba(model, validation.X), validation.y, numClasses);
        point.valLoss = metrics.loss;
        point.valAccuracy = metrics.accuracy;
      }
      history.push(point);
      options.onStep?.({ totalSteps: maxIter, ...point });
    },
  });
  if (history.length === 0) history.push({ step: 0, loss: fit.meanLogLoss }); // converged at the start (e.g. one class)
  return { fit, history };
}

export const logisticRegressionTrainer = defineTrainer('logistic_regression', {
  async fit(X, y, numClasses, params, options) {
    throwIfAborted(options.signal);
    const { fit, history } = await fitLogisticWithHistory(X, y, numClasses, params, options);
    return new LogisticRegressionClassifier(params, fit, history, fit.iterations, fit.converged);
  },

  load(json, params) {
    const stored = StoredFields.of(json, FORMAT_VERSION);
    const numClasses = stored.integer('numClasses', 1);
    const numFeatures = stored.integer('numFeatures');
    const outputs = numClasses === 2 ? 1 : numClasses;
    const model: SoftmaxRegressionModel = {
      numClasses,
      numFeatures,
      outputs,
      coef: stored.numbers('coef', outputs * numFeatures),
      intercept: stored.numbers('intercept', outputs),
    };
    // Models saved by early versions have no iterations/converged.
    const iterations = stored.has('iterations') ? stored.integer('iterations') : 0;
    const converged = stored.has('converged') ? stored.boolean('converged') : true;
    return new LogisticRegressionClassifier(params, model, stored.history(), iterations, converged);
  },
});
