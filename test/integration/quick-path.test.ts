/**
 * The whole path in seconds on a small synthetic upload (no NASA table involved): upload → configure → train with
 * live progress over graphql-ws → metrics → predict → explain (exact TreeSHAP, additive) → batch predict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startServer, waitForRun, type TestServer } from './harness.js';
import { syntheticCsv } from '../fixtures/synthetic.js';

const UPLOAD =
  'mutation ($file: File!) { uploadDataset(file: $file, name: "synthetic") { id rowCount labelColumn classes featureColumns } }';

describe('the whole path on a synthetic upload', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('uploads, trains with live progress, predicts and explains', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([syntheticCsv()]), 'synthetic.csv');
    const uploaded = (await (
      await fetch(`${server.url}/graphql`, { method: 'POST', body: form, headers: { 'graphql-preflight': '1' } })
    ).json()) as {
      data: {
        uploadDataset: {
          id: string;
          rowCount: number;
          labelColumn: string;
          classes: string[];
          featureColumns: string[];
        };
      };
    };
    const dataset = uploaded.data.uploadDataset;
    expect(dataset).toMatchObject({ rowCount: 240, labelColumn: 'label', classes: ['false_positive', 'planet'] });
    expect(dataset.featureColumns).toEqual(['period', 'depth', 'radius', 'noise']);

    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
      input: {
        sessionId: createSession.id,
        datasetId: dataset.id,
        modelType: 'random_forest',
        hyperparameters: { n_estimators: 30 },
      },
    });
    const { startTraining } = await server.data<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: createSession.id },
    );
    const runId = startTraining.id;
    const { events, error } = await collect<{
      trainingProgress: { status: string; stage: string; progress: number; step: number; totalSteps: number };
    }>(
      server.wsClient(),
      'subscription ($r: ID!) { trainingProgress(runId: $r) { status stage progress step totalSteps } }',
      { r: runId },
      60_000,
    );
    expect(error).toBeUndefined();
    expect(events.length).toBeGreaterThan(1);
    expect(events.at(-1)?.trainingProgress.status).toBe('SUCCEEDED');
    expect(events.map((e) => e.trainingProgress.stage)).toContain('TRAINING');
    expect(await waitForRun(server, runId, 10_000)).toBe('SUCCEEDED');

    const { trainingRun } = await server.data<{
      trainingRun: { metrics: { macroF1: number; majorityBaselineMacroF1: number; numSamples: number } };
    }>('query ($r: ID!) { trainingRun(id: $r) { metrics { macroF1 majorityBaselineMacroF1 numSamples } } }', {
      r: runId,
    });
    expect(trainingRun.metrics.numSamples).toBeGreaterThanOrEqual(40);
    expect(trainingRun.metrics.macroF1).toBeGreaterThan(0.85); // the rule is learnable; the baseline is ~0.33
    expect(trainingRun.metrics.macroF1).toBeGreaterThan(trainingRun.metrics.majorityBaselineMacroF1 + 0.4);

    const planetRow = { period: 12.5, radius: 2, depth: 2 * 2 * 84, noise: 0.5 };
    const fakeRow = { period: 12.5, radius: 2, depth: 2 * 2 * 84 * 6, noise: 0.5 };
    const { predict } = await server.data<{ predict: { label: string; confidence: number }[] }>(
      'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence } }',
      {
        r: runId,
        rows: [planetRow, fakeRow],
      },
    );
    expect(predict.map((p) => p.label)).toEqual(['planet', 'false_positive']);

    const { explain } = await server.data<{
      explain: {
        method: string;
        baseValue: number;
        output: number;
        contributions: { feature: string; contribution: number }[];
        reasons: string[];
      };
    }>(
      'query ($r: ID!, $row: JSON!) { explain(runId: $r, row: $row) { method baseValue output contributions { feature contribution } reasons } }',
      { r: runId, row: fakeRow },
    );
    expect(explain.method).toBe('TREE_SHAP');
    const sum = explain.contributions.reduce((s, c) => s + c.contribution, 0);
    expect(explain.baseValue + sum).toBeCloseTo(explain.output, 6);
    const top = [...explain.contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))[0];
    expect(['depth', 'radius']).toContain(top.feature);
    expect(explain.reasons.length).toBeGreaterThan(0);

    const { predictBatch } = await server.data<{ predictBatch: { rowCount: number } }>(
      'mutation ($r: ID!, $d: ID!) { predictBatch(runId: $r, datasetId: $d) { rowCount } }',
      { r: runId, d: dataset.id },
    );
    expect(predictBatch.rowCount).toBe(240);
  }, 60_000);
});
