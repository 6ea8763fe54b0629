/**
 * The harmonised Kepler / K2 / TESS feature set on the embedded NASA tables, and a cross-mission evaluation.
 */
import { describe, expect, it } from 'vitest';
import { nasaLabeledTable, type LabeledTable } from '../../src/ml/data/index.js';
import {
  HARMONISED_COLUMNS,
  HARMONISED_FEATURES,
  crossMissionFeatures,
  evaluateCrossMission,
  harmonise,
} from '../../src/ml/selection/cross-mission.js';
import { nasaTableText } from '../fixtures/nasa.js';
import type { MissionId } from '../../src/ml/data/missions.js';

const tables = new Map<MissionId, LabeledTable>();
function table(mission: MissionId): LabeledTable {
  let t = tables.get(mission);
  if (!t) tables.set(mission, (t = nasaLabeledTable(mission, nasaTableText(mission))));
  return t;
}

describe('harmonised features', () => {
  it.each(['kepler', 'k2', 'tess'] as const)('%s: every mapped column is in the table and filled', (mission) => {
    const t = table(mission);
    for (const feature of HARMONISED_FEATURES) {
      const column = HARMONISED_COLUMNS[mission][feature];
      if (column !== null) expect(t.table.columns, `${mission} ${feature}`).toContain(column);
    }
    const h = harmonise(t);
    const mapped = HARMONISED_FEATURES.filter((f) => HARMONISED_COLUMNS[mission][f] !== null);
    expect(h.available).toEqual(mapped);
    expect(h.X.cols).toBe(HARMONISED_FEATURES.length);
    // BINARY: dispositioned rows only, planet vs false positive.
    expect(h.classes).toEqual(['false_positive', 'planet']);
    expect(h.X.rows).toBe(t.classCounts[0].count + t.classCounts[2].count);
  });

  it('copies values unconverted: Kepler-227 b (K00752.01) keeps its table values in the harmonised units', () => {
    const t = table('kepler');
    const h = harmonise(t);
    const binaryRows = t.table.toRows().filter((_, i) => t.labels[i] !== 1);
    const r = binaryRows.findIndex((row) => row[t.table.columns.indexOf('kepoi_name')] === 'K00752.01');
    expect(r).toBeGreaterThanOrEqual(0);
    const value = (f: (typeof HARMONISED_FEATURES)[number]) => h.X.data[r * h.X.cols + HARMONISED_FEATURES.indexOf(f)];
    // The row the README predicts (period 9.488 d, duration 2.9575 h, depth 615.8 ppm, 2.26 R⊕, Teff 5455 K).
    expect(value('period_days')).toBeCloseTo(9.48803557, 6);
    expect(value('transit_duration_hours')).toBeCloseTo(2.9575, 6);
    expect(value('transit_depth_ppm')).toBeCloseTo(615.8, 6);
    expect(value('planet_radius_earth')).toBeCloseTo(2.26, 6);
    expect(value('stellar_teff_k')).toBe(5455);
    expect(h.labels[r]).toBe(1);
  });

  it('pairs share the features both fill: K2 has no duration, depth, insolation or Teq', () => {
    const kepler = harmonise(table('kepler'));
    const k2 = harmonise(table('k2'));
    const tess = harmonise(table('tess'));
    expect(crossMissionFeatures(kepler, tess)).toEqual([...HARMONISED_FEATURES]);
    expect(crossMissionFeatures(kepler, k2)).toEqual([
      'period_days',
      'planet_radius_earth',
      'stellar_teff_k',
      'stellar_logg_cgs',
      'stellar_radius_solar',
    ]);
  });
});

describe('evaluateCrossMission', () => {
  it('trains on Kepler, evaluates on TESS dispositioned rows, and states both class balances', async () => {
    const result = await evaluateCrossMission(table('kepler'), table('tess'), {
      modelType: 'random_forest',
      hyperparameters: { n_estimators: 40, min_samples_leaf: 3 },
      seed: 42,
    });
    expect(result.features).toHaveLength(9);
    const kepler = table('kepler').classCounts;
    const tess = table('tess').classCounts;
    expect(result.trainBalance.counts.map((c) => c.count)).toEqual([kepler[0].count, kepler[2].count]);
    expect(result.testBalance.counts.map((c) => c.count)).toEqual([tess[0].count, tess[2].count]);
    expect(result.testBalance.counts.reduce((s, c) => s + c.share, 0)).toBeCloseTo(1, 12);
    expect(result.metrics.numSamples).toBe(result.testBalance.rows);
    // Better than chance, well short of within-mission figures (different photometry and vetting).
    expect(result.metrics.rocAucOvrMacro).toBeGreaterThan(0.6);
    expect(() => harmonise({ ...table('kepler'), source: { kind: 'custom' } })).toThrow(/NASA mission tables/);
  });
});
