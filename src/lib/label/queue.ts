// The Label stage's queues as pure functions: which images each queue shows and in what order,
// the queue counts, the active-learning order of the unlabeled pool (uncertainty, the next batch
// first), and a written change set applied to the samples and the class list. The Label stage's
// state class (src/state/label-manager) holds the data and calls these.
import type { PrelabelRecord, SampleRecord } from '../../contracts/records';
import { isAutoLabel, type ChangeSet } from './label-ops';
import { rankByUncertainty, type UncertaintyStrategy } from './uncertainty';
import { acquire, needsFeatures, type AcquisitionStrategy } from './acquisition';
import { hashString } from '../ml/random';

export type QueueKind = 'unlabeled' | 'prelabeled' | 'auto' | 'issues' | 'conflicts' | 'labeled' | 'all';
export type LabelMode = 'grid' | 'single';

export interface Prelabel {
  versionId: string;
  predicted: string;
  confidence: number;
  rejected: boolean;
}

/** What the label-quality queue shows beside an image. */
export interface QualityNote {
  kind: 'error' | 'duplicate';
  text: string;
  suggested?: string;
}

export interface QueueCounts {
  unlabeled: number;
  auto: number;
  prelabeled: number;
  labeled: number;
  issues: number;
  conflicts: number;
}

export const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** The labels a conflicted image arrived with, in the order offered for keys 1, 2, ... */
export function conflictOptions(s: SampleRecord): string[] {
  if (!s.flags.includes('conflict')) return [];
  return [...new Set([...(s.conflictLabels ?? []), ...(s.label ? [s.label] : [])])];
}

/** The images a queue shows, in order: uncertainty order (the next batch first) where the pool is ranked, else by path. */
export function buildQueue(
  samples: SampleRecord[],
  kind: QueueKind,
  prelabels: Map<string, Prelabel>,
  ranking: string[],
  notes: Map<string, QualityNote>,
  order: 'uncertainty' | 'file',
): SampleRecord[] {
  const byId = new Map(samples.map((s) => [s.id, s]));
  if (kind === 'issues') return [...notes.keys()].map((id) => byId.get(id)).filter((s): s is SampleRecord => !!s);
  let list: SampleRecord[];
  switch (kind) {
    case 'unlabeled':
      list = samples.filter((s) => s.label === null);
      break;
    case 'prelabeled':
      list = samples.filter((s) => s.label === null && prelabels.has(s.id) && !prelabels.get(s.id)!.rejected);
      break;
    case 'auto':
      list = samples.filter((s) => isAutoLabel(s.labelSource));
      break;
    case 'conflicts':
      list = samples.filter((s) => s.flags.includes('conflict'));
      break;
    case 'labeled':
      list = samples.filter((s) => s.label !== null);
      break;
    default:
      list = samples.slice();
  }
  if (order === 'uncertainty' && ranking.length && (kind === 'unlabeled' || kind === 'prelabeled')) {
    const rank = new Map(ranking.map((id, i) => [id, i]));
    return list.sort((a, b) => (rank.get(a.id) ?? Infinity) - (rank.get(b.id) ?? Infinity) || a.path.localeCompare(b.path));
  }
  return list.sort((a, b) => a.path.localeCompare(b.path));
}

/** How many images each queue holds (the queue tabs' counts). */
export function queueCounts(samples: SampleRecord[], prelabels: Map<string, Prelabel>, issues: number): QueueCounts {
  let unlabeled = 0;
  let auto = 0;
  let pre = 0;
  let conflicts = 0;
  for (const x of samples) {
    if (x.flags.includes('conflict')) conflicts++;
    if (x.label === null) {
      unlabeled++;
      const p = prelabels.get(x.id);
      if (p && !p.rejected) pre++;
    } else if (isAutoLabel(x.labelSource)) auto++;
  }
  return { unlabeled, auto, prelabeled: pre, labeled: samples.length - unlabeled, issues, conflicts };
}

/**
 * Orders the unlabeled pool by uncertainty, with the next batch (chosen by `acquisition`) first,
 * from the stored pre-labels of the newest version that predicted it. Empty without pre-labels.
 */
export function rankPool(
  all: PrelabelRecord[],
  samples: SampleRecord[],
  o: { strategy: UncertaintyStrategy; acquisition: AcquisitionStrategy; batchSize: number },
): { ranking: string[]; nextBatch: Set<string> } {
  const unlabeled = new Set(samples.filter((s) => s.label === null).map((s) => s.id));
  // One version's predictions only: probabilities and features of two models do not mix.
  const newest = all.filter((r) => unlabeled.has(r.id)).sort((a, b) => b.createdAt - a.createdAt)[0]?.versionId;
  const rows = all.filter((r) => unlabeled.has(r.id) && r.versionId === newest && !r.rejected);
  if (!rows.length) return { ranking: [], nextBatch: new Set() };
  const k = rows[0].classes.length;
  const probs = new Float32Array(rows.length * k);
  rows.forEach((r, i) => probs.set(new Float32Array(r.probs), i * k));
  const order = rankByUncertainty(probs, k, o.strategy);
  const dim = rows[0].embedding ? rows[0].embedding.byteLength / 4 : 0;
  const withFeatures = needsFeatures(o.acquisition) && dim > 0 && rows.every((r) => r.embedding && r.embedding.byteLength === dim * 4);
  let emb: Float32Array | null = null;
  if (withFeatures) {
    emb = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => emb!.set(new Float32Array(r.embedding!), i * dim));
  }
  // Seeded by the predicting version, so the same model proposes the same batch every time.
  const batch = acquire(
    { probs, numClasses: k, features: emb, dim: withFeatures ? dim : 0 },
    { strategy: o.acquisition, batchSize: o.batchSize, seed: hashString(newest ?? '') },
  );
  const inBatch = new Set(batch);
  const ranking = [...batch, ...order.filter((i) => !inBatch.has(i))].map((i) => rows[i].id);
  return { ranking, nextBatch: new Set(batch.map((i) => rows[i].id)) };
}

/** What a label check found, as stored (the worker's LabelQualityReport has this shape and more). */
export interface QualityFindings {
  issues: Array<{ id: string; given: string; suggested: string; suggestedConfidence: number }>;
  duplicates: Array<{ a: string; b: string; labelA: string; labelB: string; similarity: number }>;
}

/** The notes the Issues queue shows, by image: likely errors first, then disagreeing near-duplicates. */
export function qualityNotesOf(report: QualityFindings, samples: SampleRecord[]): Map<string, QualityNote> {
  const notes = new Map<string, QualityNote>();
  const current = new Map(samples.map((s) => [s.id, s.label]));
  for (const issue of report.issues) {
    // An issue someone already fixed (label changed since the check) is no longer shown.
    if (current.get(issue.id) !== issue.given) continue;
    notes.set(issue.id, {
      kind: 'error',
      suggested: issue.suggested,
      text: `labeled “${issue.given}”, looks like “${issue.suggested}” (${Math.round(issue.suggestedConfidence * 100)}%)`,
    });
  }
  for (const d of report.duplicates) {
    for (const [id, other, mine, theirs] of [
      [d.a, d.b, d.labelA, d.labelB],
      [d.b, d.a, d.labelB, d.labelA],
    ] as const) {
      if (notes.has(id) || current.get(id) !== mine) continue;
      notes.set(id, {
        kind: 'duplicate',
        text: `near-duplicate (${(d.similarity * 100).toFixed(1)}%) of an image labeled “${theirs}” (${other.slice(0, 8)})`,
      });
    }
  }
  return notes;
}

/** The samples with a written change set applied (a conflict is set or cleared with its flag). */
export function patchSamples(samples: SampleRecord[], cs: ChangeSet): SampleRecord[] {
  const after = new Map(cs.changes.map((c) => [c.id, c.after]));
  return samples.map((s) => {
    const a = after.get(s.id);
    if (!a) return s;
    const { conflictLabels, ...state } = a;
    const next: SampleRecord = { ...s, ...state };
    if (conflictLabels === null) {
      next.flags = s.flags.filter((f) => f !== 'conflict');
      delete next.conflictLabels;
    } else if (conflictLabels !== undefined) {
      next.flags = s.flags.includes('conflict') ? s.flags : [...s.flags, 'conflict'];
      next.conflictLabels = [...conflictLabels];
    }
    return next;
  });
}

/** The project's class list after a change set: classes it added, less classes it removed, plus every label in use. */
export function classesAfterChange(labels: string[], cs: ChangeSet, samples: SampleRecord[]): string[] {
  const list = new Set(labels);
  for (const c of cs.classesBefore) if (!cs.classesAfter.includes(c)) list.delete(c);
  for (const c of cs.classesAfter) list.add(c);
  for (const s of samples) if (s.label) list.add(s.label);
  return [...list].sort(byName);
}
