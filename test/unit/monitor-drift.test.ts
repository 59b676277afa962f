import { describe, expect, it } from 'vitest';
import { driftReport, ksTwoSample, mmdRbf, normalizedWasserstein, psi, wasserstein1d } from '../../src/lib/monitor/drift';
import { mulberry32 } from '../../src/lib/ml/random';

function gaussians(n: number, seed: number, mean = 0, std = 1): number[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => mean + std * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
}

function points(n: number, dims: number, seed: number, shift = 0): number[][] {
  const flat = gaussians(n * dims, seed);
  return Array.from({ length: n }, (_, i) => flat.slice(i * dims, (i + 1) * dims).map((v) => v + shift));
}

describe('ksTwoSample', () => {
  it('identical samples: D = 0, p = 1', () => {
    const a = gaussians(100, 1);
    const r = ksTwoSample(a, [...a].reverse());
    expect(r.statistic).toBe(0);
    expect(r.pValue).toBeCloseTo(1, 9);
  });

  it('disjoint samples of 50: D = 1, tiny p', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = Array.from({ length: 50 }, (_, i) => 100 + i);
    const r = ksTwoSample(a, b);
    expect(r.statistic).toBe(1);
    expect(r.pValue).toBeLessThan(1e-15);
  });

  it('matches scipy', () => {
    // scipy.stats.ks_2samp(a, b, method='asymp') -> statistic 0.208333, pvalue 0.396927;
    // scipy.special.kolmogorov((en + 0.12 + 0.11/en) * D) with en = sqrt(40*30/70) -> 0.402304.
    const a = Array.from({ length: 40 }, (_, i) => i * 0.5);
    const b = Array.from({ length: 30 }, (_, i) => 3 + i * 0.7);
    const r = ksTwoSample(a, b);
    expect(r.statistic).toBeCloseTo(0.208333, 3);
    expect(Math.abs(r.pValue - 0.402304)).toBeLessThan(1e-4);
    expect(Math.abs(r.pValue - 0.396927)).toBeLessThan(0.02);
  });

  it('handles ties like scipy (D = 1/3)', () => {
    // scipy.stats.ks_2samp([1,1,2,2,3,3], [2,2,3,3,4,4]).statistic == 0.3333
    expect(ksTwoSample([1, 1, 2, 2, 3, 3], [2, 2, 3, 3, 4, 4]).statistic).toBeCloseTo(1 / 3, 12);
  });

  it('empty sample: no evidence', () => {
    expect(ksTwoSample([], [1, 2])).toEqual({ statistic: 0, pValue: 1 });
  });
});

describe('wasserstein', () => {
  it('exact small cases (scipy.stats.wasserstein_distance)', () => {
    expect(wasserstein1d([0, 1], [1, 2])).toBeCloseTo(1, 12);
    expect(wasserstein1d([0, 0, 3], [1, 2])).toBeCloseTo(7 / 6, 12);
    expect(wasserstein1d([5, 1, 3], [3, 1, 5])).toBe(0);
    expect(wasserstein1d([2], [2, 2, 2])).toBe(0);
  });

  it('normalises by the reference std, with a floor for a constant reference', () => {
    // std([0, 2]) = 1 (population), W([0,2],[1,3]) = 1.
    expect(normalizedWasserstein([0, 2], [1, 3])).toBeCloseTo(1, 12);
    expect(normalizedWasserstein([1, 1], [1, 1])).toBe(0);
    expect(normalizedWasserstein([1, 1], [2, 2])).toBeCloseTo(1e9, 0);
  });
});

describe('psi', () => {
  it('is 0 for the same distribution', () => {
    const ref = Array.from({ length: 100 }, (_, i) => i);
    expect(psi(ref, [...ref])).toBeCloseTo(0, 12);
  });

  it('known case: current covers only the lower half', () => {
    // Deciles of 0..99 put 10 reference values in each bin; 0..49 puts 20% in each of the first
    // five and nothing (-> 1e-4) in the last five.
    const ref = Array.from({ length: 100 }, (_, i) => i);
    const cur = Array.from({ length: 50 }, (_, i) => i);
    const expected = 5 * (0.2 - 0.1) * Math.log(2) + 5 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    expect(psi(ref, cur)).toBeCloseTo(expected, 10);
    expect(expected).toBeCloseTo(3.797, 3);
  });

  it('merges duplicate edges of a discrete reference', () => {
    const ref = [...Array(50).fill(0), ...Array(50).fill(1)];
    expect(psi(ref, [...ref])).toBeCloseTo(0, 12);
    // Two bins (<= 0, > 0): shares 0.5/0.5 vs 0.8/0.2.
    const cur = [...Array(80).fill(0), ...Array(20).fill(1)];
    expect(psi(ref, cur)).toBeCloseTo(0.3 * Math.log(0.8 / 0.5) - 0.3 * Math.log(0.2 / 0.5), 10);
  });
});

describe('mmdRbf', () => {
  it('same distribution: not significant', () => {
    const r = mmdRbf(points(100, 4, 1), points(100, 4, 2), { seed: 3 });
    expect(r.pValue).toBeGreaterThan(0.05);
    expect(Math.abs(r.mmd2)).toBeLessThan(0.02);
    expect(r.bandwidth).toBeGreaterThan(2); // median distance of 4-d standard normals ~ sqrt(2*4)
  });

  it('shifted Gaussian: significant', () => {
    const r = mmdRbf(points(100, 4, 1), points(100, 4, 2, 1), { seed: 3 });
    expect(r.pValue).toBeLessThan(0.01);
    expect(r.mmd2).toBeGreaterThan(0.05);
  });

  it('is deterministic for a seed and subsamples to maxPerSide', () => {
    const x = points(500, 3, 4);
    const y = points(400, 3, 5, 0.2);
    const opts = { seed: 9, permutations: 50, maxPerSide: 120 };
    expect(mmdRbf(x, y, opts)).toEqual(mmdRbf(x, y, opts));
    // Minimum reachable p-value with 50 permutations is 1/51.
    expect(mmdRbf(x, y, opts).pValue).toBeGreaterThanOrEqual(1 / 51);
  });

  it('too few points: no test', () => {
    expect(mmdRbf([[0]], [[1], [2]]).pValue).toBe(1);
  });
});

describe('driftReport', () => {
  const names = ['brightness', 'contrast', 'sharpness', 'width', 'height', 'aspect'];
  const sample = (n: number, seed: number, shifted: string[]): Record<string, number[]> =>
    Object.fromEntries(names.map((name, i) => [name, gaussians(n, seed * 10 + i, shifted.includes(name) ? 2 : 0)]));

  it('one shifted stat out of six: that stat drifts, the dataset does not', () => {
    const r = driftReport(sample(300, 1, []), sample(100, 2, ['brightness']));
    expect(r.enough).toBe(true);
    expect(r.perStat.map((s) => s.test)).toEqual(Array(6).fill('ks'));
    expect(r.perStat.filter((s) => s.drifted).map((s) => s.name)).toEqual(['brightness']);
    expect(r.share).toBeCloseTo(1 / 6, 12);
    expect(r.datasetDrift).toBe(false);
    const b = r.perStat[0];
    expect(b.curMean - b.refMean).toBeGreaterThan(1.5);
    expect(b.psi).toBeGreaterThan(0.2);
    expect(r.currentCount).toBe(100);
    expect(r.referenceCount).toBe(300);
    expect(r.embedding).toBeNull();
  });

  it('four of six shifted: dataset drift', () => {
    const r = driftReport(sample(300, 1, []), sample(100, 2, ['brightness', 'contrast', 'width', 'height']));
    expect(r.share).toBeCloseTo(4 / 6, 12);
    expect(r.datasetDrift).toBe(true);
  });

  it('too few current values: nothing drifts', () => {
    const r = driftReport(sample(300, 1, []), sample(10, 2, names));
    expect(r.enough).toBe(false);
    expect(r.currentCount).toBe(10);
    expect(r.perStat.every((s) => !s.drifted)).toBe(true);
    expect(r.datasetDrift).toBe(false);
  });

  it('large current sample switches to normalised Wasserstein', () => {
    const r = driftReport({ x: gaussians(2000, 1) }, { x: gaussians(1500, 2, 0.05) });
    expect(r.perStat[0].test).toBe('wasserstein');
    expect(r.perStat[0].pValue).toBeNull();
    // A 0.05-std shift is well under Evidently's 0.1 threshold, though KS at this size would flag it.
    expect(r.perStat[0].statistic).toBeLessThan(0.1);
    expect(r.perStat[0].drifted).toBe(false);
    const far = driftReport({ x: gaussians(2000, 1) }, { x: gaussians(1500, 2, 0.5) });
    expect(far.perStat[0].statistic).toBeGreaterThan(0.4);
    expect(far.perStat[0].drifted).toBe(true);
  });

  it('equal constants never drift', () => {
    const r = driftReport({ width: Array(100).fill(28) }, { width: Array(50).fill(28) });
    expect(r.perStat[0].drifted).toBe(false);
    const moved = driftReport({ width: Array(100).fill(28) }, { width: Array(50).fill(32) });
    expect(moved.perStat[0].drifted).toBe(true);
  });

  it('reports embedding drift from sketches', () => {
    const ref = sample(100, 1, []);
    const r = driftReport(ref, sample(60, 2, []), { embeddings: { reference: points(100, 4, 1), current: points(60, 4, 2, 1) } });
    expect(r.embedding?.drifted).toBe(true);
    expect(r.embedding!.pValue).toBeLessThan(0.05);
  });
});
