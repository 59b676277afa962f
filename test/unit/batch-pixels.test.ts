// The batch loader's pixel building (workers/ml/batch-pixels.ts), shared by the loader worker and
// the in-thread fallback: plain batches scale to 0..1; augmented batches replay from their seed,
// which depends only on the run seed, epoch and batch (not on which thread built what before).
import { describe, expect, it } from 'vitest';
import { augmentSeed, recordsToPixels } from '../../workers/ml/batch-pixels';
import { fromStrength } from '../../src/lib/augment/spec';

const image = (size: number, channels: number, seed: number): ArrayBuffer =>
  Uint8Array.from({ length: size * size * channels }, (_, i) => (i * 37 + seed * 11) % 256).buffer;

describe('recordsToPixels', () => {
  it('scales uint8 HWC to 0..1 floats, image after image', () => {
    const records = [image(4, 3, 1), image(4, 3, 2)];
    const pixels = recordsToPixels(records, { inputSize: 4, channels: 3 });
    expect(pixels.length).toBe(2 * 4 * 4 * 3);
    const second = new Uint8Array(records[1]);
    expect(pixels[48 + 5]).toBeCloseTo(second[5] / 255, 7);
  });

  it('augments reproducibly from the batch seed', () => {
    const records = [image(16, 1, 1), image(16, 1, 2), image(16, 1, 3)];
    const spec = fromStrength(0.8);
    const at = (epoch: number, batch: number) =>
      recordsToPixels(records, { inputSize: 16, channels: 1, augment: { spec, seed: augmentSeed(42, epoch, batch) } });
    expect(Array.from(at(1, 2))).toEqual(Array.from(at(1, 2)));
    expect(Array.from(at(1, 2))).not.toEqual(Array.from(at(1, 3)));
    expect(Array.from(at(1, 2))).not.toEqual(Array.from(at(2, 2)));
    expect(Array.from(at(1, 2))).not.toEqual(Array.from(recordsToPixels(records, { inputSize: 16, channels: 1 })));
  });

  it('gives distinct seeds per run, epoch and batch', () => {
    const seeds = new Set<number>();
    for (const run of [1, 2, 42]) for (let e = 0; e < 20; e++) for (let b = 0; b < 50; b++) seeds.add(augmentSeed(run, e, b));
    expect(seeds.size).toBe(3 * 20 * 50);
  });
});
