/**
 * Model type id → trainer. The catalog (src/ml/catalog.ts) describes the models; this maps them to code.
 */
import type { FittedModelTypeId, ModelTrainer, ModelTypeId, SerializedModel, TrainedClassifier } from '../types.js';
import { decisionTreeTrainer, randomForestTrainer, xgboostTrainer } from './trees/index.js';
import { neuralNetworkTrainer } from './neural/index.js';
import { logisticRegressionTrainer } from './linear.js';
import { svmTrainer } from './svm/index.js';
import { pcaTrainer } from './pca.js';
import { loadSoftVoting } from './soft-voting.js';

const TRAINERS: Record<FittedModelTypeId, ModelTrainer> = {
  random_forest: randomForestTrainer,
  xgboost: xgboostTrainer,
  decision_tree: decisionTreeTrainer,
  neural_network: neuralNetworkTrainer,
  logistic_regression: logisticRegressionTrainer,
  svm: svmTrainer,
  pca: pcaTrainer,
};

export function trainerFor(modelType: ModelTypeId): ModelTrainer {
  // A model type read from stored JSON may be anything; soft_voting is built from stored runs (ensemble-run.ts).
  if (modelType === 'soft_voting' || !Object.hasOwn(TRAINERS, modelType))
    throw new RangeError(`no trainer for model type '${modelType}'`);
  return TRAINERS[modelType];
}

export function loadModel(json: SerializedModel): Promise<TrainedClassifier> {
  return json.modelType === 'soft_voting' ? loadSoftVoting(json) : trainerFor(json.modelType).load(json);
}
