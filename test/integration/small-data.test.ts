/**
 * Small or degenerate data (issue 9, item 6) through GraphQL on a real server: an upload too small to split is
 * refused at startTraining with the counts and the smallest dataset that works; a tiny class trains, with a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitForRun, type GraphQLResult, type TestServer } from './harness.js';

const UPLOAD =
  'mutation ($file: File!, $label: String) { uploadDataset(file: $file, labelColumn: $label) { id rowCount classes } }';
const START = 'mutation ($s: ID!) { startTraining(sessionId: $s) { id status warnings } }';
const RUN =
  'query ($r: ID!) { trainingRun(id: $r) { status warnings splitCounts { train validation test } metrics { numSamples perClass { label support } } } }';

async function upload(server: TestServer, csv: string, label: string): Promise<string> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null, label } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([csv]), 'small.csv');
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    body: form,
    headers: { 'graphql-preflight': '1' },
  });
  const body = (await response.json()) as GraphQLResult<{ uploadDataset: { id: string } }>;
  if (!body.data?.uploadDataset) throw new Error(`upload failed: ${JSON.stringify(body.errors)}`);
  return body.data.uploadDataset.id;
}

async function session(server: TestServer, datasetId: string): Promise<string> {
  const { createSession } = await server.data<{ createSession: { id: string } }>('mutation { createSession { id } }');
  await server.data('mutation ($input: ConfigureSessionInput!) { configureSession(input: $input) { id } }', {
    input: { sessionId: createSession.id, datasetId, modelType: 'decision_tree' },
  });
  return createSession.id;
}

/** `counts[label]` rows per class; two numeric features that separate the classes, with seeded noise. */
function csv(counts: Record<string, number>): string {
  const lines = ['period_days,depth_ppm,verdict'];
  let k = 0;
  Object.entries(counts).forEach(([label, n], c) => {
    for (let i = 0; i < n; i++, k++)
      lines.push(
        `${(c * 10 + ((k * 7919) % 13) / 3).toFixed(3)},${(100 * c + ((k * 104729) % 17)).toFixed(1)},${label}`,
      );
  });
  return `${lines.join('\n')}\n`;
}

describe('small or degenerate data over GraphQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('refuses a 4-row upload at startTraining with BAD_USER_INPUT naming the counts and the smallest dataset that works', async () => {
    const datasetId = await upload(
      server,
      'period_days,depth_ppm,verdict\n1.2,300,real\n3.4,120,fake\n5.1,410,real\n0.7,90,fake\n',
      'verdict',
    );
    const sessionId = await session(server, datasetId);
    const result = await server.gql<{ startTraining: unknown }>(START, { s: sessionId });
    expect(result.data?.startTraining ?? null).toBeNull();
    const error = result.errors?.[0];
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.extensions?.field).toBe('datasetId');
    expect(error?.message).toMatch(/class "fake" has 0 (validation|test)/);
    expect(error?.message).toMatch(/"fake" 2 \(\d\/\d\/\d\), "real" 2 \(\d\/\d\/\d\)/);
    expect(error?.message).toMatch(/smallest dataset that works has \d+ rows per class/);
    // Refused before a run existed: nothing queued, nothing to clean up.
    const { trainingRuns } = await server.data<{ trainingRuns: { totalCount: number } }>(
      'query ($s: ID!) { trainingRuns(sessionId: $s) { totalCount } }',
      { s: sessionId },
    );
    expect(trainingRuns.totalCount).toBe(0);
  });

  it('trains a dataset with a tiny class, and the run says so from the start to the end', async () => {
    const datasetId = await upload(server, csv({ common: 120, usual: 120, rare: 12 }), 'verdict');
    const sessionId = await session(server, datasetId);
    const { startTraining } = await server.data<{ startTraining: { id: string; warnings: string[] } }>(START, {
      s: sessionId,
    });
    expect(startTraining.warnings).toHaveLength(1);
    expect(startTraining.warnings[0]).toMatch(/^Class "rare" is tiny: 12 rows \(train \d+, validation \d+, test \d+\)/);
    expect(await waitForRun(server, startTraining.id, 60_000)).toBe('SUCCEEDED');
    const { trainingRun } = await server.data<{
      trainingRun: {
        warnings: string[];
        metrics: { numSamples: number; perClass: { label: string; support: number }[] };
      };
    }>(RUN, { r: startTraining.id });
    expect(trainingRun.warnings).toEqual(startTraining.warnings);
    const rare = trainingRun.metrics.perClass.find((c) => c.label === 'rare');
    expect(rare?.support).toBeGreaterThanOrEqual(2);
    expect(trainingRun.metrics.numSamples).toBeGreaterThan(0);
  });

  it('a run with enough rows of every class has no warnings', async () => {
    const datasetId = await upload(server, csv({ common: 150, rare: 150 }), 'verdict');
    const { startTraining } = await server.data<{ startTraining: { id: string; warnings: string[] } }>(START, {
      s: await session(server, datasetId),
    });
    expect(startTraining.warnings).toEqual([]);
    expect(await waitForRun(server, startTraining.id, 60_000)).toBe('SUCCEEDED');
  });
});
