/** Stored artefacts are read back field by field: a real one round-trips exactly, a malformed one is refused. */
import { beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  ARTIFACT_GZIP_LEVEL,
  decodeArtifact,
  decodeArtifactBytes,
  decodeGzippedArtifact,
  encodeArtifact,
  encodeArtifactParts,
  gzipArtifactParts,
} from '../../src/ml/artifact.js';
import { DEFAULT_SPLIT_SIZES, customLabeledTable, parseCsv } from '../../src/ml/data/index.js';
import { trainPipeline, type PipelineArtifact } from '../../src/ml/pipeline.js';
import { Predictor, loadGzippedPredictor, loadSizedPredictor } from '../../src/ml/predictor.js';
import { StoredBytes } from '../../src/ml/models/stored.js';
import { ForestModel } from '../../src/ml/models/trees/forest.js';
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

describe('the binary artefact', () => {
  let forest: PipelineArtifact;
  let boosted: PipelineArtifact;
  let rows: Record<string, number>[];

  beforeAll(async () => {
    const rng = new Random(5);
    const lines = ['a,b,c,label'];
    rows = [];
    for (let i = 0; i < 300; i++) {
      const k = i % 3;
      const a = k * 2 + rng.next();
      const b = rng.next() < 0.1 ? '' : (k + rng.next()).toFixed(4);
      const c = rng.next() * 10;
      lines.push(`${a.toFixed(4)},${b},${c.toFixed(4)},class${k}`);
      // A missing cell is an absent field.
      if (i < 40) rows.push(b ? { a, b: Number(b), c } : { a, c });
    }
    const table = customLabeledTable(parseCsv(lines.join('\n')), 'label');
    const train = (modelType: 'random_forest' | 'xgboost') =>
      trainPipeline(table, {
        modelType,
        hyperparameters: {},
        features: null,
        useVettingFeatures: false,
        task: 'THREE_CLASS',
        split: DEFAULT_SPLIT_SIZES,
        seed: 3,
      });
    forest = (await train('random_forest')).artifact;
    boosted = (await train('xgboost')).artifact;
  });

  it('round-trips exactly: the same JSON, the same predictions to the bit', async () => {
    for (const original of [forest, boosted]) {
      const stored = gunzipSync(gzipSync(encodeArtifact(original), { level: ARTIFACT_GZIP_LEVEL }));
      const decoded = decodeArtifactBytes(stored);
      // Typed arrays travel as bytes: written as JSON they are the base64 the JSON artefact holds.
      expect(JSON.stringify(decoded)).toBe(JSON.stringify(original));
      const fromBinary = await loadSizedPredictor(stored);
      const fromJson = await loadSizedPredictor(JSON.stringify(original));
      expect(fromBinary.bytes).toBe(stored.length);
      const a = fromBinary.predictor.predictRows(rows);
      const b = fromJson.predictor.predictRows(rows);
      expect(a).toEqual(b);
    }
  });

  it("a loaded forest's node arrays are the decoded blocks themselves (shared memory, no second copy)", async () => {
    const blocksOf = (value: unknown, blocks = new Set<ArrayBufferLike>()): Set<ArrayBufferLike> => {
      if (value instanceof StoredBytes) blocks.add(value.bytes.buffer);
      else if (Array.isArray(value)) value.forEach((v) => blocksOf(v, blocks));
      else if (typeof value === 'object' && value !== null) Object.values(value).forEach((v) => blocksOf(v, blocks));
      return blocks;
    };
    const loaded = await Predictor.load(decodeArtifactBytes(encodeArtifact(forest)));
    if (!(loaded.model instanceof ForestModel)) throw new Error('not a forest');
    // Stored now (format 2): the derived arrays are shared memory of their own, treeStart is its block.
    const now = loaded.model.trees;
    for (const a of [now.feature, now.threshold, now.right, now.cover])
      expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    const decoded = decodeArtifactBytes(encodeArtifact(forest));
    const { model } = await Predictor.load(decoded);
    if (!(model instanceof ForestModel)) throw new Error('not a forest');
    expect(blocksOf(decoded).has(model.trees.treeStart.buffer)).toBe(true);
    // Stored before (format 1, every node array whole): those arrays are the blocks.
    const before = decodeArtifactBytes(
      encodeArtifact({ ...forest, model: { ...forest.model, formatVersion: 1, trees: now.toJSON() } }),
    );
    const old = (await Predictor.load(before)).model;
    if (!(old instanceof ForestModel)) throw new Error('not a forest');
    for (const a of [old.trees.feature, old.trees.threshold, old.trees.right, old.trees.cover]) {
      expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(blocksOf(before).has(a.buffer)).toBe(true);
    }
  });

  it('is smaller than the JSON artefact for trees (no base64)', () => {
    expect(encodeArtifact(forest).length).toBeLessThan(Buffer.byteLength(JSON.stringify(forest)));
  });

  it('still reads artefacts stored as JSON text before it', () => {
    const json = JSON.stringify(forest);
    const decoded = decodeArtifactBytes(Buffer.from(json, 'utf8'));
    expect(JSON.stringify(decoded)).toBe(json);
    // A linear model's artefact (no byte blocks) both ways.
    expect(decodeArtifactBytes(encodeArtifact(artifact))).toEqual(decodeArtifact(text));
  });

  it('refuses a truncated or inconsistent binary artefact', () => {
    const stored = encodeArtifact(forest);
    expect(() => decodeArtifactBytes(stored.subarray(0, stored.length - 1))).toThrow('malformed (binary blocks)');
    expect(() => decodeArtifactBytes(Buffer.concat([stored, Buffer.from([0])]))).toThrow('malformed (binary blocks)');
    const badIndex = Buffer.from(stored);
    const at = badIndex.indexOf('{"$bytes":0}');
    expect(at).toBeGreaterThan(0);
    badIndex.write('{"$bytes":9}', at);
    expect(() => decodeArtifactBytes(badIndex)).toThrow('malformed (binary block index)');
  });

  it('decodes as it inflates: the same artefact, blocks in shared memory, spanning output chunks and gzip members', async () => {
    // A block of 3 MB of incompressible bytes spans several 1 MB output chunks; gzipArtifactParts writes it as two
    // gzip members (more than two 4 MB slices).
    const noise = new Uint8Array(9_000_000);
    const rng = new Random(11);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rng.next() * 256);
    const padded = { ...forest, model: { ...forest.model, padding: new StoredBytes(noise) } };
    for (const original of [forest, boosted, artifact, padded]) {
      const raw = encodeArtifact(original);
      const gzipped = await gzipArtifactParts(encodeArtifactParts(original), () => undefined);
      const { artifact: decoded, bytes } = await decodeGzippedArtifact(gzipped);
      expect(bytes).toBe(raw.length);
      expect(JSON.stringify(decoded)).toBe(JSON.stringify(decodeArtifactBytes(gunzipSync(gzipped))));
    }
    const { predictor, bytes } = await loadGzippedPredictor(gzipSync(encodeArtifact(forest)));
    expect(bytes).toBe(encodeArtifact(forest).length);
    const { model } = predictor;
    expect(model).toBeInstanceOf(ForestModel);
    if (model instanceof ForestModel) expect(model.trees.threshold.buffer).toBeInstanceOf(SharedArrayBuffer);
    const fromJson = await loadSizedPredictor(JSON.stringify(forest));
    expect(predictor.predictRows(rows)).toEqual(fromJson.predictor.predictRows(rows));
  });

  it('decoding as it inflates reads JSON artefacts and refuses truncated or inconsistent ones', async () => {
    const json = JSON.stringify(forest);
    const fromJson = await decodeGzippedArtifact(gzipSync(json));
    expect(JSON.stringify(fromJson.artifact)).toBe(json);
    expect(fromJson.bytes).toBe(Buffer.byteLength(json));
    const stored = encodeArtifact(forest);
    await expect(decodeGzippedArtifact(gzipSync(stored.subarray(0, stored.length - 1)))).rejects.toThrow(
      'malformed (binary blocks)',
    );
    await expect(decodeGzippedArtifact(gzipSync(Buffer.concat([stored, Buffer.from([0])])))).rejects.toThrow(
      'malformed (binary blocks)',
    );
    await expect(decodeGzippedArtifact(gzipSync(stored.subarray(0, 20)))).rejects.toThrow('malformed (binary header)');
    const gzipped = gzipSync(stored);
    await expect(decodeGzippedArtifact(gzipped.subarray(0, gzipped.length - 10))).rejects.toThrow();
  });
});
