// Settling label conflicts (one undoable step, undo restores the conflict), the "!" badge text,
// and the Train stage's count of images left out of training.
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { DB_NAME } from '../../src/db/schema';
import type { SampleRecord } from '../../src/contracts/records';
import { createProject } from '../../src/db/projects';
import { listSamples, writeSampleBatch, type PreparedSample } from '../../src/db/samples';
import { beginImport } from '../../src/db/imports';
import { writeLabels } from '../../src/db/labels';
import { resetConnection } from '../../src/db/open';
import { invertChangeSet, resolveConflicts } from '../../src/lib/label/label-ops';
import { conflictText, leftOutOfTraining } from '../../src/lib/data/dataset-stats';

function sample(id: string, label: string | null, extra: Partial<SampleRecord> = {}): SampleRecord {
  return {
    projectId: 'p',
    id,
    fileName: `${id}.png`,
    path: `${id}.png`,
    label,
    labelSource: label ? { kind: 'folder' } : null,
    labeledAt: label ? 1 : null,
    width: 8,
    height: 8,
    mime: 'image/png',
    bytes: 10,
    split: 'unassigned',
    addedAt: 1,
    importId: 'i',
    flags: [],
    ...extra,
  };
}

describe('resolveConflicts', () => {
  const samples = [
    sample('a', 'circle', { flags: ['conflict'], conflictLabels: ['circle', 'square'] }),
    sample('b', null, { flags: ['conflict', 'truncated'], conflictLabels: ['cat', 'dog'] }),
    sample('c', 'circle'),
  ];

  it('gives the kept label from a person and clears the conflict; other samples are untouched', () => {
    const cs = resolveConflicts(samples, ['a', 'c'], 'square', 50, ['circle']);
    expect(cs.changes).toEqual([
      {
        id: 'a',
        before: { label: 'circle', labelSource: { kind: 'folder' }, labeledAt: 1, conflictLabels: ['circle', 'square'] },
        after: { label: 'square', labelSource: { kind: 'human' }, labeledAt: 50, conflictLabels: null },
      },
    ]);
    expect(cs.classesAfter).toEqual(['circle', 'square']);
    expect(cs.description).toBe('Resolve 1 label conflict as “square”');
  });

  it('undo brings the conflict back (its labels included)', () => {
    const undo = invertChangeSet(resolveConflicts(samples, ['b'], 'dog', 50, ['cat', 'dog']));
    expect(undo.changes[0].after).toEqual({ label: null, labelSource: null, labeledAt: null, conflictLabels: ['cat', 'dog'] });
    expect(undo.changes[0].before.conflictLabels).toBeNull();
  });

  it('uses the existing spelling for a label differing only in case', () => {
    const cs = resolveConflicts(
      [sample('x', 'Circle', { flags: ['conflict'], conflictLabels: ['Circle', 'square'] })],
      ['x'],
      'Circle',
      5,
      ['circle', 'square'],
    );
    expect(cs.changes[0].after.label).toBe('circle');
    expect(cs.classesAfter).toEqual(['circle', 'square']);
  });

  it('refuses an empty label', () => {
    expect(() => resolveConflicts(samples, ['a'], '  ', 1, [])).toThrow(/empty/);
  });
});

describe('conflictText and leftOutOfTraining', () => {
  it('names both labels once each', () => {
    expect(conflictText(sample('a', 'circle', { flags: ['conflict'], conflictLabels: ['circle', 'square'] }))).toBe(
      '“circle” and “square”',
    );
    expect(conflictText(sample('b', null, { flags: ['conflict'], conflictLabels: ['a', 'b', 'c'] }))).toBe('“a”, “b” and “c”');
    expect(conflictText(sample('c', 'circle'))).toBe('');
  });

  it('counts conflicts, unlabeled and (when set) auto-accepted labels, each once', () => {
    const list = [
      sample('a', 'circle', { flags: ['conflict'], conflictLabels: ['circle', 'square'] }),
      sample('b', null, { flags: ['conflict'], conflictLabels: ['x', 'y'] }),
      sample('c', null),
      sample('d', 'circle', { labelSource: { kind: 'model', versionId: 'v', confidence: 0.99, accepted: 'auto' } }),
      sample('e', 'circle'),
    ];
    expect(leftOutOfTraining(list, { excludeAutoLabels: false })).toEqual({ conflicts: 2, unlabeled: 1, auto: 0, total: 3 });
    expect(leftOutOfTraining(list, { excludeAutoLabels: true })).toEqual({ conflicts: 2, unlabeled: 1, auto: 1, total: 4 });
  });
});

// ---- storage: settling a conflict clears the flag; undoing it brings the conflict back ----------

describe('writeLabels with a conflict change', () => {
  beforeEach(async () => {
    await resetConnection();
    await new Promise<void>((resolve) => {
      const req = indexedDB.deleteDatabase(DB_NAME);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    });
  });

  const prepared = (projectId: string, importId: string, label: string, path: string): PreparedSample => ({
    sample: { ...sample('f'.repeat(64), label, { projectId, importId, path, fileName: path }) },
    original: { projectId, id: 'f'.repeat(64), mime: 'image/png', data: new ArrayBuffer(10) },
    thumbnail: { projectId, id: 'f'.repeat(64), mime: 'image/png', data: new ArrayBuffer(4) },
  });

  it('stores the resolution, and its undo, in one transaction each', async () => {
    const p = await createProject('Shapes');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 2 });
    await writeSampleBatch(p.id, [prepared(p.id, s.id, 'triangle', 'triangle/t.png'), prepared(p.id, s.id, 'square', 'square/t.png')]);
    let [stored] = (await listSamples(p.id)).samples;
    expect(stored.flags).toEqual(['conflict']);
    expect(stored.conflictLabels).toEqual(['triangle', 'square']);

    const cs = resolveConflicts([stored], [stored.id], 'square', 9, ['triangle']);
    await writeLabels(
      p.id,
      cs.changes.map((c) => ({ id: c.id, ...c.after })),
      { before: cs.classesBefore, after: cs.classesAfter },
    );
    [stored] = (await listSamples(p.id)).samples;
    expect(stored).toMatchObject({ label: 'square', labelSource: { kind: 'human' }, flags: [] });
    expect(stored.conflictLabels).toBeUndefined();

    const undo = invertChangeSet(cs);
    await writeLabels(
      p.id,
      undo.changes.map((c) => ({ id: c.id, ...c.after })),
      { before: undo.classesBefore, after: undo.classesAfter },
    );
    [stored] = (await listSamples(p.id)).samples;
    expect(stored).toMatchObject({ label: 'triangle', flags: ['conflict'], conflictLabels: ['triangle', 'square'] });
  });
});
