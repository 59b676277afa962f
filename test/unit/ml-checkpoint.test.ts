import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import {
  allFinite,
  captureOptimizer,
  captureWeights,
  restoreOptimizer,
  restoreWeights,
  type WeightsBlob,
} from '../../src/lib/ml/checkpoint';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

// Batch norm makes the checkpoint include non-trainable weights (moving mean/variance).
const CONFIG: ArchitectureConfig = { kind: 'mobilenet', inputSize: 32, channels: 1, numClasses: 3, dropout: 0, widthMultiplier: 0.25 };
const values = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((v, i) => v.map((x, j) => Math.abs(x - b[i][j]))));

/** One Adam step on random data so the optimizer has moments and an iteration count. */
function step(model: tf.LayersModel, opt: tf.Optimizer): void {
  tf.tidy(() => {
    const xs = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 5);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3).toFloat();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
  });
}

describe('checkpoint', () => {
  it('round-trips model weights (batch-norm statistics included) without leaks', async () => {
    const before = tf.memory().numTensors;
    const a = buildModel(CONFIG, 1);
    const b = buildModel(CONFIG, 2);
    const blob = await captureWeights(a);
    expect(blob.specs.length).toBe(a.weights.length);
    expect(blob.specs.some((s) => /moving_mean/.test(s.name))).toBe(true);
    expect(blob.data.byteLength).toBe(a.countParams() * 4);
    expect(values(b)).not.toEqual(values(a));
    restoreWeights(b, blob);
    expect(values(b)).toEqual(values(a));
    expect(allFinite(blob)).toBe(true);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses mismatched, truncated or non-finite checkpoints with a clear error', async () => {
    const before = tf.memory().numTensors;
    const model = buildModel({ kind: 'mlp', inputSize: 4, channels: 1, numClasses: 2, dropout: 0, hidden: [8] }, 1);
    const other = buildModel({ kind: 'mlp', inputSize: 4, channels: 1, numClasses: 3, dropout: 0, hidden: [8] }, 1);
    const blob = await captureWeights(model);
    const original = values(model);
    expect(() => restoreWeights(other, blob)).toThrow(/expects float32\[8,3\]/);
    expect(() => restoreWeights(model, { specs: blob.specs.slice(1), data: blob.data })).toThrow(/3 weight arrays; this model has 4/);
    expect(() => restoreWeights(model, { specs: blob.specs, data: blob.data.slice(0, 100) })).toThrow(/truncated/);
    const poisoned: WeightsBlob = { specs: blob.specs, data: blob.data.slice(0) };
    new Float32Array(poisoned.data)[3] = NaN;
    expect(allFinite(poisoned)).toBe(false);
    expect(() => restoreWeights(model, poisoned)).toThrow(/NaN or infinite/);
    new Float32Array(poisoned.data)[3] = Infinity;
    expect(allFinite(poisoned)).toBe(false);
    expect(values(model)).toEqual(original); // failed restores leave the model untouched
    model.dispose();
    other.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('round-trips Adam state so a resumed run continues identically', async () => {
    const before = tf.memory().numTensors;
    const mlp: ArchitectureConfig = { kind: 'mlp', inputSize: 32, channels: 1, numClasses: 3, dropout: 0, hidden: [8] };
    const a = buildModel(mlp, 1);
    const optA = tf.train.adam(0.01);
    const fresh = tf.train.adam(0.01);
    expect(await captureOptimizer(fresh)).toMatchObject({ specs: [{ dtype: 'int32', shape: [] }] }); // iterations only
    fresh.dispose();
    step(a, optA);
    step(a, optA);
    const weights = await captureWeights(a);
    const state = (await captureOptimizer(optA))!;
    expect(state.specs.length).toBe(1 + 2 * a.trainableWeights.length);
    expect(new Int32Array(state.data, 0, 1)[0]).toBe(2);

    // A fresh model + optimizer restored from the blobs, after a step of its own (old slots must be freed).
    const b = buildModel(mlp, 9);
    const optB = tf.train.adam(0.01);
    step(b, optB);
    restoreWeights(b, weights);
    await restoreOptimizer(optB, state);
    expect(optB.iterations).toBe(2);
    step(a, optA);
    step(b, optB);
    // Not bit-identical: TF.js recomputes Adam's beta powers with pow() instead of repeated products.
    expect(maxDiff(values(b), values(a))).toBeLessThan(1e-6);

    [a, b].forEach((m) => m.dispose());
    [optA, optB].forEach((o) => o.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('SGD keeps only an iteration count; optimizers without state export give null', async () => {
    const before = tf.memory().numTensors;
    const opt = tf.train.sgd(0.1);
    const sgd = await captureOptimizer(opt);
    expect(sgd?.specs).toEqual([{ name: 'iter', shape: [], dtype: 'int32' }]);
    await restoreOptimizer(opt, sgd!);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const fake = {
      getWeights: async () => {
        throw new Error('not implemented');
      },
    } as unknown as tf.Optimizer;
    expect(await captureOptimizer(fake)).toBeNull();
  });
});
