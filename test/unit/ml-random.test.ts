import { describe, expect, it } from 'vitest';
import { hashString, mulberry32, seedStream, shuffleInPlace } from '../../src/lib/ml/random';

describe('random', () => {
  it('mulberry32 is deterministic, in [0, 1) and seed-sensitive', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(43)()).not.toBe(xs[0]);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('shuffleInPlace permutes deterministically', () => {
    const arr = Array.from({ length: 20 }, (_, i) => i);
    const s1 = shuffleInPlace([...arr], mulberry32(7));
    const s2 = shuffleInPlace([...arr], mulberry32(7));
    expect(s1).toEqual(s2);
    expect(s1).not.toEqual(arr);
    expect([...s1].sort((x, y) => x - y)).toEqual(arr);
    expect(shuffleInPlace([], mulberry32(1))).toEqual([]);
  });

  it('hashString is a stable unsigned 32-bit hash that separates similar strings', () => {
    expect(hashString('cat')).toBe(hashString('cat'));
    expect(hashString('cat')).not.toBe(hashString('cats'));
    for (const s of ['', 'a', 'ü', 'a long label with spaces']) {
      const h = hashString(s);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    }
  });

  it('seedStream gives distinct positive integer seeds', () => {
    const next = seedStream(1);
    const seeds = Array.from({ length: 50 }, next);
    expect(new Set(seeds).size).toBe(50);
    expect(seeds.every((s) => Number.isInteger(s) && s > 0 && s < 2 ** 31)).toBe(true);
  });
});
