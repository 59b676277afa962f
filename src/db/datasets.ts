// Dataset versions: immutable, content-addressed snapshots (same content, same id, stored once).
import { db } from './open';
import type { DatasetVersionRecord } from './schema';

export async function listDatasetVersions(projectId: string): Promise<DatasetVersionRecord[]> {
  const all = await (await db()).getAllFromIndex('datasetVersions', 'byProject', projectId);
  return all.sort((a, b) => b.number - a.number);
}

export async function getDatasetVersion(id: string): Promise<DatasetVersionRecord | undefined> {
  return (await db()).get('datasetVersions', id);
}

/**
 * Stores a version unless one with the same content id exists (then that one is returned: a
 * snapshot of unchanged data is the same version). Numbering happens inside the transaction.
 */
export async function putDatasetVersion(version: Omit<DatasetVersionRecord, 'number'>): Promise<{ record: DatasetVersionRecord; created: boolean }> {
  const tx = (await db()).transaction('datasetVersions', 'readwrite', { durability: 'strict' });
  const existing = await tx.store.get(version.id);
  if (existing) {
    await tx.done;
    return { record: existing, created: false };
  }
  const siblings = await tx.store.index('byProject').getAll(version.projectId);
  const record: DatasetVersionRecord = { ...version, number: siblings.reduce((n, v) => Math.max(n, v.number), 0) + 1 };
  await tx.store.put(record);
  await tx.done;
  return { record, created: true };
}
