/**
 * The three NASA missions (design §2): table, file, label mapping, group (star) column, default physics-only
 * features, leakage list, and where to download the table.
 */
import type { NasaClass } from '../types.js';

export const MISSION_IDS = ['kepler', 'k2', 'tess'] as const;
export type MissionId = (typeof MISSION_IDS)[number];

/** Values outside [min, max] in these columns are upstream defects, clipped when loading. */
export interface ClipFix {
  columns: string[];
  min: number;
  max: number;
  reason: string;
}

export interface MissionSpec {
  id: MissionId;
  title: string;
  /** Table name in the NASA Exoplanet Archive (TAP). */
  nasaTable: string;
  /** File name inside NASA_DATA_DIR. */
  fileName: string;
  labelColumn: string;
  /** Rows of one star share this value; splits never put one star on two sides. */
  groupColumn: string;
  /** Columns that identify a row in prediction exports. */
  idColumns: string[];
  /** Raw label (upper case) → class. Unmapped or empty labels drop the row. */
  labelMap: Readonly<Record<string, NasaClass>>;
  /** Keep only rows whose `column` equals `value` numerically (applied when loading, not downloading). */
  rowFilter: { column: string; value: number; reason: string } | null;
  fixes: ClipFix[];
  /** Physics-only features (present, numeric, non-empty ones are used). */
  defaultFeatures: string[];
  /**
   * Columns produced by the vetting that made the label, or derived from the label. Never default features;
   * usable only when the user opts in to vetting features. `isVettingColumn` adds the general rule on top.
   */
  leakageColumns: string[];
  /** The archive's default column set, in the order of its CSV export. */
  downloadColumns: string[];
}

/** `name` plus its `err1`/`err2` uncertainties, in the archive's spelling (Kepler uses `_err1`, the others `err1`). */
function withErrors(name: string, separator: '' | '_'): string[] {
  return [name, `${name}${separator}err1`, `${name}${separator}err2`];
}
const koi = (name: string) => withErrors(name, '_');
const ps = (name: string) => withErrors(name, '');

/** `name` with err1/err2 and the `lim` limit flag, the way k2pandc and TOI list their columns. */
const psLim = (name: string) => [...ps(name), `${name}lim`];

const KEPLER: MissionSpec = {
  id: 'kepler',
  title: 'Kepler Objects of Interest (cumulative)',
  nasaTable: 'cumulative',
  fileName: 'kepler_koi.csv',
  labelColumn: 'koi_disposition',
  groupColumn: 'kepid',
  idColumns: ['kepoi_name', 'kepid', 'kepler_name'],
  labelMap: { CONFIRMED: 'planet', CANDIDATE: 'candidate', 'FALSE POSITIVE': 'false_positive' },
  rowFilter: null,
  fixes: [
    {
      columns: ['koi_fpflag_nt', 'koi_fpflag_ss', 'koi_fpflag_co', 'koi_fpflag_ec'],
      min: 0,
      max: 1,
      reason: 'flags are 0/1; K00477.01 has koi_fpflag_nt = 465 in the archive',
    },
  ],
  // Transit fit + stellar parameters and their uncertainties (30 columns).
  // Left out on purpose:
  // - koi_time0bk (+err): the transit epoch is a timestamp (when the first transit happened), not a property of
  //   the object; its uncertainty mostly restates the SNR.
  // - ra, dec: where the star is on the sky. Not physics of the object, and position maps onto CCD modules
  //   whose systematics correlate with false-positive vetting.
  // - koi_tce_plnt_num: the pipeline's running number of the signal within its star, bookkeeping rather than a
  //   measurement (and it encodes multiplicity, a vetting heuristic).
  // - koi_teq_err1/err2: empty in every row as NASA publishes them.
  // - koi_tce_delivname: text (pipeline delivery name).
  defaultFeatures: [
    ...koi('koi_period'),
    ...koi('koi_impact'),
    ...koi('koi_duration'),
    ...koi('koi_depth'),
    ...koi('koi_prad'),
    'koi_teq',
    ...koi('koi_insol'),
    'koi_model_snr',
    ...koi('koi_steff'),
    ...koi('koi_slogg'),
    ...koi('koi_srad'),
    'koi_kepmag',
  ],
  leakageColumns: [
    'koi_disposition',
    'koi_pdisposition',
    'koi_score',
    'koi_fpflag_nt',
    'koi_fpflag_ss',
    'koi_fpflag_co',
    'koi_fpflag_ec',
    'kepler_name',
  ],
  downloadColumns: [
    'kepid', 'kepoi_name', 'kepler_name', 'koi_disposition', 'koi_pdisposition', 'koi_score',
    'koi_fpflag_nt', 'koi_fpflag_ss', 'koi_fpflag_co', 'koi_fpflag_ec',
    ...koi('koi_period'), ...koi('koi_time0bk'), ...koi('koi_impact'), ...koi('koi_duration'), ...koi('koi_depth'),
    ...koi('koi_prad'), ...koi('koi_teq'), ...koi('koi_insol'), 'koi_model_snr', 'koi_tce_plnt_num',
    'koi_tce_delivname', ...koi('koi_steff'), ...koi('koi_slogg'), ...koi('koi_srad'), 'ra', 'dec', 'koi_kepmag',
  ],
};

const K2: MissionSpec = {
  id: 'k2',
  title: 'K2 Planets and Candidates',
  nasaTable: 'k2pandc',
  fileName: 'k2_pandc.csv',
  labelColumn: 'disposition',
  groupColumn: 'hostname',
  idColumns: ['pl_name', 'hostname'],
  labelMap: { CONFIRMED: 'planet', CANDIDATE: 'candidate', 'FALSE POSITIVE': 'false_positive', REFUTED: 'false_positive' },
  rowFilter: { column: 'default_flag', value: 1, reason: 'one row per object and reference; default_flag marks the default parameter set' },
  fixes: [],
  // The default k2pandc export has no transit depth/duration/impact. What is left: period, planet radius,
  // stellar Teff/radius/mass/metallicity/logg, distance and three magnitudes, each with err1/err2 (33 columns).
  // Left out on purpose:
  // - pl_orbsmax, pl_bmasse/pl_bmassj, pl_orbeccen, pl_insol, pl_eqt: literature values that exist almost only
  //   for confirmed planets (missing in 96–100 % of candidate/false-positive rows), so their mere presence
  //   encodes the label. A planet mass measurement is itself a confirmation.
  // - pl_radj (+err): pl_rade in Jupiter radii, a duplicate.
  // - *lim limit flags, ttv_flag, pl_controv_flag, default_flag: flags (see isVettingColumn).
  // - sy_snum / sy_pnum: catalogue counts; sy_pnum counts CONFIRMED planets (0 for every non-planet row).
  // - disc_year, ra/dec, dates, reference and name columns.
  defaultFeatures: [
    ...ps('pl_orbper'),
    ...ps('pl_rade'),
    ...ps('st_teff'),
    ...ps('st_rad'),
    ...ps('st_mass'),
    ...ps('st_met'),
    ...ps('st_logg'),
    ...ps('sy_dist'),
    ...ps('sy_vmag'),
    ...ps('sy_kmag'),
    ...ps('sy_gaiamag'),
  ],
  leakageColumns: ['disposition', 'disp_refname', 'soltype', 'sy_pnum', 'pl_controv_flag', 'ttv_flag'],
  downloadColumns: [
    'pl_name', 'hostname', 'default_flag', 'disposition', 'disp_refname', 'sy_snum', 'sy_pnum', 'discoverymethod',
    'disc_year', 'disc_facility', 'soltype', 'pl_controv_flag', 'pl_refname',
    ...psLim('pl_orbper'), ...psLim('pl_orbsmax'), ...psLim('pl_rade'), ...psLim('pl_radj'), ...psLim('pl_bmasse'),
    ...psLim('pl_bmassj'), 'pl_bmassprov', ...psLim('pl_orbeccen'), ...psLim('pl_insol'), ...psLim('pl_eqt'),
    'ttv_flag', 'st_refname', 'st_spectype', ...psLim('st_teff'), ...psLim('st_rad'), ...psLim('st_mass'),
    ...psLim('st_met'), 'st_metratio', ...psLim('st_logg'), 'sy_refname', 'rastr', 'ra', 'decstr', 'dec',
    ...ps('sy_dist'), ...ps('sy_vmag'), ...ps('sy_kmag'), ...ps('sy_gaiamag'), 'rowupdate', 'pl_pubdate', 'releasedate',
  ],
};

const TESS: MissionSpec = {
  id: 'tess',
  title: 'TESS Objects of Interest (TOI)',
  nasaTable: 'toi',
  fileName: 'tess_toi.csv',
  labelColumn: 'tfopwg_disp',
  groupColumn: 'tid',
  idColumns: ['toi', 'tid'],
  labelMap: { CP: 'planet', KP: 'planet', PC: 'candidate', APC: 'candidate', FP: 'false_positive', FA: 'false_positive' },
  rowFilter: null,
  fixes: [],
  // Transit (period, duration, depth), planet radius, insolation and Teq, and stellar TESS magnitude, distance,
  // Teff, logg, radius, with err1/err2 where NASA fills them (29 columns; pl_insol/pl_eqt errors are empty).
  // Left out on purpose: pl_tranmid (epoch, a timestamp), ra/dec and st_pmra/st_pmdec (where the star is and how
  // it moves on the sky, not the transiting object), *lim limit flags, toi/tid ids, dates.
  defaultFeatures: [
    ...ps('pl_orbper'),
    ...ps('pl_trandurh'),
    ...ps('pl_trandep'),
    ...ps('pl_rade'),
    'pl_insol',
    'pl_eqt',
    ...ps('st_tmag'),
    ...ps('st_dist'),
    ...ps('st_teff'),
    ...ps('st_logg'),
    ...ps('st_rad'),
  ],
  leakageColumns: ['tfopwg_disp'],
  downloadColumns: [
    'toi', 'tid', 'tfopwg_disp', 'rastr', 'ra', 'decstr', 'dec', ...psLim('st_pmra'), ...psLim('st_pmdec'),
    ...psLim('pl_tranmid'), ...psLim('pl_orbper'), ...psLim('pl_trandurh'), ...psLim('pl_trandep'), ...psLim('pl_rade'),
    ...psLim('pl_insol'), ...psLim('pl_eqt'), ...psLim('st_tmag'), ...psLim('st_dist'), ...psLim('st_teff'),
    ...psLim('st_logg'), ...psLim('st_rad'), 'toi_created', 'rowupdate',
  ],
};

export const MISSIONS: Readonly<Record<MissionId, MissionSpec>> = { kepler: KEPLER, k2: K2, tess: TESS };

export function isMissionId(value: string): value is MissionId {
  return (MISSION_IDS as readonly string[]).includes(value);
}

const TAP_SYNC = 'https://exoplanetarchive.ipac.caltech.edu/TAP/sync';

/**
 * TAP sync URL that returns the mission's table as CSV with the archive's default column set (the same columns as
 * the reference exports). The K2 `default_flag` filter is applied when loading, so the file keeps every row.
 */
export function nasaDownloadUrl(mission: MissionId): string {
  const spec = MISSIONS[mission];
  const query = `select ${spec.downloadColumns.join(',')} from ${spec.nasaTable}`;
  return `${TAP_SYNC}?query=${query.replace(/ /g, '+')}&format=csv`;
}

/**
 * Splits a column name into lower-case word tokens: `koi_fpflag_nt` → [koi, fpflag, nt], `starName` → [star, name].
 */
function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t !== '');
}

const ID_TOKENS = new Set(['id', 'ids', 'kepid', 'kepoi', 'tid', 'tic', 'ticid', 'toi', 'epic', 'epicid', 'uuid', 'objid', 'rowid']);

/** Identifier-like column: a name or an id (kepoi_name, pl_name, hostname, kepid, tid, toi, object_id ...). */
export function isIdentifierColumn(name: string): boolean {
  return nameTokens(name).some((t) => ID_TOKENS.has(t) || t === 'name' || t.endsWith('name'));
}

/**
 * The general leakage rule (design §2), used for uploads and on top of each mission's explicit list: a column
 * whose name says it is a disposition, flag, score, name, id, reference or date is never a default feature.
 * Tokens are matched, not raw substrings, so `pl_tranmid` is not an "id" and `koi_period` not a "date".
 */
export function isVettingColumn(name: string): boolean {
  return nameTokens(name).some(
    (t) =>
      t.includes('disp') || // disposition, pdisposition, tfopwg_disp
      t.includes('flag') || // fpflag, default_flag, ttv_flag
      t.includes('score') ||
      t === 'name' ||
      t.endsWith('name') || // kepler_name, hostname, refname, delivname
      ID_TOKENS.has(t) ||
      t.startsWith('ref') || // reference, refname
      t.includes('date') || // rowupdate, pubdate, releasedate
      t === 'created' ||
      t === 'year' ||
      t === 'timestamp' ||
      t === 'vet' ||
      t === 'comment' ||
      (t.length > 3 && t.endsWith('lim')), // NASA limit flags: pl_orbperlim, st_tefflim
  );
}

/** Is `column` a leakage column of `mission` (explicit list or general rule)? */
export function isMissionVettingColumn(mission: MissionId, column: string): boolean {
  return MISSIONS[mission].leakageColumns.includes(column) || isVettingColumn(column);
}

/**
 * Recognises a NASA-format table by its columns: its star column plus at least 3 of its default features, and
 * either its label column or half of its default features (so a prediction file without labels is recognised
 * too). Kepler is checked first; K2 and TESS share pl_/st_ names but differ in label and star columns.
 */
export function detectMission(columns: string[]): MissionId | null {
  const present = new Set(columns);
  let best: MissionId | null = null;
  let bestScore = 0;
  for (const id of MISSION_IDS) {
    const spec = MISSIONS[id];
    if (!present.has(spec.groupColumn)) continue;
    const features = spec.defaultFeatures.filter((f) => present.has(f)).length;
    const hasLabel = present.has(spec.labelColumn);
    if (features < 3 || (!hasLabel && features < spec.defaultFeatures.length / 2)) continue;
    const score = features + (hasLabel ? spec.defaultFeatures.length : 0) + spec.idColumns.filter((c) => present.has(c)).length;
    if (score > bestScore) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}
