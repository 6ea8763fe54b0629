import { describe, it, expect } from 'vitest';
import {
  MISSIONS,
  MISSION_IDS,
  detectMission,
  isVettingColumn,
  isIdentifierColumn,
  nasaDownloadUrl,
  isMissionVettingColumn,
} from '../../src/ml/data/index.js';

describe('MISSIONS', () => {
  it('matches the design table', () => {
    expect(MISSION_IDS).toEqual(['kepler', 'k2', 'tess']);
    expect([
      MISSIONS.kepler.nasaTable,
      MISSIONS.kepler.fileName,
      MISSIONS.kepler.labelColumn,
      MISSIONS.kepler.groupColumn,
    ]).toEqual(['cumulative', 'kepler_koi.csv', 'koi_disposition', 'kepid']);
    expect([MISSIONS.k2.nasaTable, MISSIONS.k2.fileName, MISSIONS.k2.labelColumn, MISSIONS.k2.groupColumn]).toEqual([
      'k2pandc',
      'k2_pandc.csv',
      'disposition',
      'hostname',
    ]);
    expect([
      MISSIONS.tess.nasaTable,
      MISSIONS.tess.fileName,
      MISSIONS.tess.labelColumn,
      MISSIONS.tess.groupColumn,
    ]).toEqual(['toi', 'tess_toi.csv', 'tfopwg_disp', 'tid']);
    expect(MISSIONS.k2.rowFilter).toMatchObject({ column: 'default_flag', value: 1 });
    expect(MISSIONS.kepler.idColumns).toEqual(['kepoi_name', 'kepid', 'kepler_name']);
    expect(MISSIONS.k2.idColumns).toEqual(['pl_name', 'hostname']);
    expect(MISSIONS.tess.idColumns).toEqual(['toi', 'tid']);
  });

  it('maps every raw label of the design to its class', () => {
    expect(MISSIONS.kepler.labelMap).toEqual({
      CONFIRMED: 'planet',
      CANDIDATE: 'candidate',
      'FALSE POSITIVE': 'false_positive',
    });
    expect(MISSIONS.k2.labelMap).toEqual({
      CONFIRMED: 'planet',
      CANDIDATE: 'candidate',
      'FALSE POSITIVE': 'false_positive',
      REFUTED: 'false_positive',
    });
    expect(MISSIONS.tess.labelMap).toEqual({
      CP: 'planet',
      KP: 'planet',
      PC: 'candidate',
      APC: 'candidate',
      FP: 'false_positive',
      FA: 'false_positive',
    });
  });

  it('keeps every default feature out of the leakage list and the general vetting rule', () => {
    for (const id of MISSION_IDS) {
      const spec = MISSIONS[id];
      for (const f of spec.defaultFeatures) {
        expect(isMissionVettingColumn(id, f), `${id} ${f}`).toBe(false);
        expect(spec.downloadColumns, `${id} ${f} is downloaded`).toContain(f);
      }
      expect(new Set(spec.defaultFeatures).size).toBe(spec.defaultFeatures.length);
      expect(spec.defaultFeatures).not.toContain(spec.labelColumn);
      expect(spec.defaultFeatures).not.toContain(spec.groupColumn);
    }
    expect(MISSIONS.kepler.defaultFeatures).toHaveLength(30);
    expect(MISSIONS.kepler.defaultFeatures).not.toContain('koi_teq_err1'); // empty in every row
    expect(MISSIONS.kepler.defaultFeatures).not.toContain('koi_time0bk');
    expect(MISSIONS.kepler.defaultFeatures).not.toContain('ra');
    expect(MISSIONS.tess.defaultFeatures).toContain('pl_trandep');
    expect(MISSIONS.k2.defaultFeatures).not.toContain('sy_pnum');
  });

  it('lists the Kepler leakage columns of the design', () => {
    for (const c of [
      'koi_disposition',
      'koi_pdisposition',
      'koi_score',
      'koi_fpflag_nt',
      'koi_fpflag_ss',
      'koi_fpflag_co',
      'koi_fpflag_ec',
      'kepler_name',
    ]) {
      expect(MISSIONS.kepler.leakageColumns).toContain(c);
      expect(isVettingColumn(c), c).toBe(true); // the general rule catches them too
    }
    expect(MISSIONS.kepler.fixes[0]).toMatchObject({
      columns: ['koi_fpflag_nt', 'koi_fpflag_ss', 'koi_fpflag_co', 'koi_fpflag_ec'],
      min: 0,
      max: 1,
    });
  });

  it('download columns match the archive default exports (49 / 94 / 65 columns)', () => {
    expect(MISSIONS.kepler.downloadColumns).toHaveLength(49);
    expect(MISSIONS.k2.downloadColumns).toHaveLength(94);
    expect(MISSIONS.tess.downloadColumns).toHaveLength(65);
    expect(MISSIONS.kepler.downloadColumns.slice(0, 3)).toEqual(['kepid', 'kepoi_name', 'kepler_name']);
    expect(MISSIONS.kepler.downloadColumns.at(-1)).toBe('koi_kepmag');
    expect(MISSIONS.k2.downloadColumns.at(-1)).toBe('releasedate');
    expect(MISSIONS.tess.downloadColumns.at(-1)).toBe('rowupdate');
  });

  it('builds TAP sync URLs for CSV', () => {
    const url = nasaDownloadUrl('tess');
    expect(url.startsWith('https://exoplanetarchive.ipac.caltech.edu/TAP/sync?query=select+toi,tid,tfopwg_disp,')).toBe(
      true,
    );
    expect(url.endsWith('+from+toi&format=csv')).toBe(true);
    expect(nasaDownloadUrl('kepler')).toContain('+from+cumulative&format=csv');
    expect(nasaDownloadUrl('k2')).toContain('+from+k2pandc&format=csv');
    expect(nasaDownloadUrl('k2')).not.toContain('where'); // default_flag is applied when loading
    expect(new URL(nasaDownloadUrl('kepler')).searchParams.get('query')).toBe(
      `select ${MISSIONS.kepler.downloadColumns.join(',')} from cumulative`,
    );
  });
});

describe('isVettingColumn (general leakage rule for uploads)', () => {
  it.each([
    'disposition',
    'koi_pdisposition',
    'tfopwg_disp',
    'koi_fpflag_co',
    'default_flag',
    'is_flagged',
    'koi_score',
    'vetScore',
    'kepler_name',
    'hostname',
    'starName',
    'pl_refname',
    'reference',
    'kepid',
    'tid',
    'toi',
    'object_id',
    'ID',
    'rowupdate',
    'pl_pubdate',
    'release_date',
    'toi_created',
    'disc_year',
    'pl_orbperlim',
  ])('%s is a vetting column', (name) => {
    expect(isVettingColumn(name)).toBe(true);
  });

  it.each([
    'koi_period',
    'koi_depth_err1',
    'pl_tranmid',
    'pl_trandurh',
    'st_teff',
    'radius',
    'snr',
    'period_days',
    'st_met',
    'dec',
    'ra',
    'sy_dist',
  ])('%s is not', (name) => {
    expect(isVettingColumn(name)).toBe(false);
  });

  it('recognises identifier columns', () => {
    expect(['kepoi_name', 'pl_name', 'hostname', 'kepid', 'tid', 'toi', 'objectId'].every(isIdentifierColumn)).toBe(
      true,
    );
    expect(['koi_period', 'pl_tranmid', 'score'].some(isIdentifierColumn)).toBe(false);
  });
});

describe('detectMission', () => {
  it('recognises each mission by its columns', () => {
    for (const id of MISSION_IDS) expect(detectMission(MISSIONS[id].downloadColumns)).toBe(id);
  });

  it('recognises a subset with the label, and a label-less file with most features', () => {
    expect(detectMission(['kepid', 'koi_disposition', 'koi_period', 'koi_depth', 'koi_prad'])).toBe('kepler');
    expect(detectMission(['tid', ...MISSIONS.tess.defaultFeatures])).toBe('tess');
    expect(detectMission(['hostname', 'pl_orbper', 'pl_rade', 'st_teff'])).toBeNull(); // no label, too few features
  });

  it('returns null for other tables', () => {
    expect(detectMission(['a', 'b', 'label'])).toBeNull();
    expect(detectMission(['kepid', 'koi_disposition'])).toBeNull(); // no features
    expect(detectMission(['koi_period', 'koi_depth', 'koi_prad', 'koi_disposition'])).toBeNull(); // no star column
  });
});
