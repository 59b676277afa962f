// One seeded training run of the app's default small CNN on real digits, on a chosen TF.js
// backend, for comparing backends (bench:seed-backends and test/unit/seed-across-backends).
// The app's model builder, optimizer and training loop with its per-step dropout seeds.
import * as tf from '@tensorflow/tfjs';
import { accuracy, epochsOver, predictRows, type ArraySet } from './array-trainer';
import { buildModel } from '../../src/lib/ml/architectures';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { trainLoop } from '../../src/lib/ml/train-loop';
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
    const out = await trainLoop(model, epochsOver(o.set, o.train, o.batchSize, o.seed), { epochs: o.epochs, optimizer, shouldStop: () => false, seed: o.seed, readEvery: 1000 });
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
