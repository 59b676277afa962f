// The pure parts of synchronous data parallelism: shards, loss weights, slot layout, the fixed
// reduce order and the barrier over an Int32Array.
import { describe, expect, it } from 'vitest';
import { cpuThreads, MAX_CPU_THREADS } from '../../src/lib/ml/data-parallel/threads';
import { validateSettings, withDefaults } from '../../src/lib/train/train-config';
import {
  Barrier,
  BarrierAbortedError,
  barrierCells,
  planShards,
  reduceSlots,
  sharedBytes,
  shardLossScale,
  slotLayout,
  slotView,
} from '../../src/lib/ml/data-parallel/plan';

describe('planShards', () => {
  it('splits a batch into contiguous shards, the first ones one row longer', () => {
    expect(planShards(64, 2)).toEqual([
      { start: 0, rows: 32 },
      { start: 32, rows: 32 },
    ]);
    expect(planShards(10, 4)).toEqual([
      { start: 0, rows: 3 },
      { start: 3, rows: 3 },
      { start: 6, rows: 2 },
      { start: 8, rows: 2 },
    ]);
    expect(planShards(2, 3)).toEqual([
      { start: 0, rows: 1 },
      { start: 1, rows: 1 },
      { start: 2, rows: 0 },
    ]);
  });

  it('covers every row once, and the loss weights sum to one', () => {
    for (const [rows, workers] of [
      [1, 1],
      [7, 3],
      [64, 16],
      [33, 5],
      [3, 8],
    ]) {
      const shards = planShards(rows, workers);
      expect(shards.length).toBe(workers);
      let next = 0;
      for (const s of shards) {
        expect(s.start).toBe(next);
        next += s.rows;
      }
      expect(next).toBe(rows);
      expect(shards.reduce((sum, s) => sum + shardLossScale(s, rows), 0)).toBeCloseTo(1, 12);
    }
  });

  it('rejects an empty batch and a worker count below one', () => {
    expect(() => planShards(0, 2)).toThrow(/at least one row/);
    expect(() => planShards(8, 0)).toThrow(/at least one worker/);
    expect(() => planShards(8, 1.5)).toThrow(/at least one worker/);
  });
});

describe('slots', () => {
  it('lays tensors end to end and gives each worker its own slot in each bank', () => {
    const layout = slotLayout([6, 0, 4]);
    expect(layout).toEqual({ offsets: [0, 6, 6], sizes: [6, 0, 4], length: 10 });
    expect(() => slotLayout([3, -1])).toThrow(/non-negative/);
    const buffer = new SharedArrayBuffer(sharedBytes(3, layout.length));
    const views = [0, 1].flatMap((bank) => [0, 1, 2].map((w) => slotView(buffer, 3, layout.length, bank as 0 | 1, w)));
    views.forEach((v, i) => v.fill(i + 1));
    views.forEach((v, i) => expect([...v]).toEqual(Array(10).fill(i + 1)));
    expect(barrierCells(buffer).every((c) => c === 0)).toBe(true);
    expect(() => slotView(buffer, 3, 10, 0, 3)).toThrow(/No worker 3/);
  });

  it('sums slots in worker order, rounding once, the same bits whoever runs it', () => {
    const a = Float32Array.from([1e8, 1, 0.1]);
    const b = Float32Array.from([1, -1e8, 0.2]);
    const c = Float32Array.from([-1e8, 1e8, 0.3]);
    const out = reduceSlots([a, b, c], new Float32Array(3));
    // In double precision 1e8 + 1 - 1e8 is 1 (float32 accumulation would give 0).
    expect([...out]).toEqual([1, 1, Math.fround(Math.fround(0.1) + Math.fround(0.2) + Math.fround(0.3))]);
    expect([...reduceSlots([a, b, c], new Float32Array(3))]).toEqual([...out]);
    expect([...reduceSlots([Float32Array.from([2, 4])], new Float32Array(2), 0.5)]).toEqual([1, 2]);
    expect(() => reduceSlots([], new Float32Array(1))).toThrow(/Nothing/);
    expect(() => reduceSlots([new Float32Array(1)], new Float32Array(2))).toThrow(/holds 1/);
  });
});

describe('Barrier', () => {
  it('lets a single party through every time', () => {
    const cells = new Int32Array(new SharedArrayBuffer(16));
    const barrier = new Barrier(cells, 1);
    for (let i = 0; i < 3; i++) barrier.arrive(1000);
    expect(cells[1]).toBe(3);
    expect(cells[0]).toBe(0);
  });

  it('times out instead of hanging when a party never comes, and aborts for everyone', () => {
    const cells = new Int32Array(new SharedArrayBuffer(16));
    const barrier = new Barrier(cells, 2);
    const t0 = performance.now();
    expect(() => barrier.arrive(60)).toThrow(BarrierAbortedError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(barrier.aborted).toBe(true);
    expect(() => new Barrier(cells, 2).arrive(10_000)).toThrow(/another training worker failed/);
  });

  it('rejects bad construction', () => {
    expect(() => new Barrier(new Int32Array(2), 2)).toThrow(/three/);
    expect(() => new Barrier(new Int32Array(4), 0)).toThrow(/at least one party/);
  });
});

describe('cpuThreads', () => {
  it('leaves a core free by default, capped, and never exceeds the cores', () => {
    expect(cpuThreads(8)).toBe(7);
    expect(cpuThreads(2)).toBe(1);
    expect(cpuThreads(1)).toBe(1);
    expect(cpuThreads(undefined)).toBe(1);
    expect(cpuThreads(64)).toBe(MAX_CPU_THREADS);
    expect(cpuThreads(8, 0)).toBe(7);
    expect(cpuThreads(8, 3)).toBe(3);
    expect(cpuThreads(2, 4)).toBe(2);
  });

  it('rejects a cap that is not a whole number from 1 to the maximum', () => {
    expect(() => cpuThreads(8, -1)).toThrow(/CPU threads must be/);
    expect(() => cpuThreads(8, 2.5)).toThrow(/CPU threads must be/);
    expect(() => cpuThreads(8, MAX_CPU_THREADS + 1)).toThrow(/CPU threads must be/);
  });
});

describe('the CPU threads setting', () => {
  it('is refused with a reason unless a whole number from 0 (automatic) to the maximum', () => {
    expect(validateSettings(withDefaults({}))).toBeNull();
    expect(validateSettings(withDefaults({ cpuThreads: 0 }))).toBeNull();
    expect(validateSettings(withDefaults({ cpuThreads: 4 }))).toBeNull();
    for (const bad of [-1, 1.5, MAX_CPU_THREADS + 1, NaN])
      expect(validateSettings(withDefaults({ cpuThreads: bad }))).toMatch(/CPU threads must be/);
  });
});
