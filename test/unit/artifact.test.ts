/** Stored artefacts are read back field by field: a real one round-trips exactly, a malformed one is refused. */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../src/ml/artifact.js';
import { DEFAULT_SPLIT_SIZES, customLabeledTable, parseCsv } from '../../src/ml/data/index.js';
import { trainPipeline, type PipelineArtifact } from '../../src/ml/pipeline.js';
import { loadSizedPredictor } from '../../src/ml/predictor.js';
import { Random } from '../../src/ml/random.js';

let artifact: PipelineArtifact;
let text: string;

beforeAll(async () => {
  const rng = new Random(3);
  const lines = ['a,b,c,label'];
  for (let i = 0; i < 240; i++) {
    const k = i % 3;
    const cell = () => (rng.next() < 0.05 ? '' : (k * 3 + rng.next()).toFixed(3));
    lines.push(`${cell()},${cell()},${(rng.next() * 10).toFixed(3)},class${k}`);
  }
  const table = customLabeledTable(parseCsv(lines.join('\n')), 'label');
  const result = await trainPipeline(table, {
    modelType: 'logistic_regression',
    hyperparameters: {},
    features: null,
    useVettingFeatures: false,
    task: 'THREE_CLASS',
    split: DEFAULT_SPLIT_SIZES,
    seed: 1,
  });
  artifact = result.artifact;
  text = JSON.stringify(artifact);
});

describe('decodeArtifact', () => {
  it('reads back exactly what was stored, and a predictor loads from it', async () => {
    expect(decodeArtifact(text)).toEqual(JSON.parse(text));
    const { predictor } = await loadSizedPredictor(text);
    expect(predictor.classes).toEqual(artifact.classes);
  });

  it.each<[string, (a: Record<string, unknown>) => void]>([
    ['formatVersion', (a) => (a.formatVersion = 2)],
    ['modelType', (a) => (a.modelType = 'random_tree')],
    ['features', (a) => (a.features = ['a', 3])],
    ['preprocessor.medians', (a) => ((a.preprocessor as Record<string, unknown>).medians = 'none')],
    ['model.modelType', (a) => ((a.model as Record<string, unknown>).modelType = 7)],
    ['background', (a) => (a.background = [['x']])],
  ])('refuses a malformed %s, naming it', (field, spoil) => {
    const spoilt = JSON.parse(text) as Record<string, unknown>;
    spoil(spoilt);
    expect(() => decodeArtifact(JSON.stringify(spoilt))).toThrow(`(${field})`);
  });
});
