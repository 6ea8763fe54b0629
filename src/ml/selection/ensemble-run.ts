/**
 * A soft_voting run: no member is refitted. The members' stored pipelines predict the run's test split (the same
 * rows they were evaluated on: same dataset, task, split and seed), their probabilities are averaged with the
 * weights, and the ensemble gets what any run gets: metrics, held-out predictions, permutation importance (the
 * ensemble predicts every shuffled copy) and an artefact whose predictor explains rows by sampling Shapley values.
 * decisionTuning MACRO_F1 fits its class scales on the members' out-of-fold probabilities averaged with the weights.
 */
import { getModelSpec, OOF_WEIGHTS, resolveParams } from '../catalog.js';
import { badInput } from '../../domain/errors.js';
import { featureMatrix, type LabeledTable } from '../data/dataset.js';
import { checkedSplit } from '../data/split.js';
import { argmaxRows, evaluate, jsonSafe, macroF1, type Metrics } from '../evaluate.js';
import { sharesOfPositiveDrops } from '../importance.js';
import { buildSoftVoting, unionFeatures } from '../models/soft-voting.js';
import {
  explainPermutation,
  heldOutPredictions,
  packArtifact,
  predictInSteps,
  taskTable,
  type FeatureImportanceEntry,
  type PipelineArtifact,
  type PipelineConfig,
  type PipelineHooks,
  type PipelineResult,
} from '../pipeline.js';
import { decisionProbabilities } from '../predictor.js';
import { fitPreprocessor } from '../preprocess.js';
import { takeLabels, takeRows, throwIfAborted, type ModelTypeId } from '../types.js';
import { tuneDecision } from './decision-tuning.js';
import { fitVotingWeights, softVote } from './ensemble.js';

/** Weights "oof" search a 0.1-step grid over the simplex: 6 members are 3,003 weightings, 10 would be 92,378. */
export const MAX_OOF_WEIGHTED_MEMBERS = 6;

export interface SoftVotingMemberInput {
  runId: string;
  artifact: PipelineArtifact;
  /** The member's out-of-fold probabilities over the train + validation rows (in row order), when it has them. */
  outOfFold?: Float64Array;
}

export type WeightsFrom = 'EQUAL' | 'GIVEN' | 'OUT_OF_FOLD';

/** What a soft_voting run stores about its members (details.ensemble). */
export interface EnsembleInfo {
  members: { runId: string; modelType: ModelTypeId; weight: number }[];
  weightsFrom: WeightsFrom;
  /** OUT_OF_FOLD: macro-F1 of the fitted and of equal weights on the members' out-of-fold rows. */
  outOfFold: { rows: number; macroF1: number; equalWeightsMacroF1: number } | null;
  description: string;
}

interface ResolvedWeights {
  weights: number[];
  from: WeightsFrom;
  outOfFold: EnsembleInfo['outOfFold'];
}

/**
 * Every member's out-of-fold probabilities, checked to cover the same `rows` train + validation rows (the members
 * share split and seed, so the same rows in the same order; each row's probability is out-of-fold for its member),
 * calibrated and decision-scaled as the member's predictor treats its test rows (the stored batch is the model's).
 */
function membersOutOfFold(
  members: readonly SoftVotingMemberInput[],
  rows: number,
  numClasses: number,
  what: string,
  field: string,
): Float64Array[] {
  return members.map((m) => {
    if (m.outOfFold?.length !== rows * numClasses)
      throw badInput(
        `${what} needs every member's out-of-fold predictions over the same ${rows} train + validation rows: ` +
          `run ${m.runId} ${m.outOfFold ? `has ${m.outOfFold.length / numClasses}` : 'was trained without cvFolds'}.`,
        field,
      );
    return decisionProbabilities(m.artifact, m.outOfFold);
  });
}

/** The members' weights as the run's `weights` parameter says (fitted on out-of-fold rows for "oof"). */
export function resolveWeights(
  weights: number[] | typeof OOF_WEIGHTS | null,
  members: readonly SoftVotingMemberInput[],
  learnLabels: Int32Array,
  numClasses: number,
): ResolvedWeights {
  if (weights === null) return { weights: members.map(() => 1 / members.length), from: 'EQUAL', outOfFold: null };
  if (weights !== OOF_WEIGHTS) {
    const total = weights.reduce((a, b) => a + b, 0);
    if (weights.length !== members.length || !(total > 0))
      throw badInput(
        `weights needs one non-negative number per member (${members.length}), adding up to more than 0; got [${weights.join(', ')}].`,
        'hyperparameters.weights',
      );
    return { weights: weights.map((w) => w / total), from: 'GIVEN', outOfFold: null };
  }
  if (members.length > MAX_OOF_WEIGHTED_MEMBERS)
    throw badInput(
      `weights "oof" fits the weights of at most ${MAX_OOF_WEIGHTED_MEMBERS} members (${members.length} given); give the weights, or leave them equal.`,
      'hyperparameters.weights',
    );
  const rows = learnLabels.length;
  const oof = membersOutOfFold(members, rows, numClasses, 'weights "oof"', 'hyperparameters.weights');
  const fitted = fitVotingWeights(oof, learnLabels, numClasses);
  const equal = macroF1(learnLabels, argmaxRows(softVote(oof), numClasses), numClasses);
  return {
    weights: fitted.weights,
    from: 'OUT_OF_FOLD',
    outOfFold: { rows, macroF1: fitted.score, equalWeightsMacroF1: equal },
  };
}

const seconds = (start: number) => (performance.now() - start) / 1000;

export async function trainSoftVoting(
  table: LabeledTable,
  config: PipelineConfig,
  members: readonly SoftVotingMemberInput[],
  hooks: PipelineHooks = {},
): Promise<PipelineResult & { ensemble: EnsembleInfo }> {
  const { signal } = hooks;
  const stage = hooks.onStage ?? (() => undefined);
  const params = resolveParams('soft_voting', config.hyperparameters);
  if (members.length !== params.members.length || members.some((m, i) => m.runId !== params.members[i]))
    throw new Error('the member artefacts do not match the members of the run');

  stage('PREPROCESSING', `Splitting by star as the ${members.length} members did`);
  let started = performance.now();
  const data = taskTable(table, config.task);
  for (const m of members) {
    if (m.artifact.classes.join('\u0000') !== data.classes.join('\u0000'))
      throw badInput(
        `Member run ${m.runId} predicts ${m.artifact.classes.join(', ')}; this run's task has ${data.classes.join(', ')}.`,
        'hyperparameters.members',
      );
  }
  const features = unionFeatures(members.map((m) => m.artifact));
  const X = featureMatrix(data, features);
  const { split, warnings } = checkedSplit(data.labels, data.groups, data.classes, config.split, config.seed);
  const rawTrain = takeRows(X, split.train);
  const rawTest = takeRows(X, split.test);
  const ytest = takeLabels(data.labels, split.test);
  // The members preprocess for themselves: the ensemble's own preprocessor only keeps the training ranges.
  const preprocessor = fitPreprocessor(rawTrain, { impute: false, scale: false });
  const learnRows = Int32Array.from([...split.train, ...split.validation]).sort();
  const preprocessSeconds = seconds(started);
  throwIfAborted(signal);

  const k = data.classes.length;
  stage('TRAINING', `Averaging ${members.length} stored members (nothing is refitted)`);
  started = performance.now();
  const learnLabels = takeLabels(data.labels, learnRows);
  const resolved = resolveWeights(params.weights, members, learnLabels, k);
  const model = await buildSoftVoting(members, resolved.weights);
  const fitSeconds = seconds(started);

  stage('EVALUATING', `Evaluating on ${split.test.length} held-out rows`);
  started = performance.now();
  const proba = predictInSteps(model, rawTest, k, signal, (step, totalSteps, rows) =>
    hooks.onStageStep?.('EVALUATING', {
      step,
      totalSteps,
      message: `Every member predicted ${rows} of ${rawTest.rows} held-out rows`,
    }),
  );
  // Decision tuning as any run's: the ensemble's own out-of-fold probabilities are its members' averaged with its
  // weights (the ensemble has no validation predictions of its own), the test split only scored.
  const tuned =
    config.decisionTuning === 'MACRO_F1'
      ? tuneDecision(
          {
            on: 'OUT_OF_FOLD',
            labels: learnLabels,
            proba: softVote(
              membersOutOfFold(members, learnRows.length, k, 'decisionTuning MACRO_F1', 'decisionTuning'),
              resolved.weights,
            ),
          },
          { labels: ytest, proba },
          data.classes,
        )
      : undefined;
  const trainCounts = new Array<number>(k).fill(0);
  for (const r of split.train) trainCounts[data.labels[r]]++;
  const majorityClass = trainCounts.indexOf(Math.max(...trainCounts));
  const metrics = evaluate(ytest, tuned ? tuned.testProba : proba, data.classes, { majorityClass });
  const evaluateSeconds = seconds(started);
  throwIfAborted(signal);

  stage('EXPLAINING', `Permutation importance of ${features.length} features (the ensemble predicts every copy)`);
  started = performance.now();
  const families = members.map((m) => getModelSpec(m.artifact.modelType).family);
  const explained = explainPermutation(
    model,
    rawTest,
    ytest,
    proba,
    k,
    families.includes('kernel') ? 'kernel' : 'ensemble',
    config.seed,
    signal,
    (done, total, message) => hooks.onStageStep?.('EXPLAINING', { step: done, totalSteps: total, message }),
  );
  const { result: permutation, info: permutationInfo } = explained;
  const own = model.featureImportance();
  const shares = sharesOfPositiveDrops(permutation.mean);
  const featureImportance: FeatureImportanceEntry[] = features
    .map((feature, j) => ({
      feature,
      importance: own[j],
      permutationMean: permutation.mean[j],
      permutationStd: permutation.std[j],
      permutationCi95: permutation.ci95[j],
      permutationImportance: shares[j],
    }))
    .sort((a, b) => b.importance - a.importance || b.permutationImportance - a.permutationImportance);
  const explainSeconds = seconds(started);

  const usesVettingFeatures = members.some((m) => m.artifact.usesVettingFeatures);
  const artifact = packArtifact(data, {
    modelType: 'soft_voting',
    config,
    features,
    usesVettingFeatures,
    preprocessor: preprocessor.toJSON(),
    model: model.toJSON(),
    rawTrain,
    classScales: tuned?.classScales,
  });
  const memberInfo = members.map((m, i) => ({
    runId: m.runId,
    modelType: m.artifact.modelType,
    weight: resolved.weights[i],
  }));
  const how =
    resolved.from === 'EQUAL'
      ? 'equal weights'
      : resolved.from === 'GIVEN'
        ? 'the given weights (normalised)'
        : `weights fitted for macro-F1 on the members' out-of-fold predictions (${resolved.outOfFold?.rows ?? 0} rows, steps of 0.1)`;
  return {
    artifact,
    features,
    usesVettingFeatures,
    metrics: jsonSafe(metrics) as unknown as Metrics,
    featureImportance: jsonSafe(featureImportance) as unknown as FeatureImportanceEntry[],
    history: [],
    splitCounts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    warnings,
    permutationRows: permutationInfo.rowsPerRepeat,
    explanation: { permutation: permutationInfo },
    heldOut: heldOutPredictions(data, split.test, ytest, proba, { calibrated: false, classScales: tuned?.classScales }),
    ...(tuned ? { decisionTuning: tuned.info } : {}),
    ensemble: {
      members: memberInfo,
      weightsFrom: resolved.from,
      outOfFold: resolved.outOfFold,
      description:
        `Soft voting over ${members.length} stored runs with ${how}: each member predicts with its own ` +
        "preprocessing and calibration, nothing is refitted, and the members are copied into this run's model. " +
        'Importance is the macro-F1 drop of the ensemble; single predictions are explained by sampling Shapley values.',
    },
    timings: {
      preprocessSeconds,
      fitSeconds,
      evaluateSeconds,
      explainSeconds,
      permutationSeconds: permutationInfo.seconds,
    },
  };
}
