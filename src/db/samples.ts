// Sample records with their image bytes and thumbnails: batched writes, listing, reads.
import { db } from './open';
import { projectRange } from './keys';
import { restoreBlob, restoreOne, restoreProject, restoreSample } from './restore';
import type { BlobRecord, SampleRecord } from '../contracts/records';

export interface PreparedSample {
  sample: SampleRecord;
  original: BlobRecord;
  thumbnail: BlobRecord;
}

export interface BatchResult {
  added: number;
  /** Samples this same import session had already saved (a resumed import). */
  resumed: number;
  /** Paths whose bytes were already stored with the same (or no) label. */
  duplicates: string[];
  /** Paths whose bytes were already stored under another label. */
  conflicts: string[];
}

/**
 * Writes one batch (100+ samples) in a single transaction. Everything is prepared before the
 * transaction opens: only IndexedDB requests are awaited inside, or it would auto-commit.
 * Either the whole batch lands (samples, bytes, thumbnails and the project's counters) or none of it.
 */
export async function writeSampleBatch(projectId: string, items: PreparedSample[]): Promise<BatchResult> {
  const tx = (await db()).transaction(['projects', 'samples', 'originals', 'thumbnails'], 'readwrite');
  const samples = tx.objectStore('samples');
  const result: BatchResult = { added: 0, resumed: 0, duplicates: [], conflicts: [] };
  try {
    const project = restoreProject(await tx.objectStore('projects').get(projectId));
    if (!project) throw new Error('The project was deleted during the import.');
    const labels = new Set(project.labels);
    let addedBytes = 0;
    for (const item of items) {
      const existing = restoreSample(await samples.get([projectId, item.sample.id]));
      // Same session and same path: a resumed import meeting what it saved before the interruption.
      // (Same session, other path is a true duplicate inside one import, handled below.)
      if (existing && existing.importId === item.sample.importId && existing.path === item.sample.path) {
        result.resumed++;
        continue;
      }
      if (existing) {
        const incoming = item.sample.label;
        const known = new Set([existing.label, ...(existing.conflictLabels ?? [])].filter((l) => l !== null));
        if (incoming !== null && existing.label !== null && !known.has(incoming)) {
          known.add(incoming);
          const flags = existing.flags.includes('conflict') ? existing.flags : [...existing.flags, 'conflict' as const];
          await samples.put({ ...existing, flags, conflictLabels: [...known] as string[] });
          result.conflicts.push(item.sample.path);
        } else if (incoming !== null && existing.label === null) {
          await samples.put({ ...existing, label: incoming, labelSource: item.sample.labelSource, labeledAt: Date.now() });
          labels.add(incoming);
          result.duplicates.push(item.sample.path);
        } else {
          result.duplicates.push(item.sample.path);
        }
        continue;
      }
      await samples.put(item.sample);
      await tx.objectStore('originals').put(item.original);
      await tx.objectStore('thumbnails').put(item.thumbnail);
      if (item.sample.label) labels.add(item.sample.label);
      addedBytes += item.original.data.byteLength + item.thumbnail.data.byteLength;
      result.added++;
    }
    await tx.objectStore('projects').put({
      ...project,
      sampleCount: project.sampleCount + result.added,
      bytes: project.bytes + addedBytes,
      labels: [...labels].sort(),
      updatedAt: Date.now(),
    });
    await tx.done;
    return result;
  } catch (err) {
    // Abort explicitly so a thrown non-IDB error cannot leave a half-written batch behind.
    try {
      tx.abort();
    } catch {
      /* already finished or aborted */
    }
    await tx.done.catch(() => {});
    throw tx.error ?? err;
  }
}

/** All sample records of a project (metadata only: bytes and thumbnails are read on demand). */
export async function listSamples(projectId: string): Promise<{ samples: SampleRecord[]; damaged: number }> {
  const raw = await (await db()).getAll('samples', projectRange(projectId));
  const samples: SampleRecord[] = [];
  let damaged = 0;
  for (const r of raw) {
    const s = restoreSample(r);
    if (s) samples.push(s);
    else damaged++;
  }
  return { samples, damaged };
}

export async function getThumbnail(projectId: string, id: string): Promise<BlobRecord | undefined> {
  return restoreOne(await (await db()).get('thumbnails', [projectId, id]), restoreBlob);
}

export async function getOriginal(projectId: string, id: string): Promise<BlobRecord | undefined> {
  return restoreOne(await (await db()).get('originals', [projectId, id]), restoreBlob);
}

/**
 * Deletes samples (and their bytes and pre-labels) and keeps the project's counters true. Dataset
 * versions that listed them drop them too: a version never names an image that does not exist
 * (the rule a project file's import enforces, lib/archive/validate.ts REFERENCE_RULES).
 */
export async function deleteSamples(projectId: string, ids: string[]): Promise<number> {
  const tx = (await db()).transaction(['projects', 'samples', 'originals', 'thumbnails', 'prelabels', 'datasetVersions'], 'readwrite');
  const gone = new Set<string>();
  let removed = 0;
  let bytes = 0;
  for (const id of ids) {
    const key: [string, string] = [projectId, id];
    const sample = await tx.objectStore('samples').get(key);
    if (!sample) continue;
    const [o, t] = await Promise.all([tx.objectStore('originals').get(key), tx.objectStore('thumbnails').get(key)]);
    bytes += (o?.data.byteLength ?? 0) + (t?.data.byteLength ?? 0);
    await Promise.all([
      tx.objectStore('samples').delete(key),
      tx.objectStore('originals').delete(key),
      tx.objectStore('thumbnails').delete(key),
      tx.objectStore('prelabels').delete(key),
    ]);
    gone.add(id);
    removed++;
  }
  if (gone.size > 0) {
    for (const version of await tx.objectStore('datasetVersions').index('byProject').getAll(projectId)) {
      const keep = version.ids.map((id, i) => (gone.has(id) ? -1 : i)).filter((i) => i >= 0);
      if (keep.length === version.ids.length) continue;
      await tx.objectStore('datasetVersions').put({
        ...version,
        ids: keep.map((i) => version.ids[i]),
        labelIndex: keep.map((i) => version.labelIndex[i]),
        splitCode: keep.map((i) => version.splitCode[i]),
      });
    }
  }
  const project = restoreProject(await tx.objectStore('projects').get(projectId));
  if (project) {
    await tx.objectStore('projects').put({
      ...project,
      sampleCount: Math.max(0, project.sampleCount - removed),
      bytes: Math.max(0, project.bytes - bytes),
      updatedAt: Date.now(),
    });
  }
  await tx.done;
  return removed;
}

/** Records split assignments (a frozen test split stays as it is: the caller only passes changes). */
export async function updateSplits(projectId: string, splits: Map<string, SampleRecord['split']>): Promise<void> {
  if (splits.size === 0) return;
  const tx = (await db()).transaction('samples', 'readwrite');
  // One cursor pass over the project instead of one awaited read per sample (20,000 reads took ~10 s).
  for (let cursor = await tx.store.openCursor(projectRange(projectId)); cursor; cursor = await cursor.continue()) {
    const split = splits.get(cursor.value.id);
    if (split && cursor.value.split !== split) await cursor.update({ ...cursor.value, split });
  }
  await tx.done;
}
