// One training step of an app model on a given backend, for the kernel tests that compare a
// backend's gradients with TF.js's CPU backend (wasm-kernels-models, webgpu-kernels).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';

export type StepResult = { weights: Float32Array[]; grads: Float32Array[]; after: Float32Array[]; loss: number };

/**
 * Gradients of the training loss, then one optimizer step, on one backend from given weights
 * (null: the model's seeded initial weights, returned as `weights` for the other backend).
 * SGD, not Adam: Adam's first step is lr * g / (|g| + eps), which turns float32 rounding in a
 * near-zero gradient element into a full-size difference. Checks that nothing leaked.
 */
export async function gradsAndStep(
  backend: string,
  config: ArchitectureConfig,
  weights: Float32Array[] | null,
  data: { x: Float32Array; y: Float32Array },
  n: number,
): Promise<StepResult> {
  if (config.kind === 'head') throw new Error('not an image model');
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const model = buildModel(config, 3);
  if (weights) {
    const values = weights.map((w, i) => tf.tensor(w, model.weights[i].shape as number[]));
    model.setWeights(values);
    tf.dispose(values);
  }
  const read = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => (await t.data()).slice() as Float32Array));
  const initial = await read(model.getWeights());
  const xs = tf.tensor4d(data.x, [n, config.inputSize, config.inputSize, config.channels]);
  const ys = tf.tensor2d(data.y, [n, config.numClasses]);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossFn = () => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor).mean() as tf.Scalar;
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const result = { grads: await read(vars.map((v) => grads[v.name])), loss: (await value.data())[0] };
  const optimizer = tf.train.sgd(0.1);
  optimizer.applyGradients(grads);
  const after = await read(model.trainableWeights.map((w) => w.read()));
  tf.dispose([value, ...Object.values(grads), xs, ys]);
  optimizer.dispose();
  model.dispose();
  expect(tf.memory().numTensors, `${backend} leaked tensors`).toBe(before);
  return { ...result, after, weights: initial };
}
