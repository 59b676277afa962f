// K-fold assignment for out-of-sample predictions (label-error search needs, for every sample,
// probabilities from a model that never trained on it).
import { mulberry32, shuffleInPlace } from '../ml/random';

/**
 * Fold index (0..k-1) per sample, stratified by class and reproducible from the seed.
 *
 * Each class is shuffled, then all classes are dealt out in ascending class order by one
 * round-robin counter that carries over from class to class. So every class is split as evenly
 * as possible (its fold counts differ by at most one), fold sizes overall differ by at most one,
 * and classes with fewer than k members land in different folds instead of piling into fold 0.
 */
export function stratifiedFolds(labels: number[], k: number, seed: number): number[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`fold count must be a positive integer, got ${k}`);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const members = byClass.get(label);
    if (members) members.push(i);
    else byClass.set(label, [i]);
  });
  const rand = mulberry32(seed);
  const folds = new Array<number>(labels.length);
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of shuffleInPlace(byClass.get(label)!, rand)) {
      folds[i] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}
