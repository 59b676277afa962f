// Which training images calibrate an int8 export: a stratified, seeded sample of the training
// split only (never val/test, so the reported test agreement is not measured on calibration data).
// Pure: the worker reads the picked ids' pixels and passes them to exportTflite as `calibration`.
import { hashString, mulberry32, shuffleInPlace } from '../../ml/random';

export interface CalibrationItem {
  id: string;
  label: string | null;
  split: string;
}

export interface CalibrationPlan {
  /** Picked ids, grouped by class in label order, seeded order within a class. */
  ids: string[];
  /** Picked per class. */
  perClass: Record<string, number>;
}

/** TFLite's converter documentation suggests ~100-500 representative samples; 200 is plenty for these nets. */
export const DEFAULT_CALIBRATION_SIZE = 200;

/**
 * Up to `count` training ids, split over classes in proportion to their training counts (largest
 * remainder), every class with training data getting at least one when `count` allows. The same
 * (items, count, seed) always gives the same ids, whatever the input order.
 */
export function pickCalibrationSample(items: CalibrationItem[], count: number = DEFAULT_CALIBRATION_SIZE, seed = 0): CalibrationPlan {
  if (!Number.isInteger(count) || count < 1) throw new Error(`Calibration size must be a whole number of at least 1 (got ${count}).`);
  const byLabel = new Map<string, string[]>();
  for (const it of items) {
    if (it.split !== 'train' || it.label === null) continue;
    const group = byLabel.get(it.label);
    if (group) group.push(it.id);
    else byLabel.set(it.label, [it.id]);
  }
  const labels = [...byLabel.keys()].sort();
  const total = labels.reduce((s, l) => s + byLabel.get(l)!.length, 0);
  if (total === 0) throw new Error('int8 calibration needs labelled images in the training split; this version has none.');
  const n = Math.min(count, total);

  // Quotas: one per class first (when n allows), the rest in proportion, largest remainder.
  const quota = new Map<string, number>(labels.map((l) => [l, 0]));
  let left = n;
  if (n >= labels.length) {
    for (const l of labels) quota.set(l, 1);
    left -= labels.length;
  }
  const room = (l: string) => byLabel.get(l)!.length - quota.get(l)!;
  const roomTotal = labels.reduce((s, l) => s + room(l), 0);
  const shares = labels.map((l) => ({ l, exact: roomTotal > 0 ? (left * room(l)) / roomTotal : 0 }));
  for (const s of shares) {
    const whole = Math.min(room(s.l), Math.floor(s.exact));
    quota.set(s.l, quota.get(s.l)! + whole);
    left -= whole;
  }
  // Stable sort: equal remainders go to the earlier label.
  for (const s of [...shares].sort((a, b) => (b.exact % 1) - (a.exact % 1))) {
    if (left <= 0) break;
    if (room(s.l) > 0) {
      quota.set(s.l, quota.get(s.l)! + 1);
      left--;
    }
  }
  for (const l of labels) {
    // Only when n < number of classes: the first classes (in label order) get one each.
    if (left <= 0) break;
    if (room(l) > 0) {
      quota.set(l, quota.get(l)! + 1);
      left--;
    }
  }

  const ids: string[] = [];
  const perClass: Record<string, number> = {};
  for (const l of labels) {
    const q = quota.get(l)!;
    if (q === 0) continue;
    const pool = [...byLabel.get(l)!].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    shuffleInPlace(pool, mulberry32((seed ^ hashString(`calibration:${l}`)) >>> 0));
    ids.push(...pool.slice(0, q));
    perClass[l] = q;
  }
  return { ids, perClass };
}
