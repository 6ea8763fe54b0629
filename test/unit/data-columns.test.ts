/**
 * The typed-column loader (src/ml/data/columns.ts) against the whole-file path it replaced on the training path:
 * the same cells, labels, groups, feature matrix and errors, on the NASA tables and on tricky CSVs.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import {
  ColumnTable,
  MISSION_IDS,
  customLabeledTable,
  featureMatrix,
  nasaLabeledTableFromTable,
  parseCsvBuffer,
  readNasaTable,
  selectFeatures,
  type LabeledTable,
} from '../../src/ml/data/index.js';
import { loadDataLocation } from '../../src/ml/data/location.js';
import { nasaTableSource } from '../fixtures/nasa.js';
import { tempCsvFiles } from '../fixtures/temp-files.js';

const fileOf = tempCsvFiles('columns');

/** Everything training reads of a labelled table, in plain values. */
function essentials(lt: LabeledTable) {
  const { features } = selectFeatures(lt, {});
  const X = featureMatrix(lt, lt.featureCandidates);
  return {
    columns: lt.table.columns,
    rows: lt.table.toRows(),
    labels: Array.from(lt.labels),
    classes: lt.classes,
    groups: lt.groups,
    featureCandidates: lt.featureCandidates,
    defaultFeatures: features,
    idColumns: lt.idColumns,
    classCounts: lt.classCounts,
    excludedRows: lt.excludedRows,
    // NaN compares equal to NaN in toEqual; -0 and 0 do not, which is what we want.
    X: Array.from(X.data),
  };
}

type Outcome = { ok: unknown } | { error: { code: string; message: string } };

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    return { ok: await run() };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { error: { code: error.code, message: error.message } };
  }
}

/** The old route: parse the whole file into string rows, then label. */
function wholeFile(bytes: Buffer, labelColumn?: string): Promise<Outcome> {
  return outcome(() => essentials(customLabeledTable(parseCsvBuffer(bytes), labelColumn)));
}

async function expectSameAsWholeFile(content: string | Buffer, labelColumn?: string, slices = [1, 5, 1 << 20]) {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const file = fileOf(bytes);
  const expected = await wholeFile(bytes, labelColumn);
  for (const sliceBytes of slices) {
    // headChars 8: the rows after the first line are split on their bytes (the byte tokenizer), not by papaparse.
    for (const headChars of [undefined, 8]) {
      const streamed = await outcome(async () =>
        essentials(customLabeledTable(await ColumnTable.readFile(file, { sliceBytes, headChars }), labelColumn)),
      );
      expect(streamed, `slice ${sliceBytes}, head ${String(headChars)}`).toEqual(expected);
    }
  }
  return expected;
}

describe('ColumnTable.readFile + customLabeledTable = parseCsvBuffer + customLabeledTable', () => {
  const cases: [string, string][] = [
    ['plain', 'a,b,label\n1,2,x\n3,,y\n5,6,x\n'],
    [
      'BOM, CRLF, quoted delimiters, newlines and quotes',
      '\uFEFFid,comment,v,class\r\n1,"a, b",2,p\r\n2,"line\r\ntwo",3,q\r\n3,"say ""hi""",4,p\r\n',
    ],
    ['missing spellings, spaces, blank lines', 'a,b,label\n 1 ,NA,x\n\nNaN, null ,y\n\n2,3,x\n'],
    [
      'number spellings kept exactly',
      'a,b,c,label\n1.50,+3,-0,x\n.5,1e3,0.0000001,y\n007,5.,123456789012345678,x\n-0.0,1E-7,0.10,y\n' +
        '12345678901234567890.5,-12.000,3.14159265358979323846,x\n',
    ],
    [
      'a column turns to text late',
      `a,b,label\n${Array.from({ length: 3000 }, (_, i) => `${i}.25,${i === 2900 ? 'n/a?' : i},${i % 2 ? 'p' : 'q'}`).join('\n')}\n`,
    ],
    [
      'unlabelled rows dropped: a column numeric only on the labelled rows',
      'a,b,y\n1,2,10\n2,3,2\nx,x,\n4,5,2\n5,6,10\n',
    ],
    ['semicolons', 'a;b;target\n1,5;2;u\n3;4;v\n'],
    ['lone CR line endings, no final newline', 'a,b,label\r1,2,x\r3,4,y'],
    ['multi-byte UTF-8', 'naïve,größe,label\n1,2,été\n3,4,hiver\n5,6,été\n'],
  ];
  for (const [name, text] of cases) {
    it(name, async () => {
      // 1-byte slices put every boundary inside a cell; the 3,000-row case is too long for that to be quick.
      const slices = text.length > 10_000 ? [61, 1 << 20] : undefined;
      expect(await expectSameAsWholeFile(text, undefined, slices)).toHaveProperty('ok');
    });
  }

  it('a given label column', async () => {
    expect(await expectSameAsWholeFile('a,b,c\n1,2,x\n3,4,y\n', 'c')).toHaveProperty('ok');
  });

  const errors: [string, string | Buffer][] = [
    ['header only', 'a,b,label\n'],
    ['ragged row', 'a,b,label\n1,2,x\n4,5\n6,7,y\n'],
    ['unterminated quote', 'a,label\n1,"open\n2,3\n'],
    ['NUL bytes', 'a,b,label\n1,2\n3,4,\u00005\n'],
    ['not UTF-8', Buffer.from([0x61, 0x2c, 0x6c, 0x0a, 0xff, 0xfe, 0x2c, 0x31, 0x0a])],
    ['one class', 'a,label\n1,x\n2,x\n'],
    ['no numeric feature', 'name,label\nx,p\ny,q\n'],
  ];
  for (const [name, content] of errors) {
    it(`refuses as before: ${name}`, async () => {
      expect(await expectSameAsWholeFile(content)).toHaveProperty('error');
    });
  }
});

describe('NASA tables by column', () => {
  for (const mission of MISSION_IDS) {
    it(`${mission}: the same rows, labels, groups and features as the whole-file parse`, async () => {
      const bytes = await readNasaTable(nasaTableSource(mission));
      const expected = essentials(nasaLabeledTableFromTable(mission, parseCsvBuffer(bytes)));
      const streamed = essentials(nasaLabeledTableFromTable(mission, await ColumnTable.readBytes(bytes)));
      expect(streamed).toEqual(expected);
    });
  }

  it('an upload in the Kepler format, loaded as training loads it, keeps the clipped flags and every other cell', async () => {
    const bytes = await readNasaTable(nasaTableSource('kepler'));
    const file = fileOf(bytes);
    const loaded = await loadDataLocation({ kind: 'upload', path: file, labelColumn: 'koi_disposition' });
    expect(essentials(loaded)).toEqual(essentials(customLabeledTable(parseCsvBuffer(bytes), 'koi_disposition')));
  });
});

describe('ColumnTable', () => {
  it('types columns: numbers with NaN for missing, text where any cell is not a number', () => {
    const table = ColumnTable.fromTable({
      columns: ['n', 't', 'e'],
      rows: [
        ['1.5', 'a', ''],
        ['', '2', ''],
        ['-3', 'b', ''],
      ],
    });
    expect(table.isNumeric(0)).toBe(true);
    expect(Array.from(table.numbers(0))).toEqual([1.5, NaN, -3]);
    expect(table.isNumeric(1)).toBe(false);
    expect(Array.from(table.numbers(1))).toEqual([NaN, 2, NaN]);
    expect(table.hasValue(2)).toBe(false);
    // The rows without the text cells: column t becomes numeric, as a table of only that row would be.
    const taken = table.take([1]);
    expect(taken.isNumeric(1)).toBe(true);
    expect(taken.toRows()).toEqual([['', '2', '']]);
  });

  it('clamps a copy, leaving the table as it was; a clamped cell reads as its bound', () => {
    const table = ColumnTable.fromTable({ columns: ['f'], rows: [['0.50'], ['465'], ['-2.0'], ['1e5']] });
    const clamped = table.clamped(0, 0, 1);
    expect(clamped.texts(0)).toEqual(['0.50', '1', '0', '1']);
    expect(table.texts(0)).toEqual(['0.50', '465', '-2.0', '1e5']);
  });
});
