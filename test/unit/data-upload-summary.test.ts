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
    const streamed = await outcome(() => summarizeUpload(file, labelColumn, { sliceBytes, maxColumns }));
    expect(streamed, `slice ${sliceBytes}`).toEqual(expected);
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
