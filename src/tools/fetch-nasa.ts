/**
 * `npm run data:fetch`: downloads the NASA Exoplanet Archive tables (TAP sync, CSV, the archive's default columns)
 * into NASA_DATA_DIR, where they take precedence over the embedded snapshot. Each download is written to a temporary
 * file, checked (header, label column, row count against the table it replaces) and only then renamed over the old
 * file, so a failed or truncated download never replaces good data, and a folder made for nothing is removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  MISSIONS,
  nasaDownloadUrl,
  nasaLabeledTableFromTable,
  parseCsvBuffer,
  resolveNasaTable,
  readNasaTable,
  type MissionId,
} from '../ml/data/index.js';

export interface FetchOptions {
  missions: readonly MissionId[];
  dir: string;
  /** Replace a table even with a download much smaller than it. */
  force: boolean;
  /** Replaces the archive's TAP sync URL (tests point it at a local server). */
  tapUrl?: string;
  /** Progress and result lines. */
  write: (text: string) => void;
  /** Abort a table's download after this long (default 5 minutes). */
  timeoutMs?: number;
  /** A download with fewer rows than this share of the table it replaces is refused (default 0.9). */
  minShareOfPrevious?: number;
}

export interface FetchedTable {
  mission: MissionId;
  file: string;
  bytes: number;
  rows: number;
  labelledRows: number;
}

/** A download that failed, in words a person can act on (host, cause, what to do instead). */
export class FetchError extends Error {
  override readonly name = 'FetchError';
}

const SNAPSHOT_ADVICE =
  'Nothing was replaced: the server keeps using the tables it has (the embedded snapshot of 2025-11-16 when the data folder is empty). ' +
  'To use tables obtained elsewhere, put kepler_koi.csv, k2_pandc.csv and tess_toi.csv (or .csv.gz) in a folder and set NASA_DATA_DIR to it.';

const NETWORK_CAUSES: Record<string, string> = {
  ENOTFOUND: 'the host name could not be resolved (DNS lookup failed: no network, or no DNS server here)',
  EAI_AGAIN: 'the DNS lookup timed out (no network, or no DNS server here)',
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate could not be verified (a proxy?)",
};

/** Why a fetch() call failed, from undici's `cause` chain. */
export function describeNetworkError(error: unknown, host: string): string {
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code && NETWORK_CAUSES[code]) return `Could not download from ${host}: ${NETWORK_CAUSES[code]} (${code}).`;
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError')
      return `Could not download from ${host}: no complete answer in time (timed out).`;
    cause = (cause as Error & { cause?: unknown }).cause;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Could not download from ${host}: ${message}.`;
}

function formatMb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function tableUrl(mission: MissionId, tapUrl: string | undefined): string {
  const archive = new URL(nasaDownloadUrl(mission));
  if (!tapUrl) return archive.toString();
  const url = new URL(tapUrl);
  archive.searchParams.forEach((value, key) => {
    url.searchParams.set(key, value);
  });
  return url.toString();
}

async function rowsOfExisting(file: string, mission: MissionId, dir: string): Promise<number | null> {
  const source = resolveNasaTable(dir, mission, { embedded: false });
  if (source?.file !== file) return null;
  try {
    return parseCsvBuffer(await readNasaTable(source)).rows.length;
  } catch {
    return null; // an unreadable old file is no reference
  }
}

async function fetchTable(mission: MissionId, options: FetchOptions): Promise<FetchedTable> {
  const spec = MISSIONS[mission];
  const target = path.join(options.dir, spec.fileName);
  const url = tableUrl(mission, options.tapUrl);
  const host = new URL(url).host;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5 * 60_000) });
  } catch (error) {
    throw new FetchError(`${mission}: ${describeNetworkError(error, host)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new FetchError(
      `${mission}: ${host} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}; the archive may be down or the query refused. Try again later.`,
    );
  }
  const temporary = `${target}.${process.pid}.part`;
  const out = fs.createWriteStream(temporary);
  // data:fetch's own header line: the loader skips `#` lines and reads the download time as the export date.
  out.write(
    `# Downloaded by npm run data:fetch from ${host} (table ${spec.nasaTable}) at ${new Date().toISOString()}\n`,
  );
  let bytes = 0;
  let lastPrint = 0;
  try {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        if (!out.write(chunk))
          await new Promise<void>((resolve) =>
            out.once('drain', () => {
              resolve();
            }),
          );
        if (Date.now() - lastPrint > 250) {
          lastPrint = Date.now();
          options.write(`\r${mission}: ${formatMb(bytes)} received`);
        }
      }
    } catch (error) {
      throw new FetchError(
        `${mission}: the download from ${host} broke off after ${formatMb(bytes)}: ${describeNetworkError(error, host)}`,
      );
    }
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => {
        if (error) reject(error);
        else resolve();
      }),
    );
    const { rows, labelledRows } = checkDownload(mission, fs.readFileSync(temporary), host);
    const previous = await rowsOfExisting(target, mission, options.dir);
    const minShare = options.minShareOfPrevious ?? 0.9;
    if (previous !== null && rows < previous * minShare && !options.force) {
      throw new FetchError(
        `${mission}: the download has ${rows} rows, far fewer than the ${previous} of the table it would replace; kept the old one (use --force to replace it anyway).`,
      );
    }
    fs.renameSync(temporary, target);
    // A compressed copy of the same table would be shadowed by the new .csv anyway; remove it to avoid confusion.
    fs.rmSync(`${target}.gz`, { force: true });
    options.write(
      `\r${mission}: ${formatMb(bytes)}, ${rows.toLocaleString('en-US')} rows (${labelledRows.toLocaleString('en-US')} labelled) → ${target}\n`,
    );
    return { mission, file: target, bytes, rows, labelledRows };
  } catch (error) {
    out.destroy();
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** The download must be the mission's table: its label and star columns, and labelled rows. */
export function checkDownload(mission: MissionId, bytes: Buffer, host: string): { rows: number; labelledRows: number } {
  const spec = MISSIONS[mission];
  let table;
  try {
    table = parseCsvBuffer(bytes);
  } catch (error) {
    throw new FetchError(
      `${mission}: ${host} sent something that is not a CSV table (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  const missing = [spec.labelColumn, spec.groupColumn].filter((column) => !table.columns.includes(column));
  if (missing.length > 0) {
    throw new FetchError(
      `${mission}: the download from ${host} is not the ${spec.nasaTable} table (no ${missing.join(', ')} column; it starts with: ${table.columns.slice(0, 5).join(', ')}).`,
    );
  }
  const labelled = nasaLabeledTableFromTable(mission, table);
  if (labelled.table.rowCount === 0)
    throw new FetchError(`${mission}: the download from ${host} has no labelled rows.`);
  return { rows: table.rows.length, labelledRows: labelled.table.rowCount };
}

/** Downloads each mission in turn; the first failure stops with a FetchError carrying the advice. */
export async function fetchNasaTables(options: FetchOptions): Promise<FetchedTable[]> {
  const existed = fs.existsSync(options.dir);
  fs.mkdirSync(options.dir, { recursive: true });
  const done: FetchedTable[] = [];
  try {
    for (const mission of options.missions) done.push(await fetchTable(mission, options));
    return done;
  } catch (error) {
    // A folder this run created and left empty would only hide the snapshot's absence of change.
    if (!existed && fs.readdirSync(options.dir).length === 0) fs.rmdirSync(options.dir);
    if (error instanceof FetchError) throw new FetchError(`${error.message}\n${SNAPSHOT_ADVICE}`);
    throw error;
  }
}
