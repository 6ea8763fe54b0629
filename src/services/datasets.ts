/**
 * Datasets: the three NASA tables (from NASA_DATA_DIR) and uploaded CSVs (files in UPLOAD_DIR, rows in the DB).
 * Owns the `datasets` table and the upload folder.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { eq, desc } from 'drizzle-orm';
import { pathError, type Db } from '../db/client.js';
import { datasets, type DatasetRow } from '../db/schema.js';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ClassCount } from '../domain/data.js';
import { badInput, notFound, uploadTooLarge } from '../domain/errors.js';
import {
  MISSIONS,
  MISSION_IDS,
  isMissionId,
  parseCsvBuffer,
  profileColumns,
  customLabeledTable,
  selectFeatures,
  loadDataLocation,
  resolveNasaTable,
  readNasaTable,
  nasaTableMissingMessage,
  type ColumnProfile,
  type DataLocation,
  type LabeledTable,
  type MissionId,
  type NasaTableSource,
} from '../ml/data/index.js';
import { newId } from './ids.js';

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
}

export interface DatasetDetails {
  rowCount: number;
  columns: ColumnProfile[];
  labelColumn: string;
  groupColumn: string | null;
  classes: string[];
  classCounts: ClassCount[];
  featureColumns: string[];
  featureCandidates: string[];
  vettingColumns: string[];
  idColumns: string[];
}

export interface UploadInput {
  file: File;
  name?: string | null;
  labelColumn?: string | null;
}

const MAX_NAME_LENGTH = 120;

function displayName(given: string | null | undefined, fileName: string): string {
  const cleaned = (given ?? '').trim() || path.basename(fileName.replace(/\\/g, '/')).replace(/\.(csv|tsv|txt)$/i, '');
  return (cleaned || 'Uploaded dataset').slice(0, MAX_NAME_LENGTH);
}

export class DatasetService {
  private readonly details = new Map<string, { key: string; details: DatasetDetails }>();
  private readonly checksums = new Map<string, { key: string; checksum: string }>();

  constructor(
    private readonly db: Db,
    private readonly config: AppConfig,
    private readonly logger: Logger,
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
  private fileOf(id: string): string {
    const source = this.location(id);
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

  private uploadSummary(row: DatasetRow): DatasetSummary {
    const available = fs.existsSync(path.join(this.config.uploadDir, row.fileName));
    return {
      id: row.id,
      name: row.name,
      kind: 'UPLOAD',
      mission: row.mission && isMissionId(row.mission) ? row.mission : null,
      available,
      hint: available ? null : 'The uploaded file is gone from the upload folder; upload it again.',
      originalFileName: row.originalName,
      sizeBytes: row.sizeBytes,
      createdAt: row.createdAt,
      source: available ? { kind: 'UPLOAD', folder: null, fileName: null, compressed: false, exportedAt: null } : null,
    };
  }

  /** Labelled rows of a dataset when known without parsing it (already described, or the snapshot's manifest). */
  knownRowCount(id: string): number | null {
    const cached = this.details.get(id);
    if (cached) return cached.details.rowCount;
    return isMissionId(id) ? (this.nasaSource(id)?.labelledRows ?? null) : null;
  }

  list(): DatasetSummary[] {
    const uploads = this.db.select().from(datasets).orderBy(desc(datasets.createdAt)).all();
    return [
      ...MISSION_IDS.map((mission) => this.nasaSummary(mission)),
      ...uploads.map((row) => this.uploadSummary(row)),
    ];
  }

  get(id: string): DatasetSummary | null {
    if (isMissionId(id)) return this.nasaSummary(id);
    const row = this.db.select().from(datasets).where(eq(datasets.id, id)).get();
    return row ? this.uploadSummary(row) : null;
  }

  /** The dataset, or a BAD_USER_INPUT naming `field` when it does not exist or its file is missing. */
  requireAvailable(id: string, field: string): DatasetSummary {
    const summary = this.get(id);
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
  location(id: string): DataLocation {
    if (isMissionId(id))
      return { kind: 'nasa', mission: id, dir: this.config.nasaDataDir, embedded: this.config.nasaEmbeddedSnapshot };
    const row = this.db.select().from(datasets).where(eq(datasets.id, id)).get();
    if (!row) throw notFound('Dataset', id);
    return { kind: 'upload', path: path.join(this.config.uploadDir, row.fileName), labelColumn: row.labelColumn };
  }

  async labeledTable(id: string): Promise<LabeledTable> {
    const summary = this.get(id);
    if (!summary) throw notFound('Dataset', id);
    if (!summary.available) throw badInput(`Dataset "${id}" is not available: ${summary.hint}`, 'datasetId');
    return loadDataLocation(this.location(id));
  }

  private cacheKey(id: string): string {
    const file = this.fileOf(id);
    const stat = fs.statSync(file);
    return `${file}:${stat.size}:${stat.mtimeMs}`;
  }

  async describe(id: string): Promise<DatasetDetails> {
    const key = this.cacheKey(id);
    const cached = this.details.get(id);
    if (cached?.key === key) return cached.details;
    const table = await this.labeledTable(id);
    const details: DatasetDetails = {
      rowCount: table.table.rows.length,
      columns: profileColumns(table.table),
      labelColumn: table.labelColumn,
      groupColumn: table.source.kind === 'nasa' ? MISSIONS[table.source.mission].groupColumn : null,
      classes: table.classes,
      classCounts: table.classCounts,
      featureColumns: selectFeatures(table, {}).features,
      featureCandidates: table.featureCandidates,
      vettingColumns: table.vettingColumns,
      idColumns: table.idColumns,
    };
    this.details.set(id, { key, details });
    return details;
  }

  async preview(id: string, offset: number, limit: number): Promise<Record<string, string | null>[]> {
    const { table } = await this.labeledTable(id);
    const start = Math.max(0, offset);
    return table.rows.slice(start, start + Math.min(Math.max(limit, 0), 100)).map((row) => {
      const record: Record<string, string | null> = {};
      table.columns.forEach((column, i) => (record[column] = row[i] === '' ? null : row[i]));
      return record;
    });
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
    const key = this.cacheKey(id);
    const cached = this.checksums.get(id);
    if (cached?.key === key) return cached.checksum;
    // NASA tables are hashed decompressed, so the embedded snapshot and the same table downloaded agree.
    const table = isMissionId(id) ? this.nasaSource(id) : null;
    const bytes = table ? await readNasaTable(table) : await fsp.readFile(this.fileOf(id));
    const checksum = createHash('sha256').update(bytes).digest('hex');
    this.checksums.set(id, { key, checksum });
    return checksum;
  }

  /**
   * Streams the upload to a server-made file name, validates it as a dataset and registers it. Any failure leaves
   * no file and no row behind.
   */
  async upload(input: UploadInput): Promise<DatasetSummary> {
    const { file } = input;
    if (file.size > this.config.maxUploadBytes) {
      throw uploadTooLarge(this.config.maxUploadBytes, file.size);
    }
    if (file.size === 0) throw badInput('The file is empty.', 'file');
    const id = newId('ds');
    const fileName = `${id}.csv`;
    const target = path.join(this.config.uploadDir, fileName);
    const temporary = `${target}.part`;
    try {
      const hash = createHash('sha256');
      const out = fs.createWriteStream(temporary, { flags: 'wx' });
      let written = 0;
      for await (const chunk of file.stream() as unknown as AsyncIterable<Uint8Array>) {
        written += chunk.byteLength;
        if (written > this.config.maxUploadBytes) {
          throw uploadTooLarge(this.config.maxUploadBytes);
        }
        hash.update(chunk);
        if (!out.write(chunk))
          await new Promise<void>((resolve) =>
            out.once('drain', () => {
              resolve();
            }),
          );
      }
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => {
          if (error) reject(error);
          else resolve();
        }),
      );
      const buffer = await fsp.readFile(temporary);
      const table = parseCsvBuffer(buffer);
      const labeled = customLabeledTable(table, input.labelColumn?.trim() || undefined);
      await fsp.rename(temporary, target);
      const row: DatasetRow = {
        id,
        name: displayName(input.name, file.name || 'upload.csv'),
        fileName,
        originalName: file.name ? path.basename(file.name.replace(/\\/g, '/')).slice(0, 255) : null,
        mission: labeled.source.kind === 'nasa' ? labeled.source.mission : null,
        labelColumn: labeled.labelColumn,
        rowCount: labeled.table.rows.length,
        sizeBytes: written,
        checksum: hash.digest('hex'),
        createdAt: new Date(),
      };
      this.db.insert(datasets).values(row).run();
      this.logger.info('dataset uploaded', { datasetId: id, rows: row.rowCount, bytes: written, mission: row.mission });
      return this.uploadSummary(row);
    } catch (error) {
      await fsp.rm(temporary, { force: true });
      await fsp.rm(target, { force: true });
      throw error;
    }
  }
}
