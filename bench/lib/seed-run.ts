// One seeded training run of the app's default small CNN on real digits, on a chosen TF.js
// backend, for comparing backends (bench:seed-backends and test/unit/seed-across-backends).
// The app's model builder, optimizer and training loop with its per-step dropout seeds.
import * as tf from '@tensorflow/tfjs';
import { accuracy, epochsOver, predictRows, type ArraySet } from './array-trainer';
import { buildModel } from '../../src/lib/ml/architectures';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { crossEntropy, dropoutSeed, trainLoop } from '../../src/lib/ml/train-loop';
import { DEFAULT_SETTINGS } from '../../src/lib/train/train-config';

export interface SeedRunOptions {
  set: ArraySet;
  train: number[];
  test: number[];
  epochs: number;
  batchSize: number;
  seed: number;
}

export interface SeedRunResult {
  accuracy: number;
  weights: Float32Array[];
  seconds: number;
}

export async function seededRun(backend: string, o: SeedRunOptions): Promise<SeedRunResult> {
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not start`);
  const started = performance.now();
  const model = buildModel({ kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: DEFAULT_SETTINGS.dropout }, o.seed);
  const optimizer = makeOptimizer('adam', DEFAULT_SETTINGS.learningRate);
  try {
    const out = await trainLoop(model, epochsOver(o.set, o.train, o.batchSize, o.seed), {
      epochs: o.epochs,
      optimizer,
      shouldStop: () => false,
      seed: o.seed,
      readEvery: 1000,
    });
    if (out.status !== 'completed') throw new Error(`${backend}: run ${out.status}`);
    const probs = await predictRows(model, o.set, o.test);
    const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
    return { accuracy: accuracy(probs, o.set, o.test), weights, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.dispose();
    disposeOptimizer(optimizer);
  }
}

/** Largest absolute difference between two runs' weights. */
export function largestWeightDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((w, i) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i][j])))));
  return worst;
}

/**
 * The gradients of the first batch's loss with the seeded initial weights (inference mode, so no
 * dropout): two backends should agree to float32 rounding here; where a seeded run's metrics
 * differ anyway, the difference grew from rounding over the steps, not from a wrong kernel.
 */
export async function firstStepGradients(backend: string, o: SeedRunOptions, training = false): Promise<Float32Array[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not start`);
  const model = buildModel({ kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: DEFAULT_SETTINGS.dropout }, o.seed);
  try {
    const batches = epochsOver(o.set, o.train, o.batchSize, o.seed).batches()[Symbol.asyncIterator]();
    const { value: batch } = await batches.next();
    model.layers
      .filter((l) => l.getClassName() === 'Dropout')
      .forEach((l, i) => ((l as tf.layers.Layer & { seed?: number }).seed = dropoutSeed(o.seed, 0, 0, i)));
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => crossEntropy(model.apply(batch.xs, { training }) as tf.Tensor, batch.ys), vars);
    const out = await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array));
    tf.dispose([batch.xs, batch.ys, ...Object.values(grads)]);
    return out;
  } finally {
    model.dispose();
  }
}

/** Per weight tensor: largest absolute difference over the tensor's largest magnitude. */
export function largestRelativeDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((w, i) => {
    let scale = 0;
    let diff = 0;
    w.forEach((v, j) => {
      scale = Math.max(scale, Math.abs(v));
      diff = Math.max(diff, Math.abs(v - b[i][j]));
    });
    if (scale > 0) worst = Math.max(worst, diff / scale);
  });
  return worst;
}
