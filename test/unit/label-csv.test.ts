import { describe, expect, it } from 'vitest';
import type { LabelSource } from '../../src/contracts/records';
import { labelsToCsv, parseLabelsCsv, planLabelImport, type LabelTarget } from '../../src/lib/label/labels-csv';

const model = (versionId: string, confidence: number, accepted: 'human' | 'auto' = 'human'): LabelSource => ({
  kind: 'model',
  versionId,
  confidence,
  accepted,
});

function target(id: string, path: string, label: string | null = null, labelSource: LabelSource | null = null): LabelTarget {
  return { id, path, fileName: path.slice(path.lastIndexOf('/') + 1), label, labelSource };
}

const exportOf = (samples: LabelTarget[]): string =>
  labelsToCsv(samples.map((s) => ({ filename: s.path, label: s.label, source: s.labelSource })));

describe('labelsToCsv', () => {
  it('writes the four columns, source encodings and neutralised cells', () => {
    const csv = labelsToCsv([
      { filename: 'cats/a.png', label: 'cat', source: { kind: 'human' } },
      { filename: 'b.png', label: 'dog', source: { kind: 'folder' } },
      { filename: 'c.png', label: 'dog', source: { kind: 'csv' } },
      { filename: 'd.png', label: 'cat', source: model('v-123', 0.93) },
      { filename: 'e.png', label: 'cat', source: model('v-123', 0.975, 'auto') },
      { filename: 'f.png', label: null, source: { kind: 'human' } },
      { filename: '=cmd.png', label: '=HYPERLINK("x")', source: null },
    ]);
    expect(csv).toBe(
      [
        'filename,label,source,confidence',
        'cats/a.png,cat,human,',
        'b.png,dog,folder,',
        'c.png,dog,csv,',
        'd.png,cat,model:v-123,0.93',
        'e.png,cat,model-auto:v-123,0.975',
        'f.png,,,',
        `'=cmd.png,"'=HYPERLINK(""x"")",,`,
      ].join('\r\n') + '\r\n',
    );
  });
});

describe('parseLabelsCsv', () => {
  it('reads a BOM, any header case, reordered and extra columns', () => {
    const r = parseLabelsCsv('\uFEFFNotes,Confidence,LABEL,FileName,Source\r\nhi,0.5,cat,a.png,model:v1\r\n,,  dog  ,b.png,human\r\n');
    expect(r.problems).toEqual([]);
    expect(r.rows).toEqual([
      { line: 2, filename: 'a.png', label: 'cat', source: model('v1', 0.5) },
      { line: 3, filename: 'b.png', label: 'dog', source: { kind: 'human' } },
    ]);
  });

  it('defaults the source to csv without a source column, and understands ";" re-saves', () => {
    expect(parseLabelsCsv('filename,label\na.png,cat\n').rows).toEqual([
      { line: 2, filename: 'a.png', label: 'cat', source: { kind: 'csv' } },
    ]);
    expect(parseLabelsCsv('filename;label;source;confidence\n"a;b.png";cat;model-auto:v9;0.99\n').rows).toEqual([
      { line: 2, filename: 'a;b.png', label: 'cat', source: model('v9', 0.99, 'auto') },
    ]);
  });

  it('treats an empty label as unlabel, ignoring source and confidence', () => {
    expect(parseLabelsCsv('filename,label,source,confidence\na.png,  ,model:v1,abc\n')).toEqual({
      rows: [{ line: 2, filename: 'a.png', label: null, source: null }],
      problems: [],
    });
  });

  it('reports bad sources, bad confidences and missing filenames with their line', () => {
    const r = parseLabelsCsv(
      [
        'filename,label,source,confidence',
        'a.png,cat,robot,',
        'b.png,cat,model:v1,1.5',
        'c.png,cat,model:v1,',
        'd.png,cat,model:v1,0x1',
        'e.png,cat,model:,0.5',
        ' ,cat,human,',
        'f.png,cat,human,0.4',
        'g.png,cat,model:v1,-0',
      ].join('\n'),
    );
    expect(r.problems.map((p) => [p.line, p.filename])).toEqual([
      [2, 'a.png'],
      [3, 'b.png'],
      [4, 'c.png'],
      [5, 'd.png'],
      [6, 'e.png'],
      [7, ' '],
    ]);
    expect(r.problems[0].reason).toMatch(/unknown source “robot”; expected human, folder, csv/);
    expect(r.problems[1].reason).toMatch(/confidence “1.5” is not a number between 0 and 1/);
    expect(r.problems[2].reason).toMatch(/needs a confidence/);
    expect(r.problems[3].reason).toMatch(/confidence “0x1”/);
    expect(r.problems[4].reason).toMatch(/names no model version/);
    expect(r.problems[5].reason).toMatch(/filename is empty/);
    // A confidence on a non-model source is ignored; -0 is a number in range, read as 0.
    expect(r.rows).toEqual([
      { line: 8, filename: 'f.png', label: 'cat', source: { kind: 'human' } },
      { line: 9, filename: 'g.png', label: 'cat', source: model('v1', 0) },
    ]);
  });

  it('requires a header', () => {
    const r = parseLabelsCsv('a.png,cat\nb.png,dog\n');
    expect(r.rows).toEqual([]);
    expect(r.problems).toEqual([{ line: 1, filename: '', reason: expect.stringMatching(/header/) }]);
    expect(parseLabelsCsv('').problems[0].reason).toMatch(/empty/);
    expect(parseLabelsCsv('\uFEFF\r\n').problems[0].reason).toMatch(/empty/);
  });

  it('un-neutralises formula cells and counts lines across quoted newlines', () => {
    const r = parseLabelsCsv(`filename,label\r\n"multi\nline.png",x\r\n'=a.png,"'+1"\r\n`);
    expect(r.rows).toEqual([
      { line: 2, filename: 'multi\nline.png', label: 'x', source: { kind: 'csv' } },
      { line: 4, filename: '=a.png', label: '+1', source: { kind: 'csv' } },
    ]);
  });
});

describe('planLabelImport', () => {
  const samples = [
    target('s1', 'cats/a.png', 'cat', { kind: 'folder' }),
    target('s2', 'dogs/a.png', 'dog', { kind: 'folder' }),
    target('s3', 'dogs/b.png'),
    target('s4', 'c.png', 'cat', model('v1', 0.9)),
    target('s5', 'birds/d.png'),
  ];
  const plan = (csv: string) => planLabelImport(parseLabelsCsv(csv), samples);

  it('matches by exact path, else by unique file name, and reports the rest', () => {
    const p = plan(
      [
        'filename,label,source',
        'cats/a.png,dog,human', // exact path: applied
        'a.png,cat,human', // two samples are named a.png: ambiguous
        'b.png,dog,', // unique file name, empty source cell: applied, no source recorded
        'nope.png,cat,', // unknown
        'c.png,,', // unlabel
        'x/d.png,cat,', // a path that is not d.png's path: not guessed
        'birds/d.png,cat,robot', // invalid
        '.\\birds\\d.png,bird,folder', // Windows spelling of a real path: applied
      ].join('\n'),
    );
    expect(p.report.map((r) => [r.line, r.status])).toEqual([
      [2, 'applied'],
      [3, 'ambiguous'],
      [4, 'applied'],
      [5, 'unknown-file'],
      [6, 'applied'],
      [7, 'unknown-file'],
      [8, 'invalid'],
      [9, 'applied'],
    ]);
    expect(p.report[1].reason).toMatch(/matches 2 images \(cats\/a.png, dogs\/a.png\)/);
    expect(p.report[6].reason).toMatch(/unknown source/);
    expect(p.changes).toEqual([
      { id: 's1', label: 'dog', source: { kind: 'human' } },
      { id: 's3', label: 'dog', source: null },
      { id: 's4', label: null, source: null },
      { id: 's5', label: 'bird', source: { kind: 'folder' } },
    ]);
  });

  it('applies none of the rows naming one sample with different labels or sources', () => {
    const p = plan(
      ['filename,label,source', 'dogs/b.png,cat,human', 'c.png,cat,human', 'b.png,dog,human', 'dogs/b.png,cat,folder'].join('\n'),
    );
    expect(p.changes).toEqual([{ id: 's4', label: 'cat', source: { kind: 'human' } }]);
    expect(p.report.map((r) => [r.line, r.status])).toEqual([
      [2, 'conflict'],
      [3, 'applied'],
      [4, 'conflict'],
      [5, 'conflict'],
    ]);
    expect(p.report[0].reason).toMatch(
      /dogs\/b.png is listed with different labels: cat \[human\] \(line 2\), dog \[human\] \(line 4\), cat \[folder\] \(line 5\)/,
    );
  });

  it('applies a repeated identical row once', () => {
    const p = plan(['filename,label,source', 'dogs/b.png,cat,human', 'b.png,cat,human'].join('\n'));
    expect(p.changes).toEqual([{ id: 's3', label: 'cat', source: { kind: 'human' } }]);
    expect(p.report.map((r) => [r.status, r.reason])).toEqual([
      ['applied', null],
      ['unchanged', 'repeats line 2'],
    ]);
  });

  it('calls a row unchanged only when label and source both match', () => {
    const p = plan(
      ['filename,label,source,confidence', 'c.png,cat,model:v1,0.9', 'cats/a.png,cat,human,', 'dogs/a.png,dog,folder,'].join('\n'),
    );
    expect(p.report.map((r) => r.status)).toEqual(['unchanged', 'applied', 'unchanged']);
    expect(plan('filename,label,source,confidence\nc.png,cat,model-auto:v1,0.9\n').report[0].status).toBe('applied');
    expect(plan('filename,label,source,confidence\nc.png,cat,model:v1,0.90001\n').report[0].status).toBe('applied');
  });
});

describe('label CSV round trip', () => {
  const samples: LabelTarget[] = [
    target('1', 'cats/plain.png', 'cat', { kind: 'human' }),
    target('2', 'odd/a,"quoted" name.png', '=HYPERLINK("x")', { kind: 'csv' }),
    target('3', 'unicode/ß.png', 'Größe 猫 🐈', { kind: 'folder' }),
    target('4', 'm/1.png', 'cat', model('0123456789abcdef', 0.1234567)),
    target('5', 'm/2.png', 'dog', model('fedcba9876543210', 0.9999999999999999, 'auto')),
    target('6', 'm/3.png', 'dog', model('v', 1e-7, 'auto')),
    target('7', 'unlabeled.png'),
    target('8', '+leading plus.png', '-5 dB', null),
    target('9', ' spaced .png', '@home', { kind: 'human' }),
    target('10', "'=already quoted.png", "'+1", { kind: 'csv' }),
    target('11', 'semi;colon\ttab\nnewline.png', 'x', model('v2', 0, 'human')),
  ];

  it('export then import on the same samples changes nothing', () => {
    const plan = planLabelImport(parseLabelsCsv(exportOf(samples)), samples);
    expect(plan.changes).toEqual([]);
    expect(plan.report.map((r) => r.status)).toEqual(samples.map(() => 'unchanged'));
  });

  it('export, wipe, import, export gives the same bytes', () => {
    const csv = exportOf(samples);
    const wiped = samples.map((s) => ({ ...s, label: null, labelSource: null }));
    const plan = planLabelImport(parseLabelsCsv(csv), wiped);
    expect(plan.report.every((r) => r.status === 'applied' || (r.status === 'unchanged' && r.filename === 'unlabeled.png'))).toBe(true);
    const byId = new Map(plan.changes.map((c) => [c.id, c]));
    const restored = wiped.map((s) => {
      const c = byId.get(s.id);
      return c ? { ...s, label: c.label, labelSource: c.source } : s;
    });
    expect(restored).toEqual(samples);
    expect(exportOf(restored)).toBe(csv);
  });
});
