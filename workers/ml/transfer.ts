// Transfer learning inside a training run, as Teachable Machine does it: every sample goes through
// the frozen backbone once, its embedding is cached in IndexedDB, and a small head trains on the
// cached embeddings. The saved version is one layers model (backbone cut + head) when it can be.
import * as tf from '@tensorflow/tfjs';
import { getOriginal } from '../../src/db/samples';
import { cachedEmbeddingIds, getEmbeddingBatch, getBackbone, putEmbeddings } from '../../src/db/backbones';
import type { BackboneRecord, EmbeddingRecord } from '../../src/contracts/records';
import type { PreprocessConfig, VersionMeta } from '../../src/contracts/training';
import type { ArchitectureConfig } from '../../src/lib/ml/architectures';
import { normalizePixels } from '../../src/lib/ml/backbone';
import type { Batch, EpochData } from '../../src/lib/ml/train-loop';
import { preprocessHash } from '../../src/lib/preprocess/config';
import type { TrainSettings } from '../../src/lib/train/train-config';
import { openBackbone } from './backbone-model';
import { streamedEpochs, type LabeledId } from './data-feed';
import { toModelPixels } from './pixels';

/** Images per backbone call: big enough to keep the GPU busy, small enough for MobileNet at 224 px. */
const EMBED_BATCH = 32;
/** Teachable Machine's head: one hidden layer of 100 units. */
const HEAD_HIDDEN = 100;

export interface EmbeddingCounts {
  computed: number;
  reused: number;
}

export interface TransferSetup {
  backbone: BackboneRecord;
  /** The backbone's input: what the saved version's playground must feed it. */
  preprocess: PreprocessConfig;
  architecture: ArchitectureConfig;
  counts: EmbeddingCounts;
  data(
    items: LabeledId[],
    numClasses: number,
    batchSize: number,
    shuffleSeed: number | null,
  ): EpochData & { epoch: number; waitMs: number };
  /** The model to save: backbone cut + head for layers backbones, the head alone for graph ones. */
  versionModel(head: tf.LayersModel): Promise<{ model: tf.LayersModel; meta: Partial<VersionMeta>; release(): void }>;
}

export async function prepareTransfer(
  projectId: string,
  settings: TrainSettings,
  samples: Array<{ id: string; mime: string }>,
  numClasses: number,
  onProgress: (done: number, total: number, counts: EmbeddingCounts) => void,
  isStopped: () => boolean,
): Promise<TransferSetup> {
  const backbone = await getBackbone(settings.backboneId!);
  if (!backbone) throw new Error('The chosen backbone is no longer stored; pick another one or import it again.');
  const [size, , channels] = backbone.inputShape;
  const preprocess: PreprocessConfig = { inputSize: size, channels: channels as 1 | 3, resize: settings.resize, background: [0, 0, 0] };
  const configHash = `${preprocessHash(preprocess)}:${backbone.normalization}`;
  const have = await cachedEmbeddingIds(projectId, backbone.id, configHash);
  const missing = samples.filter((s) => !have.has(s.id));
  const counts: EmbeddingCounts = { computed: 0, reused: samples.length - missing.length };
  onProgress(0, missing.length, counts);
  if (missing.length) await computeEmbeddings(projectId, backbone, preprocess, configHash, missing, counts, onProgress, isStopped);

  return {
    backbone,
    preprocess,
    counts,
    architecture: { kind: 'head', embeddingSize: backbone.embeddingSize, numClasses, dropout: settings.dropout, hidden: HEAD_HIDDEN },
    data: (items, classes, batchSize, seed) => embeddingData(projectId, backbone, items, classes, batchSize, seed),
    versionModel: (head) => versionModel(backbone, head),
  };
}

async function computeEmbeddings(
  projectId: string,
  backbone: BackboneRecord,
  preprocess: PreprocessConfig,
  configHash: string,
  missing: Array<{ id: string; mime: string }>,
  counts: EmbeddingCounts,
  onProgress: (done: number, total: number, counts: EmbeddingCounts) => void,
  isStopped: () => boolean,
): Promise<void> {
  // Opened only for this step, so its memory is free again while the head trains.
  const net = await openBackbone(backbone.id);
  const pixelsPer = preprocess.inputSize * preprocess.inputSize * preprocess.channels;
  try {
    for (let start = 0; start < missing.length && !isStopped(); start += EMBED_BATCH) {
      const chunk = missing.slice(start, start + EMBED_BATCH);
      const input = new Float32Array(chunk.length * pixelsPer);
      for (let i = 0; i < chunk.length; i++) {
        const original = await getOriginal(projectId, chunk[i].id);
        if (!original) throw new Error(`The image bytes of sample ${chunk[i].id.slice(0, 12)} are missing.`);
        normalizePixels(await toModelPixels(original.data, original.mime, preprocess), backbone.normalization, input, i * pixelsPer);
      }
      const out = tf.tidy(() =>
        net.embed(tf.tensor4d(input, [chunk.length, preprocess.inputSize, preprocess.inputSize, preprocess.channels])),
      );
      let values: Float32Array;
      try {
        values = (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
      const d = backbone.embeddingSize;
      if (values.length !== chunk.length * d)
        throw new Error(`The backbone produced ${values.length / chunk.length} features per image, not ${d}.`);
      const records: EmbeddingRecord[] = chunk.map((s, i) => ({
        projectId,
        backboneId: backbone.id,
        id: s.id,
        configHash,
        data: values.slice(i * d, (i + 1) * d).buffer,
      }));
      // Written per chunk: a stopped or crashed run keeps what it computed.
      await putEmbeddings(records);
      counts.computed += chunk.length;
      onProgress(counts.computed, missing.length, counts);
    }
  } finally {
    net.dispose();
  }
}

/** Batches of cached embeddings, one batch of prefetch; shuffled per epoch from the run seed. */
function embeddingData(
  projectId: string,
  backbone: BackboneRecord,
  items: LabeledId[],
  numClasses: number,
  batchSize: number,
  shuffleSeed: number | null,
): EpochData & { epoch: number; waitMs: number } {
  const d = backbone.embeddingSize;
  const toBatch = (records: EmbeddingRecord[], classes: number[]): Batch => {
    const xs = new Float32Array(records.length * d);
    records.forEach((r, i) => xs.set(new Float32Array(r.data), i * d));
    return tf.tidy(() => ({
      xs: tf.tensor2d(xs, [records.length, d]),
      ys: tf.oneHot(tf.tensor1d(classes, 'int32'), numClasses).toFloat(),
    }));
  };
  return streamedEpochs(items, batchSize, shuffleSeed, (ids) => getEmbeddingBatch(projectId, backbone.id, ids), toBatch);
}

/** Exported for tests: the saved version's model for a trained head (see TransferSetup.versionModel). */
export async function versionModel(backbone: BackboneRecord, head: tf.LayersModel) {
  const meta: Partial<VersionMeta> = {
    normalization: backbone.normalization,
    backbone: {
      id: backbone.id,
      name: backbone.name,
      format: backbone.format,
      embeddingSize: backbone.embeddingSize,
      ...(backbone.sha256 ? { sha256: backbone.sha256 } : {}),
      ...(backbone.catalogId ? { catalogId: backbone.catalogId } : {}),
      ...(backbone.url ? { url: backbone.url } : {}),
    },
  };
  if (backbone.format === 'graph-model') {
    // A graph model cannot become part of a layers model: the version is the head, and the
    // inference worker runs the stored backbone first (meta.backboneId).
    return { model: head, meta: { ...meta, backboneId: backbone.id }, release: () => undefined };
  }
  const net = await openBackbone(backbone.id);
  const clones: tf.layers.Layer[] = [];
  try {
    let y = net.cut!.outputs[0];
    if (y.rank > 2) {
      clones.push(tf.layers.flatten({ name: 'trainyard_head_flatten' }));
      y = clones[clones.length - 1].apply(y) as tf.SymbolicTensor;
    }
    // Fresh copies of the head's layers with their own names: the trained head's auto-generated
    // names (dense_Dense1 …) could collide with the backbone's, and layer names must be unique.
    head.layers
      .filter((l) => l.getClassName() !== 'InputLayer')
      .forEach((layer, i) => {
        const Cls = layer.constructor as new (config: object) => tf.layers.Layer;
        const clone = new Cls({ ...layer.getConfig(), name: `trainyard_head_${i}` });
        y = clone.apply(y) as tf.SymbolicTensor;
        clone.setWeights(layer.getWeights());
        clones.push(clone);
      });
    const model = tf.model({ inputs: net.cut!.inputs, outputs: y, name: 'trainyard_transfer' });
    return {
      model,
      meta,
      // The combined model owns no layers of its own: the backbone's go with `net`, the copies here.
      release: () => {
        net.dispose();
        for (const c of clones) if (c.countParams() > 0) c.dispose();
      },
    };
  } catch (err) {
    net.dispose();
    throw err;
  }
}
