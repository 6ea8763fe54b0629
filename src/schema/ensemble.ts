/**
 * soft_voting runs: their members and weights (TrainingRun.ensemble), and the held-out test predictions every run
 * stores (TrainingRun.testPredictions), with which a client can check an ensemble against its members. Thin: the
 * ensemble is built in the training worker (src/ml/selection/ensemble-run.ts) and stored with the run.
 */
import { builder } from './builder.js';
import type { HeldOutPredictions } from '../domain/run.js';
import type { EnsembleInfo } from '../ml/selection/ensemble-run.js';
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

const TestPredictions = builder
  .objectRef<{ heldOut: HeldOutPredictions; classes: string[] }>('TestPredictions')
  .implement({
    description:
      "The held-out test split as the run stored it (what compareRuns reads): every row's id, true class and " +
      'predicted probabilities.',
    fields: (t) => ({
      classes: t.stringList({ resolve: (p) => p.classes }),
      rowIds: t.stringList({ resolve: (p) => p.heldOut.rowIds }),
      labels: t.stringList({
        description: 'The true class of each row.',
        resolve: (p) => p.heldOut.labels.map((y) => p.classes[y] ?? String(y)),
      }),
      probabilities: t.floatList({
        description: 'rows × classes, row-major, in the order of `classes` (calibrated when `calibrated`).',
        resolve: (p) => p.heldOut.proba,
      }),
      calibrated: t.boolean({ resolve: (p) => p.heldOut.calibrated }),
    }),
  });

builder.objectField(TrainingRun, 'testPredictions', (t) =>
  t.field({
    type: TestPredictions,
    nullable: true,
    description: 'Succeeded runs: the predictions of the held-out test rows its metrics scored.',
    resolve: (r) => {
      const heldOut = r.details?.heldOut;
      const classes = r.metrics?.classes;
      return heldOut && classes ? { heldOut, classes } : null;
    },
  }),
);
