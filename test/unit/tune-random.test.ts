import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/lib/ml/random';
import { sampleRandom } from '../../src/lib/tune/random-search';
import type { Params, SearchSpace } from '../../src/lib/tune/space';

const N = 2000;

/** One-sample Kolmogorov-Smirnov statistic D = sup |F_n(x) - F(x)|. */
function ksStatistic(xs: number[], cdf: (x: number) => number): number {
  const s = [...xs].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, (i + 1) / s.length - f, f - i / s.length);
  });
  return d;
}
/** Asymptotic KS critical value at α = 0.01 (p > 0.01 ⇔ D below it). */
const KS_CRITICAL_01 = 1.628 / Math.sqrt(N);

/** Pearson chi-square of observed counts against expected probabilities. */
function chiSquare(counts: Map<unknown, number>, expected: Map<unknown, number>, n: number): number {
  let chi = 0;
  for (const [value, p] of expected) chi += ((counts.get(value) ?? 0) - n * p) ** 2 / (n * p);
  return chi;
}
/** Chi-square critical values at α = 0.01 by degrees of freedom. */
const CHI2_CRITICAL_01: Record<number, number> = { 3: 11.345, 4: 13.277, 7: 18.475, 9: 21.666 };

function draw(space: SearchSpace, seed: number): Params[] {
  const rand = mulberry32(seed);
  return Array.from({ length: N }, () => sampleRandom(space, rand));
}

function countsOf(points: Params[], name: string): Map<unknown, number> {
  const counts = new Map<unknown, number>();
  for (const p of points) counts.set(p[name], (counts.get(p[name]) ?? 0) + 1);
  return counts;
}

describe('sampleRandom distributions (n = 2000, α = 0.01)', () => {
  const space: SearchSpace = [
    { name: 'dropout', type: 'float', low: 0.1, high: 0.6 },
    { name: 'lr', type: 'float', low: 1e-5, high: 1e-1, log: true },
    { name: 'act', type: 'choice', values: ['relu', 'gelu', 'tanh', 'elu'] },
    { name: 'layers', type: 'int', low: 1, high: 10 },
    { name: 'units', type: 'int', low: 0, high: 20, step: 5 },
    { name: 'batch', type: 'int', low: 1, high: 8, log: true },
  ];
  const points = draw(space, 20240611);

  it('uniform float: KS against U(0.1, 0.6)', () => {
    const xs = points.map((p) => p.dropout as number);
    expect(xs.every((x) => x >= 0.1 && x <= 0.6)).toBe(true);
    expect(ksStatistic(xs, (x) => (x - 0.1) / 0.5)).toBeLessThan(KS_CRITICAL_01);
  });

  it('log-uniform float: KS of log10 against U(-5, -1)', () => {
    const xs = points.map((p) => Math.log10(p.lr as number));
    expect(xs.every((x) => x >= -5 && x <= -1)).toBe(true);
    expect(ksStatistic(xs, (x) => (x + 5) / 4)).toBeLessThan(KS_CRITICAL_01);
    // And it really is log-uniform, not uniform: half the mass lies below 10^-3.
    const uniformCdf = (x: number) => (10 ** x - 1e-5) / (1e-1 - 1e-5);
    expect(ksStatistic(xs, uniformCdf)).toBeGreaterThan(0.3);
  });

  it('choice: chi-square against uniform over 4 values', () => {
    const expected = new Map<unknown, number>(['relu', 'gelu', 'tanh', 'elu'].map((v) => [v, 1 / 4]));
    const counts = countsOf(points, 'act');
    expect([...counts.keys()].every((k) => expected.has(k))).toBe(true);
    expect(chiSquare(counts, expected, N)).toBeLessThan(CHI2_CRITICAL_01[3]);
  });

  it('int: chi-square against uniform over 1..10', () => {
    const expected = new Map<unknown, number>(Array.from({ length: 10 }, (_, i) => [i + 1, 1 / 10]));
    const counts = countsOf(points, 'layers');
    expect([...counts.keys()].every((k) => expected.has(k))).toBe(true);
    expect(chiSquare(counts, expected, N)).toBeLessThan(CHI2_CRITICAL_01[9]);
  });

  it('int with step: chi-square against uniform over the step grid', () => {
    const expected = new Map<unknown, number>([0, 5, 10, 15, 20].map((v) => [v, 1 / 5]));
    const counts = countsOf(points, 'units');
    expect([...counts.keys()].every((k) => expected.has(k))).toBe(true);
    expect(chiSquare(counts, expected, N)).toBeLessThan(CHI2_CRITICAL_01[4]);
  });

  it('log int: chi-square against log-uniform on [low - 0.5, high + 0.5], rounded', () => {
    const span = Math.log(8.5 / 0.5);
    const expected = new Map<unknown, number>(Array.from({ length: 8 }, (_, i) => [i + 1, Math.log((i + 1.5) / (i + 0.5)) / span]));
    const counts = countsOf(points, 'batch');
    expect([...counts.keys()].every((k) => expected.has(k))).toBe(true);
    expect(chiSquare(counts, expected, N)).toBeLessThan(CHI2_CRITICAL_01[7]);
  });

  it('is deterministic per seed', () => {
    expect(draw(space, 7).slice(0, 20)).toEqual(draw(space, 7).slice(0, 20));
    expect(draw(space, 7)[0]).not.toEqual(draw(space, 8)[0]);
  });
});

describe('sampleRandom with conditions', () => {
  it('omits inactive params and samples active ones', () => {
    const space: SearchSpace = [
      { name: 'optimizer', type: 'choice', values: ['sgd', 'adam', 'rmsprop'] },
      { name: 'momentum', type: 'float', low: 0, high: 0.99, condition: { param: 'optimizer', in: ['sgd', 'rmsprop'] } },
      { name: 'nesterov', type: 'choice', values: [true, false], condition: { param: 'optimizer', in: ['sgd'] } },
      { name: 'beta2', type: 'float', low: 0.9, high: 0.9999, condition: { param: 'optimizer', in: ['adam'] } },
    ];
    const points = draw(space, 99);
    const expectedKeys: Record<string, string[]> = {
      sgd: ['momentum', 'nesterov', 'optimizer'],
      adam: ['beta2', 'optimizer'],
      rmsprop: ['momentum', 'optimizer'],
    };
    for (const p of points) expect(Object.keys(p).sort()).toEqual(expectedKeys[p.optimizer as string]);
    expect(new Set(points.map((p) => p.optimizer)).size).toBe(3);
  });
});
