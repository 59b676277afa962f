// Shared by the reliability e2e tests: audit of what one project has on disk (no orphans, counters).
import type { Page } from 'playwright-core';

export interface Audit {
  samples: number;
  withoutOriginal: number;
  withoutThumbnail: number;
  orphanOriginals: number;
  orphanThumbnails: number;
  badLabels: number;
  sampleCount: number;
  bytes: number;
  blobBytes: number;
  sessions: Array<{ state: string; imported: number }>;
}

/** One project's samples, bytes, counters and import sessions, read straight from IndexedDB. */
export const audit = (page: Page, projectId: string, labels: string[] = ['even', 'odd']) =>
  page.evaluate(
    ({ pid, labels }) =>
      new Promise<Audit>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction(['samples', 'originals', 'thumbnails', 'projects', 'imports']);
          const range = IDBKeyRange.bound([pid, ''], [pid, '\uffff']);
          const got: Record<string, unknown[]> = {};
          for (const s of ['samples', 'originals', 'thumbnails'] as const)
            tx.objectStore(s).getAll(range).onsuccess = (e) => (got[s] = (e.target as IDBRequest).result);
          tx.objectStore('projects').get(pid).onsuccess = (e) => (got.project = [(e.target as IDBRequest).result]);
          tx.objectStore('imports').index('byProject').getAll(pid).onsuccess = (e) => (got.imports = (e.target as IDBRequest).result);
          tx.oncomplete = () => {
            db.close();
            const samples = got.samples as Array<{ id: string; label: string | null }>;
            const originals = got.originals as Array<{ id: string; data: ArrayBuffer }>;
            const thumbnails = got.thumbnails as Array<{ id: string; data: ArrayBuffer }>;
            const ids = new Set(samples.map((s) => s.id));
            const o = new Set(originals.map((x) => x.id));
            const t = new Set(thumbnails.map((x) => x.id));
            const project = got.project[0] as { sampleCount: number; bytes: number };
            resolve({
              samples: samples.length,
              withoutOriginal: samples.filter((s) => !o.has(s.id)).length,
              withoutThumbnail: samples.filter((s) => !t.has(s.id)).length,
              orphanOriginals: originals.filter((x) => !ids.has(x.id)).length,
              orphanThumbnails: thumbnails.filter((x) => !ids.has(x.id)).length,
              badLabels: samples.filter((s) => !s.label || !labels.includes(s.label)).length,
              sampleCount: project.sampleCount,
              bytes: project.bytes,
              blobBytes: [...originals, ...thumbnails].reduce((n, x) => n + x.data.byteLength, 0),
              sessions: (got.imports as Array<{ state: string; imported: number }>).map((s) => ({ state: s.state, imported: s.imported })),
            });
          };
          tx.onerror = () => (db.close(), reject(tx.error));
        };
        req.onerror = () => reject(req.error);
      }),
    { pid: projectId, labels },
  );
