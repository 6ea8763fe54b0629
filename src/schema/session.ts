import { builder } from './builder.js';
import type { SessionRecord } from '../services/sessions.js';
import { Dataset } from './dataset.js';
import { TrainingRun, TrainingRunConnection } from './training-run.js';

export const Task = builder.enumType('Task', {
  values: {
    THREE_CLASS: { description: 'false_positive / candidate / planet' },
    BINARY: { description: 'planet vs false_positive on dispositioned rows (candidates excluded)' },
  } as const,
});

const SplitSizes = builder.objectRef<{ train: number; validation: number; test: number }>('SplitSizes').implement({
  fields: (t) => ({ train: t.exposeFloat('train'), validation: t.exposeFloat('validation'), test: t.exposeFloat('test') }),
});

const SplitSizesInput = builder.inputType('SplitSizesInput', {
  fields: (t) => ({
    train: t.float({ required: true }),
    validation: t.float({ required: true }),
    test: t.float({ required: true }),
  }),
});

export const Session = builder.objectRef<SessionRecord>('Session').implement({
  description: "One user's workflow: the chosen data and model, and its training runs.",
  fields: (t) => ({
    id: t.exposeID('id'),
    datasetId: t.exposeString('datasetId', { nullable: true }),
    dataset: t.field({ type: Dataset, nullable: true, resolve: (s, _a, { services }) => (s.datasetId ? services.datasets.get(s.datasetId) : null) }),
    modelType: t.exposeString('modelType', { nullable: true }),
    hyperparameters: t.field({ type: 'JSON', resolve: (s) => s.hyperparameters }),
    features: t.exposeStringList('features', { nullable: true, description: 'Null: the dataset default (physics-only) features.' }),
    task: t.field({ type: Task, resolve: (s) => s.task }),
    split: t.field({ type: SplitSizes, resolve: (s) => s.split }),
    seed: t.exposeInt('seed'),
    useVettingFeatures: t.exposeBoolean('useVettingFeatures'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    ready: t.boolean({
      description: 'Whether training can start now.',
      resolve: (s, _a, { services }) => services.sessions.missingForTraining(s).length === 0 && !services.training.hasActiveRun(s.id),
    }),
    missing: t.stringList({ description: 'What must be set before training.', resolve: (s, _a, { services }) => services.sessions.missingForTraining(s) }),
    runs: t.field({
      type: TrainingRunConnection,
      description: 'Training runs, newest first.',
      args: { first: t.arg.int({ defaultValue: 20, required: true }), after: t.arg.id() },
      resolve: (s, { first, after }, { services }) => services.training.list(s.id, first, after ? String(after) : null),
    }),
    latestRun: t.field({ type: TrainingRun, nullable: true, resolve: (s, _a, { services }) => services.training.latest(s.id) }),
    latestSuccessfulRun: t.field({
      type: TrainingRun,
      nullable: true,
      description: 'The newest SUCCEEDED run: its metrics, confusion matrix, importance and predictions are the session results.',
      resolve: (s, _a, { services }) => services.training.latestSucceeded(s.id),
    }),
  }),
});

const ConfigureSessionInput = builder.inputType('ConfigureSessionInput', {
  description: 'Fields left out keep their value. Choosing another model type resets hyperparameters to its defaults.',
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    datasetId: t.string(),
    modelType: t.string({ description: 'A model id or alias (see `models`).' }),
    hyperparameters: t.field({ type: 'JSON', description: 'snake_case names of the catalog; merged over the current values.' }),
    features: t.stringList({ description: 'Feature columns; null or [] for the dataset defaults.' }),
    task: t.field({ type: Task }),
    split: t.field({ type: SplitSizesInput }),
    seed: t.int(),
    useVettingFeatures: t.boolean({ description: 'Allow vetting (leakage) columns as features; the run is marked.' }),
  }),
});

builder.queryField('session', (t) =>
  t.field({
    type: Session,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services }) => services.sessions.get(String(id)),
  }),
);

builder.mutationFields((t) => ({
  createSession: t.field({
    type: Session,
    description: 'A new session, ready to train with defaults (kepler, random_forest).',
    resolve: (_root, _args, { services }) => services.sessions.create(),
  }),
  configureSession: t.field({
    type: Session,
    args: { input: t.arg({ type: ConfigureSessionInput, required: true }) },
    resolve: (_root, { input }, { services }) =>
      services.sessions.configure({
        sessionId: String(input.sessionId),
        datasetId: input.datasetId,
        modelType: input.modelType,
        hyperparameters: input.hyperparameters,
        features: input.features,
        task: input.task,
        split: input.split,
        seed: input.seed,
        useVettingFeatures: input.useVettingFeatures,
      }),
  }),
  deleteSession: t.boolean({
    description: 'Deletes the session with its runs, models and predictions.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services }) => services.sessions.delete(String(id)),
  }),
}));
