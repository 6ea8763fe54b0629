/**
 * What the `datasets` table stores of an upload (row count, column profiles, label, classes, features, the first
 * rows), computed from the file as it streams by (csv-stream.ts): no table of strings is built, so a 34 MB upload
 * is checked in about a second and a fraction of its size in memory. Runs in a worker thread (src/ml/worker.ts).
 *
 * The answer, errors included, is the one `customLabeledTable(parseCsvBuffer(file))` gives (a test holds the two
 * side by side): the same checks in the same order, through the same functions. An upload in a NASA format gets its
 * mission's row filter, fixes and labels, which need whole rows: once the stream has validated it, it is labelled
 * whole (NASA tables are ≤ 10,000 rows).
 */
import type { StoredColumn, StoredDatasetDetails, StoredPreview } from '../../domain/dataset-store.js';
import { ColumnAccumulator, type ColumnProfile } from './csv.js';
import { ColumnTable } from './columns.js';
import { CELL_MISSING, CELL_NUMBER, fileSlices, streamCsv, type StreamCsvOptions } from './csv-stream.js';
import {
  checkedClasses,
  customIdColumns,
  customLabelColumn,
  customLabeledTable,
  missionFormatOf,
  noNumericFeature,
  selectFeatures,
  type LabeledTable,
} from './dataset.js';
import { isVettingColumn, MISSIONS, type MissionId } from './missions.js';
import { AppError } from '../../domain/errors.js';

/** Rows of an upload stored for previewRows. */
export const PREVIEW_ROWS = 100;
/** Byte budget of the stored preview (a 20 MB cell must not be copied into the DB and every listing). */
export const PREVIEW_BYTES = 256 * 1024;

export interface UploadSummary {
  /** The NASA mission whose format the upload has, or null. */
  mission: MissionId | null;
  labelColumn: string;
  /** Labelled rows. */
  rowCount: number;
  details: StoredDatasetDetails;
  preview: StoredPreview;
}

/** A profile as stored: JSON has no Infinity, so only finite bounds are kept. */
export function storedColumn(column: ColumnProfile): StoredColumn {
  const stored: StoredColumn = { name: column.name, type: column.type, missingShare: column.missingShare };
  if (column.min !== undefined && Number.isFinite(column.min)) stored.min = column.min;
  if (column.max !== undefined && Number.isFinite(column.max)) stored.max = column.max;
  if (column.distinct !== undefined) stored.distinct = column.distinct;
  return stored;
}

/** Collects the first rows within PREVIEW_ROWS and PREVIEW_BYTES (an empty cell is null). */
class PreviewCollector {
  readonly rows: (string | null)[][] = [];
  private bytes = 0;
  /** Full: rows need not be made for it any more. */
  done = false;

  add(cells: readonly string[]): void {
    if (this.done) return;
    const row = cells.map((cell) => (cell === '' ? null : cell));
    this.bytes += row.reduce((sum, cell) => sum + (cell?.length ?? 0) + 4, 2);
    if (this.bytes > PREVIEW_BYTES) this.done = true;
    else this.rows.push(row);
    if (this.rows.length >= PREVIEW_ROWS) this.done = true;
  }
}

/** The summary of a table labelled whole (NASA formats; uploads stored before summaries were). */
export function summarizeLabeledTable(lt: LabeledTable): UploadSummary {
  const preview = new PreviewCollector();
  for (let r = 0; r < Math.min(PREVIEW_ROWS, lt.table.rowCount); r++) preview.add(lt.table.row(r));
  const columns = lt.table.columns.map((name, c) => {
    const column = new ColumnAccumulator();
    for (const cell of lt.table.texts(c)) column.add(cell);
    return storedColumn(column.profile(name));
  });
  return {
    mission: lt.source.kind === 'nasa' ? lt.source.mission : null,
    labelColumn: lt.labelColumn,
    rowCount: lt.table.rowCount,
    details: {
      rowCount: lt.table.rowCount,
      columns,
      labelColumn: lt.labelColumn,
      groupColumn: lt.source.kind === 'nasa' ? MISSIONS[lt.source.mission].groupColumn : null,
      classes: lt.classes,
      classCounts: lt.classCounts,
      featureColumns: selectFeatures(lt, {}).features,
      featureCandidates: lt.featureCandidates,
      vettingColumns: lt.vettingColumns,
      idColumns: lt.idColumns,
    },
    preview: { columns: [...lt.table.columns], rows: preview.rows },
  };
}

/** Reads, validates and summarises an uploaded CSV, streaming. `labelColumn`: as `customLabeledTable`'s. */
export function summarizeUpload(path: string, labelColumn?: string, options: StreamCsvOptions = {}): Promise<UploadSummary> {
  return summarizeUploadChunks(fileSlices(path, options), path, labelColumn, options);
}

/**
 * `summarizeUpload` of the bytes `chunks` yields, as they come (an upload still arriving, src/ml/upload-worker.ts).
 * `path` holds the same bytes once `chunks` has ended: a NASA format is labelled whole from it.
 */
export async function summarizeUploadChunks(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  path: string,
  labelColumn?: string,
  options: StreamCsvOptions = {},
): Promise<UploadSummary> {
  let columns: string[] = [];
  /** Set by the header callback (a holder: TypeScript does not follow assignments in callbacks). */
  const found: { mission: MissionId | null; labelError: AppError | null } = { mission: null, labelError: null };
  let label = '';
  let detected = false;
  let labelIndex = -1;
  let accumulators: ColumnAccumulator[] = [];
  const classCounts = new Map<string, number>();
  const preview = new PreviewCollector();
  let kept = 0;

  await streamCsv(
    chunks,
    {
      header(names) {
        columns = names;
        found.mission = missionFormatOf(names, labelColumn);
        if (found.mission) return;
        try {
          ({ label, detected } = customLabelColumn(names, labelColumn));
          labelIndex = names.indexOf(label);
          accumulators = names.map(() => new ColumnAccumulator());
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          found.labelError = error; // reported once the file is known to parse
        }
      },
      row(row) {
        if (labelIndex === -1) return;
        const value = row.cell(labelIndex);
        if (value === '') return;
        kept++;
        classCounts.set(value, (classCounts.get(value) ?? 0) + 1);
        for (let c = 0; c < row.width; c++) {
          const accumulator = accumulators[c];
          const kind = row.read(c);
          if (kind === CELL_NUMBER) accumulator.addNumber(row.value);
          else if (kind === CELL_MISSING) accumulator.addMissing();
          else accumulator.add(row.text);
        }
        if (!preview.done) preview.add(Array.from({ length: row.width }, (_, c) => row.cell(c)));
      },
    },
    options,
  );
  if (found.mission) return summarizeLabeledTable(customLabeledTable(await ColumnTable.readFile(path, options), labelColumn));
  if (found.labelError) throw found.labelError;

  const classes = checkedClasses(columns, label, detected, classCounts.keys());
  const idColumns = customIdColumns(columns, label);
  const reserved = new Set([label, ...idColumns]);
  const featureCandidates = columns.filter(
    (name, c) => !reserved.has(name) && accumulators[c].numeric && accumulators[c].hasValue,
  );
  if (featureCandidates.length === 0) throw noNumericFeature();
  const lt: LabeledTable = {
    source: { kind: 'custom' },
    // The rows were never kept: only the column roles below are read from this table.
    table: ColumnTable.fromTable({ columns, rows: [] }),
    labelColumn: label,
    classes,
    labels: new Int32Array(0),
    groups: null,
    featureCandidates,
    defaultFeatures: featureCandidates.filter((f) => !isVettingColumn(f)),
    vettingColumns: columns.filter(isVettingColumn),
    vettingFeatures: featureCandidates.filter(isVettingColumn),
    idColumns,
    classCounts: classes.map((name) => ({ label: name, count: classCounts.get(name) ?? 0 })),
    excludedRows: { filtered: 0, unlabeled: 0 },
  };
  return {
    mission: null,
    labelColumn: label,
    rowCount: kept,
    details: {
      rowCount: kept,
      columns: accumulators.map((accumulator, c) => storedColumn(accumulator.profile(columns[c]))),
      labelColumn: label,
      groupColumn: null,
      classes,
      classCounts: lt.classCounts,
      featureColumns: selectFeatures(lt, {}).features,
      featureCandidates,
      vettingColumns: lt.vettingColumns,
      idColumns,
    },
    preview: { columns: [...columns], rows: preview.rows },
  };
}
