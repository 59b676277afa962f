import { describe, expect, it } from 'vitest';
import { findDisagreeingDuplicates } from '../../src/lib/label/near-duplicates';
import { mulberry32 } from '../../src/lib/ml/random';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function randomRows(n: number, dim: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = gaussian(rand);
  return out;
}

/** Makes row `to` a scaled, slightly perturbed copy of row `from` (cosine well above 0.97). */
function plantCopy(emb: Float32Array, dim: number, from: number, to: number, seed: number): void {
  const rand = mulberry32(seed);
  for (let d = 0; d < dim; d++) emb[to * dim + d] = 3 * emb[from * dim + d] + 0.05 * gaussian(rand);
}

describe('findDisagreeingDuplicates', () => {
  const dim = 32;
  const n = 300;
  const emb = randomRows(n, dim, 1);
  const labels: Array<number | null> = Array.from({ length: n }, (_, i) => i % 4);
  plantCopy(emb, dim, 20, 10, 2); // labels 0 vs 2: disagree
  plantCopy(emb, dim, 201, 77, 3); // labels 1 vs 1: agree
  labels[77] = 1;
  labels[201] = 1;
  plantCopy(emb, dim, 50, 60, 4); // 60 is unlabeled
  labels[60] = null;
  plantCopy(emb, dim, 5, 150, 5); // labels 1 vs 2: disagree
  for (let d = 0; d < dim; d++) emb[150 * dim + d] += 0.3 * (d % 2 ? 1 : -1); // less similar, still above 0.97

  it('finds exactly the planted disagreeing pairs, most similar first', () => {
    const pairs = findDisagreeingDuplicates(emb, dim, labels);
    expect(pairs.map((p) => [p.a, p.b])).toEqual([
      [10, 20],
      [5, 150],
    ]);
    for (const p of pairs) {
      expect(p.a).toBeLessThan(p.b);
      expect(p.similarity).toBeGreaterThanOrEqual(0.97);
      expect(p.similarity).toBeLessThanOrEqual(1);
    }
    expect(pairs[0].similarity).toBeGreaterThanOrEqual(pairs[1].similarity);
  });

  it('honours the threshold', () => {
    expect(findDisagreeingDuplicates(emb, dim, labels, 1.01)).toEqual([]);
    // Random 32-d directions rarely exceed cosine 0.5; at 0 about half of all disagreeing pairs qualify.
    expect(findDisagreeingDuplicates(emb, dim, labels, 0, 100_000).length).toBeGreaterThan(10_000);
  });

  it('keeps only the best maxPairs, deterministically on ties', () => {
    // Twelve identical rows with labels 0..11: 66 pairs, all at similarity 1.
    const same = new Float32Array(12 * 4).fill(2);
    const all = findDisagreeingDuplicates(
      same,
      4,
      Array.from({ length: 12 }, (_, i) => i),
      0.97,
      1000,
    );
    expect(all).toHaveLength(66);
    const five = findDisagreeingDuplicates(
      same,
      4,
      Array.from({ length: 12 }, (_, i) => i),
      0.97,
      5,
    );
    expect(five).toEqual(all.slice(0, 5));
    expect(five.map((p) => [p.a, p.b])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [0, 5],
    ]);
    expect(
      findDisagreeingDuplicates(
        same,
        4,
        Array.from({ length: 12 }, (_, i) => i),
        0.97,
        0,
      ),
    ).toEqual([]);
  });

  it('works for a dimension that is not a multiple of 4', () => {
    const rows = randomRows(40, 7, 6);
    plantCopy(rows, 7, 3, 31, 7);
    const pairs = findDisagreeingDuplicates(
      rows,
      7,
      Array.from({ length: 40 }, (_, i) => i),
      0.97,
    );
    expect(pairs.map((p) => [p.a, p.b])).toContainEqual([3, 31]);
    const dot = (i: number, j: number) => {
      let s = 0,
        a = 0,
        b = 0;
      for (let d = 0; d < 7; d++) {
        s += rows[i * 7 + d] * rows[j * 7 + d];
        a += rows[i * 7 + d] ** 2;
        b += rows[j * 7 + d] ** 2;
      }
      return s / Math.sqrt(a * b);
    };
    expect(pairs.find((p) => p.a === 3)!.similarity).toBeCloseTo(dot(3, 31), 5);
  });

  it('ignores zero and broken rows', () => {
    const rows = new Float32Array([0, 0, 0, 0, Number.NaN, 1, Number.NaN, 1]);
    expect(findDisagreeingDuplicates(rows, 2, [0, 1, 2, 3], -1)).toEqual([{ a: 0, b: 1, similarity: 0 }]);
  });

  // Correctness at full size only: its speed is printed, not asserted (timed assertions flake on
  // a loaded 2-core machine, and speed belongs to benchmarks).
  it('finds the one disagreeing pair among 5,000 x 128', () => {
    const big = randomRows(5000, 128, 9);
    const bigLabels = Array.from({ length: 5000 }, (_, i) => i % 10);
    plantCopy(big, 128, 100, 4321, 10);
    plantCopy(big, 128, 7, 2997, 11); // labels 7 and 7: agree, ignored
    const start = performance.now();
    const pairs = findDisagreeingDuplicates(big, 128, bigLabels);
    const ms = performance.now() - start;
    console.log(`findDisagreeingDuplicates 5000 x 128: ${ms.toFixed(0)} ms`);
    expect(pairs.map((p) => [p.a, p.b])).toEqual([[100, 4321]]);
  }, 60_000);
});
