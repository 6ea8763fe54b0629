/**
 * The prediction path of trained pipelines on the real Kepler table: raw rows → predictions equal the batch path
 * bit for bit (also after a JSON round trip of the artefact), TreeSHAP is additive against the model's own
 * output (probability for forests, margin for boosting), warnings and refusals name the row and column, and the
 * global explanations stored with a run are normalised and sensible.
 */
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateHyperparameters } from '../../src/ml/catalog.js';
import { AppError } from '../../src/domain/errors.js';
import { DEFAULT_SPLIT_SIZES, featureMatrix, loadNasaTable, type LabeledTable } from '../../src/ml/data/index.js';
import { BoostedTreesModel } from '../../src/ml/models/trees/index.js';
import { trainPipeline, type PipelineArtifact, type PipelineResult } from '../../src/ml/pipeline.js';
import { NASA_DIR } from '../fixtures/nasa.js';
import { MAX_PREDICT_ROWS, Predictor } from '../../src/ml/predictor.js';
import { Random } from '../../src/ml/random.js';
import runWorkerTask, { type BatchOutput } from '../../src/ml/worker.js';
import type { ModelTypeId } from '../../src/ml/types.js';
import { instanceOf } from './models-fixtures.js';

async function train(
  table: LabeledTable,
  modelType: ModelTypeId,
  hyperparameters: Record<string, unknown>,
): Promise<PipelineResult> {
  return trainPipeline(table, {
    modelType,
    hyperparameters: validateHyperparameters(modelType, hyperparameters),
    features: null,
    useVettingFeatures: false,
    task: 'THREE_CLASS',
    split: DEFAULT_SPLIT_SIZES,
    seed: 11,
  });
}

/** The artefact as the DB stores it and a restarted server reads it (JSON text). */
function roundTrip(artifact: PipelineArtifact): PipelineArtifact {
  return JSON.parse(JSON.stringify(artifact)) as PipelineArtifact;
}

function rowObject(table: LabeledTable, r: number): Record<string, string> {
  return Object.fromEntries(table.table.columns.map((c, i) => [c, table.table.cell(r, i)]));
}

describe('Predictor on the real Kepler table', () => {
  let kepler: LabeledTable;
  let forest: PipelineResult;
  let boosting: PipelineResult;
  let forestPredictor: Predictor;
  let boostingPredictor: Predictor;
  let sample: number[];

  beforeAll(async () => {
    kepler = await loadNasaTable(NASA_DIR, 'kepler');
    forest = await train(kepler, 'random_forest', { n_estimators: 25 });
    boosting = await train(kepler, 'xgboost', { n_estimators: 25 });
    forestPredictor = await Predictor.load(roundTrip(forest.artifact));
    boostingPredictor = await Predictor.load(roundTrip(boosting.artifact));
    const random = new Random(2024);
    const all = Int32Array.from({ length: kepler.table.rowCount }, (_, i) => i);
    random.shuffle(all);
    sample = Array.from(all.subarray(0, 100));
  }, 90_000);

  it('predicts a row given as raw strings exactly as the matrix path and the worker batch path', async () => {
    for (const predictor of [forestPredictor, boostingPredictor]) {
      const X = featureMatrix(kepler, predictor.features);
      const matrixProba = predictor.predictMatrix(X);
      const k = predictor.classes.length;
      const single = predictor.predictRows(sample.map((r) => rowObject(kepler, r)));
      // The same rows with numbers instead of strings.
      const numeric = predictor.predictRows(
        sample.map((r) =>
          Object.fromEntries(
            predictor.features.map((f, j) => [f, Number.isNaN(X.data[r * X.cols + j]) ? null : X.data[r * X.cols + j]]),
          ),
        ),
      );
      const batch = (await runWorkerTask({
        kind: 'predictBatch',
        artifactGzip: gzipSync(JSON.stringify(predictor.artifact)),
        location: { kind: 'nasa', mission: 'kepler', dir: NASA_DIR, embedded: true },
        candidatesOnly: false,
      })) as BatchOutput;
      expect(batch.ids.length).toBe(kepler.table.rowCount);
      sample.forEach((r, i) => {
        const expected = Array.from(matrixProba.subarray(r * k, r * k + k));
        expect(single[i].probabilities.map((p) => p.probability)).toEqual(expected);
        expect(numeric[i].probabilities.map((p) => p.probability)).toEqual(expected);
        expect(Array.from(batch.probabilities.subarray(r * k, r * k + k))).toEqual(expected);
        expect(batch.ids[r].kepoi_name).toBe(rowObject(kepler, r).kepoi_name);
        const sum = expected.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 12);
        expect(single[i].confidence).toBe(Math.max(...expected));
        expect(single[i].label).toBe(predictor.classes[expected.indexOf(Math.max(...expected))]);
        expect(single[i].probabilities.map((p) => p.label)).toEqual(['false_positive', 'candidate', 'planet']);
      });
    }
  });

  it('gives bit-identical probabilities after the artefact is serialised and loaded again', async () => {
    const original = await Predictor.load(forest.artifact);
    const rows = sample.slice(0, 20).map((r) => rowObject(kepler, r));
    expect(forestPredictor.predictRows(rows)).toEqual(original.predictRows(rows));
    const reloaded = await Predictor.load(roundTrip(boosting.artifact));
    expect(reloaded.predictRows(rows)).toEqual(boostingPredictor.predictRows(rows));
  });

  it('TreeSHAP on 100 random rows: base + Σ contributions = forest probability (to 1e-6), for planet and every class of some', () => {
    const model = forestPredictor.model;
    let worst = 0;
    for (const [i, r] of sample.entries()) {
      const row = rowObject(kepler, r);
      const X = forestPredictor.parseRows([row]).X;
      const proba = model.predictProba(forestPredictor.preprocessor.transform(X));
      const labels = i < 10 ? forestPredictor.classes : ['planet'];
      for (const label of labels) {
        const c = forestPredictor.classes.indexOf(label);
        const e = forestPredictor.explain(row, label);
        expect(e.method).toBe('tree_shap');
        expect(e.outputSpace).toBe('probability');
        expect(e.label).toBe(label);
        const sum = e.contributions.reduce((a, x) => a + x.contribution, 0);
        worst = Math.max(worst, Math.abs(e.baseValue + sum - proba[c]), Math.abs(e.output - proba[c]));
      }
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('TreeSHAP on 100 random rows: base + Σ contributions = boosting margin (to 1e-6), the predicted class by default', () => {
    const model = boostingPredictor.model;
    expect(model).toBeInstanceOf(BoostedTreesModel);
    const boosted = instanceOf(model, BoostedTreesModel);
    let worst = 0;
    for (const r of sample) {
      const row = rowObject(kepler, r);
      const transformed = boostingPredictor.preprocessor.transform(boostingPredictor.parseRows([row]).X);
      const margins = boosted.predictMargins(transformed);
      const proba = boosted.predictProba(transformed);
      const e = boostingPredictor.explain(row);
      expect(e.outputSpace).toBe('margin');
      const c = boostingPredictor.classes.indexOf(e.label);
      expect(proba[c]).toBe(Math.max(...proba));
      const sum = e.contributions.reduce((a, x) => a + x.contribution, 0);
      worst = Math.max(
        worst,
        Math.abs(e.baseValue + sum - margins[c]),
        Math.abs(e.output - margins[c]),
        Math.abs(e.residual),
      );
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('explains with raw values and words the biggest contributions', () => {
    const row = rowObject(kepler, sample[0]);
    const e = forestPredictor.explain(row, 'planet');
    expect(e.contributions.map((c) => c.feature)).toEqual(forestPredictor.features);
    const snr = e.contributions.find((c) => c.feature === 'koi_model_snr');
    if (!snr) throw new Error('koi_model_snr is not explained');
    expect(snr.value).toBe(Number(row.koi_model_snr));
    expect(e.reasons.length).toBeGreaterThan(0);
    const biggest = [...e.contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))[0];
    expect(e.reasons[0]).toMatch(
      new RegExp(`^${biggest.feature} = \\S+ (raised|lowered) the planet probability by \\d`),
    );
    expect(() => forestPredictor.explain(row, 'moon')).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'label' }) as Error,
    );
  });

  it('warns about missing, out-of-range and unknown columns, and treats missing-value spellings as missing', () => {
    const row: Record<string, unknown> = { ...rowObject(kepler, sample[1]) };
    delete row.koi_period;
    row.koi_prad = '1e9';
    row.favourite_colour = 'blue';
    row.koi_depth = 'NA';
    const [p] = forestPredictor.predictRows([row]);
    expect(p.warnings.some((w) => /missing/i.test(w) && w.includes('koi_period') && w.includes('koi_depth'))).toBe(
      true,
    );
    expect(p.warnings.some((w) => w.startsWith('koi_prad = 1000000000 is outside the training range'))).toBe(true);
    expect(p.warnings.some((w) => /unknown column/i.test(w) && w.includes('favourite_colour'))).toBe(true);
    // Columns of the NASA table that are not features (ids, dispositions) are ignored without a warning.
    expect(p.warnings.join(' ')).not.toContain('kepoi_name');
  });

  it('refuses bad rows naming the row and column', () => {
    const good = rowObject(kepler, sample[2]);
    const refuse = (rows: unknown[]) => {
      try {
        forestPredictor.predictRows(rows);
      } catch (error) {
        expect(error).toBeInstanceOf(AppError);
        return {
          code: (error as AppError).code,
          field: (error as AppError).field,
          message: (error as AppError).message,
        };
      }
      throw new Error('expected a refusal');
    };
    expect(refuse([good, { ...good, koi_model_snr: 'high' }])).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'rows[1].koi_model_snr',
    });
    expect(refuse([good, good, { koi_period: true }])).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'rows[2].koi_period',
    });
    expect(refuse([{ kepoi_name: 'K00001.01', nonsense: 3 }])).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'rows[0]',
    });
    expect(refuse([good, 'not a row'])).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows[1]' });
    expect(refuse(new Array(MAX_PREDICT_ROWS + 1).fill(good))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows' });
    expect(forestPredictor.predictRows(new Array(MAX_PREDICT_ROWS).fill(good))).toHaveLength(MAX_PREDICT_ROWS);
  });

  it('stores normalised, sensible global explanations with each run', () => {
    for (const result of [forest, boosting]) {
      const fi = result.featureImportance;
      expect(fi.map((f) => f.feature).sort()).toEqual([...result.features].sort());
      const own = fi.reduce((a, f) => a + f.importance, 0);
      const permutation = fi.reduce((a, f) => a + f.permutationImportance, 0);
      expect(own).toBeCloseTo(1, 9);
      expect(permutation).toBeCloseTo(1, 9);
      for (const f of fi) {
        expect(f.importance).toBeGreaterThanOrEqual(0);
        expect(f.permutationImportance).toBeGreaterThanOrEqual(0);
        expect(f.permutationStd).toBeGreaterThanOrEqual(0);
        // Normalised share = clipped mean drop / Σ clipped mean drops.
        expect(f.permutationImportance > 0).toBe(f.permutationMean > 0);
      }
      // Sorted by the model's own importance.
      for (let i = 1; i < fi.length; i++) expect(fi[i - 1].importance).toBeGreaterThanOrEqual(fi[i].importance);
      // The signal-to-noise ratio of the transit is among the strongest features for telling planets apart.
      const byPermutation = [...fi].sort((a, b) => b.permutationMean - a.permutationMean).map((f) => f.feature);
      expect(byPermutation.slice(0, 3)).toContain('koi_model_snr');
      // Its drop is well above the spread over repeats.
      const snr = fi.find((f) => f.feature === 'koi_model_snr');
      if (!snr) throw new Error('koi_model_snr has no importance');
      expect(snr.permutationMean).toBeGreaterThan(3 * snr.permutationStd);
    }
  });
});
