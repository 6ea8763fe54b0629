/**
 * Cross-mission evaluation: one feature set shared by Kepler, K2 and TESS, and a model trained on one mission's
 * dispositioned rows evaluated on another's.
 *
 * The harmonised features and the column each mission gives them (every unit already agrees, so no value is
 * converted; the units are those of the NASA Exoplanet Archive's column definitions):
 *
 * | feature                      | unit            | Kepler (cumulative) | K2 (k2pandc)  | TESS (TOI)    |
 * |------------------------------|-----------------|---------------------|---------------|---------------|
 * | period_days                  | days            | koi_period          | pl_orbper     | pl_orbper     |
 * | transit_duration_hours       | hours           | koi_duration        | — (not in the export) | pl_trandurh |
 * | transit_depth_ppm            | parts per million | koi_depth         | — (not in the export) | pl_trandep  |
 * | planet_radius_earth          | Earth radii     | koi_prad            | pl_rade       | pl_rade       |
 * | insolation_earth             | Earth flux (S⊕) | koi_insol           | — (leaks: see below) | pl_insol |
 * | equilibrium_temperature_k    | kelvin          | koi_teq             | — (leaks)     | pl_eqt        |
 * | stellar_teff_k               | kelvin          | koi_steff           | st_teff       | st_teff       |
 * | stellar_logg_cgs             | log10(cm s⁻²)   | koi_slogg           | st_logg       | st_logg       |
 * | stellar_radius_solar         | solar radii     | koi_srad            | st_rad        | st_rad        |
 *
 * Left out, and why:
 * - K2's pl_insol and pl_eqt are literature values that exist almost only for confirmed planets (missions.ts): their
 *   mere presence gives the label away, so K2 rows get them as missing.
 * - Magnitudes are not comparable: Kepler's Kp, TESS's T (a red-optical band, about I) and K2's V, Ks and Gaia G are
 *   different bands; no single conversion holds across stellar types, so no magnitude is harmonised.
 * - Uncertainties (err1/err2) are left out: their size reflects each mission's photometric precision (TESS's
 *   larger pixels and shorter baselines), a mission signature rather than a property of the object.
 * A pair of missions trains and evaluates on the features both of them fill (see `crossMissionFeatures`).
 */
import { binaryTask, type LabeledTable } from '../data/dataset.js';
import { HARMONISED_FEATURES } from './harmonised-features.js';
import type { MissionId } from '../data/missions.js';
import { badInput } from '../../domain/errors.js';
import { evaluate, type Metrics } from '../evaluate.js';
import type { Hyperparameters, Matrix, ModelTypeId } from '../types.js';
import type { Task } from '../../domain/data.js';
import { modelFoldTrainer } from './model-folds.js';

export { HARMONISED_FEATURES };
export type HarmonisedFeature = (typeof HARMONISED_FEATURES)[number];

/** Mission → harmonised feature → its column (null: the mission has no usable column for it). */
export const HARMONISED_COLUMNS: Readonly<Record<MissionId, Readonly<Record<HarmonisedFeature, string | null>>>> = {
  kepler: {
    period_days: 'koi_period',
    transit_duration_hours: 'koi_duration',
    transit_depth_ppm: 'koi_depth',
    planet_radius_earth: 'koi_prad',
    insolation_earth: 'koi_insol',
    equilibrium_temperature_k: 'koi_teq',
    stellar_teff_k: 'koi_steff',
    stellar_logg_cgs: 'koi_slogg',
    stellar_radius_solar: 'koi_srad',
  },
  k2: {
    period_days: 'pl_orbper',
    transit_duration_hours: null,
    transit_depth_ppm: null,
    planet_radius_earth: 'pl_rade',
    insolation_earth: null,
    equilibrium_temperature_k: null,
    stellar_teff_k: 'st_teff',
    stellar_logg_cgs: 'st_logg',
    stellar_radius_solar: 'st_rad',
  },
  tess: {
    period_days: 'pl_orbper',
    transit_duration_hours: 'pl_trandurh',
    transit_depth_ppm: 'pl_trandep',
    planet_radius_earth: 'pl_rade',
    insolation_earth: 'pl_insol',
    equilibrium_temperature_k: 'pl_eqt',
    stellar_teff_k: 'st_teff',
    stellar_logg_cgs: 'st_logg',
    stellar_radius_solar: 'st_rad',
  },
};

export interface HarmonisedTable {
  mission: MissionId;
  classes: string[];
  labels: Int32Array;
  groups: string[] | null;
  /** Every harmonised feature, in HARMONISED_FEATURES order; NaN where the mission has no value. */
  X: Matrix;
  /** Harmonised features with at least one value in this table. */
  available: HarmonisedFeature[];
}

function missionOf(table: LabeledTable): MissionId {
  if (table.source.kind !== 'nasa') {
    throw badInput('Cross-mission evaluation needs NASA mission tables (kepler, k2, tess).', 'datasetId');
  }
  return table.source.mission;
}

/** The table's rows in the harmonised features (`task` BINARY: planet vs false positive, dispositioned rows only). */
export function harmonise(table: LabeledTable, task: Task = 'BINARY'): HarmonisedTable {
  const mission = missionOf(table);
  const data = task === 'BINARY' ? binaryTask(table) : table;
  const columns = HARMONISED_FEATURES.map((f) => {
    const name = HARMONISED_COLUMNS[mission][f];
    return name === null ? -1 : data.table.columns.indexOf(name);
  });
  const rows = data.table.rowCount;
  const d = HARMONISED_FEATURES.length;
  const values = new Float64Array(rows * d).fill(Number.NaN);
  const filled = new Uint8Array(d);
  columns.forEach((c, j) => {
    if (c === -1) return;
    const column = data.table.numbers(c);
    for (let r = 0; r < rows; r++) {
      const v = column[r];
      values[r * d + j] = v;
      if (!Number.isNaN(v)) filled[j] = 1;
    }
  });
  return {
    mission,
    classes: data.classes,
    labels: data.labels,
    groups: data.groups,
    X: { rows, cols: d, data: values },
    available: HARMONISED_FEATURES.filter((_, j) => filled[j] === 1),
  };
}

/** The harmonised features both tables fill, in HARMONISED_FEATURES order. */
export function crossMissionFeatures(a: HarmonisedTable, b: HarmonisedTable): HarmonisedFeature[] {
  return HARMONISED_FEATURES.filter((f) => a.available.includes(f) && b.available.includes(f));
}

function selectColumns(X: Matrix, features: readonly HarmonisedFeature[]): Matrix {
  const index = features.map((f) => HARMONISED_FEATURES.indexOf(f));
  const data = new Float64Array(X.rows * index.length);
  for (let r = 0; r < X.rows; r++) {
    index.forEach((j, k) => (data[r * index.length + k] = X.data[r * X.cols + j]));
  }
  return { rows: X.rows, cols: index.length, data };
}

export interface ClassBalance {
  mission: MissionId;
  rows: number;
  counts: { label: string; count: number; share: number }[];
}

function balanceOf(t: HarmonisedTable): ClassBalance {
  const counts = t.classes.map((label) => ({ label, count: 0, share: 0 }));
  for (const y of t.labels) counts[y].count++;
  for (const c of counts) c.share = t.labels.length > 0 ? c.count / t.labels.length : 0;
  return { mission: t.mission, rows: t.labels.length, counts };
}

export interface CrossMissionResult {
  trainMission: MissionId;
  testMission: MissionId;
  task: Task;
  features: HarmonisedFeature[];
  /** Class balance of the rows trained on and of the rows evaluated. */
  trainBalance: ClassBalance;
  testBalance: ClassBalance;
  metrics: Metrics;
  fitSeconds: number;
}

/**
 * Trains `modelType` on every (dispositioned, for BINARY) row of `train`'s mission in the shared harmonised
 * features, with the pipeline's preprocessing fitted on those rows, and evaluates it on every such row of `test`.
 */
export async function evaluateCrossMission(
  train: LabeledTable,
  test: LabeledTable,
  options: { modelType: ModelTypeId; hyperparameters: Hyperparameters; task?: Task; seed: number; threads?: number },
): Promise<CrossMissionResult> {
  const task = options.task ?? 'BINARY';
  const a = harmonise(train, task);
  const b = harmonise(test, task);
  if (a.mission === b.mission) {
    throw badInput(
      `Train and test missions are both ${a.mission}; cross-mission evaluation needs two missions.`,
      'datasetId',
    );
  }
  const features = crossMissionFeatures(a, b);
  if (features.length === 0) throw badInput(`${a.mission} and ${b.mission} share no harmonised feature.`, 'datasetId');
  const Xa = selectColumns(a.X, features);
  const Xb = selectColumns(b.X, features);
  // One matrix (train rows, then test rows) so that the fold trainer's row indices reach both.
  const X: Matrix = {
    rows: Xa.rows + Xb.rows,
    cols: features.length,
    data: new Float64Array((Xa.rows + Xb.rows) * features.length),
  };
  X.data.set(Xa.data);
  X.data.set(Xb.data, Xa.data.length);
  const labels = new Int32Array(Xa.rows + Xb.rows);
  labels.set(a.labels);
  labels.set(b.labels, Xa.rows);
  const fit = modelFoldTrainer({
    X,
    labels,
    groups: null,
    numClasses: a.classes.length,
    modelType: options.modelType,
    hyperparameters: options.hyperparameters,
    threads: options.threads,
  });
  const started = performance.now();
  const predict = await fit(
    Int32Array.from({ length: Xa.rows }, (_, i) => i),
    {
      fold: 1,
      folds: 1,
      seed: options.seed,
      onStep: () => undefined,
    },
  );
  const fitSeconds = (performance.now() - started) / 1000;
  const proba = await predict(Int32Array.from({ length: Xb.rows }, (_, i) => Xa.rows + i));
  return {
    trainMission: a.mission,
    testMission: b.mission,
    task,
    features,
    trainBalance: balanceOf(a),
    testBalance: balanceOf(b),
    metrics: evaluate(b.labels, proba, b.classes),
    fitSeconds,
  };
}
