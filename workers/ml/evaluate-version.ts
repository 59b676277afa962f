// Scores a stored model version on a list of samples, with that version's own preprocessing and
// classes: the champion side of a pipeline's gate, measured on the candidate's frozen test split.
import * as tf from '@tensorflow/tfjs';
import { getVersion, getWeights } from '../../src/db/models';
import { listSamples } from '../../src/db/samples';
import type { PreprocessConfig } from '../../src/contracts/training';
import { predictions } from '../../src/lib/ml/metrics';
import { predictAll } from '../../src/lib/ml/train-loop';
import { openBackbone, type OpenedBackbone } from './backbone-model';
import { ensurePreprocessed, epochData } from './data-feed';

export interface VersionScore {
  versionId: string;
  n: number;
  accuracy: number;
  /** Recall per class name, over the given samples' labels. */
  perClass: Record<string, number>;
}

export async function evaluateVersionOn(
  projectId: string,
  versionId: string,
  items: Array<{ id: string; label: string }>,
  isStopped: () => boolean,
): Promise<VersionScore> {
  const [version, weights] = await Promise.all([getVersion(versionId), getWeights(versionId)]);
  if (!version || !weights) throw new Error('The model in production no longer exists.');
  const meta = version.meta as { labels: string[]; preprocess: PreprocessConfig; normalization?: string; backboneId?: string };
  const { samples } = await listSamples(projectId);
  const wanted = new Set(items.map((i) => i.id));
  await ensurePreprocessed(
    projectId,
    samples.filter((s) => wanted.has(s.id)),
    meta.preprocess,
    () => undefined,
    isStopped,
  );

  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: weights.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: weights.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: weights.weightData,
    }),
  );
  let backbone: OpenedBackbone | undefined;
  try {
    if (meta.backboneId) backbone = await openBackbone(meta.backboneId);
    const symmetric = meta.normalization === '-1..1';
    // Class index is irrelevant for prediction; order is kept, so predictions line up with items.
    const data = epochData(
      projectId,
      items.map((i) => ({ id: i.id, classIndex: 0 })),
      meta.preprocess,
      Math.max(1, meta.labels.length),
      128,
      null,
    );
    const probs = await predictAll(
      model,
      (async function* () {
        for await (const b of data.batches()) {
          b.ys.dispose();
          const x = tf.tidy(() => {
            const scaled = symmetric ? b.xs.mul(2).sub(1) : b.xs.clone();
            return backbone ? backbone.embed(scaled as tf.Tensor4D) : scaled;
          });
          b.xs.dispose();
          yield x;
        }
      })(),
    );
    const predicted = predictions(probs, meta.labels.length).map((i) => meta.labels[i]);
    const total = new Map<string, number>();
    const right = new Map<string, number>();
    items.forEach((item, i) => {
      total.set(item.label, (total.get(item.label) ?? 0) + 1);
      if (predicted[i] === item.label) right.set(item.label, (right.get(item.label) ?? 0) + 1);
    });
    const correct = [...right.values()].reduce((a, b) => a + b, 0);
    const perClass = Object.fromEntries([...total].map(([label, n]) => [label, (right.get(label) ?? 0) / n]));
    return { versionId, n: items.length, accuracy: items.length ? correct / items.length : 0, perClass };
  } finally {
    model.dispose();
    backbone?.dispose();
  }
}
