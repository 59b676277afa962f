// The label-quality check: k models, each trained on k-1 folds, judge the fold they never saw
// (confident learning needs out-of-sample probabilities), then one consistent feature space (fold
// 1's model, or the backbone's embeddings) finds near-identical images whose labels disagree.
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/lib/ml/architectures';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { predictAll, trainLoop } from '../../src/lib/ml/train-loop';
import { agreement, outOfFoldProbabilities } from '../../src/lib/label/cross-val';
import { findLabelErrors } from '../../src/lib/label/label-errors';
import { findDisagreeingDuplicates } from '../../src/lib/label/near-duplicates';
import { validateSettings, withDefaults, type TrainSettings } from '../../src/lib/train/train-config';
import { setMeta } from '../../src/db/meta';
import type { LabelQualityProgress, LabelQualityReport } from '../train.api';
import { prepareInputs, RefusedError, trainableSamples } from './train-runner';
import type { LabeledId } from './data-feed';

export const labelReportKey = (projectId: string) => `label-quality:${projectId}`;

/** Penultimate-layer features: the layer before the softmax output. */
function featureModel(model: tf.LayersModel): tf.LayersModel {
  const layer = model.layers[model.layers.length - 2];
  return tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
}

export async function checkLabels(
  projectId: string,
  rawSettings: TrainSettings,
  folds: number,
  onProgress: (p: LabelQualityProgress) => void,
  isStopped: () => boolean,
  /** True once the check was given up on (its GPU was lost): nothing may be stored then. */
  abandoned: () => boolean = () => false,
): Promise<LabelQualityReport> {
  const settings = withDefaults({ ...rawSettings, earlyStoppingPatience: 0 });
  const refused = validateSettings(settings);
  if (refused) throw new RefusedError(refused);
  // Every label is checked, auto-accepted ones included: they are the likeliest to be wrong.
  const samples = await trainableSamples(projectId);
  const classes = [...new Set(samples.map((s) => s.label!))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (classes.length < 2) throw new RefusedError('Checking labels needs at least two classes.');
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const items: LabeledId[] = samples.map((s) => ({ id: s.id, classIndex: classIndex.get(s.label!)! }));
  const labels = items.map((i) => i.classIndex);
  const numClasses = classes.length;

  onProgress({ phase: 'preparing', fold: 0, folds, done: 0, total: samples.length });
  const inputs = await prepareInputs(
    projectId,
    settings,
    samples,
    numClasses,
    (done, total) => onProgress({ phase: 'preparing', fold: 0, folds, done, total }),
    isStopped,
  );
  let features: Float32Array | null = null;
  let featureDim = 0;

  const oof = await outOfFoldProbabilities(labels, numClasses, folds, settings.seed, async (trainIdx, heldIdx, fold) => {
    if (isStopped()) throw new Error('Stopped.');
    const model = buildModel(inputs.architecture, settings.seed + fold);
    const optimizer = makeOptimizer(settings.optimizer, settings.learningRate, settings.momentum);
    try {
      const train = inputs.feed(
        trainIdx.map((i) => items[i]),
        settings.batchSize,
        settings.seed + fold,
      );
      const perEpoch = Math.ceil(trainIdx.length / settings.batchSize);
      const foldProgress = (done: number) => onProgress({ phase: 'fold', fold: fold + 1, folds, done, total: settings.epochs * perEpoch });
      foldProgress(0);
      const outcome = await trainLoop(
        model,
        train,
        { epochs: settings.epochs, optimizer, shouldStop: isStopped, readEvery: 10 },
        {
          onBatch: ({ epoch, batch }) => foldProgress(epoch * perEpoch + batch + 1),
          // Small folds have fewer batches per epoch than a read: report each epoch's end too.
          onEpoch: ({ epoch }) => foldProgress((epoch + 1) * perEpoch),
        },
      );
      if (outcome.status === 'diverged') throw new RefusedError(`Fold ${fold + 1}: ${outcome.reason}`);
      if (outcome.status === 'stopped') throw new Error('Stopped.');
      const probs = await predictAll(
        model,
        xsOnly(
          inputs.feed(
            heldIdx.map((i) => items[i]),
            128,
            null,
          ),
        ),
      );
      if (fold === 0) {
        // One model's feature space for every sample, so similarities are comparable.
        onProgress({ phase: 'duplicates', fold: 1, folds, done: 0, total: items.length });
        const extractor = inputs.transfer ? null : featureModel(model);
        const source = xsOnly(inputs.feed(items, 128, null));
        // Transfer runs: the backbone's embeddings are the batches themselves.
        features = extractor ? await predictAll(extractor, source) : await collect(source);
        featureDim = features.length / items.length;
      }
      return probs;
    } finally {
      model.dispose();
      disposeOptimizer(optimizer);
    }
  });

  if (abandoned()) throw new Error('The label check was abandoned.');
  const errors = findLabelErrors(oof, labels, numClasses);
  onProgress({ phase: 'duplicates', fold: folds, folds, done: items.length, total: items.length });
  const pairs = features ? findDisagreeingDuplicates(features, featureDim, labels, 0.97, 200) : [];
  const report: LabelQualityReport = {
    projectId,
    createdAt: Date.now(),
    folds,
    classes,
    checked: items.length,
    oofAccuracy: agreement(oof, labels, numClasses),
    issues: errors.slice(0, 500).map(({ index, given, suggested, ...rest }) => ({
      ...rest,
      id: items[index].id,
      given: classes[given],
      suggested: classes[suggested],
    })),
    duplicates: pairs.map(({ a, b, similarity }) => ({
      similarity,
      a: items[a].id,
      b: items[b].id,
      labelA: classes[labels[a]],
      labelB: classes[labels[b]],
    })),
  };
  if (abandoned()) throw new Error('The label check was abandoned.');
  await setMeta(labelReportKey(projectId), report);
  return report;
}

async function* xsOnly(data: { batches(): AsyncIterable<{ xs: tf.Tensor; ys: tf.Tensor }> }): AsyncGenerator<tf.Tensor> {
  for await (const b of data.batches()) {
    b.ys.dispose();
    yield b.xs;
  }
}

async function collect(source: AsyncIterable<tf.Tensor>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const x of source) {
    try {
      parts.push((await x.data()) as Float32Array);
    } finally {
      x.dispose();
    }
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
