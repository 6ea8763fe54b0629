import { builder } from './builder.js';
import type { SplitCounts } from '../domain/data.js';
import {
  RUN_STAGES,
  RUN_STATUSES,
  type ExplanationInfo,
  type FeatureImportanceEntry,
  type HistoryPoint,
  type ProgressMetrics as ProgressMetricsShape,
  type RunMetrics,
  type RunTimings,
  type TrainingProgressEvent,
} from '../domain/run.js';
import type { ClassMetrics, Curve } from '../ml/evaluate.js';
import type { PermutationInfo } from '../ml/pipeline.js';
import {
  DEFAULT_RUNS_PAGE,
  MAX_RUNS_PAGE,
  type TrainingRunPage,
  type TrainingRunRecord,
} from '../services/training/index.js';

export const RunStatus = builder.enumType('RunStatus', { values: RUN_STATUSES });
export const Stage = builder.enumType('Stage', {
  description:
    'TRAINING steps are trees / rounds / epochs; EVALUATING, EXPLAINING and SAVING count their own steps (test-row slices, ' +
    'trees or features of permutation importance, compressed slices of the model) from 0.',
  values: RUN_STAGES,
});

const ProgressMetrics = builder.objectRef<ProgressMetricsShape>('ProgressMetrics').implement({
  description: 'Latest loss / validation figures, where the model has them.',
  fields: (t) => ({
    loss: t.float({ nullable: true, resolve: (m) => m.loss ?? null }),
    valLoss: t.float({ nullable: true, resolve: (m) => m.valLoss ?? null }),
    valAccuracy: t.float({ nullable: true, resolve: (m) => m.valAccuracy ?? null }),
  }),
});

export const TrainingProgress = builder.objectRef<TrainingProgressEvent>('TrainingProgress').implement({
  description: 'One progress event of a run. The first event of a subscription is the current snapshot.',
  fields: (t) => ({
    runId: t.exposeID('runId'),
    seq: t.exposeInt('seq', { description: 'Increases by one per event of the run.' }),
    status: t.field({ type: RunStatus, resolve: (e) => e.status }),
    stage: t.field({ type: Stage, resolve: (e) => e.stage }),
    progress: t.exposeFloat('progress', { description: '0..1 over the whole run.' }),
    step: t.exposeInt('step', {
      description:
        "Steps of the stage done: trees, boosting rounds or epochs while TRAINING; the later stages' own steps.",
    }),
    totalSteps: t.exposeInt('totalSteps'),
    metrics: t.field({ type: ProgressMetrics, nullable: true, resolve: (e) => e.metrics }),
    fold: t.int({
      nullable: true,
      description: 'CROSS_VALIDATING: the fold under way, 1-based (step / totalSteps are its model’s steps).',
      resolve: (e) => e.metrics?.fold ?? null,
    }),
    folds: t.int({
      nullable: true,
      description: 'CROSS_VALIDATING: the number of folds.',
      resolve: (e) => e.metrics?.folds ?? null,
    }),
    message: t.exposeString('message', { nullable: true }),
    etaSeconds: t.exposeFloat('etaSeconds', {
      nullable: true,
      description: 'Seconds until the current stage ends, from its pace so far.',
    }),
    queuePosition: t.exposeInt('queuePosition', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const ConfusionMatrix = builder.objectRef<{ labels: string[]; matrix: number[][] }>('ConfusionMatrix').implement({
  description: 'Rows are the true class, columns the predicted class.',
  fields: (t) => ({
    labels: t.exposeStringList('labels'),
    matrix: t.field({ type: t.listRef(t.listRef('Int')), resolve: (m) => m.matrix }),
  }),
});

const ClassMetricsRef = builder.objectRef<ClassMetrics>('ClassMetrics').implement({
  fields: (t) => ({
    label: t.exposeString('label'),
    precision: t.exposeFloat('precision', { nullable: true }),
    recall: t.exposeFloat('recall', { nullable: true }),
    f1: t.exposeFloat('f1', { nullable: true }),
    support: t.exposeInt('support'),
    rocAuc: t.exposeFloat('rocAuc', { nullable: true }),
    prAuc: t.exposeFloat('prAuc', { nullable: true }),
  }),
});

const CurveRef = builder.objectRef<Curve>('Curve').implement({
  description:
    'ROC (x = false-positive rate, y = true-positive rate) or PR (x = recall, y = precision), one class vs rest.',
  fields: (t) => ({
    label: t.exposeString('label'),
    x: t.exposeFloatList('x'),
    y: t.exposeFloatList('y'),
    thresholds: t.field({ type: ['Float'], nullable: { list: false, items: true }, resolve: (c) => c.thresholds }),
  }),
});

export const MetricsRef = builder.objectRef<RunMetrics & { usesVettingFeatures: boolean }>('Metrics').implement({
  description: 'Metrics on the held-out test split (grouped by star). Undefined values are null.',
  fields: (t) => ({
    numSamples: t.exposeInt('numSamples'),
    classes: t.exposeStringList('classes'),
    accuracy: t.exposeFloat('accuracy', { nullable: true }),
    balancedAccuracy: t.exposeFloat('balancedAccuracy', { nullable: true }),
    macroPrecision: t.float({ nullable: true, resolve: (m) => m.macro.precision }),
    macroRecall: t.float({ nullable: true, resolve: (m) => m.macro.recall }),
    macroF1: t.float({ nullable: true, resolve: (m) => m.macro.f1 }),
    weightedPrecision: t.float({ nullable: true, resolve: (m) => m.weighted.precision }),
    weightedRecall: t.float({ nullable: true, resolve: (m) => m.weighted.recall }),
    weightedF1: t.float({ nullable: true, resolve: (m) => m.weighted.f1 }),
    rocAucOvr: t.float({ nullable: true, description: 'Macro one-vs-rest ROC AUC.', resolve: (m) => m.rocAucOvrMacro }),
    prAucMacro: t.exposeFloat('prAucMacro', { nullable: true }),
    logLoss: t.exposeFloat('logLoss', { nullable: true }),
    brierScore: t.exposeFloat('brierScore', { nullable: true }),
    perClass: t.field({ type: [ClassMetricsRef], resolve: (m) => m.perClass }),
    confusionMatrix: t.field({ type: ConfusionMatrix, resolve: (m) => m.confusionMatrix }),
    rocCurves: t.field({ type: [CurveRef], resolve: (m) => m.rocCurves }),
    prCurves: t.field({ type: [CurveRef], resolve: (m) => m.prCurves }),
    calibration: t.field({ type: 'JSON', resolve: (m) => m.calibration }),
    majorityBaselineAccuracy: t.float({ nullable: true, resolve: (m) => m.majorityBaseline.accuracy }),
    majorityBaselineMacroF1: t.float({ nullable: true, resolve: (m) => m.majorityBaseline.macroF1 }),
    usesVettingFeatures: t.exposeBoolean('usesVettingFeatures', {
      description: 'True when vetting (leakage) columns were features.',
    }),
  }),
});

const FeatureImportance = builder.objectRef<FeatureImportanceEntry>('FeatureImportance').implement({
  fields: (t) => ({
    feature: t.exposeString('feature'),
    importance: t.exposeFloat('importance', {
      description: "The model's own importance (gain / impurity / |weights|), normalised.",
    }),
    permutationImportance: t.exposeFloat('permutationImportance', {
      description: 'Permutation importance on the test split, normalised.',
    }),
    permutationMean: t.exposeFloat('permutationMean', {
      description: 'Mean macro-F1 drop when the feature is shuffled (5 repeats).',
    }),
    permutationStd: t.exposeFloat('permutationStd'),
    permutationCi95: t.float({
      nullable: true,
      description:
        'Half-width of a 95 % confidence interval of permutationMean (over the repeats; includes row sampling when sampled).',
      resolve: (f) => f.permutationCi95 ?? null,
    }),
  }),
});

const PermutationMethod = builder.enumType('PermutationMethod', {
  values: {
    FOREST_EXACT: {
      description: "Forests: every shuffled copy's probabilities, exactly, re-walking only the trees whose leaf moves.",
    },
    LINEAR_EXACT: {
      description:
        "Linear models (logistic regression, PCA + LR): every shuffled copy's class scores, exactly, moved by the feature's change times its weight.",
    },
    MODEL_PREDICT: { description: 'The model predicts every shuffled copy.' },
  },
});
const PermutationSampling = builder.enumType('PermutationSampling', {
  values: {
    ALL: { description: 'Every repeat scores every test row.' },
    SAMPLE_PER_REPEAT: { description: 'Each repeat scores its own seeded random sample of test rows.' },
    FIXED_SAMPLE: { description: 'One seeded sample of test rows for every repeat.' },
  },
});

const PermutationInfoRef = builder.objectRef<PermutationInfo>('PermutationImportanceInfo').implement({
  description: 'How the permutation importance of a run was computed.',
  fields: (t) => ({
    method: t.field({ type: PermutationMethod, resolve: (p) => p.method }),
    description: t.exposeString('description'),
    metric: t.exposeString('metric', { description: 'The score whose drop is the importance.' }),
    rowsPerRepeat: t.exposeInt('rowsPerRepeat', { description: 'Test rows each repeat scored.' }),
    rowsTotal: t.exposeInt('rowsTotal', { description: 'Rows of the test split.' }),
    sampling: t.field({ type: PermutationSampling, resolve: (p) => p.sampling }),
    repeats: t.exposeInt('repeats', { description: 'Shuffles per feature.' }),
    seed: t.exposeInt('seed'),
    maxCi95: t.exposeFloat('maxCi95', {
      nullable: true,
      description: "The widest feature's 95 % confidence half-width.",
    }),
    seconds: t.exposeFloat('seconds'),
  }),
});

const ExplanationInfoRef = builder.objectRef<ExplanationInfo>('ImportanceExplanation').implement({
  description: 'What the feature-importance figures of a run are.',
  fields: (t) => ({ permutation: t.field({ type: PermutationInfoRef, resolve: (e) => e.permutation }) }),
});

const HistoryPointRef = builder.objectRef<HistoryPoint>('HistoryPoint').implement({
  description: 'Loss and validation figures per tree, round or epoch.',
  fields: (t) => ({
    step: t.exposeInt('step'),
    loss: t.float({ nullable: true, resolve: (p) => p.loss ?? null }),
    valLoss: t.float({ nullable: true, resolve: (p) => p.valLoss ?? null }),
    valAccuracy: t.float({ nullable: true, resolve: (p) => p.valAccuracy ?? null }),
  }),
});

const TimingsRef = builder.objectRef<RunTimings>('Timings').implement({
  fields: (t) => ({
    queuedSeconds: t.exposeFloat('queuedSeconds', { nullable: true }),
    loadSeconds: t.exposeFloat('loadSeconds', { nullable: true }),
    preprocessSeconds: t.exposeFloat('preprocessSeconds', { nullable: true }),
    fitSeconds: t.exposeFloat('fitSeconds', { nullable: true }),
    evaluateSeconds: t.exposeFloat('evaluateSeconds', { nullable: true }),
    explainSeconds: t.exposeFloat('explainSeconds', { nullable: true }),
    permutationSeconds: t.exposeFloat('permutationSeconds', {
      nullable: true,
      description: 'Permutation importance alone (part of explainSeconds).',
    }),
    startSeconds: t.exposeFloat('startSeconds', {
      nullable: true,
      description:
        'Before the fit: from RUNNING until the training thread began (data checksum, a thread started or waited for).',
    }),
    packSeconds: t.exposeFloat('packSeconds', {
      nullable: true,
      description: 'After the fit: the model encoded and gzipped in the training thread.',
    }),
    handOffSeconds: t.exposeFloat('handOffSeconds', {
      nullable: true,
      description: "After the fit: the training thread's result handed to the server.",
    }),
    saveModelSeconds: t.exposeFloat('saveModelSeconds', {
      nullable: true,
      description: 'After the fit: the gzipped model stored.',
    }),
    saveTestPredictionsSeconds: t.exposeFloat('saveTestPredictionsSeconds', {
      nullable: true,
      description: 'After the fit: the held-out test predictions stored.',
    }),
    totalSeconds: t.exposeFloat('totalSeconds', {
      nullable: true,
      description: "From RUNNING until the results were ready to write in the run's row (that write excluded).",
    }),
  }),
});

const SplitCountsRef = builder.objectRef<SplitCounts>('SplitCounts').implement({
  description: 'Rows in each split (grouped by star, stratified by class).',
  fields: (t) => ({ train: t.exposeInt('train'), validation: t.exposeInt('validation'), test: t.exposeInt('test') }),
});

const Reproducibility = builder.objectRef<TrainingRunRecord>('Reproducibility').implement({
  description: 'What produced the run: config, data checksum and library versions.',
  fields: (t) => ({
    config: t.field({ type: 'JSON', resolve: (r) => r.config }),
    datasetChecksum: t.exposeString('datasetChecksum', { nullable: true, description: 'sha256 of the data file.' }),
    versions: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.versions }),
  }),
});

/** What preprocessing resolved, else what the config asked for (a run that has not reached preprocessing). */
function usesVetting(run: TrainingRunRecord): boolean {
  return run.details?.usesVettingFeatures ?? run.config.useVettingFeatures;
}

export const TrainingRun = builder.objectRef<TrainingRunRecord>('TrainingRun').implement({
  description: 'One immutable training of one session config.',
  fields: (t) => ({
    id: t.exposeID('id'),
    sessionId: t.exposeID('sessionId'),
    status: t.field({ type: RunStatus, resolve: (r) => r.status }),
    stage: t.field({ type: Stage, resolve: (r) => r.stage }),
    progress: t.exposeFloat('progress'),
    step: t.exposeInt('step'),
    totalSteps: t.exposeInt('totalSteps'),
    message: t.exposeString('message', { nullable: true }),
    attempt: t.exposeInt('attempt', {
      description:
        'Which try this is: 1, then one more each time a queue retries the run from the start after its worker died (TRAINING_ATTEMPTS).',
    }),
    queuePosition: t.int({
      nullable: true,
      resolve: (r, _a, { services }) => (r.status === 'QUEUED' ? services.training.queuePosition(r.id) : null),
    }),
    modelType: t.exposeString('modelType'),
    datasetId: t.exposeString('datasetId'),
    hyperparameters: t.field({
      type: 'JSON',
      resolve: (r) => r.config.hyperparameters,
    }),
    features: t.stringList({
      nullable: true,
      description: 'The features the model used (null until preprocessing resolved them).',
      resolve: (r) => r.details?.features ?? r.config.features,
    }),
    usesVettingFeatures: t.boolean({ resolve: (r) => usesVetting(r) }),
    error: t.exposeString('error', { nullable: true, description: 'Why a FAILED run failed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    timings: t.field({ type: TimingsRef, nullable: true, resolve: (r) => r.timings }),
    metrics: t.field({
      type: MetricsRef,
      nullable: true,
      resolve: (r) => (r.metrics ? { ...r.metrics, usesVettingFeatures: usesVetting(r) } : null),
    }),
    featureImportance: t.field({
      type: [FeatureImportance],
      nullable: true,
      resolve: (r) => r.featureImportance,
    }),
    history: t.field({
      type: [HistoryPointRef],
      description: 'Loss curve: per step of the finished model, or from progress events while it runs.',
      resolve: async (r, _a, { services }) => {
        const stored = r.details?.history;
        if (stored) return stored;
        // One point per step: a heartbeat during a long step repeats that step's event.
        const points = new Map<number, HistoryPoint>();
        for (const e of await services.runs.events(r.id)) {
          if (e.stage !== 'TRAINING' || e.step <= 0 || points.has(e.step)) continue;
          points.set(e.step, {
            step: e.step,
            loss: e.metrics?.loss,
            valLoss: e.metrics?.valLoss,
            valAccuracy: e.metrics?.valAccuracy,
          });
        }
        return [...points.values()];
      },
    }),
    events: t.field({
      type: [TrainingProgress],
      description: 'Every persisted progress event.',
      resolve: (r, _a, { services }) => services.runs.events(r.id),
    }),
    splitCounts: t.field({
      type: SplitCountsRef,
      nullable: true,
      resolve: (r) => r.details?.splitCounts ?? null,
    }),
    explanation: t.field({
      type: ExplanationInfoRef,
      nullable: true,
      description: 'How featureImportance was computed (null until the run succeeded).',
      resolve: (r) => r.details?.explanation ?? null,
    }),
    warnings: t.stringList({
      description:
        'Known weaknesses of the run that did not stop it, e.g. a class with very few rows (set when the run starts).',
      resolve: (r) => r.details?.warnings ?? [],
    }),
    timeBudgetSeconds: t.int({
      description:
        "Seconds the run may train before it is stopped: its session's maxTrainingSeconds when set, else MAX_TRAINING_SECONDS.",
      resolve: (r, _a, { services }) => services.sessions.timeBudget(r.config.maxTrainingSeconds).seconds,
    }),
    reproducibility: t.field({ type: Reproducibility, resolve: (r) => r }),
  }),
});

export const TrainingRunConnection = builder.objectRef<TrainingRunPage>('TrainingRunConnection').implement({
  description: 'A page of runs, newest first; pass the last id as `after` for the next page.',
  fields: (t) => ({
    nodes: t.field({ type: [TrainingRun], resolve: (c) => c.runs }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
    totalCount: t.exposeInt('totalCount'),
    endCursor: t.id({ nullable: true, resolve: (c) => c.runs.at(-1)?.id ?? null }),
  }),
});

builder.queryFields((t) => ({
  trainingRun: t.field({
    type: TrainingRun,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.runs.getFor(caller, id),
  }),
  trainingRuns: t.field({
    type: TrainingRunConnection,
    description: `A session's training runs, newest first: a page of at most ${String(MAX_RUNS_PAGE)}.`,
    args: {
      sessionId: t.arg.id({ required: true }),
      first: t.arg.int({ defaultValue: DEFAULT_RUNS_PAGE, required: true }),
      after: t.arg.id(),
    },
    resolve: async (_root, { sessionId, first, after }, { services, caller }) => {
      await services.sessions.require(caller, sessionId);
      return services.runs.list(sessionId, first, after ?? null);
    },
  }),
}));

builder.mutationFields((t) => ({
  startTraining: t.field({
    type: TrainingRun,
    description:
      "Snapshots the session's config into a new run and queues it. CONFLICT while another run of the session is active.",
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, { services, caller }) => services.training.start(caller, sessionId),
  }),
  cancelTraining: t.field({
    type: TrainingRun,
    args: { runId: t.arg.id({ required: true }) },
    resolve: (_root, { runId }, { services, caller }) => services.training.cancel(caller, runId),
  }),
}));

builder.subscriptionField('trainingProgress', (t) =>
  t.field({
    type: TrainingProgress,
    description: 'Live progress: the current snapshot first, then every event; completes after the terminal status.',
    args: { runId: t.arg.id({ required: true }) },
    subscribe: (_root, { runId }, { services, caller }) => services.trainingProgress.subscribe(caller, runId),
    resolve: (event) => event,
  }),
);
