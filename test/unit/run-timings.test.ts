import { describe, expect, it } from 'vitest';
import { runTimings } from '../../src/lib/train/run-timings';

describe('runTimings', () => {
  it('times a fresh run from its own loop', () => {
    expect(runTimings({ loopMs: 10_000, epochsDone: 4, startEpoch: 0, trainImages: 500 })).toEqual({
      trainMs: 10_000,
      epochs: 4,
      imagesPerSecond: 200,
    });
  });

  it('counts a registered trial’s own training time instead of showing 0 s and 0 img/s', () => {
    // Registering a trial trains no epoch: the loop takes ~0 ms and starts at the final epoch.
    const t = runTimings({ loopMs: 3, epochsDone: 6, startEpoch: 6, trainImages: 3500, priorMs: 36_000 });
    expect(t.epochs).toBe(6);
    expect(t.trainMs).toBe(36_003);
    expect(t.imagesPerSecond).toBeCloseTo((6 * 3500) / 36.003, 6);
  });

  it('times only this session’s epochs of a resumed run when the earlier time is unknown', () => {
    expect(runTimings({ loopMs: 5_000, epochsDone: 6, startEpoch: 4, trainImages: 1000 }).imagesPerSecond).toBe(400);
  });

  it('gives 0 img/s, not NaN or Infinity, when nothing was trained or timed', () => {
    expect(runTimings({ loopMs: 0, epochsDone: 3, startEpoch: 3, trainImages: 100 }).imagesPerSecond).toBe(0);
    expect(runTimings({ loopMs: 0, epochsDone: 3, startEpoch: 3, trainImages: 100, priorMs: Number.NaN }).trainMs).toBe(0);
  });
});
