// Readers of the dataset outside the Data page (training, label export, pre-labeling) must see the
// same samples it does: only those of imports that wrote their closing (manifest) record.
// A sample of a session still 'running' belongs to an import that is in progress or was interrupted.
import { listImports } from './imports';
import { listSamples } from './samples';
import type { SampleRecord } from './schema';

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
export async function listCommittedSamples(projectId: string, closed: (importId: string) => boolean = () => false): Promise<CommittedSamples> {
  const [{ samples, damaged }, sessions] = await Promise.all([listSamples(projectId), listImports(projectId)]);
  const open = new Set(sessions.filter((s) => s.state === 'running' && !closed(s.id)).map((s) => s.id));
  const committed = open.size ? samples.filter((s) => !open.has(s.importId)) : samples;
  return { samples: committed, damaged, uncommitted: samples.length - committed.length };
}
