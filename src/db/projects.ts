// Project records: create, rename, list and delete (with everything that belongs to them).
import { db } from './open';
import { restoreProject } from './restore';
import type { ProjectRecord } from '../contracts/records';
import { projectRange } from './keys';

export async function listProjects(): Promise<ProjectRecord[]> {
  const all = await (await db()).getAll('projects');
  return all
    .map(restoreProject)
    .filter((p): p is ProjectRecord => p !== null)
    .sort((a, b) => b.updatedAt - a.updatedAt);
}

export async function getProject(id: string): Promise<ProjectRecord | null> {
  return restoreProject(await (await db()).get('projects', id));
}

export async function createProject(name: string, kind: ProjectRecord['kind'] = 'user'): Promise<ProjectRecord> {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('A project needs a name.');
  const now = Date.now();
  const project: ProjectRecord = {
    id: crypto.randomUUID(),
    name: trimmed.slice(0, 120),
    kind,
    createdAt: now,
    updatedAt: now,
    sampleCount: 0,
    bytes: 0,
    labels: [],
  };
  await (await db()).add('projects', project);
  return project;
}

export async function renameProject(id: string, name: string): Promise<void> {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('A project needs a name.');
  const tx = (await db()).transaction('projects', 'readwrite');
  const project = restoreProject(await tx.store.get(id));
  if (!project) throw new Error('That project no longer exists.');
  await tx.store.put({ ...project, name: trimmed.slice(0, 120), updatedAt: Date.now() });
  await tx.done;
}

/** Deletes a project and all its samples, image bytes, thumbnails and import sessions, atomically. */
export async function deleteProject(id: string): Promise<void> {
  const tx = (await db()).transaction(
    [
      'projects',
      'samples',
      'originals',
      'thumbnails',
      'imports',
      'preprocessed',
      'runs',
      'checkpoints',
      'models',
      'modelWeights',
      'aliases',
      'embeddings',
      'prelabels',
      'studies',
      'trials',
      'meta',
      'datasetVersions',
      'pipelines',
      'pipelineRuns',
      'stepCache',
      'predictionLogs',
      'predictionInputs',
      'monitorReferences',
      'alerts',
    ],
    'readwrite',
    { durability: 'strict' },
  );
  const range = projectRange(id);
  const importKeys = await tx.objectStore('imports').index('byProject').getAllKeys(id);
  const runKeys = await tx.objectStore('runs').index('byProject').getAllKeys(id);
  const versionKeys = await tx.objectStore('models').index('byProject').getAllKeys(id);
  const studyKeys = await tx.objectStore('studies').index('byProject').getAllKeys(id);
  const byProject = ['datasetVersions', 'pipelines', 'pipelineRuns', 'stepCache', 'monitorReferences'] as const;
  const projectKeys = await Promise.all(
    byProject.map(async (store) => ({ store, keys: await tx.objectStore(store).index('byProject').getAllKeys(id) })),
  );
  await Promise.all([
    tx.objectStore('preprocessed').delete(IDBKeyRange.bound([id, '', ''], [id, '\uffff', '\uffff'])),
    tx.objectStore('embeddings').delete(IDBKeyRange.bound([id, '', ''], [id, '\uffff', '\uffff'])),
    tx.objectStore('aliases').delete(range),
    tx.objectStore('prelabels').delete(range),
    tx.objectStore('predictionLogs').delete(range),
    tx.objectStore('predictionInputs').delete(range),
    tx.objectStore('alerts').delete(range),
    ...projectKeys.flatMap(({ store, keys }) => keys.map((k) => tx.objectStore(store).delete(k))),
    tx.objectStore('meta').delete(`label-quality:${id}`),
    ...studyKeys.flatMap((k) => [
      tx.objectStore('studies').delete(k),
      tx.objectStore('trials').delete(IDBKeyRange.bound([k, 0], [k, Infinity])),
    ]),
    ...runKeys.flatMap((k) => [tx.objectStore('runs').delete(k), tx.objectStore('checkpoints').delete(k)]),
    ...versionKeys.flatMap((k) => [tx.objectStore('models').delete(k), tx.objectStore('modelWeights').delete(k)]),
    tx.objectStore('samples').delete(range),
    tx.objectStore('originals').delete(range),
    tx.objectStore('thumbnails').delete(range),
    ...importKeys.map((k) => tx.objectStore('imports').delete(k)),
    tx.objectStore('projects').delete(id),
  ]);
  await tx.done;
}
