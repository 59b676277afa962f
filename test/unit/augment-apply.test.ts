// Throughput is measured by `npm run bench:augment`, never asserted here.
import { describe, expect, it } from 'vitest';
import { augmentImage } from '../../src/lib/augment/apply';
import { previewGrid } from '../../src/lib/augment/preview';
import { fromStrength, NO_AUGMENTATION, type AugmentationSpec } from '../../src/lib/augment/spec';
import { mulberry32 } from '../../src/lib/ml/random';

const spec = (s: Partial<AugmentationSpec>): AugmentationSpec => ({ ...NO_AUGMENTATION, ...s });

function run(
  src: Uint8Array,
  size: number,
  channels: number,
  s: Partial<AugmentationSpec>,
  rand: () => number = mulberry32(1),
): Float32Array {
  const out = new Float32Array(size * size * channels);
  augmentImage(src, { size, channels }, spec(s), rand, out, 0);
  return out;
}

function randomImage(size: number, channels: number, seed: number, lo = 0, hi = 255): Uint8Array {
  const rand = mulberry32(seed);
  return Uint8Array.from({ length: size * size * channels }, () => lo + Math.floor(rand() * (hi - lo + 1)));
}

const meanOf = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
const stdOf = (a: Float32Array) => {
  const m = meanOf(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) * (v - m), 0) / a.length);
};

describe('augmentImage', () => {
  it('identity reproduces src / 255 exactly, at an offset', () => {
    const src = randomImage(8, 3, 1);
    const out = new Float32Array(10 + src.length);
    augmentImage(src, { size: 8, channels: 3 }, NO_AUGMENTATION, mulberry32(5), out, 10);
    expect(Array.from(out.subarray(10))).toEqual(Array.from(Float32Array.from(src, (v) => v / 255)));
    expect(Array.from(out.subarray(0, 10))).toEqual(Array(10).fill(0));
  });

  it('hflip and vflip of a 3x3 are exact', () => {
    const src = Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80]);
    const h = run(src, 3, 1, { hflip: 1 });
    expect(Array.from(h, (v) => Math.round(v * 255))).toEqual([20, 10, 0, 50, 40, 30, 80, 70, 60]);
    expect(Array.from(h)).toEqual(Array.from(Float32Array.from([20, 10, 0, 50, 40, 30, 80, 70, 60], (v) => v / 255)));
    const v = run(src, 3, 1, { vflip: 1 });
    expect(Array.from(v, (x) => Math.round(x * 255))).toEqual([60, 70, 80, 30, 40, 50, 0, 10, 20]);
  });

  it('hflip keeps pixels of a colour image together', () => {
    const src = Uint8Array.from([255, 0, 0, 0, 0, 255, 0, 255, 0, 9, 9, 9]); // 2x2 RGB
    expect(Array.from(run(src, 2, 3, { hflip: 1 }), (v) => Math.round(v * 255))).toEqual([0, 0, 255, 255, 0, 0, 9, 9, 9, 0, 255, 0]);
  });

  it('180° rotation matches a double flip on interior pixels', () => {
    const size = 8;
    const src = randomImage(size, 1, 2);
    // A rand stuck just below 1 draws the largest angle: 180° less ~1e-5°.
    const rotated = run(src, size, 1, { rotation: 180 }, () => 1 - 1e-9);
    const flipped = run(src, size, 1, { hflip: 1, vflip: 1 }, () => 0);
    for (let y = 1; y < size - 1; y++) {
      for (let x = 1; x < size - 1; x++) expect(Math.abs(rotated[y * size + x] - flipped[y * size + x])).toBeLessThan(1e-3);
    }
  });

  it('rotation leaves background 0 in the corners', () => {
    const src = new Uint8Array(16 * 16).fill(200);
    const out = run(src, 16, 1, { rotation: 45 }, () => 1 - 1e-9);
    expect(out[0]).toBe(0);
    expect(out[8 * 16 + 8]).toBeCloseTo(200 / 255, 5);
  });

  it('resized crop zooms in: a centred dot grows', () => {
    const size = 32;
    const src = new Uint8Array(size * size);
    for (let y = 14; y < 18; y++) for (let x = 14; x < 18; x++) src[y * size + x] = 255;
    // rand() = 0.5: area 1 - 0.9 * 0.5 = 0.55, square aspect, centred crop.
    const out = run(src, size, 1, { resizedCrop: 0.9 }, () => 0.5);
    const lit = (a: ArrayLike<number>, scale: number) => Array.from(a).filter((v) => v / scale > 0.5).length;
    expect(lit(src, 255)).toBe(16);
    expect(lit(out, 1)).toBeGreaterThan(24);
    expect(lit(out, 1)).toBeLessThan(36);
  });

  it('brightness scales the mean', () => {
    const src = randomImage(16, 1, 3, 20, 120);
    const base = meanOf(run(src, 16, 1, {}));
    // rand() = 0.75 draws factor 1 + 0.5 * 0.4 = 1.2 (no clipping below 120 * 1.2).
    expect(meanOf(run(src, 16, 1, { brightness: 0.4 }, () => 0.75))).toBeCloseTo(base * 1.2, 5);
  });

  it('contrast keeps the mean; factor 0 flattens to it', () => {
    const src = randomImage(16, 1, 4, 80, 170);
    const base = run(src, 16, 1, {});
    const stronger = run(src, 16, 1, { contrast: 1 }, () => 0.95); // factor 1.9, no clipping
    expect(meanOf(stronger)).toBeCloseTo(meanOf(base), 5);
    expect(stdOf(stronger)).toBeCloseTo(stdOf(base) * 1.9, 4);
    const flat = run(src, 16, 1, { contrast: 1 }, () => 0); // factor 0
    expect(stdOf(flat)).toBeLessThan(1e-6);
    expect(meanOf(flat)).toBeCloseTo(meanOf(base), 5);
  });

  it('saturation changes colour but gray stays gray', () => {
    const colour = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => [200, 80, 40][i % 3]);
    const out = run(colour, 4, 3, { saturation: 1 }, () => 0.9); // factor 1.8
    expect(out[0]).not.toBeCloseTo(200 / 255, 3);
    expect(out[0] - out[1]).toBeGreaterThan((200 - 80) / 255);
    const grayTone = new Uint8Array(4 * 4 * 3).fill(120);
    const g = run(grayTone, 4, 3, { saturation: 1 }, () => 0.9);
    for (const v of g) expect(v).toBeCloseTo(120 / 255, 5);
    // factor 0 turns colour into its luma.
    const desat = run(colour, 4, 3, { saturation: 1 }, () => 0);
    expect(desat[0]).toBeCloseTo(desat[1], 6);
    expect(desat[0]).toBeCloseTo((0.299 * 200 + 0.587 * 80 + 0.114 * 40) / 255, 5);
  });

  it('cutout zeroes side² pixels', () => {
    const src = new Uint8Array(20 * 20).fill(255);
    const out = run(src, 20, 1, { cutout: 0.25 });
    expect(out.filter((v) => v === 0).length).toBe(25);
    const rgb = run(new Uint8Array(20 * 20 * 3).fill(255), 20, 3, { cutout: 0.5 });
    expect(rgb.filter((v) => v === 0).length).toBe(100 * 3);
  });

  it('noise adds roughly the requested std', () => {
    const src = new Uint8Array(64 * 64).fill(128);
    const out = run(src, 64, 1, { noise: 0.1 });
    expect(meanOf(out)).toBeCloseTo(128 / 255, 2);
    expect(stdOf(out)).toBeGreaterThan(0.095);
    expect(stdOf(out)).toBeLessThan(0.105);
  });

  it('replays exactly from a seed and differs with another', () => {
    const src = randomImage(24, 3, 5);
    const all = {
      hflip: 0.5,
      vflip: 0.5,
      rotation: 30,
      resizedCrop: 0.3,
      brightness: 0.3,
      contrast: 0.3,
      saturation: 0.3,
      noise: 0.05,
      cutout: 0.2,
    };
    const a = run(src, 24, 3, all, mulberry32(11));
    expect(Array.from(run(src, 24, 3, all, mulberry32(11)))).toEqual(Array.from(a));
    expect(Array.from(run(src, 24, 3, all, mulberry32(12)))).not.toEqual(Array.from(a));
    expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('draws a fixed number of values before noise, whatever is switched on', () => {
    let calls = 0;
    const counting = () => (calls++, 0.3);
    run(randomImage(4, 1, 6), 4, 1, {}, counting);
    expect(calls).toBe(12);
    calls = 0;
    run(randomImage(4, 1, 6), 4, 1, { rotation: 10, cutout: 0.5 }, counting);
    expect(calls).toBe(12);
  });

  it('rejects buffers that are too small', () => {
    expect(() => augmentImage(new Uint8Array(3), { size: 2, channels: 1 }, NO_AUGMENTATION, Math.random, new Float32Array(4), 0)).toThrow();
    expect(() => augmentImage(new Uint8Array(4), { size: 2, channels: 1 }, NO_AUGMENTATION, Math.random, new Float32Array(4), 1)).toThrow();
  });

  it('maps the old single knob at strength 0 to the identity', () => {
    const out = new Float32Array(16);
    augmentImage(new Uint8Array(16).fill(255), { size: 4, channels: 1 }, fromStrength(0), mulberry32(1), out, 0);
    expect(Array.from(out)).toEqual(Array(16).fill(1));
  });
});

describe('previewGrid', () => {
  it('gives count deterministic, distinct variants', () => {
    const src = randomImage(12, 3, 7);
    const s = spec({ hflip: 0.5, rotation: 20, brightness: 0.3 });
    const a = previewGrid(src, { size: 12, channels: 3 }, s, 42, 4);
    expect(a).toHaveLength(4);
    expect(a.map((t) => Array.from(t))).toEqual(previewGrid(src, { size: 12, channels: 3 }, s, 42, 4).map((t) => Array.from(t)));
    expect(Array.from(a[0])).not.toEqual(Array.from(a[1]));
    expect(Array.from(previewGrid(src, { size: 12, channels: 3 }, s, 43, 1)[0])).not.toEqual(Array.from(a[0]));
  });
});
