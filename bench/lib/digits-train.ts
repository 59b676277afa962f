// The app's training of one model on the Digits demo, in Node, as the worker runs it without
// IndexedDB: the batch stream with seeded augmentation (streamedEpochs + recordsToPixels), the
// model builder with seeded initialisation, trainLoop with seeded dropout, early stopping, the
// rate halved on a plateau, and the best epoch's weights restored. Shared by
// bench/digits-default.node.ts and bench/kit-parity.bench.ts.
import type * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/lib/ml/architectures';
import { predictAll, trainLoop, type EpochInfo, type TrainLoopResult } from '../../src/lib/ml/train-loop';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { captureWeights, restoreWeights, type WeightsBlob } from '../../src/lib/ml/checkpoint';
import { fromStrength, isIdentity } from '../../src/lib/augment/spec';
import { PLATEAU, type TrainSettings } from '../../src/lib/train/train-config';
import { augmentSeed, recordsToPixels } from '../../workers/ml/batch-pixels';
import { pixelsToBatch, streamedEpochs, type LabeledId } from '../../workers/ml/data-feed';
import { architectureOf } from '../../workers/ml/train-runner';
import type { DigitRecord } from './digits-demo';

const CONFIG = { inputSize: 28, channels: 1 as const, resize: 'pad' as const, background: [0, 0, 0] as [number, number, number] };

export type DigitsFeed = (items: LabeledId[], batchSize: number, shuffleSeed: number | null) => ReturnType<typeof streamedEpochs>;

/** Batches of demo images as the app's data feed makes them; a seed shuffles and augments (with `augmentation`'s strength). */
export function digitsFeed(digits: DigitRecord[], numClasses: number, augmentation: number): DigitsFeed {
  const byId = new Map(digits.map((d) => [d.id, d]));
  const spec = fromStrength(augmentation);
  return (items, batch, shuffle) =>
    streamedEpochs(
      items,
      batch,
      shuffle,
      async (ids, at) =>
        recordsToPixels(
          ids.map((id) => byId.get(id)!.pixels.slice().buffer as ArrayBuffer),
          {
            inputSize: 28,
            channels: 1,
            ...(shuffle !== null && !isIdentity(spec) ? { augment: { spec, seed: augmentSeed(shuffle, at.epoch, at.batch) } } : {}),
          },
        ),
      (px, classes) => pixelsToBatch(px, classes, CONFIG, numClasses),
    );
}

export interface DigitsRun {
  model: tf.LayersModel;
  outcome: TrainLoopResult;
  /** Wall time of training, best-epoch restore included. */
  seconds: number;
}

/** Trains one model with settings `s` (its seed included); the caller evaluates and disposes the model. */
export async function trainDigits(
  s: TrainSettings,
  numClasses: number,
  feed: DigitsFeed,
  split: { train: LabeledId[]; val: LabeledId[] },
  onEpoch?: (m: EpochInfo) => void,
): Promise<DigitsRun> {
  const model = buildModel(architectureOf(s, numClasses), s.seed);
  const optimizer = makeOptimizer(s.optimizer, s.learningRate, s.momentum);
  const started = performance.now();
  try {
    let best: { epoch: number; weights: WeightsBlob } | null = null;
    const outcome = await trainLoop(
      model,
      feed(split.train, s.batchSize, s.seed),
      {
        epochs: s.epochs,
        optimizer,
        shouldStop: () => false,
        validation: feed(split.val, s.batchSize, null),
        seed: s.seed,
        earlyStopping: s.earlyStoppingPatience > 0 ? { patience: s.earlyStoppingPatience } : undefined,
        reduceOnPlateau: s.earlyStoppingPatience > 2 ? PLATEAU(s.learningRate) : undefined,
      },
      {
        onEpoch: async (m) => {
          if (m.improved) best = { epoch: m.epoch, weights: await captureWeights(model) };
          onEpoch?.(m);
        },
      },
    );
    const kept = best as { epoch: number; weights: WeightsBlob } | null;
    if (kept && outcome.bestEpoch === kept.epoch && kept.epoch + 1 < outcome.epochsDone) restoreWeights(model, kept.weights);
    return { model, outcome, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    disposeOptimizer(optimizer);
  }
}

/** Class probabilities of `items`, row-major, in their order. */
export function predictDigits(model: tf.LayersModel, feed: DigitsFeed, items: LabeledId[]): Promise<Float32Array> {
  const data = feed(items, 128, null);
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
