import { describe, expect, it } from 'vitest';
import { stratifiedFolds } from '../../src/lib/label/folds';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';

function counts(folds: number[], k: number, pick: (i: number) => boolean = () => true): number[] {
  const c = new Array<number>(k).fill(0);
  folds.forEach((f, i) => {
    if (pick(i)) c[f]++;
  });
  return c;
}

const spread = (c: number[]): number => Math.max(...c) - Math.min(...c);

describe('stratifiedFolds', () => {
  // Classes of 50, 23, 7 and 3 members, interleaved.
  const labels: number[] = [];
  for (const [cls, n] of [
    [2, 50],
    [0, 23],
    [5, 7],
    [9, 3],
  ])
    for (let i = 0; i < n; i++) labels.push(cls);
  shuffleInPlace(labels, mulberry32(5));

  it('balances every class and the folds overall', () => {
    const folds = stratifiedFolds(labels, 5, 42);
    expect(folds).toHaveLength(labels.length);
    expect(folds.every((f) => Number.isInteger(f) && f >= 0 && f < 5)).toBe(true);
    expect(spread(counts(folds, 5))).toBeLessThanOrEqual(1);
    for (const cls of [2, 0, 5, 9]) expect(spread(counts(folds, 5, (i) => labels[i] === cls))).toBeLessThanOrEqual(1);
  });

  it('spreads classes smaller than k over different folds, not all into fold 0', () => {
    const folds = stratifiedFolds([7, 8, 9, 7, 8], 5, 1);
    expect(new Set(folds).size).toBe(5);
    const three = folds.filter((_, i) => [0, 1, 2].includes(i));
    expect(new Set(three).size).toBe(3);
  });

  it('is deterministic for a seed and shuffles differently for another', () => {
    expect(stratifiedFolds(labels, 5, 42)).toEqual(stratifiedFolds(labels, 5, 42));
    expect(stratifiedFolds(labels, 5, 43)).not.toEqual(stratifiedFolds(labels, 5, 42));
  });

  it('does not just deal samples out in input order', () => {
    const sorted = Array.from({ length: 100 }, () => 0);
    const folds = stratifiedFolds(sorted, 4, 3);
    expect(folds).not.toEqual(sorted.map((_, i) => i % 4));
  });

  it('refuses a fold count below 1 and handles no samples', () => {
    expect(() => stratifiedFolds([0, 1], 0, 1)).toThrow(/fold count/);
    expect(stratifiedFolds([], 5, 1)).toEqual([]);
    expect(stratifiedFolds([3, 3], 1, 1)).toEqual([0, 0]);
  });
});
