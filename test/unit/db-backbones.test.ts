import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  addBackbone,
  cachedEmbeddingIds,
  deleteBackbone,
  getBackboneWeights,
  getEmbeddingBatch,
  listBackbones,
  putEmbeddings,
} from '../../src/db/backbones';
import { createProject, deleteProject } from '../../src/db/projects';
import { resetConnection } from '../../src/db/open';
import { DB_NAME } from '../../src/db/schema';
import type { BackboneRecord, EmbeddingRecord } from '../../src/contracts/records';

const backbone = (id: string): BackboneRecord => ({
  id,
  name: id,
  format: 'layers-model',
  inputShape: [32, 32, 3],
  embeddingSize: 2,
  normalization: '0..1',
  createdAt: 1,
  source: 'zip',
});
const emb = (projectId: string, backboneId: string, id: string, configHash = 'h'): EmbeddingRecord => ({
  projectId,
  backboneId,
  id,
  configHash,
  data: new Float32Array([1, 2]).buffer,
});

beforeEach(async () => {
  await resetConnection();
  await new Promise<void>((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
});

describe('backbone storage', () => {
  it('stores metadata and weights apart, and caches embeddings per preprocessing hash', async () => {
    await addBackbone(backbone('b1'), { id: 'b1', modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(8) });
    expect((await listBackbones()).map((b) => b.id)).toEqual(['b1']);
    expect((await getBackboneWeights('b1'))?.weightData.byteLength).toBe(8);
    await putEmbeddings([emb('p', 'b1', 'a'), emb('p', 'b1', 'b', 'other')]);
    expect([...(await cachedEmbeddingIds('p', 'b1', 'h'))]).toEqual(['a']);
    expect([...new Float32Array((await getEmbeddingBatch('p', 'b1', ['a']))[0].data)]).toEqual([1, 2]);
    await expect(getEmbeddingBatch('p', 'b1', ['zz'])).rejects.toThrow(/missing/);
  });

  it('deleting a backbone drops its embeddings in every project, and only its own', async () => {
    await addBackbone(backbone('b1'), { id: 'b1', modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(0) });
    await putEmbeddings([emb('p1', 'b1', 'a'), emb('p2', 'b1', 'a'), emb('p1', 'b2', 'a')]);
    await deleteBackbone('b1');
    expect(await listBackbones()).toEqual([]);
    expect(await getBackboneWeights('b1')).toBeUndefined();
    expect((await cachedEmbeddingIds('p1', 'b1', 'h')).size).toBe(0);
    expect((await cachedEmbeddingIds('p2', 'b1', 'h')).size).toBe(0);
    expect((await cachedEmbeddingIds('p1', 'b2', 'h')).size).toBe(1);
  });

  it('deleting a project clears its embeddings but keeps the shared backbone', async () => {
    const p = await createProject('P');
    const q = await createProject('Q');
    await addBackbone(backbone('b1'), { id: 'b1', modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(0) });
    await putEmbeddings([emb(p.id, 'b1', 'a'), emb(q.id, 'b1', 'a')]);
    await deleteProject(p.id);
    expect((await cachedEmbeddingIds(p.id, 'b1', 'h')).size).toBe(0);
    expect((await cachedEmbeddingIds(q.id, 'b1', 'h')).size).toBe(1);
    expect(await listBackbones()).toHaveLength(1);
  });
});
