// Out-of-fold predictions: every sample is predicted by a model trained on the other folds only.
// The trainer is injected (the training worker trains TF.js models from IndexedDB; tests train on
// arrays in Node), so the fold bookkeeping is written and tested once.
import { stratifiedFolds } from './folds';

/** Trains on `trainIndices` and returns class probabilities for `heldOut`, row-major, in that order. */
export type TrainAndPredict = (trainIndices: number[], heldOut: number[], fold: number) => Promise<Float32Array>;

export async function outOfFoldProbabilities(
  labels: number[],
  numClasses: number,
  folds: number,
  seed: number,
  trainAndPredict: TrainAndPredict,
): Promise<Float32Array> {
  if (!Number.isInteger(folds) || folds < 2) throw new Error('Out-of-fold predictions need at least 2 folds.');
  if (labels.length < folds) throw new Error(`${labels.length} labeled samples cannot be split into ${folds} folds.`);
  const assignment = stratifiedFolds(labels, folds, seed);
  const out = new Float32Array(labels.length * numClasses).fill(Number.NaN);
  for (let fold = 0; fold < folds; fold++) {
    const heldOut: number[] = [];
    const train: number[] = [];
    assignment.forEach((f, i) => (f === fold ? heldOut : train).push(i));
    const probs = await trainAndPredict(train, heldOut, fold);
    if (probs.length !== heldOut.length * numClasses)
      throw new Error(`Fold ${fold + 1} returned ${probs.length} values for ${heldOut.length} samples.`);
    heldOut.forEach((row, i) => out.set(probs.subarray(i * numClasses, (i + 1) * numClasses), row * numClasses));
  }
  return out;
}

/** Share of rows whose most probable class is the given label. */
export function agreement(probs: Float32Array, labels: number[], numClasses: number): number {
  let right = 0;
  labels.forEach((label, i) => {
    let best = 0;
    for (let j = 1; j < numClasses; j++) if (probs[i * numClasses + j] > probs[i * numClasses + best]) best = j;
    if (best === label) right++;
  });
  return labels.length ? right / labels.length : 0;
}
