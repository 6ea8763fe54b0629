/**
 * The original Flask API's words: the names, labels and texts its web client shows. Presentation only; every
 * value that means something (datasets, models, hyperparameters) comes from the GraphQL operations.
 */

/** The original model list, in its order, with the catalog id each value resolves to (aliases in the catalog). */
export const ORIGINAL_MODELS = [
  { value: 'linear_regression', label: 'Linear Regression', full: 'Linear Regression', id: 'logistic_regression' },
  { value: 'svm', label: 'Support Vector Machine (SVM)', full: 'SVM', id: 'svm' },
  { value: 'decision_tree', label: 'Decision Tree', full: 'Decision Tree', id: 'decision_tree' },
  { value: 'random_forest', label: 'Random Forest', full: 'Random Forest', id: 'random_forest' },
  { value: 'xgboost', label: 'XGBoost', full: 'XGBoost', id: 'xgboost' },
  { value: 'pca', label: 'Principal Component Analysis (PCA)', full: 'PCA', id: 'pca' },
  { value: 'neural_network', label: 'Neural Network', full: 'Neural Network', id: 'neural_network' },
] as const;

/** The original's value for a catalog model id (linear_regression for logistic_regression), else the id. */
export function originalModelValue(catalogId: string | null): string {
  if (!catalogId) return '';
  return ORIGINAL_MODELS.find((m) => m.id === catalogId)?.value ?? catalogId;
}

/** The NASA dataset cards of the select page. */
export const DATASET_CARDS: Partial<Record<string, { name: string; description: string; img: string; color: string }>> =
  {
    kepler: {
      name: 'Kepler Dataset',
      description:
        'Kepler Objects of Interest: confirmed planets, candidates and false positives from the Kepler mission (2009–2018).',
      img: '/kepler.png',
      color: '#fbbf24',
    },
    k2: {
      name: 'K2 Dataset',
      description: "Planets and candidates of K2, Kepler's extended mission along the ecliptic (2014–2018).",
      img: '/k2.png',
      color: '#ef4444',
    },
    tess: {
      name: 'TESS Dataset',
      description: 'TESS Objects of Interest from the Transiting Exoplanet Survey Satellite (2018–).',
      img: '/tess.png',
      color: '#3b82f6',
    },
  };

/** Class names in the original's words. Labels of custom uploads pass through unchanged. */
const CLASS_WORDS: Record<string, string> = {
  planet: 'Exoplanet',
  candidate: 'Candidate',
  false_positive: 'False Positive',
};

export function classWords(label: string): string {
  return CLASS_WORDS[label] ?? label;
}

export const HOME = {
  title: 'Exoplanet Discovery Playground',
  description:
    "Train, compare and explain machine-learning models that tell real exoplanets from false positives, on NASA's Kepler, K2 and TESS tables or your own CSV.",
  message: 'Welcome! Start at GET /select to create a session, or open /docs for every route.',
  features: [
    'Real NASA data: Kepler, K2 and TESS tables, split by star so metrics are honest',
    'Seven models: logistic regression, SVM, decision tree, random forest, XGBoost-style boosting, PCA and a neural network',
    'Hyperparameters validated against each model’s catalog',
    'Live training progress, metrics, confusion matrix and feature importance',
    'Explanations of every prediction (exact TreeSHAP for tree models)',
    'Upload your own CSV to train or predict on',
  ],
  datasets_available: ['Kepler', 'K2', 'TESS'],
  getting_started: {
    step1: 'Choose a data source: a NASA dataset (Kepler, K2, TESS) or your own CSV',
    step2: 'Choose a machine-learning model',
    step3: 'Tune its hyperparameters',
    step4: 'Train, then look at the results and the explanations',
  },
};

/** The original's training status words. */
export function trainingStatusWords(status: string): string {
  switch (status) {
    case 'QUEUED':
      return 'queued';
    case 'RUNNING':
      return 'training';
    case 'SUCCEEDED':
      return 'completed';
    case 'FAILED':
      return 'error';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'not_started';
  }
}

/** The final version's progress status words. */
export function customStatusWords(status: string): 'initialized' | 'running' | 'completed' | 'error' {
  switch (status) {
    case 'SUCCEEDED':
      return 'completed';
    case 'FAILED':
    case 'CANCELLED':
      return 'error';
    case 'RUNNING':
      return 'running';
    default:
      return 'initialized';
  }
}
