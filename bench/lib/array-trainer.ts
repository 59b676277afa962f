// Trains the app's own model builders with the app's own training loop on in-memory arrays, in
// Node (TF.js CPU backend). Benchmarks and tests use it to run the labeling and tuning algorithms
// end to end on real images without a browser.
import * as tf from '@tensorflow/tfjs';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { predictAll, trainLoop, type EpochData, type EpochInfo, type TrainLoopResult } from '../../src/lib/ml/train-loop';

export interface ArraySet {
  /** n x features, row-major. */
  x: Float32Array;
  y: number[];
  /** [height, width, channels] of one row. */
  shape: [number, number, number];
  numClasses: number;
}

export function epochsOver(set: ArraySet, indices: number[], batchSize: number, seed: number | null): EpochData {
  const f = set.shape[0] * set.shape[1] * set.shape[2];
  let epoch = 0;
  return {
    size: indices.length,
    async *batches() {
      const order = indices.slice();
      if (seed !== null) shuffleInPlace(order, mulberry32(seed + epoch++ * 7919));
      for (let start = 0; start < order.length; start += batchSize) {
        const rows = order.slice(start, start + batchSize);
        const xs = new Float32Array(rows.length * f);
        rows.forEach((r, i) => xs.set(set.x.subarray(r * f, (r + 1) * f), i * f));
        yield {
          xs: tf.tensor4d(xs, [rows.length, ...set.shape]),
          ys: tf.tidy(() =>
            tf
              .oneHot(
                tf.tensor1d(
                  rows.map((r) => set.y[r]),
                  'int32',
                ),
                set.numClasses,
              )
              .toFloat(),
          ),
        };
      }
    },
  };
}

export interface FitOptions {
  architecture: ArchitectureConfig;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer?: 'adam' | 'sgd' | 'rmsprop';
  momentum?: number;
  seed: number;
  validation?: number[];
  onEpoch?: (info: EpochInfo) => string | null | void;
}

/** Trains a fresh model; returns it with the loop's outcome. The caller disposes the model. */
export async function fit(set: ArraySet, train: number[], o: FitOptions): Promise<{ model: tf.LayersModel; outcome: TrainLoopResult }> {
  const model = buildModel(o.architecture, o.seed);
  const optimizer = makeOptimizer(o.optimizer ?? 'adam', o.learningRate, o.momentum);
  let stop: string | null = null;
  try {
    const outcome = await trainLoop(
      model,
      epochsOver(set, train, o.batchSize, o.seed),
      {
        epochs: o.epochs,
        optimizer,
        shouldStop: () => stop !== null,
        readEvery: 1000,
        yieldEvery: 1000,
        validation: o.validation ? epochsOver(set, o.validation, 256, null) : undefined,
      },
      { onEpoch: (info) => void (stop = o.onEpoch?.(info) ?? null) },
    );
    return { model, outcome };
  } finally {
    disposeOptimizer(optimizer);
  }
}

/** Class probabilities for the given rows, row-major. */
export async function predictRows(model: tf.LayersModel, set: ArraySet, rows: number[]): Promise<Float32Array> {
  const data = epochsOver(set, rows, 512, null);
  return predictAll(
    model,
    (async function* () {
      for await (const b of data.batches()) {
        b.ys.dispose();
        yield b.xs;
      }
    })(),
  );
}

/** Penultimate-layer features for the given rows (for diversity sampling). */
export async function featureRows(model: tf.LayersModel, set: ArraySet, rows: number[]): Promise<Float32Array> {
  const features = tf.model({ inputs: model.inputs, outputs: model.layers[model.layers.length - 2].output as tf.SymbolicTensor });
  return predictRows(features, set, rows);
}

export function accuracy(probs: Float32Array, set: ArraySet, rows: number[]): number {
  let right = 0;
  const k = set.numClasses;
  rows.forEach((r, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + best]) best = j;
    if (best === set.y[r]) right++;
  });
  return right / rows.length;
}
