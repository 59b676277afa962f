// The label-error finder end to end on real images: Digits demo images with 5% of their labels
// deliberately flipped, out-of-fold probabilities from the app's MLP trained with the app's loop
// (each image judged by a model that never saw it), ranked by confident learning.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDigitsDemo } from '../../bench/lib/digits-demo';
import { fit, predictRows, type ArraySet } from '../../bench/lib/array-trainer';
import { outOfFoldProbabilities, agreement } from '../../src/lib/label/cross-val';
import { findLabelErrors } from '../../src/lib/label/label-errors';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('label errors on digits with flipped labels', () => {
  it('ranks most flipped labels at the top, using only out-of-fold predictions', async () => {
    const demo = await loadDigitsDemo();
    const rand = mulberry32(2026);
    // 80 images per digit keeps the four folds' training quick on the CPU backend.
    const rows = shuffleInPlace(
      demo.y.map((_, i) => i),
      rand,
    ).filter((_, i, all) => all.slice(0, i).filter((j) => demo.y[j] === demo.y[all[i]]).length < 80);
    const n = rows.length;
    const x = new Float32Array(n * 784);
    rows.forEach((r, i) => x.set(demo.x.subarray(r * 784, (r + 1) * 784), i * 784));
    const trueY = rows.map((r) => demo.y[r]);
    const given = trueY.slice();
    const flipped = new Set(
      shuffleInPlace(
        given.map((_, i) => i),
        rand,
      ).slice(0, Math.round(n * 0.05)),
    );
    for (const i of flipped) given[i] = (given[i] + 1 + Math.floor(rand() * 9)) % 10;
    const set: ArraySet = { x, y: given, shape: [28, 28, 1], numClasses: 10 };

    const seen: Array<Set<number>> = [];
    const oof = await outOfFoldProbabilities(given, 10, 4, 7, async (train, heldOut, fold) => {
      const trainSet = new Set(train);
      expect(heldOut.some((i) => trainSet.has(i))).toBe(false);
      seen.push(trainSet);
      const { model } = await fit(set, train, {
        architecture: { kind: 'mlp', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.1, hidden: [64] },
        epochs: 15,
        batchSize: 32,
        learningRate: 0.003,
        seed: 11 + fold,
      });
      try {
        return await predictRows(model, set, heldOut);
      } finally {
        model.dispose();
      }
    });
    expect(seen).toHaveLength(4);
    // The judges are decent on the true labels (a sanity check that the test measures something).
    expect(agreement(oof, trueY, 10)).toBeGreaterThan(0.8);

    const issues = findLabelErrors(oof, given, 10);
    const top = issues.slice(0, flipped.size * 2).map((i) => i.index);
    const recall = top.filter((i) => flipped.has(i)).length / flipped.size;
    const precisionTop = issues.slice(0, flipped.size).filter((i) => flipped.has(i.index)).length / flipped.size;
    console.log(
      `label errors: ${flipped.size} flipped of ${n}; recall in top ${flipped.size * 2}: ${(recall * 100).toFixed(0)}%, precision of top ${flipped.size}: ${(precisionTop * 100).toFixed(0)}%`,
    );
    expect(recall).toBeGreaterThanOrEqual(0.8);
    expect(precisionTop).toBeGreaterThanOrEqual(0.6);
    // Suggestions point back at the true digit for most flipped images found.
    const found = issues.filter((i) => flipped.has(i.index));
    expect(found.filter((i) => i.suggested === trueY[i.index]).length / found.length).toBeGreaterThan(0.8);
  }, 180_000);
});
