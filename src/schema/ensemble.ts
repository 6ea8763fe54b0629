/**
 * soft_voting runs: their members and weights (TrainingRun.ensemble), and the held-out test predictions every run
 * stores (TrainingRun.testPredictions), with which a client can check an ensemble against its members. Thin: the
 * ensemble is built in the training worker (src/ml/selection/ensemble-run.ts) and stored with the run.
 */
import { builder } from './builder.js';
import type { EnsembleInfo } from '../ml/selection/ensemble-run.js';
import {
  DEFAULT_TEST_PREDICTIONS_PAGE,
  MAX_TEST_PREDICTIONS_PAGE,
  type TestPredictionsPage,
} from '../services/training/held-out.js';
import { TrainingRun } from './training-run.js';

type Member = EnsembleInfo['members'][number];

const EnsembleWeights = builder.enumType('EnsembleWeights', {
  values: {
    EQUAL: { description: 'Every member counts the same.' },
    GIVEN: { description: 'The weights given (normalised to sum 1).' },
    OUT_OF_FOLD: { description: 'Fitted for macro-F1 on the members\' out-of-fold predictions (weights "oof").' },
  } as const,
});

const EnsembleMember = builder.objectRef<Member>('EnsembleMember').implement({
  fields: (t) => ({
    runId: t.exposeID('runId'),
    run: t.field({
      type: TrainingRun,
      nullable: true,
      description: 'Null when the member run was deleted since (the ensemble keeps its own copy of its model).',
      resolve: (m, _a, { services, caller }) => services.runs.getFor(caller, m.runId),
    }),
    modelType: t.exposeString('modelType'),
    weight: t.exposeFloat('weight', { description: "Normalised: the members' weights sum to 1." }),
  }),
});

const Ensemble = builder.objectRef<EnsembleInfo>('Ensemble').implement({
  description: 'A soft_voting run: the runs whose class probabilities it averages, and how.',
  fields: (t) => ({
    members: t.field({ type: [EnsembleMember], resolve: (e) => e.members }),
    weightsFrom: t.field({ type: EnsembleWeights, resolve: (e) => e.weightsFrom }),
    outOfFoldRows: t.int({
      nullable: true,
      description: 'OUT_OF_FOLD: the train + validation rows the weights were fitted on.',
      resolve: (e) => e.outOfFold?.rows ?? null,
    }),
    outOfFoldMacroF1: t.float({
      nullable: true,
      description: 'OUT_OF_FOLD: macro-F1 of the fitted weights on those rows.',
      resolve: (e) => e.outOfFold?.macroF1 ?? null,
    }),
    equalWeightsOutOfFoldMacroF1: t.float({
      nullable: true,
      description: 'OUT_OF_FOLD: macro-F1 of equal weights on the same rows, for comparison.',
      resolve: (e) => e.outOfFold?.equalWeightsMacroF1 ?? null,
    }),
    description: t.exposeString('description'),
  }),
});

builder.objectField(TrainingRun, 'ensemble', (t) =>
  t.field({
    type: Ensemble,
    nullable: true,
    description: 'soft_voting runs: members and weights; null for other model types.',
    resolve: (r) => r.details?.ensemble ?? null,
  }),
);

const TestPredictions = builder.objectRef<TestPredictionsPage>('TestPredictions').implement({
  description:
    "A page of the held-out test split as the run stored it (what compareRuns reads): each row's id, true class and " +
    'predicted probabilities.',
  fields: (t) => ({
    classes: t.stringList({ resolve: (p) => p.classes }),
    totalRows: t.exposeInt('totalRows', { description: 'Rows of the whole test split.' }),
    offset: t.exposeInt('offset', { description: 'Index of the first row of this page.' }),
    rowIds: t.stringList({ resolve: (p) => p.rowIds }),
    labels: t.stringList({
      description: 'The true class of each row.',
      resolve: (p) => p.labels.map((y) => p.classes[y] ?? String(y)),
    }),
    probabilities: t.floatList({
      description:
        'rows × classes, row-major, in the order of `classes` (calibrated when `calibrated`; before decision tuning: ' +
        'see `classScales`).',
      resolve: (p) => p.proba,
    }),
    calibrated: t.exposeBoolean('calibrated'),
    classScales: t.floatList({
      nullable: true,
      description:
        "decisionTuning: the per-class scales the run's decision applies to `probabilities` (then renormalised) — " +
        'its metrics scored that decision; null when the run is not tuned.',
      resolve: (p) => p.classScales,
    }),
  }),
});

builder.objectField(TrainingRun, 'testPredictions', (t) =>
  t.field({
    type: TestPredictions,
    nullable: true,
    description: `Succeeded runs: a page of the predictions of the held-out test rows its metrics scored, at most ${MAX_TEST_PREDICTIONS_PAGE.toLocaleString('en-US')} rows.`,
    args: {
      offset: t.arg.int({ defaultValue: 0, required: true }),
      limit: t.arg.int({
        defaultValue: DEFAULT_TEST_PREDICTIONS_PAGE,
        required: true,
        description: `At most ${MAX_TEST_PREDICTIONS_PAGE.toLocaleString('en-US')}.`,
      }),
    },
    resolve: (r, { offset, limit }, { services }) => services.runs.testPredictions(r, offset, limit),
  }),
);
