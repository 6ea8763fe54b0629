import { describe, it, expect } from 'vitest';
import {
  parseCsv,
  parseCsvBuffer,
  numericColumn,
  profileColumns,
  parseNumber,
  isDecimalNumber,
  detectDelimiter,
} from '../../src/ml/data/index.js';
import { expectDataError } from '../fixtures/data-fixtures.js';

describe('parseCsv', () => {
  it('skips lines that start with # but keeps # inside fields', () => {
    const text = [
      '# comment one',
      '#',
      'name,value',
      'Mo&#x10D;nik 1 b,3',
      '"#quoted",4',
      '# a trailing comment',
      'x#y,5',
    ].join('\n');
    const table = parseCsv(text);
    expect(table.columns).toEqual(['name', 'value']);
    expect(table.rows).toEqual([
      ['Mo&#x10D;nik 1 b', '3'],
      ['#quoted', '4'],
      ['x#y', '5'],
    ]);
  });

  it('strips a UTF-8 BOM and handles CRLF, quoted commas, newlines and doubled quotes', () => {
    const text = '\uFEFFid,comment,v\r\n1,"a, b",2\r\n2,"line one\r\nline two",3\r\n3,"say ""hi""",4\r\n';
    const table = parseCsv(text);
    expect(table.columns).toEqual(['id', 'comment', 'v']);
    expect(table.rows).toEqual([
      ['1', 'a, b', '2'],
      ['2', 'line one\r\nline two', '3'],
      ['3', 'say "hi"', '4'],
    ]);
  });

  it('skips comment lines in a CRLF file', () => {
    const table = parseCsv('# fixture\r\n#\r\na;b\r\n1;2\r\n3;4\r\n');
    expect(table).toEqual({
      columns: ['a', 'b'],
      rows: [
        ['1', '2'],
        ['3', '4'],
      ],
    });
  });

  it('detects semicolon and tab delimiters', () => {
    expect(parseCsv('a;b;c\n1,5;2;3\n').rows).toEqual([['1,5', '2', '3']]);
    expect(parseCsv('a\tb\n1\t2\n').rows).toEqual([['1', '2']]);
    expect(detectDelimiter('"x;y",b,c')).toBe(','); // delimiters inside quotes do not count
    expect(detectDelimiter('single')).toBe(',');
  });

  it('trims cells and reads NA-style spellings as missing', () => {
    const table = parseCsv('a,b,c\n 1 ,NA,x\nNaN, null ,None\n');
    expect(table.rows).toEqual([
      ['1', '', 'x'],
      ['', '', ''],
    ]);
  });

  it('skips blank lines', () => {
    expect(parseCsv('a,b\n\n1,2\n\n3,4\n\n').rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('rejects an empty file, a comment-only file and a header-only file', () => {
    expectDataError(() => parseCsv(''), 'BAD_USER_INPUT', 'file', /empty/);
    expectDataError(() => parseCsv('\uFEFF\n\n'), 'BAD_USER_INPUT', 'file', /empty/);
    expectDataError(() => parseCsv('# only\n# comments\n'), 'BAD_USER_INPUT', 'file', /empty/);
    expectDataError(() => parseCsv('a,b,c\n'), 'BAD_USER_INPUT', 'file', /header row \(3 columns\) but no data rows/);
  });

  it('rejects duplicate and empty column names', () => {
    expectDataError(
      () => parseCsv('a,b,a\n1,2,3\n'),
      'BAD_USER_INPUT',
      'file',
      /Duplicate column name "a" \(columns 1 and 3\)/,
    );
    expectDataError(() => parseCsv('a, ,c\n1,2,3\n'), 'BAD_USER_INPUT', 'file', /Column 2 of the header has no name/);
  });

  it('names the ragged row', () => {
    expectDataError(
      () => parseCsv('a,b,c\n1,2,3\n4,5\n6,7,8\n'),
      'BAD_USER_INPUT',
      'file',
      /Data row 2 has 2 fields but the header has 3 columns/,
    );
    expectDataError(() => parseCsv('a,b\n1,2\n3,4\n5,6,7\n'), 'BAD_USER_INPUT', 'file', /Data row 3 has 3 fields/);
  });

  it('refuses too many columns', () => {
    const header = Array.from({ length: 6 }, (_, i) => `c${i}`).join(',');
    const row = Array.from({ length: 6 }, () => '1').join(',');
    expect(parseCsv(`${header}\n${row}\n`, { maxColumns: 6 }).columns).toHaveLength(6);
    expectDataError(
      () => parseCsv(`${header}\n${row}\n`, { maxColumns: 5 }),
      'BAD_USER_INPUT',
      'file',
      /6 columns; at most 5/,
    );
    const wide = Array.from({ length: 501 }, (_, i) => `c${i}`).join(',');
    expectDataError(() => parseCsv(`${wide}\n${wide}\n`), 'BAD_USER_INPUT', 'file', /at most 500/);
  });

  it('rejects an unterminated quote', () => {
    expectDataError(
      () => parseCsv('a,b\n1,"open\n2,3\n'),
      'BAD_USER_INPUT',
      'file',
      /Malformed quoted field in data row 1/,
    );
  });

  it('rejects JSON, HTML and NUL characters as not CSV', () => {
    expectDataError(() => parseCsv('{"a": 1}\n'), 'UNSUPPORTED_MEDIA_TYPE', 'file');
    expectDataError(() => parseCsv('<!DOCTYPE html>\n<html></html>\n'), 'UNSUPPORTED_MEDIA_TYPE', 'file');
    expectDataError(() => parseCsv('a,b\n1,\u00002\n'), 'UNSUPPORTED_MEDIA_TYPE', 'file', /binary/);
  });
});

describe('parseCsvBuffer', () => {
  it('parses UTF-8 bytes, with or without a BOM', () => {
    const text = 'name,v\nMočnik,1\n';
    expect(parseCsvBuffer(Buffer.from(text, 'utf8')).rows).toEqual([['Močnik', '1']]);
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    expect(parseCsvBuffer(withBom).columns).toEqual(['name', 'v']);
  });

  it('rejects binary and non-UTF-8 input as UNSUPPORTED_MEDIA_TYPE', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    expectDataError(() => parseCsvBuffer(png), 'UNSUPPORTED_MEDIA_TYPE', 'file', /NUL/);
    const latin1 = Buffer.from('name,v\nMo\xe8nik,1\n', 'latin1'); // 0xE8 alone is not valid UTF-8
    expectDataError(() => parseCsvBuffer(latin1), 'UNSUPPORTED_MEDIA_TYPE', 'file', /UTF-8/);
  });
});

describe('numbers and profiles', () => {
  it('parses decimal numbers only', () => {
    const cells = ['1.5', '', 'abc', '0x10', 'Infinity', '1e3', '-2', '+.5', '1.', '1e', '--1'];
    expect(cells.map(parseNumber)).toEqual([1.5, NaN, NaN, NaN, NaN, 1000, -2, 0.5, 1, NaN, NaN]);
  });

  it('isDecimalNumber agrees with parseNumber (brute force over a grammar-edge alphabet)', () => {
    const alphabet = ['0', '7', '.', 'e', 'E', '+', '-', 'x', 'b', 'o', ' ', '\u00a0', 'I'];
    const cells: string[] = [
      'Infinity',
      '-Infinity',
      '1e999',
      '9'.repeat(400),
      `0.${'9'.repeat(400)}`,
      '1e-999',
      '0X1A',
      '0B1',
      '1_0',
    ];
    const grow = (prefix: string, depth: number) => {
      if (prefix !== '') cells.push(prefix);
      if (depth > 0) for (const ch of alphabet) grow(prefix + ch, depth - 1);
    };
    grow('', 4); // 13^1 + … + 13^4 strings
    for (const cell of cells)
      expect(isDecimalNumber(cell), JSON.stringify(cell)).toBe(!Number.isNaN(parseNumber(cell)));
    expect(cells.filter(isDecimalNumber).length).toBeGreaterThan(100);
  });

  it('numericColumn gives NaN for missing and non-numeric cells', () => {
    const table = parseCsv('a,b\n1,x\n,2\n3.25e1,\n');
    expect(Array.from(numericColumn(table, 'a'))).toEqual([1, NaN, 32.5]);
    expect(Array.from(numericColumn(table, 'b'))).toEqual([NaN, 2, NaN]);
    expectDataError(() => numericColumn(table, 'zzz'), 'BAD_USER_INPUT', undefined, /no column "zzz"/);
  });

  it('profiles type, missing share, range and distinct values', () => {
    const table = parseCsv('num,txt,mixed,empty\n1,a,1,\n-2.5,b,x,\n,a,2,\n10,,3,\n');
    expect(profileColumns(table)).toEqual([
      { name: 'num', type: 'numeric', missingShare: 0.25, min: -2.5, max: 10, distinct: 3 },
      { name: 'txt', type: 'text', missingShare: 0.25, distinct: 2 },
      { name: 'mixed', type: 'text', missingShare: 0, distinct: 4 },
      { name: 'empty', type: 'numeric', missingShare: 1, distinct: 0 },
    ]);
  });
});
