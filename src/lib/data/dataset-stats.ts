// Counts, filters and warnings over sample metadata. Pure, so the rules are tested in Node.
import type { SampleRecord, Split } from '../../contracts/records';

export type StatusFilter = 'all' | 'ok' | 'unlabeled' | 'truncated' | 'conflict';
export interface SampleFilter {
  label: string | null; // null = every label; '' = unlabeled only
  split: Split | 'all';
  status: StatusFilter;
}

export const NO_FILTER: SampleFilter = { label: null, split: 'all', status: 'all' };

export function filterSamples(samples: SampleRecord[], f: SampleFilter): SampleRecord[] {
  return samples.filter((s) => {
    if (f.label !== null && (f.label === '' ? s.label !== null : s.label !== f.label)) return false;
    if (f.split !== 'all' && s.split !== f.split) return false;
    switch (f.status) {
      case 'ok':
        return s.flags.length === 0 && s.label !== null;
      case 'unlabeled':
        return s.label === null;
      case 'truncated':
        return s.flags.includes('truncated');
      case 'conflict':
        return s.flags.includes('conflict');
      default:
        return true;
    }
  });
}

/**
 * The labels a conflicted image arrived with, as text: “circle” and “square” (its current label
 * included, each once). Empty when the image has no conflict.
 */
export function conflictText(s: Pick<SampleRecord, 'label' | 'flags' | 'conflictLabels'>): string {
  if (!s.flags.includes('conflict')) return '';
  const all = [...new Set([...(s.conflictLabels ?? []), ...(s.label ? [s.label] : [])])].map((l) => `“${l}”`);
  return all.length <= 1 ? (all[0] ?? 'several labels') : `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
}

export interface LeftOut {
  /** Label conflicts (labeled or not): left out until someone keeps one label. */
  conflicts: number;
  /** Unlabeled, without a conflict. */
  unlabeled: number;
  /** Auto-accepted labels, when training is set to leave them out. */
  auto: number;
  total: number;
}

/** How many images training leaves out and why (the same rules as the train worker's trainableSamples). */
export function leftOutOfTraining(samples: SampleRecord[], opts: { excludeAutoLabels: boolean }): LeftOut {
  let conflicts = 0;
  let unlabeled = 0;
  let auto = 0;
  for (const s of samples) {
    if (s.flags.includes('conflict')) conflicts++;
    else if (s.label === null) unlabeled++;
    else if (opts.excludeAutoLabels && s.labelSource?.kind === 'model' && s.labelSource.accepted === 'auto') auto++;
  }
  return { conflicts, unlabeled, auto, total: conflicts + unlabeled + auto };
}

export interface DatasetStats {
  total: number;
  unlabeled: number;
  perClass: Array<{ label: string; count: number }>;
  perSplit: Record<Split, number>;
  truncated: number;
  conflicts: number;
}

export function datasetStats(samples: SampleRecord[]): DatasetStats {
  const perClass = new Map<string, number>();
  const perSplit: Record<Split, number> = { unassigned: 0, train: 0, val: 0, test: 0 };
  let unlabeled = 0;
  let truncated = 0;
  let conflicts = 0;
  for (const s of samples) {
    if (s.label === null) unlabeled++;
    else perClass.set(s.label, (perClass.get(s.label) ?? 0) + 1);
    perSplit[s.split]++;
    if (s.flags.includes('truncated')) truncated++;
    if (s.flags.includes('conflict')) conflicts++;
  }
  return {
    total: samples.length,
    unlabeled,
    perClass: [...perClass]
      .map(([label, count]) => ({ label, count }))
      .sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true })),
    perSplit,
    truncated,
    conflicts,
  };
}

export interface DatasetWarning {
  kind: 'imbalance' | 'tiny-class' | 'single-class' | 'conflicts' | 'truncated' | 'duplicates' | 'unlabeled';
  message: string;
}

/** The ratio of largest to smallest class above which training will likely favour the big class. */
export const IMBALANCE_RATIO = 3;

export function datasetWarnings(stats: DatasetStats, duplicatesSeen: number): DatasetWarning[] {
  const w: DatasetWarning[] = [];
  const counts = stats.perClass.map((c) => c.count);
  if (stats.total > 0 && stats.perClass.length === 1) {
    w.push({ kind: 'single-class', message: 'Only one class so far: a classifier needs at least two.' });
  }
  if (counts.length >= 2) {
    const max = Math.max(...counts);
    const min = Math.min(...counts);
    if (min > 0 && max / min >= IMBALANCE_RATIO) {
      const small = stats.perClass.filter((c) => c.count === min).map((c) => c.label);
      w.push({ kind: 'imbalance', message: `Classes are imbalanced: ${max} vs ${min} images (smallest: ${small.join(', ')}).` });
    }
  }
  const tiny = stats.perClass.filter((c) => c.count < 2);
  if (tiny.length)
    w.push({
      kind: 'tiny-class',
      message: `Classes with fewer than 2 images cannot be split for training: ${tiny.map((c) => c.label).join(', ')}.`,
    });
  if (stats.conflicts)
    w.push({ kind: 'conflicts', message: `${stats.conflicts} images arrived with more than one label (label conflicts).` });
  if (stats.truncated)
    w.push({ kind: 'truncated', message: `${stats.truncated} images look truncated (the file ends early); review or delete them.` });
  if (duplicatesSeen) w.push({ kind: 'duplicates', message: `${duplicatesSeen} duplicate files were found on import and stored once.` });
  if (stats.unlabeled) w.push({ kind: 'unlabeled', message: `${stats.unlabeled} images have no label yet.` });
  return w;
}
