import { describe, expect, it } from 'vitest';
import { NO_AUGMENTATION } from '../../src/lib/augment/spec';
import {
  contentKey,
  datasetVersionHash,
  diffVersions,
  naturalCompare,
  normalizeContent,
  packItems,
  splitCounts,
  unpackItems,
  type DatasetContent,
  type DatasetItem,
} from '../../src/lib/dataset/version';

const items: DatasetItem[] = [
  { id: 's3', label: 'dog', split: 'train' },
  { id: 's1', label: 'cat', split: 'train' },
  { id: 's2', label: 'cat', split: 'val' },
  { id: 's4', label: 'dog', split: 'test' },
];
const content: DatasetContent = {
  items,
  classes: ['dog', 'cat'],
  preprocess: { inputSize: 28, channels: 1, resize: 'pad', background: [0, 0, 0] },
  augmentation: { ...NO_AUGMENTATION },
};

describe('naturalCompare', () => {
  it('orders digit runs by value', () => {
    expect(['img10', 'img2', 'img1', 'b', 'a10b', 'a9c'].sort(naturalCompare)).toEqual(['a9c', 'a10b', 'b', 'img1', 'img2', 'img10']);
    expect(naturalCompare('x01', 'x1')).not.toBe(0);
    expect(naturalCompare('x', 'x')).toBe(0);
  });
});

describe('version hash', () => {
  it('is stable under item and class order and key order', async () => {
    const shuffled: DatasetContent = {
      augmentation: { ...NO_AUGMENTATION },
      preprocess: { background: [0, 0, 0], resize: 'pad', channels: 1, inputSize: 28 },
      classes: ['cat', 'dog'],
      items: [items[2], items[0], items[3], items[1]].map((it) => ({ split: it.split, label: it.label, id: it.id })),
    };
    expect(contentKey(shuffled)).toBe(contentKey(content));
    const h = await datasetVersionHash(content);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await datasetVersionHash(shuffled)).toBe(h);
  });

  it('changes with any label, split or setting', async () => {
    const h = await datasetVersionHash(content);
    const relabeled = { ...content, items: content.items.map((it) => (it.id === 's1' ? { ...it, label: 'dog' } : it)) };
    expect(await datasetVersionHash(relabeled)).not.toBe(h);
    expect(await datasetVersionHash({ ...content, augmentation: { ...NO_AUGMENTATION, hflip: 0.5 } })).not.toBe(h);
    expect(await datasetVersionHash({ ...content, preprocess: { ...content.preprocess, inputSize: 32 } })).not.toBe(h);
  });

  it('normalizeContent sorts items by id and classes naturally without mutating', () => {
    const n = normalizeContent({ ...content, classes: ['c10', 'c2', 'c1'] });
    expect(n.items.map((i) => i.id)).toEqual(['s1', 's2', 's3', 's4']);
    expect(n.classes).toEqual(['c1', 'c2', 'c10']);
    expect(content.items[0].id).toBe('s3');
  });
});

describe('diffVersions', () => {
  it('reports added, removed, relabeled, resplit and unchanged', () => {
    const b: DatasetContent = {
      ...content,
      items: [
        { id: 's1', label: 'cat', split: 'train' }, // unchanged
        { id: 's2', label: 'dog', split: 'train' }, // relabeled and resplit
        { id: 's3', label: 'dog', split: 'val' }, // resplit
        { id: 's5', label: 'cat', split: 'test' }, // added; s4 removed
      ],
    };
    const d = diffVersions(content, b);
    expect(d.added).toEqual([{ id: 's5', label: 'cat', split: 'test' }]);
    expect(d.removed).toEqual([{ id: 's4', label: 'dog', split: 'test' }]);
    expect(d.relabeled).toEqual([{ id: 's2', from: 'cat', to: 'dog' }]);
    expect(d.resplit).toEqual([
      { id: 's2', from: 'val', to: 'train' },
      { id: 's3', from: 'train', to: 'val' },
    ]);
    expect(d.unchanged).toBe(1);
    expect(d.settingsChanged).toEqual([]);
  });

  it('names changed settings', () => {
    const b: DatasetContent = {
      ...content,
      classes: ['cat', 'dog', 'fox'],
      preprocess: { ...content.preprocess, inputSize: 64, background: [255, 255, 255] },
      augmentation: { ...NO_AUGMENTATION, rotation: 10 },
    };
    const d = diffVersions(content, b);
    expect(d.settingsChanged).toEqual(['classes', 'preprocess.background', 'preprocess.inputSize', 'augmentation.rotation']);
    expect(d.unchanged).toBe(4);
    expect(diffVersions(content, { ...content, classes: ['cat', 'dog'] }).settingsChanged).toEqual([]);
  });
});

describe('splitCounts', () => {
  it('counts labels per split', () => {
    expect(splitCounts(items)).toEqual({ train: { dog: 1, cat: 1 }, val: { cat: 1 }, test: { dog: 1 } });
    expect(splitCounts([])).toEqual({ train: {}, val: {}, test: {} });
  });
});

describe('packItems', () => {
  it('round-trips through compact columns', () => {
    const classes = ['cat', 'dog'];
    const packed = packItems(items, classes);
    expect(packed).toEqual({ ids: ['s3', 's1', 's2', 's4'], labelIndex: [1, 0, 0, 1], splitCode: [0, 0, 1, 2] });
    expect(unpackItems(packed, classes)).toEqual(items);
  });

  it('refuses labels outside classes and corrupt columns', () => {
    expect(() => packItems(items, ['cat'])).toThrow(/dog/);
    expect(() => unpackItems({ ids: ['a'], labelIndex: [3], splitCode: [0] }, ['cat'])).toThrow();
    expect(() => unpackItems({ ids: ['a'], labelIndex: [0], splitCode: [7] }, ['cat'])).toThrow();
    expect(() => unpackItems({ ids: ['a', 'b'], labelIndex: [0], splitCode: [0] }, ['cat'])).toThrow();
  });

  it('handles a 50k-sample version', () => {
    const many = Array.from({ length: 50_000 }, (_, i): DatasetItem => ({
      id: `x${i}`,
      label: `c${i % 7}`,
      split: i % 5 === 0 ? 'test' : 'train',
    }));
    const classes = Array.from({ length: 7 }, (_, i) => `c${i}`);
    expect(unpackItems(packItems(many, classes), classes)).toEqual(many);
  });
});
