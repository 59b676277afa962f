// The model registry: immutable versions (metadata apart from weights) and aliases with history.
import { db } from './open';
import { restoreAlias, restoreAll, restoreModelWeights, restoreOne, restoreVersion } from './restore';
import { requireProject } from './project-guard';
import type { AliasRecord, ModelVersionRecord, ModelWeightsRecord } from '../contracts/records';

export async function listVersions(projectId: string): Promise<ModelVersionRecord[]> {
  const all = restoreAll(await (await db()).getAllFromIndex('models', 'byProject', projectId), restoreVersion);
  return all.sort((a, b) => b.number - a.number);
}

export async function getVersion(id: string): Promise<ModelVersionRecord | undefined> {
  return restoreOne(await (await db()).get('models', id), restoreVersion);
}

export async function getWeights(versionId: string): Promise<ModelWeightsRecord | undefined> {
  return restoreOne(await (await db()).get('modelWeights', versionId), restoreModelWeights);
}

/** Weights first, metadata last, in one transaction: a version is listed only when complete. */
export async function addVersion(version: Omit<ModelVersionRecord, 'number'>, weights: ModelWeightsRecord): Promise<ModelVersionRecord> {
  const tx = (await db()).transaction(['projects', 'models', 'modelWeights'], 'readwrite', { durability: 'strict' });
  requireProject(await tx.objectStore('projects').get(version.projectId), version.projectId);
  const existing = await tx.objectStore('models').index('byProject').getAll(version.projectId);
  const number = existing.reduce((n, v) => Math.max(n, v.number), 0) + 1;
  const record: ModelVersionRecord = { ...version, number };
  await tx.objectStore('modelWeights').put(weights);
  await tx.objectStore('models').put(record);
  await tx.done;
  return record;
}

/** Removes one version. Others never depend on its weights; aliases pointing at it are cleared (with history). */
export async function deleteVersion(id: string): Promise<void> {
  const tx = (await db()).transaction(['models', 'modelWeights', 'aliases'], 'readwrite', { durability: 'strict' });
  const version = await tx.objectStore('models').get(id);
  if (!version) return;
  const range = IDBKeyRange.bound([version.projectId, ''], [version.projectId, '\uffff']);
  for (const alias of await tx.objectStore('aliases').getAll(range)) {
    if (alias.versionId === id) {
      await tx.objectStore('aliases').put({ ...alias, versionId: null, history: [...alias.history, { versionId: null, at: Date.now() }] });
    }
  }
  await tx.objectStore('modelWeights').delete(id);
  await tx.objectStore('models').delete(id);
  await tx.done;
}

export async function listAliases(projectId: string): Promise<AliasRecord[]> {
  const range = IDBKeyRange.bound([projectId, ''], [projectId, '\uffff']);
  return restoreAll(await (await db()).getAll('aliases', range), restoreAlias);
}

export async function setAlias(projectId: string, alias: string, versionId: string): Promise<void> {
  const name = alias.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) throw new Error('Alias names use letters, digits, - and _ (up to 32).');
  const tx = (await db()).transaction(['aliases', 'models'], 'readwrite');
  if (!(await tx.objectStore('models').get(versionId))) throw new Error('That version no longer exists.');
  const current = await tx.objectStore('aliases').get([projectId, name]);
  const history = [...(current?.history ?? []), { versionId, at: Date.now() }];
  await tx.objectStore('aliases').put({ projectId, alias: name, versionId, history });
  await tx.done;
}
