// Labeling edits as pure change sets: each op returns the exact before/after of every sample it
// touches plus the class list on both sides, so undo is applying the inverse and storage can
// write one change set in one transaction.
import type { LabelSource } from '../../contracts/records';
import { normaliseLabel } from '../import/labels';

export interface LabelState {
  label: string | null;
  labelSource: LabelSource | null;
  labeledAt: number | null;
  /**
   * Only in changes that settle (or, undone, restore) a label conflict: the labels the image
   * arrived with, or null for "no conflict". Absent means the conflict state is left as it is.
   */
  conflictLabels?: string[] | null;
}
export interface LabelChange {
  id: string;
  before: LabelState;
  after: LabelState;
}
export interface ChangeSet {
  description: string;
  changes: LabelChange[];
  classesBefore: string[];
  classesAfter: string[];
}
type Labeled = { id: string } & LabelState;

/**
 * Gives `ids` the label (null = unlabel, which also clears source and labeledAt). The label is
 * cleaned like a class name, and one differing from an existing class only in case is refused
 * (it would become a second class). Samples already carrying that label and source are skipped,
 * so re-clicking a class does not bump labeledAt or fill the undo history; unknown ids are
 * skipped too (a sample deleted while someone labels). A label new to `classes` is added to
 * classesAfter; emptied classes stay (classes are explicit, see addClass).
 */
export function assignLabels(
  samples: Labeled[],
  ids: string[],
  label: string | null,
  source: LabelSource | null,
  now: number,
  classes: string[],
  description?: string,
): ChangeSet {
  const name = label === null ? null : cleanClassName(label);
  if (name !== null && !classes.includes(name)) refuseCaseVariant(classes, name);
  const after: LabelState = name === null ? UNLABELED : { label: name, labelSource: source, labeledAt: now };
  const byId = new Map(samples.map((s) => [s.id, s]));
  const changes: LabelChange[] = [];
  for (const id of new Set(ids)) {
    const sample = byId.get(id);
    if (!sample || (sample.label === after.label && sameLabelSource(sample.labelSource, after.labelSource))) continue;
    changes.push({ id, before: copyState(sample), after: copyState(after) });
  }
  const classesAfter = name === null || classes.includes(name) ? sortClasses(classes) : sortClasses([...classes, name]);
  const count = plural(changes.length, 'image');
  return {
    description: description ?? (name === null ? `Remove the label from ${count}` : `Label ${count} “${name}”`),
    changes,
    classesBefore: [...classes],
    classesAfter,
  };
}

/**
 * Renames a class on every sample carrying it. Refuses a name that exists (other than `from`
 * itself in another case, so "cat" -> "Cat" works): that would silently be a merge.
 *
 * Source and labeledAt are both kept: a rename changes what the class is called, not anyone's
 * decision about which images belong to it. Bumping labeledAt would make thousands of untouched
 * labels look freshly reviewed. `now` is accepted for symmetry with the other ops and unused.
 */
export function renameClass(samples: Labeled[], from: string, to: string, classes: string[], now: number): ChangeSet {
  void now;
  requireClass(classes, from);
  const name = cleanClassName(to);
  if (name === from) return { description: `Rename “${from}”`, changes: [], classesBefore: [...classes], classesAfter: [...classes] };
  const clash = classes.find((c) => c !== from && sameName(c, name));
  if (clash !== undefined) throw new Error(`A class named “${clash}” already exists; merge “${from}” into it instead`);
  const changes: LabelChange[] = [];
  for (const s of samples) {
    if (s.label !== from) continue;
    changes.push({ id: s.id, before: copyState(s), after: { ...copyState(s), label: name } });
  }
  return {
    description: `Rename “${from}” to “${name}”`,
    changes,
    classesBefore: [...classes],
    classesAfter: sortClasses([...classes.filter((c) => c !== from), name]),
  };
}

/**
 * Moves every sample of the `from` classes into `into` and removes those classes. `into` may be
 * an existing class or a new name. The merged samples get source human and labeledAt `now`:
 * someone decided these images belong to `into`, which no folder, CSV or model said.
 */
export function mergeClasses(samples: Labeled[], from: string[], into: string, classes: string[], now: number): ChangeSet {
  const target = cleanClassName(into);
  for (const f of from) requireClass(classes, f);
  const merged = new Set(from.filter((f) => f !== target));
  if (merged.size === 0) throw new Error(`Choose at least one class other than “${target}” to merge into it`);
  if (!classes.includes(target))
    refuseCaseVariant(
      classes.filter((c) => !merged.has(c)),
      target,
    );
  const after: LabelState = { label: target, labelSource: { kind: 'human' }, labeledAt: now };
  const changes: LabelChange[] = [];
  for (const s of samples) {
    if (s.label !== null && merged.has(s.label)) changes.push({ id: s.id, before: copyState(s), after: copyState(after) });
  }
  const names = [...merged].map((f) => `“${f}”`).join(', ');
  return {
    description: `Merge ${names} into “${target}”`,
    changes,
    classesBefore: [...classes],
    classesAfter: sortClasses([...classes.filter((c) => !merged.has(c) && c !== target), target]),
  };
}

/**
 * Settles label conflicts (the same image arrived with several labels, so training leaves it out):
 * the conflicted samples among `ids` get `label`, source human, and lose the conflict, in one
 * undoable change set (undo brings the conflict back). A label differing from an existing class
 * only in case goes to that class (two imports may have spelled it differently); a new one is added.
 */
export function resolveConflicts(
  samples: Array<Labeled & { flags: readonly string[]; conflictLabels?: string[] }>,
  ids: string[],
  label: string,
  now: number,
  classes: string[],
): ChangeSet {
  const clean = cleanClassName(label);
  const name = classes.includes(clean) ? clean : (classes.find((c) => sameName(c, clean)) ?? clean);
  const byId = new Map(samples.map((s) => [s.id, s]));
  const changes: LabelChange[] = [];
  for (const id of new Set(ids)) {
    const s = byId.get(id);
    if (!s || !s.flags.includes('conflict')) continue;
    changes.push({
      id,
      before: { ...copyState(s), conflictLabels: [...(s.conflictLabels ?? [])] },
      after: { label: name, labelSource: { kind: 'human' }, labeledAt: now, conflictLabels: null },
    });
  }
  return {
    description: `Resolve ${plural(changes.length, 'label conflict')} as “${name}”`,
    changes,
    classesBefore: [...classes],
    classesAfter: classes.includes(name) ? sortClasses(classes) : sortClasses([...classes, name]),
  };
}

/** New sorted class list with `name` added. Case-insensitive uniqueness: "Cat" next to "cat" is a typo, not a class. */
export function addClass(classes: string[], name: string): string[] {
  const clean = cleanClassName(name);
  const clash = classes.find((c) => sameName(c, clean));
  if (clash !== undefined) throw new Error(`A class named “${clash}” already exists`);
  return sortClasses([...classes, clean]);
}

/** The change set that undoes `cs` (and, applied to an undo, redoes it). */
export function invertChangeSet(cs: ChangeSet): ChangeSet {
  return {
    description: cs.description.startsWith(UNDO) ? cs.description.slice(UNDO.length) : UNDO + cs.description,
    // Reversed so a change set that touched one id twice would still unwind to the first before.
    changes: cs.changes.map((c) => ({ id: c.id, before: copyChangeState(c.after), after: copyChangeState(c.before) })).reverse(),
    classesBefore: [...cs.classesAfter],
    classesAfter: [...cs.classesBefore],
  };
}

/** True for labels nobody looked at: a model's prediction accepted by the confidence threshold. */
export function isAutoLabel(source: LabelSource | null): boolean {
  return source !== null && source.kind === 'model' && source.accepted === 'auto';
}

/** Short text for where a label came from, e.g. "person" or "auto (model 3f9a2c1d 97%)". */
export function sourceLabel(source: LabelSource | null): string {
  if (source === null) return 'none';
  switch (source.kind) {
    case 'human':
      return 'person';
    case 'folder':
      return 'folder name';
    case 'csv':
      return 'CSV';
    case 'model': {
      // Floored so the text never claims more confidence than the model had (0.969 is not 97%).
      const percent = Math.floor(source.confidence * 100 + 1e-9);
      const model = `model ${source.versionId.slice(0, 8)} ${percent}%`;
      return source.accepted === 'auto' ? `auto (${model})` : model;
    }
  }
}

export function sameLabelSource(a: LabelSource | null, b: LabelSource | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'model' || b.kind !== 'model') return true;
  return a.versionId === b.versionId && a.confidence === b.confidence && a.accepted === b.accepted;
}

/** Sorted so "class 2" precedes "class 10" and the list order never depends on edit history. */
export function sortClasses(classes: string[]): string[] {
  return [...classes].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

const UNDO = 'Undo: ';
const UNLABELED: LabelState = { label: null, labelSource: null, labeledAt: null };

/** Copies, so no change set shares a source object with the samples or with another change. */
function copyState(s: LabelState): LabelState {
  return { label: s.label, labelSource: s.labelSource === null ? null : { ...s.labelSource }, labeledAt: s.labeledAt };
}

/** Like copyState, keeping a change's conflict part (for undo of a conflict resolution). */
function copyChangeState(s: LabelState): LabelState {
  const copy = copyState(s);
  if (s.conflictLabels !== undefined) copy.conflictLabels = s.conflictLabels === null ? null : [...s.conflictLabels];
  return copy;
}

/** Same cleaning as folder and CSV labels, so a typed name and an imported one compare equal. */
function cleanClassName(name: string): string {
  const clean = normaliseLabel(name);
  if (clean === null) throw new Error('A class name cannot be empty');
  return clean;
}

function requireClass(classes: string[], name: string): void {
  if (!classes.includes(name)) throw new Error(`There is no class named “${name}”`);
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function refuseCaseVariant(classes: string[], name: string): void {
  const clash = classes.find((c) => sameName(c, name));
  if (clash !== undefined) throw new Error(`“${name}” differs from the existing class “${clash}” only in case; use “${clash}”`);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
