import { describe, expect, it } from 'vitest';
import {
  augmentBoxes,
  augmentPixels,
  cropBoxes,
  drawCrop,
  flipBoxesHorizontal,
  type DetectionAugmentSpec,
} from '../../src/lib/detect/augment-boxes';
import { mulberry32 } from '../../src/lib/ml/random';

const box = (x: number, y: number, w: number, h: number, label = 'a') => ({ x, y, w, h, label });

describe('box geometry', () => {
  it('flips horizontally (and twice is the identity)', () => {
    const b = [box(0.1, 0.2, 0.3, 0.4)];
    const f = flipBoxesHorizontal(b);
    expect(f[0].x).toBeCloseTo(0.6, 12);
    expect(f[0]).toMatchObject({ y: 0.2, w: 0.3, h: 0.4, label: 'a' });
    expect(flipBoxesHorizontal(f)[0].x).toBeCloseTo(0.1, 12);
  });

  it('crops: maps into the crop, clips cut boxes, drops and reports boxes mostly outside', () => {
    const crop = { x: 0.5, y: 0, w: 0.5, h: 0.5 };
    const r = cropBoxes([box(0.6, 0.1, 0.2, 0.2), box(0.4, 0.1, 0.2, 0.2), box(0.42, 0.1, 0.1, 0.1), box(0, 0.8, 0.1, 0.1)], crop, 0.4);
    expect(r.kept).toEqual([0, 1]);
    expect(r.clipped).toEqual([1]);
    expect(r.dropped.map((d) => d.index)).toEqual([2, 3]);
    expect(r.dropped[0].visible).toBeCloseTo(0.2, 12);
    expect(r.dropped[1].visible).toBe(0);
    const [a, b] = r.boxes;
    expect(a.x).toBeCloseTo(0.2, 12);
    expect(a.w).toBeCloseTo(0.4, 12);
    expect(a.h).toBeCloseTo(0.4, 12);
    expect(b.x).toBeCloseTo(0, 12);
    expect(b.w).toBeCloseTo(0.2, 12);
  });
});

describe('seeded augmentation', () => {
  const spec: DetectionAugmentSpec = { hflip: 0.5, crop: 1, minArea: 0.3, maxAspect: 4 / 3, minVisible: 0.4 };
  const boxes = [box(0.1, 0.1, 0.2, 0.2, 'a'), box(0.6, 0.5, 0.3, 0.3, 'b')];

  it('replays from a seed and draws exactly six numbers whatever the spec', () => {
    expect(augmentBoxes(boxes, spec, mulberry32(7))).toEqual(augmentBoxes(boxes, spec, mulberry32(7)));
    for (const s of [spec, { ...spec, hflip: 0, crop: 0 }]) {
      let n = 0;
      const r = mulberry32(1);
      augmentBoxes(boxes, s, () => (n++, r()));
      expect(n).toBe(6);
    }
  });

  it('keeps every box inside 0..1 and accounts for every input box', () => {
    for (let seed = 0; seed < 200; seed++) {
      const r = augmentBoxes(boxes, spec, mulberry32(seed));
      expect(r.kept.length + r.dropped.length).toBe(boxes.length);
      for (const b of r.boxes) {
        expect(b.x).toBeGreaterThanOrEqual(-1e-12);
        expect(b.y).toBeGreaterThanOrEqual(-1e-12);
        expect(b.x + b.w).toBeLessThanOrEqual(1 + 1e-12);
        expect(b.y + b.h).toBeLessThanOrEqual(1 + 1e-12);
        expect(b.w).toBeGreaterThan(0);
      }
      const c = drawCrop(mulberry32(seed), 0.3, 4 / 3);
      expect(c.w * c.h).toBeGreaterThan(0.3 * 0.74);
      expect(c.x + c.w).toBeLessThanOrEqual(1);
    }
  });

  it('moves the pixels with the boxes: a bright rectangle lands where its box says', () => {
    const S = 64;
    const src = new Uint8Array(S * S);
    const b = box(10 / S, 20 / S, 16 / S, 12 / S);
    for (let y = 20; y < 32; y++) for (let x = 10; x < 26; x++) src[y * S + x] = 255;
    const out = new Float32Array(S * S);
    let checked = 0;
    const wrong: string[] = [];
    for (let seed = 0; seed < 30; seed++) {
      const r = augmentBoxes([b], { ...spec, minVisible: 0.99 }, mulberry32(seed));
      augmentPixels(src, { width: S, height: S, channels: 1 }, r, S, out);
      if (r.boxes.length === 0) continue;
      const nb = r.boxes[0];
      // Every output pixel well inside the box is bright; every one well outside is dark.
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const u = (x + 0.5) / S;
          const v = (y + 0.5) / S;
          const margin = 2 / S / Math.min(r.crop.w, r.crop.h) + 1 / S;
          const inside = u > nb.x + margin && u < nb.x + nb.w - margin && v > nb.y + margin && v < nb.y + nb.h - margin;
          const outside = u < nb.x - margin || u > nb.x + nb.w + margin || v < nb.y - margin || v > nb.y + nb.h + margin;
          if (inside && !(out[y * S + x] > 250)) wrong.push(`seed ${seed} (${x}, ${y}) dark inside`);
          if (outside && !(out[y * S + x] < 5)) wrong.push(`seed ${seed} (${x}, ${y}) bright outside`);
        }
      }
      checked++;
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });
});
