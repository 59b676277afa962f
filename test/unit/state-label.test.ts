// The Label stage in Node: its queues, active-learning order and change sets as pure functions
// (lib/label/queue), and the LabelManager's edits, undo/redo and cursor with the stores mocked.
import { describe, expect, it, vi } from 'vitest';
import type { PrelabelRecord, SampleRecord } from '../../src/contracts/records';
import { assignLabels, type ChangeSet } from '../../src/lib/label/label-ops';
import {
  buildQueue,
  classesAfterChange,
  conflictOptions,
  patchSamples,
  qualityNotesOf,
  queueCounts,
  rankPool,
  type Prelabel,
} from '../../src/lib/label/queue';

const written = vi.hoisted(() => ({ labels: [] as Array<{ changes: unknown[]; classes: unknown }>, rejected: [] as string[][] }));
vi.mock('../../src/db/labels', () => ({
  writeLabels: async (_p: string, changes: unknown[], classes: unknown) => void written.labels.push({ changes, classes }),
  listPrelabels: async () => [],
  setPrelabelsRejected: async (_p: string, ids: string[]) => void written.rejected.push(ids),
  clearPrelabels: async () => undefined,
}));
vi.mock('../../src/db/meta', () => ({ getMeta: async () => undefined }));
vi.mock('../../src/db/models', () => ({ listVersions: async () => [], listAliases: async () => [] }));
vi.mock('../../src/clients/ml-clients', () => ({ trainClient: {}, inferClient: {} }));
vi.mock('../../src/clients/import-client', () => ({ importClient: {} }));

const { LabelManager } = await import('../../src/state/label-manager.svelte');
const { LabelHistory } = await import('../../src/state/label-history.svelte');
const { FakeDataset } = await import('./fake-dataset.svelte');

function sample(id: string, label: string | null = null, over: Partial<SampleRecord> = {}): SampleRecord {
  return {
    projectId: 'p',
    id,
    fileName: `${id}.png`,
    path: `imgs/${id}.png`,
    label,
    labelSource: label ? { kind: 'human' } : null,
    labeledAt: label ? 1 : null,
    width: 8,
    height: 8,
    mime: 'image/png',
    bytes: 10,
    split: 'train',
    addedAt: 1,
    importId: 'i',
    flags: [],
    ...over,
  };
}

function prelabel(id: string, probs: number[], over: Partial<PrelabelRecord> = {}): PrelabelRecord {
  const classes = probs.map((_, i) => `c${i}`);
  const best = probs.indexOf(Math.max(...probs));
  return {
    projectId: 'p',
    id,
    versionId: 'v1',
    classes,
    probs: new Float32Array(probs).buffer,
    embedding: null,
    predicted: classes[best],
    confidence: probs[best],
    rejected: false,
    createdAt: 1,
    ...over,
  };
}

describe('label queues (lib/label/queue)', () => {
  const samples = [
    sample('d'),
    sample('a'),
    sample('c', 'cat'),
    sample('b'),
    sample('e', 'dog', { labelSource: { kind: 'model', versionId: 'v1', confidence: 0.99, accepted: 'auto' } }),
    sample('f', 'cat', { flags: ['conflict'], conflictLabels: ['cat', 'dog'] }),
  ];
  const pre = new Map<string, Prelabel>([
    ['a', { versionId: 'v1', predicted: 'cat', confidence: 0.9, rejected: false }],
    ['b', { versionId: 'v1', predicted: 'dog', confidence: 0.6, rejected: true }],
  ]);
  const ids = (list: SampleRecord[]) => list.map((s) => s.id);

  it('shows each queue by path, or in the ranked order where the pool is ranked', () => {
    expect(ids(buildQueue(samples, 'unlabeled', pre, [], new Map(), 'uncertainty'))).toEqual(['a', 'b', 'd']);
    expect(ids(buildQueue(samples, 'unlabeled', pre, ['d', 'b'], new Map(), 'uncertainty'))).toEqual(['d', 'b', 'a']);
    expect(ids(buildQueue(samples, 'unlabeled', pre, ['d', 'b'], new Map(), 'file'))).toEqual(['a', 'b', 'd']);
    expect(ids(buildQueue(samples, 'prelabeled', pre, [], new Map(), 'uncertainty'))).toEqual(['a']);
    expect(ids(buildQueue(samples, 'auto', pre, [], new Map(), 'uncertainty'))).toEqual(['e']);
    expect(ids(buildQueue(samples, 'conflicts', pre, [], new Map(), 'uncertainty'))).toEqual(['f']);
    expect(ids(buildQueue(samples, 'labeled', pre, ['d'], new Map(), 'uncertainty'))).toEqual(['c', 'e', 'f']);
    expect(ids(buildQueue(samples, 'all', pre, [], new Map(), 'uncertainty'))).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // the issues queue keeps the check's order and skips images no longer there
    const notes = new Map([
      ['e', { kind: 'error' as const, text: '' }],
      ['gone', { kind: 'error' as const, text: '' }],
      ['c', { kind: 'duplicate' as const, text: '' }],
    ]);
    expect(ids(buildQueue(samples, 'issues', pre, [], notes, 'uncertainty'))).toEqual(['e', 'c']);
  });

  it('counts the queues', () => {
    expect(queueCounts(samples, pre, 2)).toEqual({ unlabeled: 3, auto: 1, prelabeled: 1, labeled: 3, issues: 2, conflicts: 1 });
  });

  it('offers a conflicted image the labels it arrived with', () => {
    expect(conflictOptions(samples[5])).toEqual(['cat', 'dog']);
    expect(conflictOptions(samples[2])).toEqual([]);
  });

  it('ranks the pool by the newest version, the next batch first, the same every time', () => {
    const pool = [sample('u1'), sample('u2'), sample('u3'), sample('u4'), sample('l', 'c0')];
    const records = [
      prelabel('u1', [0.9, 0.1]),
      prelabel('u2', [0.5, 0.5]),
      prelabel('u3', [0.7, 0.3]),
      prelabel('u4', [0.55, 0.45], { rejected: true }),
      prelabel('l', [0.5, 0.5]),
      prelabel('u1', [0.5, 0.5], { versionId: 'old', createdAt: 0 }),
    ];
    const o = { strategy: 'margin' as const, acquisition: 'margin' as const, batchSize: 1 };
    const ranked = rankPool(records, pool, o);
    expect(ranked.ranking).toEqual(['u2', 'u3', 'u1']);
    expect([...ranked.nextBatch]).toEqual(['u2']);
    expect(rankPool(records, pool, o)).toEqual(ranked);
    expect(rankPool([], pool, o)).toEqual({ ranking: [], nextBatch: new Set() });
  });

  it('applies a change set to the samples and the class list', () => {
    const cs = assignLabels(samples, ['a', 'f'], 'bird', { kind: 'human' }, 5, ['cat', 'dog']);
    const after = patchSamples(samples, cs);
    expect(after.find((s) => s.id === 'a')).toMatchObject({ label: 'bird', labeledAt: 5 });
    expect(after.find((s) => s.id === 'd')).toBe(samples[0]);
    expect(classesAfterChange(['cat', 'dog'], cs, after)).toEqual(['bird', 'cat', 'dog']);
    const cleared: ChangeSet = {
      description: '',
      classesBefore: [],
      classesAfter: [],
      changes: [
        {
          id: 'f',
          before: { label: 'cat', labelSource: null, labeledAt: null },
          after: { label: 'dog', labelSource: null, labeledAt: 2, conflictLabels: null },
        },
      ],
    };
    const f = patchSamples(samples, cleared).find((s) => s.id === 'f')!;
    expect(f.flags).toEqual([]);
    expect(f).not.toHaveProperty('conflictLabels');
  });

  it('notes likely errors and disagreeing near-duplicates that nobody fixed yet', () => {
    const notes = qualityNotesOf(
      {
        issues: [
          { id: 'c', given: 'cat', suggested: 'dog', suggestedConfidence: 0.87 },
          { id: 'e', given: 'cat', suggested: 'dog', suggestedConfidence: 0.9 },
        ],
        duplicates: [
          { a: 'c', b: 'f', labelA: 'cat', labelB: 'cat', similarity: 0.991 },
          { a: 'e', b: 'fxxxxxxxxx', labelA: 'dog', labelB: 'cat', similarity: 0.9876 },
        ],
      },
      samples,
    );
    expect([...notes.keys()]).toEqual(['c', 'f', 'e']);
    expect(notes.get('c')).toEqual({ kind: 'error', suggested: 'dog', text: 'labeled “cat”, looks like “dog” (87%)' });
    expect(notes.get('e')).toEqual({ kind: 'duplicate', text: 'near-duplicate (98.8%) of an image labeled “cat” (fxxxxxxx)' });
  });
});

describe('LabelHistory', () => {
  it('keeps the last 100 edits and clears redo on a new edit', () => {
    const h = new LabelHistory();
    const cs = (n: number): ChangeSet => ({ description: String(n), changes: [], classesBefore: [], classesAfter: [] });
    for (let i = 0; i < 105; i++) h.record(cs(i));
    expect(h.undoStack.length).toBe(100);
    expect(h.undoStack[0].description).toBe('5');
    const last = h.undoStack.at(-1)!;
    h.undone(last);
    expect(h.redoStack).toEqual([last]);
    h.redone(last);
    expect(h.undoStack.at(-1)).toBe(last);
    h.undone(last);
    h.record(cs(200));
    expect(h.redoStack).toEqual([]);
  });
});

describe('LabelManager', () => {
  const make = () => {
    written.labels.length = 0;
    const dataset = new FakeDataset('p', ['cat', 'dog'], [sample('a'), sample('b'), sample('c'), sample('z', 'cat')]);
    return { dataset, labels: new LabelManager(dataset as never) };
  };

  it('labels the current image by number key, moves on, and undoes and redoes through the store', async () => {
    const { dataset, labels } = make();
    expect(labels.current?.id).toBe('a');
    await labels.assignByKey(2);
    expect(labels.error).toBeNull();
    expect(written.labels).toHaveLength(1);
    expect(dataset.samples.find((s) => s.id === 'a')).toMatchObject({ label: 'dog', labelSource: { kind: 'human' } });
    // 'a' left the unlabeled queue: the same index is now the next image
    expect(labels.queue.map((s) => s.id)).toEqual(['b', 'c']);
    expect(labels.current?.id).toBe('b');
    expect(labels.counts).toMatchObject({ unlabeled: 2, labeled: 2 });
    expect(labels.message).toMatch(/dog/);
    await labels.undo();
    expect(dataset.samples.find((s) => s.id === 'a')?.label).toBeNull();
    expect(labels.history.redoStack).toHaveLength(1);
    await labels.redo();
    expect(dataset.samples.find((s) => s.id === 'a')?.label).toBe('dog');
    expect(written.labels).toHaveLength(3);
  });

  it('refuses a key with no class, writing nothing', async () => {
    const { labels } = make();
    await labels.assignByKey(5);
    expect(labels.error).toBe('There is no class 5; add classes first.');
    expect(written.labels).toHaveLength(0);
  });

  it('labels a selection at once and clears it; in the Labeled queue the cursor steps on', async () => {
    const { dataset, labels } = make();
    labels.toggle('b');
    labels.toggle('c');
    labels.toggle('c');
    labels.toggle('a');
    await labels.assign('cat');
    expect(labels.selected.size).toBe(0);
    expect(
      dataset.samples
        .filter((s) => s.label === 'cat')
        .map((s) => s.id)
        .sort(),
    ).toEqual(['a', 'b', 'z']);
    labels.queueKind = 'labeled';
    labels.cursor = 0;
    await labels.assign('dog');
    expect(labels.cursor).toBe(1);
    labels.move(10);
    expect(labels.cursor).toBe(2);
    labels.move(-10);
    expect(labels.cursor).toBe(0);
  });

  it('adds a class to the project, undoably', async () => {
    const { dataset, labels } = make();
    await labels.addClass(' bird ');
    expect(dataset.project?.labels).toEqual(['bird', 'cat', 'dog']);
    await labels.undo();
    expect(dataset.project?.labels).toEqual(['cat', 'dog']);
  });
});
