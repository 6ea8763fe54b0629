/**
 * k-fold cross-validation over grouped, stratified folds (folds.ts): one model per fold trained on the other folds,
 * its probabilities on its own fold kept as the out-of-fold (OOF) predictions; every scalar metric of evaluate.ts
 * per fold, with mean, sample standard deviation (n − 1), min and max over the folds. Pure: the caller's `train`
 * decides what a model is (pipeline.ts's preprocessing + trainer, see model-folds.ts; or anything else).
 */
import { evaluate, type Metrics } from '../evaluate.js';
import { stepShare, takeLabels, throwIfAborted, type StepProgress } from '../types.js';
import { DEFAULT_CV_FOLDS, stratifiedGroupKFold, type FoldAssignment } from './folds.js';

/** The numbers of one evaluation, flat: `accuracy`, `macroF1`, …, and per class `<label>.f1` etc. */
export type ScalarMetrics = Record<string, number | null>;

/** The scalar metrics of evaluate.ts under flat names (the curves, bins and confusion matrix are not scalars). */
export function scalarMetrics(metrics: Metrics): ScalarMetrics {
  const out: ScalarMetrics = {
    accuracy: metrics.accuracy,
    balancedAccuracy: metrics.balancedAccuracy,
    macroPrecision: metrics.macro.precision,
    macroRecall: metrics.macro.recall,
    macroF1: metrics.macro.f1,
    weightedPrecision: metrics.weighted.precision,
    weightedRecall: metrics.weighted.recall,
    weightedF1: metrics.weighted.f1,
    rocAucOvrMacro: metrics.rocAucOvrMacro,
    prAucMacro: metrics.prAucMacro,
    logLoss: metrics.logLoss,
    brierScore: metrics.brierScore,
    expectedCalibrationError: metrics.calibration.expectedCalibrationError,
  };
  for (const m of metrics.perClass) {
    out[`${m.label}.precision`] = m.precision;
    out[`${m.label}.recall`] = m.recall;
    out[`${m.label}.f1`] = m.f1;
    out[`${m.label}.rocAuc`] = m.rocAuc;
    out[`${m.label}.prAuc`] = m.prAuc;
  }
  return out;
}

export interface MetricSummary {
  /** Mean over the folds where the metric is defined (null where it is defined in none). */
  mean: number | null;
  /** Sample standard deviation (n − 1) over those folds; null with fewer than 2. */
  sd: number | null;
  min: number | null;
  max: number | null;
  /** Folds where the metric is defined (a class absent from a fold leaves its recall undefined there). */
  definedFolds: number;
}

/** Mean, sample sd, min and max of each metric over the folds. */
export function summarise(perFold: readonly ScalarMetrics[]): Record<string, MetricSummary> {
  const names = [...new Set(perFold.flatMap((m) => Object.keys(m)))];
  const out: Record<string, MetricSummary> = {};
  for (const name of names) {
    const values = perFold.map((m) => m[name]).filter((v): v is number => typeof v === 'number');
    out[name] = summaryOf(values);
  }
  return out;
}

export function summaryOf(values: readonly number[]): MetricSummary {
  const n = values.length;
  if (n === 0) return { mean: null, sd: null, min: null, max: null, definedFolds: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), definedFolds: n };
}

export interface FoldContext {
  /** 1-based. */
  fold: number;
  folds: number;
  /** The model's seed: the run's seed (every fold's model gets the same one, as scikit-learn's cross_validate). */
  seed: number;
  signal?: AbortSignal;
  /** Forward the model's steps (trees, rounds, epochs) here: they reach `onProgress` as STEP events. */
  onStep: (progress: StepProgress) => void;
}

/** A fold's trained model: class probabilities (rows × classes, row-major) of the given rows. */
export type FoldPredictor = (rows: Int32Array) => Float64Array | Promise<Float64Array>;
export type FoldTrainer = (trainRows: Int32Array, context: FoldContext) => Promise<FoldPredictor>;

export type CvPhase = 'FOLD_STARTED' | 'STEP' | 'FOLD_DONE';

export interface CvProgress {
  phase: CvPhase;
  /** 1-based. */
  fold: number;
  folds: number;
  /** The model's step while it trains (phase STEP). */
  step?: StepProgress;
  /** The fold's metrics (phase FOLD_DONE). */
  metrics?: ScalarMetrics;
  /** Share of the whole cross-validation done, 0..1 (steps count within their fold). */
  progress: number;
  message: string;
}

export interface CrossValidateOptions {
  labels: Int32Array;
  /** Star per row; null: every row its own group. */
  groups: readonly string[] | null;
  classes: readonly string[];
  /** Default 5. */
  folds?: number;
  /** Fold shuffle and models' seed. Null: scikit-learn's shuffle=False fold order, models get seed 0. */
  seed: number | null;
  signal?: AbortSignal;
  onProgress?: (event: CvProgress) => void;
}

export interface FoldResult {
  /** 1-based. */
  fold: number;
  trainRows: number;
  testRows: number;
  /** Test rows per class, in `classes` order. */
  testClassCounts: number[];
  metrics: ScalarMetrics;
  fitSeconds: number;
  predictSeconds: number;
}

export interface CrossValidationResult {
  folds: number;
  seed: number | null;
  classes: string[];
  /** Fold (0-based) of every row. */
  foldOf: Int32Array;
  perFold: FoldResult[];
  /** Every metric's mean ± sd over the folds. */
  summary: Record<string, MetricSummary>;
  /** Out-of-fold probabilities, rows × classes, row-major: each row predicted by the model that did not see it. */
  outOfFold: Float64Array;
  /** The metrics of the out-of-fold predictions pooled (one evaluation of every row). */
  pooled: Metrics;
  fitSeconds: number;
}

/** Trains one model per fold and evaluates it on its fold; see the module comment. */
export async function crossValidate(train: FoldTrainer, options: CrossValidateOptions): Promise<CrossValidationResult> {
  const folds = options.folds ?? DEFAULT_CV_FOLDS;
  const assignment: FoldAssignment = stratifiedGroupKFold(options.labels, options.groups, folds, options.seed);
  const k = options.classes.length;
  const classes = [...options.classes];
  const outOfFold = new Float64Array(options.labels.length * k);
  const perFold: FoldResult[] = [];
  const report = options.onProgress ?? (() => undefined);
  let fitSeconds = 0;
  for (let f = 0; f < folds; f++) {
    throwIfAborted(options.signal);
    const fold = f + 1;
    const trainRows = assignment.trainRows[f];
    const testRows = assignment.testRows[f];
    report({
      phase: 'FOLD_STARTED',
      fold,
      folds,
      progress: f / folds,
      message: `Fold ${fold} of ${folds}: training on ${trainRows.length} rows, ${testRows.length} held out`,
    });
    let started = performance.now();
    const predict = await train(trainRows, {
      fold,
      folds,
      seed: options.seed ?? 0,
      signal: options.signal,
      onStep: (step) => {
        const within = stepShare(step);
        report({
          phase: 'STEP',
          fold,
          folds,
          step,
          progress: (f + within) / folds,
          message: `Fold ${fold} of ${folds}: step ${step.step} of ${step.totalSteps}`,
        });
      },
    });
    const foldFit = (performance.now() - started) / 1000;
    fitSeconds += foldFit;
    throwIfAborted(options.signal);
    started = performance.now();
    const proba = await predict(testRows);
    if (proba.length !== testRows.length * k) {
      throw new RangeError(`fold ${fold}: ${proba.length} probabilities for ${testRows.length} rows × ${k} classes`);
    }
    for (let i = 0; i < testRows.length; i++) outOfFold.set(proba.subarray(i * k, (i + 1) * k), testRows[i] * k);
    const yTest = takeLabels(options.labels, testRows);
    const metrics = scalarMetrics(evaluate(yTest, proba, classes));
    const testClassCounts = new Array<number>(k).fill(0);
    for (const y of yTest) testClassCounts[y]++;
    perFold.push({
      fold,
      trainRows: trainRows.length,
      testRows: testRows.length,
      testClassCounts,
      metrics,
      fitSeconds: foldFit,
      predictSeconds: (performance.now() - started) / 1000,
    });
    const f1 = metrics.macroF1;
    report({
      phase: 'FOLD_DONE',
      fold,
      folds,
      metrics,
      progress: fold / folds,
      message: `Fold ${fold} of ${folds}: macro-F1 ${f1 === null ? 'n/a' : f1.toFixed(3)}`,
    });
  }
  return {
    folds,
    seed: options.seed,
    classes,
    foldOf: assignment.foldOf,
    perFold,
    summary: summarise(perFold.map((p) => p.metrics)),
    outOfFold,
    pooled: evaluate(options.labels, outOfFold, classes),
    fitSeconds,
  };
}
