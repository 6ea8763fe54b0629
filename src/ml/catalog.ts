/**
 * The model catalog: the one source of truth for every model type's id, aliases, description and hyperparameters
 * (names, scikit-learn aliases, defaults, bounds). specs.ts holds the data, validate.ts checks input against it,
 * params.ts turns checked input (or a saved model's parameters) into the typed parameters trainers receive.
 */
export {
  ACTIVATIONS,
  GAMMA_WORDS,
  MAX_FEATURES,
  MODEL_CATALOG,
  cloneValue,
  MAX_ENSEMBLE_MEMBERS,
  MIN_ENSEMBLE_MEMBERS,
  MODEL_TYPE_IDS,
  OOF_WEIGHTS,
  SVM_KERNELS,
  TREE_CRITERIA,
  defaultHyperparameters,
  getModelSpec,
  resolveModelType,
  type FormAlias,
  type HyperparameterSpec,
  type HyperparameterType,
  type ModelFamily,
  type ModelSpec,
} from './catalog/specs.js';
export { describeAllowed, toCatalogNames, validateHyperparameters } from './catalog/validate.js';
export {
  resolveParams,
  storedParams,
  type Activation,
  type DecisionTreeParams,
  type GammaWord,
  type LogisticRegressionParams,
  type MaxFeatures,
  type ModelParams,
  type NeuralNetworkParams,
  type ParamsOf,
  type PcaParams,
  type RandomForestParams,
  type SoftVotingParams,
  type SvmKernel,
  type SvmParams,
  type TreeCriterion,
  type XgboostParams,
} from './catalog/params.js';
