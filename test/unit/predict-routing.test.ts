/**
 * Where `predict` runs (hardening issue 12): the cost estimate (rows × model size, model load) and the routing it
 * drives — cheap calls on the event loop, costly ones in the inference worker with the same answers. Counters, not
 * clocks: no timing is asserted here (the benchmarks measure time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CALL_MICROS,
  PARSE_MICROS_PER_CELL,
  SVM_MICROS_PER_CELL,
  loadMicros,
  predictMicros,
  predictMicrosPerRow,
} from '../../src/ml/predict-cost.js';
import { SvmClassifier } from '../../src/ml/models/svm/model.js';
import type { Predictor } from '../../src/ml/predictor.js';
import { PredictionService } from '../../src/services/predictions.js';
import {
  createServicesUnderTest,
  inProcessPool,
  uploadSmallDataset,
  type ServicesUnderTest,
  SERVER,
} from './services-fixtures.js';

let services: ServicesUnderTest | null = null;
afterEach(async () => {
  await services?.close();
  services = null;
});

/** Trains `modelType` on the small two-class upload and answers its run id and loaded predictor. */
async function trained(
  s: ServicesUnderTest,
  modelType: string,
  hyperparameters: Record<string, unknown> = {},
): Promise<{ runId: string; predictor: Predictor }> {
  const datasetId = await uploadSmallDataset(s.datasets);
  const session = await s.sessions.create(SERVER);
  await s.sessions.configure(SERVER, { sessionId: session.id, datasetId, modelType, hyperparameters });
  const run = await s.training.commands.start(SERVER, session.id);
  await s.queue?.runNext();
  expect((await s.training.runs.require(run.id)).status).toBe('SUCCEEDED');
  const predictor = await s.models.predictor(run.id);
  if (!predictor) throw new Error('no stored model');
  return { runId: run.id, predictor };
}

const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ a: (i % 13) / 2, b: i % 11 }));

describe('predict cost estimate', () => {
  it('grows with rows (linearly) and with the model: more trees, more support vectors × features', async () => {
    services = createServicesUnderTest({ manualQueue: true });
    const small = await trained(services, 'random_forest', { n_estimators: 10 });
    const large = await trained(services, 'random_forest', { n_estimators: 100 });
    const perRow = predictMicrosPerRow(small.predictor);
    expect(perRow).toBeGreaterThan(0);
    expect(predictMicros(small.predictor, 1000) - CALL_MICROS).toBeCloseTo(1000 * perRow, 6);
    // Ten times the trees: the tree part (all but reading the row's cells) is about ten times larger.
    const cells = (p: Predictor) => PARSE_MICROS_PER_CELL * (p.features.length + p.artifact.tableColumns.length);
    const treesOf = (p: Predictor) => predictMicrosPerRow(p) - cells(p);
    expect(treesOf(small.predictor)).toBeGreaterThan(0);
    expect(treesOf(large.predictor) / treesOf(small.predictor)).toBeGreaterThan(5);
    expect(treesOf(large.predictor) / treesOf(small.predictor)).toBeLessThan(20);

    const svm = await trained(services, 'svm');
    const model = svm.predictor.model;
    if (!(model instanceof SvmClassifier)) throw new Error('not an SVM');
    expect(model.numSupportVectors).toBeGreaterThan(0);
    expect(predictMicrosPerRow(svm.predictor)).toBeGreaterThanOrEqual(
      SVM_MICROS_PER_CELL * model.numSupportVectors * model.numFeatures,
    );
  });

  it('counts the load of a model by its stored size', () => {
    expect(loadMicros(0)).toBe(0);
    expect(loadMicros(2_300_000)).toBeCloseTo(10 * loadMicros(230_000), 6);
  });
});

describe('predict routing', () => {
  it('answers cheap calls on the event loop and costly ones in the worker, with identical predictions', async () => {
    services = createServicesUnderTest({ manualQueue: true });
    const s = services;
    const { runId, predictor } = await trained(s, 'random_forest', { n_estimators: 100 });
    const size = await s.models.sizeBytes(runId);
    if (size === null) throw new Error('no stored size');
    // A budget the model's load and a one-row call fit, and a 1,000-row call does not.
    const budgetMs = Math.ceil(Math.max(loadMicros(size), predictMicros(predictor, 1)) / 1000);
    expect(predictMicros(predictor, 1000)).toBeGreaterThan(budgetMs * 1000);
    const predictions = new PredictionService(
      s.handle.store,
      { ...s.config, predictLoopMs: budgetMs },
      s.training.runs,
      s.models,
      s.datasets,
      inProcessPool,
      s.owners,
    );
    const rows = rowsOf(1000);
    const big = await predictions.predict(SERVER, runId, rows);
    expect(predictions.routes).toEqual({ loop: 0, worker: 1 });
    const one = await predictions.predict(SERVER, runId, rows.slice(0, 1));
    expect(predictions.routes).toEqual({ loop: 1, worker: 1 });
    // The loop answers exactly what the worker answered (JSON round trip keeps every double).
    expect(one[0]).toEqual(big[0]);
    expect(big).toEqual(predictor.predictRows(rows));

    // A model not loaded on the loop whose load exceeds the budget goes to the worker, and stays unloaded here.
    s.models.forget([runId]);
    const tight = new PredictionService(
      s.handle.store,
      { ...s.config, predictLoopMs: 0, predictLoadMs: 0 },
      s.training.runs,
      s.models,
      s.datasets,
      inProcessPool,
      s.owners,
    );
    expect(await tight.predict(SERVER, runId, rows.slice(0, 1))).toEqual(one);
    expect(tight.routes).toEqual({ loop: 0, worker: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.models.loaded(runId)).toBeNull();
    // Its load fits PREDICT_LOAD_MS: after the worker answered, it is loaded on the loop for the next calls.
    const promoting = new PredictionService(
      s.handle.store,
      { ...s.config, predictLoopMs: 0, predictLoadMs: 60_000 },
      s.training.runs,
      s.models,
      s.datasets,
      inProcessPool,
      s.owners,
    );
    expect(await promoting.predict(SERVER, runId, rows.slice(0, 1))).toEqual(one);
    expect(promoting.routes).toEqual({ loop: 0, worker: 1 });
    for (let i = 0; i < 100 && !s.models.loaded(runId); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.models.loaded(runId)).not.toBeNull();

    // The refusals are the same on both paths.
    await expect(predictions.predict(SERVER, runId, rowsOf(1001))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(predictions.predict(SERVER, runId, [{ a: 'x' }])).rejects.toMatchObject({
      field: 'rows[0].a',
    });
  });
});
