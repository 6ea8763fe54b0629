/**
 * A CSV file read in slices, never whole: the same papaparse parser and the same checks as `parseCsvBuffer`, row by
 * row into a sink, so a 34 MB upload is validated in a fraction of the memory its rows of strings would take.
 *
 * The result is what `parseCsvBuffer` would say about the same bytes, error for error: a whole-file parse checks
 * NUL bytes, then UTF-8, then the header line, then quotes, then the header's names, then ragged rows. Here the
 * first error of each kind is remembered and the file is read to its end (bytes only, once parsing cannot change
 * the answer) so that the one reported is the one `parseCsvBuffer` reports.
 *
 * papaparse is driven slice by slice through its core `Parser`, as its own chunked streamer does (the partial last
 * row carried into the next slice); line endings are guessed on the first megabyte as papaparse does. A slice
 * without quotes is split in papaparse's fast mode.
 */
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import Papa from 'papaparse';
import { AppError, badInput, unsupportedMediaType } from '../../domain/errors.js';
import {
  DEFAULT_MAX_COLUMNS,
  EMPTY_FILE_MESSAGE,
  NOT_UTF8_MESSAGE,
  NUL_BYTES_MESSAGE,
  detectDelimiter,
  firstDataLine,
  headerOnly,
  malformedQuotes,
  normaliseCells,
  raggedRow,
  rejectObviousNonCsv,
  validateHeader,
} from './csv.js';

export interface CsvSink {
  /**
   * The header's names (trimmed), once, before any row, when they are valid. Errors about the data (a label column
   * missing) must wait for the end: the parse's own errors come first.
   */
  header(columns: string[]): void;
  /** A data row: trimmed cells, missing spellings as '', exactly one per column. Reused: copy what you keep. */
  row(cells: string[]): void;
}

export interface StreamCsvOptions {
  maxColumns?: number;
  /** Bytes read at a time (default 1 MiB). */
  sliceBytes?: number;
}

/** Errors in the order a whole-file parse meets them: a lower rank wins. */
const enum Rank {
  NulBytes = 0,
  NotUtf8 = 1,
  HeaderLine = 2,
  Quotes = 3,
  Header = 4,
  Ragged = 5,
  None = 6,
}

const GUESS_CHARS = 1024 * 1024;

/** papaparse's line-ending guess (ParserHandle.guessLineEndings): on the first megabyte, quoted text removed. */
function guessLineEndings(text: string): '\n' | '\r\n' | '\r' {
  const input = text.substring(0, GUESS_CHARS).replace(/"([^]*?)"/gm, '');
  const r = input.split('\r');
  const n = input.split('\n');
  const nAppearsFirst = n.length > 1 && n[0].length < r[0].length;
  if (r.length === 1 || nAppearsFirst) return '\n';
  let withN = 0;
  for (const part of r) if (part.startsWith('\n')) withN++;
  return withN >= r.length / 2 ? '\r\n' : '\r';
}

interface PapaParser {
  parse(input: string, baseIndex: number, ignoreLastRow: boolean): Papa.ParseResult<string[]>;
}

/**
 * Streams `path` through the checks of `parseCsvBuffer` into `sink`. Resolves with the number of data rows; rejects
 * with the AppError `parseCsvBuffer` would throw for the same bytes (or one the sink threw).
 */
export function streamCsvFile(path: string, sink: CsvSink, options: StreamCsvOptions = {}): Promise<number> {
  const stream = createReadStream(path, { highWaterMark: options.sliceBytes ?? 1 << 20 });
  return streamCsv(stream as AsyncIterable<Buffer>, sink, options);
}

/** Bytes already in memory (a decompressed NASA table), handed to `streamCsv` in slices. */
export function* slicesOf(bytes: Uint8Array, sliceBytes = 1 << 20): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += sliceBytes)
    yield Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(sliceBytes, bytes.length - start));
}

/**
 * `streamCsvFile` over any source of byte chunks, of any sizes (a file, a request body as it arrives, a buffer's
 * slices): the same checks, the same answer.
 */
export async function streamCsv(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: CsvSink,
  options: StreamCsvOptions = {},
): Promise<number> {
  const maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  /** The first error of the lowest rank so far (a holder: closures set it). */
  const first: { rank: Rank; error: AppError | null } = { rank: Rank.None, error: null };
  const fail = (rank: Rank, error: AppError) => {
    if (rank < first.rank) {
      first.rank = rank;
      first.error = error;
    }
  };
  /** Parsing goes on only while it could still find an error that outranks the one pending. */
  const parsing = () => first.rank > Rank.Quotes;

  // Bytes: a slice is decoded up to its last newline byte (never inside a UTF-8 sequence); the rest waits.
  let carry: Buffer | null = null;
  let bomChecked = false;
  let prefix = ''; // text before parsing starts: the header line must be found first
  /** papaparse's core parser, made once the header line is known (a holder: closures set it). */
  const core: { parser: PapaParser | null } = { parser: null };
  let partial = '';
  let baseIndex = 0;
  /** Rows papaparse returned (header included, empty lines included): its quote errors count rows this way. */
  let rawRows = 0;
  let width = -1;
  let dataRows = 0;
  let headerValid = false;

  function onRows(rows: string[][]): void {
    for (const row of rows) {
      rawRows++;
      if (row.length === 1 && row[0] === '') continue; // skipEmptyLines: true
      if (width === -1) {
        const columns = row.map((name) => name.trim());
        width = columns.length;
        try {
          validateHeader(columns, maxColumns);
          headerValid = true;
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          fail(Rank.Header, error);
        }
        if (headerValid) sink.header(columns);
        continue;
      }
      dataRows++;
      if (!headerValid || first.error !== null) continue;
      if (row.length !== width) {
        fail(Rank.Ragged, raggedRow(dataRows, row.length, width));
        continue;
      }
      normaliseCells(row);
      sink.row(row);
    }
  }

  function parseText(text: string, last: boolean): void {
    let parser = core.parser;
    if (!parser) {
      prefix += text;
      // papaparse guesses line endings on the first megabyte: start once that much is here.
      if (!last && prefix.length < GUESS_CHARS) return;
      const headerLine = firstCompleteDataLine(prefix, last);
      if (headerLine === undefined) return; // not yet seen
      if (headerLine === null) {
        fail(Rank.HeaderLine, badInput(EMPTY_FILE_MESSAGE, 'file'));
        return;
      }
      try {
        rejectObviousNonCsv(headerLine);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        fail(Rank.HeaderLine, error);
        return;
      }
      const delimiter = detectDelimiter(headerLine);
      // Papa.Parser is papaparse's core parser (what Papa.parse drives); its type is declared loosely.
      parser = core.parser = new Papa.Parser({
        delimiter,
        newline: guessLineEndings(prefix),
        comments: '#',
      });
      text = prefix;
      prefix = '';
    }
    const aggregate = partial + text;
    partial = '';
    const result = parser.parse(aggregate, baseIndex, !last);
    const quoteError = result.errors.find((e) => e.type === 'Quotes');
    if (quoteError) {
      const row = quoteError.row === undefined ? undefined : rawRows + quoteError.row;
      fail(Rank.Quotes, malformedQuotes(row, quoteError.message));
    }
    onRows(result.data);
    if (!last) {
      const cursor = result.meta.cursor;
      partial = aggregate.substring(cursor - baseIndex);
      baseIndex = cursor;
    }
  }

  function onBytes(bytes: Buffer, last: boolean): void {
    if (bytes.includes(0)) fail(Rank.NulBytes, unsupportedMediaType(NUL_BYTES_MESSAGE, 'file'));
    if (first.rank <= Rank.NotUtf8) return;
    let data = carry ? Buffer.concat([carry, bytes]) : bytes;
    carry = null;
    if (!last) {
      const end = data.lastIndexOf(10) + 1;
      carry = data.subarray(end);
      data = data.subarray(0, end);
    }
    if (!isUtf8(data)) {
      fail(Rank.NotUtf8, unsupportedMediaType(NOT_UTF8_MESSAGE, 'file'));
      return;
    }
    if (!parsing()) return;
    let text = data.toString('utf8');
    if (!bomChecked && (text.length > 0 || last)) {
      bomChecked = true;
      // TextDecoder drops one BOM, parseCsv another.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.length > 0 || last) parseText(text, last);
  }

  for await (const chunk of chunks) onBytes(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), false);
  onBytes(Buffer.alloc(0), true);
  if (core.parser === null) fail(Rank.HeaderLine, badInput(EMPTY_FILE_MESSAGE, 'file'));
  if (first.error) throw first.error;
  if (width === -1) throw badInput(EMPTY_FILE_MESSAGE, 'file');
  if (dataRows === 0) throw headerOnly(width);
  return dataRows;
}

/**
 * `firstDataLine` of the text seen so far, once it is certain: a line ended by a newline, or anything at the end of
 * the file. Undefined: read on.
 */
function firstCompleteDataLine(text: string, last: boolean): string | null | undefined {
  if (last) return firstDataLine(text);
  const end = text.lastIndexOf('\n');
  if (end === -1) return undefined;
  const line = firstDataLine(text.slice(0, end + 1));
  return line ?? undefined;
}
