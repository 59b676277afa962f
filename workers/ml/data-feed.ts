// Streams batches from the preprocessed cache in IndexedDB with one batch of prefetch, so memory
// stays bounded by the batch size whatever the dataset size.
import * as tf from '@tensorflow/tfjs';
import { getOriginal } from '../../src/db/samples';
import { cachedIds, getPreprocessedBatch, putPreprocessed } from '../../src/db/preprocessed';
import type { PreprocessConfig, PreprocessedRecord } from '../../src/db/schema';
import { preprocessHash } from '../../src/lib/preprocess/config';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';
import { augmentImage } from '../../src/lib/augment/apply';
import { fromStrength, isIdentity, type AugmentationSpec } from '../../src/lib/augment/spec';
import type { Batch, EpochData } from '../../src/lib/ml/train-loop';
import { toModelPixels } from './pixels';

export interface LabeledId {
  id: string;
  classIndex: number;
}

const WRITE_BATCH = 128;

/** Decodes and caches every sample not yet in the cache for this config. Returns how many were built. */
export async function ensurePreprocessed(
  projectId: string,
  samples: Array<{ id: string; mime: string }>,
  config: PreprocessConfig,
  onProgress: (done: number, total: number) => void,
  isCancelled: () => boolean,
): Promise<number> {
  const hash = preprocessHash(config);
  const have = await cachedIds(hash, projectId);
  const missing = samples.filter((s) => !have.has(s.id));
  let pending: PreprocessedRecord[] = [];
  let done = 0;
  for (const s of missing) {
    if (isCancelled()) break;
    const original = await getOriginal(projectId, s.id);
    if (!original) throw new Error(`The image bytes of sample ${s.id.slice(0, 12)} are missing.`);
    const pixels = await toModelPixels(original.data, original.mime, config);
    pending.push({ configHash: hash, projectId, id: s.id, data: pixels.buffer as ArrayBuffer });
    done++;
    if (pending.length >= WRITE_BATCH) {
      await putPreprocessed(pending);
      pending = [];
      onProgress(done, missing.length);
    }
  }
  if (pending.length) await putPreprocessed(pending);
  onProgress(done, missing.length);
  return missing.length;
}

/** Augmentation for training batches: what to apply and a seeded random source. */
export interface BatchAugment {
  spec: AugmentationSpec;
  rand: () => number;
}

export function toBatch(records: PreprocessedRecord[], classIndices: number[], config: PreprocessConfig, numClasses: number, augment?: BatchAugment): Batch {
  const size = config.inputSize * config.inputSize * config.channels;
  const pixels = new Float32Array(records.length * size);
  records.forEach((r, i) => {
    const src = new Uint8Array(r.data);
    const offset = i * size;
    if (augment) augmentImage(src, { size: config.inputSize, channels: config.channels }, augment.spec, augment.rand, pixels, offset);
    else for (let j = 0; j < size; j++) pixels[offset + j] = src[j] / 255;
  });
  return tf.tidy(() => ({
    xs: tf.tensor4d(pixels, [records.length, config.inputSize, config.inputSize, config.channels]),
    ys: tf.oneHot(tf.tensor1d(classIndices, 'int32'), numClasses).toFloat(),
  }));
}

/**
 * An epoch source over a fixed list of samples: records are read from IndexedDB one batch ahead
 * (prefetch) and the order is shuffled per epoch with a seed derived from the run seed.
 * `read` fetches the stored records of the given ids, `makeBatch` turns them into tensors.
 */
export function streamedEpochs<R>(
  items: LabeledId[],
  batchSize: number,
  shuffleSeed: number | null,
  read: (ids: string[]) => Promise<R[]>,
  makeBatch: (records: R[], classIndices: number[]) => Batch,
): EpochData & { epoch: number } {
  const source = {
    epoch: 0,
    size: items.length,
    async *batches(): AsyncGenerator<Batch> {
      const order = items.slice();
      if (shuffleSeed !== null) shuffleInPlace(order, mulberry32(shuffleSeed + source.epoch++ * 7919));
      const readAt = (start: number) => {
        const slice = order.slice(start, start + batchSize);
        return read(slice.map((s) => s.id)).then((records) => ({ records, slice }));
      };
      let next = order.length ? readAt(0) : null;
      for (let start = 0; start < order.length; start += batchSize) {
        const current = await next!;
        // Prefetch the following batch while this one trains.
        next = start + batchSize < order.length ? readAt(start + batchSize) : null;
        yield makeBatch(current.records, current.slice.map((s) => s.classIndex));
      }
    },
  };
  return source;
}

/** Batches of preprocessed images from the cache. */
export function epochData(
  projectId: string,
  items: LabeledId[],
  config: PreprocessConfig,
  numClasses: number,
  batchSize: number,
  shuffleSeed: number | null,
  /** The Train stage's single strength knob, or a full spec (pipelines, dataset versions). */
  augmentation: number | AugmentationSpec = 0,
): EpochData & { epoch: number } {
  const hash = preprocessHash(config);
  const spec = typeof augmentation === 'number' ? fromStrength(augmentation) : augmentation;
  // Augmentation draws from its own seeded stream (training batches only: shuffleSeed is set).
  const augment = !isIdentity(spec) && shuffleSeed !== null ? { spec, rand: mulberry32(shuffleSeed ^ 0x9e3779b9) } : undefined;
  return streamedEpochs(
    items,
    batchSize,
    shuffleSeed,
    (ids) => getPreprocessedBatch(hash, projectId, ids),
    (records, classes) => toBatch(records, classes, config, numClasses, augment),
  );
}
