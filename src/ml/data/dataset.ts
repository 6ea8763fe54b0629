/**
 * The ML-ready form of a table: labels as class indices, star groups, and which columns may be features.
 * NASA tables get the mission's mapping (design §2); any other CSV gets a label column (given or detected) and
 * its numeric columns.
 */
import path from 'node:path';
import { NASA_CLASSES, type Matrix } from '../types.js';
import { parseCsv, parseNumber, type Table } from './csv.js';
import { ColumnTable } from './columns.js';
import { badInput, quoteInput, type AppError } from '../../domain/errors.js';
import { nasaTableMissing } from './errors.js';
import { resolveNasaTable, readNasaTable, type ResolveOptions } from './nasa-source.js';
import { cachedTable, clearTableCache } from './table-cache.js';
import { detectMission, isIdentifierColumn, isMissionVettingColumn, isVettingColumn, MISSIONS, type MissionId } from './missions.js';

export type DatasetSource = { kind: 'nasa'; mission: MissionId } | { kind: 'custom' };

import type { ClassCount } from '../../domain/data.js';
export type { ClassCount };

export interface LabeledTable {
  source: DatasetSource;
  /** Only the labelled rows (after the mission's row filter); `labels[i]` belongs to row i. By column. */
  table: ColumnTable;
  labelColumn: string;
  classes: string[];
  /** Index into `classes`, one per row. */
  labels: Int32Array;
  /** Star (group) per row; rows with an empty group value get a group of their own. Null: every row alone. */
  groups: string[] | null;
  /** Numeric, not entirely empty columns other than the label, group and id columns. */
  featureCandidates: string[];
  /** Features used when the user names none (physics only for NASA; non-vetting candidates for uploads). */
  defaultFeatures: string[];
  /** Columns the leakage guard refuses unless the user opts in (includes the label column). */
  vettingColumns: string[];
  /** Numeric vetting columns added to the defaults when the user opts in without naming features. */
  vettingFeatures: string[];
  /** Columns that identify a row in prediction exports. */
  idColumns: string[];
  /** In `classes` order. */
  classCounts: ClassCount[];
  /** Rows dropped while loading: by the mission's row filter, and for an empty or unknown label. */
  excludedRows: { filtered: number; unlabeled: number };
}

/** Most distinct values a label column may have (beyond this it is an id or a measurement, not a class). */
export const MAX_CLASSES = 20;

/** Names a label column is detected by, in priority order (design: "given or detected"). */
const LABEL_NAMES = ['label', 'class', 'target', 'disposition', 'y'] as const;

// ---------------------------------------------------------------------------------------------------------------
// NASA tables

/** Parses a NASA export (CSV text) and labels it with the mission's rules. */
export function nasaLabeledTable(mission: MissionId, text: string): LabeledTable {
  return nasaLabeledTableFromTable(mission, parseCsv(text));
}

/** A parsed table by column (tables from `parseCsv` are converted). */
function byColumn(table: Table | ColumnTable): ColumnTable {
  return table instanceof ColumnTable ? table : ColumnTable.fromTable(table);
}

/** Applies the mission's row filter, data fixes and label mapping to an already parsed table. */
export function nasaLabeledTableFromTable(mission: MissionId, input: Table | ColumnTable): LabeledTable {
  const parsed = byColumn(input);
  const spec = MISSIONS[mission];
  for (const column of [spec.labelColumn, spec.groupColumn]) {
    if (!parsed.has(column)) {
      throw badInput(`This ${mission} table has no "${column}" column, which the ${mission} format requires.`, 'file');
    }
  }

  const filter = spec.rowFilter && parsed.has(spec.rowFilter.column) ? spec.rowFilter : null;
  const filterValues = filter ? parsed.numbers(parsed.indexOf(filter.column)) : null;
  const labelCells = parsed.texts(parsed.indexOf(spec.labelColumn));
  const classIndex = new Map<string, number>(NASA_CLASSES.map((name, i) => [name, i]));
  const kept: number[] = [];
  const labels: number[] = [];
  let filtered = 0;
  for (let r = 0; r < parsed.rowCount; r++) {
    if (filter && filterValues && filterValues[r] !== filter.value) {
      filtered++;
      continue;
    }
    const raw = labelCells[r].toUpperCase();
    if (!Object.hasOwn(spec.labelMap, raw)) continue;
    kept.push(r);
    labels.push(indexOf(classIndex, spec.labelMap[raw]));
  }

  // Fixes after the row selection (a copy: the caller's table, an upload, stays as it was).
  let table = parsed.take(kept);
  for (const fix of spec.fixes) {
    for (const column of fix.columns) {
      const c = table.indexOf(column);
      if (c !== -1) table = table.clamped(c, fix.min, fix.max);
    }
  }
  return finish({
    source: { kind: 'nasa', mission },
    table,
    labelColumn: spec.labelColumn,
    classes: [...NASA_CLASSES],
    labels: Int32Array.from(labels),
    groups: groupValues(table, spec.groupColumn),
    idColumns: spec.idColumns.filter((c) => table.has(c)),
    excludedRows: { filtered, unlabeled: parsed.rowCount - filtered - kept.length },
  });
}

/** Whether the mission's table is in `dir` (or, unless `embedded: false`, in the embedded snapshot). */
export function isNasaTableAvailable(dir: string, mission: MissionId, options: ResolveOptions = {}): boolean {
  return resolveNasaTable(dir, mission, options) !== null;
}

/**
 * Loads the mission's table (the data folder's `.csv` or `.csv.gz`, else the embedded snapshot), cached by file, size
 * and mtime (a changed file is parsed again). The cached object is shared: callers must not mutate it. No table
 * anywhere → an AppError NOT_FOUND, naming the folder checked). A failed load is not cached.
 */
export async function loadNasaTable(dir: string, mission: MissionId, options: ResolveOptions = {}): Promise<LabeledTable> {
  const source = resolveNasaTable(dir, mission, options);
  if (!source) throw nasaTableMissing(mission, MISSIONS[mission].fileName, path.resolve(dir));
  return cachedTable(`nasa:${source.file}:${source.sizeBytes}:${source.mtimeMs}`, async () =>
    nasaLabeledTableFromTable(mission, await ColumnTable.readBytes(await readNasaTable(source))),
  );
}

/** Forgets every cached table (tests, or after a download). */
export function clearNasaTableCache(): void {
  clearTableCache();
}

// ---------------------------------------------------------------------------------------------------------------
// Uploaded / custom tables

/**
 * Labels an uploaded table.
 * - A NASA-format table (detectMission) that has its mission's label column gets that mission's mapping and
 *   features, unless the caller names a different label column.
 * - Otherwise the label column is `labelColumn`, or detected: a column named label/class/target/disposition/y
 *   (case-insensitive). Exact names are tried first in that priority order, then columns having one of those
 *   words as a name token (`planet_class`, `koi_disposition`); the first with 2..20 distinct values wins.
 * - Rows with an empty label are removed; classes are sorted (numerically when all labels are numbers).
 */
export function customLabeledTable(input: Table | ColumnTable, labelColumn?: string): LabeledTable {
  const table = byColumn(input);
  const mission = missionFormatOf(table.columns, labelColumn);
  if (mission) {
    const lt = nasaLabeledTableFromTable(mission, table);
    requireTwoClasses(lt.classCounts, lt.labelColumn);
    return lt;
  }

  const { label, detected } = customLabelColumn(table.columns, labelColumn);
  const cells = table.texts(table.indexOf(label));
  const rows: number[] = [];
  for (let r = 0; r < cells.length; r++) if (cells[r] !== '') rows.push(r);
  const classes = checkedClasses(
    table.columns,
    label,
    detected,
    rows.map((r) => cells[r]),
  );
  const classIndex = new Map(classes.map((name, i) => [name, i]));
  const labels = Int32Array.from(rows, (r) => indexOf(classIndex, cells[r]));
  const lt = finish({
    source: { kind: 'custom' },
    table: rows.length === table.rowCount ? table : table.take(rows),
    labelColumn: label,
    classes,
    labels,
    groups: null,
    idColumns: customIdColumns(table.columns, label),
    excludedRows: { filtered: 0, unlabeled: table.rowCount - rows.length },
  });
  if (lt.featureCandidates.length === 0) throw noNumericFeature();
  return lt;
}

/** The NASA mission whose format an upload has (and whose labels it gets), or null for a custom table. */
export function missionFormatOf(columns: string[], labelColumn?: string): MissionId | null {
  const mission = detectMission(columns);
  if (!mission) return null;
  const missionLabel = MISSIONS[mission].labelColumn;
  return columns.includes(missionLabel) && (labelColumn === undefined || labelColumn === missionLabel) ? mission : null;
}

/** A custom table's label column: `labelColumn`, or detected by name; refused when there is none. */
export function customLabelColumn(columns: string[], labelColumn?: string): { label: string; detected: boolean } {
  const detected = labelColumn === undefined;
  const label = labelColumn ?? labelCandidates(columns).at(0) ?? null;
  if (label === null) {
    throw badInput(
      `No label column found. Name the column that holds the class (label, class, target, disposition or y) or pass labelColumn; columns: ${columns.join(', ')}.`,
      'labelColumn',
    );
  }
  if (!columns.includes(label)) {
    throw badInput(
      `Label column ${quoteInput(label)} is not in the table; columns: ${columns.join(', ')}.`,
      'labelColumn',
    );
  }
  return { label, detected };
}

/**
 * The classes of a custom label column (its non-empty values), sorted (numerically when all are numbers); refused
 * when fewer than 2 or more than MAX_CLASSES. A detected column that cannot be the label is an error, never a
 * silent switch to another column.
 */
export function checkedClasses(columns: string[], label: string, detected: boolean, values: Iterable<string>): string[] {
  const classes = [...new Set(values)].sort(compareLabels);
  const how = detected ? ' (detected by its name)' : '';
  const others = () => {
    const rest = labelCandidates(columns).filter((c) => c !== label);
    return detected
      ? ` Pass labelColumn to choose the column that holds the class${rest.length > 0 ? ` (other candidates: ${rest.join(', ')})` : ''}.`
      : '';
  };
  if (classes.length < 2) {
    throw badInput(
      `Label column ${quoteInput(label)}${how} has ${classes.length === 0 ? 'no values' : `only one class (${quoteInput(classes[0])})`}; a classifier needs at least 2 classes.${others()}`,
      'labelColumn',
    );
  }
  if (classes.length > MAX_CLASSES) {
    throw badInput(
      `Label column ${quoteInput(label)}${how} has ${classes.length} distinct values; at most ${MAX_CLASSES} classes are supported (is it an id or a measurement?).${others()}`,
      'labelColumn',
    );
  }
  return classes;
}

/** Columns of a custom table that identify a row (named like an id), the label excepted. */
export function customIdColumns(columns: string[], label: string): string[] {
  return columns.filter((c) => c !== label && isIdentifierColumn(c));
}

/** A custom table whose only numeric columns are the label and ids. */
export function noNumericFeature(): AppError {
  return badInput(
    'The table has no numeric feature column (besides the label and id columns); a model needs at least one.',
    'file',
  );
}

/** The detection rule of `customLabeledTable`: the first column named like a label; null when none is. */
export function detectLabelColumn(table: Pick<Table, 'columns'>): string | null {
  return labelCandidates(table.columns)[0] ?? null;
}

/** Columns named like a label, in priority order: exact names (label, class, target, disposition, y), then name tokens. */
function labelCandidates(columns: string[]): string[] {
  const lower = columns.map((c) => c.trim().toLowerCase());
  const tokens = columns.map((c) =>
    c
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
      .split(/[^a-z0-9]+/),
  );
  const candidates: number[] = [];
  for (const name of LABEL_NAMES) lower.forEach((c, i) => c === name && candidates.push(i));
  for (const name of LABEL_NAMES) tokens.forEach((t, i) => t.includes(name) && !candidates.includes(i) && candidates.push(i));
  return candidates.map((i) => columns[i]);
}

// ---------------------------------------------------------------------------------------------------------------
// Tasks and features

/**
 * The BINARY task: planet vs false_positive on dispositioned rows only (candidates are left out; they are the
 * natural prediction queue). Classes become ['false_positive', 'planet'].
 */
export function binaryTask(lt: LabeledTable): LabeledTable {
  const fp = lt.classes.indexOf('false_positive');
  const planet = lt.classes.indexOf('planet');
  if (fp === -1 || planet === -1) {
    throw badInput(`The binary task needs classes "false_positive" and "planet"; this dataset has ${lt.classes.join(', ')}.`, 'task');
  }
  const rows: number[] = [];
  const labels: number[] = [];
  const groups: string[] | null = lt.groups ? [] : null;
  for (let i = 0; i < lt.labels.length; i++) {
    const y = lt.labels[i];
    if (y !== fp && y !== planet) continue;
    rows.push(i);
    labels.push(y === planet ? 1 : 0);
    if (groups && lt.groups) groups.push(lt.groups[i]);
  }
  const result = finish({
    source: lt.source,
    table: lt.table.take(rows),
    labelColumn: lt.labelColumn,
    classes: ['false_positive', 'planet'],
    labels: Int32Array.from(labels),
    groups,
    idColumns: lt.idColumns,
    excludedRows: { filtered: lt.excludedRows.filtered, unlabeled: lt.excludedRows.unlabeled + lt.labels.length - rows.length },
  });
  requireTwoClasses(result.classCounts, lt.labelColumn);
  return result;
}

/** Raw feature values, row-major, NaN for missing. */
export function featureMatrix(lt: LabeledTable, features: string[]): Matrix {
  const columns = features.map((f) => {
    const c = lt.table.indexOf(f);
    if (c === -1) throw badInput(`Unknown feature column ${quoteInput(f)}.`, 'features');
    return lt.table.numbers(c);
  });
  const rows = lt.table.rowCount;
  const cols = columns.length;
  const data = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) {
    const column = columns[j];
    for (let r = 0, at = j; r < rows; r++, at += cols) data[at] = column[r];
  }
  return { rows, cols, data };
}

export interface FeatureSelection {
  features: string[];
  /** True when any chosen feature is a vetting (leakage) column; the run and its metrics must say so. */
  usesVettingFeatures: boolean;
  /** Requested columns left out because they are entirely empty. */
  dropped: string[];
}

/**
 * The leakage guard. Without a list: the default (physics-only) features, plus the dataset's numeric vetting
 * columns when `useVettingFeatures`. With a list: every name must be a numeric column of the table that is not
 * the label, group or an id; vetting columns need `useVettingFeatures: true`; entirely-empty columns are dropped.
 */
export function selectFeatures(lt: LabeledTable, options: { features?: string[]; useVettingFeatures?: boolean } = {}): FeatureSelection {
  const optIn = options.useVettingFeatures === true;
  const candidates = new Set(lt.featureCandidates);
  const vetting = new Set(lt.vettingColumns);
  let features: string[];
  const dropped: string[] = [];

  if (!options.features || options.features.length === 0) {
    features = optIn ? [...lt.defaultFeatures, ...lt.vettingFeatures.filter((f) => !lt.defaultFeatures.includes(f))] : [...lt.defaultFeatures];
  } else {
    const requested = [...new Set(options.features)];
    const unknown = requested.filter((f) => !lt.table.has(f));
    if (unknown.length > 0) {
      throw badInput(`Unknown feature column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Valid features: ${lt.featureCandidates.join(', ')}.`,
        'features',
      );
    }
    const reserved = new Set([lt.labelColumn, ...lt.idColumns, ...(lt.source.kind === 'nasa' ? [MISSIONS[lt.source.mission].groupColumn] : [])]);
    const notAllowed = requested.filter((f) => reserved.has(f));
    if (notAllowed.length > 0) {
      throw badInput(`${notAllowed.join(', ')} cannot be a feature (label, star or id column).`, 'features');
    }
    const empty = new Set(emptyColumns(lt.table, requested));
    const notNumeric = requested.filter((f) => !candidates.has(f) && !empty.has(f));
    if (notNumeric.length > 0) {
      throw badInput(`${notNumeric.join(', ')} ${notNumeric.length > 1 ? 'are' : 'is'} not numeric; features must be numeric columns. Valid features: ${lt.featureCandidates.join(', ')}.`,
        'features',
      );
    }
    const leaking = requested.filter((f) => vetting.has(f));
    if (leaking.length > 0 && !optIn) {
      throw badInput(`${leaking.join(', ')} ${leaking.length > 1 ? 'come' : 'comes'} from the vetting that produced the label (leakage): ` +
          'metrics would overstate what the model learns from the physics. Set useVettingFeatures: true to use them anyway.',
        'features',
      );
    }
    features = requested.filter((f) => !empty.has(f));
    dropped.push(...requested.filter((f) => empty.has(f)));
  }

  if (features.length === 0) {
    throw badInput(`No usable feature: choose at least one numeric column${lt.featureCandidates.length > 0 ? ` (${lt.featureCandidates.join(', ')})` : ''}.`,
      'features',
    );
  }
  return { features, usesVettingFeatures: features.some((f) => vetting.has(f)), dropped };
}

// ---------------------------------------------------------------------------------------------------------------
// Internals

type FinishInput = Pick<LabeledTable, 'source' | 'table' | 'labelColumn' | 'classes' | 'labels' | 'groups' | 'idColumns' | 'excludedRows'>;

/** Derives the column roles and class counts shared by NASA and custom tables. */
function finish(input: FinishInput): LabeledTable {
  const { source, table, labelColumn, classes, labels, idColumns } = input;
  const groupColumn = source.kind === 'nasa' ? MISSIONS[source.mission].groupColumn : null;
  const reserved = new Set<string>([labelColumn, ...idColumns]);
  if (groupColumn) reserved.add(groupColumn);
  const isVetting = source.kind === 'nasa' ? (c: string) => isMissionVettingColumn(source.mission, c) : isVettingColumn;

  const featureCandidates = numericNonEmptyColumns(table).filter((c) => !reserved.has(c));
  const candidateSet = new Set(featureCandidates);
  const vettingColumns = table.columns.filter(isVetting);
  const defaultFeatures =
    source.kind === 'nasa'
      ? MISSIONS[source.mission].defaultFeatures.filter((f) => candidateSet.has(f))
      : featureCandidates.filter((f) => !isVetting(f));
  const vettingFeatures =
    source.kind === 'nasa'
      ? MISSIONS[source.mission].leakageColumns.filter((f) => candidateSet.has(f))
      : featureCandidates.filter((f) => isVetting(f));

  const counts = new Array<number>(classes.length).fill(0);
  for (const label of labels) counts[label]++;
  return {
    source,
    table,
    labelColumn,
    classes,
    labels,
    groups: input.groups,
    featureCandidates,
    defaultFeatures,
    vettingColumns,
    vettingFeatures,
    idColumns,
    classCounts: classes.map((label, i) => ({ label, count: counts[i] })),
    excludedRows: input.excludedRows,
  };
}

function requireTwoClasses(classCounts: ClassCount[], labelColumn: string): void {
  const present = classCounts.filter((c) => c.count > 0);
  if (present.length < 2) {
    throw badInput(`Label column ${quoteInput(labelColumn)} has ${present.length === 0 ? 'no usable labels' : `only one class (${quoteInput(present[0].label)})`}; a classifier needs at least 2 classes.`,
      'labelColumn',
    );
  }
}

/** Columns whose non-empty cells are all numbers, with at least one value. */
function numericNonEmptyColumns(table: ColumnTable): string[] {
  return table.columns.filter((_, c) => table.isNumeric(c) && table.hasValue(c));
}

function emptyColumns(table: ColumnTable, columns: string[]): string[] {
  return columns.filter((name) => !table.hasValue(table.indexOf(name)));
}

function groupValues(table: ColumnTable, column: string): string[] {
  // An empty star id must not lump unrelated rows into one giant group.
  return table.texts(table.indexOf(column)).map((cell, r) => (cell === '' ? `\u0000row${r}` : cell));
}

/** Numbers in numeric order first, then text in code-point order. */
function compareLabels(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  const xNum = !Number.isNaN(x);
  const yNum = !Number.isNaN(y);
  if (xNum && yNum && x !== y) return x - y;
  if (xNum !== yNum) return xNum ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The index of a class the map was built from (a missing one is a bug, not input). */
function indexOf(classIndex: Map<string, number>, name: string): number {
  const index = classIndex.get(name);
  if (index === undefined) throw new RangeError(`class "${name}" is not in the class index`);
  return index;
}
