// One active-learning run, simulated with the true labels as the oracle, on the model and data path
// the app trains by default: the Train stage's default settings (small CNN, Adam, dropout,
// augmentation) built by the app's builder, batches made by the app's batch code (streamedEpochs +
// recordsToPixels with seeded augmentation), the app's training loop with seeded dropout, and the
// app's acquisition code (src/lib/label/acquisition.ts). Runs on whichever TF.js backend is set;
// bench/label.bench.ts uses WASM with Trainyard's training kernels.
//
// Deterministic: every random draw (initial labels, initialisation, shuffles, augmentation,
// dropout, acquisition) derives from the run's seed, batches arrive in order whatever the reader's
// timing, and TF.js's WASM backend runs single-threaded in Node. The same seed gives the same curve.
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/lib/ml/architectures';
import { fmix32, mulberry32, shuffleInPlace } from '../../src/lib/ml/random';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { trainLoop } from '../../src/lib/ml/train-loop';
import { fromStrength, isIdentity } from '../../src/lib/augment/spec';
import { acquire, needsFeatures, type AcquisitionStrategy } from '../../src/lib/label/acquisition';
import { DEFAULT_SETTINGS, type TrainSettings } from '../../src/lib/train/train-config';
import { augmentSeed, recordsToPixels } from '../../workers/ml/batch-pixels';
import { pixelsToBatch, streamedEpochs, type LabeledId } from '../../workers/ml/data-feed';
import { architectureOf } from '../../workers/ml/train-runner';

export interface SimData {
  /** One image per entry: size x size x channels uint8 values. */
  images: Uint8Array[];
  labels: number[];
  size: number;
  channels: 1 | 3;
  numClasses: number;
}

export interface Schedule {
  /** 'scratch': a fresh model every round; 'warm': the last round's model trains on (the app's "Retrain now"). */
  mode: 'scratch' | 'warm';
  /** Gradient steps in the first round (whole epochs, at least this many steps). */
  firstSteps: number;
  /** Gradient steps in each later round. */
  steps: number;
}

export interface SimConfig {
  start: number;
  step: number;
  end: number;
  schedule: Schedule;
  /** Train-stage settings; defaults are the app's (DEFAULT_SETTINGS). */
  settings?: Partial<TrainSettings>;
}

export interface Acquisition {
  strategy: AcquisitionStrategy;
  randomShare?: number;
}

export type Curve = Array<{ labels: number; accuracy: number }>;

/** A 32-bit seed for one purpose of one round of one run. */
export const derive = (seed: number, purpose: number, round = 0): number =>
  fmix32((fmix32((fmix32(seed >>> 0) + purpose) >>> 0) + round) >>> 0);

/** Pixels scaled to 0..1 as the app feeds them, for inference. */
function floats(data: SimData, rows: number[]): Float32Array {
  return recordsToPixels(
    rows.map((r) => data.images[r].buffer as ArrayBuffer),
    { inputSize: data.size, channels: data.channels },
  );
}

/** Class probabilities (and penultimate features when asked) of the given rows, in order. */
export async function predict(
  model: tf.LayersModel,
  data: SimData,
  rows: number[],
  withFeatures: boolean,
): Promise<{ probs: Float32Array; features: Float32Array | null; dim: number }> {
  const penultimate = model.layers[model.layers.length - 2];
  const both = tf.model({ inputs: model.inputs, outputs: [penultimate.output as tf.SymbolicTensor, model.outputs[0]] });
  const dim = (penultimate.outputShape as number[]).at(-1)!;
  const probs = new Float32Array(rows.length * data.numClasses);
  const features = withFeatures ? new Float32Array(rows.length * dim) : null;
  const CHUNK = 500;
  for (let start = 0; start < rows.length; start += CHUNK) {
    const part = rows.slice(start, start + CHUNK);
    const [f, p] = tf.tidy(
      () => both.predict(tf.tensor4d(floats(data, part), [part.length, data.size, data.size, data.channels])) as tf.Tensor[],
    );
    try {
      probs.set(await p.data(), start * data.numClasses);
      if (features) features.set(await f.data(), start * dim);
    } finally {
      tf.dispose([f, p]);
    }
  }
  return { probs, features, dim };
}

export function accuracyOf(probs: Float32Array, labels: number[], rows: number[], k: number): number {
  let right = 0;
  rows.forEach((r, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + best]) best = j;
    if (best === labels[r]) right++;
  });
  return right / rows.length;
}

/** Trains `model` on `rows` for at least `steps` steps (whole epochs) with the app's batch path and loop. */
export async function trainRound(
  model: tf.LayersModel,
  data: SimData,
  rows: number[],
  s: TrainSettings,
  steps: number,
  seed: number,
): Promise<void> {
  const items: LabeledId[] = rows.map((r) => ({ id: String(r), classIndex: data.labels[r] }));
  const spec = fromStrength(s.augmentation);
  const augment = !isIdentity(spec);
  const config = {
    inputSize: data.size,
    channels: data.channels,
    resize: 'pad' as const,
    background: [0, 0, 0] as [number, number, number],
  };
  const feed = streamedEpochs(
    items,
    s.batchSize,
    seed,
    async (ids, at) =>
      recordsToPixels(
        ids.map((id) => data.images[Number(id)].buffer as ArrayBuffer),
        {
          inputSize: data.size,
          channels: data.channels,
          ...(augment ? { augment: { spec, seed: augmentSeed(seed, at.epoch, at.batch) } } : {}),
        },
      ),
    (px, classes) => pixelsToBatch(px, classes, config, data.numClasses),
  );
  const perEpoch = Math.ceil(rows.length / s.batchSize);
  const optimizer = makeOptimizer(s.optimizer, s.learningRate, s.momentum);
  try {
    const out = await trainLoop(model, feed, {
      epochs: Math.max(1, Math.ceil(steps / perEpoch)),
      optimizer,
      shouldStop: () => false,
      seed,
      readEvery: 1000,
      yieldEvery: 1000,
    });
    if (out.status !== 'completed') throw new Error(`training ${out.status}: ${out.reason ?? ''}`);
  } finally {
    disposeOptimizer(optimizer);
  }
}

/**
 * One curve: `start` random labels from the pool, then rounds of train -> measure on `test` ->
 * acquire `step` more, until `end` labels are measured. Returns the curve and the pool rows in the
 * order they were labeled.
 */
export async function simulateCurve(
  data: SimData,
  pool: number[],
  test: number[],
  seed: number,
  acq: Acquisition,
  cfg: SimConfig,
): Promise<{ curve: Curve; labeled: number[] }> {
  const s: TrainSettings = { ...DEFAULT_SETTINGS, ...cfg.settings };
  const labeled = shuffleInPlace(pool.slice(), mulberry32(derive(seed, 1))).slice(0, cfg.start);
  const points: Curve = [];
  let model: tf.LayersModel | null = null;
  try {
    for (let round = 0; ; round++) {
      if (!model || cfg.schedule.mode === 'scratch') {
        model?.dispose();
        model = buildModel(architectureOf(s, data.numClasses), derive(seed, 2, round));
      }
      const steps = round === 0 ? cfg.schedule.firstSteps : cfg.schedule.steps;
      await trainRound(model, data, labeled, s, steps, derive(seed, 3, round));
      const measured = await predict(model, data, test, false);
      points.push({ labels: labeled.length, accuracy: accuracyOf(measured.probs, data.labels, test, data.numClasses) });
      if (labeled.length >= cfg.end) return { curve: points, labeled };
      const taken = new Set(labeled);
      const unlabeled = pool.filter((i) => !taken.has(i));
      const want = Math.min(cfg.step, cfg.end - labeled.length);
      if (acq.strategy === 'random') {
        labeled.push(
          ...acquire(
            { probs: new Float32Array(unlabeled.length), numClasses: 1, features: null, dim: 0 },
            { strategy: 'random', batchSize: want, seed: derive(seed, 4, round) },
          ).map((i) => unlabeled[i]),
        );
        continue;
      }
      const p = await predict(model, data, unlabeled, needsFeatures(acq.strategy));
      const picked = acquire(
        { probs: p.probs, numClasses: data.numClasses, features: p.features, dim: p.dim },
        { strategy: acq.strategy, batchSize: want, randomShare: acq.randomShare, seed: derive(seed, 4, round) },
      );
      labeled.push(...picked.map((i) => unlabeled[i]));
    }
  } finally {
    model?.dispose();
  }
}

/** Labels a curve needs to reach `target` (linear interpolation between measured points), or null. */
export function labelsToReach(points: Curve, target: number): number | null {
  for (let i = 0; i < points.length; i++) {
    if (points[i].accuracy >= target) {
      if (i === 0) return points[0].labels;
      const a = points[i - 1];
      const b = points[i];
      return Math.round(a.labels + ((target - a.accuracy) / (b.accuracy - a.accuracy)) * (b.labels - a.labels));
    }
  }
  return null;
}
