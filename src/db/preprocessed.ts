// Cache of preprocessed model inputs keyed by (preprocessing config hash, project, sample id):
// a second run with the same preprocessing never decodes an image again.
import { db } from './open';
import { restoreOne, restorePreprocessed } from './restore';
import { requireProject } from './project-guard';
import type { PreprocessedRecord } from '../contracts/records';

export async function cachedIds(configHash: string, projectId: string): Promise<Set<string>> {
  const range = IDBKeyRange.bound([projectId, configHash, ''], [projectId, configHash, '\uffff']);
  const keys = await (await db()).getAllKeys('preprocessed', range);
  return new Set(keys.map((k) => k[2]));
}

export async function putPreprocessed(records: PreprocessedRecord[]): Promise<void> {
  if (records.length === 0) return;
  const tx = (await db()).transaction(['projects', 'preprocessed'], 'readwrite');
  for (const projectId of new Set(records.map((r) => r.projectId)))
    requireProject(await tx.objectStore('projects').get(projectId), projectId);
  for (const r of records) void tx.objectStore('preprocessed').put(r);
  await tx.done;
}

/** Reads one batch in a single read-only transaction, in the order asked. */
export async function getPreprocessedBatch(configHash: string, projectId: string, ids: string[]): Promise<PreprocessedRecord[]> {
  const tx = (await db()).transaction('preprocessed', 'readonly');
  const records = await Promise.all(ids.map((id) => tx.store.get([projectId, configHash, id])));
  await tx.done;
  return records.map((raw, i) => {
    const r = restoreOne(raw, restorePreprocessed);
    if (!r) throw new Error(`Preprocessed data for sample ${ids[i].slice(0, 12)} is missing; run again to rebuild the cache.`);
    return r;
  });
}
