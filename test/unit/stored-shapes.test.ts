/**
 * Every stored JSON column's checker (src/db/stored-columns.ts): a valid value reads back equal, and a wrong value at
 * any place in it — every field, every array's first element, the value itself — fails with an Error naming the
 * table.column and that field's path. Older shapes (fields added later) read as what older versions meant.
 */
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/ml/evaluate.js';
import { STORED_JSON } from '../../src/db/stored-columns.js';
import { DEFAULT_SELECTION } from '../../src/domain/run.js';

const metrics = evaluate(
  Int32Array.from([0, 1, 2, 1, 0, 2]),
  Float64Array.from([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.3, 0.4, 0.3, 0.5, 0.25, 0.25, 0.1, 0.3, 0.6]),
  ['false_positive', 'candidate', 'planet'],
  { maxCurvePoints: 3, calibrationBins: 2 },
);
const measures = {
  brierScore: 0.2,
  binaryBrierScore: null,
  logLoss: 0.5,
  expectedCalibrationError: 0.05,
  reliability: [{ label: 'planet', curve: { observed: [0.5], predicted: [0.4], counts: [3], edges: [0, 1] } }],
};
const runConfig = {
  modelType: 'random_forest',
  hyperparameters: { n_estimators: 10, max_depth: null, criterion: 'gini', bootstrap: true, layers: [8, 4] },
  features: ['koi_period'],
  useVettingFeatures: false,
  task: 'THREE_CLASS',
  split: { train: 0.7, validation: 0.15, test: 0.15 },
  seed: 42,
  cvFolds: 3,
  calibration: 'sigmoid',
  calibrateOn: 'VALIDATION',
  refit: 'NONE',
  decisionTuning: 'NONE',
  crossMission: null,
  maxTrainingSeconds: null,
};
const balance = { mission: 'kepler', rows: 10, counts: [{ label: 'planet', count: 4, share: 0.4 }] };

/** A valid value of every JSON column, with every optional part present. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  datasets: {
    mission: 'k2',
    details: {
      rowCount: 3,
      columns: [{ name: 'koi_period', type: 'numeric', missingShare: 0, min: 1, max: 9, distinct: 3 }],
      labelColumn: 'label',
      groupColumn: null,
      classes: ['planet'],
      classCounts: [{ label: 'planet', count: 3 }],
      featureColumns: ['koi_period'],
      featureCandidates: ['koi_period'],
      vettingColumns: ['koi_score'],
      idColumns: ['kepid'],
    },
    preview: { columns: ['kepid', 'label'], rows: [['1', null]] },
  },
  sessions: {
    modelType: 'neural_network',
    task: 'BINARY',
    dataSource: 'user',
    hyperparameters: { n_estimators: 10, members: ['run-a'] },
    features: ['koi_period'],
    stepProgress: { step1: true, step2: false, step3: false },
    selection: { ...DEFAULT_SELECTION, cvFolds: 5, calibration: 'isotonic' },
  },
  trainingRuns: {
    status: 'SUCCEEDED',
    stage: 'DONE',
    modelType: 'soft_voting',
    config: runConfig,
    versions: { node: '20.0.0' },
    metrics,
    featureImportance: [
      {
        feature: 'koi_period',
        importance: 0.5,
        permutationMean: 0.1,
        permutationStd: 0.01,
        permutationImportance: 0.4,
        permutationCi95: 0.02,
      },
    ],
    timings: {
      queuedSeconds: 0.1,
      loadSeconds: 0.2,
      preprocessSeconds: 0.3,
      fitSeconds: 1,
      evaluateSeconds: 0.1,
      explainSeconds: 0.1,
      permutationSeconds: 0.1,
      startSeconds: 0.1,
      packSeconds: 0.1,
      handOffSeconds: 0.1,
      saveModelSeconds: 0.1,
      saveTestPredictionsSeconds: 0.1,
      totalSeconds: 2,
    },
    details: {
      warnings: ['few rows'],
      history: [{ step: 1, loss: 0.7, valLoss: 0.8, valAccuracy: 0.6 }],
      splitCounts: { train: 7, validation: 2, test: 1 },
      features: ['koi_period'],
      usesVettingFeatures: false,
      permutationRows: 100,
      explanation: {
        permutation: {
          method: 'FOREST_EXACT',
          description: 'exact',
          metric: 'macro-F1',
          rowsPerRepeat: 100,
          rowsTotal: 100,
          sampling: 'ALL',
          repeats: 5,
          seed: 42,
          maxCi95: null,
          seconds: 0.5,
        },
      },
      crossValidation: {
        folds: 3,
        seed: 42,
        rows: 90,
        groupedBy: 'STAR',
        starsInSeveralFolds: 0,
        perFold: [
          {
            fold: 1,
            trainRows: 60,
            testRows: 30,
            testClassCounts: [10, 20],
            metrics: { accuracy: 0.8, macroF1: null },
            fitSeconds: 1,
            predictSeconds: 0.1,
          },
        ],
        summary: { accuracy: { mean: 0.8, sd: 0.1, min: 0.7, max: 0.9, definedFolds: 3 } },
        pooled: { accuracy: 0.8 },
        fitSeconds: 3,
      },
      outOfFoldPredictionId: 'batch-1',
      calibration: {
        method: 'sigmoid',
        fittedOn: 'VALIDATION',
        fittedRows: 20,
        description: 'Platt',
        calibrationRows: { before: measures, after: measures },
        test: { before: measures, after: measures },
      },
      decisionTuning: {
        objective: 'MACRO_F1',
        fittedOn: 'VALIDATION',
        fittedRows: 20,
        classScales: [1, 1.2],
        fitted: { before: 0.5, after: 0.6 },
        test: { before: 0.5, after: 0.55 },
        description: 'scales',
      },
      refit: { on: 'TRAIN_VALIDATION', rows: 90, seconds: 1, description: 'refitted' },
      crossMission: {
        trainMission: 'kepler',
        testMission: 'tess',
        task: 'BINARY',
        features: ['period_days'],
        trainBalance: balance,
        testBalance: { ...balance, mission: 'tess' },
        metrics,
        fitSeconds: 1,
      },
      ensemble: {
        members: [{ runId: 'run-a', modelType: 'svm', weight: 1 }],
        weightsFrom: 'OUT_OF_FOLD',
        outOfFold: { rows: 10, macroF1: 0.6, equalWeightsMacroF1: 0.55 },
        description: 'soft voting',
      },
    },
  },
  progressEvents: {
    status: 'RUNNING',
    stage: 'CROSS_VALIDATING',
    metrics: { loss: 0.5, valLoss: 0.6, valAccuracy: 0.7, fold: 1, folds: 3 },
  },
  predictions: {
    classes: ['planet'],
    idColumns: ['kepid'],
    summary: {
      rowCount: 1,
      counts: [{ label: 'planet', count: 1 }],
      meanConfidence: 0.9,
      meanProbabilities: [{ label: 'planet', probability: 0.9 }],
      rowsWithoutFeatures: 0,
      missingFeatures: ['koi_depth'],
    },
  },
  predictionRows: { ids: { kepid: '1' }, probabilities: [0.1, 0.9], warnings: ['imputed'] },
  searches: {
    status: 'QUEUED',
    strategy: 'RANDOM',
    scoring: 'VALIDATION_MACRO_F1',
    config: {
      strategy: 'SUCCESSIVE_HALVING',
      scoring: 'CV_MACRO_F1',
      cvFolds: 3,
      budgetSeconds: 60,
      maxTrials: null,
      seed: 1,
      spaces: [
        {
          modelType: 'random_forest',
          dimensions: [
            { name: 'max_depth', kind: 'int', low: 2, high: 8, log: true },
            { name: 'criterion', kind: 'choice', values: ['gini', 'entropy'] },
          ],
          fixed: { n_estimators: 100 },
          resource: { kind: 'param', param: 'n_estimators', full: 100, least: 10 },
        },
      ],
      datasetId: 'kepler',
      run: { ...runConfig, modelType: undefined, hyperparameters: undefined },
      decisionTuning: 'MACRO_F1',
    },
    trials: [
      {
        trial: 1,
        candidate: 1,
        modelType: 'svm',
        params: { C: 1 },
        rung: 0,
        resourceShare: 1,
        resourceAmount: 1,
        status: 'FAILED',
        score: null,
        sd: null,
        foldScores: [0.5],
        fitSeconds: 1,
        seconds: 2,
        error: 'diverged',
      },
    ],
  },
};
// A search's run config has no model: the sample's undefined keys are dropped by the JSON round trip below.
const SQL_NAMES: Record<string, string> = {
  datasets: 'datasets',
  sessions: 'sessions',
  trainingRuns: 'training_runs',
  progressEvents: 'progress_events',
  predictions: 'predictions',
  predictionRows: 'prediction_rows',
  searches: 'searches',
};

type Path = (string | number)[];

/** Every place in a JSON value (objects' fields, arrays' first elements), the value itself first. */
function places(value: unknown, path: Path = []): Path[] {
  const out: Path[] = [path];
  if (Array.isArray(value)) {
    if (value.length > 0) out.push(...places(value[0], [...path, 0]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) out.push(...places(child, [...path, key]));
  }
  return out;
}

/** A copy of `value` with what is at `path` replaced by a value of the wrong kind. */
function corrupt(value: unknown, path: Path): unknown {
  if (path.length === 0) {
    // An object becomes a string; an array, number, string, boolean or null becomes an object: wrong for every
    // checker but a free-form JSON value (a hyperparameter may be a string, never an object).
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? 'wrong' : { wrong: true };
  }
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item: unknown, i) => (i === head ? corrupt(item, rest) : item));
  const record = value as Record<string, unknown>;
  return { ...record, [head]: corrupt(record[head], rest) };
}

function pathText(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

const checkers: Record<string, Record<string, (value: unknown) => unknown>> = STORED_JSON;

describe('stored JSON checkers', () => {
  it('has a sample of every checked column but the free-form preprocessingConfig', () => {
    for (const [table, columns] of Object.entries(checkers))
      for (const column of Object.keys(columns))
        if (column !== 'preprocessingConfig') expect(SAMPLES[table][column], `${table}.${column}`).toBeDefined();
  });

  for (const [table, columns] of Object.entries(SAMPLES)) {
    for (const [column, raw] of Object.entries(columns)) {
      const sample: unknown = JSON.parse(JSON.stringify(raw));
      const check = checkers[table][column];
      const sqlColumn = column.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      it(`${table}.${column}: reads a valid value back equal; a wrong value anywhere names its field`, () => {
        expect(check(sample)).toEqual(sample);
        for (const path of places(sample)) {
          const message = `The stored ${SQL_NAMES[table]}.${sqlColumn} is malformed (${path.length === 0 ? 'the value itself' : pathText(path)}).`;
          expect(() => check(corrupt(sample, path)), message).toThrow(message);
        }
      });
    }
  }

  it('keeps a free-form preprocessingConfig as it is, but only an object', () => {
    const check = checkers.sessions.preprocessingConfig;
    const config = { scaler: 'standard', nested: [{ a: 1 }, null] };
    expect(check(config)).toEqual(config);
    expect(check(null)).toBeNull();
    expect(() => check([1])).toThrow('The stored sessions.preprocessing_config is malformed (the value itself).');
  });

  it('reads older shapes as what older versions meant', () => {
    // Feature importance stored before its confidence interval (bb1390b): not computed.
    const withoutCi = { feature: 'f', importance: 1, permutationMean: 0, permutationStd: 0, permutationImportance: 1 };
    expect(checkers.trainingRuns.featureImportance([withoutCi])).toEqual([{ ...withoutCi, permutationCi95: null }]);
    // A run stored before model selection (issue 14): no selection options in its config (= off).
    const { modelType, hyperparameters, features, useVettingFeatures, task, split, seed } = runConfig;
    const before = { modelType, hyperparameters, features, useVettingFeatures, task, split, seed };
    expect(checkers.trainingRuns.config(before)).toEqual(before);
    // A session stored before an option existed: that option at its default.
    expect(checkers.sessions.selection({ cvFolds: 3 })).toEqual({ ...DEFAULT_SELECTION, cvFolds: 3 });
    // A non-finite loss is stored as null (jsonSafe): read as not measured.
    expect(checkers.progressEvents.metrics({ loss: null, valLoss: 0.5 })).toEqual({ valLoss: 0.5 });
    expect(checkers.trainingRuns.details({ history: [{ step: 1, loss: null }] })).toEqual({ history: [{ step: 1 }] });
    // Rows stored before migration 0002 have no dataset summary; fields no type has are dropped.
    expect(checkers.datasets.details(null)).toBeNull();
    expect(checkers.trainingRuns.timings({ fitSeconds: 1, removedPart: 2 })).toEqual({ fitSeconds: 1 });
  });
});
