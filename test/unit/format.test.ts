import { describe, expect, it } from 'vitest';
import { Throttle, estimateRemainingMs, formatBytes, formatDuration } from '../../src/lib/util/format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KB'],
    [1536, '1.5 KB'],
    [1024 * 1024 - 1, '1.0 MB'],
    [5.25 * 1024 ** 2, '5.3 MB'],
    [1024 ** 3, '1.0 GB'],
    [3 * 1024 ** 4, '3072.0 GB'],
    [-2048, '-2.0 KB'],
    [Number.NaN, '–'],
  ])('%d -> %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [45_000, '45 s'],
    [59_400, '59 s'],
    [59_600, '1 min 00 s'],
    [185_000, '3 min 05 s'],
    [3_599_000, '59 min 59 s'],
    [3_600_000, '1 h 00 min'],
    [3_720_000, '1 h 02 min'],
    [26 * 3_600_000 + 5 * 60_000, '26 h 05 min'],
    [-1, '–'],
    [Number.POSITIVE_INFINITY, '–'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('estimateRemainingMs', () => {
  it('extrapolates linearly', () => {
    expect(estimateRemainingMs(25, 100, 10_000)).toBe(30_000);
    expect(estimateRemainingMs(1, 3, 500)).toBe(1000);
  });

  it('is null without progress and 0 when done', () => {
    expect(estimateRemainingMs(0, 100, 5000)).toBeNull();
    expect(estimateRemainingMs(10, 100, 0)).toBeNull();
    expect(estimateRemainingMs(0, 0, 0)).toBeNull();
    expect(estimateRemainingMs(Number.NaN, 100, 5)).toBeNull();
    expect(estimateRemainingMs(100, 100, 5000)).toBe(0);
    expect(estimateRemainingMs(120, 100, 5000)).toBe(0);
  });
});

describe('Throttle', () => {
  it('is ready at most once per interval', () => {
    let t = 1000;
    const throttle = new Throttle(125, () => t);
    expect(throttle.ready()).toBe(true);
    expect(throttle.ready()).toBe(false);
    t += 124;
    expect(throttle.ready()).toBe(false);
    t += 1;
    expect(throttle.ready()).toBe(true);
    t += 50;
    expect(throttle.ready()).toBe(false);
    t += 1000;
    expect(throttle.ready()).toBe(true);
  });

  it('is ready at time zero on its first call and uses a real clock by default', () => {
    expect(new Throttle(125, () => 0).ready()).toBe(true);
    const real = new Throttle(60_000);
    expect(real.ready()).toBe(true);
    expect(real.ready()).toBe(false);
  });
});
