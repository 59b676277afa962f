// Streams batches from the preprocessed cache in IndexedDB, reading two batches ahead, so memory
// stays bounded by a few batches whatever the dataset size. Batches are read and built (and
// augmented) by a batch loader worker while this thread trains on the previous one.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { getOriginal } from '../../src/db/samples';
import { cachedIds, getPreprocessedBatch, putPreprocessed } from '../../src/db/preprocessed';
import type { PreprocessConfig } from '../../src/contracts/training';
import type { PreprocessedRecord } from '../../src/contracts/records';
import { preprocessHash } from '../../src/lib/preprocess/config';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';
import { fromStrength, isIdentity, type AugmentationSpec } from '../../src/lib/augment/spec';
import type { BatchLoaderApi } from '../batch-loader.api';
import { augmentSeed, recordsToPixels, type BatchPixelsRequest } from './batch-pixels';
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

/** A batch's tensors from its pixels (made by recordsToPixels) and class indices. */
export function pixelsToBatch(pixels: Float32Array, classIndices: number[], config: PreprocessConfig, numClasses: number): Batch {
  return tf.tidy(() => ({
    xs: tf.tensor4d(pixels, [classIndices.length, config.inputSize, config.inputSize, config.channels]),
    ys: tf.oneHot(tf.tensor1d(classIndices, 'int32'), numClasses).toFloat(),
  }));
}

/** Batches read ahead of the one training. */
const PREFETCH = 2;

/** Where a batch sits in the stream: the epoch (0-based, counted per pass) and its index in it. */
export interface BatchPosition {
  epoch: number;
  batch: number;
}

/**
 * An epoch source over a fixed list of samples: batches are read ahead (PREFETCH of them) and
 * the order is shuffled per epoch with a seed derived from the run seed.
 * `read` fetches what the batch's ids need, `makeBatch` turns it into tensors.
 */
export function streamedEpochs<R>(
  items: LabeledId[],
  batchSize: number,
  shuffleSeed: number | null,
  read: (ids: string[], at: BatchPosition) => Promise<R>,
  makeBatch: (records: R, classIndices: number[]) => Batch,
): EpochData & { epoch: number; waitMs: number } {
  const source = {
    epoch: 0,
    size: items.length,
    /** Time the consumer spent waiting for a batch that was not read yet (the reader fell behind). */
    waitMs: 0,
    async *batches(): AsyncGenerator<Batch> {
      const epoch = source.epoch;
      const order = items.slice();
      if (shuffleSeed !== null) shuffleInPlace(order, mulberry32(shuffleSeed + source.epoch++ * 7919));
      const readAt = (start: number) => {
        const slice = order.slice(start, start + batchSize);
        return read(
          slice.map((s) => s.id),
          { epoch, batch: start / batchSize },
        ).then((records) => ({ records, slice }));
      };
      // Reads run PREFETCH batches ahead, so a slow read (IndexedDB, a busy core) is absorbed
      // instead of stalling the step; memory stays bounded by PREFETCH + 1 batches.
      const pending: Array<ReturnType<typeof readAt>> = [];
      let nextStart = 0;
      const fill = () => {
        while (pending.length < PREFETCH && nextStart < order.length) {
          const request = readAt(nextStart);
          request.catch(() => undefined); // awaited below; an abandoned read (the loop stopped) is not an unhandled rejection
          pending.push(request);
          nextStart += batchSize;
        }
      };
      fill();
      while (pending.length) {
        const waitStart = performance.now();
        const current = await pending.shift()!;
        source.waitMs += performance.now() - waitStart;
        fill();
        yield makeBatch(
          current.records,
          current.slice.map((s) => s.classIndex),
        );
      }
    },
  };
  return source;
}

type Loader = { api: Comlink.Remote<BatchLoaderApi>; died: Promise<never>; dead: boolean };

/** The batch loader worker, started on first use; null where none can run (Node, or it failed). */
let loader: Loader | null | undefined;

function batchLoader(): Loader | null {
  if (loader !== undefined) return loader;
  try {
    if (typeof Worker === 'undefined') throw new Error('no Worker here');
    const worker = new Worker(new URL('../batch-loader.worker.ts', import.meta.url), { type: 'module', name: 'batch-loader' });
    let fail: (err: Error) => void = () => undefined;
    const died = new Promise<never>((_, reject) => (fail = reject));
    died.catch(() => undefined);
    const started: Loader = { api: Comlink.wrap<BatchLoaderApi>(worker), died, dead: false };
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      started.dead = true;
      worker.terminate();
      fail(new Error(event.message || 'the batch loader worker failed'));
    });
    loader = started;
  } catch {
    loader = null;
  }
  return loader;
}

async function loadInThread(request: BatchPixelsRequest): Promise<Float32Array> {
  const records = await getPreprocessedBatch(request.configHash, request.projectId, request.ids);
  return recordsToPixels(
    records.map((r) => r.data),
    request,
  );
}

/** A batch's pixels: from the loader worker where one runs, else read and built on this thread. */
export async function loadBatchPixels(request: BatchPixelsRequest): Promise<Float32Array> {
  const current = batchLoader();
  if (!current) return loadInThread(request);
  try {
    return await Promise.race([current.api.load(request), current.died]);
  } catch (err) {
    // Errors of the read itself (a missing record) come back from load() and are the answer;
    // a loader that failed to start or crashed is dropped, and this thread reads from now on.
    if (!current.dead) throw err;
    if (loader === current) loader = null;
    return loadInThread(request);
  }
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
): EpochData & { epoch: number; waitMs: number } {
  const configHash = preprocessHash(config);
  const spec = typeof augmentation === 'number' ? fromStrength(augmentation) : augmentation;
  // Training batches only (shuffleSeed set): each batch draws from its own seeded stream.
  const augmented = !isIdentity(spec) && shuffleSeed !== null;
  return streamedEpochs(
    items,
    batchSize,
    shuffleSeed,
    (ids, at) =>
      loadBatchPixels({
        projectId,
        configHash,
        inputSize: config.inputSize,
        channels: config.channels,
        ids,
        ...(augmented ? { augment: { spec, seed: augmentSeed(shuffleSeed!, at.epoch, at.batch) } } : {}),
      }),
    (pixels, classes) => pixelsToBatch(pixels, classes, config, numClasses),
  );
}
