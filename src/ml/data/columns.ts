/**
 * A table held by column, the form training reads: a Float64Array per numeric column (NaN for a missing cell) and
 * strings only for the columns that are not all numbers (labels, ids, names). Built straight from the CSV stream
 * (csv-stream.ts), so a 200,000-row upload never exists as rows of strings (issue 17: those took ~1 GB and seconds
 * to turn into numbers).
 *
 * Nothing is lost: each number keeps its count of decimals (a byte: `1.50` is 1.5 written with 2), and the rare cell
 * that `toFixed` would not write back (`+3`, `1e3`, `.5`) its text, so `cell(r, c)` is exactly the parsed cell and
 * `toRows()` exactly `parseCsv`'s rows.
 * A column is numeric when every non-empty cell is a finite decimal number (`parseNumber`), as before.
 */
import { createReadStream } from 'node:fs';
import { RAW, decimalsOf, parseNumber, type Table } from './csv.js';
import { CELL_MISSING, CELL_TEXT, slicesOf, streamCsv, type CsvRow, type StreamCsvOptions } from './csv-stream.js';

interface NumberColumn {
  kind: 'number';
  values: Float64Array;
  /** Per cell: how `value.toFixed(d)` writes its text back (d = its decimals), or RAW: the text is in `spellings`. */
  decimals: Uint8Array;
  spellings: Map<number, string> | null;
}

interface TextColumn {
  kind: 'text';
  values: string[];
}

type Column = NumberColumn | TextColumn;

/** The text of row r of a number column. */
function numberText(column: NumberColumn, r: number): string {
  const value = column.values[r];
  if (value !== value) return '';
  const decimals = column.decimals[r];
  return decimals === RAW ? (column.spellings?.get(r) ?? String(value)) : value.toFixed(decimals);
}

/** Builds one column as cells arrive: numbers until a cell is not one, then text. */
class ColumnBuilder {
  private values = new Float64Array(1024);
  private decimals = new Uint8Array(1024);
  private spellings: Map<number, string> | null = null;
  private texts: string[] | null = null;
  private length = 0;

  /** Cell c of a streamed row, read from its bytes when it is a plain decimal. */
  addCell(row: CsvRow, c: number): void {
    if (this.texts !== null) {
      this.length++;
      this.texts.push(row.cell(c));
      return;
    }
    const kind = row.read(c);
    if (kind === CELL_TEXT) {
      this.add(row.text);
      return;
    }
    const r = this.reserve();
    if (kind === CELL_MISSING) {
      this.values[r] = NaN;
      return;
    }
    this.values[r] = row.value;
    this.decimals[r] = row.decimals;
  }

  /** The next row's index in the number arrays, grown as needed. */
  private reserve(): number {
    const r = this.length++;
    if (r === this.values.length) {
      const values = new Float64Array(r * 2);
      values.set(this.values);
      this.values = values;
      const decimals = new Uint8Array(r * 2);
      decimals.set(this.decimals);
      this.decimals = decimals;
    }
    return r;
  }

  add(cell: string): void {
    if (this.texts !== null) {
      this.length++;
      this.texts.push(cell);
      return;
    }
    const r = this.reserve();
    if (cell === '') {
      this.values[r] = NaN;
      return;
    }
    // A plain decimal (nearly every number cell) is known to be one by the scan: no parseNumber checks needed.
    let decimals = decimalsOf(cell);
    let value: number;
    if (decimals !== RAW) {
      value = +cell;
      if (value === 0 && cell.charCodeAt(0) === 45) decimals = RAW; // toFixed drops the sign of -0
    } else {
      value = parseNumber(cell);
      if (value !== value) {
        this.texts = this.textsSoFar(r);
        this.texts.push(cell);
        return;
      }
    }
    this.values[r] = value;
    this.decimals[r] = decimals;
    if (decimals === RAW) (this.spellings ??= new Map()).set(r, cell);
  }

  private textsSoFar(rows: number): string[] {
    const column: NumberColumn = { kind: 'number', values: this.values, decimals: this.decimals, spellings: this.spellings };
    const texts = new Array<string>(rows);
    for (let r = 0; r < rows; r++) texts[r] = numberText(column, r);
    this.values = new Float64Array(0);
    this.decimals = new Uint8Array(0);
    this.spellings = null;
    return texts;
  }

  build(): Column {
    if (this.texts !== null) return { kind: 'text', values: this.texts };
    return {
      kind: 'number',
      values: this.values.slice(0, this.length),
      decimals: this.decimals.slice(0, this.length),
      spellings: this.spellings,
    };
  }
}

/** Number cells as a Float64Array: a text column's cells through parseNumber. */
function numbersOf(column: Column): Float64Array {
  if (column.kind === 'number') return column.values;
  return Float64Array.from(column.values, parseNumber);
}

export class ColumnTable {
  private readonly index: Map<string, number>;

  private constructor(
    readonly columns: string[],
    readonly rowCount: number,
    private readonly data: Column[],
  ) {
    this.index = new Map(columns.map((name, c) => [name, c]));
  }

  /** A parsed table (`parseCsv`) by column. */
  static fromTable(table: Table): ColumnTable {
    const builders = table.columns.map(() => new ColumnBuilder());
    for (const row of table.rows) for (let c = 0; c < builders.length; c++) builders[c].add(row[c]);
    return new ColumnTable(table.columns, table.rows.length, builders.map((b) => b.build()));
  }

  /** The position of column `name`, or -1. */
  indexOf(name: string): number {
    return this.index.get(name) ?? -1;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Whether every non-empty cell of column c is a number. */
  isNumeric(c: number): boolean {
    return this.data[c].kind === 'number';
  }

  /** Whether column c has a non-empty cell. */
  hasValue(c: number): boolean {
    const column = this.data[c];
    if (column.kind === 'text') return column.values.some((cell) => cell !== '');
    return column.values.some((value) => value === value);
  }

  /**
   * Column c as numbers, NaN for missing or non-numeric cells (parseNumber of each cell). A numeric column's own
   * array: do not write to it.
   */
  numbers(c: number): Float64Array {
    return numbersOf(this.data[c]);
  }

  /** Column c's cells as text ('' for missing). */
  texts(c: number): string[] {
    const column = this.data[c];
    if (column.kind === 'text') return column.values;
    return Array.from({ length: this.rowCount }, (_, r) => numberText(column, r));
  }

  /** The cell of row r, column c, as parsed ('' for missing). */
  cell(r: number, c: number): string {
    const column = this.data[c];
    return column.kind === 'text' ? column.values[r] : numberText(column, r);
  }

  /** Row r's cells. */
  row(r: number): string[] {
    return this.data.map((_, c) => this.cell(r, c));
  }

  /** Every row as strings, the form `parseCsv` returns: for small tables and tests, never on the training path. */
  toRows(): string[][] {
    return Array.from({ length: this.rowCount }, (_, r) => this.row(r));
  }

  /**
   * The rows `rows` (indices, in that order). A text column whose kept cells are all numbers becomes numeric, as
   * a table of only those rows would be.
   */
  take(rows: ArrayLike<number>): ColumnTable {
    const data = this.data.map((column): Column => {
      if (column.kind === 'text') {
        const builder = new ColumnBuilder();
        for (const r of Array.from(rows)) builder.add(column.values[r]);
        return builder.build();
      }
      const values = new Float64Array(rows.length);
      const decimals = new Uint8Array(rows.length);
      let spellings: Map<number, string> | null = null;
      for (let k = 0; k < rows.length; k++) {
        const r = rows[k];
        values[k] = column.values[r];
        decimals[k] = column.decimals[r];
        const spelling = decimals[k] === RAW ? column.spellings?.get(r) : undefined;
        if (spelling !== undefined) (spellings ??= new Map()).set(k, spelling);
      }
      return { kind: 'number', values, decimals, spellings };
    });
    return new ColumnTable(this.columns, rows.length, data);
  }

  /**
   * A copy whose column c has every number below `min` or above `max` replaced by that bound (a text column's
   * number cells too; their text becomes the bound's). The table itself is unchanged.
   */
  clamped(c: number, min: number, max: number): ColumnTable {
    const column = this.data[c];
    let replaced: Column;
    if (column.kind === 'number') {
      const values = column.values.slice();
      const decimals = column.decimals.slice();
      let spellings = column.spellings;
      for (let r = 0; r < values.length; r++) {
        const value = values[r];
        if (!(value < min || value > max)) continue;
        values[r] = value < min ? min : max;
        // RAW without a spelling: the bound's own text (String), as a table holding it would have it.
        decimals[r] = RAW;
        if (spellings?.has(r)) {
          if (spellings === column.spellings) spellings = new Map(spellings);
          spellings.delete(r);
        }
      }
      replaced = { kind: 'number', values, decimals, spellings };
    } else {
      replaced = {
        kind: 'text',
        values: column.values.map((cell) => {
          const value = parseNumber(cell);
          return value < min ? String(min) : value > max ? String(max) : cell;
        }),
      };
    }
    const data = this.data.slice();
    data[c] = replaced;
    return new ColumnTable(this.columns, this.rowCount, data);
  }

  /** Estimated bytes held (the parsed-table cache's budget). */
  byteSize(): number {
    let bytes = 0;
    for (const column of this.data) {
      if (column.kind === 'number') bytes += column.values.byteLength + column.decimals.byteLength + (column.spellings?.size ?? 0) * 80;
      else for (const cell of column.values) bytes += 24 + 2 * cell.length;
    }
    return bytes;
  }

  /** Reads CSV bytes (any chunks) by column through `streamCsv`: its checks and errors, no rows of strings. */
  static async read(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: StreamCsvOptions = {}): Promise<ColumnTable> {
    let columns: string[] = [];
    let builders: ColumnBuilder[] = [];
    const rowCount = await streamCsv(
      chunks,
      {
        header(names) {
          columns = names;
          builders = names.map(() => new ColumnBuilder());
        },
        row(row) {
          for (let c = 0; c < row.width; c++) builders[c].addCell(row, c);
        },
      },
      options,
    );
    return new ColumnTable(columns, rowCount, builders.map((b) => b.build()));
  }

  /** `read` of a file, streamed from disk. */
  static readFile(path: string, options: StreamCsvOptions = {}): Promise<ColumnTable> {
    return ColumnTable.read(createReadStream(path, { highWaterMark: options.sliceBytes ?? 1 << 20 }) as AsyncIterable<Buffer>, options);
  }

  /** `read` of bytes already in memory. */
  static readBytes(bytes: Uint8Array, options: StreamCsvOptions = {}): Promise<ColumnTable> {
    return ColumnTable.read(slicesOf(bytes, options.sliceBytes), options);
  }
}
