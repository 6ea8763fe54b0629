/**
 * Tree engine of Exoplanet Playground: `xgboost`, `random_forest` and `decision_tree` trainers on a shared
 * histogram tree engine, the tree structure for explanations and exact TreeSHAP.
 */
import type { TrainedClassifier } from '../../types.js';
import { BoostedTreesModel } from './boosting.js';
import { ForestModel } from './forest.js';
import type { TreeEnsemble } from './structure.js';

export { xgboostTrainer, BoostedTreesModel } from './boosting.js';
export { randomForestTrainer, decisionTreeTrainer, ForestModel } from './forest.js';
export type { FlatTree, TreeEnsemble } from './structure.js';
export { treeShap, treeShapAll, ensembleOutput, type TreeShapResult, type TreeShapAllResult } from './treeshap.js';

const ensembles = new WeakMap<TrainedClassifier, TreeEnsemble>();

/**
 * The tree structure of a tree model (null for any other model). Forest / decision tree: output space
 * 'probability' (mean of leaf class distributions). Boosting: 'margin' (raw softmax margin per class; each tree
 * feeds one class). The same object is returned for the same model, so TreeSHAP's per-ensemble cache is reused.
 */
export function treeEnsembleOf(model: TrainedClassifier): TreeEnsemble | null {
  const cached = ensembles.get(model);
  if (cached) return cached;
  let ensemble: TreeEnsemble | null = null;
  if (model instanceof ForestModel) {
    ensemble = {
      numFeatures: model.numFeatures,
      numOutputs: model.numClasses,
      outputSpace: 'probability',
      baseScore: new Float64Array(model.numClasses),
      treeScale: 1 / model.trees.treeCount,
      trees: model.trees.flatTrees(model.numClasses),
    };
  } else if (model instanceof BoostedTreesModel) {
    ensemble = {
      numFeatures: model.numFeatures,
      numOutputs: model.numClasses,
      outputSpace: 'margin',
      baseScore: model.baseScore.slice(),
      treeScale: 1,
      trees: model.trees.flatTrees(model.numClasses),
    };
  }
  if (ensemble) ensembles.set(model, ensemble);
  return ensemble;
}
