import { describe, expect, it } from 'vitest';
import { buildTargets, decode, gaussianRadius, nms, type HeadBox, type HeadDetection } from '../../src/lib/detect/centernet';
import { mulberry32 } from '../../src/lib/ml/random';

const cfg = { inputSize: 128, stride: 4, numClasses: 3 };

describe('CenterNet targets and decode', () => {
  it('targets → decode recovers the boxes exactly (random boxes, several seeds)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = mulberry32(seed);
      const boxes: HeadBox[] = [];
      // Up to 4 boxes, far enough apart that their centres fall in distinct cells with no taller neighbour.
      for (let tries = 0; boxes.length < 4 && tries < 100; tries++) {
        const w = 0.08 + rand() * 0.3;
        const h = 0.08 + rand() * 0.3;
        const b = { x: rand() * (1 - w), y: rand() * (1 - h), w, h, classIndex: Math.floor(rand() * 3) };
        const far = boxes.every((o) => Math.hypot(o.x + o.w / 2 - b.x - w / 2, o.y + o.h / 2 - b.y - h / 2) > 0.25);
        if (far) boxes.push(b);
      }
      const t = buildTargets(boxes, cfg);
      expect(t.grid).toBe(32);
      expect(t.mask.reduce((s, v) => s + v, 0)).toBe(boxes.length);
      const got = decode(t.heatmap, t.size, t.offset, cfg, { scoreThreshold: 0.99 });
      expect(got).toHaveLength(boxes.length);
      for (const b of boxes) {
        const d = got.find((g) => g.classIndex === b.classIndex && Math.abs(g.x - b.x) < 1e-5 && Math.abs(g.y - b.y) < 1e-5);
        expect(d, `seed ${seed}`).toBeDefined();
        expect(d!.w).toBeCloseTo(b.w, 5);
        expect(d!.h).toBeCloseTo(b.h, 5);
        expect(d!.score).toBe(1);
      }
    }
  });

  it('draws a gaussian peak of 1 at the centre cell, falling off with the CenterNet radius', () => {
    const b = { x: 0.25, y: 0.25, w: 0.5, h: 0.5, classIndex: 1 }; // 16x16 cells, centre cell (16, 16)
    const t = buildTargets([b], cfg);
    const at = (x: number, y: number, c: number) => t.heatmap[(y * 32 + x) * 3 + c];
    expect(at(16, 16, 1)).toBe(1);
    expect(at(16, 16, 0)).toBe(0);
    const r = Math.floor(gaussianRadius(16, 16));
    expect(r).toBeGreaterThan(0);
    const sigma = (2 * r + 1) / 6;
    expect(at(17, 16, 1)).toBeCloseTo(Math.exp(-1 / (2 * sigma * sigma)), 6);
    expect(at(16 + r + 1, 16, 1)).toBe(0);
    expect(t.offset[(16 * 32 + 16) * 2]).toBeCloseTo(0, 6);
    expect(t.size[(16 * 32 + 16) * 2]).toBeCloseTo(16, 5);
  });

  it('keeps the smaller box where two of a class share a centre cell, and counts the collision', () => {
    const big = { x: 0.1, y: 0.1, w: 0.8, h: 0.8, classIndex: 0 };
    const small = { x: 0.45, y: 0.45, w: 0.1, h: 0.1, classIndex: 0 };
    const t = buildTargets([big, small], cfg);
    expect(t.collisions).toBe(1);
    expect(t.size[(16 * 32 + 16) * 2]).toBeCloseTo(3.2, 5);
  });

  it('refuses invalid boxes and mismatched maps', () => {
    expect(() => buildTargets([{ x: 0, y: 0, w: NaN, h: 1, classIndex: 0 }], cfg)).toThrow(/non-finite/);
    expect(() => buildTargets([{ x: 0, y: 0, w: 0.1, h: 0.1, classIndex: 3 }], cfg)).toThrow(/class index 3/);
    expect(() => decode(new Float32Array(10), new Float32Array(10), new Float32Array(10), cfg)).toThrow(/expected maps/);
    expect(() => buildTargets([], { inputSize: 130, stride: 4, numClasses: 1 })).toThrow(/not a multiple/);
  });

  it('decode: 3x3 peaks only, top-K, threshold, clipped to the image', () => {
    const one = { inputSize: 16, stride: 4, numClasses: 1 }; // 4x4 grid
    const heat = new Float32Array(16);
    heat[5] = 0.9; // (1,1)
    heat[6] = 0.8; // (2,1): a neighbour of a higher cell, not a peak
    heat[15] = 0.7; // (3,3)
    heat[12] = 0.2; // (0,3): below the threshold
    const size = new Float32Array(32).fill(2);
    size[30] = 4; // the box at (3,3) is 4 cells wide and sticks out
    size[31] = 4;
    const off = new Float32Array(32).fill(0.5);
    const got = decode(heat, size, off, one, { scoreThreshold: 0.3 });
    expect(got.map((d) => d.score)).toEqual([expect.closeTo(0.9, 6), expect.closeTo(0.7, 6)]);
    expect(got[0]).toMatchObject({ x: 0.125, y: 0.125, w: 0.5, h: 0.5, classIndex: 0 });
    expect(got[1]).toMatchObject({ x: 0.375, y: 0.375, w: 0.625, h: 0.625 });
    expect(decode(heat, size, off, one, { scoreThreshold: 0.1, topK: 1 })).toHaveLength(1);
    expect(decode(heat, size, off, one, { scoreThreshold: 0.1 })).toHaveLength(3);
  });
});

describe('NMS', () => {
  const d = (x: number, score: number, classIndex = 0, w = 0.2): HeadDetection => ({ x, y: 0, w, h: 0.2, classIndex, score });

  it('suppresses overlapping boxes of a class, highest score first', () => {
    const kept = nms([d(0, 0.5), d(0.02, 0.9), d(0.5, 0.4)], 0.5);
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.4]);
  });

  it('keeps overlapping boxes of different classes unless class-agnostic', () => {
    const dets = [d(0, 0.9, 0), d(0, 0.8, 1)];
    expect(nms(dets, 0.5)).toHaveLength(2);
    expect(nms(dets, 0.5, { classAgnostic: true })).toHaveLength(1);
  });

  it('suppresses only above the threshold (IoU exactly at it is kept)', () => {
    // Two 0.3 x 0.2 boxes 0.1 apart: intersection 0.04, union 0.08 → IoU 0.5 (to rounding).
    const a = d(0, 0.9, 0, 0.3);
    const b = d(0.1, 0.8, 0, 0.3);
    const inter = 0.2 * 0.2;
    expect(inter / (0.3 * 0.2 * 2 - inter)).toBeCloseTo(0.5, 12);
    expect(nms([a, b], 0.5 + 1e-9)).toHaveLength(2);
    expect(nms([a, b], 0.49)).toHaveLength(1);
  });

  it('keeps ties in input order, caps the count and skips NaN scores', () => {
    const kept = nms([d(0, 0.5), d(0.5, 0.5), d(0.8, NaN)], 0.5, { maxDetections: 1 });
    expect(kept).toEqual([d(0, 0.5)]);
    expect(nms([d(0, NaN)], 0.5)).toEqual([]);
  });
});
