/**
 * `predict` with a neural network runs in the inference worker (issue 9, memory): TensorFlow.js is never loaded on
 * the event loop, and the answers are those of the stored model.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_KEPLER, keplerRows, startRun, startServer, waitForRun, type TestServer } from './harness.js';
import { Predictor } from '../../src/ml/predictor.js';
import { decodeArtifactBytes } from '../../src/ml/artifact.js';
import { defined } from '../fixtures/defined.js';

const PREDICT =
  'query ($r: ID!, $rows: [JSON!]!) { predict(runId: $r, rows: $rows) { label confidence probabilities { label probability } warnings } }';

interface Prediction {
  label: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
}

describe.skipIf(!HAS_KEPLER)('neural network predictions', () => {
  let server: TestServer;
  let runId: string;
  beforeAll(async () => {
    server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
    ({ runId } = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'neural_network',
      hyperparameters: { hidden_layers: [16], epochs: 3 },
    }));
    expect(await waitForRun(server, runId)).toBe('SUCCEEDED');
  }, 180_000);
  afterAll(() => server.stop());

  it('answers in the worker, off the event loop, exactly as the stored model does', async () => {
    const rows = keplerRows(20);
    const { predict } = await server.data<{ predict: Prediction[] }>(PREDICT, { r: runId, rows });
    expect(predict).toHaveLength(20);
    // The event loop's predictor cache stayed empty: nothing (and so no TensorFlow.js) was loaded there.
    expect(server.app.services.models.cacheStats().entries).toBe(0);

    const stored = await server.app.services.models.bytes(runId);
    expect(stored).not.toBeNull();
    const reference = await Predictor.load(decodeArtifactBytes(gunzipSync(defined(stored, 'stored model'))));
    const expected = reference.predictRows(rows);
    reference.dispose();
    predict.forEach((p, i) => {
      expect(p.label).toBe(expected[i].label);
      p.probabilities.forEach((c, j) => {
        expect(c.probability).toBeCloseTo(expected[i].probabilities[j].probability, 6);
      });
    });
  });

  it('refuses a bad row with BAD_USER_INPUT naming it, as on the event loop', async () => {
    const [row] = keplerRows(1);
    const result = await server.gql(PREDICT, { r: runId, rows: [{ ...row, koi_period: 'soon' }] });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].extensions?.field).toBe('rows[0].koi_period');
  });
});
