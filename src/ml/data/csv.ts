/**
 * CSV → Table. Parsing is papaparse (measured about 2× faster than csv-parse on the Kepler table); everything
 * around it (comment lines, BOM, delimiter choice, validation) is ours so that every bad input gets a specific,
 * typed error.
 */
import Papa from 'papaparse';
import { badInput, quoteInput, unsupportedMediaType, type AppError } from '../../domain/errors.js';

/** A parsed CSV: header names and string cells; `''` marks a missing value. */
export interface Table {
  columns: string[];
  rows: string[][];
}

export interface ParseCsvOptions {
  /** More columns than this is refused (default 500). */
  maxColumns?: number;
}

export interface ColumnProfile {
  name: string;
  type: 'numeric' | 'text';
  /** Share of empty cells, 0..1. */
  missingShare: number;
  /** Numeric columns with at least one value. */
  min?: number;
  max?: number;
  /** Number of distinct non-empty values (numbers compared as numbers); absent above DISTINCT_LIMIT. */
  distinct?: number;
}

export const DEFAULT_MAX_COLUMNS = 500;

/** Delimiters we accept; the one that occurs most often (outside quotes) in the header line wins. */
const DELIMITERS = [',', ';', '\t'] as const;

/** Spellings of "missing" that spreadsheet and pandas/R exports write; normalised to ''. */
const MISSING_TOKENS = new Set(['NA', 'N/A', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None']);

/**
 * Parses one cell as a finite decimal number; NaN when missing or not a number.
 * `Number()` also accepts hex/binary/octal literals ("0x1F"), "Infinity" and outer whitespace: a finite result
 * is a plain decimal exactly when it starts with a digit, sign or '.', ends with a digit or '.', and its second
 * character is not x/b/o. Checking that by hand is much cheaper than a regex per cell.
 */
export function parseNumber(cell: string): number {
  const n = cell.length;
  if (n === 0) return NaN;
  const value = +cell;
  if (value - value !== 0) return NaN; // NaN or ±Infinity
  const first = cell.charCodeAt(0);
  const last = cell.charCodeAt(n - 1);
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46)) return NaN;
  if (!((last >= 48 && last <= 57) || last === 46)) return NaN;
  if (n > 2) {
    const second = cell.charCodeAt(1) | 32; // lower case
    if (second === 120 || second === 98 || second === 111) return NaN; // 0x.., 0b.., 0o..
  }
  return value;
}

/**
 * True when `parseNumber(cell)` is a number, without converting it: a character scan of the decimal grammar
 * `[+-]? digits [. digits] [(e|E) [+-] digits]`, about 3× faster than the conversion. Used to type columns.
 */
export function isDecimalNumber(cell: string): boolean {
  const n = cell.length;
  let i = 0;
  let ch = cell.charCodeAt(0);
  if (ch === 43 || ch === 45) i++;
  let digits = 0;
  while (i < n && (ch = cell.charCodeAt(i)) >= 48 && ch <= 57) {
    i++;
    digits++;
  }
  if (i < n && ch === 46) {
    i++;
    while (i < n && (ch = cell.charCodeAt(i)) >= 48 && ch <= 57) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  // Overflow to Infinity needs > 300 digits or a 3-digit exponent: only then ask Number().
  if (i === n) return digits < 300 || Number.isFinite(+cell);
  if (ch !== 101 && ch !== 69) return false;
  i++;
  if (i < n && ((ch = cell.charCodeAt(i)) === 43 || ch === 45)) i++;
  const exponentStart = i;
  while (i < n && (ch = cell.charCodeAt(i)) >= 48 && ch <= 57) i++;
  if (i !== n || i === exponentStart) return false;
  return (i - exponentStart <= 2 && digits < 200) || Number.isFinite(+cell);
}

/**
 * Checks that `buf` is UTF-8 text (no NUL bytes, valid UTF-8) and parses it.
 * Binary or non-UTF-8 input → AppError UNSUPPORTED_MEDIA_TYPE.
 */
export function parseCsvBuffer(buf: Uint8Array, options: ParseCsvOptions = {}): Table {
  if (buf.includes(0)) {
    throw unsupportedMediaType(NUL_BYTES_MESSAGE, 'file');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw unsupportedMediaType(NOT_UTF8_MESSAGE, 'file');
  }
  return parseCsv(text, options);
}

/**
 * Parses CSV text into a Table.
 * - Skips lines that START with '#' (NASA's comment header); a '#' inside a field is data.
 * - Strips a UTF-8 BOM, accepts LF or CRLF, quoted fields with delimiters and newlines.
 * - Delimiter: ',', ';' or tab, whichever occurs most in the header line.
 * - Cells are trimmed; common "missing" spellings (NA, NaN, null, None, ...) become ''.
 */
export function parseCsv(text: string, options: ParseCsvOptions = {}): Table {
  const maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.includes('\u0000')) {
    throw unsupportedMediaType('The file looks binary (it contains NUL characters); upload a CSV text file.', 'file');
  }

  const headerLine = firstDataLine(text);
  if (headerLine === null) throw badInput(EMPTY_FILE_MESSAGE, 'file');
  rejectObviousNonCsv(headerLine);
  const delimiter = detectDelimiter(headerLine);

  const result = Papa.parse<string[]>(text, {
    delimiter,
    comments: '#',
    skipEmptyLines: true,
    header: false,
    dynamicTyping: false,
  });
  const quoteError = result.errors.find((e) => e.type === 'Quotes');
  if (quoteError) throw malformedQuotes(quoteError.row, quoteError.message);

  const records = result.data;
  if (records.length === 0) throw badInput(EMPTY_FILE_MESSAGE, 'file');
  const columns = records[0].map((name) => name.trim());
  validateHeader(columns, maxColumns);
  if (records.length === 1) throw headerOnly(columns.length);

  const width = columns.length;
  const rows = records.slice(1);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row.length !== width) throw raggedRow(r + 1, row.length, width);
    normaliseCells(row);
  }
  return { columns, rows };
}

/** A quote error papaparse reported at `row` (0 = the header line). */
export function malformedQuotes(row: number | undefined, message: string): AppError {
  const where = row !== undefined ? ` in data row ${row}` : '';
  return badInput(`Malformed quoted field${where}: ${message}.`, 'file');
}

/** Data row `dataRow` (1-based) has `fields` fields where the header has `width`. */
export function raggedRow(dataRow: number, fields: number, width: number): AppError {
  return badInput(
    `Data row ${dataRow} has ${fields} field${fields === 1 ? '' : 's'} but the header has ${width} columns (ragged row). ` +
      'Every row needs one value per column; quote fields that contain the delimiter.',
    'file',
  );
}

export const EMPTY_FILE_MESSAGE = 'The file is empty: it has no header row and no data.';

/** A header row and no data rows. */
export function headerOnly(width: number): AppError {
  return badInput(`The file has a header row (${width} columns) but no data rows.`, 'file');
}

export const NUL_BYTES_MESSAGE = 'The file looks binary (it contains NUL bytes); upload a CSV text file.';
export const NOT_UTF8_MESSAGE = 'The file is not valid UTF-8 text; save it as a UTF-8 CSV and upload it again.';

/** Trims cells and turns missing-value spellings into ''. In place; cheap because most cells need nothing. */
export function normaliseCells(row: string[]): void {
  for (let c = 0; c < row.length; c++) row[c] = normaliseCell(row[c]);
}

/** One cell as `normaliseCells` leaves it. */
export function normaliseCell(cell: string): string {
  const n = cell.length;
  if (n === 0) return cell;
  if (cell.charCodeAt(0) <= 32 || cell.charCodeAt(n - 1) <= 32) cell = cell.trim();
  // Every missing-value spelling starts with N or n: one comparison for the other cells.
  if ((cell.charCodeAt(0) | 32) === 110 && cell.length <= 4 && MISSING_TOKENS.has(cell)) return '';
  return cell;
}

/** A number cell that `toFixed` does not write back (decimalsOf): its text must be kept as is. */
export const RAW = 255;

/**
 * The d for which `(+cell).toFixed(d)` is exactly `cell`, or RAW (not a plain decimal: maybe no number at all).
 * A plain decimal (optional '-', an integer part without leading zeros, optional '.' and digits) of at most 15
 * significant digits round-trips through a double and toFixed; anything else (`+1`, `.5`, `1e3`, `-0`, `5.`, long
 * digit strings) is kept raw, which costs a map entry but is rare.
 */
export function decimalsOf(cell: string): number {
  const n = cell.length;
  let i = cell.charCodeAt(0) === 45 ? 1 : 0; // '-'
  const intStart = i;
  let ch = 0;
  while (i < n && (ch = cell.charCodeAt(i)) >= 48 && ch <= 57) i++;
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && cell.charCodeAt(intStart) === 48)) return RAW;
  if (i === n) return intDigits <= 15 ? 0 : RAW;
  if (ch !== 46) return RAW; // '+' or an exponent
  const fracStart = ++i;
  while (i < n && (ch = cell.charCodeAt(i)) >= 48 && ch <= 57) i++;
  const fracDigits = i - fracStart;
  if (i !== n || fracDigits === 0) return RAW;
  // Significant digits: all of them but the leading zeros of "0.000…".
  let significant = intDigits + fracDigits;
  if (cell.charCodeAt(intStart) === 48) {
    significant--;
    for (let k = fracStart; k < n && cell.charCodeAt(k) === 48; k++) significant--;
  }
  return significant <= 15 && fracDigits <= 100 ? fracDigits : RAW;
}

/** The first line that is neither empty nor a '#' comment, or null. */
export function firstDataLine(text: string): string | null {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    if (line.trim() !== '' && !line.startsWith('#')) return line;
    start = end + 1;
  }
  return null;
}

export function rejectObviousNonCsv(headerLine: string): void {
  const first = headerLine.trimStart()[0];
  // JSON, HTML/XML or a control character at the start: clearly not a CSV header.
  // eslint-disable-next-line no-control-regex -- control characters are what gives binary input away
  if (first === '{' || first === '[' || first === '<' || /[\x01-\x08\x0e-\x1f]/.test(headerLine)) {
    throw unsupportedMediaType('The file does not look like CSV (it starts like JSON, HTML or binary data); upload a CSV file.', 'file');
  }
}

/** Counts each candidate delimiter outside double quotes in the header line. Ties and no delimiter → ','. */
export function detectDelimiter(headerLine: string): ',' | ';' | '\t' {
  const counts = [0, 0, 0];
  let inQuotes = false;
  for (const ch of headerLine) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes) {
      const k = DELIMITERS.indexOf(ch as (typeof DELIMITERS)[number]);
      if (k !== -1) counts[k]++;
    }
  }
  let best = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k] > counts[best]) best = k;
  return DELIMITERS[best];
}

export function validateHeader(columns: string[], maxColumns: number): void {
  if (columns.length > maxColumns) {
    throw badInput(`The file has ${columns.length} columns; at most ${maxColumns} are allowed.`, 'file');
  }
  const seen = new Map<string, number>();
  for (let c = 0; c < columns.length; c++) {
    const name = columns[c];
    if (name === '') {
      throw badInput(`Column ${c + 1} of the header has no name; every column needs a unique name.`, 'file');
    }
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw badInput(`Duplicate column name ${quoteInput(name)} (columns ${previous + 1} and ${c + 1}); column names must be unique.`, 'file');
    }
    seen.set(name, c);
  }
}

export function columnIndex(table: Table, name: string): number {
  const index = table.columns.indexOf(name);
  if (index === -1) throw badInput(`The table has no column ${quoteInput(name)}.`);
  return index;
}

/** The column as numbers: NaN for missing or non-numeric cells. */
export function numericColumn(table: Table, name: string): Float64Array {
  const c = columnIndex(table, name);
  const out = new Float64Array(table.rows.length);
  for (let r = 0; r < table.rows.length; r++) out[r] = parseNumber(table.rows[r][c]);
  return out;
}

/** The column's raw cells. */
export function textColumn(table: Table, name: string): string[] {
  const c = columnIndex(table, name);
  return table.rows.map((row) => row[c]);
}

/**
 * Type and statistics of one column, fed cell by cell (the same code profiles a parsed table and a streamed file).
 * A column is numeric when every non-empty cell is a finite decimal number. `distinct` counts distinct values,
 * comparing number cells as numbers (`1.5` and `1.50` are one value) and other cells as text, up to
 * DISTINCT_LIMIT: a column with more has no `distinct` (it is no category; counting every value of a 200,000-row
 * measurement cost more than parsing it).
 */
export const DISTINCT_LIMIT = 16_384;

export class ColumnAccumulator {
  /** Distinct numbers: open addressing on the value's bits (NaN marks a free slot; numbers are never NaN). */
  private table = new Float64Array(1024).fill(NaN);
  /** 32 − log2(table size): Fibonacci hashing keeps a product's top bits, which depend on every input bit. */
  private shift = 22;
  private readonly bits = new Uint32Array(2);
  private readonly value = new Float64Array(this.bits.buffer);
  private numbers = 0;
  private min = Infinity;
  private max = -Infinity;
  private texts: Set<string> | null = null;
  private missing = 0;
  private cells = 0;

  add(cell: string): void {
    if (cell === '') {
      this.addMissing();
      return;
    }
    const number = parseNumber(cell);
    if (number !== number) {
      this.cells++;
      this.texts ??= new Set();
      if (this.texts.size <= DISTINCT_LIMIT) this.texts.add(cell);
      return;
    }
    this.addNumber(number);
  }

  addMissing(): void {
    this.cells++;
    this.missing++;
  }

  /** A number cell already read (`parseNumber` of its text). */
  addNumber(number: number): void {
    this.cells++;
    if (number < this.min) this.min = number;
    if (number > this.max) this.max = number;
    if (this.numbers <= DISTINCT_LIMIT) this.insert(number + 0); // -0 and 0 are one value
  }

  private insert(number: number): void {
    const table = this.table;
    const mask = table.length - 1;
    this.value[0] = number;
    let slot = Math.imul(this.bits[0] ^ Math.imul(this.bits[1] ^ (this.bits[0] >>> 16), 0x85ebca6b), 0x9e3779b1) >>> this.shift;
    for (;;) {
      const held = table[slot];
      if (held === number) return;
      if (held !== held) break;
      slot = (slot + 1) & mask;
    }
    table[slot] = number;
    if (++this.numbers * 2 > table.length) this.grow();
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2).fill(NaN);
    this.shift--;
    this.numbers = 0;
    for (const number of old) if (number === number) this.insert(number);
  }

  /** True while every non-empty cell is a number. */
  get numeric(): boolean {
    return this.texts === null;
  }

  /** At least one non-empty cell. */
  get hasValue(): boolean {
    return this.cells > this.missing;
  }

  profile(name: string): ColumnProfile {
    const distinct = this.numbers + (this.texts?.size ?? 0);
    const profile: ColumnProfile = {
      name,
      type: this.numeric ? 'numeric' : 'text',
      missingShare: this.cells === 0 ? 1 : this.missing / this.cells,
    };
    if (distinct <= DISTINCT_LIMIT) profile.distinct = distinct;
    if (this.numeric && this.numbers > 0) {
      profile.min = this.min;
      profile.max = this.max;
    }
    return profile;
  }
}

/** Type and statistics per column (see ColumnAccumulator). */
export function profileColumns(table: Table): ColumnProfile[] {
  return table.columns.map((name, c) => {
    const column = new ColumnAccumulator();
    for (const row of table.rows) column.add(row[c]);
    return column.profile(name);
  });
}
