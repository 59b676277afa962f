// Storage side of project files (workers/project-archive.ts does the zip): a consistent read of a
// project for export, and the batched writes of an import. Which stores and why: lib/archive/format.ts.
import type { StoreNames } from 'idb';
import { db } from './open';
import { projectRange } from './keys';
import { listProjects } from './projects';
import { restoreImportSession, restoreProject, restoreSample } from './restore';
import type { TrainyardSchema } from './schema';
import type { ProjectRecord } from '../contracts/records';
import { labelQualityKey, type ArchiveBackbone, type ArchiveStore, type MissingBackbone } from '../lib/archive/format';
import type { IdUse } from '../lib/archive/remap';

/** Stores whose records carry bytes: read page by page during export, never all at once. */
export const PAGED_STORES = ['originals', 'thumbnails', 'prelabels', 'predictionInputs', 'checkpoints', 'modelWeights'] as const;
export type PagedStore = (typeof PAGED_STORES)[number];
export type HeldStore = Exclude<ArchiveStore, PagedStore>;

export interface ProjectSnapshot {
  project: ProjectRecord;
  /** Metadata records, read in one transaction (so they agree with each other). */
  held: Record<HeldStore, unknown[]>;
  /** Keys of the records with bytes, from that same transaction; read later with readByKeys. */
  keys: Record<PagedStore, IDBValidKey[]>;
}

/** Everything a project owns, as of one moment; null when the project does not exist. */
export async function readProjectSnapshot(projectId: string): Promise<ProjectSnapshot | null> {
  const tx = (await db()).transaction(
    [
      'projects',
      'samples',
      'originals',
      'thumbnails',
      'imports',
      'runs',
      'checkpoints',
      'models',
      'modelWeights',
      'aliases',
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
    'readonly',
  );
  const range = projectRange(projectId);
  const byProject = <
    S extends
      'imports' | 'runs' | 'models' | 'studies' | 'datasetVersions' | 'pipelines' | 'pipelineRuns' | 'stepCache' | 'monitorReferences',
  >(
    store: S,
  ) =>
    tx
      .objectStore(store)
      .index('byProject')
      .getAll(projectId as never);
  const [
    project,
    samples,
    imports,
    runs,
    models,
    studies,
    datasetVersions,
    pipelines,
    pipelineRuns,
    stepCache,
    monitorReferences,
    aliases,
    predictionLogs,
    alerts,
    meta,
    originals,
    thumbnails,
    prelabels,
    predictionInputs,
  ] = await Promise.all([
    tx.objectStore('projects').get(projectId),
    tx.objectStore('samples').getAll(range),
    byProject('imports'),
    byProject('runs'),
    byProject('models'),
    byProject('studies'),
    byProject('datasetVersions'),
    byProject('pipelines'),
    byProject('pipelineRuns'),
    byProject('stepCache'),
    byProject('monitorReferences'),
    tx.objectStore('aliases').getAll(range),
    tx.objectStore('predictionLogs').getAll(range),
    tx.objectStore('alerts').getAll(range),
    tx.objectStore('meta').get(labelQualityKey(projectId)),
    tx.objectStore('originals').getAllKeys(range),
    tx.objectStore('thumbnails').getAllKeys(range),
    tx.objectStore('prelabels').getAllKeys(range),
    tx.objectStore('predictionInputs').getAllKeys(range),
  ]);
  const [trials, checkpoints, modelWeights] = await Promise.all([
    Promise.all(studies.map((s) => tx.objectStore('trials').getAll(IDBKeyRange.bound([s.id, 0], [s.id, Infinity])))),
    Promise.all(runs.map((r) => tx.objectStore('checkpoints').getKey(r.id))),
    Promise.all(models.map((m) => tx.objectStore('modelWeights').getKey(m.id))),
  ]);
  await tx.done;
  // Through the restore functions every reader uses: old shapes come out repaired, and a record
  // too damaged to show (listed as damaged in the app) is left out rather than refused on import.
  const restored = restoreProject(project);
  if (!restored) return null;
  const valid = <T>(records: unknown[], restore: (raw: unknown) => T | null) => records.map(restore).filter((r): r is T => r !== null);
  const present = (keys: Array<IDBValidKey | undefined>) => keys.filter((k): k is IDBValidKey => k !== undefined);
  return {
    project: restored,
    held: {
      imports: valid(imports, restoreImportSession),
      samples: valid(samples, restoreSample),
      datasetVersions,
      pipelines,
      pipelineRuns,
      stepCache,
      runs,
      models,
      aliases,
      studies,
      trials: trials.flat(),
      predictionLogs,
      monitorReferences,
      alerts,
      meta: meta ? [meta] : [],
    },
    keys: { originals, thumbnails, prelabels, predictionInputs, checkpoints: present(checkpoints), modelWeights: present(modelWeights) },
  };
}

/** One page of a paged store; records deleted since the snapshot are simply absent. */
export async function readByKeys(store: PagedStore, keys: IDBValidKey[]): Promise<unknown[]> {
  const tx = (await db()).transaction(store, 'readonly');
  const records = await Promise.all(keys.map((k) => tx.store.get(k as never)));
  await tx.done;
  return records.filter((r) => r !== undefined);
}

/** Which of these ids are already keys in the stores named with them (a second import of one file). */
export async function takenIds(uses: IdUse[]): Promise<Set<string>> {
  const stores = [...new Set(uses.flatMap((u) => u.stores))];
  const taken = new Set<string>();
  if (stores.length === 0) return taken;
  const tx = (await db()).transaction(stores, 'readonly');
  await Promise.all(
    uses.flatMap(({ id, stores: keyedIn }) =>
      keyedIn.map(async (store) => {
        // Trials are keyed [studyId, number]: any trial of that study counts.
        const key = store === 'trials' ? IDBKeyRange.bound([id, 0], [id, Infinity]) : id;
        if ((await tx.objectStore(store).getKey(key as never)) !== undefined) taken.add(id);
      }),
    ),
  );
  await tx.done;
  return taken;
}

export async function projectNames(): Promise<Set<string>> {
  return new Set((await listProjects()).map((p) => p.name));
}

/** What the manifest says about the backbones a project uses (name, weights hash, catalog entry). */
export async function describeBackbones(ids: string[]): Promise<ArchiveBackbone[]> {
  const tx = (await db()).transaction('backbones', 'readonly');
  const records = await Promise.all(ids.map((id) => tx.store.get(id)));
  await tx.done;
  return ids.map((id, i) => {
    const r = records[i];
    return { id, name: r?.name ?? '', ...(r?.sha256 ? { sha256: r.sha256 } : {}), ...(r?.catalogId ? { catalogId: r.catalogId } : {}) };
  });
}

export interface BackboneResolution {
  /** File id -> this browser's id of the same weights (found by SHA-256 under another id). */
  matched: Map<string, string>;
  missing: MissingBackbone[];
}

/**
 * Finds the file's backbones here: by id (the same browser, or a copy of its profile), else by
 * the SHA-256 of their weights (ids are local to a browser; the same catalog download elsewhere
 * has another id but the same bytes). What is found by neither is missing.
 */
export async function resolveBackbones(ids: string[], described: ArchiveBackbone[] = []): Promise<BackboneResolution> {
  const tx = (await db()).transaction('backbones', 'readonly');
  const [found, all] = await Promise.all([Promise.all(ids.map((id) => tx.store.getKey(id))), tx.store.getAll()]);
  await tx.done;
  const bySha = new Map(all.filter((b) => b.sha256).map((b) => [b.sha256!, b.id]));
  const about = new Map(described.map((b) => [b.id, b]));
  const matched = new Map<string, string>();
  const missing: MissingBackbone[] = [];
  ids.forEach((id, i) => {
    if (found[i] !== undefined) return;
    const info = about.get(id);
    const local = info?.sha256 ? bySha.get(info.sha256) : undefined;
    if (local) matched.set(id, local);
    else missing.push({ id, name: info?.name ?? '', ...(info?.catalogId ? { catalogId: info.catalogId } : {}) });
  });
  return { matched, missing };
}

/**
 * Adds one batch (the caller keeps it ≤ 128 records) in one transaction. `add`, not `put`: a key
 * that is somehow taken fails the import instead of overwriting another project's record.
 */
export async function addRecords(store: ArchiveStore, records: unknown[]): Promise<void> {
  const tx = (await db()).transaction(store as StoreNames<TrainyardSchema>, 'readwrite');
  const requests: Array<Promise<unknown>> = [];
  try {
    for (const r of records) requests.push(tx.store.add(r as never));
    await Promise.all(requests);
    await tx.done;
  } catch (err) {
    for (const r of requests) r.catch(() => {});
    try {
      tx.abort();
    } catch {
      /* already finished or aborted */
    }
    await tx.done.catch(() => {});
    throw tx.error ?? err;
  }
}

/** The project record, written last and durably: until it lands, the import is not listed anywhere. */
export async function addProjectRecord(project: ProjectRecord): Promise<void> {
  const tx = (await db()).transaction('projects', 'readwrite', { durability: 'strict' });
  await tx.store.add(project);
  await tx.done;
}
