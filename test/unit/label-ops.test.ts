import { describe, expect, it } from 'vitest';
import type { LabelSource } from '../../src/contracts/records';
import {
  addClass,
  assignLabels,
  invertChangeSet,
  isAutoLabel,
  mergeClasses,
  renameClass,
  sourceLabel,
  type ChangeSet,
  type LabelState,
} from '../../src/lib/label/label-ops';

type Sample = { id: string } & LabelState;

const auto: LabelSource = { kind: 'model', versionId: '0123456789abcdef', confidence: 0.975, accepted: 'auto' };

function fixture(): Sample[] {
  return [
    { id: 'a', label: 'cat', labelSource: { kind: 'folder' }, labeledAt: 100 },
    { id: 'b', label: 'cat', labelSource: auto, labeledAt: 200 },
    { id: 'c', label: 'dog', labelSource: { kind: 'human' }, labeledAt: 300 },
    { id: 'd', label: null, labelSource: null, labeledAt: null },
    { id: 'e', label: 'kitten', labelSource: { kind: 'csv' }, labeledAt: 400 },
  ];
}
const classes = ['kitten', 'dog', 'cat'];

/** What storage does with a change set: write each `after`, and check `before` matched. */
function apply(samples: Sample[], cs: ChangeSet): Sample[] {
  const byId = new Map(cs.changes.map((c) => [c.id, c]));
  return samples.map((s) => {
    const c = byId.get(s.id);
    if (!c) return s;
    expect({ label: s.label, labelSource: s.labelSource, labeledAt: s.labeledAt }).toEqual(c.before);
    return { id: s.id, ...c.after };
  });
}

function expectUndoRestores(samples: Sample[], cs: ChangeSet): void {
  const snapshot = structuredClone(samples);
  const after = apply(samples, cs);
  const undo = invertChangeSet(cs);
  expect(undo.classesAfter).toEqual(cs.classesBefore);
  expect(apply(after, undo)).toEqual(snapshot);
  // Redo is the inverse of the undo and lands on the same state again.
  expect(apply(apply(after, undo), invertChangeSet(undo))).toEqual(after);
  expect(invertChangeSet(undo).description).toBe(cs.description);
}

describe('assignLabels', () => {
  it('labels, skips samples already in that exact state, adds a new class and undoes exactly', () => {
    const samples = fixture();
    const cs = assignLabels(samples, ['a', 'b', 'c', 'd', 'zzz', 'a'], 'cat', { kind: 'human' }, 999, classes);
    // a: folder -> human (source differs) changes; b: auto -> human changes; c, d change; zzz unknown.
    expect(cs.changes.map((c) => c.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(cs.changes[0].after).toEqual({ label: 'cat', labelSource: { kind: 'human' }, labeledAt: 999 });
    expect(cs.classesBefore).toEqual(classes);
    expect(cs.classesAfter).toEqual(['cat', 'dog', 'kitten']);
    expect(cs.description).toBe('Label 4 images “cat”');
    expectUndoRestores(samples, cs);

    const again = assignLabels(apply(samples, cs), ['a', 'b'], 'cat', { kind: 'human' }, 1000, classes);
    expect(again.changes).toEqual([]);
  });

  it('adds a new class in sorted position and unlabels with null', () => {
    const samples = fixture();
    const cs = assignLabels(samples, ['d'], 'class 10', { kind: 'human' }, 5, ['class 9', 'class 2'], 'custom');
    expect(cs.classesAfter).toEqual(['class 2', 'class 9', 'class 10']);
    expect(cs.description).toBe('custom');
    const un = assignLabels(samples, ['a', 'd'], null, { kind: 'human' }, 5, classes);
    expect(un.changes).toEqual([
      {
        id: 'a',
        before: { label: 'cat', labelSource: { kind: 'folder' }, labeledAt: 100 },
        after: { label: null, labelSource: null, labeledAt: null },
      },
    ]);
    expect(un.description).toBe('Remove the label from 1 image');
    expectUndoRestores(samples, un);
  });

  it('refuses an empty label and a case variant of an existing class', () => {
    expect(() => assignLabels(fixture(), ['a'], '  ', null, 1, classes)).toThrow(/empty/);
    expect(() => assignLabels(fixture(), ['d'], 'Cat', { kind: 'human' }, 1, classes)).toThrow(/only in case; use “cat”/);
  });

  it('does not share objects between the change set and the samples', () => {
    const samples = fixture();
    const cs = assignLabels(samples, ['b'], 'dog', { kind: 'human' }, 1, classes);
    (cs.changes[0].before.labelSource as { confidence: number }).confidence = 0;
    expect(samples[1].labelSource).toEqual(auto);
  });
});

describe('renameClass', () => {
  it('renames every sample of the class, keeping source and labeledAt, and undoes exactly', () => {
    const samples = fixture();
    const cs = renameClass(samples, 'cat', ' Feline ', classes, 999);
    expect(cs.changes.map((c) => [c.id, c.after])).toEqual([
      ['a', { label: 'Feline', labelSource: { kind: 'folder' }, labeledAt: 100 }],
      ['b', { label: 'Feline', labelSource: auto, labeledAt: 200 }],
    ]);
    expect(cs.classesAfter).toEqual(['dog', 'Feline', 'kitten']);
    expectUndoRestores(samples, cs);
  });

  it('allows a case-only rename of the same class', () => {
    const cs = renameClass(fixture(), 'cat', 'Cat', classes, 1);
    expect(cs.changes).toHaveLength(2);
    expect(cs.classesAfter).toEqual(['Cat', 'dog', 'kitten']);
  });

  it('refuses a name that exists (a merge), an empty name and an unknown class', () => {
    expect(() => renameClass(fixture(), 'cat', 'DOG', classes, 1)).toThrow(/“dog” already exists; merge “cat” into it instead/);
    expect(() => renameClass(fixture(), 'cat', '   ', classes, 1)).toThrow(/cannot be empty/);
    expect(() => renameClass(fixture(), 'horse', 'pony', classes, 1)).toThrow(/no class named “horse”/);
  });
});

describe('mergeClasses', () => {
  it('moves the from classes into the target as human labels, drops them and undoes exactly', () => {
    const samples = fixture();
    const cs = mergeClasses(samples, ['kitten', 'cat'], 'cat', classes, 999);
    expect(cs.changes).toEqual([
      {
        id: 'e',
        before: { label: 'kitten', labelSource: { kind: 'csv' }, labeledAt: 400 },
        after: { label: 'cat', labelSource: { kind: 'human' }, labeledAt: 999 },
      },
    ]);
    expect(cs.classesAfter).toEqual(['cat', 'dog']);
    expect(cs.description).toBe('Merge “kitten” into “cat”');
    expectUndoRestores(samples, cs);
  });

  it('merges into a new name', () => {
    const samples = fixture();
    const cs = mergeClasses(samples, ['cat', 'kitten'], 'felines', classes, 7);
    expect(cs.changes.map((c) => c.id)).toEqual(['a', 'b', 'e']);
    expect(cs.classesAfter).toEqual(['dog', 'felines']);
    expectUndoRestores(samples, cs);
  });

  it('refuses unknown classes, nothing to merge and case clashes', () => {
    expect(() => mergeClasses(fixture(), ['horse'], 'cat', classes, 1)).toThrow(/no class named/);
    expect(() => mergeClasses(fixture(), ['cat'], 'cat', classes, 1)).toThrow(/at least one class/);
    expect(() => mergeClasses(fixture(), ['kitten'], 'CAT', classes, 1)).toThrow(/only in case/);
  });
});

describe('addClass', () => {
  it('trims, sorts naturally and refuses empty or case-insensitive duplicates', () => {
    expect(addClass(['b 10', 'a'], '  b 9 ')).toEqual(['a', 'b 9', 'b 10']);
    expect(() => addClass(['Cat'], 'cAT')).toThrow(/“Cat” already exists/);
    expect(() => addClass([], ' \t ')).toThrow(/cannot be empty/);
  });
});

describe('sources', () => {
  it('tells auto labels apart and describes each source briefly', () => {
    expect(isAutoLabel(auto)).toBe(true);
    expect(isAutoLabel({ ...auto, accepted: 'human' })).toBe(false);
    expect(isAutoLabel({ kind: 'human' })).toBe(false);
    expect(isAutoLabel(null)).toBe(false);
    expect(sourceLabel({ kind: 'human' })).toBe('person');
    expect(sourceLabel({ kind: 'folder' })).toBe('folder name');
    expect(sourceLabel({ kind: 'csv' })).toBe('CSV');
    expect(sourceLabel(auto)).toBe('auto (model 01234567 97%)');
    expect(sourceLabel({ ...auto, accepted: 'human', confidence: 0.93 })).toBe('model 01234567 93%');
    expect(sourceLabel({ ...auto, accepted: 'human', confidence: 0.29 })).toBe('model 01234567 29%');
    expect(sourceLabel(null)).toBe('none');
  });
});
