import { builder } from './builder.js';
import type { SplitSizes as SplitSizesShape, Task as TaskValue } from '../domain/data.js';
import { badInput } from '../domain/errors.js';
import { missingForTraining, readyToTrain } from '../domain/run.js';
import type { StepperProgress } from '../domain/session.js';
import type { SessionRecord, TestData, TestRow, TrainedRunRef } from '../services/sessions.js';
import { DEFAULT_RUNS_PAGE, MAX_RUNS_PAGE, type TrainingRunRecord } from '../services/training/index.js';
import { Dataset } from './dataset.js';
import { TrainingRun, TrainingRunConnection } from './training-run.js';

export const Task = builder.enumType('Task', {
  values: {
    THREE_CLASS: { description: 'false_positive / candidate / planet' },
    BINARY: { description: 'planet vs false_positive on dispositioned rows (candidates excluded)' },
  } as const satisfies Record<TaskValue, { description: string }>,
});

export const CalibrationMethod = builder.enumType('CalibrationMethod', {
  values: {
    SIGMOID: { value: 'sigmoid', description: "Platt scaling: a logistic curve of the model's probability." },
    ISOTONIC: {
      value: 'isotonic',
      description: 'Isotonic regression: a non-decreasing step function (needs more rows).',
    },
  } as const,
});

export const CalibrateOn = builder.enumType('CalibrateOn', {
  values: {
    VALIDATION: { description: 'The validation split (split.validation > 0).' },
    OUT_OF_FOLD: { description: "Cross-validation's out-of-fold predictions of train + validation (needs cvFolds)." },
  } as const,
});

export const DecisionTuning = builder.enumType('DecisionTuning', {
  values: {
    NONE: { description: 'The predicted class is the most probable one.' },
    MACRO_F1: {
      description:
        "Per-class probability scales fitted for macro-F1 on held-out rows (cross-validation's out-of-fold predictions with cvFolds, else the validation split; never the test split); the run's metrics, predictions and probabilities use the scaled probabilities, renormalised per row.",
    },
  } as const,
});

export const RefitMode = builder.enumType('RefitMode', {
  values: {
    NONE: { description: 'Predictions use the evaluated model (trained on the training split).' },
    TRAIN_VALIDATION: { description: 'After evaluation, refit on train + validation for predictions.' },
    ALL_LABELLED: {
      description: 'After evaluation, refit on every labelled row (the test split too) for predictions.',
    },
  } as const,
});

const SplitSizes = builder.objectRef<SplitSizesShape>('SplitSizes').implement({
  fields: (t) => ({
    train: t.exposeFloat('train'),
    validation: t.exposeFloat('validation'),
    test: t.exposeFloat('test'),
  }),
});

const SplitSizesInput = builder.inputType('SplitSizesInput', {
  fields: (t) => ({
    train: t.float({ required: true }),
    validation: t.float({ required: true }),
    test: t.float({ required: true }),
  }),
});

export const DataSource = builder.enumType('DataSource', {
  values: {
    NASA: { value: 'nasa', description: 'A NASA table (kepler, k2, tess).' },
    USER: { value: 'user', description: 'An uploaded CSV.' },
  } as const,
});

const StepProgressRef = builder.objectRef<StepperProgress>('StepProgress').implement({
  fields: (t) => ({
    step1Complete: t.exposeBoolean('step1', { description: 'The data is chosen.' }),
    step2Complete: t.exposeBoolean('step2', { description: 'A model was chosen.' }),
    step3Complete: t.exposeBoolean('step3', { description: 'Hyperparameters or preprocessing were set.' }),
  }),
});

const SessionWorkflow = builder.objectRef<SessionRecord>('SessionWorkflow').implement({
  description: "The original web client's stepper: 1 data → 2 model → 3 hyperparameters, then training.",
  fields: (t) => ({
    currentStep: t.int({ resolve: (s) => s.workflow.currentStep }),
    maxStep: t.int({
      description: '3 once the data is chosen (a NASA table or an attached upload), 2 with only a data source, else 1.',
      resolve: (s, _a, { services }) => services.sessions.maxStep(s),
    }),
    trainingReady: t.boolean({
      description: 'A model is chosen, the data is configured, and the current step is the last one.',
      resolve: (s, _a, { services }) => services.sessions.trainingReady(s),
    }),
    stepProgress: t.field({ type: StepProgressRef, resolve: (s) => s.workflow.stepProgress }),
    dataSource: t.field({
      type: DataSource,
      nullable: true,
      resolve: (s, _a, { services }) => services.sessions.dataSourceOf(s),
    }),
    uploadedDataset: t.field({
      type: Dataset,
      nullable: true,
      description: 'The upload the session trains on (user data source).',
      resolve: async (s, _a, { services }) => {
        const dataset = s.datasetId ? await services.datasets.get(s.datasetId) : null;
        return dataset?.kind === 'UPLOAD' ? dataset : null;
      },
    }),
    preprocessingConfig: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.workflow.preprocessingConfig }),
    testDatasetId: t.string({
      nullable: true,
      description: 'What the results predict; null = the held-out test split.',
      resolve: (s) => s.workflow.testDatasetId,
    }),
  }),
});

const TestDataKind = builder.enumType('TestDataKind', {
  values: {
    HELD_OUT: { description: "The trained run's held-out test split." },
    DATASET: { description: 'A whole dataset chosen as test data.' },
  } as const,
});

const TestRowRef = builder.objectRef<TestRow>('TestRow').implement({
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position in the test data.' }),
    ids: t.field({ type: 'JSON', description: 'Identifying columns (e.g. kepoi_name, kepid).', resolve: (r) => r.ids }),
    values: t.field({
      type: 'JSON',
      description: "The model's features and the id columns (raw values; null when empty).",
      resolve: (r) => r.values,
    }),
    actual: t.exposeString('actual', { nullable: true, description: 'The true class, when the data is labelled.' }),
  }),
});

const TestDataRef = builder.objectRef<TestData>('TestData').implement({
  description: "The rows a session's results predict with its trained model.",
  fields: (t) => ({
    kind: t.field({ type: TestDataKind, resolve: (d) => d.kind }),
    datasetId: t.exposeString('datasetId'),
    runId: t.exposeID('runId'),
    rowCount: t.exposeInt('rowCount', { description: 'Rows in the whole test data.' }),
    rows: t.field({ type: [TestRowRef], resolve: (d) => d.rows }),
  }),
});

const MAX_TEST_ROWS = 10_000;

/** What the session's test data needs of a run: its id, dataset, config snapshot and the features it used. */
function trainedRunRef(run: TrainingRunRecord): TrainedRunRef {
  return { id: run.id, datasetId: run.datasetId, config: run.config, features: run.details?.features ?? [] };
}

export const Session = builder.objectRef<SessionRecord>('Session').implement({
  description: "One user's workflow: the chosen data and model, and its training runs.",
  fields: (t) => ({
    id: t.exposeID('id'),
    datasetId: t.exposeString('datasetId', { nullable: true }),
    dataset: t.field({
      type: Dataset,
      nullable: true,
      resolve: (s, _a, { services }) => (s.datasetId ? services.datasets.get(s.datasetId) : null),
    }),
    modelType: t.exposeString('modelType', { nullable: true }),
    hyperparameters: t.field({ type: 'JSON', resolve: (s) => s.hyperparameters }),
    features: t.exposeStringList('features', {
      nullable: true,
      description: 'Null: the dataset default (physics-only) features.',
    }),
    task: t.field({ type: Task, resolve: (s) => s.task }),
    split: t.field({ type: SplitSizes, resolve: (s) => s.split }),
    seed: t.exposeInt('seed'),
    useVettingFeatures: t.exposeBoolean('useVettingFeatures'),
    cvFolds: t.int({
      nullable: true,
      description: 'Folds of grouped, stratified cross-validation of each run (null: off).',
      resolve: (s) => s.selection.cvFolds,
    }),
    calibration: t.field({ type: CalibrationMethod, nullable: true, resolve: (s) => s.selection.calibration }),
    calibrateOn: t.field({ type: CalibrateOn, resolve: (s) => s.selection.calibrateOn }),
    refit: t.field({ type: RefitMode, resolve: (s) => s.selection.refit }),
    decisionTuning: t.field({ type: DecisionTuning, resolve: (s) => s.selection.decisionTuning }),
    crossMissionDatasetId: t.string({
      nullable: true,
      description: 'The other NASA mission each run is evaluated on with harmonised features (null: none).',
      resolve: (s) => s.selection.crossMission,
    }),
    maxTrainingSeconds: t.int({
      description:
        "Seconds each run may train before it is stopped: the session's maxTrainingSeconds, else the server's MAX_TRAINING_SECONDS.",
      resolve: (s, _a, { services }) => services.sessions.timeBudget(s.selection.maxTrainingSeconds).seconds,
    }),
    warnings: t.stringList({
      description:
        'What to know before training this configuration, e.g. an estimated training time past maxTrainingSeconds (a run would likely be stopped there).',
      resolve: (s, _a, { services }) => services.sessions.warnings(s),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    ready: t.boolean({
      description: 'Whether training can start now.',
      resolve: async (s, _a, { services }) => readyToTrain(s, await services.training.hasActiveRun(s.id)),
    }),
    missing: t.stringList({
      description: 'What must be set before training.',
      resolve: (s) => missingForTraining(s),
    }),
    runs: t.field({
      type: TrainingRunConnection,
      description: `Training runs, newest first: a page of at most ${String(MAX_RUNS_PAGE)}.`,
      args: { first: t.arg.int({ defaultValue: DEFAULT_RUNS_PAGE, required: true }), after: t.arg.id() },
      resolve: (s, { first, after }, { services }) => services.runs.list(s.id, first, after ?? null),
    }),
    workflow: t.field({ type: SessionWorkflow, resolve: (s) => s }),
    testData: t.field({
      type: TestDataRef,
      nullable: true,
      description:
        'The rows the results predict (workflow.testDatasetId, default the held-out test split of latestSuccessfulRun); null before a model is trained.',
      args: {
        offset: t.arg.int({ defaultValue: 0, required: true }),
        limit: t.arg.int({ defaultValue: 100, required: true }),
        runId: t.arg.id({
          description:
            "Another session's succeeded run to predict with (a shared pretrained model); default latestSuccessfulRun.",
        }),
      },
      resolve: async (s, { offset, limit, runId }, { services, caller }) => {
        if (limit < 0 || limit > MAX_TEST_ROWS)
          throw badInput(`limit must be from 0 to ${MAX_TEST_ROWS}, got ${limit}.`, 'limit');
        const run = runId ? await services.runs.requireFor(caller, runId) : await services.runs.latestSucceeded(s.id);
        if (run && run.status !== 'SUCCEEDED')
          throw badInput(`Training run ${run.id} is ${run.status}; only a SUCCEEDED run can predict.`, 'runId');
        return run ? services.sessions.testData(s, trainedRunRef(run), offset, limit) : null;
      },
    }),
    latestRun: t.field({
      type: TrainingRun,
      nullable: true,
      resolve: (s, _a, { services }) => services.runs.latest(s.id),
    }),
    latestSuccessfulRun: t.field({
      type: TrainingRun,
      nullable: true,
      description:
        'The newest SUCCEEDED run: its metrics, confusion matrix, importance and predictions are the session results.',
      resolve: (s, _a, { services }) => services.runs.latestSucceeded(s.id),
    }),
  }),
});

const TestDataInput = builder.inputType('TestDataInput', {
  fields: (t) => ({
    datasetId: t.string({ description: 'A dataset id; null for the held-out test split of the trained run.' }),
  }),
});

const ConfigureSessionInput = builder.inputType('ConfigureSessionInput', {
  description: 'Fields left out keep their value. Choosing another model type resets hyperparameters to its defaults.',
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    datasetId: t.string(),
    modelType: t.string({ description: 'A model id or alias (see `models`).' }),
    hyperparameters: t.field({
      type: 'JSON',
      description: 'snake_case names of the catalog; merged over the current values.',
    }),
    features: t.stringList({ description: 'Feature columns; null or [] for the dataset defaults.' }),
    task: t.field({ type: Task }),
    split: t.field({ type: SplitSizesInput }),
    seed: t.int(),
    useVettingFeatures: t.boolean({ description: 'Allow vetting (leakage) columns as features; the run is marked.' }),
    dataSource: t.field({
      type: DataSource,
      description: 'USER without datasetId: an upload is still to come (the session has no dataset until then).',
    }),
    preprocessingConfig: t.field({
      type: 'JSON',
      description: "The original web client's preprocessing settings (an object), kept with the session.",
    }),
    testData: t.field({ type: TestDataInput, description: 'What the results predict.' }),
    cvFolds: t.int({
      description:
        'Grouped (by star), stratified k-fold cross-validation over train + validation before the fit, 2–10; null or 0: off.',
    }),
    calibration: t.field({
      type: CalibrationMethod,
      description: 'Calibrate the probabilities after the fit; null: none.',
    }),
    calibrateOn: t.field({ type: CalibrateOn, description: 'Where calibrators are fitted (default VALIDATION).' }),
    refit: t.field({
      type: RefitMode,
      description: 'Refit the evaluated configuration for predictions (default NONE).',
    }),
    decisionTuning: t.field({
      type: DecisionTuning,
      description:
        'Tune the decision for macro-F1 (default NONE): MACRO_F1 needs cvFolds (fitted on out-of-fold predictions) or a validation split.',
    }),
    crossMissionDatasetId: t.string({
      description:
        "Another NASA mission (kepler, k2, tess) to evaluate on: a model on the features both missions share (harmonised) is trained on this session's mission and scored there; null: none.",
    }),
    maxTrainingSeconds: t.int({
      description:
        "Seconds each run may train before it is stopped, 1 to the server's MAX_TRAINING_SECONDS; null: MAX_TRAINING_SECONDS. A configuration estimated at more than 4× it is refused.",
    }),
  }),
});

builder.queryField('session', (t) =>
  t.field({
    type: Session,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.sessions.get(caller, id),
  }),
);

builder.queryField('sessionCount', (t) =>
  t.int({ description: 'Sessions stored.', resolve: (_root, _args, { services }) => services.sessions.count() }),
);

builder.mutationFields((t) => ({
  createSession: t.field({
    type: Session,
    description: 'A new session, ready to train with defaults (kepler, random_forest).',
    resolve: (_root, _args, { services, caller }) => services.sessions.create(caller),
  }),
  configureSession: t.field({
    type: Session,
    args: { input: t.arg({ type: ConfigureSessionInput, required: true }) },
    resolve: (_root, { input }, { services, caller }) =>
      services.sessions.configure(caller, {
        sessionId: input.sessionId,
        datasetId: input.datasetId,
        modelType: input.modelType,
        hyperparameters: input.hyperparameters,
        features: input.features,
        task: input.task,
        split: input.split,
        seed: input.seed,
        useVettingFeatures: input.useVettingFeatures,
        dataSource: input.dataSource,
        preprocessingConfig: input.preprocessingConfig,
        testData: input.testData,
        cvFolds: input.cvFolds,
        calibration: input.calibration,
        calibrateOn: input.calibrateOn,
        refit: input.refit,
        crossMissionDatasetId: input.crossMissionDatasetId,
        maxTrainingSeconds: input.maxTrainingSeconds,
        decisionTuning: input.decisionTuning,
      }),
  }),
  nextSessionStep: t.field({
    type: Session,
    description: 'The stepper one step forward, while below workflow.maxStep (else unchanged).',
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, { services, caller }) => services.sessions.nextStep(caller, sessionId),
  }),
  setSessionStep: t.field({
    type: Session,
    description: 'The stepper to `step`, from 1 to workflow.maxStep.',
    args: { sessionId: t.arg.id({ required: true }), step: t.arg.int({ required: true }) },
    resolve: (_root, { sessionId, step }, { services, caller }) => services.sessions.setStep(caller, sessionId, step),
  }),
  deleteSession: t.boolean({
    description: 'Deletes the session with its runs, models and predictions.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.sessions.delete(caller, id),
  }),
}));
