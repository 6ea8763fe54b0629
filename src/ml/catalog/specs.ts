/**
 * The model catalog's data: every model type's id, aliases, description and hyperparameter specs (names, defaults,
 * bounds, scikit-learn aliases). The same specs drive validation (validate.ts), the typed parameters trainers
 * receive (params.ts), the GraphQL `models` query and REST `/api/models`.
 */
import type { HyperparameterValue, Hyperparameters, ModelTypeId } from '../types.js';

export type HyperparameterType = 'int' | 'float' | 'enum' | 'bool' | 'int_list' | 'float_list' | 'run_id_list';
export type ModelFamily = 'tree' | 'neural' | 'linear' | 'kernel' | 'ensemble';

export interface HyperparameterSpec {
  name: string;
  type: HyperparameterType;
  default: HyperparameterValue;
  /** Numeric lower bound (for `int_list` and `float_list`: of each element). Exclusive when `minExclusive`. */
  min?: number;
  minExclusive?: boolean;
  /** Numeric upper bound, inclusive (for `int_list`: of each element). */
  max?: number;
  /** Lists (`int_list`, `float_list`, `run_id_list`): allowed list length. */
  minItems?: number;
  maxItems?: number;
  choices?: string[];
  /** `null` is accepted (and means "no limit" / "off"). */
  nullable?: boolean;
  /** Strings allowed for a numeric param, e.g. svm gamma 'scale' | 'auto'. */
  specialValues?: string[];
  /** `enum` only: other words for a choice (scikit-learn's), e.g. activation 'logistic' → 'sigmoid'. */
  valueAliases?: Record<string, string>;
  description: string;
}

/**
 * A name the original web client's forms send (scikit-learn's) that is not the catalog's: either another name of a
 * catalog hyperparameter, or a setting this implementation has fixed, accepted only with the values that match it.
 */
export type FormAlias = { name: string; target: string } | { name: string; fixed: { accepts: string[]; why: string } };

export interface ModelSpec {
  id: ModelTypeId;
  aliases: string[];
  name: string;
  description: string;
  family: ModelFamily;
  /** What the pipeline must do before this model: tree models split on raw values and route NaN themselves. */
  preprocessing: { impute: boolean; scale: boolean };
  /** Exposes its trees, so exact TreeSHAP applies; the others use a model-agnostic Shapley estimate. */
  hasTreeStructure: boolean;
  hyperparameters: HyperparameterSpec[];
  /** scikit-learn names the original web client sends, each declared here once. */
  formAliases?: FormAlias[];
}

// The words of the enum hyperparameters, declared once: the specs list them and params.ts types them.
export const TREE_CRITERIA = ['gini', 'entropy'] as const;
export const MAX_FEATURES = ['sqrt', 'log2', 'all'] as const;
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
export const SVM_KERNELS = ['rbf', 'linear', 'poly', 'sigmoid'] as const;
export const GAMMA_WORDS = ['scale', 'auto'] as const;
/** soft_voting `weights`: fitted on the members' out-of-fold predictions (src/ml/selection/ensemble.ts). */
export const OOF_WEIGHTS = 'oof';
/** How many member runs a soft_voting run averages. */
export const MIN_ENSEMBLE_MEMBERS = 2;
export const MAX_ENSEMBLE_MEMBERS = 10;

const treeCriterion: HyperparameterSpec = {
  name: 'criterion',
  type: 'enum',
  default: 'gini',
  choices: [...TREE_CRITERIA],
  // scikit-learn ≥ 1.1 names the entropy criterion log_loss too (the same splits).
  valueAliases: { log_loss: 'entropy' },
  description: 'Impurity measure used to choose splits.',
};

function treeShapeParams(): HyperparameterSpec[] {
  return [
    {
      name: 'max_depth',
      type: 'int',
      default: null,
      nullable: true,
      min: 1,
      max: 100,
      description: 'Maximum depth of a tree; null grows until leaves are pure or too small.',
    },
    {
      name: 'min_samples_split',
      type: 'int',
      default: 2,
      min: 2,
      max: 1000,
      description: 'Minimum number of samples a node needs to be split.',
    },
    {
      name: 'min_samples_leaf',
      type: 'int',
      default: 1,
      min: 1,
      max: 1000,
      description: 'Minimum number of samples in each leaf.',
    },
    { ...treeCriterion },
  ];
}

const inverseRegularisation: HyperparameterSpec = {
  name: 'C',
  type: 'float',
  default: 1.0,
  min: 0,
  minExclusive: true,
  max: 1e6,
  description: 'Inverse regularisation strength: smaller values regularise more.',
};

const logisticMaxIter: HyperparameterSpec = {
  name: 'max_iter',
  type: 'int',
  default: 1000,
  min: 10,
  max: 100000,
  description: 'Maximum number of optimiser iterations.',
};

export const MODEL_CATALOG: readonly ModelSpec[] = Object.freeze([
  {
    id: 'random_forest',
    aliases: ['rf', 'random_forests'],
    name: 'Random forest',
    description:
      'Bagged decision trees: each tree sees a bootstrap sample and a random subset of features at every split; ' +
      'the forest averages their class probabilities. Robust, little tuning, handles missing values natively.',
    family: 'tree',
    preprocessing: { impute: false, scale: false },
    hasTreeStructure: true,
    hyperparameters: [
      {
        name: 'n_estimators',
        type: 'int',
        default: 100,
        min: 1,
        max: 1000,
        description: 'Number of trees.',
      },
      ...treeShapeParams(),
      {
        name: 'max_features',
        type: 'enum',
        default: 'sqrt',
        choices: [...MAX_FEATURES],
        description: 'Features considered at each split: √d, log₂d or all of them.',
      },
      {
        name: 'bootstrap',
        type: 'bool',
        default: true,
        description: 'Train each tree on a bootstrap sample (with replacement) instead of all rows.',
      },
    ],
  },
  {
    id: 'xgboost',
    aliases: ['xgb', 'gradient_boosting'],
    name: 'Gradient-boosted trees (XGBoost-style)',
    description:
      "Second-order gradient boosting with XGBoost's objective and hyperparameters (softmax for several classes), " +
      'on a histogram tree engine. Usually the most accurate model on tabular data; handles missing values natively.',
    family: 'tree',
    preprocessing: { impute: false, scale: false },
    hasTreeStructure: true,
    hyperparameters: [
      { name: 'n_estimators', type: 'int', default: 100, min: 1, max: 2000, description: 'Number of boosting rounds.' },
      { name: 'max_depth', type: 'int', default: 6, min: 1, max: 16, description: 'Maximum depth of each tree.' },
      {
        name: 'learning_rate',
        type: 'float',
        default: 0.1,
        min: 0,
        minExclusive: true,
        max: 1,
        description: 'Shrinkage (eta) applied to each new tree.',
      },
      {
        name: 'reg_lambda',
        type: 'float',
        default: 1,
        min: 0,
        max: 1000,
        description: 'L2 regularisation on leaf weights.',
      },
      {
        name: 'reg_alpha',
        type: 'float',
        default: 0,
        min: 0,
        max: 1000,
        description: 'L1 regularisation on leaf weights.',
      },
      {
        name: 'gamma',
        type: 'float',
        default: 0,
        min: 0,
        max: 1000,
        description: 'Minimum loss reduction required to make a split.',
      },
      {
        name: 'min_child_weight',
        type: 'float',
        default: 1,
        min: 0,
        max: 1000,
        description: 'Minimum sum of hessians (instance weight) in a child.',
      },
      {
        name: 'subsample',
        type: 'float',
        default: 1,
        min: 0,
        minExclusive: true,
        max: 1,
        description: 'Share of rows sampled for each tree.',
      },
      {
        name: 'colsample_bytree',
        type: 'float',
        default: 1,
        min: 0,
        minExclusive: true,
        max: 1,
        description: 'Share of features sampled for each tree.',
      },
      {
        name: 'early_stopping_rounds',
        type: 'int',
        default: null,
        nullable: true,
        min: 1,
        max: 1000,
        description: 'Stop when the validation loss has not improved for this many rounds; null trains every round.',
      },
      {
        name: 'max_bin',
        type: 'int',
        default: 255,
        min: 8,
        max: 255,
        description: 'Maximum number of histogram bins per feature.',
      },
    ],
  },
  {
    id: 'neural_network',
    aliases: ['deep_learning', 'nn', 'mlp'],
    name: 'Neural network (MLP)',
    description:
      'A multi-layer perceptron on TensorFlow.js, trained with Adam on log-loss with an L2 penalty (alpha); early ' +
      'stopping on the validation loss restores the best weights. Initialisation, Adam, the L2 term and the output ' +
      "(one logistic unit for two classes) are scikit-learn MLPClassifier's, so its settings give the same results " +
      '(without dropout and batch norm, which it lacks; its n_iter_no_change is our patience − 1). Needs imputed, ' +
      'scaled inputs (done by the pipeline).',
    family: 'neural',
    preprocessing: { impute: true, scale: true },
    hasTreeStructure: false,
    hyperparameters: [
      {
        name: 'hidden_layers',
        type: 'int_list',
        default: [128, 64, 32],
        min: 1,
        max: 1024,
        minItems: 1,
        maxItems: 6,
        description: 'Units in each hidden layer, e.g. [128, 64, 32] (1 to 6 layers of 1 to 1024 units).',
      },
      {
        name: 'activation',
        type: 'enum',
        default: 'relu',
        choices: [...ACTIVATIONS],
        valueAliases: { logistic: 'sigmoid' },
        description: 'Activation function of the hidden layers.',
      },
      {
        name: 'dropout_rate',
        type: 'float',
        default: 0.2,
        min: 0,
        max: 0.9,
        description: 'Share of units dropped after each hidden layer during training.',
      },
      { name: 'batch_norm', type: 'bool', default: false, description: 'Batch normalisation after each hidden layer.' },
      {
        name: 'learning_rate',
        type: 'float',
        default: 0.001,
        min: 0,
        minExclusive: true,
        max: 1,
        description: 'Adam learning rate.',
      },
      {
        name: 'epochs',
        type: 'int',
        default: 100,
        min: 1,
        max: 1000,
        description: 'Maximum number of passes over the data.',
      },
      { name: 'batch_size', type: 'int', default: 32, min: 1, max: 4096, description: 'Rows per gradient step.' },
      {
        name: 'alpha',
        type: 'float',
        default: 0.0001,
        min: 0,
        max: 10,
        description:
          "L2 penalty on the weights, scikit-learn's alpha: alpha/2 · ‖W‖² / batch rows added to each batch's loss.",
      },
      {
        name: 'early_stopping_patience',
        type: 'int',
        default: 10,
        min: 0,
        max: 1000,
        description:
          'Epochs without an improvement of at least `tol` before stopping (validation loss, best weights restored; ' +
          'training loss when there is no validation split); 0 turns early stopping off.',
      },
      {
        name: 'tol',
        type: 'float',
        default: 0.0001,
        min: 0,
        max: 1,
        description: "Smallest loss decrease that counts as an improvement for early stopping (scikit-learn's tol).",
      },
    ],
    formAliases: [
      { name: 'hidden_layer_sizes', target: 'hidden_layers' },
      { name: 'max_iter', target: 'epochs' },
      { name: 'learning_rate_init', target: 'learning_rate' },
    ],
  },
  {
    id: 'logistic_regression',
    aliases: ['linear_regression', 'logistic', 'lr'],
    name: 'Logistic regression',
    description:
      'Multinomial logistic regression with L2 regularisation: a linear, well-calibrated baseline whose weights ' +
      'are easy to read. (`linear_regression`, the original API id, is an alias.)',
    family: 'linear',
    preprocessing: { impute: true, scale: true },
    hasTreeStructure: false,
    hyperparameters: [{ ...inverseRegularisation }, { ...logisticMaxIter }],
    formAliases: [
      {
        name: 'fit_intercept',
        fixed: { accepts: ['true'], why: 'the model always fits an (unpenalised) intercept per class' },
      },
      // scikit-learn's `normalize` (removed in 1.2); here the pipeline always standardises a linear model's inputs.
      {
        name: 'normalize',
        fixed: {
          accepts: ['true', 'false'],
          why: 'inputs are always standardised by the pipeline, whatever this says',
        },
      },
    ],
  },
  {
    id: 'decision_tree',
    aliases: ['tree', 'dt', 'cart'],
    name: 'Decision tree',
    description: 'A single CART tree: readable rules, fast, but prone to overfitting without a depth limit.',
    family: 'tree',
    preprocessing: { impute: false, scale: false },
    hasTreeStructure: true,
    hyperparameters: treeShapeParams(),
  },
  {
    id: 'svm',
    aliases: ['support_vector_machine', 'svc'],
    name: 'Support vector machine',
    description:
      'A kernel SVM (one-vs-rest) with probability outputs by Platt scaling. Kernel SVM training cost grows ' +
      'about with the square of the rows, so it trains on a stratified sample of at most `max_train_rows` rows.',
    family: 'kernel',
    preprocessing: { impute: true, scale: true },
    hasTreeStructure: false,
    hyperparameters: [
      { ...inverseRegularisation },
      {
        name: 'kernel',
        type: 'enum',
        default: 'rbf',
        choices: [...SVM_KERNELS],
        description: 'Kernel function.',
      },
      {
        name: 'gamma',
        type: 'float',
        default: 'scale',
        min: 0,
        minExclusive: true,
        // On standardised features a gamma far above 1 makes every kernel value 0 but the diagonal: the bound
        // refuses values that can only memorise (and overflow exp() into NaN) with a clear message.
        max: 1000,
        specialValues: [...GAMMA_WORDS],
        description:
          "Kernel coefficient for rbf, poly and sigmoid: a positive number, 'scale' (1 / (features × variance)) " +
          "or 'auto' (1 / features).",
      },
      { name: 'degree', type: 'int', default: 3, min: 1, max: 10, description: 'Degree of the poly kernel.' },
      {
        name: 'coef0',
        type: 'float',
        default: 0,
        min: -1e3,
        max: 1e3,
        description: 'Independent term of the poly and sigmoid kernels.',
      },
      {
        name: 'max_train_rows',
        type: 'int',
        // 10,000 keeps the Kepler, TESS and K2 training splits whole (Kepler: ~10 s with probability calibration).
        default: 10000,
        min: 100,
        max: 100000,
        description: 'Rows the SVM trains on at most (stratified sample); cost grows about with its square.',
      },
    ],
  },
  {
    id: 'pca',
    aliases: ['principal_component_analysis'],
    name: 'PCA + logistic regression',
    description:
      'Principal component analysis on the scaled features, then multinomial logistic regression on the ' +
      'components: fewer, decorrelated inputs.',
    family: 'linear',
    preprocessing: { impute: true, scale: true },
    hasTreeStructure: false,
    hyperparameters: [
      {
        name: 'n_components',
        type: 'float',
        default: 0.95,
        min: 0,
        minExclusive: true,
        max: 500,
        description:
          'Components to keep: a share of variance to explain when between 0 and 1 (exclusive), or a whole ' +
          'number of components when 1 or more (at most 500).',
      },
      { ...inverseRegularisation },
      { ...logisticMaxIter },
    ],
    formAliases: [
      {
        name: 'svd_solver',
        fixed: {
          accepts: ['auto', 'full', 'arpack', 'randomized'],
          why: 'the components are always exact (eigen-decomposition of the covariance matrix)',
        },
      },
    ],
  },
  {
    id: 'soft_voting',
    aliases: ['voting', 'soft_vote', 'ensemble', 'voting_classifier'],
    name: 'Soft-voting ensemble',
    description:
      'A weighted average of the class probabilities of 2 to 10 succeeded runs on the same dataset and test rows ' +
      "(scikit-learn's VotingClassifier(voting='soft') over fitted models): nothing is refitted, each member applies " +
      'its own preprocessing and calibration, and the members are copied into this run so it outlives them. ' +
      'Weights are equal, given, or fitted for macro-F1 on the members\' out-of-fold predictions (weights "oof", ' +
      'when every member was cross-validated).',
    family: 'ensemble',
    preprocessing: { impute: false, scale: false },
    hasTreeStructure: false,
    hyperparameters: [
      {
        name: 'members',
        type: 'run_id_list',
        // Empty until chosen: a soft_voting run refuses to start without 2 to 10 members.
        default: [],
        minItems: MIN_ENSEMBLE_MEMBERS,
        maxItems: MAX_ENSEMBLE_MEMBERS,
        description:
          'Ids of the SUCCEEDED runs to average, e.g. ["run_…", "run_…"]: trained on this session\'s dataset with the ' +
          'same task, split and seed (the same test rows), and visible to you.',
      },
      {
        name: 'weights',
        type: 'float_list',
        default: null,
        nullable: true,
        min: 0,
        max: 1000,
        specialValues: [OOF_WEIGHTS],
        description:
          'One non-negative weight per member, in the order of members (normalised to sum 1); null: equal ' +
          'weights; "oof": fitted for macro-F1 on the members\' out-of-fold predictions (every member trained with ' +
          'cvFolds).',
      },
    ],
  },
] satisfies ModelSpec[]);

export const MODEL_TYPE_IDS: readonly ModelTypeId[] = MODEL_CATALOG.map((spec) => spec.id);

const lookup = new Map<string, ModelTypeId>();
for (const spec of MODEL_CATALOG) {
  lookup.set(spec.id, spec.id);
  for (const alias of spec.aliases) lookup.set(alias, spec.id);
}

/** Case-insensitive, trims; spaces and hyphens count as underscores ("Random Forest" → random_forest). */
export function resolveModelType(idOrAlias: string): ModelTypeId | null {
  if (typeof idOrAlias !== 'string') return null;
  const key = idOrAlias
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return lookup.get(key) ?? null;
}

export function getModelSpec(id: ModelTypeId): ModelSpec {
  const spec = MODEL_CATALOG.find((s) => s.id === id);
  if (!spec) throw new RangeError(`unknown model type '${id}'`);
  return spec;
}

export function defaultHyperparameters(id: ModelTypeId): Hyperparameters {
  const out: Hyperparameters = {};
  for (const spec of getModelSpec(id).hyperparameters) out[spec.name] = cloneValue(spec.default);
  return out;
}

export function cloneValue(value: HyperparameterValue): HyperparameterValue {
  return Array.isArray(value) ? structuredClone(value) : value;
}
