// Ids of an imported project. The project always gets a new id. Every other id is kept, so a
// version, run or dataset version is recognisably the same one in both browsers, unless it is a
// key in a store shared by all projects and already taken (the same file imported twice into one
// profile): then it gets a fresh UUID everywhere it appears.
//
// "Everywhere" is a deep replace of whole string values (and object keys) equal to a remapped id,
// over every record. It reaches references this code does not know by name (aliases' history,
// models.runId/parentId, trials.runId, studies.registeredVersionId, labelSource.versionId, a
// version's meta.origin, pipeline step outputs, dataset version origins…). It is safe because
// the ids are UUIDs or SHA-256 hashes: no label or name equals one by chance. A string that only
// contains an id (a sentence in a log) is left as it was. A remapped dataset version or step cache
// key is a UUID, no longer a content hash: that copy's next snapshot of the same data makes a new
// version instead of matching it, and its step cache misses once (both harmless).
import type { ArchiveStore } from './format';
import type { ArchiveRecords } from './validate';

/** Stores keyed by an id that is not scoped to a project (so two projects can collide there). */
export type SharedKeyStore =
  | 'imports'
  | 'runs'
  | 'checkpoints'
  | 'models'
  | 'modelWeights'
  | 'monitorReferences'
  | 'studies'
  | 'trials'
  | 'datasetVersions'
  | 'pipelines'
  | 'pipelineRuns'
  | 'stepCache';

export interface IdUse {
  id: string;
  /** Every store where this id is the key (or the first part of it, for trials). */
  stores: SharedKeyStore[];
}

const SHARED: Array<{ store: ArchiveStore; field: string; keyedIn: SharedKeyStore[] }> = [
  { store: 'imports', field: 'id', keyedIn: ['imports'] },
  { store: 'runs', field: 'id', keyedIn: ['runs', 'checkpoints'] },
  { store: 'models', field: 'id', keyedIn: ['models', 'modelWeights', 'monitorReferences'] },
  // A reference can outlive its version (deleteVersion keeps monitoring data): same key space.
  { store: 'monitorReferences', field: 'versionId', keyedIn: ['models', 'modelWeights', 'monitorReferences'] },
  { store: 'studies', field: 'id', keyedIn: ['studies', 'trials'] },
  { store: 'datasetVersions', field: 'id', keyedIn: ['datasetVersions'] },
  { store: 'pipelines', field: 'id', keyedIn: ['pipelines'] },
  { store: 'pipelineRuns', field: 'id', keyedIn: ['pipelineRuns'] },
  { store: 'stepCache', field: 'key', keyedIn: ['stepCache'] },
];

/** The archived ids that could collide with records already in the database. */
export function sharedIds(records: ArchiveRecords): IdUse[] {
  const uses = new Map<string, Set<SharedKeyStore>>();
  for (const { store, field, keyedIn } of SHARED) {
    for (const r of records[store]) {
      const id = r[field] as string;
      const stores = uses.get(id) ?? new Set();
      keyedIn.forEach((s) => stores.add(s));
      uses.set(id, stores);
    }
  }
  return [...uses].map(([id, stores]) => ({ id, stores: [...stores] }));
}

/** The id map: the project's id to `newProjectId`, each taken id to a fresh UUID. */
export function buildIdMap(oldProjectId: string, newProjectId: string, taken: Iterable<string>, uuid: () => string): Map<string, string> {
  const map = new Map<string, string>([[oldProjectId, newProjectId]]);
  for (const id of taken) if (id !== oldProjectId) map.set(id, uuid());
  return map;
}

/** Deep copy of a JSON value with every string (and key) found in `map` replaced. */
export function remapIds(value: unknown, map: Map<string, string>): unknown {
  if (typeof value === 'string') return map.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => remapIds(v, map));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[map.get(k) ?? k] = remapIds(v, map);
    return out;
  }
  return value;
}
