import { builder } from './builder.js';
import type { RowExplanation, RowPrediction, FeatureContribution } from '../ml/predictor.js';
import type { PredictionSummary } from '../domain/prediction.js';
import type { PredictionBatchRecord, StoredRowPrediction } from '../services/predictions.js';
import { Session } from './session.js';
import { TrainingRun } from './training-run.js';

const ClassProbability = builder.objectRef<{ label: string; probability: number }>('ClassProbability').implement({
  fields: (t) => ({ label: t.exposeString('label'), probability: t.exposeFloat('probability') }),
});

const Prediction = builder.objectRef<RowPrediction>('Prediction').implement({
  description: 'The predicted class of a row with its probability per class (fixed class order).',
  fields: (t) => ({
    label: t.exposeString('label'),
    confidence: t.exposeFloat('confidence', { description: 'The largest class probability.' }),
    probabilities: t.field({ type: [ClassProbability], resolve: (p) => p.probabilities }),
    warnings: t.exposeStringList('warnings', {
      description: 'Missing features imputed, values outside the training range, unknown columns.',
    }),
    calibrated: t.exposeBoolean('calibrated', {
      description: "The probabilities went through the run's calibration (TrainingRun.calibration).",
    }),
    decisionTuned: t.exposeBoolean('decisionTuned', {
      description:
        "The run tuned its decision (TrainingRun.decisionTuning): the probabilities are the model's (calibrated) ones scaled per class and renormalised, and label is their argmax.",
    }),
  }),
});

const Contribution = builder.objectRef<FeatureContribution>('FeatureContribution').implement({
  fields: (t) => ({
    feature: t.exposeString('feature'),
    value: t.exposeFloat('value', { nullable: true, description: 'The raw value of the row (null = missing).' }),
    contribution: t.exposeFloat('contribution', {
      description: 'Shapley value in the output space of the explanation.',
    }),
  }),
});

const OutputSpace = builder.enumType('OutputSpace', {
  values: {
    PROBABILITY: { value: 'probability', description: 'Class probability (forests, trees, model-agnostic estimates).' },
    MARGIN: { value: 'margin', description: 'Raw softmax score of gradient boosting (log-odds scale).' },
  } as const,
});

const ExplanationMethod = builder.enumType('ExplanationMethod', {
  values: { TREE_SHAP: { value: 'tree_shap' }, SAMPLING_SHAPLEY: { value: 'sampling_shapley' } } as const,
});

const Explanation = builder.objectRef<RowExplanation>('Explanation').implement({
  description: 'Why the model gave a row its score: baseValue + Σ contributions = output.',
  fields: (t) => ({
    label: t.exposeString('label', { description: 'The class explained.' }),
    outputSpace: t.field({ type: OutputSpace, resolve: (e) => e.outputSpace }),
    method: t.field({ type: ExplanationMethod, resolve: (e) => e.method }),
    baseValue: t.exposeFloat('baseValue', { description: 'Expected model output over the background data.' }),
    output: t.exposeFloat('output'),
    residual: t.exposeFloat('residual', { description: 'output − baseValue − Σ contributions.' }),
    contributions: t.field({ type: [Contribution], resolve: (e) => e.contributions }),
    reasons: t.exposeStringList('reasons', { description: 'The largest contributions in plain words.' }),
    warnings: t.exposeStringList('warnings'),
    calibrated: t.exposeBoolean('calibrated', {
      description:
        "The run's model gives calibrated probabilities; TreeSHAP (tree_shap) still explains its uncalibrated output.",
    }),
    decisionTuned: t.exposeBoolean('decisionTuned', {
      description:
        "The run tuned its decision: the default label is the tuned prediction; TreeSHAP (tree_shap) explains the model's untuned output, sampling Shapley the tuned probabilities.",
    }),
  }),
});

const PredictionCount = builder.objectRef<{ label: string; count: number }>('PredictionCount').implement({
  fields: (t) => ({ label: t.exposeString('label'), count: t.exposeInt('count') }),
});

const PredictionSummaryRef = builder.objectRef<PredictionSummary>('PredictionSummary').implement({
  fields: (t) => ({
    rowCount: t.exposeInt('rowCount'),
    counts: t.field({ type: [PredictionCount], resolve: (s) => s.counts }),
    meanConfidence: t.exposeFloat('meanConfidence'),
    meanProbabilities: t.field({ type: [ClassProbability], resolve: (s) => s.meanProbabilities }),
    rowsWithoutFeatures: t.exposeInt('rowsWithoutFeatures'),
    missingFeatures: t.exposeStringList('missingFeatures'),
  }),
});

const PredictedRow = builder.objectRef<StoredRowPrediction>('PredictedRow').implement({
  fields: (t) => ({
    rowIndex: t.exposeInt('rowIndex'),
    ids: t.field({
      type: 'JSON',
      description: 'Identifying columns of the row (e.g. kepoi_name, kepid).',
      resolve: (r) => r.ids,
    }),
    label: t.exposeString('label'),
    confidence: t.exposeFloat('confidence'),
    probabilities: t.field({ type: [ClassProbability], resolve: (r) => r.probabilities }),
  }),
});

export const PredictionBatch = builder.objectRef<PredictionBatchRecord>('PredictionBatch').implement({
  description: 'A stored batch prediction; download it as CSV at /api/predictions/<id>.csv.',
  fields: (t) => ({
    id: t.exposeID('id'),
    runId: t.exposeID('runId'),
    datasetId: t.exposeString('datasetId', { nullable: true }),
    source: t.exposeString('source'),
    rowCount: t.exposeInt('rowCount'),
    classes: t.exposeStringList('classes'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    summary: t.field({ type: PredictionSummaryRef, resolve: (b) => b.summary }),
    csvUrl: t.string({ resolve: (b) => `/api/predictions/${b.id}.csv` }),
    rows: t.field({
      type: [PredictedRow],
      args: {
        offset: t.arg.int({ defaultValue: 0, required: true }),
        limit: t.arg.int({ defaultValue: 50, required: true }),
        sortByClass: t.arg.string({ description: "Sort by this class's probability, highest first (e.g. planet)." }),
        ascending: t.arg.boolean({
          description: 'Default: highest probability first with sortByClass, else row order (first row first).',
        }),
      },
      resolve: (b, { offset, limit, sortByClass, ascending }, { services }) =>
        services.predictions.rows(b, { offset, limit, sortByClass, ascending }),
    }),
  }),
});

builder.queryFields((t) => ({
  predict: t.field({
    type: [Prediction],
    description: 'Predict up to 1,000 rows keyed by the raw column names of the training data.',
    args: { runId: t.arg.id({ required: true }), rows: t.arg({ type: ['JSON'], required: true }) },
    resolve: (_root, { runId, rows }, { services, caller }) => services.predictions.predict(caller, runId, rows),
  }),
  explain: t.field({
    type: Explanation,
    description: 'Per-feature contributions to one prediction (exact TreeSHAP for tree models).',
    args: {
      runId: t.arg.id({ required: true }),
      row: t.arg({ type: 'JSON', required: true }),
      label: t.arg.string({ description: 'Class to explain; default the predicted one.' }),
    },
    resolve: (_root, { runId, row, label }, { services, caller }) =>
      services.predictions.explain(caller, runId, row, label),
  }),
  prediction: t.field({
    type: PredictionBatch,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.predictions.get(caller, id),
  }),
}));

builder.mutationField('predictBatch', (t) =>
  t.field({
    type: PredictionBatch,
    description: 'Predict a whole dataset or an uploaded CSV in a worker and store the result.',
    args: {
      runId: t.arg.id({ required: true }),
      datasetId: t.arg.id(),
      file: t.arg({ type: 'File' }),
      candidatesOnly: t.arg.boolean({ description: 'NASA tables: only the unresolved CANDIDATE rows.' }),
    },
    resolve: (_root, { runId, datasetId, file, candidatesOnly }, { services, caller }) =>
      services.predictions.predictBatch(caller, {
        runId,
        datasetId: datasetId ?? null,
        file,
        candidatesOnly,
      }),
  }),
);

builder.objectField(Session, 'latestPrediction', (t) =>
  t.field({
    type: PredictionBatch,
    nullable: true,
    description: 'The newest batch prediction of any run of the session.',
    resolve: (s, _a, { services }) => services.predictions.latestForSession(s.id),
  }),
);

builder.objectField(TrainingRun, 'predictions', (t) =>
  t.field({
    type: [PredictionBatch],
    description: 'Batch predictions made with this run, newest first.',
    resolve: (r, _a, { services }) => services.predictions.forRun(r.id),
  }),
);
