// "Retrain now" starts from the current version's weights instead of from scratch, so a few epochs
// on the new labels are enough. Layers are matched in order and copied only when every weight's
// shape agrees: a class added since (a wider output layer) keeps its fresh initialisation.
import * as tf from '@tensorflow/tfjs';
import { getWeights } from '../../src/db/models';

export async function warmStart(model: tf.LayersModel, versionId: string): Promise<{ copied: number; skipped: number }> {
  const stored = await getWeights(versionId);
  if (!stored) throw new Error('The version to start from no longer exists.');
  const base = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: stored.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: stored.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: stored.weightData,
    }),
  );
  let copied = 0;
  let skipped = 0;
  try {
    const source = base.layers.filter((l) => l.getWeights().length > 0);
    const target = model.layers.filter((l) => l.getWeights().length > 0);
    if (source.length !== target.length) throw new Error('The chosen version has a different architecture; train from scratch instead.');
    target.forEach((layer, i) => {
      const from = source[i].getWeights();
      const to = layer.getWeights();
      const same = from.length === to.length && from.every((w, j) => w.shape.join('x') === to[j].shape.join('x'));
      if (same) {
        layer.setWeights(from);
        copied++;
      } else skipped++;
    });
  } finally {
    base.dispose();
  }
  return { copied, skipped };
}
