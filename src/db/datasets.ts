// Dataset versions: immutable, content-addressed snapshots (same content, same id, stored once).
import { db } from './open';
import { restoreAll, restoreDatasetVersion, restoreOne } from './restore';
import { requireProject } from './project-guard';
import type { DatasetVersionRecord } from '../contracts/records';

export async function listDatasetVersions(projectId: string): Promise<DatasetVersionRecord[]> {
  const all = restoreAll(await (await db()).getAllFromIndex('datasetVersions', 'byProject', projectId), restoreDatasetVersion);
  return all.sort((a, b) => b.number - a.number);
}

export async function getDatasetVersion(id: string): Promise<DatasetVersionRecord | undefined> {
  return restoreOne(await (await db()).get('datasetVersions', id), restoreDatasetVersion);
}

/**
 * Stores a version unless one with the same content id exists (then that one is returned: a
 * snapshot of unchanged data is the same version). Numbering happens inside the transaction.
 */
export async function putDatasetVersion(
  version: Omit<DatasetVersionRecord, 'number'>,
): Promise<{ record: DatasetVersionRecord; created: boolean }> {
  const tx = (await db()).transaction(['projects', 'datasetVersions'], 'readwrite', { durability: 'strict' });
  requireProject(await tx.objectStore('projects').get(version.projectId), version.projectId);
  const existing = await tx.objectStore('datasetVersions').get(version.id);
  if (existing) {
    await tx.done;
    return { record: existing, created: false };
  }
  const siblings = await tx.objectStore('datasetVersions').index('byProject').getAll(version.projectId);
  const record: DatasetVersionRecord = { ...version, number: siblings.reduce((n, v) => Math.max(n, v.number), 0) + 1 };
  await tx.objectStore('datasetVersions').put(record);
  await tx.done;
  return { record, created: true };
}
