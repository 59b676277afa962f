// Readers of the dataset outside the Data page (training, label export, pre-labeling) must see the
// same samples it does: only those of imports that wrote their closing (manifest) record.
// A sample of a session still 'running' belongs to an import that is in progress or was interrupted.
import { db } from './open';
import { listImports } from './imports';
import { listSamples } from './samples';
import type { SampleRecord } from '../contracts/records';

export interface CommittedSamples {
  samples: SampleRecord[];
  /** Records too damaged to read (listed as damaged, never used). */
  damaged: number;
  /** Samples hidden because their import has no closing record yet. */
  uncommitted: number;
}

/**
 * The samples of a project whose import finished (complete, cancelled or failed with a closing
 * record). `closed` lets the page count a closing record kept outside IndexedDB (disk full).
 */
export async function listCommittedSamples(
  projectId: string,
  closed: (importId: string) => boolean = () => false,
): Promise<CommittedSamples> {
  const [{ samples, damaged }, sessions] = await Promise.all([listSamples(projectId), listImports(projectId)]);
  const open = new Set(sessions.filter((s) => s.state === 'running' && !closed(s.id)).map((s) => s.id));
  const committed = open.size ? samples.filter((s) => !open.has(s.importId)) : samples;
  return { samples: committed, damaged, uncommitted: samples.length - committed.length };
}

/**
 * Per project, how many saved images belong to imports without a closing record (in progress, or
 * interrupted and waiting for resume / keep / discard). The one counting rule of the project card
 * and the Data stage: "N images" are the committed ones; these are shown apart, never in N.
 * `closed` is as for listCommittedSamples.
 */
export async function unfinishedImportCounts(closed: (importId: string) => boolean = () => false): Promise<Map<string, number>> {
  const tx = (await db()).transaction(['imports', 'samples'], 'readonly');
  const sessions = (await tx.objectStore('imports').getAll()).filter(
    (s) => s?.state === 'running' && typeof s.projectId === 'string' && !closed(s.id),
  );
  const counts = await Promise.all(sessions.map((s) => tx.objectStore('samples').index('byImport').count(s.id)));
  await tx.done;
  const out = new Map<string, number>();
  sessions.forEach((s, i) => counts[i] > 0 && out.set(s.projectId, (out.get(s.projectId) ?? 0) + counts[i]));
  return out;
}
