/**
 * A soft-voting ensemble of stored pipelines (scikit-learn's VotingClassifier(voting='soft') over fitted models).
 * Its input is raw rows over the union of the members' features: each member takes its own columns and applies its
 * own fixes, preprocessing and calibration (its Predictor), and the ensemble averages their class probabilities with
 * the weights. The members' artefacts are stored inside the ensemble's, so it keeps working after a member run is
 * deleted (with its session, or by the idle-session sweep).
 */
import { checkArtifact } from '../artifact.js';
import type { SoftVotingParams } from '../catalog.js';
import type { PipelineArtifact } from '../pipeline.js';
import { Predictor } from '../predictor.js';
import { softVote } from '../selection/ensemble.js';
import type { HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../types.js';
import { StoredFields } from './stored.js';

const FORMAT_VERSION = 1;

export interface SoftVotingMember {
  runId: string;
  /** Normalised: the members' weights sum to 1. */
  weight: number;
  predictor: Predictor;
}

/** The ensemble's features: the first member's, then each other member's not seen yet. */
export function unionFeatures(artifacts: readonly PipelineArtifact[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const artifact of artifacts)
    for (const feature of artifact.features)
      if (!seen.has(feature)) {
        seen.add(feature);
        out.push(feature);
      }
  return out;
}

export class SoftVotingClassifier implements TrainedClassifier {
  readonly modelType = 'soft_voting' as const;
  readonly numClasses: number;
  readonly numFeatures: number;
  readonly params: SoftVotingParams;
  /** For each member, the ensemble column of each of its features. */
  private readonly columns: Int32Array[];

  constructor(
    readonly features: readonly string[],
    readonly members: readonly SoftVotingMember[],
  ) {
    if (members.length === 0) throw new RangeError('soft voting needs at least one member');
    const classes = members[0].predictor.classes;
    for (const m of members)
      if (m.predictor.classes.join('\u0000') !== classes.join('\u0000'))
        throw new RangeError(`member ${m.runId} predicts other classes than ${members[0].runId}`);
    const index = new Map(features.map((f, j) => [f, j]));
    this.columns = members.map((m) =>
      Int32Array.from(m.predictor.features, (f) => {
        const j = index.get(f);
        if (j === undefined) throw new RangeError(`member ${m.runId} feature ${f} is not an ensemble feature`);
        return j;
      }),
    );
    this.numClasses = classes.length;
    this.numFeatures = features.length;
    this.params = { members: members.map((m) => m.runId), weights: members.map((m) => m.weight) };
  }

  /** Each member's probabilities (its own preprocessing and calibration) of raw rows over the ensemble's features. */
  memberProbabilities(X: Matrix): Float64Array[] {
    return this.members.map((m, i) => {
      const cols = this.columns[i];
      const data = new Float64Array(X.rows * cols.length);
      for (let r = 0; r < X.rows; r++)
        for (let j = 0; j < cols.length; j++) data[r * cols.length + j] = X.data[r * X.cols + cols[j]];
      return m.predictor.predictMatrix({ rows: X.rows, cols: cols.length, data });
    });
  }

  predictProba(X: Matrix): Float64Array {
    return softVote(
      this.memberProbabilities(X),
      this.members.map((m) => m.weight),
    );
  }

  /** The members' own importances (gain, impurity, |weights|) on the ensemble's features, weighted, summing to 1. */
  featureImportance(): Float64Array {
    const out = new Float64Array(this.numFeatures);
    this.members.forEach((m, i) => {
      const own = m.predictor.model.featureImportance();
      this.columns[i].forEach((j, f) => (out[j] += m.weight * (own[f] ?? 0)));
    });
    const total = out.reduce((a, b) => a + b, 0);
    if (total > 0) for (let j = 0; j < out.length; j++) out[j] /= total;
    return out;
  }

  history(): HistoryPoint[] {
    return [];
  }

  toJSON(): SerializedModel {
    return {
      modelType: 'soft_voting',
      formatVersion: FORMAT_VERSION,
      params: this.params,
      members: this.members.map((m) => ({ runId: m.runId, weight: m.weight, artifact: m.predictor.artifact })),
    };
  }

  /** Frees the members' TensorFlow.js weights (neural members). */
  dispose(): void {
    for (const m of this.members) m.predictor.dispose();
  }
}

/** Builds the ensemble from member artefacts; `weights` (one per member, ≥ 0, sum > 0) are normalised. */
export async function buildSoftVoting(
  members: readonly { runId: string; artifact: PipelineArtifact }[],
  weights: readonly number[],
): Promise<SoftVotingClassifier> {
  const total = weights.reduce((a, b) => a + b, 0);
  if (weights.length !== members.length || !(total > 0) || weights.some((w) => !(w >= 0)))
    throw new RangeError('one non-negative weight per member, adding up to more than 0');
  const predictors = await Promise.all(members.map((m) => Predictor.load(m.artifact)));
  return new SoftVotingClassifier(
    unionFeatures(members.map((m) => m.artifact)),
    members.map((m, i) => ({ runId: m.runId, weight: weights[i] / total, predictor: predictors[i] })),
  );
}

/** The ensemble's features are the union of its members' (in member order), as the artefact's `features` list them. */
export async function loadSoftVoting(json: SerializedModel): Promise<SoftVotingClassifier> {
  const stored = StoredFields.of(json, FORMAT_VERSION);
  const members = stored.records('members').map((m) => ({
    runId: m.string('runId'),
    weight: m.number('weight'),
    artifact: checkArtifact(m.object('artifact')),
  }));
  if (members.length === 0) stored.fail('members');
  return buildSoftVoting(
    members,
    members.map((m) => m.weight),
  );
}
