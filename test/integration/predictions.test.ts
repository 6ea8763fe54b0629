/**
 * Predictions and explanations over real HTTP on the real Kepler table: single rows, batches (dataset, candidates,
 * uploaded file), CSV export, a server restart, refusals with their codes and fields, and local explanations.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HAS_KEPLER,
  keplerRows,
  startRun,
  startServer,
  waitForRun,
  type GraphQLResult,
  type TestServer,
} from './harness.js';
import { defined } from '../fixtures/defined.js';

const CLASSES = ['false_positive', 'candidate', 'planet'];
const PREDICT =
  'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence probabilities { label probability } warnings } }';
const EXPLAIN =
  'query ($r: ID!, $row: JSON!, $label: String) { explain(runId: $r, row: $row, label: $label) { label method outputSpace baseValue output residual contributions { feature value contribution } reasons warnings } }';
const BATCH_FIELDS =
  'id runId rowCount classes csvUrl summary { rowCount counts { label count } meanConfidence rowsWithoutFeatures missingFeatures }';
const BATCH = `mutation ($r: ID!, $d: ID, $c: Boolean) { predictBatch(runId: $r, datasetId: $d, candidatesOnly: $c) { ${BATCH_FIELDS} } }`;

interface Prediction {
  label: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
  warnings: string[];
}
interface Explanation {
  label: string;
  method: string;
  outputSpace: string;
  baseValue: number;
  output: number;
  residual: number;
  contributions: { feature: string; value: number | null; contribution: number }[];
  reasons: string[];
  warnings: string[];
}
interface Batch {
  id: string;
  rowCount: number;
  classes: string[];
  csvUrl: string;
  summary: {
    rowCount: number;
    counts: { label: string; count: number }[];
    meanConfidence: number;
    rowsWithoutFeatures: number;
    missingFeatures: string[];
  };
}
interface BatchRow {
  rowIndex: number;
  ids: Record<string, string>;
  label: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
}

type GqlError = NonNullable<GraphQLResult['errors']>[number];

function firstError(result: GraphQLResult): GqlError {
  expect(result.errors, JSON.stringify(result.data)).toBeDefined();
  return defined(result.errors, 'errors')[0];
}

/** A multipart GraphQL request (upload spec) with the CSRF preflight header. */
async function multipart(
  server: TestServer,
  query: string,
  variables: Record<string, unknown>,
  file: { name: string; content: string },
): Promise<GraphQLResult<{ predictBatch: Batch }>> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([file.content]), file.name);
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1' },
  });
  return (await response.json()) as GraphQLResult<{ predictBatch: Batch }>;
}

const FILE_BATCH = `mutation ($r: ID!, $file: File, $d: ID) { predictBatch(runId: $r, file: $file, datasetId: $d) { ${BATCH_FIELDS} } }`;

async function storedCounts(server: TestServer): Promise<{ batches: number; rows: number }> {
  if (server.config.databaseUrl) {
    const client = new pg.Client({ connectionString: server.config.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ batches: string; rows: string }>(
        'SELECT (SELECT count(*) FROM predictions) AS batches, (SELECT count(*) FROM prediction_rows) AS rows',
      );
      return { batches: Number(rows[0].batches), rows: Number(rows[0].rows) };
    } finally {
      await client.end();
    }
  }
  const db = new Database(path.join(server.dir, 'test.db'), { readonly: true, fileMustExist: true });
  try {
    const batches = (db.prepare('SELECT count(*) AS n FROM predictions').get() as { n: number }).n;
    const rows = (db.prepare('SELECT count(*) AS n FROM prediction_rows').get() as { n: number }).n;
    return { batches, rows };
  } finally {
    db.close();
  }
}

function checkPrediction(p: Prediction): void {
  expect(p.probabilities.map((c) => c.label)).toEqual(CLASSES);
  const values = p.probabilities.map((c) => c.probability);
  expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  for (const v of values) expect(v).toBeGreaterThanOrEqual(0);
  expect(p.confidence).toBe(Math.max(...values));
  expect(p.label).toBe(CLASSES[values.indexOf(p.confidence)]);
}

describe('predictions and explanations (real server, Kepler)', () => {
  let server: TestServer;
  const runs: Record<'forest' | 'boosting' | 'logistic' | 'cancelled', string> = {
    forest: '',
    boosting: '',
    logistic: '',
    cancelled: '',
  };
  // Rows of the table, raw strings keyed by column name.
  const table = HAS_KEPLER ? keplerRows(60) : [];
  const candidateRow = defined(
    table.find((r) => r.koi_disposition === 'CANDIDATE'),
    'a CANDIDATE row',
  );

  beforeAll(async () => {
    server = await startServer();
    runs.forest = (
      await startRun(server, { modelType: 'random_forest', hyperparameters: { n_estimators: 25 }, seed: 3 })
    ).runId;
    runs.boosting = (
      await startRun(server, { modelType: 'xgboost', hyperparameters: { n_estimators: 25 }, seed: 3 })
    ).runId;
    runs.logistic = (await startRun(server, { modelType: 'logistic_regression', seed: 3 })).runId;
    // Queued behind the others, then cancelled: a run that can never predict.
    runs.cancelled = (
      await startRun(server, { modelType: 'random_forest', hyperparameters: { n_estimators: 1000 } })
    ).runId;
    await server.data('mutation ($r: ID!) { cancelTraining(runId: $r) { id } }', { r: runs.cancelled });
    for (const name of ['forest', 'boosting', 'logistic'] as const)
      expect(await waitForRun(server, runs[name])).toBe('SUCCEEDED');
    expect(await waitForRun(server, runs.cancelled)).toBe('CANCELLED');
  }, 120_000);

  afterAll(async () => {
    await server.stop();
  });

  it('predicts a table row identically through predict, predictBatch and after a restart', async () => {
    const rowIndex = table.indexOf(candidateRow);
    const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, { r: runs.forest, rows: [candidateRow] });
    checkPrediction(predict[0]);
    const single = predict[0].probabilities.map((p) => p.probability);

    const { predictBatch } = await server.data<{ predictBatch: Batch }>(BATCH, { r: runs.forest, d: 'kepler' });
    expect(predictBatch.rowCount).toBe(9564);
    const { prediction } = await server.data<{ prediction: { rows: BatchRow[] } }>(
      'query ($id: ID!, $o: Int!) { prediction(id: $id) { rows(offset: $o, limit: 3) { rowIndex ids label confidence probabilities { label probability } } } }',
      {
        id: predictBatch.id,
        o: Math.max(0, rowIndex - 1),
      },
    );
    const same = defined(
      prediction.rows.find((r) => r.ids.kepoi_name === candidateRow.kepoi_name),
      'the candidate among the predicted rows',
    );
    expect(same, `row ${candidateRow.kepoi_name} in the batch`).toBeDefined();
    expect(same.probabilities.map((p) => p.probability)).toEqual(single);
    expect(same.label).toBe(predict[0].label);
    expect(same.confidence).toBe(predict[0].confidence);

    // Restart on the same folder: the model is read back from the DB.
    await server.stop();
    server = await startServer({ dir: server.dir });
    const again = await server.data<{ predict: Prediction[] }>(PREDICT, { r: runs.forest, rows: [candidateRow] });
    expect(again.predict[0].probabilities.map((p) => p.probability)).toEqual(single);
    const stored = await server.data<{ prediction: { rows: BatchRow[] } }>(
      'query ($id: ID!) { prediction(id: $id) { rows(offset: 0, limit: 1) { ids probabilities { probability } } } }',
      { id: predictBatch.id },
    );
    expect(stored.prediction.rows[0].ids.kepoi_name).toBe(table[0].kepoi_name);
  });

  it('answers every row with label, confidence, probabilities in class order and warnings', async () => {
    const missing: Record<string, string> = { ...table[1] };
    delete missing.koi_period;
    const outOfRange = { ...table[2], koi_model_snr: '1e12' };
    const unknown = { ...table[3], colour_of_the_star: 'yellow' };
    const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, {
      r: runs.forest,
      rows: [table[0], missing, outOfRange, unknown],
    });
    expect(predict).toHaveLength(4);
    predict.forEach(checkPrediction);
    // The table's non-feature columns (ids, dispositions, vetting flags) are ignored without a warning.
    expect(predict[0].warnings.join(' ')).not.toMatch(/unknown|outside/i);
    expect(predict[1].warnings.some((w) => /missing/i.test(w) && w.includes('koi_period'))).toBe(true);
    expect(
      predict[2].warnings.some((w) => w.includes('koi_model_snr') && w.includes('outside the training range')),
    ).toBe(true);
    expect(predict[3].warnings.some((w) => /unknown column/i.test(w) && w.includes('colour_of_the_star'))).toBe(true);
    // Numbers as JSON numbers give the same answer as the table's strings.
    const numeric = Object.fromEntries(
      Object.entries(table[0]).map(([k, v]) => [k, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v]),
    );
    const { predict: again } = await server.data<{ predict: Prediction[] }>(PREDICT, {
      r: runs.forest,
      rows: [numeric],
    });
    expect(again[0].probabilities).toEqual(predict[0].probabilities);
  });

  it('refuses bad inputs with their code and the row/column', async () => {
    const row = table[0];
    let e = firstError(await server.gql(PREDICT, { r: runs.cancelled, rows: [row] }));
    expect(e.extensions?.code).toBe('CONFLICT');
    expect(e.message).toMatch(/CANCELLED/);
    e = firstError(await server.gql(PREDICT, { r: 'run_does_not_exist', rows: [row] }));
    expect(e.extensions?.code).toBe('NOT_FOUND');
    e = firstError(await server.gql(PREDICT, { r: runs.forest, rows: [row, { ...row, koi_depth: 'deep' }] }));
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows[1].koi_depth' });
    expect(e.message).toContain('"deep"');
    e = firstError(
      await server.gql(PREDICT, {
        r: runs.forest,
        rows: [row, row, { kepoi_name: 'K00001.01', koi_disposition: 'CANDIDATE' }],
      }),
    );
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows[2]' });
    e = firstError(await server.gql(PREDICT, { r: runs.forest, rows: [] }));
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows' });
    e = firstError(await server.gql(PREDICT, { r: runs.forest, rows: new Array(1001).fill({ koi_period: 3.5 }) }));
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows' });
    expect(e.message).toMatch(/1,?000/);
    const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, {
      r: runs.forest,
      rows: new Array(1000).fill({ koi_period: 3.5 }),
    });
    expect(predict).toHaveLength(1000);

    e = firstError(await server.gql(EXPLAIN, { r: runs.forest, row: { ...row, koi_prad: 'big' } }));
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'row.koi_prad' });
    e = firstError(await server.gql(EXPLAIN, { r: runs.cancelled, row }));
    expect(e.extensions?.code).toBe('CONFLICT');
  });

  it('stores nothing for a refused batch', async () => {
    const before = await storedCounts(server);
    let e = firstError(await server.gql(BATCH, { r: runs.forest }));
    expect(e.extensions?.code).toBe('BAD_USER_INPUT');
    e = firstError(
      await multipart(
        server,
        FILE_BATCH,
        { r: runs.forest, d: 'kepler' },
        { name: 'rows.csv', content: 'koi_period\n3.5\n' },
      ),
    );
    expect(e.extensions?.code).toBe('BAD_USER_INPUT');
    e = firstError(await server.gql(BATCH, { r: runs.cancelled, d: 'kepler' }));
    expect(e.extensions?.code).toBe('CONFLICT');
    e = firstError(await server.gql(BATCH, { r: 'run_nope', d: 'kepler' }));
    expect(e.extensions?.code).toBe('NOT_FOUND');
    e = firstError(await server.gql(BATCH, { r: runs.forest, d: 'no_such_dataset' }));
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'datasetId' });
    // A file without any of the model's features is refused by the worker, with its code.
    e = firstError(
      await multipart(
        server,
        FILE_BATCH,
        { r: runs.forest },
        { name: 'rows.csv', content: 'name,colour\na,red\nb,blue\n' },
      ),
    );
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'file' });
    expect(await storedCounts(server)).toEqual(before);
  });

  it('predicts the Kepler candidates, ranks them by planet probability and exports CSV', async () => {
    const { predictBatch } = await server.data<{ predictBatch: Batch }>(BATCH, {
      r: runs.forest,
      d: 'kepler',
      c: true,
    });
    expect(predictBatch.rowCount).toBe(1979);
    expect(predictBatch.summary.rowCount).toBe(1979);
    expect(predictBatch.summary.counts.map((c) => c.label)).toEqual(CLASSES);
    expect(predictBatch.summary.counts.reduce((a, c) => a + c.count, 0)).toBe(1979);
    expect(predictBatch.summary.meanConfidence).toBeGreaterThan(1 / 3);
    expect(predictBatch.summary.meanConfidence).toBeLessThanOrEqual(1);

    const { prediction } = await server.data<{ prediction: { rows: BatchRow[] } }>(
      'query ($id: ID!) { prediction(id: $id) { rows(sortByClass: "planet", limit: 1000) { rowIndex ids label probabilities { label probability } } } }',
      {
        id: predictBatch.id,
      },
    );
    expect(prediction.rows).toHaveLength(1000);
    const planet = prediction.rows.map((r) => r.probabilities[2].probability);
    for (let i = 1; i < planet.length; i++) expect(planet[i - 1]).toBeGreaterThanOrEqual(planet[i]);
    expect(planet[0]).toBeGreaterThan(planet[planet.length - 1]);
    const unknownClass = firstError(
      await server.gql('query ($id: ID!) { prediction(id: $id) { rows(sortByClass: "moon") { rowIndex } } }', {
        id: predictBatch.id,
      }),
    );
    expect(unknownClass.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sortByClass' });

    const response = await fetch(`${server.url}${predictBatch.csvUrl}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines[0]).toBe(
      'kepoi_name,kepid,kepler_name,row_index,predicted_label,confidence,p_false_positive,p_candidate,p_planet',
    );
    expect(lines).toHaveLength(1 + 1979);
    const cells = lines[1].split(',');
    expect(cells[3]).toBe('0');
    expect(Number(cells[5])).toBe(Math.max(Number(cells[6]), Number(cells[7]), Number(cells[8])));
    expect((await fetch(`${server.url}/api/predictions/pred_nope.csv`)).status).toBe(404);
  });

  it('predicts an uploaded file of unlabelled rows like predict does', async () => {
    const columns = [
      'kepoi_name',
      'koi_period',
      'koi_duration',
      'koi_depth',
      'koi_prad',
      'koi_model_snr',
      'koi_steff',
      'koi_srad',
    ];
    const rows = table.slice(0, 12);
    const content = [columns.join(','), ...rows.map((r) => columns.map((c) => r[c]).join(','))].join('\n') + '\n';
    const result = await multipart(server, FILE_BATCH, { r: runs.boosting }, { name: 'unlabelled.csv', content });
    expect(result.errors).toBeUndefined();
    const batch = defined(result.data, 'batch answer').predictBatch;
    expect(batch.rowCount).toBe(12);
    expect(batch.summary.missingFeatures.length).toBeGreaterThan(0);
    const { prediction } = await server.data<{ prediction: { rows: BatchRow[] } }>(
      'query ($id: ID!) { prediction(id: $id) { rows(limit: 20) { ids probabilities { label probability } } } }',
      { id: batch.id },
    );
    const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, {
      r: runs.boosting,
      rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c]]))),
    });
    prediction.rows.forEach((row, i) => {
      expect(row.ids.kepoi_name).toBe(rows[i].kepoi_name);
      expect(row.probabilities).toEqual(predict[i].probabilities);
    });
  });

  it('stores normalised global explanations with the run', async () => {
    const { trainingRun } = await server.data<{
      trainingRun: {
        featureImportance: {
          feature: string;
          importance: number;
          permutationImportance: number;
          permutationMean: number;
          permutationStd: number;
        }[];
      };
    }>(
      'query ($r: ID!) { trainingRun(id: $r) { featureImportance { feature importance permutationImportance permutationMean permutationStd } } }',
      { r: runs.boosting },
    );
    const fi = trainingRun.featureImportance;
    expect(fi.length).toBeGreaterThan(10);
    expect(fi.reduce((a, f) => a + f.importance, 0)).toBeCloseTo(1, 9);
    expect(fi.reduce((a, f) => a + f.permutationImportance, 0)).toBeCloseTo(1, 9);
    for (const f of fi) expect(f.permutationStd).toBeGreaterThanOrEqual(0);
  });

  it('explains tree models exactly (TreeSHAP) and the others by sampling Shapley, additively', async () => {
    const row = candidateRow;
    const cases = [
      { run: runs.forest, method: 'TREE_SHAP', outputSpace: 'PROBABILITY', word: 'probability' },
      { run: runs.boosting, method: 'TREE_SHAP', outputSpace: 'MARGIN', word: 'log-odds' },
      { run: runs.logistic, method: 'SAMPLING_SHAPLEY', outputSpace: 'PROBABILITY', word: 'probability' },
    ];
    for (const c of cases) {
      const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, { r: c.run, rows: [row] });
      const { explain } = await server.data<{ explain: Explanation }>(EXPLAIN, { r: c.run, row });
      expect(explain.method).toBe(c.method);
      expect(explain.outputSpace).toBe(c.outputSpace);
      expect(explain.label).toBe(predict[0].label);
      const sum = explain.contributions.reduce((a, x) => a + x.contribution, 0);
      expect(Math.abs(explain.baseValue + sum - explain.output)).toBeLessThan(1e-6);
      expect(Math.abs(explain.residual)).toBeLessThan(1e-6);
      if (c.outputSpace === 'PROBABILITY') {
        expect(Math.abs(explain.output - predict[0].confidence)).toBeLessThan(1e-6);
      }
      const snr = defined(
        explain.contributions.find((x) => x.feature === 'koi_model_snr'),
        'the koi_model_snr contribution',
      );
      expect(snr.value).toBe(Number(row.koi_model_snr));
      expect(explain.reasons.length).toBeGreaterThan(0);
      for (const reason of explain.reasons)
        expect(reason).toMatch(
          new RegExp(
            `^koi_\\w+ = \\S+ (raised|lowered) the ${explain.label.replace('_', ' ')} ${c.word} (score )?by \\d`,
          ),
        );

      // The label argument: explain the planet class whatever the prediction.
      const { explain: planet } = await server.data<{ explain: Explanation }>(EXPLAIN, {
        r: c.run,
        row,
        label: 'planet',
      });
      expect(planet.label).toBe('planet');
      const planetSum = planet.contributions.reduce((a, x) => a + x.contribution, 0);
      expect(Math.abs(planet.baseValue + planetSum - planet.output)).toBeLessThan(1e-6);
      if (c.outputSpace === 'PROBABILITY')
        expect(Math.abs(planet.output - predict[0].probabilities[2].probability)).toBeLessThan(1e-6);

      const e = firstError(await server.gql(EXPLAIN, { r: c.run, row, label: 'moon' }));
      expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'label' });
    }
  });
});
