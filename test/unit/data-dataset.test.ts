import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  MISSIONS,
  nasaLabeledTable,
  customLabeledTable,
  detectLabelColumn,
  binaryTask,
  featureMatrix,
  selectFeatures,
  loadNasaTable,
  clearNasaTableCache,
  isNasaTableAvailable,
  parseCsv,
  type LabeledTable,
} from '../../src/ml/data/index.js';
import { csvText, expectDataError, k2Fixture, keplerFixture, tessFixture } from '../fixtures/data-fixtures.js';
import { AppError } from '../../src/domain/errors.js';

const counts = (lt: LabeledTable) => Object.fromEntries(lt.classCounts.map((c) => [c.label, c.count]));
const column = (lt: LabeledTable, name: string) => lt.table.texts(lt.table.indexOf(name));

describe('nasaLabeledTable', () => {
  it('Kepler: maps labels (case-insensitive), drops unknown ones, clips the fpflag defect', () => {
    const lt = nasaLabeledTable('kepler', keplerFixture());
    expect(lt.source).toEqual({ kind: 'nasa', mission: 'kepler' });
    expect(lt.classes).toEqual(['false_positive', 'candidate', 'planet']);
    expect(column(lt, 'kepoi_name')).toEqual(['K00001.01', 'K00001.02', 'K00002.01', 'K00004.01']);
    expect(Array.from(lt.labels)).toEqual([2, 1, 0, 0]);
    expect(counts(lt)).toEqual({ false_positive: 2, candidate: 1, planet: 1 });
    expect(lt.excludedRows).toEqual({ filtered: 0, unlabeled: 1 });
    expect(column(lt, 'koi_fpflag_nt')).toEqual(['1', '0', '1', '0']); // 465 → 1
    expect(lt.groups).toEqual(['100', '100', '200', '400']);
    expect(lt.idColumns).toEqual(['kepoi_name', 'kepid', 'kepler_name']);
    expect(lt.defaultFeatures).toEqual(MISSIONS.kepler.defaultFeatures);
    expect(lt.vettingFeatures).toEqual([
      'koi_score',
      'koi_fpflag_nt',
      'koi_fpflag_ss',
      'koi_fpflag_co',
      'koi_fpflag_ec',
    ]);
    for (const c of ['koi_disposition', 'koi_pdisposition', 'koi_score', 'koi_fpflag_nt', 'kepler_name'])
      expect(lt.vettingColumns).toContain(c);
    // kepid (group) and empty columns (koi_teq_err1 etc.) are never candidates
    expect(lt.featureCandidates).not.toContain('kepid');
    expect(lt.featureCandidates).not.toContain('koi_teq_err1');
    expect(lt.featureCandidates).toContain('koi_time0bk');
  });

  it('K2: keeps default_flag == 1 rows only, maps REFUTED to false_positive, keeps # inside names', () => {
    const lt = nasaLabeledTable('k2', k2Fixture());
    expect(column(lt, 'pl_name')).toEqual(['Star A b', 'Star A c', 'Mo&#x10D;nik 1 b', 'Star C b']);
    expect(counts(lt)).toEqual({ false_positive: 2, candidate: 1, planet: 1 });
    expect(lt.excludedRows).toEqual({ filtered: 2, unlabeled: 0 });
    expect(lt.groups).toEqual(['Star A', 'Star A', 'Mo&#x10D;nik 1', 'Star C']);
    expect(lt.vettingFeatures).toContain('sy_pnum');
    expect(lt.defaultFeatures).not.toContain('sy_pnum');
  });

  it('TESS: CP/KP → planet, PC/APC → candidate, FP/FA → false_positive', () => {
    const lt = nasaLabeledTable('tess', tessFixture());
    expect(Array.from(lt.labels)).toEqual([2, 2, 1, 1, 0, 0]);
    expect(lt.groups).toEqual(['5000', '5000', '5001', '5001', '5002', '5002']);
    expect(lt.vettingFeatures).toEqual([]);
  });

  it('a table without the mission label column is refused', () => {
    expectDataError(
      () => nasaLabeledTable('tess', 'toi,tid\n1.01,2\n'),
      'BAD_USER_INPUT',
      'file',
      /no "tfopwg_disp" column/,
    );
  });
});

describe('customLabeledTable', () => {
  const custom =
    'object_name,period,depth,score,label\nA,1.5,100,0.9,planet\nB,2.5,,0.1,false_positive\nC,3.5,300,0.5,\nD,4.5,400,0.7,planet\n';

  it('detects the label column, drops unlabelled rows, sorts classes', () => {
    const lt = customLabeledTable(parseCsv(custom));
    expect(lt.source).toEqual({ kind: 'custom' });
    expect(lt.labelColumn).toBe('label');
    expect(lt.classes).toEqual(['false_positive', 'planet']);
    expect(Array.from(lt.labels)).toEqual([1, 0, 1]);
    expect(lt.excludedRows.unlabeled).toBe(1);
    expect(lt.groups).toBeNull();
    expect(lt.idColumns).toEqual(['object_name']);
    expect(lt.featureCandidates).toEqual(['period', 'depth', 'score']);
    expect(lt.defaultFeatures).toEqual(['period', 'depth']); // score is a vetting column
    expect(lt.vettingFeatures).toEqual(['score']);
  });

  it('sorts numeric classes numerically', () => {
    const lt = customLabeledTable(parseCsv('x,target\n1,10\n2,2\n3,1\n4,2\n'));
    expect(lt.classes).toEqual(['1', '2', '10']);
    expect(Array.from(lt.labels)).toEqual([2, 1, 0, 1]);
  });

  it('detection: exact names in priority order, then name tokens; the first match is the label, never silently another', () => {
    expect(detectLabelColumn(parseCsv('Class,y,v\na,1,1\nb,0,2\n'))).toBe('Class');
    expect(detectLabelColumn(parseCsv('label,y,v\nsame,1,1\nsame,0,2\n'))).toBe('label');
    expect(detectLabelColumn(parseCsv('planet_class,v\nx,1\nz,2\n'))).toBe('planet_class');
    expect(detectLabelColumn(parseCsv('yy,ay\n1,2\n3,4\n'))).toBeNull();
  });

  it('a detected label column that cannot be one is an error naming it, its classes and the other candidates', () => {
    // Before: `label` (one class) was silently replaced by `y`, which then became a 2-class label by accident.
    expectDataError(
      () => customLabeledTable(parseCsv('label,y,v\nsame,1,1\nsame,0,2\n')),
      'BAD_USER_INPUT',
      'labelColumn',
      /Label column "label" \(detected by its name\) has only one class \("same"\).*labelColumn.*y/,
    );
    const many = ['target,v', ...Array.from({ length: 25 }, (_, i) => `${i},${i}`)].join('\n');
    expectDataError(
      () => customLabeledTable(parseCsv(many)),
      'BAD_USER_INPUT',
      'labelColumn',
      /Label column "target" \(detected by its name\) has 25 distinct values/,
    );
  });

  it('uses a given label column', () => {
    const lt = customLabeledTable(parseCsv('kind,v,w\nstar,1,2\nplanet,3,4\n'), 'kind');
    expect(lt.classes).toEqual(['planet', 'star']);
    expect(lt.featureCandidates).toEqual(['v', 'w']);
  });

  it('refuses a missing, unknown, single-class, too-many-class label, and no numeric feature', () => {
    expectDataError(
      () => customLabeledTable(parseCsv('a,b\n1,2\n3,4\n')),
      'BAD_USER_INPUT',
      'labelColumn',
      /No label column found/,
    );
    expectDataError(
      () => customLabeledTable(parseCsv('a,b\n1,2\n3,4\n'), 'nope'),
      'BAD_USER_INPUT',
      'labelColumn',
      /"nope" is not in the table; columns: a, b/,
    );
    expectDataError(
      () => customLabeledTable(parseCsv('v,label\n1,x\n2,x\n3,\n'), 'label'),
      'BAD_USER_INPUT',
      'labelColumn',
      /only one class \("x"\)/,
    );
    const many = ['v,klass', ...Array.from({ length: 21 }, (_, i) => `${i},c${i}`)].join('\n');
    expectDataError(
      () => customLabeledTable(parseCsv(many), 'klass'),
      'BAD_USER_INPUT',
      'labelColumn',
      /21 distinct values/,
    );
    expectDataError(
      () => customLabeledTable(parseCsv('name,label\nA,x\nB,y\n')),
      'BAD_USER_INPUT',
      'file',
      /no numeric feature/,
    );
  });

  it('a NASA-format upload gets its mission mapping and features (with or without the # header)', () => {
    const withHeader = customLabeledTable(parseCsv(keplerFixture()));
    expect(withHeader.source).toEqual({ kind: 'nasa', mission: 'kepler' });
    expect(counts(withHeader)).toEqual({ false_positive: 2, candidate: 1, planet: 1 });
    const bare = keplerFixture()
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(customLabeledTable(parseCsv(bare)).defaultFeatures).toEqual(MISSIONS.kepler.defaultFeatures);
    expect(customLabeledTable(parseCsv(tessFixture())).source).toEqual({ kind: 'nasa', mission: 'tess' });
    // The upload's table itself is not changed by the fpflag fix.
    const table = parseCsv(keplerFixture());
    customLabeledTable(table);
    expect(table.rows[0][table.columns.indexOf('koi_fpflag_nt')]).toBe('465');
  });

  it('a NASA-format upload with only one class is refused', () => {
    const oneClass = csvText(
      ['kepid', 'koi_disposition', 'koi_period', 'koi_depth', 'koi_prad'],
      [
        { kepid: 1, koi_disposition: 'CONFIRMED', koi_period: 1, koi_depth: 2, koi_prad: 3 },
        { kepid: 2, koi_disposition: 'CONFIRMED', koi_period: 2, koi_depth: 3, koi_prad: 4 },
      ],
    );
    expectDataError(
      () => customLabeledTable(parseCsv(oneClass)),
      'BAD_USER_INPUT',
      'labelColumn',
      /only one class \("planet"\)/,
    );
  });

  it('a NASA-format upload with another label column chosen is treated as custom', () => {
    const lt = customLabeledTable(parseCsv(keplerFixture()), 'koi_pdisposition');
    expect(lt.source).toEqual({ kind: 'custom' });
    expect(lt.classes).toEqual(['CANDIDATE', 'FALSE POSITIVE']);
  });
});

describe('binaryTask', () => {
  it('keeps planet and false_positive rows only', () => {
    const lt = binaryTask(nasaLabeledTable('tess', tessFixture()));
    expect(lt.classes).toEqual(['false_positive', 'planet']);
    expect(Array.from(lt.labels)).toEqual([1, 1, 0, 0]);
    expect(column(lt, 'tfopwg_disp')).toEqual(['CP', 'KP', 'FP', 'FA']);
    expect(lt.groups).toEqual(['5000', '5000', '5002', '5002']);
    expect(lt.classCounts).toEqual([
      { label: 'false_positive', count: 2 },
      { label: 'planet', count: 2 },
    ]);
    expect(lt.defaultFeatures).toEqual(MISSIONS.tess.defaultFeatures);
  });

  it('needs both classes', () => {
    expectDataError(
      () => binaryTask(customLabeledTable(parseCsv('v,label\n1,a\n2,b\n'))),
      'BAD_USER_INPUT',
      'task',
      /false_positive/,
    );
  });
});

describe('featureMatrix and selectFeatures (leakage guard)', () => {
  const lt = nasaLabeledTable('kepler', keplerFixture());

  it('featureMatrix is row-major raw values with NaN for missing', () => {
    const custom = customLabeledTable(parseCsv('a,b,label\n1,,x\n2.5,4,y\n'));
    const X = featureMatrix(custom, ['b', 'a']);
    expect([X.rows, X.cols]).toEqual([2, 2]);
    expect(Array.from(X.data)).toEqual([NaN, 1, 4, 2.5]);
    expectDataError(() => featureMatrix(custom, ['zz']), 'BAD_USER_INPUT', 'features', /"zz"/);
  });

  it('defaults to the physics-only features', () => {
    expect(selectFeatures(lt)).toEqual({
      features: MISSIONS.kepler.defaultFeatures,
      usesVettingFeatures: false,
      dropped: [],
    });
  });

  it('opting in without a list adds the vetting features and marks the run', () => {
    const selection = selectFeatures(lt, { useVettingFeatures: true });
    expect(selection.features).toEqual([
      ...MISSIONS.kepler.defaultFeatures,
      'koi_score',
      'koi_fpflag_nt',
      'koi_fpflag_ss',
      'koi_fpflag_co',
      'koi_fpflag_ec',
    ]);
    expect(selection.usesVettingFeatures).toBe(true);
  });

  it('refuses vetting features without opt-in and accepts them with it', () => {
    const error = expectDataError(
      () => selectFeatures(lt, { features: ['koi_period', 'koi_score', 'koi_fpflag_nt'] }),
      'BAD_USER_INPUT',
      'features',
    );
    expect(error.message).toMatch(/koi_score, koi_fpflag_nt come from the vetting/);
    expect(error.message).toMatch(/useVettingFeatures: true/);
    expect(selectFeatures(lt, { features: ['koi_period', 'koi_score'], useVettingFeatures: true })).toEqual({
      features: ['koi_period', 'koi_score'],
      usesVettingFeatures: true,
      dropped: [],
    });
    // Opting in with only physics features is not a vetting run.
    expect(selectFeatures(lt, { features: ['koi_period'], useVettingFeatures: true }).usesVettingFeatures).toBe(false);
  });

  it('validates a user list: unknown, text, reserved columns; drops empty ones', () => {
    const unknown = expectDataError(
      () => selectFeatures(lt, { features: ['koi_period', 'koi_nope'] }),
      'BAD_USER_INPUT',
      'features',
      /Unknown feature column: koi_nope/,
    );
    expect(unknown.message).toContain('Valid features: koi_score, koi_fpflag_nt');
    expectDataError(
      () => selectFeatures(lt, { features: ['koi_tce_delivname'] }),
      'BAD_USER_INPUT',
      'features',
      /koi_tce_delivname is not numeric/,
    );
    expectDataError(
      () => selectFeatures(lt, { features: ['kepid'] }),
      'BAD_USER_INPUT',
      'features',
      /kepid cannot be a feature/,
    );
    expectDataError(
      () => selectFeatures(lt, { features: ['koi_disposition'] }),
      'BAD_USER_INPUT',
      'features',
      /cannot be a feature/,
    );
    expect(selectFeatures(lt, { features: ['koi_period', 'koi_teq_err1', 'ra', 'koi_period'] })).toEqual({
      features: ['koi_period', 'ra'],
      usesVettingFeatures: false,
      dropped: ['koi_teq_err1'],
    });
    expectDataError(
      () => selectFeatures(lt, { features: ['koi_teq_err1'] }),
      'BAD_USER_INPUT',
      'features',
      /No usable feature/,
    );
  });
});

describe('loadNasaTable', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'data-load-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a missing file with the data:fetch hint and the folder checked', async () => {
    expect(isNasaTableAvailable(dir, 'tess', { embedded: false })).toBe(false);
    const error = await loadNasaTable(dir, 'tess', { embedded: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('NOT_FOUND');
    expect((error as Error).message).toMatch(/npm run data:fetch/);
    expect((error as Error).message).toContain(dir);
  });

  it('caches by path and mtime, reloads when the file changes', async () => {
    clearNasaTableCache();
    const file = path.join(dir, 'tess_toi.csv');
    writeFileSync(file, tessFixture());
    expect(isNasaTableAvailable(dir, 'tess')).toBe(true);
    const first = await loadNasaTable(dir, 'tess');
    expect(first.table.rowCount).toBe(6);
    expect(await loadNasaTable(dir + '/.', 'tess')).toBe(first); // same absolute path → same object
    const fewer = tessFixture().split('\n').slice(0, -3).join('\n') + '\n';
    writeFileSync(file, fewer);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const second = await loadNasaTable(dir, 'tess');
    expect(second).not.toBe(first);
    expect(second.table.rowCount).toBe(4);
  });

  it('does not cache a failed load', async () => {
    clearNasaTableCache();
    const file = path.join(dir, 'k2_pandc.csv');
    writeFileSync(file, '<html>archive error</html>\n');
    await expect(loadNasaTable(dir, 'k2')).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    writeFileSync(file, k2Fixture());
    utimesSync(file, new Date(), new Date(Date.now() + 10000));
    expect((await loadNasaTable(dir, 'k2')).table.toRows()).toHaveLength(4);
  });
});
