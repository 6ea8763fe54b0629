/**
 * The real server on a throw-away PostgreSQL (DATABASE_URL): upload → session → train → predict, then a restart on
 * the same database finds the run, its model and the upload (whose bytes live in the database: the restarted server
 * has an empty upload folder) and predicts the same answer. Skipped with the reason outside CI when PostgreSQL is
 * not installed; in CI its absence fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enginesUnavailableReason, startPostgres, type RunningEngine } from '../fixtures/engines.js';
import { startServer, waitForRun, type GraphQLResult, type TestServer } from '../integration/harness.js';

const unavailable = enginesUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must have PostgreSQL and Redis: ${unavailable}`);

const UPLOAD = 'mutation ($file: File!, $label: String) { uploadDataset(file: $file, labelColumn: $label) { id } }';
const PREDICT =
  'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label probabilities { label probability } } }';

/** 160 rows of two numeric features and a two-class label that a decision tree separates. */
function csv(): string {
  const rows = Array.from({ length: 160 }, (_, i) => {
    const yes = i % 2 === 1;
    return `${(yes ? 5 : 0) + (i % 7) / 7},${i % 11},${yes ? 'yes' : 'no'}`;
  });
  return `a,b,verdict\n${rows.join('\n')}\n`;
}

async function upload(server: TestServer, content: string): Promise<string> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null, label: 'verdict' } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([content]), 'pg.csv');
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1' },
  });
  const body = (await response.json()) as GraphQLResult<{ uploadDataset: { id: string } }>;
  if (!body.data?.uploadDataset) throw new Error(`upload failed: ${JSON.stringify(body.errors)}`);
  return body.data.uploadDataset.id;
}

describe.skipIf(unavailable !== null)('the server on PostgreSQL', () => {
  let postgres: RunningEngine | undefined;
  let server: TestServer | undefined;
  const dirs: string[] = [];
  const folder = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-pg-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await postgres?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains and predicts, and after a restart on the same database finds and predicts the same', async () => {
    if (!postgres) throw new Error('PostgreSQL did not start');
    const env = { DATABASE_URL: postgres.url, DATABASE_PATH: path.join(folder(), 'unused.db') };
    server = await startServer({ dir: folder(), env });

    const datasetId = await upload(server, csv());
    const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
    await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
      input: { sessionId: createSession.id, datasetId, modelType: 'decision_tree' },
    });
    const { startTraining } = await server.data<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: createSession.id },
    );
    const runId = startTraining.id;
    expect(await waitForRun(server, runId, 60_000)).toBe('SUCCEEDED');
    const rows = [
      { a: '5.5', b: '3' },
      { a: '0.2', b: '8' },
    ];
    const first = await server.data<{ predict: { label: string; probabilities: { probability: number }[] }[] }>(
      PREDICT,
      { r: runId, rows },
    );
    expect(first.predict.map((p) => p.label)).toEqual(['yes', 'no']);

    // The tables are PostgreSQL's, not a SQLite file's.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const counted = await client.query<{ runs: string; files: string; models: string }>(
        `select (select count(*) from training_runs) as runs, (select count(*) from dataset_files) as files,
                (select count(*) from models) as models`,
      );
      expect(counted.rows[0]).toEqual({ runs: '1', files: '1', models: '1' });
      // The held-out predictions, handed over as JSON text, are stored as a JSON object (not a JSON string).
      const heldOut = await client.query<{ type: string; rows: number }>(
        'select json_typeof(predictions) as type, row_count as rows from test_predictions',
      );
      expect(heldOut.rows).toHaveLength(1);
      expect(heldOut.rows[0].type).toBe('object');
      expect(heldOut.rows[0].rows).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    expect(fs.existsSync(env.DATABASE_PATH)).toBe(false);

    // Another server (a fresh upload folder: nothing on its disk) on the same database.
    await server.stop();
    server = await startServer({ dir: folder(), env });
    const again = await server.data<{
      trainingRun: {
        status: string;
        attempt: number;
        sessionId: string;
        metrics: { numSamples: number };
        testPredictions: { totalRows: number; rowIds: string[]; probabilities: number[] };
      };
      dataset: { id: string; available: boolean; rowCount: number };
    }>(
      `query ($r: ID!, $d: ID!) {
        trainingRun(id: $r) { status attempt sessionId metrics { numSamples } testPredictions(limit: 2) { totalRows rowIds probabilities } }
        dataset(id: $d) { id available rowCount }
      }`,
      { r: runId, d: datasetId },
    );
    const { testPredictions, metrics, ...run } = again.trainingRun;
    expect(run).toEqual({ status: 'SUCCEEDED', attempt: 1, sessionId: createSession.id });
    expect(testPredictions.totalRows).toBe(metrics.numSamples);
    expect(testPredictions.rowIds).toHaveLength(2);
    expect(testPredictions.probabilities).toHaveLength(4);
    expect(again.dataset).toEqual({ id: datasetId, available: true, rowCount: 160 });
    const second = await server.data<{ predict: { label: string; probabilities: { probability: number }[] }[] }>(
      PREDICT,
      { r: runId, rows },
    );
    expect(second.predict).toEqual(first.predict);

    // The upload's CSV is materialised from the database where a run needs it: a second run trains on it here.
    const { startTraining: retrain } = await server.data<{ startTraining: { id: string } }>(
      'mutation ($s: ID!) { startTraining(sessionId: $s) { id } }',
      { s: createSession.id },
    );
    expect(await waitForRun(server, retrain.id, 60_000)).toBe('SUCCEEDED');
  });
});
