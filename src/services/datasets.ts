/**
 * Datasets: the three NASA tables (from NASA_DATA_DIR) and uploaded CSVs (files in UPLOAD_DIR, rows in the DB).
 * Owns the `datasets` table and the upload folder.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { and, eq, desc, inArray, isNotNull, lt, or } from 'drizzle-orm';
import { pathError } from '../db/client.js';
import type { DatasetRow } from '../db/schema.js';
import type { Store } from '../db/store.js';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ClassCount } from '../domain/data.js';
import type { StoredColumn } from '../domain/dataset-store.js';
import { AppError, badInput, conflict, notFound, uploadTooLarge } from '../domain/errors.js';
import {
  MISSIONS,
  MISSION_IDS,
  isMissionId,
  selectFeatures,
  loadDataLocation,
  resolveNasaTable,
  readNasaTable,
  nasaTableMissingMessage,
  type DataLocation,
  type LabeledTable,
  type MissionId,
  type NasaTableSource,
} from '../ml/data/index.js';
import { NASA_CLASSES } from '../ml/types.js';
import { newId } from './ids.js';
import { PREVIEW_ROWS, summarizeLabeledTable } from '../ml/data/upload-summary.js';
import { UPLOAD_GZIP_LEVEL } from '../ml/data/upload-copy.js';
import { UploadFeed } from './upload-feed.js';
import { ArrivingFile, fileChunks } from '../domain/arriving-file.js';
import { canUse, isOwnersOwn, type Caller, type OwnerService } from './owners.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export type DatasetKind = 'NASA' | 'UPLOAD';

/** Where a dataset's rows come from: the embedded snapshot, the NASA data folder, or an upload. */
export type DataSourceKind = 'EMBEDDED_SNAPSHOT' | 'DATA_FOLDER' | 'UPLOAD';

export interface DataSourceInfo {
  kind: DataSourceKind;
  /** The folder read (DATA_FOLDER; the snapshot's folder for EMBEDDED_SNAPSHOT); null for uploads. */
  folder: string | null;
  /** File name inside the folder. */
  fileName: string | null;
  compressed: boolean;
  /** When NASA's archive exported the table (from the file's header), if known. */
  exportedAt: Date | null;
}

export interface DatasetSummary {
  id: string;
  name: string;
  kind: DatasetKind;
  /** NASA mission of the table, or of the upload's format; null for a custom CSV. */
  mission: MissionId | null;
  available: boolean;
  /** Why a dataset is unavailable and how to fix it. */
  hint: string | null;
  originalFileName: string | null;
  sizeBytes: number | null;
  createdAt: Date | null;
  /** Null when the dataset is unavailable. */
  source: DataSourceInfo | null;
  /** Who may use it (owners.ts); the NASA tables are everyone's. */
  owner: { ownerId: string | null; sharedById: boolean };
}

export interface DatasetDetails {
  rowCount: number;
  columns: StoredColumn[];
  labelColumn: string;
  groupColumn: string | null;
  classes: string[];
  classCounts: ClassCount[];
  featureColumns: string[];
  featureCandidates: string[];
  vettingColumns: string[];
  idColumns: string[];
}

/** A dataset's counts as known without parsing it (`knownShape`). */
export interface KnownShape {
  /** Labelled rows. */
  rows: number;
  defaultFeatures: number;
  vettingFeatures: number;
  classes: number;
}

export interface UploadInput {
  file: File;
  name?: string | null;
  labelColumn?: string | null;
}

const EMPTY_UPLOAD_MESSAGE = 'The file is empty.';

/** Longest dataset name (`name` of an upload, GraphQL or REST); longer ones are refused, not cut. */
export const MAX_NAME_LENGTH = 120;

/** Rows of an upload stored for previewRows (src/ml/data/upload-summary.ts stores them, at upload or backfill). */
export const STORED_PREVIEW_ROWS = PREVIEW_ROWS;
/** Largest page of previewRows. */
export const MAX_PREVIEW_LIMIT = 100;
/** Largest page of `datasets` (the NASA tables first, then uploads, newest first). */
export const MAX_DATASETS_PAGE = 100;
/**
 * Distinct uploads whose CSV one request may parse (previewRows past the stored rows, or a dataset uploaded before
 * summaries were stored): one request must never parse every upload.
 */
export const MAX_PARSED_UPLOADS_PER_REQUEST = 2;

/** Per-request record of the uploads parsed so far (see MAX_PARSED_UPLOADS_PER_REQUEST). */
export interface ParseBudget {
  parsed: Set<string>;
}

function previewRecords(columns: readonly string[], rows: readonly (readonly (string | null)[])[]) {
  return rows.map((row) => {
    const record: Record<string, string | null> = {};
    columns.forEach((column, i) => (record[column] = row[i] ?? null));
    return record;
  });
}

function displayName(given: string | null | undefined, fileName: string): string {
  const cleaned = (given ?? '').trim() || path.basename(fileName.replace(/\\/g, '/')).replace(/\.(csv|tsv|txt)$/i, '');
  return (cleaned || 'Uploaded dataset').slice(0, MAX_NAME_LENGTH);
}

/** The columns a summary needs (not the stored details and preview). */
const UPLOAD_SUMMARY_COLUMNS = [
  'id',
  'name',
  'fileName',
  'originalName',
  'mission',
  'sizeBytes',
  'createdAt',
  'ownerId',
  'sharedById',
] as const satisfies readonly (keyof DatasetRow)[];
type UploadSummaryRow = Pick<DatasetRow, (typeof UPLOAD_SUMMARY_COLUMNS)[number]>;

export class DatasetService {
  private readonly details = new Map<string, { key: string; details: DatasetDetails }>();
  private readonly checksums = new Map<string, { key: string; checksum: string }>();
  /** Upload files checked against their checksum, by dataset id: the size and mtime they had then. */
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly config: AppConfig,
    private readonly logger: Logger,
    private readonly owners: OwnerService,
  ) {
    try {
      fs.mkdirSync(config.uploadDir, { recursive: true });
      fs.accessSync(config.uploadDir, fs.constants.W_OK);
    } catch (error) {
      throw pathError('UPLOAD_DIR', config.uploadDir, error);
    }
    this.sweepPartialFiles();
  }

  /** Half-written files (`*.part`) left by a crash mid-upload or mid-prediction: nothing can finish them now. */
  private sweepPartialFiles(): void {
    const partial = fs.readdirSync(this.config.uploadDir).filter((name) => name.endsWith('.part'));
    for (const name of partial) fs.rmSync(path.join(this.config.uploadDir, name), { force: true });
    if (partial.length > 0)
      this.logger.info('removed partial files left by an earlier crash', { count: partial.length });
  }

  private nasaSource(mission: MissionId): NasaTableSource | null {
    return resolveNasaTable(this.config.nasaDataDir, mission, { embedded: this.config.nasaEmbeddedSnapshot });
  }

  /** The file behind a dataset id (the resolved table file for a NASA mission). */
  private async fileOf(id: string): Promise<string> {
    const source = await this.location(id);
    if (source.kind === 'upload') return source.path;
    const table = this.nasaSource(source.mission);
    if (!table) throw notFound('Dataset', id);
    return table.file;
  }

  private nasaSummary(mission: MissionId): DatasetSummary {
    const spec = MISSIONS[mission];
    const table = this.nasaSource(mission);
    return {
      id: mission,
      name: spec.title,
      kind: 'NASA',
      mission,
      available: table !== null,
      hint: table ? null : nasaTableMissingMessage(mission, spec.fileName, this.config.nasaDataDir),
      originalFileName: null,
      sizeBytes: table?.sizeBytes ?? null,
      createdAt: null,
      owner: { ownerId: null, sharedById: true },
      source: table
        ? {
            kind: table.kind === 'embedded' ? 'EMBEDDED_SNAPSHOT' : 'DATA_FOLDER',
            folder: table.dir,
            fileName: path.basename(table.file),
            compressed: table.compressed,
            exportedAt: table.exportedAt,
          }
        : null,
    };
  }

  /** Uploads among `ids` whose bytes are in the database (dataset_files). */
  private async storedFiles(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.store.select('datasetFiles', {
      columns: ['datasetId'],
      where: inArray(this.store.t.datasetFiles.datasetId, ids),
    });
    return new Set(rows.map((row) => row.datasetId));
  }

  /** Available when its bytes are in the database, or (an upload from before migration 0003) its file on disk. */
  private async uploadSummaries(rows: UploadSummaryRow[]): Promise<DatasetSummary[]> {
    const stored = await this.storedFiles(rows.map((row) => row.id));
    return rows.map((row) =>
      this.uploadSummary(row, stored.has(row.id) || fs.existsSync(path.join(this.config.uploadDir, row.fileName))),
    );
  }

  private uploadSummary(row: UploadSummaryRow, available: boolean): DatasetSummary {
    return {
      id: row.id,
      name: row.name,
      kind: 'UPLOAD',
      mission: row.mission && isMissionId(row.mission) ? row.mission : null,
      available,
      hint: available
        ? null
        : 'The uploaded file is gone (not in the database nor the upload folder); upload it again.',
      originalFileName: row.originalName,
      sizeBytes: row.sizeBytes,
      createdAt: row.createdAt,
      owner: { ownerId: row.ownerId, sharedById: row.sharedById },
      source: available ? { kind: 'UPLOAD', folder: null, fileName: null, compressed: false, exportedAt: null } : null,
    };
  }

  /** Labelled rows of a dataset when known without parsing it (already described, or the snapshot's manifest). */
  async knownRowCount(id: string): Promise<number | null> {
    const cached = this.details.get(id);
    if (cached) return cached.details.rowCount;
    if (isMissionId(id)) return this.nasaSource(id)?.labelledRows ?? null;
    const { datasets } = this.store.t;
    const row = await this.store.first('datasets', { columns: ['rowCount'], where: eq(datasets.id, id) });
    return row?.rowCount ?? null;
  }

  /**
   * Labelled rows, default and vetting feature counts and classes of a dataset when known without parsing it (an
   * upload's stored summary, a NASA table described already or the snapshot's manifest with the mission's default
   * features, an upper bound), else null: what a configure-time estimate of a fit reads.
   */
  async knownShape(id: string): Promise<KnownShape | null> {
    const known = (details: DatasetDetails): KnownShape => ({
      rows: details.rowCount,
      defaultFeatures: details.featureColumns.length,
      vettingFeatures: details.vettingColumns.length,
      classes: details.classes.length,
    });
    const cached = this.details.get(id);
    if (cached) return known(cached.details);
    if (isMissionId(id)) {
      const rows = this.nasaSource(id)?.labelledRows ?? null;
      const spec = MISSIONS[id];
      return rows === null
        ? null
        : {
            rows,
            defaultFeatures: spec.defaultFeatures.length,
            vettingFeatures: spec.leakageColumns.length,
            classes: NASA_CLASSES.length,
          };
    }
    const row = await this.store.first('datasets', { columns: ['details'], where: eq(this.store.t.datasets.id, id) });
    return row?.details ? known(row.details) : null;
  }

  /**
   * A page of the NASA tables followed by the caller's own uploads, newest first (at most MAX_DATASETS_PAGE). Uploads
   * of others, and those made without a token, are never listed.
   */
  async list(caller: Caller, page: { offset?: number; limit?: number } = {}): Promise<DatasetSummary[]> {
    const offset = Math.max(0, page.offset ?? 0);
    const limit = Math.min(Math.max(0, page.limit ?? MAX_DATASETS_PAGE), MAX_DATASETS_PAGE);
    const nasa = MISSION_IDS.slice(offset, offset + limit).map((mission) => this.nasaSummary(mission));
    const uploadLimit = limit - nasa.length;
    if (uploadLimit <= 0 || caller.ownerId === null) return nasa;
    // Only the listed columns: the stored preview stays in the DB.
    const uploads = await this.store.select('datasets', {
      columns: UPLOAD_SUMMARY_COLUMNS,
      where: eq(this.store.t.datasets.ownerId, caller.ownerId),
      orderBy: [desc(this.store.t.datasets.createdAt)],
      limit: uploadLimit,
      offset: Math.max(0, offset - MISSION_IDS.length),
    });
    return [...nasa, ...(await this.uploadSummaries(uploads))];
  }

  async get(id: string): Promise<DatasetSummary | null> {
    if (isMissionId(id)) return this.nasaSummary(id);
    const row = await this.store.first('datasets', {
      columns: UPLOAD_SUMMARY_COLUMNS,
      where: eq(this.store.t.datasets.id, id),
    });
    return row ? ((await this.uploadSummaries([row]))[0] ?? null) : null;
  }

  /** A dataset the caller may use (the NASA tables, its own uploads, uploads shared by id), else null. */
  async getFor(caller: Caller, id: string): Promise<DatasetSummary | null> {
    const summary = await this.get(id);
    return summary && (summary.kind === 'NASA' || canUse(caller, summary.owner)) ? summary : null;
  }

  /**
   * The dataset, or a BAD_USER_INPUT naming `field` when it does not exist, is not the caller's to use, or its file
   * is missing. Without a caller: the server's own use (the dataset of a session already checked).
   */
  async requireAvailable(id: string, field: string, caller?: Caller): Promise<DatasetSummary> {
    const summary = caller ? await this.getFor(caller, id) : await this.get(id);
    if (!summary) {
      // Upload ids are not listed: they belong to whoever uploaded them.
      const missions = [...MISSION_IDS];
      throw badInput(
        `Unknown dataset "${id}". Use a NASA table (${missions.join(', ')}) or the id uploadDataset returned.`,
        field,
        missions,
      );
    }
    if (!summary.available) throw badInput(`Dataset "${id}" is not available: ${summary.hint}`, field);
    return summary;
  }

  /** Where the data of a dataset lives, in the form the ML layer (and its workers) load. */
  async location(id: string): Promise<DataLocation> {
    if (isMissionId(id))
      return { kind: 'nasa', mission: id, dir: this.config.nasaDataDir, embedded: this.config.nasaEmbeddedSnapshot };
    const row = await this.store.first('datasets', {
      columns: ['id', 'fileName', 'labelColumn', 'checksum'],
      where: eq(this.store.t.datasets.id, id),
    });
    if (!row) throw notFound('Dataset', id);
    return { kind: 'upload', path: await this.localFile(row), labelColumn: row.labelColumn };
  }

  /**
   * The upload's CSV in UPLOAD_DIR, a local cache of the bytes in the database: written from the database when the
   * file is missing or is not the upload (its sha256 differs), e.g. on a worker of another machine. An upload from
   * before migration 0003, only on this disk, is copied into the database here, at its first use.
   */
  private async localFile(row: Pick<DatasetRow, 'id' | 'fileName' | 'checksum'>): Promise<string> {
    const file = path.join(this.config.uploadDir, row.fileName);
    const stat = await fsp.stat(file).catch(() => null);
    const key = stat ? `${stat.size}:${stat.mtimeMs}` : null;
    if (key !== null && this.verified.get(row.id) === key) return file;
    const local = stat ? await fsp.readFile(file) : null;
    if (local && createHash('sha256').update(local).digest('hex') === row.checksum) {
      this.verified.set(row.id, key ?? '');
      // Backfill: nothing happens when the row is there already.
      await this.store.insert(
        'datasetFiles',
        {
          datasetId: row.id,
          bytes: await gzipAsync(local, { level: UPLOAD_GZIP_LEVEL }),
          sizeBytes: local.byteLength,
          checksum: row.checksum,
          createdAt: new Date(),
        },
        { onConflictDoNothing: true },
      );
      return file;
    }
    const stored = await this.store.first('datasetFiles', {
      columns: ['bytes', 'checksum'],
      where: eq(this.store.t.datasetFiles.datasetId, row.id),
    });
    // Neither here nor in the database: the ML layer reports the missing file (ENOENT) as it always has.
    if (!stored) return file;
    const bytes = await gunzipAsync(stored.bytes);
    const temporary = `${file}.${process.pid}.${Date.now()}.part`;
    await fsp.writeFile(temporary, bytes);
    await fsp.rename(temporary, file);
    const written = await fsp.stat(file);
    this.verified.set(row.id, `${written.size}:${written.mtimeMs}`);
    this.logger.info('upload materialised from the database', { datasetId: row.id, bytes: bytes.byteLength });
    return file;
  }

  async labeledTable(id: string): Promise<LabeledTable> {
    const summary = await this.get(id);
    if (!summary) throw notFound('Dataset', id);
    if (!summary.available) throw badInput(`Dataset "${id}" is not available: ${summary.hint}`, 'datasetId');
    return loadDataLocation(await this.location(id));
  }

  private async cacheKey(id: string): Promise<string> {
    const file = await this.fileOf(id);
    const stat = fs.statSync(file);
    return `${file}:${stat.size}:${stat.mtimeMs}`;
  }

  /**
   * Row count, columns, classes… of a dataset. An upload's come from its row (stored at upload time); an upload
   * from before summaries were stored (migration 0002) is parsed once, the first time it is described, and its
   * summary stored, so it is never parsed for this again.
   */
  async describe(id: string): Promise<DatasetDetails> {
    if (!isMissionId(id)) {
      const stored = await this.store.first('datasets', {
        columns: ['details'],
        where: eq(this.store.t.datasets.id, id),
      });
      if (stored?.details) return stored.details;
    }
    const key = await this.cacheKey(id);
    const cached = this.details.get(id);
    if (cached?.key === key) return cached.details;
    const table = await this.labeledTable(id);
    // The same summary an upload stores (a NASA table, or an upload stored before summaries were).
    const { details, preview } = summarizeLabeledTable(table);
    if (isMissionId(id)) this.details.set(id, { key, details });
    else await this.store.update('datasets', { details, preview }, eq(this.store.t.datasets.id, id));
    return details;
  }

  /** Counts a CSV parse for `id` against the request's budget; refuses past MAX_PARSED_UPLOADS_PER_REQUEST. */
  private spendParse(id: string, budget: ParseBudget | undefined): void {
    if (!budget || budget.parsed.has(id)) return;
    if (budget.parsed.size >= MAX_PARSED_UPLOADS_PER_REQUEST)
      throw badInput(
        `One request reads the rows of at most ${String(MAX_PARSED_UPLOADS_PER_REQUEST)} uploaded datasets beyond ` +
          `their first ${String(STORED_PREVIEW_ROWS)} rows. Ask for the other datasets in separate requests.`,
        'previewRows',
      );
    budget.parsed.add(id);
  }

  /**
   * A page of raw rows (at most MAX_PREVIEW_LIMIT). Within an upload's stored first rows no CSV is read; past them
   * the file is parsed (cached), counted against the request's budget.
   */
  async preview(
    id: string,
    offset: number,
    limit: number,
    budget?: ParseBudget,
  ): Promise<Record<string, string | null>[]> {
    const start = Math.max(0, offset);
    const end = start + Math.min(Math.max(limit, 0), MAX_PREVIEW_LIMIT);
    if (end === start) return [];
    if (!isMissionId(id)) {
      const stored = await this.store.first('datasets', {
        columns: ['preview', 'rowCount'],
        where: eq(this.store.t.datasets.id, id),
      });
      if (stored?.preview && (end <= stored.preview.rows.length || start >= stored.rowCount))
        return previewRecords(stored.preview.columns, stored.preview.rows.slice(start, end));
      this.spendParse(id, budget);
    }
    const { table } = await this.labeledTable(id);
    return previewRecords(
      table.columns,
      Array.from({ length: Math.max(0, Math.min(end, table.rowCount) - start) }, (_, k) =>
        table.row(start + k).map((cell) => (cell === '' ? null : cell)),
      ),
    );
  }

  async resolveFeatures(id: string, options: { features: string[] | null; useVettingFeatures: boolean }) {
    const table = await this.labeledTable(id);
    return selectFeatures(table, {
      features: options.features ?? undefined,
      useVettingFeatures: options.useVettingFeatures,
    });
  }

  /** sha256 of the dataset's file, for the reproducibility record of a run. */
  async checksum(id: string): Promise<string> {
    const key = await this.cacheKey(id);
    const cached = this.checksums.get(id);
    if (cached?.key === key) return cached.checksum;
    // NASA tables are hashed decompressed, so the embedded snapshot and the same table downloaded agree.
    const table = isMissionId(id) ? this.nasaSource(id) : null;
    const bytes = table ? await readNasaTable(table) : await fsp.readFile(await this.fileOf(id));
    const checksum = createHash('sha256').update(bytes).digest('hex');
    this.checksums.set(id, { key, checksum });
    return checksum;
  }

  /**
   * Streams the upload to a server-made file name, validates it as a dataset and registers it. Any failure leaves
   * no file and no row behind. The bytes go, as they arrive, to the .part file and to the upload thread, which parses,
   * hashes and compresses them meanwhile (an `ArrivingFile` is still being received: issue 17 goal 2).
   */
  async upload(caller: Caller, input: UploadInput): Promise<DatasetSummary> {
    const { file } = input;
    const name = input.name?.trim() ?? '';
    if (name.length > MAX_NAME_LENGTH)
      throw badInput(
        `name is ${name.length} characters long; a dataset name has at most ${MAX_NAME_LENGTH}.`,
        'name',
        `at most ${MAX_NAME_LENGTH} characters`,
      );
    // A file read whole is checked up front; an arriving one as it comes (its size is not known yet).
    const arriving = file instanceof ArrivingFile;
    if (!arriving && file.size > this.config.maxUploadBytes) {
      throw uploadTooLarge(this.config.maxUploadBytes, file.size);
    }
    if (!arriving && file.size === 0) throw badInput(EMPTY_UPLOAD_MESSAGE, 'file');
    const owner = this.owners.claim(caller, 'upload');
    const id = newId('ds');
    const fileName = `${id}.csv`;
    const target = path.join(this.config.uploadDir, fileName);
    const temporary = `${target}.part`;
    const started = performance.now();
    const stages: Record<string, number> = {};
    const stage = (name: string, at = performance.now()) => (stages[name] = Math.round(at - started));
    // Validated and summarised in the upload thread as the bytes come: the event loop only hands them over.
    const feed = new UploadFeed(temporary, input.labelColumn?.trim() || undefined, this.config.workerIdleMs);
    try {
      const out = fs.createWriteStream(temporary, { flags: 'wx' });
      let written = 0;
      for await (const chunk of fileChunks(file)) {
        written += chunk.byteLength;
        if (written > this.config.maxUploadBytes) {
          throw uploadTooLarge(this.config.maxUploadBytes);
        }
        const flushed = out.write(chunk);
        await feed.write(chunk);
        if (!flushed && out.writableNeedDrain)
          await new Promise<void>((resolve) =>
            out.once('drain', () => {
              resolve();
            }),
          );
      }
      stage('received');
      if (written === 0) throw badInput(EMPTY_UPLOAD_MESSAGE, 'file');
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => {
          if (error) reject(error);
          else resolve();
        }),
      );
      stage('written');
      feed.end();
      const summary = await feed.summary;
      if (feed.firstParsedAt !== null) stage('firstParsed', feed.firstParsedAt);
      stage('validated');
      await fsp.rename(temporary, target);
      // Compressed and hashed by the thread as it parsed (src/ml/data/upload-copy.ts): the same bytes as the file's.
      const copy = await feed.copy;
      if (copy.bytes !== written) throw new Error(`The upload thread saw ${copy.bytes} of ${written} bytes.`);
      stage('compressed');
      const row: DatasetRow = {
        id,
        name: displayName(input.name, file.name || 'upload.csv'),
        fileName,
        originalName: file.name ? path.basename(file.name.replace(/\\/g, '/')).slice(0, 255) : null,
        mission: summary.mission,
        labelColumn: summary.labelColumn,
        rowCount: summary.rowCount,
        sizeBytes: written,
        checksum: copy.sha256,
        details: summary.details,
        preview: summary.preview,
        ...owner,
        createdAt: new Date(),
      };
      // The bytes go to the database too (gzip), so a process on another machine can read the upload; with the row,
      // in one transaction (written off the event loop on SQLite: they are megabytes, shared with its writer thread,
      // not copied: a SharedArrayBuffer).
      await this.store.insertAll([
        { table: 'datasets', values: row },
        {
          table: 'datasetFiles',
          values: {
            datasetId: id,
            bytes: Buffer.from(copy.gzip.buffer, copy.gzip.byteOffset, copy.gzip.byteLength),
            sizeBytes: written,
            checksum: row.checksum,
            createdAt: row.createdAt,
          },
        },
      ]);
      stage('stored');
      this.verified.delete(id);
      // stages: ms since the resolver started, at the end of each; an arriving file is received (and parsed) within
      // the resolver, a file read whole had arrived before it.
      this.logger.info('dataset uploaded', {
        datasetId: id,
        rows: row.rowCount,
        bytes: written,
        mission: row.mission,
        arriving,
        stages,
        reusedSlices: feed.reusedSlices,
      });
      return this.uploadSummary(row, true);
    } catch (error) {
      feed.abort();
      // The thread may be reading the file (a NASA format): it is removed once the thread has let go of it.
      await feed.summary.catch(() => undefined);
      await fsp.rm(temporary, { force: true });
      await fsp.rm(target, { force: true });
      throw error;
    }
  }

  /**
   * deleteDataset: the caller's own upload, with its stored bytes and local file. The NASA tables are refused
   * (FORBIDDEN), an upload a queued or running run trains on is refused (CONFLICT naming the run); an upload the
   * caller may not use is NOT_FOUND, and one shared by id (made without a token) only its owner's token deletes.
   */
  async delete(caller: Caller, id: string): Promise<boolean> {
    if (isMissionId(id))
      throw new AppError('FORBIDDEN', `Dataset "${id}" is a NASA table; only uploaded datasets can be deleted.`);
    const summary = await this.getFor(caller, id);
    if (!summary) throw notFound('Dataset', id);
    if (!isOwnersOwn(caller, summary.owner))
      throw new AppError(
        'FORBIDDEN',
        `Dataset "${id}" was uploaded without an owner token; only the token handed out with that upload deletes it.`,
      );
    const { trainingRuns: runs } = this.store.t;
    const active = await this.store.first('trainingRuns', {
      columns: ['id', 'status'],
      where: and(eq(runs.datasetId, id), inArray(runs.status, ['QUEUED', 'RUNNING'])),
    });
    if (active)
      throw conflict(
        `Dataset "${id}" is in use by training run ${active.id} (${active.status.toLowerCase()}); wait for it or cancel it first.`,
      );
    return this.remove(id);
  }

  /** The row, its bytes (dataset_files) and this process's cached file; idempotent (another sweep may race it). */
  private async remove(id: string): Promise<boolean> {
    const row = await this.store.first('datasets', { columns: ['fileName'], where: eq(this.store.t.datasets.id, id) });
    await this.store.delete('datasetFiles', eq(this.store.t.datasetFiles.datasetId, id));
    const removed = (await this.store.delete('datasets', eq(this.store.t.datasets.id, id))) > 0;
    if (row) await fsp.rm(path.join(this.config.uploadDir, row.fileName), { force: true });
    this.details.delete(id);
    this.checksums.delete(id);
    this.verified.delete(id);
    if (removed) this.logger.info('dataset deleted', { datasetId: id });
    return removed;
  }

  /**
   * The idle sweep's second half (SessionService.sweepIdle): uploads older than `cutoff` that belonged to a swept
   * session (`released`) or have an owner, when no session references them, their owner has no session left and no
   * queued or running run trains on them. Returns how many were deleted.
   */
  async sweepUnused(cutoff: Date, released: string[]): Promise<number> {
    const { datasets, sessions, trainingRuns: runs } = this.store.t;
    const candidates = await this.store.select('datasets', {
      columns: ['id', 'ownerId'],
      where: and(
        lt(datasets.createdAt, cutoff),
        released.length > 0
          ? or(isNotNull(datasets.ownerId), inArray(datasets.id, released))
          : isNotNull(datasets.ownerId),
      ),
      limit: 500,
    });
    if (candidates.length === 0) return 0;
    const ids = candidates.map((c) => c.id);
    const owners = [...new Set(candidates.map((c) => c.ownerId).filter((o): o is string => o !== null))];
    const live = await this.store.select('sessions', {
      columns: ['datasetId', 'testDatasetId', 'ownerId'],
      where: or(
        inArray(sessions.datasetId, ids),
        inArray(sessions.testDatasetId, ids),
        owners.length > 0 ? inArray(sessions.ownerId, owners) : undefined,
      ),
    });
    const used = await this.store.select('trainingRuns', {
      columns: ['datasetId'],
      where: and(inArray(runs.datasetId, ids), inArray(runs.status, ['QUEUED', 'RUNNING'])),
    });
    const keep = new Set<string | null>([
      ...live.flatMap((s) => [s.datasetId, s.testDatasetId]),
      ...used.map((r) => r.datasetId),
    ]);
    const liveOwners = new Set(live.map((s) => s.ownerId));
    let removed = 0;
    for (const candidate of candidates) {
      if (keep.has(candidate.id) || (candidate.ownerId !== null && liveOwners.has(candidate.ownerId))) continue;
      if (await this.remove(candidate.id)) removed++;
    }
    return removed;
  }
}
