/**
 * PredictionService without the HTTP stack: which runs can predict, what a batch refuses, and a stored batch read
 * back (its summary JSON typed, its rows and CSV) through the run queries it is given.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, uploadTooLarge } from '../../src/domain/errors.js';
import { PredictionService } from '../../src/services/predictions.js';
import {
  createServicesUnderTest,
  inProcessPool,
  readySession,
  type ServicesUnderTest,
  SERVER,
} from './services-fixtures.js';

let services: ServicesUnderTest | null = null;
afterEach(async () => {
  await services?.close();
  services = null;
});

async function refusal(action: () => unknown): Promise<AppError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

function setUp() {
  services = createServicesUnderTest({ manualQueue: true, env: { MAX_UPLOAD_MB: '1' } });
  const s = services;
  const predictions = new PredictionService(
    s.handle.store,
    s.config,
    s.training.runs,
    s.models,
    s.datasets,
    inProcessPool,
    s.owners,
  );
  return { s, predictions };
}

describe('prediction service', () => {
  it('predicts only with a run that exists and has succeeded', async () => {
    const { s, predictions } = setUp();
    expect(await refusal(() => predictions.requireReadyRun('run_missing'))).toMatchObject({ code: 'NOT_FOUND' });
    const sessionId = await readySession(s);
    const run = await s.training.commands.start(SERVER, sessionId);
    const queued = await refusal(() => predictions.predict(SERVER, run.id, [{ a: 1, b: 2 }]));
    expect(queued).toMatchObject({ code: 'CONFLICT' });
    expect(queued.message).toContain('QUEUED');
    expect(await predictions.latestForSession(sessionId)).toBeNull();
  });

  it('stores a batch and reads it back typed: summary, sorted rows, CSV, latest of the session', async () => {
    const { s, predictions } = setUp();
    const sessionId = await readySession(s);
    const run = await s.training.commands.start(SERVER, sessionId);
    await s.queue?.runNext();
    expect((await s.training.runs.require(run.id)).status).toBe('SUCCEEDED');

    expect(await refusal(() => predictions.predictBatch(SERVER, { runId: run.id }))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'datasetId',
    });
    const big = new File([new Uint8Array(s.config.maxUploadBytes + 1)], 'big.csv');
    const tooLarge = await refusal(() => predictions.predictBatch(SERVER, { runId: run.id, file: big }));
    expect(tooLarge).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'file' });
    expect(tooLarge.message).toBe(uploadTooLarge(s.config.maxUploadBytes).message);

    const batch = await predictions.predictBatch(SERVER, {
      runId: run.id,
      file: new File(['a,b\n1,2\n6,3\n0.5,9\n'], 'x.csv'),
    });
    expect(batch.classes).toEqual(['no', 'yes']);
    expect(batch.summary.rowCount).toBe(3);
    expect(batch.summary.counts.reduce((sum, c) => sum + c.count, 0)).toBe(3);
    expect(await predictions.get(SERVER, batch.id)).toEqual(batch);
    expect((await predictions.latestForSession(sessionId))?.id).toBe(batch.id);
    expect((await predictions.forRun(run.id)).map((b) => b.summary)).toEqual([batch.summary]);

    const byYes = await predictions.rows(batch, { sortByClass: 'yes' });
    const yes = byYes.map((row) => row.probabilities.find((p) => p.label === 'yes')?.probability ?? -1);
    expect([...yes].sort((a, b) => b - a)).toEqual(yes);
    expect((await refusal(() => predictions.rows(batch, { sortByClass: 'maybe' }))).field).toBe('sortByClass');
    let csv = '';
    for await (const chunk of predictions.csv(batch)) csv += chunk;
    expect(csv.split('\n')[0]).toBe('row_index,predicted_label,confidence,p_no,p_yes');
    expect(csv.trim().split('\n')).toHaveLength(4);
  });
});
