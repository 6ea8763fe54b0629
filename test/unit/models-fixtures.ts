/**
 * Data for the model tests and the quick model bench: seeded Gaussian blobs and the Kepler KOI table
 * (median-imputed and standardised here, on the training rows only).
 */
import { nasaTableText } from '../fixtures/nasa.js';
import Papa from 'papaparse';
import { Random } from '../../src/ml/random.js';
import { treeEnsembleOf, type TreeEnsemble } from '../../src/ml/models/trees/index.js';
import type { Matrix, SerializedModel, TrainedClassifier } from '../../src/ml/types.js';

export interface Dataset {
  X: Matrix;
  y: Int32Array;
  numClasses: number;
}

/** `numClasses` spherical Gaussian blobs in `d` dimensions, centres `separation` apart along distinct axes. */
export function gaussianBlobs(seed: number, rows: number, d: number, numClasses: number, separation = 4): Dataset {
  const rng = new Random(seed);
  const data = new Float64Array(rows * d);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const label = i % numClasses;
    y[i] = label;
    for (let j = 0; j < d; j++)
      data[i * d + j] = rng.normal() + (j % numClasses === label && j < numClasses ? separation : 0);
  }
  return { X: { rows, cols: d, data }, y, numClasses };
}

export function accuracy(proba: Float64Array, y: Int32Array, numClasses: number): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (proba[i * numClasses + k] > proba[i * numClasses + best]) best = k;
    if (best === y[i]) correct++;
  }
  return correct / y.length;
}

export function macroF1(proba: Float64Array, y: Int32Array, numClasses: number): number {
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (proba[i * numClasses + k] > proba[i * numClasses + best]) best = k;
    if (best === y[i]) tp[best]++;
    else {
      fp[best]++;
      fn[y[i]]++;
    }
  }
  let sum = 0;
  for (let k = 0; k < numClasses; k++) sum += tp[k] === 0 ? 0 : (2 * tp[k]) / (2 * tp[k] + fp[k] + fn[k]);
  return sum / numClasses;
}

export const KEPLER_PHYSICS_12 = [
  'koi_period',
  'koi_duration',
  'koi_depth',
  'koi_prad',
  'koi_teq',
  'koi_insol',
  'koi_impact',
  'koi_model_snr',
  'koi_steff',
  'koi_slogg',
  'koi_srad',
  'koi_kepmag',
];

/** 30 physics columns (the 12 above plus measurement uncertainties), a Kepler-sized matrix for timings. */
export const KEPLER_PHYSICS_30 = [
  ...KEPLER_PHYSICS_12,
  'koi_period_err1',
  'koi_period_err2',
  'koi_duration_err1',
  'koi_duration_err2',
  'koi_depth_err1',
  'koi_depth_err2',
  'koi_prad_err1',
  'koi_prad_err2',
  'koi_insol_err1',
  'koi_insol_err2',
  'koi_impact_err1',
  'koi_impact_err2',
  'koi_steff_err1',
  'koi_steff_err2',
  'koi_slogg_err1',
  'koi_slogg_err2',
  'koi_srad_err1',
  'koi_srad_err2',
];

const LABELS: Record<string, number> = { 'FALSE POSITIVE': 0, CANDIDATE: 1, CONFIRMED: 2 };

/**
 * Kepler KOI, 3 classes, seeded stratified 70/30 split (not grouped by star: good enough for a model check),
 * medians and standardisation fitted on the training rows.
 */
export function loadKepler(columns: string[], seed = 42): { train: Dataset; test: Dataset } {
  const text = nasaTableText('kepler')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
  const rows = parsed.data.filter((row) => row.koi_disposition in LABELS);
  const d = columns.length;
  const data = new Float64Array(rows.length * d);
  const y = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    y[i] = LABELS[row.koi_disposition];
    columns.forEach((column, j) => {
      const raw = row[column];
      data[i * d + j] = raw === '' ? Number.NaN : Number(raw);
    });
  });
  const rng = new Random(seed);
  const trainIndex: number[] = [];
  const testIndex: number[] = [];
  for (let c = 0; c < 3; c++) {
    const members = rng.shuffle(Array.from(y.keys()).filter((i) => y[i] === c));
    const cut = Math.round(members.length * 0.7);
    trainIndex.push(...members.slice(0, cut));
    testIndex.push(...members.slice(cut));
  }
  trainIndex.sort((a, b) => a - b);
  testIndex.sort((a, b) => a - b);

  const medians = new Float64Array(d);
  const means = new Float64Array(d);
  const scales = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const values = trainIndex
      .map((i) => data[i * d + j])
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => a - b);
    const mid = values.length >> 1;
    medians[j] = values.length === 0 ? 0 : values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    const filled = trainIndex.map((i) => (Number.isNaN(data[i * d + j]) ? medians[j] : data[i * d + j]));
    means[j] = filled.reduce((s, v) => s + v, 0) / filled.length;
    const variance = filled.reduce((s, v) => s + (v - means[j]) ** 2, 0) / filled.length;
    scales[j] = variance > 0 ? Math.sqrt(variance) : 1;
  }
  const build = (indices: number[]): Dataset => {
    const out = new Float64Array(indices.length * d);
    indices.forEach((row, i) => {
      for (let j = 0; j < d; j++) {
        const raw = data[row * d + j];
        out[i * d + j] = ((Number.isNaN(raw) ? medians[j] : raw) - means[j]) / scales[j];
      }
    });
    return { X: { rows: indices.length, cols: d, data: out }, y: Int32Array.from(indices, (i) => y[i]), numClasses: 3 };
  };
  return { train: build(trainIndex), test: build(testIndex) };
}

/** The tree structure of a tree model (fails the test for any other model). */
export function ensembleOf(model: TrainedClassifier): TreeEnsemble {
  const ensemble = treeEnsembleOf(model);
  if (!ensemble) throw new Error(`${model.modelType} has no tree structure`);
  return ensemble;
}

/** A model's JSON as it comes back from storage (through a string). */
export function stored(model: TrainedClassifier): SerializedModel {
  return JSON.parse(JSON.stringify(model.toJSON())) as SerializedModel;
}

/** `value` as an instance of `type` (fails the test otherwise). */
export function instanceOf<T>(value: unknown, type: abstract new (...args: never[]) => T): T {
  if (!(value instanceof type)) throw new Error(`expected a ${type.name}`);
  return value;
}
