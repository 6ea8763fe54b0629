/**
 * `logistic_regression`: multinomial logistic regression with an L2 penalty (scikit-learn's
 * `LogisticRegression(penalty='l2', C, solver='lbfgs')`), fitted by softmax-regression.ts, with the loss curve and
 * validation figures per L-BFGS iteration. Deterministic: no randomness, a fixed order of floating-point operations.
 */
import type { LogisticRegressionParams } from '../catalog.js';
import type { FitOptions, HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../types.js';
import { throwIfAborted } from '../types.js';
import { defineTrainer } from './define.js';
import { historyOf, lossAndAccuracy } from './step-metrics.js';
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

class LogisticRegressionClassifier implements TrainedClassifier {
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
    const data = json as LogisticJson;
    if (data.formatVersion !== FORMAT_VERSION) {
      throw new Error(`not a logistic_regression model (format ${String(data.formatVersion)})`);
    }
    const outputs = data.numClasses === 2 ? 1 : Math.max(1, data.numClasses);
    const model: SoftmaxRegressionModel = {
      numClasses: data.numClasses,
      numFeatures: data.numFeatures,
      outputs,
      coef: Float64Array.from(data.coef),
      intercept: Float64Array.from(data.intercept),
    };
    if (model.coef.length !== outputs * data.numFeatures || model.intercept.length !== outputs)
      throw new Error('corrupt logistic_regression model');
    return new LogisticRegressionClassifier(
      params,
      model,
      historyOf(data.history),
      data.iterations ?? 0,
      data.converged ?? true,
    );
  },
});
