/**
 * Model selection on runs (issue 14): cross-validation, calibration, refit and cross-mission results of a run, and
 * compareRuns. Thin: the numbers are computed in the training worker (src/ml/pipeline.ts) and stored with the run.
 */
import { builder } from './builder.js';
import {
  OUT_OF_FOLD_SOURCE,
  type CalibrationInfo,
  type CrossMissionResult,
  type CrossValidationInfo,
  type DecisionTuningInfo,
  type RefitInfo,
} from '../domain/run.js';
import type { TrainingRunRecord } from '../services/training/index.js';
import type { CalibrationMeasures, ReliabilityCurve } from '../ml/selection/calibration.js';
import type { MetricSummary, FoldResult, ScalarMetrics } from '../ml/selection/cross-validate.js';
import type { ClassBalance } from '../ml/selection/cross-mission.js';
import type { McNemarResult, MetricComparison, RunComparison } from '../ml/selection/compare.js';
import type { RunsComparison } from '../services/comparisons.js';
import { CalibrateOn, CalibrationMethod, RefitMode, Task } from './session.js';
import { MetricsRef, TrainingRun } from './training-run.js';
import { PredictionBatch } from './prediction.js';
import { ClassCount } from './dataset.js';

interface NamedValue {
  name: string;
  value: number | null;
}

const namedValues = (metrics: ScalarMetrics): NamedValue[] =>
  Object.entries(metrics).map(([name, value]) => ({ name, value }));

const MetricValue = builder.objectRef<NamedValue>('MetricValue').implement({
  description: 'One scalar metric: accuracy, macroF1, … and per class `<label>.f1` etc. Undefined values are null.',
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeFloat('value', { nullable: true }) }),
});

const MetricSummaryRef = builder.objectRef<MetricSummary & { metric: string }>('MetricSummary').implement({
  description: "A metric's mean ± sample standard deviation (n − 1) over the folds where it is defined.",
  fields: (t) => ({
    metric: t.exposeString('metric'),
    mean: t.exposeFloat('mean', { nullable: true }),
    sd: t.exposeFloat('sd', { nullable: true }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true }),
    definedFolds: t.exposeInt('definedFolds'),
  }),
});

const CvFold = builder.objectRef<FoldResult & { classes: string[] }>('CrossValidationFold').implement({
  fields: (t) => ({
    fold: t.exposeInt('fold', { description: '1-based.' }),
    trainRows: t.exposeInt('trainRows'),
    testRows: t.exposeInt('testRows', { description: 'Rows of this fold, predicted by the model of the others.' }),
    testClassCounts: t.field({
      type: [ClassCount],
      resolve: (f) => f.classes.map((label, c) => ({ label, count: f.testClassCounts[c] ?? 0 })),
    }),
    metrics: t.field({ type: [MetricValue], resolve: (f) => namedValues(f.metrics) }),
    fitSeconds: t.exposeFloat('fitSeconds'),
  }),
});

const GroupedBy = builder.enumType('CrossValidationGrouping', {
  values: {
    STAR: { description: 'Rows of one star always share a fold.' },
    ROW: { description: 'The data has no star column: every row is its own group.' },
  } as const,
});

const CrossValidation = builder
  .objectRef<{ info: CrossValidationInfo; run: TrainingRunRecord }>('CrossValidation')
  .implement({
    description:
      'Grouped, stratified k-fold cross-validation over train + validation (the test split stays held out for the metrics).',
    fields: (t) => ({
      folds: t.int({ resolve: ({ info }) => info.folds }),
      seed: t.int({ nullable: true, resolve: ({ info }) => info.seed }),
      rows: t.int({ description: 'Train + validation rows cross-validated.', resolve: ({ info }) => info.rows }),
      groupedBy: t.field({ type: GroupedBy, resolve: ({ info }) => info.groupedBy }),
      starsInSeveralFolds: t.int({
        description: 'Stars whose rows fell in more than one fold: 0 (counted from the stored folds).',
        resolve: ({ info }) => info.starsInSeveralFolds,
      }),
      perFold: t.field({
        type: [CvFold],
        resolve: ({ info, run }) => info.perFold.map((f) => ({ ...f, classes: run.metrics?.classes ?? [] })),
      }),
      summary: t.field({
        type: [MetricSummaryRef],
        description: 'Every metric: mean ± sd over the folds.',
        resolve: ({ info }) => Object.entries(info.summary).map(([metric, s]) => ({ ...s, metric })),
      }),
      pooled: t.field({
        type: [MetricValue],
        description: 'The out-of-fold predictions of every row scored as one evaluation.',
        resolve: ({ info }) => namedValues(info.pooled),
      }),
      fitSeconds: t.float({ resolve: ({ info }) => info.fitSeconds }),
      outOfFold: t.field({
        type: PredictionBatch,
        nullable: true,
        description: `Out-of-fold predictions of every cross-validated row (ids carry its fold), paged; source "${OUT_OF_FOLD_SOURCE}".`,
        resolve: ({ run }, _a, { services, caller }) =>
          run.details?.outOfFoldPredictionId
            ? services.predictions.get(caller, run.details.outOfFoldPredictionId)
            : null,
      }),
    }),
  });

const Reliability = builder.objectRef<{ label: string; curve: ReliabilityCurve }>('ReliabilityCurve').implement({
  description:
    "One class vs rest: per non-empty bin of 10 equal-width bins, the mean predicted probability and the share of the class (scikit-learn's calibration_curve).",
  fields: (t) => ({
    label: t.exposeString('label'),
    predicted: t.floatList({ resolve: (r) => r.curve.predicted }),
    observed: t.floatList({ resolve: (r) => r.curve.observed }),
    counts: t.intList({ resolve: (r) => r.curve.counts }),
  }),
});

const Measures = builder.objectRef<CalibrationMeasures>('CalibrationMeasures').implement({
  fields: (t) => ({
    brierScore: t.exposeFloat('brierScore', { description: 'Mean over rows of Σ_c (p_c − 1[y = c])².' }),
    binaryBrierScore: t.exposeFloat('binaryBrierScore', {
      nullable: true,
      description: "Binary tasks: scikit-learn's brier_score_loss of the positive class.",
    }),
    logLoss: t.exposeFloat('logLoss'),
    expectedCalibrationError: t.exposeFloat('expectedCalibrationError', {
      description: 'Of the top-class confidence, 10 equal-width bins.',
    }),
    reliability: t.field({ type: [Reliability], resolve: (m) => m.reliability }),
  }),
});

const BeforeAfter = builder
  .objectRef<{ before: CalibrationMeasures; after: CalibrationMeasures }>('CalibrationBeforeAfter')
  .implement({
    fields: (t) => ({
      before: t.field({ type: Measures, resolve: (x) => x.before }),
      after: t.field({ type: Measures, resolve: (x) => x.after }),
    }),
  });

const RunCalibration = builder.objectRef<CalibrationInfo>('RunCalibration').implement({
  description: "The run's probability calibration, measured before and after.",
  fields: (t) => ({
    method: t.field({ type: CalibrationMethod, resolve: (c) => c.method }),
    fittedOn: t.field({ type: CalibrateOn, resolve: (c) => c.fittedOn }),
    fittedRows: t.exposeInt('fittedRows'),
    description: t.exposeString('description'),
    calibrationRows: t.field({
      type: BeforeAfter,
      description: 'On the rows the calibrators were fitted on (in-sample for the calibrators).',
      resolve: (c) => c.calibrationRows,
    }),
    test: t.field({
      type: BeforeAfter,
      description: "On the held-out test split (the run's metrics are the after).",
      resolve: (c) => c.test,
    }),
  }),
});

const TunedScore = builder.objectRef<{ before: number; after: number }>('TunedScore').implement({
  description: 'Macro-F1 with the argmax decision (before) and the tuned decision (after).',
  fields: (t) => ({ before: t.exposeFloat('before'), after: t.exposeFloat('after') }),
});

const ClassScale = builder.objectRef<{ label: string; scale: number }>('ClassScale').implement({
  fields: (t) => ({ label: t.exposeString('label'), scale: t.exposeFloat('scale') }),
});

const RunDecisionTuning = builder
  .objectRef<{ info: DecisionTuningInfo; classes: string[] }>('RunDecisionTuning')
  .implement({
    description:
      "The run's decision tuned for macro-F1: per-class probability scales fitted on held-out rows (never the test split). The run's metrics, predictions and probabilities are the scaled probabilities renormalised per row (Prediction.decisionTuned).",
    fields: (t) => ({
      objective: t.string({ resolve: ({ info }) => info.objective }),
      fittedOn: t.field({ type: CalibrateOn, resolve: ({ info }) => info.fittedOn }),
      fittedRows: t.int({ resolve: ({ info }) => info.fittedRows }),
      classScales: t.field({
        type: [ClassScale],
        description: 'One per class; the predicted class is the argmax of scale × probability.',
        resolve: ({ info, classes }) => info.classScales.map((scale, c) => ({ label: classes[c] ?? String(c), scale })),
      }),
      fitted: t.field({
        type: TunedScore,
        description:
          'Macro-F1 of the rows the scales were fitted on (out-of-fold or validation); after is in-sample for the scales.',
        resolve: ({ info }) => info.fitted,
      }),
      test: t.field({
        type: TunedScore,
        description: "Macro-F1 of the held-out test split (the run's metrics are the after).",
        resolve: ({ info }) => info.test,
      }),
      description: t.string({ resolve: ({ info }) => info.description }),
    }),
  });

const RunRefit = builder.objectRef<RefitInfo>('RunRefit').implement({
  description:
    "The model stored for predictions was refitted after evaluation. The run's metrics remain the held-out evaluation of the model trained on the training split, not of the refitted one.",
  fields: (t) => ({
    on: t.field({ type: RefitMode, resolve: (r) => r.on }),
    rows: t.exposeInt('rows', { description: 'Rows the stored model was refitted on.' }),
    seconds: t.exposeFloat('seconds'),
    description: t.exposeString('description'),
  }),
});

const ClassShare = builder.objectRef<{ label: string; count: number; share: number }>('ClassShare').implement({
  fields: (t) => ({
    label: t.exposeString('label'),
    count: t.exposeInt('count'),
    share: t.exposeFloat('share'),
  }),
});

const ClassBalanceRef = builder.objectRef<ClassBalance>('ClassBalance').implement({
  fields: (t) => ({
    datasetId: t.string({ resolve: (b) => b.mission }),
    rows: t.exposeInt('rows'),
    counts: t.field({ type: [ClassShare], resolve: (b) => b.counts }),
  }),
});

const CrossMission = builder.objectRef<CrossMissionResult>('CrossMissionEvaluation').implement({
  description:
    "A model on the harmonised features both missions fill, trained on every dispositioned row of the run's mission and evaluated on the other mission's. Compare the class balances before the metrics: a different share of planets moves accuracy and precision by itself.",
  fields: (t) => ({
    trainDatasetId: t.string({ resolve: (c) => c.trainMission }),
    testDatasetId: t.string({ resolve: (c) => c.testMission }),
    task: t.field({ type: Task, resolve: (c) => c.task }),
    features: t.stringList({
      description: 'Harmonised features used (both missions fill them).',
      resolve: (c) => c.features,
    }),
    trainBalance: t.field({ type: ClassBalanceRef, resolve: (c) => c.trainBalance }),
    testBalance: t.field({ type: ClassBalanceRef, resolve: (c) => c.testBalance }),
    metrics: t.field({ type: MetricsRef, resolve: (c) => ({ ...c.metrics, usesVettingFeatures: false }) }),
    fitSeconds: t.exposeFloat('fitSeconds'),
  }),
});

builder.objectFields(TrainingRun, (t) => ({
  crossValidation: t.field({
    type: CrossValidation,
    nullable: true,
    description: 'With cvFolds: per-fold metrics and mean ± sd (null otherwise or until the run succeeded).',
    resolve: (run) => (run.details?.crossValidation ? { info: run.details.crossValidation, run } : null),
  }),
  calibration: t.field({ type: RunCalibration, nullable: true, resolve: (run) => run.details?.calibration ?? null }),
  decisionTuning: t.field({
    type: RunDecisionTuning,
    nullable: true,
    description: 'With decisionTuning MACRO_F1: the fitted class scales and macro-F1 before / after.',
    resolve: (run) =>
      run.details?.decisionTuning ? { info: run.details.decisionTuning, classes: run.metrics?.classes ?? [] } : null,
  }),
  refit: t.field({ type: RunRefit, nullable: true, resolve: (run) => run.details?.refit ?? null }),
  crossMission: t.field({
    type: CrossMission,
    nullable: true,
    description: 'With crossMissionDatasetId: the cross-mission evaluation.',
    resolve: (run) => run.details?.crossMission ?? null,
  }),
}));

const Resampling = builder.enumType('ComparisonResampling', {
  values: {
    STARS: { description: 'Whole stars were drawn (rows of one star are not independent).' },
    ROWS: { description: 'Rows were drawn.' },
  } as const,
});

const McNemar = builder.objectRef<McNemarResult>('McNemarTest').implement({
  description:
    "McNemar's test on the rows one run gets right and the other wrong: exact binomial below 25 such rows, else chi-square with continuity correction.",
  fields: (t) => ({
    baseOnlyCorrect: t.int({ description: 'Rows the base run gets right and the other wrong.', resolve: (m) => m.b }),
    otherOnlyCorrect: t.int({ description: 'Rows the other run gets right and the base wrong.', resolve: (m) => m.c }),
    method: t.string({ resolve: (m) => m.method }),
    statistic: t.exposeFloat('statistic'),
    pValue: t.exposeFloat('pValue'),
  }),
});

const MetricDifference = builder.objectRef<MetricComparison>('MetricDifference').implement({
  fields: (t) => ({
    metric: t.string({ resolve: (m) => m.metric }),
    base: t.float({ nullable: true, resolve: (m) => m.a }),
    other: t.float({ nullable: true, resolve: (m) => m.b }),
    difference: t.exposeFloat('difference', { nullable: true, description: 'other − base.' }),
    ciLower: t.exposeFloat('ciLower', { nullable: true, description: 'Paired bootstrap percentile interval.' }),
    ciUpper: t.exposeFloat('ciUpper', { nullable: true }),
    shareOtherBetter: t.float({
      nullable: true,
      description: 'Share of resamples in which the other run is better.',
      resolve: (m) => m.shareBBetter,
    }),
    lowerIsBetter: t.exposeBoolean('lowerIsBetter'),
  }),
});

const RunPair = builder.objectRef<RunComparison>('RunPairComparison').implement({
  fields: (t) => ({
    baseRunId: t.id({ resolve: (p) => p.a }),
    runId: t.id({ resolve: (p) => p.b }),
    confidence: t.exposeFloat('confidence'),
    resampling: t.field({ type: Resampling, resolve: (p) => p.resampling }),
    metrics: t.field({ type: [MetricDifference], resolve: (p) => p.metrics }),
    mcnemar: t.field({ type: McNemar, resolve: (p) => p.mcnemar }),
  }),
});

const RunComparisonRef = builder.objectRef<RunsComparison>('RunComparison').implement({
  description: 'Runs evaluated on the same held-out test rows, each against the first (the base).',
  fields: (t) => ({
    baseRunId: t.exposeID('baseRunId'),
    runIds: t.exposeIDList('runIds'),
    rows: t.exposeInt('rows', { description: 'Test rows both runs were evaluated on.' }),
    resamples: t.exposeInt('resamples'),
    seed: t.exposeInt('seed'),
    pairs: t.field({ type: [RunPair], resolve: (c) => c.pairs }),
  }),
});

builder.queryField('compareRuns', (t) =>
  t.field({
    type: RunComparisonRef,
    description:
      "Metrics side by side with paired bootstrap confidence intervals of the differences and McNemar's test, each run against the first. Refused (BAD_USER_INPUT, with the reason) when the runs were not evaluated on the same test rows.",
    args: {
      runIds: t.arg.idList({ required: true }),
      resamples: t.arg.int({ defaultValue: 2000, required: true }),
      seed: t.arg.int({ defaultValue: 42, required: true }),
    },
    resolve: (_root, { runIds, resamples, seed }, { services, caller }) =>
      services.comparisons.compare(caller, runIds, resamples, seed),
  }),
);
