// Turns preprocessed records (HWC uint8) into one batch of model input (0..1 float32), augmented
// or not. Shared by the batch loader worker and the in-thread fallback, so both give the same
// numbers; it imports no TF.js, which keeps the loader's chunk small.
import { augmentImage } from '../../src/lib/augment/apply';
import { fmix32, mulberry32 } from '../../src/lib/ml/random';
import type { BatchPixelsRequest } from '../../src/contracts/training';
export type { BatchPixelsRequest };

/**
 * The seed of one training batch's augmentation: a function of the run seed, the epoch and the
 * batch, so a batch's augmentation does not depend on which thread built it or on what was built
 * before it (a resumed run replays the same draws).
 */
export function augmentSeed(runSeed: number, epoch: number, batch: number): number {
  return fmix32((fmix32((fmix32((runSeed ^ 0x9e3779b9) >>> 0) + epoch) >>> 0) + batch) >>> 0);
}

/** records[i] holds one image's HWC uint8 values; the result is [n, size, size, channels] in 0..1. */
export function recordsToPixels(records: ArrayBuffer[], req: Pick<BatchPixelsRequest, 'inputSize' | 'channels' | 'augment'>): Float32Array {
  const size = req.inputSize * req.inputSize * req.channels;
  const pixels = new Float32Array(records.length * size);
  const rand = req.augment ? mulberry32(req.augment.seed) : null;
  records.forEach((data, i) => {
    const src = new Uint8Array(data);
    const offset = i * size;
    if (req.augment && rand) augmentImage(src, { size: req.inputSize, channels: req.channels }, req.augment.spec, rand, pixels, offset);
    else for (let j = 0; j < size; j++) pixels[offset + j] = src[j] / 255;
  });
  return pixels;
}
