import { describe, expect, it } from 'vitest';
import { acquire, badgeEmbeddings, badgePicks, balancedMargin, kMeansPlusPlus, needsFeatures } from '../../src/lib/label/acquisition';
import { rankByUncertainty } from '../../src/lib/label/uncertainty';
import { mulberry32 } from '../../src/lib/ml/random';

/** A random softmax-like pool: n rows of k probabilities, and dim features per row. */
function pool(n: number, k: number, dim: number, seed: number): { probs: Float32Array; features: Float32Array } {
  const rand = mulberry32(seed);
  const probs = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += probs[i * k + j] = rand() ** 3;
    for (let j = 0; j < k; j++) probs[i * k + j] /= sum;
  }
  const features = Float32Array.from({ length: n * dim }, () => rand());
  return { probs, features };
}

const argMax = (p: Float32Array, i: number, k: number) => {
  let b = 0;
  for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + b]) b = j;
  return b;
};

describe('acquire', () => {
  const { probs, features } = pool(300, 5, 8, 1);
  const input = { probs, numClasses: 5, features, dim: 8 };

  for (const strategy of ['random', 'margin', 'margin-kcenter', 'balanced-margin', 'badge'] as const) {
    it(`${strategy}: the same inputs and seed give the same batch, of distinct rows in range`, () => {
      const a = acquire(input, { strategy, batchSize: 40, randomShare: 0.2, seed: 7 });
      const b = acquire(input, { strategy, batchSize: 40, randomShare: 0.2, seed: 7 });
      expect(a).toEqual(b);
      expect(a).toHaveLength(40);
      expect(new Set(a).size).toBe(40);
      expect(a.every((i) => Number.isInteger(i) && i >= 0 && i < 300)).toBe(true);
    });
  }

  it('only the random parts depend on the seed', () => {
    expect(acquire(input, { strategy: 'margin', batchSize: 30, seed: 1 })).toEqual(
      acquire(input, { strategy: 'margin', batchSize: 30, seed: 2 }),
    );
    expect(acquire(input, { strategy: 'random', batchSize: 30, seed: 1 })).not.toEqual(
      acquire(input, { strategy: 'random', batchSize: 30, seed: 2 }),
    );
    expect(acquire(input, { strategy: 'badge', batchSize: 30, seed: 1 })).not.toEqual(
      acquire(input, { strategy: 'badge', batchSize: 30, seed: 2 }),
    );
  });

  it('a random share takes the informative rows first and fills the rest at random', () => {
    const plain = acquire(input, { strategy: 'margin', batchSize: 20, seed: 3 });
    const mixed = acquire(input, { strategy: 'margin', batchSize: 20, randomShare: 0.25, seed: 3 });
    expect(mixed.slice(0, 15)).toEqual(plain.slice(0, 15));
    // The five random ones come from the whole pool, not from the top of the margin ranking.
    const ranked = rankByUncertainty(probs, 5, 'margin');
    expect(mixed.slice(15).some((i) => ranked.indexOf(i) >= 20)).toBe(true);
  });

  it('caps the batch at the pool, and strategies needing features fall back to margin without them', () => {
    const small = pool(6, 3, 4, 2);
    expect(
      acquire({ probs: small.probs, numClasses: 3, features: null, dim: 0 }, { strategy: 'badge', batchSize: 10, seed: 1 }).sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
    expect(acquire({ probs: small.probs, numClasses: 3, features: null, dim: 0 }, { strategy: 'badge', batchSize: 3, seed: 1 })).toEqual(
      rankByUncertainty(small.probs, 3, 'margin').slice(0, 3),
    );
    expect(acquire(input, { strategy: 'margin', batchSize: 0, seed: 1 })).toEqual([]);
    expect(needsFeatures('badge') && needsFeatures('margin-kcenter') && !needsFeatures('balanced-margin')).toBe(true);
    expect(() =>
      acquire({ probs, numClasses: 5, features: new Float32Array(16), dim: 8 }, { strategy: 'badge', batchSize: 3, seed: 1 }),
    ).toThrow(/rows/);
  });
});

describe('balancedMargin', () => {
  it('spreads the batch over the predicted classes, most uncertain first within each', () => {
    const { probs } = pool(400, 4, 1, 5);
    const picked = balancedMargin(probs, 4, 20);
    const perClass = [0, 0, 0, 0];
    for (const i of picked) perClass[argMax(probs, i, 4)]++;
    expect(perClass).toEqual([5, 5, 5, 5]);
    const ranked = rankByUncertainty(probs, 4, 'margin');
    for (let c = 0; c < 4; c++) {
      const mine = picked.filter((i) => argMax(probs, i, 4) === c);
      const best = ranked.filter((i) => argMax(probs, i, 4) === c).slice(0, 5);
      expect(mine).toEqual(best);
    }
    // The first round is led by the single most uncertain row.
    expect(picked[0]).toBe(ranked[0]);
  });

  it("gives a scarce class's turns to the others, and breaks exact ties by row index", () => {
    // Six identical rows predicted class 0, two identical rows predicted class 1.
    const probs = new Float32Array([0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.3, 0.7, 0.3, 0.7]);
    expect(balancedMargin(probs, 2, 6)).toEqual([0, 6, 1, 7, 2, 3]);
  });
});

describe('BADGE', () => {
  it('gradient embeddings are (p - onehot(prediction)) times [features, 1]', () => {
    const probs = new Float32Array([0.7, 0.2, 0.1]);
    const e = badgeEmbeddings(probs, 3, new Float32Array([2, -1]), 2);
    const expected = [-0.3 * 2, -0.3 * -1, -0.3, 0.2 * 2, 0.2 * -1, 0.2, 0.1 * 2, 0.1 * -1, 0.1];
    expect(e).toHaveLength(expected.length);
    expected.forEach((v, i) => expect(e[i]).toBeCloseTo(v, 6));
  });

  it('k-means++ starts at the largest norm, never repeats, and is fixed by its generator', () => {
    const rows = new Float32Array([0, 0, 1, 0, 0, 5, 1, 1, 0, 0, 0.1, 0]);
    const a = kMeansPlusPlus(rows, 2, 6, mulberry32(1));
    expect(a[0]).toBe(2);
    expect(new Set(a).size).toBe(6);
    expect(kMeansPlusPlus(rows, 2, 6, mulberry32(1))).toEqual(a);
    // Equal norms: the lowest index goes first; all-identical rows are taken in index order.
    expect(kMeansPlusPlus(new Float32Array(8).fill(1), 2, 4, mulberry32(9))).toEqual([0, 1, 2, 3]);
  });

  it('the factorised picks equal k-means++ on the materialised gradient embeddings', () => {
    for (const seed of [1, 2, 3]) {
      const { probs, features } = pool(400, 10, 16, seed);
      const explicit = kMeansPlusPlus(badgeEmbeddings(probs, 10, features, 16), 10 * 17, 50, mulberry32(seed));
      expect(badgePicks(probs, 10, features, 16, 50, mulberry32(seed))).toEqual(explicit);
    }
  });

  it('a confident pool yields small gradients: BADGE prefers uncertain rows', () => {
    const n = 200;
    const probs = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const p = i < 20 ? 0.5 + 0.02 * (i % 5) : 0.999;
      probs.set([p, 1 - p], i * 2);
    }
    const features = Float32Array.from({ length: n * 4 }, (_, j) => ((j * 7919) % 13) / 13 + 0.1);
    const picked = acquire({ probs, numClasses: 2, features, dim: 4 }, { strategy: 'badge', batchSize: 10, seed: 4 });
    expect(picked.filter((i) => i < 20).length).toBeGreaterThanOrEqual(9);
  });
});
