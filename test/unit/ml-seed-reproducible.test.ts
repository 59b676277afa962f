// A seed reproduces a run: the same seed, data and settings give bit-identical weights on the CPU
// and WASM backends. The run goes through everything that draws random numbers in training:
// seeded initialisation (buildModel), the per-epoch shuffle and per-batch augmentation of the
// batch stream (streamedEpochs + recordsToPixels, as the batch loader builds batches), and
// dropout (trainLoop's per-step seeds). A different seed gives different weights.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { dropoutSeed, trainLoop } from '../../src/lib/ml/train-loop';
import { makeOptimizer, disposeOptimizer } from '../../src/lib/ml/optimizers';
import { fromStrength } from '../../src/lib/augment/spec';
import { augmentSeed, recordsToPixels } from '../../workers/ml/batch-pixels';
import { pixelsToBatch, streamedEpochs } from '../../workers/ml/data-feed';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';

const SIDE = 8;
const CLASSES = 3;
const N = 24;
const config = { inputSize: SIDE, channels: 1 as const, resize: 'pad' as const, background: [0, 0, 0] as [number, number, number] };

/** Tiny images: class c has a bright bar in row band c, plus noise. */
const images: ArrayBuffer[] = [];
const items = Array.from({ length: N }, (_, i) => ({ id: `s${i}`, classIndex: i % CLASSES }));
{
  const rand = mulberry32(3);
  for (const { classIndex } of items) {
    const px = new Uint8Array(SIDE * SIDE);
    for (let j = 0; j < px.length; j++) px[j] = Math.floor(rand() * 60) + (Math.floor(Math.floor(j / SIDE) / 3) === classIndex ? 180 : 0);
    images.push(px.buffer);
  }
}
const byId = new Map(items.map((it, i) => [it.id, images[i]]));

/** Two epochs of a small CNN with dropout and augmentation on; returns every weight's bytes. */
async function trainOnce(seed: number): Promise<Uint8Array> {
  const spec = fromStrength(0.6);
  const data = streamedEpochs(
    items,
    8,
    seed,
    async (ids, at) =>
      recordsToPixels(
        ids.map((id) => byId.get(id)!),
        { inputSize: SIDE, channels: 1, augment: { spec, seed: augmentSeed(seed, at.epoch, at.batch) } },
      ),
    (pixels, classes) => pixelsToBatch(pixels, classes, config, CLASSES),
  );
  const model = buildModel({ kind: 'cnn', inputSize: SIDE, channels: 1, numClasses: CLASSES, dropout: 0.5, filters: 4 }, seed);
  const optimizer = makeOptimizer('adam', 0.01);
  try {
    const out = await trainLoop(model, data, { epochs: 2, optimizer, shouldStop: () => false, seed });
    expect(out.status).toBe('completed');
    // The per-step dropout seeds are gone again: the saved configuration is the layer's own.
    const dropout = model.layers.find((l) => l.getClassName() === 'Dropout') as unknown as { seed?: number };
    expect(dropout.seed).toBeUndefined();
    const parts = await Promise.all(model.getWeights().map((w) => w.data()));
    const bytes = parts.map((p) => new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    const all = new Uint8Array(bytes.reduce((s, b) => s + b.length, 0));
    let o = 0;
    for (const b of bytes) (all.set(b, o), (o += b.length));
    return all;
  } finally {
    model.dispose();
    disposeOptimizer(optimizer);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('a seed reproduces a run', () => {
  beforeAll(() => {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTrainingKernels();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('dropout seeds differ per step, layer and run seed', () => {
    const seeds = new Set([
      dropoutSeed(1, 0, 0, 0),
      dropoutSeed(1, 0, 1, 0),
      dropoutSeed(1, 1, 0, 0),
      dropoutSeed(1, 0, 0, 1),
      dropoutSeed(2, 0, 0, 0),
    ]);
    expect(seeds.size).toBe(5);
    expect(dropoutSeed(1, 2, 3, 0)).toBe(dropoutSeed(1, 2, 3, 0));
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: the same seed gives bit-identical weights, another seed different ones`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const tensorsBefore = tf.memory().numTensors;
      const a = await trainOnce(11);
      const b = await trainOnce(11);
      const c = await trainOnce(12);
      expect(a.length).toBeGreaterThan(0);
      expect(sameBytes(a, b)).toBe(true);
      expect(sameBytes(a, c)).toBe(false);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    }, 60_000);
  }
});
