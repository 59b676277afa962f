import { describe, expect, it } from 'vitest';
import { assignSplits, splitProblems, targetCounts, type Split, type SplitItem } from '../../src/lib/ml/split';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';

function dataset(counts: Record<string, number>): SplitItem[] {
  return Object.entries(counts).flatMap(([label, n]) => Array.from({ length: n }, (_, i) => ({ id: `${label}-${i}`, label })));
}
function tally(items: SplitItem[], m: Map<string, Split>, label: string) {
  const t = { train: 0, val: 0, test: 0 };
  for (const it of items) if (it.label === label) t[m.get(it.id)!]++;
  return t;
}

describe('targetCounts', () => {
  it('follows the fractions and the coverage minimums', () => {
    const f = { train: 0.7, val: 0.15, test: 0.15 };
    expect(targetCounts(100, f)).toEqual({ train: 70, val: 15, test: 15 });
    expect(targetCounts(10, f)).toEqual({ train: 7, val: 2, test: 1 });
    expect(targetCounts(3, f)).toEqual({ train: 1, val: 1, test: 1 });
    expect(targetCounts(2, f)).toEqual({ train: 2, val: 0, test: 0 });
    expect(targetCounts(1, f)).toEqual({ train: 1, val: 0, test: 0 });
    expect(targetCounts(3, { train: 1, val: 0, test: 0 })).toEqual({ train: 3, val: 0, test: 0 });
    expect(targetCounts(3, { train: 0.5, val: 0.5, test: 0 }).test).toBe(0);
    expect(() => targetCounts(3, { train: -1, val: 0, test: 0 })).toThrow();
  });
});

describe('assignSplits', () => {
  const items = dataset({ cat: 40, dog: 20, fox: 3, owl: 2 });

  it('is stratified and meets the per-class minimums', () => {
    const m = assignSplits(items, { seed: 1 });
    expect(m.size).toBe(items.length);
    expect(tally(items, m, 'cat')).toEqual({ train: 28, val: 6, test: 6 });
    expect(tally(items, m, 'dog')).toEqual({ train: 14, val: 3, test: 3 });
    expect(tally(items, m, 'fox')).toEqual({ train: 1, val: 1, test: 1 });
    expect(tally(items, m, 'owl').train).toBeGreaterThanOrEqual(1);
  });

  it('is deterministic regardless of input order, and depends on the seed', () => {
    const a = assignSplits(items, { seed: 5 });
    const b = assignSplits(shuffleInPlace([...items], mulberry32(99)), { seed: 5 });
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
    const c = assignSplits(items, { seed: 6 });
    expect([...c.entries()].sort()).not.toEqual([...a.entries()].sort());
  });

  it('adding a class does not move another class', () => {
    const a = assignSplits(dataset({ cat: 30 }), { seed: 3 });
    const b = assignSplits(dataset({ cat: 30, dog: 10 }), { seed: 3 });
    for (const [id, s] of a) expect(b.get(id)).toBe(s);
  });

  it('keeps the frozen test split and existing train/val; fills new items toward targets', () => {
    const first = assignSplits(items, { seed: 2 });
    const withSplits: SplitItem[] = items.map((it) => ({ ...it, split: first.get(it.id) }));
    const extra = Array.from({ length: 20 }, (_, i) => ({ id: `cat-new-${i}`, label: 'cat', split: 'unassigned' as const }));
    const all = [...withSplits, ...extra];
    const second = assignSplits(all, { seed: 999 });
    for (const it of withSplits) expect(second.get(it.id)).toBe(it.split);
    expect(tally(all, second, 'cat')).toEqual(targetCounts(60, { train: 0.7, val: 0.15, test: 0.15 }));
  });

  it('tops up a class whose existing items are all in train', () => {
    const pre: SplitItem[] = Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, label: 'a', split: 'train' }));
    const add = Array.from({ length: 2 }, (_, i) => ({ id: `n${i}`, label: 'a' }));
    const m = assignSplits([...pre, ...add], { seed: 1 });
    expect(new Set(add.map((x) => m.get(x.id)))).toEqual(new Set(['val', 'test']));
  });

  it('keepExisting: false reassigns everything, test included', () => {
    const pre: SplitItem[] = Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, label: 'a', split: 'test' }));
    const m = assignSplits(pre, { seed: 1, keepExisting: false });
    expect(tally(pre, m, 'a')).toEqual({ train: 7, val: 2, test: 1 });
    expect(tally(pre, assignSplits(pre, { seed: 1 }), 'a')).toEqual({ train: 0, val: 0, test: 10 });
  });

  it('honours custom fractions', () => {
    const m = assignSplits(dataset({ a: 10 }), { seed: 1, fractions: { train: 0.8, val: 0.2, test: 0 } });
    expect(tally(dataset({ a: 10 }), m, 'a')).toEqual({ train: 8, val: 2, test: 0 });
  });
});

describe('splitProblems', () => {
  it('refuses too few classes or samples, ignores unlabeled', () => {
    expect(splitProblems([])).toBe('Training needs at least 2 classes; found none');
    expect(splitProblems(['cat', 'cat', null])).toBe('Training needs at least 2 classes; found 1: cat');
    expect(splitProblems(['cat', 'cat', 'x', null, null])).toBe("Class 'x' has 1 image; each class needs at least 2.");
    expect(splitProblems(['cat', 'cat', 'x', 'x', null])).toBeNull();
  });
});
