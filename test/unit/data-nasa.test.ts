/**
 * The real NASA tables (read-only): the embedded snapshot, or NASA_DATA_DIR when it is set.
 */
import { describe, it, expect } from 'vitest';
import {
  MISSIONS,
  nasaLabeledTable,
  loadNasaTable,
  clearNasaTableCache,
  binaryTask,
  selectFeatures,
  featureMatrix,
  groupedStratifiedSplit,
  DEFAULT_SPLIT_SIZES,
  detectMission,
  parseCsv,
  profileColumns,
  type MissionId,
} from '../../src/ml/data/index.js';
import { NASA_DIR, nasaTableText } from '../fixtures/nasa.js';

const dataDir = NASA_DIR;
const read = (m: MissionId) => nasaTableText(m);
const counts = (classCounts: { label: string; count: number }[]) =>
  Object.fromEntries(classCounts.map((c) => [c.label, c.count]));

describe('Kepler table', () => {
  it('9,564 KOIs: 4,839 FP / 1,979 candidate / 2,746 planet; the 465 flag clipped', () => {
    const lt = nasaLabeledTable('kepler', read('kepler'));
    expect(lt.table.rowCount).toBe(9564);
    expect(counts(lt.classCounts)).toEqual({ false_positive: 4839, candidate: 1979, planet: 2746 });
    expect(lt.table.columns).toEqual(MISSIONS.kepler.downloadColumns);
    const nt = lt.table.columns.indexOf('koi_fpflag_nt');
    const name = lt.table.columns.indexOf('kepoi_name');
    expect(lt.table.toRows().find((r) => r[name] === 'K00477.01')?.[nt]).toBe('1');
    expect(new Set(lt.table.toRows().map((r) => r[nt]))).toEqual(new Set(['0', '1']));
    expect(lt.defaultFeatures).toEqual(MISSIONS.kepler.defaultFeatures);
    expect(detectMission(lt.table.columns)).toBe('kepler');
  });

  it('split grouped by kepid: no star on two sides, class shares within 2 points, sizes 70/10/20', () => {
    const lt = nasaLabeledTable('kepler', read('kepler'));
    const split = groupedStratifiedSplit(lt.labels, lt.groups, 3, DEFAULT_SPLIT_SIZES, 42);
    const n = lt.labels.length;
    const sideOf = new Map<string, number>();
    [split.train, split.validation, split.test].forEach((part, s) => {
      for (const i of part) {
        const kepid = lt.groups?.[i] ?? `no group for row ${i}`;
        expect(sideOf.get(kepid) ?? s).toBe(s);
        sideOf.set(kepid, s);
      }
    });
    expect(sideOf.size).toBe(8214); // every star once
    const overall = lt.classCounts.map((c) => c.count / n);
    [split.train, split.validation, split.test].forEach((part, s) => {
      expect(Math.abs(part.length / n - [0.7, 0.1, 0.2][s])).toBeLessThan(0.01);
      const shares = [0, 0, 0];
      for (const i of part) shares[lt.labels[i]] += 1 / part.length;
      shares.forEach((share, c) => {
        expect(Math.abs(share - overall[c])).toBeLessThan(0.02);
      });
    });
    const again = groupedStratifiedSplit(lt.labels, lt.groups, 3, DEFAULT_SPLIT_SIZES, 42);
    expect(Array.from(again.test)).toEqual(Array.from(split.test));
    expect(Array.from(groupedStratifiedSplit(lt.labels, lt.groups, 3, DEFAULT_SPLIT_SIZES, 7).test)).not.toEqual(
      Array.from(split.test),
    );
  });

  it('the leakage guard keeps koi_score, koi_fpflag_* and koi_pdisposition out unless opted in', () => {
    const lt = nasaLabeledTable('kepler', read('kepler'));
    const { features, usesVettingFeatures } = selectFeatures(lt);
    expect(usesVettingFeatures).toBe(false);
    for (const f of [
      'koi_score',
      'koi_fpflag_nt',
      'koi_fpflag_ss',
      'koi_fpflag_co',
      'koi_fpflag_ec',
      'koi_pdisposition',
      'koi_disposition',
    ])
      expect(features).not.toContain(f);
    expect(() => selectFeatures(lt, { features: ['koi_period', 'koi_fpflag_co'] })).toThrow(/useVettingFeatures/);
    expect(
      selectFeatures(lt, { features: ['koi_period', 'koi_fpflag_co'], useVettingFeatures: true }).usesVettingFeatures,
    ).toBe(true);
    const X = featureMatrix(lt, features);
    expect([X.rows, X.cols]).toEqual([9564, 30]);
    // koi_depth is missing in 3.8 % of rows (PROVENANCE.md)
    const j = features.indexOf('koi_depth');
    let missing = 0;
    for (let r = 0; r < X.rows; r++) if (Number.isNaN(X.data[r * X.cols + j])) missing++;
    expect(missing / X.rows).toBeCloseTo(0.038, 3);
  });

  it('binary task: 4,839 FP vs 2,746 planets', () => {
    const lt = binaryTask(nasaLabeledTable('kepler', read('kepler')));
    expect(lt.classCounts).toEqual([
      { label: 'false_positive', count: 4839 },
      { label: 'planet', count: 2746 },
    ]);
  });

  it('loadNasaTable caches the parsed table', async () => {
    clearNasaTableCache();
    const first = await loadNasaTable(dataDir, 'kepler');
    expect(await loadNasaTable(dataDir, 'kepler')).toBe(first); // the same parsed object, not a re-parse
    expect(first.table.rowCount).toBe(9564);
  });
});

describe('K2 table', () => {
  it('1,806 objects with default_flag == 1: CANDIDATE 976, CONFIRMED 580, FALSE POSITIVE 242 + REFUTED 8', () => {
    const lt = nasaLabeledTable('k2', read('k2'));
    expect(lt.table.rowCount).toBe(1806);
    expect(lt.excludedRows).toEqual({ filtered: 4016 - 1806, unlabeled: 0 });
    expect(counts(lt.classCounts)).toEqual({ false_positive: 250, candidate: 976, planet: 580 });
    const name = lt.table.columns.indexOf('pl_name');
    expect(new Set(lt.table.toRows().map((r) => r[name])).size).toBe(1806);
    // `&#x..;` entities stay inside their fields: no row is cut at the '#'
    expect(parseCsv(read('k2')).rows).toHaveLength(4016);
    const disp = lt.table.columns.indexOf('disp_refname');
    expect(lt.table.toRows().filter((r) => r[disp] === 'Mo&#x10D;nik et al. 2016')).toHaveLength(2);
    expect(lt.table.columns).toEqual(MISSIONS.k2.downloadColumns);
    expect(detectMission(lt.table.columns)).toBe('k2');
    expect(lt.defaultFeatures).toEqual(MISSIONS.k2.defaultFeatures);
  });
});

describe('TESS table', () => {
  it('7,771 TOIs: FP+FA 1,322, PC+APC 5,166, CP+KP 1,283', () => {
    const lt = nasaLabeledTable('tess', read('tess'));
    expect(lt.table.rowCount).toBe(7771);
    expect(counts(lt.classCounts)).toEqual({ false_positive: 1322, candidate: 5166, planet: 1283 });
    expect(lt.table.columns).toEqual(MISSIONS.tess.downloadColumns);
    expect(detectMission(lt.table.columns)).toBe('tess');
    // pl_insol/pl_eqt uncertainties are empty in every row: never candidates
    expect(lt.featureCandidates).not.toContain('pl_insolerr1');
    expect(lt.defaultFeatures).toEqual(MISSIONS.tess.defaultFeatures);
    const profile = profileColumns(parseCsv(read('tess')));
    expect(profile.find((p) => p.name === 'pl_eqterr1')).toMatchObject({ type: 'numeric', missingShare: 1 });
    expect(profile.find((p) => p.name === 'toi')).toMatchObject({ type: 'numeric', distinct: 7771, missingShare: 0 });
  });
});
