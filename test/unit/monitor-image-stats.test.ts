import { describe, expect, it } from 'vitest';
import { imageStats, STAT_NAMES } from '../../src/lib/monitor/image-stats';
import { embeddingSketch } from '../../src/lib/monitor/sketch';

function image(w: number, h: number, gray: (x: number, y: number) => number): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = gray(x, y);
      px.set([v, v, v, 255], (y * w + x) * 4);
    }
  }
  return px;
}

describe('imageStats', () => {
  it('all black: brightness 0, contrast 0, sharpness 0', () => {
    const s = imageStats(
      image(40, 20, () => 0),
      40,
      20,
    );
    expect(s).toEqual({ brightness: 0, contrast: 0, sharpness: 0, width: 40, height: 20, aspect: 2 });
    expect(Object.keys(s).sort()).toEqual([...STAT_NAMES].sort());
  });

  it('half black, half white: brightness 0.5, contrast 0.5', () => {
    const s = imageStats(
      image(10, 10, (x) => (x < 5 ? 0 : 255)),
      10,
      10,
    );
    expect(s.brightness).toBeCloseTo(0.5, 6);
    expect(s.contrast).toBeCloseTo(0.5, 6);
  });

  it('uses BT.601 luma', () => {
    const px = new Uint8Array([255, 0, 0, 255]);
    expect(imageStats(px, 1, 1).brightness).toBeCloseTo(0.299, 6);
  });

  it('inverted image has brightness 1 - b and the same contrast', () => {
    const g = (x: number, y: number) => (x * 7 + y * 13) % 256;
    const a = imageStats(image(30, 30, g), 30, 30);
    const b = imageStats(
      image(30, 30, (x, y) => 255 - g(x, y)),
      30,
      30,
    );
    expect(b.brightness).toBeCloseTo(1 - a.brightness, 6);
    expect(b.contrast).toBeCloseTo(a.contrast, 6);
  });

  it('checkerboard is sharper than a smooth gradient', () => {
    // 64x64 so the downscale is the identity: a 1-px checkerboard would alias to a flat image when
    // nearest-neighbour downscaled by an even factor.
    const checker = imageStats(
      image(64, 64, (x, y) => ((x + y) % 2) * 255),
      64,
      64,
    );
    const gradient = imageStats(
      image(64, 64, (x) => x * 4),
      64,
      64,
    );
    // Each interior checker pixel's Laplacian is +-4: variance 16.
    expect(checker.sharpness).toBeCloseTo(16, 6);
    expect(gradient.sharpness).toBeLessThan(1e-4);
  });

  it('bounds the sharpness cost with a 64x64 downscale', () => {
    // 8-px checker blocks survive the 2x nearest-neighbour downscale as 4-px blocks.
    const big = imageStats(
      image(128, 128, (x, y) => ((Math.floor(x / 8) + Math.floor(y / 8)) % 2) * 255),
      128,
      128,
    );
    expect(big.sharpness).toBeGreaterThan(0.5);
    expect(big.aspect).toBe(1);
  });

  it('rejects a short buffer', () => {
    expect(() => imageStats(new Uint8Array(3), 1, 1)).toThrow();
  });
});

describe('embeddingSketch', () => {
  const features = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i) + 0.5);

  it('is deterministic, unit norm and rounded to 4 decimals', () => {
    const s = embeddingSketch(features);
    expect(s).toHaveLength(16);
    expect(embeddingSketch(Array.from(features))).toEqual(s);
    const norm = Math.sqrt(s.reduce((t, v) => t + v * v, 0));
    expect(Math.abs(norm - 1)).toBeLessThan(1e-3);
    expect(s.every((v) => Math.round(v * 1e4) / 1e4 === v)).toBe(true);
  });

  it('depends on the seed and dims; scale-invariant', () => {
    const s = embeddingSketch(features);
    expect(embeddingSketch(features, 16, 8)).not.toEqual(s);
    expect(embeddingSketch(features, 8)).toHaveLength(8);
    expect(embeddingSketch(features.map((v) => v * 3))).toEqual(s);
  });

  it('keeps near inputs near and far inputs far', () => {
    const near = features.map((v, i) => v + (i % 2 ? 0.01 : -0.01));
    const far = Float32Array.from({ length: 128 }, (_, i) => Math.cos(3 * i));
    const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));
    const s = embeddingSketch(features);
    expect(dist(s, embeddingSketch(near))).toBeLessThan(0.1);
    expect(dist(s, embeddingSketch(far))).toBeGreaterThan(0.5);
  });

  it('all-zero features give all zeros', () => {
    expect(embeddingSketch(new Float32Array(10), 4)).toEqual([0, 0, 0, 0]);
  });
});
