// Transfer-learning storage: imported backbones (metadata apart from weights, like model versions)
// and the per-project cache of embeddings each backbone produced for each sample.
import { db } from './open';
import { restoreAll, restoreBackbone, restoreBackboneWeights, restoreEmbedding, restoreOne } from './restore';
import type { BackboneRecord, BackboneWeightsRecord, EmbeddingRecord } from '../contracts/records';

export async function listBackbones(): Promise<BackboneRecord[]> {
  const all = await (await db()).getAll('backbones');
  return all
    .map(restoreBackbone)
    .filter((b): b is BackboneRecord => b !== null)
    .sort((a, b) => b.createdAt - a.createdAt);
}

export async function getBackbone(id: string): Promise<BackboneRecord | null> {
  return restoreBackbone(await (await db()).get('backbones', id));
}

export async function getBackboneWeights(id: string): Promise<BackboneWeightsRecord | undefined> {
  return restoreOne(await (await db()).get('backboneWeights', id), restoreBackboneWeights);
}

/** Weights first, metadata last, in one transaction: a backbone is listed only when complete. */
export async function addBackbone(record: BackboneRecord, weights: BackboneWeightsRecord): Promise<void> {
  const tx = (await db()).transaction(['backbones', 'backboneWeights'], 'readwrite', { durability: 'strict' });
  await tx.objectStore('backboneWeights').put(weights);
  await tx.objectStore('backbones').put(record);
  await tx.done;
}

/** Removes a backbone, its weights and every project's embeddings computed with it. Versions keep working
 * when they were saved as one combined model; graph-backbone versions then report the backbone missing. */
export async function deleteBackbone(id: string): Promise<void> {
  const tx = (await db()).transaction(['backbones', 'backboneWeights', 'embeddings'], 'readwrite', { durability: 'strict' });
  const keys = await tx.objectStore('embeddings').index('byBackbone').getAllKeys(id);
  await Promise.all([
    ...keys.map((k) => tx.objectStore('embeddings').delete(k)),
    tx.objectStore('backboneWeights').delete(id),
    tx.objectStore('backbones').delete(id),
  ]);
  await tx.done;
}

const embeddingRange = (projectId: string, backboneId: string) =>
  IDBKeyRange.bound([projectId, backboneId, ''], [projectId, backboneId, '\uffff']);

/** Ids of the samples whose embedding is cached for this backbone and preprocessing. */
export async function cachedEmbeddingIds(projectId: string, backboneId: string, configHash: string): Promise<Set<string>> {
  // Values are read (not only keys) to compare the preprocessing hash; embeddings are small
  // (a few KB each), so this stays cheap for the dataset sizes a tab trains on.
  const records = restoreAll(await (await db()).getAll('embeddings', embeddingRange(projectId, backboneId)), restoreEmbedding);
  return new Set(records.filter((r) => r.configHash === configHash).map((r) => r.id));
}

export async function putEmbeddings(records: EmbeddingRecord[]): Promise<void> {
  const tx = (await db()).transaction('embeddings', 'readwrite');
  for (const r of records) void tx.store.put(r);
  await tx.done;
}

/** Reads one batch in a single read-only transaction, in the order asked. */
export async function getEmbeddingBatch(projectId: string, backboneId: string, ids: string[]): Promise<EmbeddingRecord[]> {
  const tx = (await db()).transaction('embeddings', 'readonly');
  const records = await Promise.all(ids.map((id) => tx.store.get([projectId, backboneId, id])));
  await tx.done;
  return records.map((raw, i) => {
    const r = restoreOne(raw, restoreEmbedding);
    if (!r) throw new Error(`The embedding of sample ${ids[i].slice(0, 12)} is missing; run again to rebuild the cache.`);
    return r;
  });
}
