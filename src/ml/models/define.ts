/**
 * One adapter between the catalog and every model: `fit` resolves its raw parameters through the catalog (the only
 * place that validates, coerces and fills defaults) and hands the model its typed parameters; `load` reads back the
 * parameters a saved model stored (or, for models saved before they stored them, the catalog's defaults).
 */
import { resolveParams, storedParams, type ModelParams } from '../catalog.js';
import type {
  FitOptions,
  Hyperparameters,
  Matrix,
  ModelTrainer,
  ModelTypeId,
  SerializedModel,
  TrainedClassifier,
} from '../types.js';

export interface ModelImplementation<M extends ModelTypeId> {
  fit(
    X: Matrix,
    y: Int32Array,
    numClasses: number,
    params: ModelParams[M],
    options: FitOptions,
  ): Promise<TrainedClassifier>;
  /** `params`: what the model was trained with (its saved `params`, completed once by the catalog). */
  load(json: SerializedModel, params: ModelParams[M]): TrainedClassifier | Promise<TrainedClassifier>;
}

export function defineTrainer<M extends ModelTypeId>(modelType: M, model: ModelImplementation<M>): ModelTrainer {
  return {
    modelType,
    fit: async (X: Matrix, y: Int32Array, numClasses: number, params: Hyperparameters, options: FitOptions) =>
      model.fit(X, y, numClasses, resolveParams(modelType, params), options),
    load: async (json: SerializedModel) => {
      if (json.modelType !== modelType) throw new TypeError(`not a ${modelType} model: ${json.modelType}`);
      return model.load(json, storedParams(modelType, json.params));
    },
  };
}
