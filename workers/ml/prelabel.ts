// Pre-labeling: a model version predicts a set of samples in batches and stores, per sample, its
// class probabilities and penultimate-layer features (for uncertainty ranking, diversity and
// near-duplicates). Inputs come from the preprocessed cache, built on the way when missing.
import * as tf from '@tensorflow/tfjs';
import { listCommittedSamples } from '../../src/db/committed';
import { getPreprocessedBatch } from '../../src/db/preprocessed';
import { getPrelabels, putPrelabels } from '../../src/db/labels';
import type { PrelabelRecord } from '../../src/contracts/records';
import type { PreprocessConfig } from '../../src/contracts/training';
import { preprocessHash } from '../../src/lib/preprocess/config';
import { ensurePreprocessed } from './data-feed';
import type { OpenedBackbone } from './backbone-model';

export interface PrelabelModel {
  model: tf.LayersModel;
  labels: string[];
  preprocess: PreprocessConfig;
  symmetric: boolean;
  backbone?: OpenedBackbone;
}

export interface PrelabelProgress {
  phase: 'preparing' | 'predicting';
  done: number;
  total: number;
}

const BATCH = 64;

/** Probabilities and features in one pass: a second output at the layer before the softmax. */
export function twoHeaded(model: tf.LayersModel): tf.LayersModel {
  const penultimate = model.layers[model.layers.length - 2];
  return tf.model({ inputs: model.inputs, outputs: [penultimate.output as tf.SymbolicTensor, model.outputs[0]] });
}

/** Penultimate-layer features and class probabilities of n images (0..255 scaled to 0..1 already). */
export async function featuresAndProbs(
  m: PrelabelModel,
  both: tf.LayersModel,
  input: Float32Array,
  n: number,
): Promise<{ features: Float32Array; probs: Float32Array }> {
  const { inputSize, channels } = m.preprocess;
  const [features, probs] = tf.tidy(() => {
    let x = tf.tensor4d(input, [n, inputSize, inputSize, channels]);
    if (m.symmetric) x = x.mul(2).sub(1);
    if (m.backbone) {
      // Graph-backbone versions store only the head: the backbone's embedding is the feature.
      const e = m.backbone.embed(x as tf.Tensor4D);
      return [e, m.model.predict(e) as tf.Tensor];
    }
    return both.predict(x) as tf.Tensor[];
  });
  try {
    const [f, p] = await Promise.all([features.data() as Promise<Float32Array>, probs.data() as Promise<Float32Array>]);
    return { features: f, probs: p };
  } finally {
    tf.dispose([features, probs]);
  }
}

export async function prelabelSamples(
  projectId: string,
  versionId: string,
  m: PrelabelModel,
  ids: string[],
  onProgress: (p: PrelabelProgress) => void,
): Promise<{ predicted: number; imagesPerSecond: number }> {
  const { samples } = await listCommittedSamples(projectId);
  const wanted = new Set(ids);
  const chosen = samples.filter((s) => wanted.has(s.id));
  onProgress({ phase: 'preparing', done: 0, total: chosen.length });
  await ensurePreprocessed(
    projectId,
    chosen,
    m.preprocess,
    (done, total) => onProgress({ phase: 'preparing', done, total }),
    () => false,
  );
  const hash = preprocessHash(m.preprocess);
  const { inputSize, channels } = m.preprocess;
  const pixels = inputSize * inputSize * channels;
  const both = twoHeaded(m.model);
  const t0 = performance.now();
  let done = 0;
  const readAt = (start: number) => {
    const slice = chosen.slice(start, start + BATCH).map((s) => s.id);
    return Promise.all([getPreprocessedBatch(hash, projectId, slice), getPrelabels(projectId, slice)]).then(([records, previous]) => ({
      slice,
      records,
      previous,
    }));
  };
  let next = chosen.length ? readAt(0) : null;
  for (let start = 0; start < chosen.length; start += BATCH) {
    const { slice, records, previous } = await next!;
    // Read the following batch while this one runs.
    next = start + BATCH < chosen.length ? readAt(start + BATCH) : null;
    const input = new Float32Array(records.length * pixels);
    records.forEach((r, i) => {
      const src = new Uint8Array(r.data);
      for (let j = 0; j < pixels; j++) input[i * pixels + j] = src[j] / 255;
    });
    const { features: f, probs: p } = await featuresAndProbs(m, both, input, records.length);
    const k = m.labels.length;
    const dim = f.length / records.length;
    const now = Date.now();
    const out: PrelabelRecord[] = slice.map((id, i) => {
      const row = p.slice(i * k, (i + 1) * k);
      let best = 0;
      for (let j = 1; j < k; j++) if (row[j] > row[best]) best = j;
      const predicted = m.labels[best];
      const before = previous[i];
      return {
        projectId,
        id,
        versionId,
        classes: m.labels,
        probs: row.buffer,
        embedding: f.slice(i * dim, (i + 1) * dim).buffer,
        predicted,
        confidence: row[best],
        // A rejection stands while the same version predicts the same class.
        rejected: !!before?.rejected && before.versionId === versionId && before.predicted === predicted,
        createdAt: now,
      };
    });
    await putPrelabels(out);
    done += slice.length;
    onProgress({ phase: 'predicting', done, total: chosen.length });
  }
  const seconds = (performance.now() - t0) / 1000;
  return { predicted: done, imagesPerSecond: seconds > 0 ? done / seconds : 0 };
}
