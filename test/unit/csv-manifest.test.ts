import { describe, expect, it } from 'vitest';
import { matchManifest, neutraliseCell, parseManifest, toCsv, unneutraliseCell, type ManifestRow } from '../../src/lib/import/csv-manifest';

describe('parseManifest', () => {
  it('parses a plain two-column file without a header', () => {
    const r = parseManifest('a.png,cat\nb.png,dog\n');
    expect(r).toEqual({
      rows: [
        { line: 1, fileName: 'a.png', label: 'cat' },
        { line: 2, fileName: 'b.png', label: 'dog' },
      ],
      problems: [],
      delimiter: ',',
      hadHeader: false,
    });
  });

  it('strips a BOM, detects ";" and a header, and handles CRLF and blank lines', () => {
    const r = parseManifest('\uFEFFFilename;Label\r\n\r\na.png;cat\r\n   \r\nb.png;dog\r\n');
    expect(r.delimiter).toBe(';');
    expect(r.hadHeader).toBe(true);
    expect(r.rows).toEqual([
      { line: 3, fileName: 'a.png', label: 'cat' },
      { line: 5, fileName: 'b.png', label: 'dog' },
    ]);
  });

  it('detects tabs and lone CR line ends', () => {
    const r = parseManifest('a.png\tcat\rb.png\tdog\r\rc.png\tbird');
    expect(r.delimiter).toBe('\t');
    expect(r.rows.map((x) => [x.line, x.fileName, x.label])).toEqual([
      [1, 'a.png', 'cat'],
      [2, 'b.png', 'dog'],
      [4, 'c.png', 'bird'],
    ]);
  });

  it('keeps quoted commas, doubled quotes and newlines inside quotes, counting source lines', () => {
    const r = parseManifest('"a,1.png","say ""hi"""\n"multi\nline.png",x\nc.png,y\n');
    expect(r.rows).toEqual([
      { line: 1, fileName: 'a,1.png', label: 'say "hi"' },
      { line: 2, fileName: 'multi\nline.png', label: 'x' },
      { line: 4, fileName: 'c.png', label: 'y' },
    ]);
  });

  it('is not fooled by commas inside quoted fields of a ";" file', () => {
    const r = parseManifest('"a,b.png";cat\n"c,d.png";dog\n');
    expect(r.delimiter).toBe(';');
    expect(r.rows.map((x) => x.fileName)).toEqual(['a,b.png', 'c,d.png']);
  });

  it('uses header column names in any order and ignores extra columns', () => {
    const r = parseManifest('id,class,image_path,notes\n1,cat,x/a.png,hi\n2,,x/b.png,\n');
    expect(r.hadHeader).toBe(false); // the first cell is "id": columns 0 and 1 apply
    const h = parseManifest('image,score,Category,path\na.png,0.5,cat,ignored\nb.png,1,,\n');
    expect(h.hadHeader).toBe(true);
    expect(h.rows).toEqual([
      { line: 2, fileName: 'a.png', label: 'cat' },
      { line: 3, fileName: 'b.png', label: null },
    ]);
    const path = parseManifest('name,label\nq.png,z\n');
    expect(path.rows).toEqual([{ line: 2, fileName: 'q.png', label: 'z' }]);
  });

  it('accepts a file-only manifest and empty label cells as no label', () => {
    const r = parseManifest('file\na.png\nb.png,\n');
    expect(r.rows).toEqual([
      { line: 2, fileName: 'a.png', label: null },
      { line: 3, fileName: 'b.png', label: null },
    ]);
  });

  it('normalises separators and NFC in file names, trims cells', () => {
    const r = parseManifest('cats\\Cafe\u0301.png, cat \n./dogs/b.png,dog\n');
    expect(r.rows).toEqual([
      { line: 1, fileName: 'cats/Caf\u00e9.png', label: 'cat' },
      { line: 2, fileName: 'dogs/b.png', label: 'dog' },
    ]);
  });

  it('reports rows with no values, empty file names and broken quotes', () => {
    const r = parseManifest('a.png,cat\n,,\n,dog\nb.png,"unterminated\n');
    expect(r.rows).toEqual([{ line: 1, fileName: 'a.png', label: 'cat' }]);
    expect(r.problems).toEqual([
      { line: 2, message: 'row has no values' },
      { line: 3, message: 'row has an empty file name' },
      { line: 4, message: expect.stringMatching(/^cannot parse row: .*quoted field unterminated/) },
    ]);
  });

  it('handles empty input', () => {
    expect(parseManifest('')).toEqual({ rows: [], problems: [], delimiter: ',', hadHeader: false });
    expect(parseManifest('\uFEFF\r\n\r\n').rows).toEqual([]);
  });
});

describe('matchManifest', () => {
  const row = (line: number, fileName: string, label: string | null): ManifestRow => ({ line, fileName, label });

  it('matches by full path or by unique basename', () => {
    const m = matchManifest([row(1, 'cats/a.png', 'cat'), row(2, 'b.png', 'dog')], ['cats/a.png', 'dogs/b.png', 'c.png']);
    expect([...m.labels]).toEqual([
      ['cats/a.png', 'cat'],
      ['dogs/b.png', 'dog'],
    ]);
    expect(m.unlisted).toEqual(['c.png']);
    expect(m.report).toEqual([]);
    expect(m.conflicts.size).toBe(0);
  });

  it('prefers an exact root path over a basename match', () => {
    const m = matchManifest([row(1, 'a.png', 'x')], ['a.png', 'sub/a.png']);
    expect([...m.labels]).toEqual([['a.png', 'x']]);
    expect(m.unlisted).toEqual(['sub/a.png']);
  });

  it('reports an ambiguous basename instead of guessing', () => {
    const m = matchManifest([row(4, 'a.png', 'x')], ['one/a.png', 'two/a.png']);
    expect(m.labels.size).toBe(0);
    expect(m.report).toEqual([
      { line: 4, fileName: 'a.png', problem: 'ambiguous', message: expect.stringMatching(/matches 2 files \(one\/a\.png, two\/a\.png\)/) },
    ]);
    expect(m.unlisted).toEqual(['one/a.png', 'two/a.png']);
  });

  it('reports missing files, and does not match a path row by basename', () => {
    const m = matchManifest([row(1, 'nope.png', 'x'), row(2, 'other/a.png', 'y')], ['cats/a.png']);
    expect(m.report.map((r) => [r.line, r.problem])).toEqual([
      [1, 'missing-file'],
      [2, 'missing-file'],
    ]);
    expect(m.report[0].message).toBe('nope.png matches no imported file');
  });

  it('keeps duplicate rows with the same label and reports the repeats', () => {
    const m = matchManifest([row(1, 'a.png', 'cat'), row(5, 'x/a.png', 'cat'), row(9, 'a.png', 'cat')], ['x/a.png']);
    expect(m.labels.get('x/a.png')).toBe('cat');
    expect(m.report.map((r) => [r.line, r.problem])).toEqual([
      [5, 'duplicate-row'],
      [9, 'duplicate-row'],
    ]);
    expect(m.report[0].message).toMatch(/first on line 1/);
  });

  it('puts conflicting rows into conflicts, never into labels', () => {
    const m = matchManifest([row(2, 'a.png', 'cat'), row(3, 'a.png', 'dog'), row(7, 'a.png', 'cat')], ['a.png']);
    expect(m.labels.has('a.png')).toBe(false);
    expect(m.conflicts.get('a.png')).toEqual(['cat', 'dog']);
    expect(m.report.map((r) => [r.line, r.problem])).toEqual([
      [2, 'conflicting-rows'],
      [3, 'conflicting-rows'],
      [7, 'conflicting-rows'],
    ]);
    expect(m.report[0].message).toMatch(/cat \(line 2\), dog \(line 3\), cat \(line 7\)/);
    expect(m.unlisted).toEqual([]);
  });

  it('treats a row without a label as disagreeing with a labelled row', () => {
    const m = matchManifest([row(1, 'a.png', 'cat'), row(2, 'a.png', null)], ['a.png']);
    expect(m.conflicts.get('a.png')).toEqual(['cat']);
    expect(m.report[1].message).toMatch(/\(no label\) \(line 2\)/);
    const unlabelled = matchManifest([row(1, 'a.png', null)], ['a.png']);
    expect([...unlabelled.labels]).toEqual([['a.png', null]]);
  });

  it('matches macOS NFD file names against NFC rows and keys by the NFC path', () => {
    const nfdPath = 'Cafe\u0301/e\u0301te\u0301.png';
    const m = matchManifest(parseManifest('\u00e9t\u00e9.png,summer\n').rows, [nfdPath]);
    expect([...m.labels]).toEqual([['Caf\u00e9/\u00e9t\u00e9.png', 'summer']]);
  });

  it('sorts the report by line', () => {
    const m = matchManifest([row(3, 'b.png', 'x'), row(1, 'zzz.png', 'x'), row(2, 'b.png', 'x')], ['b.png']);
    expect(m.report.map((r) => r.line)).toEqual([1, 3]);
  });
});

describe('CSV export', () => {
  it('neutralises formula triggers', () => {
    expect(['=1+2', '+1', '-3', '@x', '\tx', '\rx', 'ok', '', "'quoted"].map(neutraliseCell)).toEqual([
      "'=1+2",
      "'+1",
      "'-3",
      "'@x",
      "'\tx",
      "'\rx",
      'ok',
      '',
      "'quoted",
    ]);
  });

  it('unneutralise reverses neutralise exactly, even for values that already start with quotes', () => {
    for (const v of ['=x', "'=x", "''=x", "'quoted", "'", '', 'plain', '-', "'-"]) {
      expect(unneutraliseCell(neutraliseCell(v))).toBe(v);
    }
  });

  it('quotes per RFC 4180 with CRLF line ends', () => {
    expect(
      toCsv([
        ['a', 'b,c'],
        ['he said "hi"', 'x\ny'],
        [' pad', 'end '],
        ['semi;colon', ''],
      ]),
    ).toBe('a,"b,c"\r\n"he said ""hi""","x\ny"\r\n" pad","end "\r\n"semi;colon",\r\n');
    expect(toCsv([['=SUM(A1)', '@cmd']])).toBe("'=SUM(A1),'@cmd\r\n");
    expect(toCsv([])).toBe('');
  });

  it('round-trips awkward values through export and import', () => {
    const values: Array<[string, string]> = [
      ['=1+2.png', '=1+2'],
      ['-3.png', '-3'],
      ['@x.png', '@x'],
      ['a,b.png', 'a,b'],
      ['quote.png', 'he said "hi"'],
      ["'q.png", "'quoted"],
      ["''=.png", "'=already"],
      ['日本/猫.png', 'Ünïcødé 猫 🐈'],
      ['semi.png', 'a;b'],
      ['plus.png', '+cat'],
    ];
    const csv = toCsv([['filename', 'label'], ...values]);
    const parsed = parseManifest(csv);
    expect(parsed.problems).toEqual([]);
    expect(parsed.hadHeader).toBe(true);
    expect(parsed.delimiter).toBe(',');
    expect(parsed.rows.map((r) => [r.fileName, r.label])).toEqual(values);
    expect(parsed.rows.map((r) => r.line)).toEqual(values.map((_, i) => i + 2));
  });
});
