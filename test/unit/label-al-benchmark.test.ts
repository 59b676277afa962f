import { describe, expect, it } from 'vitest';
import { BENCHMARK, expectedSaving, type BenchmarkFigures } from '../../src/lib/label/al-benchmark';
import { DEFAULT_ACQUISITION } from '../../src/lib/label/acquisition';

const figures: BenchmarkFigures = {
  date: '2026-12-07T20:00:00.000Z',
  machine: 'AMD EPYC (2 cores), TF.js WASM in Node',
  dataset: 'the Digits demo',
  model: 'the small CNN',
  seeds: 5,
  end: 500,
  randomAtEnd: 0.9556,
  strategies: {
    margin: { labelsPerSeed: [226, 240, 251, 262, 230], meanLabels: 241.8, worstLabels: 262 },
    badge: { labelsPerSeed: [269, null, 300, 310, 280], meanLabels: null, worstLabels: null },
  },
};

describe('expectedSaving', () => {
  it('states the measured mean and worst seed with the machine and date', () => {
    const s = expectedSaving('margin', figures)!;
    expect(s).toContain('95.6%');
    expect(s).toContain('with 500 labels');
    expect(s).toContain('242 on average (48% of the labels)');
    expect(s).toContain('262 on its worst seed (52%)');
    expect(s).toContain('AMD EPYC (2 cores)');
    expect(s).toContain('2026-12-07');
    expect(s).toContain('5 seeds');
  });

  it('says so when a seed never reached the target, and claims nothing for an unmeasured strategy', () => {
    expect(expectedSaving('badge', figures)).toMatch(/did not reach it within 500 labels on 1 of 5 seeds/);
    expect(expectedSaving('balanced-margin', figures)).toBeNull();
  });
});

describe('the committed benchmark figures', () => {
  it('cover the default strategy, and their summaries agree with the per-seed figures', () => {
    const d = BENCHMARK.strategies[DEFAULT_ACQUISITION];
    expect(d).toBeDefined();
    expect(d!.labelsPerSeed).toHaveLength(BENCHMARK.seeds);
    expect(BENCHMARK.seeds).toBeGreaterThanOrEqual(5);
    for (const f of Object.values(BENCHMARK.strategies)) {
      if (f.labelsPerSeed.some((x) => x === null)) {
        expect(f.meanLabels).toBeNull();
        continue;
      }
      const xs = f.labelsPerSeed as number[];
      expect(f.worstLabels).toBe(Math.max(...xs));
      expect(f.meanLabels).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / xs.length, 6);
    }
    expect(BENCHMARK.randomAtEnd).toBeGreaterThan(0);
    expect(expectedSaving(DEFAULT_ACQUISITION)).toContain(BENCHMARK.date.slice(0, 10));
  });
});
