// Import sessions: the manifest record that makes a multi-batch import atomic for readers.
// A session is written 'running' first and finished last (durability 'strict'); samples of a
// session that never finished stay hidden until the user resumes or discards it.
import { db } from './open';
import { restoreImportSession, restoreProject } from './restore';
import type { ImportSession, ImportSourceInfo } from '../contracts/records';

export async function beginImport(projectId: string, source: ImportSourceInfo): Promise<ImportSession> {
  const session: ImportSession = {
    id: crypto.randomUUID(),
    projectId,
    source,
    state: 'running',
    startedAt: Date.now(),
    endedAt: null,
    imported: 0,
    duplicates: 0,
    conflicts: [],
    truncated: [],
    skipped: [],
    ignored: 0,
    message: null,
  };
  await (await db()).put('imports', session);
  return session;
}

/** Writes the manifest: from here on the session's samples are part of the dataset. */
export async function finishImport(session: ImportSession): Promise<void> {
  const tx = (await db()).transaction('imports', 'readwrite', { durability: 'strict' });
  await tx.store.put(session);
  await tx.done;
}

export async function listImports(projectId: string): Promise<ImportSession[]> {
  const raw = await (await db()).getAllFromIndex('imports', 'byProject', projectId);
  return raw
    .map(restoreImportSession)
    .filter((s): s is ImportSession => s !== null)
    .sort((a, b) => b.startedAt - a.startedAt);
}

export async function getImport(id: string): Promise<ImportSession | null> {
  return restoreImportSession(await (await db()).get('imports', id));
}

/** Removes every sample an unfinished (or refused) import wrote, then the session itself. */
export async function discardImport(importId: string): Promise<number> {
  const tx = (await db()).transaction(['projects', 'samples', 'originals', 'thumbnails', 'imports'], 'readwrite', {
    durability: 'strict',
  });
  const session = restoreImportSession(await tx.objectStore('imports').get(importId));
  const samples = await tx.objectStore('samples').index('byImport').getAll(importId);
  let bytes = 0;
  for (const s of samples) {
    const key: [string, string] = [s.projectId, s.id];
    const [o, t] = await Promise.all([tx.objectStore('originals').get(key), tx.objectStore('thumbnails').get(key)]);
    bytes += (o?.data.byteLength ?? 0) + (t?.data.byteLength ?? 0);
    await Promise.all([
      tx.objectStore('samples').delete(key),
      tx.objectStore('originals').delete(key),
      tx.objectStore('thumbnails').delete(key),
    ]);
  }
  if (session) {
    const project = restoreProject(await tx.objectStore('projects').get(session.projectId));
    if (project) {
      await tx.objectStore('projects').put({
        ...project,
        sampleCount: Math.max(0, project.sampleCount - samples.length),
        bytes: Math.max(0, project.bytes - bytes),
      });
    }
  }
  await tx.objectStore('imports').delete(importId);
  await tx.done;
  return samples.length;
}

/** Accepts what an interrupted import committed, as if it had been cancelled at that point. */
export async function keepImport(importId: string): Promise<void> {
  const tx = (await db()).transaction(['imports', 'samples'], 'readwrite', { durability: 'strict' });
  const session = restoreImportSession(await tx.objectStore('imports').get(importId));
  if (!session) throw new Error('That import no longer exists.');
  const imported = await tx.objectStore('samples').index('byImport').count(importId);
  await tx.objectStore('imports').put({
    ...session,
    state: 'cancelled',
    imported,
    endedAt: Date.now(),
    message: 'Interrupted; kept what had been saved.',
  });
  await tx.done;
}
