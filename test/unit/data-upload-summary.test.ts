import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import { customLabeledTable, parseCsvBuffer } from '../../src/ml/data/index.js';
import { summarizeLabeledTable, summarizeUpload } from '../../src/ml/data/upload-summary.js';
import { keplerFixture } from '../fixtures/data-fixtures.js';
import { tempCsvFiles } from '../fixtures/temp-files.js';

const fileOf = tempCsvFiles('upload-summary');

type Outcome = { ok: unknown } | { error: { code: string; field?: string; message: string } };

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    return { ok: await run() };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { error: { code: error.code, field: error.field, message: error.message } };
  }
}

const messageOf = (result: Outcome) => ('error' in result ? result.error.message : 'no error');

/** The whole-file route (what uploads did before): parse everything, label, summarise. */
function reference(bytes: Buffer, labelColumn?: string, maxColumns?: number): Promise<Outcome> {
  return outcome(() => summarizeLabeledTable(customLabeledTable(parseCsvBuffer(bytes, { maxColumns }), labelColumn)));
}

/** Streams at several slice sizes (1 byte puts every boundary inside a cell, a quote and a UTF-8 sequence). */
async function expectSameAsWholeFile(
  content: string | Buffer,
  labelColumn?: string,
  maxColumns?: number,
  slices = [1, 7, 64, 1 << 20],
) {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const file = fileOf(bytes);
  const expected = await reference(bytes, labelColumn, maxColumns);
  for (const sliceBytes of slices) {
    // headChars 8: parsing starts after the first slice that ends a line, so the rows after it are split on their
    // bytes (the tokenizer 34 MB uploads go through) and not only by papaparse (the file's first megabyte).
    for (const headChars of [undefined, 8]) {
      const streamed = await outcome(() => summarizeUpload(file, labelColumn, { sliceBytes, maxColumns, headChars }));
      expect(streamed, `slice ${sliceBytes}, head ${String(headChars)}`).toEqual(expected);
    }
  }
  return expected;
}

const okCases: [string, string][] = [
  ['plain', 'a,b,label\n1,2,x\n3,,y\n5,6,x\n'],
  [
    'CRLF, BOM, quoted delimiters and newlines',
    '\uFEFFid,comment,v,class\r\n1,"a, b",2,p\r\n2,"line\r\ntwo",3,q\r\n3,"say ""hi""",4,p\r\n',
  ],
  ['semicolons and tabs', 'a;b;target\n1,5;2;u\n3;4;v\n'],
  ['tabs', 'a\tb\ty\n1\t2\t0\n3\t4\t1\n'],
  ['missing spellings, spaces, blank lines', 'a,b,label\n 1 ,NA,x\n\nNaN, null ,y\n\n2,3,x\n'],
  ['unlabelled rows dropped, numeric labels sorted', 'a,b,y\n1,2,10\n2,3,2\n3,x,\n4,5,2\n5,6,10\n'],
  ['1 and 1.0 are two classes, 1 and 1.0 one distinct value', 'a,label\n1,1\n1.0,1.0\n1.00,1\n'],
  ['a mixed column is text', 'a,b,label\n1,x,p\n2,3,q\n'],
  ['ids and vetting columns', 'star_id,koi_score,f,label\n7,0.5,1,p\n8,0.2,2,q\n'],
  ['comments and # inside fields', '# made up\n#\nname,value,label\nMo&#x10D;nik 1 b,3,p\n"#quoted",4,q\nx#y,5,p\n'],
  ['multi-byte UTF-8 everywhere', 'naïve,größe,label\n1,2,été\n3,4,hiver\n5,6,été\n'],
  ['lone CR line endings', 'a,b,label\r1,2,x\r3,4,y\r'],
  ['no final newline', 'a,label\n1,x\n2,y'],
  [
    'number spellings the byte tokenizer reads and those it leaves to the text',
    'a,b,c,label\n1.50,+3,-0,x\n.5,1e3,0.0000001,y\n007,5.,123456789012345678,x\n-0.0,1E-7,0.10,y\n' +
      '12345678901234567890.5,-12.000,3.14159265358979323846,x\n999999999999999,1000000000000000,0.1234567890123456789012,y\n' +
      '\t-2.5 ,\u00a07,7\u00a0,x\n \u00a0,1 \u00a0,-,y\n',
  ],
  [
    'CRLF with a lone LF inside a row (a newline in a cell for papaparse) and lone CRs',
    'a,b,label\r\n1,2,x\r\n3,4\n5,y\r\n6,7\r,x\r\n\r\n8,9,y\r\n',
  ],
  ['LF file with CR inside cells', 'a,b,label\n1\r,2,x\n3,\r4,y\n5,6\r,x\r\n'],
  ['comment lines and blank lines between rows', 'a,b,label\n1,2,x\n# note\n\n3,4,y\n#x,y\n5,6,x\n'],
];

describe('summarizeUpload (streamed) answers as the whole-file parse does', () => {
  for (const [name, text] of okCases) {
    it(name, async () => {
      const expected = await expectSameAsWholeFile(text);
      expect(expected).toHaveProperty('ok');
    });
  }

  it('a given label column', async () => {
    await expectSameAsWholeFile('a,b,label\n1,2,x\n3,4,y\n', 'b');
    await expectSameAsWholeFile('a,b,c\n1,2,x\n3,4,y\n', 'c');
  });

  it('a NASA-format upload gets its mission', async () => {
    const expected = await expectSameAsWholeFile(keplerFixture());
    expect(expected).toMatchObject({ ok: { mission: 'kepler', labelColumn: 'koi_disposition' } });
  });

  it('a 2.5 MB table with multi-byte UTF-8, quotes and CRLF, at 1 MB and odd slice sizes', async () => {
    // Rows past the first megabyte go through the byte tokenizer; 1 MB slices end inside these cells' UTF-8 sequences.
    const lines = ['x,y,"note, quoted",label'];
    for (let i = 0, length = 0; length < 2.5 * 2 ** 20; i++) {
      const note = i % 97 === 0 ? `"été, ${i}"` : i % 89 === 0 ? `"say ""${i}"""` : `größe ${i} 🪐`;
      lines.push(
        `${(i / 7).toFixed(4)},${i % 13 === 0 ? 'NA' : String(i % 1000)},${note},${i % 3 ? 'planète' : 'faux'}`,
      );
      length += lines[lines.length - 1].length + 2;
    }
    const expected = await expectSameAsWholeFile(lines.join('\r\n') + '\r\n', undefined, undefined, [
      1 << 20,
      (1 << 20) + 1,
      65_537,
    ]);
    expect(expected).toMatchObject({ ok: { rowCount: lines.length - 1 } });
  });

  it('a larger table with quotes here and there, across many slices', async () => {
    let random = 12345;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const lines = ['f1,f2,"f 3",note,label'];
    for (let i = 0; i < 3000; i++) {
      const note = next() < 0.1 ? `"n, ${i}"` : next() < 0.05 ? 'NA' : `n${i}`;
      lines.push(
        `${(next() * 10).toFixed(3)},${next() < 0.02 ? '' : (next() - 0.5).toExponential(2)},${i},${note},${next() < 0.5 ? 'a' : 'b'}`,
      );
    }
    const expected = await expectSameAsWholeFile(lines.join('\n') + '\n', undefined, undefined, [61, 4096, 1 << 20]);
    expect(expected).toMatchObject({ ok: { rowCount: 3000 } });
  });
});

const errorCases: [string, string | Buffer, RegExp][] = [
  ['comments only', '# only\n# comments\n', /empty/],
  ['blank', '\n\n', /empty/],
  ['header only', 'a,b,label\n', /header row \(3 columns\) but no data rows/],
  ['duplicate column', 'a,b,a\n1,2,3\n', /Duplicate column name "a"/],
  ['unnamed column', 'a, ,label\n1,2,3\n', /Column 2 of the header has no name/],
  ['ragged row', 'a,b,label\n1,2,x\n4,5\n6,7,y\n', /Data row 2 has 2 fields/],
  [
    'ragged row with too many fields, after blank and comment lines',
    'a,b,label\n1,2,x\n\n#c\n4,5,y,z\n',
    /Data row 2 has 4 fields/,
  ],
  [
    'a quote error after quote-free rows',
    'a,b,label\n1,2,x\n3,4,y\n5,"6,z\n7,8,x\n',
    /Malformed quoted field in data row 3/,
  ],
  ['unterminated quote', 'a,label\n1,"open\n2,3\n', /Malformed quoted field in data row 1/],
  ['a quote error after a ragged row wins', 'a,b,label\n1,2\n3,4,x\n5,"6\n', /Malformed quoted field/],
  ['a ragged row after a bad header loses', 'a,a,label\n1,2\n', /Duplicate column name/],
  ['JSON', '{"a": 1}\n', /does not look like CSV/],
  ['HTML', '<!DOCTYPE html>\n<html></html>\n', /does not look like CSV/],
  ['NUL bytes, even after a ragged row', 'a,b,label\n1,2\n3,4,\u00005\n', /NUL bytes/],
  ['no label column', 'a,b,c\n1,2,3\n4,5,6\n', /No label column found/],
  ['a given label column not in the table', 'a,label\n1,x\n2,y\n', /is not in the table/],
  ['one class', 'a,label\n1,x\n2,x\n', /only one class \("x"\)/],
  [
    'too many classes',
    `a,target\n${Array.from({ length: 25 }, (_, i) => `${i},c${i}`).join('\n')}\n`,
    /25 distinct values/,
  ],
  ['no numeric feature', 'name,label\nx,p\ny,q\n', /no numeric feature column/],
  ['only vetting features', 'koi_score,label\n1,p\n2,q\n', /No usable feature/],
  ['a label problem waits for the parse errors', 'a,b,c\n1,2\n', /Data row 1 has 2 fields/],
];

describe('summarizeUpload refuses what the whole-file parse refuses, with the same error', () => {
  for (const [name, content, message] of errorCases) {
    it(name, async () => {
      const labelColumn = name === 'a given label column not in the table' ? 'nope' : undefined;
      const expected = await expectSameAsWholeFile(content, labelColumn);
      expect(expected).toHaveProperty('error');
      if ('error' in expected) expect(expected.error.message).toMatch(message);
    });
  }

  it('not UTF-8, and NUL bytes outrank it', async () => {
    const latin1 = Buffer.from('name,v,label\nMo\xe8nik,1,p\nx,2,q\n', 'latin1');
    expect(messageOf(await expectSameAsWholeFile(latin1))).toMatch(/UTF-8/);
    const both = Buffer.concat([latin1, Buffer.from([0x41, 0x00, 0x0a])]);
    expect(messageOf(await expectSameAsWholeFile(both))).toMatch(/NUL/);
  });

  it('too many columns', async () => {
    const header = Array.from({ length: 6 }, (_, i) => `c${i}`).join(',');
    await expectSameAsWholeFile(`${header},label\n${'1,'.repeat(6)}x\n${'2,'.repeat(6)}y\n`, undefined, 6);
  });
});
