// The active-learning benchmark (npm run bench:label) must print the same curves every time: the
// pieces it relies on are deterministic. One seeded training round on WASM (with augmentation and
// dropout on) gives bit-identical weights; a whole small simulated run gives the same curve and
// labels the same rows in the same order; another seed does not.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsToReach, simulateCurve, trainRound, type SimConfig, type SimData } from '../../bench/lib/al-sim';
import { buildModel } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';
import { DEFAULT_SETTINGS } from '../../src/lib/train/train-config';

const SIDE = 8;
const CLASSES = 3;

/** Tiny images: class c has a bright bar in row band c, plus noise (some faint, so they are hard). */
function tinyData(n: number): SimData {
  const rand = mulberry32(3);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    const bright = i % 4 === 0 ? 40 : 160;
    const px = new Uint8Array(SIDE * SIDE);
    for (let j = 0; j < px.length; j++) px[j] = Math.floor(rand() * 80) + (Math.floor(Math.floor(j / SIDE) / 3) === c ? bright : 0);
    images.push(px);
    labels.push(c);
  }
  return { images, labels, size: SIDE, channels: 1, numClasses: CLASSES };
}

const settings = { inputSize: SIDE, batchSize: 8 };
const cfg: SimConfig = { start: 6, step: 6, end: 18, schedule: { mode: 'warm', firstSteps: 6, steps: 3 }, settings };

async function weightsAfterRound(data: SimData, seed: number): Promise<Float32Array> {
  const model = buildModel({ kind: 'cnn', inputSize: SIDE, channels: 1, numClasses: CLASSES, dropout: 0.5, filters: 4 }, 1);
  try {
    await trainRound(
      model,
      data,
      Array.from({ length: 24 }, (_, i) => i),
      { ...DEFAULT_SETTINGS, ...settings, augmentation: 0.6, dropout: 0.5 },
      6,
      seed,
    );
    const parts = await Promise.all(model.getWeights().map((w) => w.data() as Promise<Float32Array>));
    return Float32Array.from(parts.flatMap((p) => Array.from(p)));
  } finally {
    model.dispose();
  }
}

describe('the active-learning simulation is deterministic', () => {
  const data = tinyData(90);
  const pool = Array.from({ length: 60 }, (_, i) => i);
  const test = Array.from({ length: 30 }, (_, i) => 60 + i);

  beforeAll(async () => {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTrainingKernels();
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('a seeded training round gives bit-identical weights; another seed different ones', async () => {
    const before = tf.memory().numTensors;
    const a = await weightsAfterRound(data, 5);
    const b = await weightsAfterRound(data, 5);
    const c = await weightsAfterRound(data, 6);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  }, 30_000);

  // BADGE exercises every random source: features, k-means++ draws and the random share.
  for (const strategy of ['badge'] as const) {
    it(`${strategy}: the same seed gives the same curve and the same rows in the same order`, async () => {
      const before = tf.memory().numTensors;
      const a = await simulateCurve(data, pool, test, 1, { strategy, randomShare: 0.2 }, cfg);
      const b = await simulateCurve(data, pool, test, 1, { strategy, randomShare: 0.2 }, cfg);
      const c = await simulateCurve(data, pool, test, 2, { strategy, randomShare: 0.2 }, cfg);
      expect(a.curve.map((p) => p.labels)).toEqual([6, 12, 18]);
      expect(b).toEqual(a);
      expect(new Set(a.labeled).size).toBe(18);
      expect(c.labeled).not.toEqual(a.labeled);
      expect(tf.memory().numTensors).toBe(before);
    }, 30_000);
  }
});

describe('labelsToReach', () => {
  it('interpolates between measured points, and says null when never reached', () => {
    const curve = [
      { labels: 50, accuracy: 0.7 },
      { labels: 100, accuracy: 0.8 },
      { labels: 150, accuracy: 0.9 },
    ];
    expect(labelsToReach(curve, 0.85)).toBe(125);
    expect(labelsToReach(curve, 0.6)).toBe(50);
    expect(labelsToReach(curve, 0.95)).toBeNull();
  });
});
