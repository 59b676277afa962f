// Train/val/test assignment (stratified, seeded, order-independent) and the checks that refuse
// training on too little data. The test split is frozen per dataset so model versions compare fairly.
import { hashString, mulberry32, shuffleInPlace } from './random';

export type Split = 'train' | 'val' | 'test';
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}
export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, val: 0.15, test: 0.15 };

export interface SplitItem {
  id: string;
  label: string;
  split?: Split | 'unassigned';
}
export interface AssignOptions {
  seed: number;
  fractions?: SplitFractions;
  /** Default true: items already in train/val/test keep their split; only new ones are placed. */
  keepExisting?: boolean;
}

const ORDER: Split[] = ['train', 'val', 'test'];

function normalise(f: SplitFractions): SplitFractions {
  const parts = ORDER.map((k) => f[k]);
  if (parts.some((p) => !Number.isFinite(p) || p < 0)) throw new Error('Split fractions must be non-negative numbers');
  const sum = parts[0] + parts[1] + parts[2];
  if (sum <= 0) throw new Error('Split fractions must not all be zero');
  return { train: f.train / sum, val: f.val / sum, test: f.test / sum };
}

/** Target counts for a class of n items: largest remainder, then the minimum-coverage rules. */
export function targetCounts(n: number, fr: SplitFractions): Record<Split, number> {
  const f = normalise(fr);
  const t = { train: 0, val: 0, test: 0 };
  const rem = ORDER.map((k) => ({ k, r: n * f[k] - Math.floor(n * f[k]) }));
  for (const k of ORDER) t[k] = Math.floor(n * f[k]);
  let left = n - t.train - t.val - t.test;
  // Stable sort keeps train before val before test on equal remainders.
  for (const { k } of [...rem].sort((a, b) => b.r - a.r)) {
    if (left <= 0) break;
    if (f[k] > 0) {
      t[k]++;
      left--;
    }
  }
  t.train += left; // only if every fraction with a remainder was zero
  const takeFrom = (exclude: Split): void => {
    const donor = ORDER.filter((k) => k !== exclude && t[k] > (k === 'train' ? 1 : 0)).sort((a, b) => t[b] - t[a])[0];
    if (donor) {
      t[donor]--;
      t[exclude]++;
    }
  };
  if (n >= 2 && t.train === 0) takeFrom('train');
  if (n >= 3 && f.test > 0 && t.test === 0) takeFrom('test');
  return t;
}

/**
 * Stratified per label. Each class is shuffled with a seed derived from (seed, label) after
 * sorting its ids, so the result ignores input order and adding a class never moves another.
 * New items go, one at a time, to the split furthest below its target for that class; with
 * keepExisting, the coverage minimums hold only as far as the unassigned items allow.
 */
export function assignSplits(items: SplitItem[], opts: AssignOptions): Map<string, Split> {
  const fractions = opts.fractions ?? DEFAULT_FRACTIONS;
  const keep = opts.keepExisting ?? true;
  const out = new Map<string, Split>();
  const byLabel = new Map<string, SplitItem[]>();
  for (const it of items) {
    const group = byLabel.get(it.label);
    if (group) group.push(it);
    else byLabel.set(it.label, [it]);
  }
  for (const label of [...byLabel.keys()].sort()) {
    const group = byLabel.get(label)!;
    const current = { train: 0, val: 0, test: 0 };
    const pool: string[] = [];
    for (const it of group) {
      const s = it.split;
      if (keep && (s === 'train' || s === 'val' || s === 'test')) {
        out.set(it.id, s);
        current[s]++;
      } else pool.push(it.id);
    }
    if (pool.length === 0) continue;
    pool.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    shuffleInPlace(pool, mulberry32((opts.seed ^ hashString(label)) >>> 0));
    const target = targetCounts(group.length, fractions);
    for (const id of pool) {
      // Ties go to test, then train: the scarce held-out sample is the one worth securing first.
      let best: Split = 'test';
      for (const k of ['train', 'val'] as Split[]) {
        if (target[k] - current[k] > target[best] - current[best]) best = k;
      }
      out.set(id, best);
      current[best]++;
    }
  }
  return out;
}

/** A human reason to refuse training, or null. Unlabeled samples (null) are ignored. */
export function splitProblems(labels: Array<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const l of labels) if (l !== null) counts.set(l, (counts.get(l) ?? 0) + 1);
  const names = [...counts.keys()].sort();
  if (names.length < 2) {
    const found = names.length === 0 ? 'found none' : `found 1: ${names[0]}`;
    return `Training needs at least 2 classes; ${found}`;
  }
  for (const name of names) {
    const n = counts.get(name)!;
    if (n < 2) return `Class '${name}' has ${n} image; each class needs at least 2.`;
  }
  return null;
}
