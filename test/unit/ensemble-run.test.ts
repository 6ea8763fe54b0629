/**
 * soft_voting runs on the real Kepler table (src/ml/selection/ensemble-run.ts, src/ml/models/soft-voting.ts): the
 * ensemble's test probabilities are the weighted mean of its members' stored ones (equal, given, or fitted on their
 * out-of-fold predictions), its metrics score them, its artefact survives a JSON round trip and predicts / explains
 * raw rows over the union of the members' features; the members and weights parameters are checked by the catalog.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { validateHyperparameters } from '../../src/ml/catalog.js';
import { AppError } from '../../src/domain/errors.js';
import { DEFAULT_SPLIT_SIZES, loadNasaTable, type LabeledTable } from '../../src/ml/data/index.js';
import { checkedSplit } from '../../src/ml/data/split.js';
import { argmaxRows, macroF1 } from '../../src/ml/evaluate.js';
import { trainPipeline, type PipelineArtifact, type PipelineResult } from '../../src/ml/pipeline.js';
import { Predictor } from '../../src/ml/predictor.js';
import { resolveWeights, trainSoftVoting, type SoftVotingMemberInput } from '../../src/ml/selection/ensemble-run.js';
import type { Hyperparameters, ModelTypeId } from '../../src/ml/types.js';
import { NASA_DIR } from '../fixtures/nasa.js';

const TREE_FEATURES = ['koi_period', 'koi_depth', 'koi_prad', 'koi_model_snr'];
const LINEAR_FEATURES = ['koi_period', 'koi_duration', 'koi_steff', 'koi_model_snr'];
const SEED = 5;

async function member(
  table: LabeledTable,
  modelType: ModelTypeId,
  hyperparameters: Hyperparameters,
  features: string[],
): Promise<PipelineResult> {
  return trainPipeline(table, {
    modelType,
    hyperparameters: validateHyperparameters(modelType, hyperparameters),
    features,
    useVettingFeatures: false,
    task: 'THREE_CLASS',
    split: DEFAULT_SPLIT_SIZES,
    seed: SEED,
    cvFolds: 3,
  });
}

function ensembleConfig(members: string[], weights: unknown) {
  return {
    modelType: 'soft_voting' as const,
    hyperparameters: validateHyperparameters('soft_voting', { members, weights }),
    features: null,
    useVettingFeatures: false,
    task: 'THREE_CLASS' as const,
    split: DEFAULT_SPLIT_SIZES,
    seed: SEED,
  };
}

const roundTrip = (artifact: PipelineArtifact) => JSON.parse(JSON.stringify(artifact)) as PipelineArtifact;

function rowObject(table: LabeledTable, r: number): Record<string, string> {
  return Object.fromEntries(table.table.columns.map((c, i) => [c, table.table.cell(r, i)]));
}

describe('soft_voting runs on Kepler', () => {
  let kepler: LabeledTable;
  let tree: PipelineResult;
  let linear: PipelineResult;
  let inputs: SoftVotingMemberInput[];

  beforeAll(async () => {
    kepler = await loadNasaTable(NASA_DIR, 'kepler');
    tree = await member(kepler, 'decision_tree', { max_depth: 6 }, TREE_FEATURES);
    linear = await member(kepler, 'logistic_regression', { C: 1 }, LINEAR_FEATURES);
    inputs = [
      { runId: 'run_tree', artifact: tree.artifact, outOfFold: tree.outOfFold?.probabilities },
      { runId: 'run_linear', artifact: linear.artifact, outOfFold: linear.outOfFold?.probabilities },
    ];
  }, 120_000);

  it('averages the members’ stored test probabilities; its macro-F1 is theirs averaged and scored', async () => {
    const result = await trainSoftVoting(kepler, ensembleConfig(['run_tree', 'run_linear'], null), inputs);
    expect(result.heldOut.rowIds).toEqual(tree.heldOut.rowIds);
    expect(result.heldOut.labels).toEqual(linear.heldOut.labels);
    const mean = tree.heldOut.proba.map((p, i) => (p + linear.heldOut.proba[i]) / 2);
    result.heldOut.proba.forEach((p, i) => {
      expect(p).toBeCloseTo(mean[i], 12);
    });
    const k = result.artifact.classes.length;
    const expected = macroF1(Int32Array.from(result.heldOut.labels), argmaxRows(Float64Array.from(mean), k), k);
    expect(Math.abs((result.metrics.macro.f1 ?? NaN) - expected)).toBeLessThan(1e-9);
    expect(result.ensemble.weightsFrom).toBe('EQUAL');
    expect(result.ensemble.members.map((m) => [m.runId, m.modelType, m.weight])).toEqual([
      ['run_tree', 'decision_tree', 0.5],
      ['run_linear', 'logistic_regression', 0.5],
    ]);
    // The union of the members' features, first member first.
    expect(result.features).toEqual([
      'koi_period',
      'koi_depth',
      'koi_prad',
      'koi_model_snr',
      'koi_duration',
      'koi_steff',
    ]);
    expect(result.explanation.permutation.method).toBe('MODEL_PREDICT');
    expect(result.featureImportance).toHaveLength(6);
  });

  it('given weights are normalised; the artefact survives JSON, predicts and explains raw rows like its members', async () => {
    const result = await trainSoftVoting(kepler, ensembleConfig(['run_tree', 'run_linear'], [3, 1]), inputs);
    expect(result.ensemble.weightsFrom).toBe('GIVEN');
    expect(result.ensemble.members.map((m) => m.weight)).toEqual([0.75, 0.25]);
    result.heldOut.proba.forEach((p, i) => {
      expect(p).toBeCloseTo(0.75 * tree.heldOut.proba[i] + 0.25 * linear.heldOut.proba[i], 12);
    });
    const ensemble = await Predictor.load(roundTrip(result.artifact));
    const members = await Promise.all([tree, linear].map((m) => Predictor.load(roundTrip(m.artifact))));
    const rows = [rowObject(kepler, 3), rowObject(kepler, 40)];
    const [a, b] = members.map((p) => p.predictRows(rows));
    ensemble.predictRows(rows).forEach((prediction, r) => {
      prediction.probabilities.forEach((p, c) => {
        expect(p.probability).toBeCloseTo(
          0.75 * a[r].probabilities[c].probability + 0.25 * b[r].probabilities[c].probability,
          12,
        );
      });
    });
    const explanation = ensemble.explain(rows[0]);
    expect(explanation.method).toBe('sampling_shapley');
    expect(explanation.contributions.map((c) => c.feature)).toEqual(result.features);
    expect(Math.abs(explanation.residual)).toBeLessThan(1e-9);
    // A missing feature is left to the members (the tree routes it, the linear model imputes it).
    const { koi_depth: _dropped, ...partial } = rows[0];
    expect(ensemble.predictRows([partial])[0].warnings[0]).toMatch(/left to each member/);
  });

  it('weights "oof" are fitted on the members’ out-of-fold predictions, never worse there than equal weights', () => {
    const learn = tree.outOfFold?.ids.length ?? 0;
    const labels = learnLabels(kepler);
    expect(labels.length).toBe(learn);
    const resolved = resolveWeights('oof', inputs, labels, 3);
    expect(resolved.from).toBe('OUT_OF_FOLD');
    expect(resolved.weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    expect(resolved.outOfFold?.rows).toBe(learn);
    expect(resolved.outOfFold?.macroF1).toBeGreaterThanOrEqual(resolved.outOfFold?.equalWeightsMacroF1 ?? Infinity);
  });

  it('refuses weights that do not fit the members, and "oof" without out-of-fold predictions', () => {
    const labels = new Int32Array(4);
    expect(() => resolveWeights([1], inputs, labels, 3)).toThrow(/one non-negative number per member \(2\)/);
    expect(() => resolveWeights([0, 0], inputs, labels, 3)).toThrow(AppError);
    const noOof = inputs.map(({ runId, artifact }) => ({ runId, artifact }));
    expect(() => resolveWeights('oof', noOof, labels, 3)).toThrow(/run_tree was trained without cvFolds/);
  });
});

/** The train + validation labels in row order, as the pipeline's out-of-fold rows are (THREE_CLASS, SEED). */
function learnLabels(table: LabeledTable): Int32Array {
  // The same split the members made: checkedSplit is deterministic for the seed.
  const { split } = checkedSplit(table.labels, table.groups, table.classes, DEFAULT_SPLIT_SIZES, SEED);
  const rows = Int32Array.from([...split.train, ...split.validation]).sort();
  return Int32Array.from(rows, (r) => table.labels[r]);
}

describe('soft_voting parameters in the catalog', () => {
  it('reads members as a list of run ids, from JSON or a form’s text, and weights as numbers or "oof"', () => {
    expect(validateHyperparameters('soft_voting', { members: ['run_a', 'run_b'] })).toEqual({
      members: ['run_a', 'run_b'],
      weights: null,
    });
    expect(validateHyperparameters('soft_voting', { members: 'run_a, run_b', weights: '[2, 1]' })).toEqual({
      members: ['run_a', 'run_b'],
      weights: [2, 1],
    });
    expect(validateHyperparameters('soft_voting', { members: '["run_a","run_b"]', weights: 'OOF' }).weights).toBe(
      'oof',
    );
    expect(validateHyperparameters('soft_voting', undefined)).toEqual({ members: [], weights: null });
  });

  it.each([
    [
      { members: ['run_a'] },
      'hyperparameters.members',
      /list of 2 to 10 different training run ids \(\[\] until chosen\)/,
    ],
    [{ members: ['run_a', 'run_a'] }, 'hyperparameters.members', /lists run "run_a" twice/],
    [{ members: ['run_a', 'bad id!'] }, 'hyperparameters.members', /training run ids/],
    [{ members: ['run_a', 'run_b'], weights: [1, -1] }, 'hyperparameters.weights', /each from 0 to 1000 or one of oof/],
    [{ members: ['run_a', 'run_b'], weights: 'best' }, 'hyperparameters.weights', /or null/],
  ])('refuses %j', (raw, field, message) => {
    try {
      validateHyperparameters('soft_voting', raw);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).field).toBe(field);
      expect((error as AppError).message).toMatch(message);
    }
  });
});
