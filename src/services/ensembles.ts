/**
 * soft_voting runs (issue 14 item 3): which runs may be members of an ensemble, checked when it starts, and what
 * its training task carries of them (their stored artefacts, and their out-of-fold predictions for weights "oof").
 * The ensemble's artefact copies the members' artefacts, so deleting a member later (with its session, or by the
 * idle-session sweep, which must not be blocked) leaves the ensemble working.
 */
import type { Store } from '../db/store.js';
import { badInput } from '../domain/errors.js';
import type { RunConfig } from '../domain/run.js';
import { MAX_ENSEMBLE_MEMBERS, MIN_ENSEMBLE_MEMBERS, OOF_WEIGHTS, resolveParams } from '../ml/catalog.js';
import { MAX_OOF_WEIGHTED_MEMBERS } from '../ml/selection/ensemble-run.js';
import { differentRowsReason } from '../ml/selection/compare.js';
import type { Hyperparameters } from '../ml/types.js';
import type { TrainTask } from '../ml/worker.js';
import { evaluatedRows } from './comparisons.js';
import type { ModelStore } from './models.js';
import type { Caller } from './owners.js';
import { readBatchProbabilities } from './prediction-batches.js';
import type { SessionRecord } from './sessions.js';
import type { RunQueries, TrainingRunRecord } from './training/queries.js';

const MEMBERS = 'hyperparameters.members';
const WEIGHTS = 'hyperparameters.weights';

export class EnsembleService {
  constructor(
    private readonly store: Store,
    private readonly runs: RunQueries,
    private readonly models: ModelStore,
  ) {}

  /**
   * The config of a soft_voting run of `session`, after checking its members: 2 to 10 runs the caller can see
   * (NOT_FOUND naming the id otherwise), SUCCEEDED, not ensembles themselves, trained on the session's dataset and
   * evaluated on the same test rows with the same classes. The run is evaluated on its members' task, split and seed.
   */
  async configFor(
    caller: Caller,
    session: Pick<SessionRecord, 'datasetId' | 'task' | 'split' | 'seed' | 'selection'>,
    hyperparameters: Hyperparameters,
  ): Promise<{ config: RunConfig; warnings: string[] }> {
    const { members, weights } = resolveParams('soft_voting', hyperparameters);
    if (members.length < MIN_ENSEMBLE_MEMBERS)
      throw badInput(
        `A soft_voting run averages ${MIN_ENSEMBLE_MEMBERS} to ${MAX_ENSEMBLE_MEMBERS} runs: set hyperparameters.members ` +
          `to the ids of succeeded runs (${members.length} given).`,
        MEMBERS,
      );
    const runs: TrainingRunRecord[] = [];
    for (const id of members) runs.push(await this.runs.requireFor(caller, id));
    for (const run of runs) {
      if (run.status !== 'SUCCEEDED')
        throw badInput(`Member run ${run.id} is ${run.status}; only SUCCEEDED runs can be members.`, MEMBERS);
      if (run.modelType === 'soft_voting')
        throw badInput(
          `Member run ${run.id} is a soft_voting ensemble itself; list its members instead (${run.config.hyperparameters.members?.toString() ?? ''}).`,
          MEMBERS,
        );
      if (run.datasetId !== session.datasetId)
        throw badInput(
          `Member run ${run.id} was trained on dataset ${run.datasetId}, this session trains on ${session.datasetId ?? 'none'}: ` +
            'the members and the ensemble must be evaluated on the same test rows.',
          MEMBERS,
        );
    }
    const [first, ...others] = await Promise.all(runs.map((run) => evaluatedRows(this.runs, run)));
    for (const other of others) {
      const reason = differentRowsReason(first, other);
      if (reason !== null) throw badInput(`soft_voting members must share their test rows: ${reason}`, MEMBERS);
    }
    if (Array.isArray(weights) && weights.length !== members.length)
      throw badInput(
        `weights needs one number per member: ${members.length} members, ${weights.length} weights.`,
        WEIGHTS,
      );
    if (Array.isArray(weights) && !(weights.reduce((a, b) => a + b, 0) > 0))
      throw badInput('weights must add up to more than 0.', WEIGHTS);
    if (weights === OOF_WEIGHTS) {
      if (members.length > MAX_OOF_WEIGHTED_MEMBERS)
        throw badInput(
          `weights "oof" fits the weights of at most ${MAX_OOF_WEIGHTED_MEMBERS} members (${members.length} given); give the weights, or leave them equal.`,
          WEIGHTS,
        );
      const without = runs.find((run) => !run.details?.outOfFoldPredictionId);
      if (without)
        throw badInput(
          `weights "oof" are fitted on the members' out-of-fold predictions: member run ${without.id} was trained without cvFolds.`,
          WEIGHTS,
        );
    }
    const { cvFolds, calibration, refit, crossMission, decisionTuning } = session.selection;
    // The ensemble's decision is tuned on its members' out-of-fold predictions averaged (it has no validation
    // predictions of its own), so every member needs them.
    const untunable =
      decisionTuning === 'MACRO_F1' ? runs.find((run) => !run.details?.outOfFoldPredictionId) : undefined;
    if (untunable)
      throw badInput(
        "decisionTuning MACRO_F1 fits a soft_voting run's class scales on its members' out-of-fold predictions " +
          `averaged: member run ${untunable.id} was trained without cvFolds (train the members with cvFolds, or set decisionTuning NONE).`,
        'decisionTuning',
      );
    const base = runs[0].config;
    const warnings: string[] = [];
    if (cvFolds !== null || calibration !== null || refit !== 'NONE' || crossMission !== null)
      warnings.push(
        "The session's cvFolds, calibration, refit and cross-mission options do not apply to a soft_voting run: its " +
          'members are used as they were trained.',
      );
    if (
      session.task !== base.task ||
      session.seed !== base.seed ||
      JSON.stringify(session.split) !== JSON.stringify(base.split)
    )
      warnings.push(
        `The ensemble is evaluated on its members' test rows (task ${base.task}, seed ${base.seed}), not on the session's split.`,
      );
    return {
      config: {
        modelType: 'soft_voting',
        hyperparameters,
        features: null,
        useVettingFeatures: runs.some((run) => run.config.useVettingFeatures),
        task: base.task,
        split: base.split,
        seed: base.seed,
        decisionTuning,
      },
      warnings,
    };
  }

  /** The members a soft_voting run's training task carries (read when it starts training, after queueing). */
  async membersForTraining(config: RunConfig): Promise<NonNullable<TrainTask['members']>> {
    const { members, weights } = resolveParams('soft_voting', config.hyperparameters);
    const out: NonNullable<TrainTask['members']> = [];
    for (const runId of members) {
      const bytes = await this.models.bytes(runId);
      if (!bytes)
        throw badInput(
          `Member run ${runId} has no stored model any more (deleted after this run was queued).`,
          MEMBERS,
        );
      let outOfFold: Float64Array | null = null;
      if (weights === OOF_WEIGHTS || config.decisionTuning === 'MACRO_F1') {
        const run = await this.runs.get(runId);
        const batch = run?.details?.outOfFoldPredictionId;
        const classes = run?.metrics?.classes.length;
        outOfFold = batch && classes ? await readBatchProbabilities(this.store, batch, classes) : null;
        if (!outOfFold)
          throw badInput(
            `${weights === OOF_WEIGHTS ? 'weights "oof"' : 'decisionTuning MACRO_F1'}: the out-of-fold predictions of member run ${runId} are no longer stored.`,
            weights === OOF_WEIGHTS ? WEIGHTS : 'decisionTuning',
          );
      }
      out.push({
        runId,
        artifactGzip: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        ...(outOfFold ? { outOfFold } : {}),
      });
    }
    return out;
  }
}
