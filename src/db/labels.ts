// Labels and pre-labels. A change set (lib/label/label-ops) lands in one transaction together with
// the project's class list, so an undo, a rename or a merge is never half applied.
import { db } from './open';
import { projectRange } from './keys';
import { restoreAll, restoreOne, restorePrelabel, restoreProject, restoreSample } from './restore';
import type { LabelSource, PrelabelRecord } from '../contracts/records';

export interface LabelWrite {
  id: string;
  label: string | null;
  labelSource: LabelSource | null;
  labeledAt: number | null;
  /** Present to change the label-conflict state: null settles it, a list (re)marks the conflict. */
  conflictLabels?: string[] | null;
}

export interface ClassListChange {
  before: string[];
  after: string[];
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/**
 * Writes label states and moves the project's class list from `classes.before` to `classes.after`
 * (as a difference, so a class an import added meanwhile is kept). Returns how many samples changed.
 */
export async function writeLabels(projectId: string, writes: LabelWrite[], classes?: ClassListChange): Promise<number> {
  const tx = (await db()).transaction(['projects', 'samples'], 'readwrite', { durability: 'strict' });
  const samples = tx.objectStore('samples');
  let changed = 0;
  try {
    const wanted = new Map(writes.map((w) => [w.id, w]));
    const used = new Set<string>();
    // One cursor pass instead of one awaited read per sample: a merge can touch thousands.
    for (let cursor = await samples.openCursor(projectRange(projectId)); cursor; cursor = await cursor.continue()) {
      const w = wanted.get(cursor.value.id);
      const current = w ? restoreSample(cursor.value) : null;
      if (w && current) {
        const next = { ...current, label: w.label, labelSource: w.labelSource, labeledAt: w.labeledAt };
        if (w.conflictLabels === null) {
          next.flags = current.flags.filter((f) => f !== 'conflict');
          delete next.conflictLabels;
        } else if (w.conflictLabels !== undefined) {
          next.flags = current.flags.includes('conflict') ? current.flags : [...current.flags, 'conflict'];
          next.conflictLabels = [...w.conflictLabels];
        }
        await cursor.update(next);
        changed++;
      }
      const label = w ? w.label : cursor.value.label;
      if (label) used.add(label);
    }
    const project = restoreProject(await tx.objectStore('projects').get(projectId));
    if (!project) throw new Error('That project no longer exists.');
    let list = new Set(project.labels);
    if (classes) {
      for (const c of classes.before) if (!classes.after.includes(c)) list.delete(c);
      for (const c of classes.after) list.add(c);
    }
    // A class still carried by samples can never disappear from the list.
    list = new Set([...list, ...used]);
    await tx.objectStore('projects').put({ ...project, labels: [...list].sort(byName), updatedAt: Date.now() });
    await tx.done;
  } catch (err) {
    // Abort explicitly: a non-IndexedDB error part-way must not commit the changes made so far.
    try {
      tx.abort();
    } catch {
      /* already finished or aborted */
    }
    await tx.done.catch(() => {});
    throw err;
  }
  return changed;
}

export async function putPrelabels(records: PrelabelRecord[]): Promise<void> {
  const tx = (await db()).transaction('prelabels', 'readwrite');
  for (const r of records) void tx.store.put(r);
  await tx.done;
}

export async function listPrelabels(projectId: string): Promise<PrelabelRecord[]> {
  return restoreAll(await (await db()).getAll('prelabels', projectRange(projectId)), restorePrelabel);
}

export async function getPrelabels(projectId: string, ids: string[]): Promise<Array<PrelabelRecord | undefined>> {
  const tx = (await db()).transaction('prelabels', 'readonly');
  const out = await Promise.all(ids.map((id) => tx.store.get([projectId, id])));
  await tx.done;
  return out.map((r) => restoreOne(r, restorePrelabel));
}

export async function setPrelabelsRejected(projectId: string, ids: string[], rejected: boolean): Promise<void> {
  const tx = (await db()).transaction('prelabels', 'readwrite');
  for (const id of ids) {
    const r = await tx.store.get([projectId, id]);
    if (r) await tx.store.put({ ...r, rejected });
  }
  await tx.done;
}

export async function clearPrelabels(projectId: string): Promise<void> {
  await (await db()).delete('prelabels', projectRange(projectId));
}
