import { describe, expect, it } from 'vitest';
import {
  classDistribution,
  confidenceHistogramOverTime,
  DAY_MS,
  histogram,
  HOUR_MS,
  latencySummary,
  MINUTE_MS,
  percentile,
  pickBucket,
  totalVariation,
  volumeOverTime,
} from '../../src/lib/monitor/summary';

describe('percentile', () => {
  it('interpolates linearly like numpy', () => {
    const v = [4, 1, 3, 2];
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(4);
    expect(percentile(v, 50)).toBe(2.5);
    // numpy.percentile([1,2,3,4], 95) == 3.85
    expect(percentile(v, 95)).toBeCloseTo(3.85, 12);
    expect(percentile([7], 30)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('latencySummary', () => {
    const v = Array.from({ length: 101 }, (_, i) => i);
    expect(latencySummary(v)).toEqual({ p50: 50, p95: 95, count: 101 });
    expect(latencySummary([]).count).toBe(0);
  });
});

describe('histogram', () => {
  it('half-open bins, last closed, outliers ignored', () => {
    expect(histogram([0, 0.1, 0.5, 0.99, 1, -0.1, 1.1], [0, 0.5, 1])).toEqual([2, 3]);
    expect(histogram([1, 2, 2, 3], [1, 2, 3])).toEqual([1, 3]);
    expect(histogram([1], [1])).toEqual([]);
  });
});

describe('over time', () => {
  const t0 = 10 * HOUR_MS;
  const entries = [
    { at: t0 + 1000, confidence: 0.95 },
    { at: t0 + 2000, confidence: 1 },
    { at: t0 + 2 * HOUR_MS + 5, confidence: 0.05 },
  ];

  it('counts volume per bucket, zero-filling gaps', () => {
    expect(volumeOverTime(entries, HOUR_MS)).toEqual([
      { start: t0, count: 2 },
      { start: t0 + HOUR_MS, count: 0 },
      { start: t0 + 2 * HOUR_MS, count: 1 },
    ]);
    expect(volumeOverTime([], HOUR_MS)).toEqual([]);
  });

  it('histograms confidence per bucket', () => {
    const rows = confidenceHistogramOverTime(entries, HOUR_MS, 10);
    expect(rows.map((r) => r.start)).toEqual([t0, t0 + HOUR_MS, t0 + 2 * HOUR_MS]);
    expect(rows[0].counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(rows[1].counts).toEqual(Array(10).fill(0));
    expect(rows[2].counts).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('pickBucket', () => {
    expect(pickBucket(30 * MINUTE_MS)).toEqual({ unit: 'minute', ms: MINUTE_MS });
    expect(pickBucket(DAY_MS)).toEqual({ unit: 'hour', ms: HOUR_MS });
    expect(pickBucket(30 * DAY_MS)).toEqual({ unit: 'day', ms: DAY_MS });
  });
});

describe('classDistribution', () => {
  it('compares predicted and training shares', () => {
    const rows = classDistribution(['cat', 'cat', 'dog', 'bird'], { cat: 50, dog: 50 });
    expect(rows).toEqual([
      { name: 'bird', predictedShare: 0.25, trainingShare: 0 },
      { name: 'cat', predictedShare: 0.5, trainingShare: 0.5 },
      { name: 'dog', predictedShare: 0.25, trainingShare: 0.5 },
    ]);
    expect(totalVariation(rows)).toBeCloseTo(0.25, 12);
    expect(classDistribution([], { a: 1 })).toEqual([{ name: 'a', predictedShare: 0, trainingShare: 1 }]);
  });

  it('sorts class names naturally', () => {
    expect(classDistribution(['c10', 'c2'], {}).map((r) => r.name)).toEqual(['c2', 'c10']);
  });
});
