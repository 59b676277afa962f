import { describe, expect, it } from 'vitest';
import { kCenterGreedy, selectBatch } from '../../src/lib/label/diversity';
import { mulberry32 } from '../../src/lib/ml/random';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** `perCluster` points around each of `centres` (unit directions), interleaved so clusters are not contiguous. */
function clusters(centres: number[][], perCluster: number, spread: number, seed: number): { emb: Float32Array; cluster: number[] } {
  const rand = mulberry32(seed);
  const dim = centres[0].length;
  const emb = new Float32Array(centres.length * perCluster * dim);
  const cluster: number[] = [];
  for (let i = 0; i < perCluster; i++) {
    centres.forEach((c, ci) => {
      const row = cluster.length;
      for (let d = 0; d < dim; d++) emb[row * dim + d] = c[d] + spread * gaussian(rand);
      cluster.push(ci);
    });
  }
  return { emb, cluster };
}

const axis = (dim: number, i: number): number[] => Array.from({ length: dim }, (_, d) => (d === i ? 1 : 0));

describe('kCenterGreedy', () => {
  it('picks one point per tight cluster and starts from the first candidate', () => {
    const { emb, cluster } = clusters([axis(8, 0), axis(8, 1), axis(8, 2)], 20, 0.02, 1);
    const candidates = Array.from({ length: 60 }, (_, i) => i).reverse();
    const picked = kCenterGreedy(emb, 8, candidates, 3);
    expect(picked[0]).toBe(59);
    expect(new Set(picked.map((i) => cluster[i])).size).toBe(3);
  });

  it('spreads away from already selected rows and never returns them', () => {
    const { emb, cluster } = clusters([axis(8, 0), axis(8, 1), axis(8, 2)], 20, 0.02, 2);
    const inCluster0 = cluster.flatMap((c, i) => (c === 0 ? [i] : []));
    const all = cluster.map((_, i) => i);
    const picked = kCenterGreedy(emb, 8, all, 2, inCluster0.slice(0, 1));
    expect(picked.map((i) => cluster[i]).sort()).toEqual([1, 2]);
    expect(picked).not.toContain(inCluster0[0]);
  });

  it('never returns a duplicate, even for repeated candidates or k beyond the pool', () => {
    const emb = new Float32Array(5 * 4).fill(1); // five identical rows
    const picked = kCenterGreedy(emb, 4, [3, 3, 1, 4, 1], 10);
    expect(picked).toEqual([3, 1, 4]);
    expect(kCenterGreedy(emb, 4, [0, 1], 0)).toEqual([]);
    expect(() => kCenterGreedy(emb, 4, [7], 1)).toThrow(/outside/);
  });

  it('compares directions, not magnitudes', () => {
    // Row 1 is row 0 scaled by 10; row 2 points elsewhere. Unnormalised, row 1 would look farthest.
    const emb = new Float32Array([1, 0, 10, 0, 0, 1]);
    expect(kCenterGreedy(emb, 2, [0, 1, 2], 2)).toEqual([0, 2]);
  });
});

describe('selectBatch', () => {
  // Rows 0..49: fifty copies of one hard image (p = .5/.5). Rows 50..249: distinct images, less
  // uncertain than the copies but still uncertain, in 4 classes.
  const n = 250;
  const dim = 16;
  const rand = mulberry32(7);
  const probs = new Float32Array(n * 2);
  const emb = new Float32Array(n * dim);
  const hard = Array.from({ length: dim }, () => gaussian(rand));
  for (let i = 0; i < n; i++) {
    const p = i < 50 ? 0.5 : 0.55 + 0.3 * rand();
    probs[i * 2] = p;
    probs[i * 2 + 1] = 1 - p;
    for (let d = 0; d < dim; d++) emb[i * dim + d] = i < 50 ? hard[d] : gaussian(rand);
  }
  const isCopy = (i: number): boolean => i < 50;

  it('without diversity queues the top-uncertain rows, which are all the same image', () => {
    const batch = selectBatch(probs, 2, emb, dim, { strategy: 'margin', batchSize: 10, diversity: false });
    expect(batch).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('with diversity takes one copy of the hard image and fills the rest with different images', () => {
    const batch = selectBatch(probs, 2, emb, dim, { strategy: 'margin', batchSize: 10, diversity: true });
    expect(batch).toHaveLength(10);
    expect(new Set(batch).size).toBe(10);
    expect(batch[0]).toBe(0); // the most uncertain row leads the queue
    expect(batch.filter(isCopy)).toEqual([0]);
  });

  it('never queues labeled rows, and a labeled copy keeps every other copy out', () => {
    const batch = selectBatch(probs, 2, emb, dim, { strategy: 'margin', batchSize: 10, diversity: true }, [0]);
    expect(batch).toHaveLength(10);
    expect(batch.filter(isCopy)).toEqual([]);
    const plain = selectBatch(probs, 2, emb, dim, { strategy: 'margin', batchSize: 3, diversity: false }, [0, 1]);
    expect(plain).toEqual([2, 3, 4]);
  });

  it('still fills the batch when every unlabeled row is the same image', () => {
    const same = new Float32Array(6 * dim).fill(0.5);
    const p = new Float32Array(12).fill(0.5);
    expect(selectBatch(p, 2, same, dim, { strategy: 'margin', batchSize: 3, diversity: true }, [5])).toEqual([0, 1, 2]);
  });

  it('draws only from the uncertain pool', () => {
    const batch = selectBatch(probs, 2, emb, dim, { strategy: 'margin', batchSize: 4, diversity: true, poolFactor: 20 });
    const pool = selectBatch(probs, 2, null, dim, { strategy: 'margin', batchSize: 80, diversity: true });
    for (const i of batch) expect(pool).toContain(i);
  });

  it('falls back to uncertainty without embeddings, and returns nothing for an empty batch', () => {
    expect(selectBatch(probs, 2, null, dim, { strategy: 'entropy', batchSize: 3, diversity: true })).toEqual([0, 1, 2]);
    expect(selectBatch(probs, 2, emb, dim, { strategy: 'entropy', batchSize: 0, diversity: true })).toEqual([]);
    expect(() => selectBatch(probs, 2, emb.subarray(0, dim * 10), dim, { strategy: 'margin', batchSize: 3, diversity: true })).toThrow(
      /rows/,
    );
  });
});
