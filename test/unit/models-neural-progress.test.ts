/**
 * Progress within a network's epoch and batch (issue 12 item 7): a batch reports after each layer's forward and
 * backward pass how much of its arithmetic is done, and the fit reports partial epochs; reporting changes nothing
 * in the model.
 */
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/ml/catalog.js';
import { buildModel, engineFromModel, neuralNetworkTrainer } from '../../src/ml/models/neural/index.js';
import { initTensorflow } from '../../src/ml/models/tf-backend.js';
import { Random } from '../../src/ml/random.js';
import type { StepProgress } from '../../src/ml/types.js';
import { gaussianBlobs } from './models-fixtures.js';

describe('progress within a batch', () => {
  it('says after each layer how much of the batch is done, by the weights each pass multiplies', async () => {
    const { tf } = await initTensorflow();
    const data = gaussianBlobs(3, 40, 5, 3, 1.5);
    const p = resolveParams('neural_network', { hidden_layers: [16, 8], dropout_rate: 0 });
    const order = Int32Array.from({ length: data.X.rows }, (_, i) => i);
    const weightsAfter = (report: boolean): { shares: number[]; weights: Float64Array[] } => {
      const engine = engineFromModel(buildModel(tf, 5, 3, p, 7), p, 5, data.X.rows, p.learning_rate);
      const shares: number[] = [];
      engine.trainBatch(
        data.X,
        data.y,
        order,
        0,
        data.X.rows,
        new Random(1),
        report ? (s) => shares.push(s) : undefined,
      );
      return { shares, weights: engine.saveState() };
    };
    const { shares, weights } = weightsAfter(true);
    // Layers 5→16, 16→8, 8→3: 80, 128 and 24 weights; forward 1× and backward 2× each.
    const total = 3 * (80 + 128 + 24);
    const expected = [80, 208, 232, 232 + 48, 232 + 48 + 256, 232 + 48 + 256 + 160].map((w) => w / total);
    expect(shares).toHaveLength(6);
    shares.forEach((share, i) => {
      expect(share).toBeCloseTo(expected[i], 12);
    });
    expect(shares.at(-1)).toBeCloseTo(1, 12);
    expect(weightsAfter(false).weights).toEqual(weights);
  });

  it('reports partial epochs with the whole epochs done as the step, and fits the same model', async () => {
    const data = gaussianBlobs(5, 1000, 5, 3, 1.5);
    const params = { hidden_layers: [64, 64], batch_size: 1, epochs: 2, early_stopping_patience: 0 };
    const steps: StepProgress[] = [];
    const fitted = await neuralNetworkTrainer.fit(data.X, data.y, 3, params, {
      seed: 11,
      onStep: (s) => steps.push(s),
    });
    const partial = steps.filter((s) => s.partial !== undefined);
    // Whether a partial report is due depends on the clock (every 250 ms); what is reported does not.
    for (const s of partial) {
      expect(Number.isInteger(s.step)).toBe(true);
      expect(s.partial).toBeGreaterThan(0);
      expect(s.partial).toBeLessThanOrEqual(1);
      expect(s.message).toMatch(new RegExp(`^Epoch ${s.step + 1} of 2: batch [\\d,]+ of 1,000`));
    }
    expect(steps.filter((s) => s.partial === undefined).map((s) => s.step)).toEqual([1, 2]);
    const quiet = await neuralNetworkTrainer.fit(data.X, data.y, 3, params, { seed: 11 });
    expect(Array.from(fitted.predictProba(data.X))).toEqual(Array.from(quiet.predictProba(data.X)));
  });
});
