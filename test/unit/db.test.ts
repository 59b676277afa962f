import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProject, deleteProject, getProject, listProjects, renameProject } from '../../src/db/projects';
import { deleteSamples, listSamples, writeSampleBatch, type PreparedSample } from '../../src/db/samples';
import { beginImport, discardImport, finishImport, keepImport, listImports } from '../../src/db/imports';
import { DatabaseTooNewError, openDatabase, resetConnection, db } from '../../src/db/open';
import { DB_NAME, DB_VERSION } from '../../src/db/schema';
import { restoreImportSession, restoreProject, restoreSample } from '../../src/db/restore';
import { noAugmentation } from '../record-fixtures';

const hex = (n: number) => n.toString(16).padStart(64, '0');

function prepared(projectId: string, importId: string, n: number, label: string | null = 'cat', path = `img-${n}.png`): PreparedSample {
  const id = hex(n);
  return {
    sample: {
      projectId,
      id,
      fileName: path,
      path,
      label,
      labelSource: label ? { kind: 'folder' } : null,
      labeledAt: null,
      width: 8,
      height: 8,
      mime: 'image/png',
      bytes: 10,
      split: 'unassigned',
      addedAt: 1,
      importId,
      flags: [],
    },
    original: { projectId, id, mime: 'image/png', data: new ArrayBuffer(10) },
    thumbnail: { projectId, id, mime: 'image/png', data: new ArrayBuffer(4) },
  };
}

beforeEach(async () => {
  await resetConnection();
  await new Promise<void>((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
});
afterEach(() => vi.restoreAllMocks());

describe('projects', () => {
  it('creates, renames, lists and deletes with everything inside', async () => {
    const p = await createProject('  Birds  ');
    expect(p.name).toBe('Birds');
    await renameProject(p.id, 'Songbirds');
    expect((await getProject(p.id))?.name).toBe('Songbirds');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 2 });
    await writeSampleBatch(p.id, [prepared(p.id, s.id, 1), prepared(p.id, s.id, 2)]);
    await deleteProject(p.id);
    expect(await listProjects()).toEqual([]);
    expect((await listSamples(p.id)).samples).toEqual([]);
    expect(await (await db()).count('originals')).toBe(0);
    expect(await (await db()).count('thumbnails')).toBe(0);
    expect(await listImports(p.id)).toEqual([]);
  });

  it('refuses an empty name', async () => {
    await expect(createProject('   ')).rejects.toThrow(/name/);
  });
});

describe('sample batches', () => {
  it('writes a batch of 150 in one transaction and keeps project counters', async () => {
    const p = await createProject('A');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 150 });
    const items = Array.from({ length: 150 }, (_, i) => prepared(p.id, s.id, i, i % 2 ? 'cat' : 'dog'));
    const r = await writeSampleBatch(p.id, items);
    expect(r.added).toBe(150);
    const project = await getProject(p.id);
    expect(project?.sampleCount).toBe(150);
    expect(project?.bytes).toBe(150 * 14);
    expect(project?.labels).toEqual(['cat', 'dog']);
  });

  it('stores the same bytes once and flags the same bytes under two labels as a conflict', async () => {
    const p = await createProject('A');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 3 });
    const r = await writeSampleBatch(p.id, [
      prepared(p.id, s.id, 7, 'cat', 'cats/a.png'),
      prepared(p.id, s.id, 7, 'cat', 'cats/a-copy.png'),
      prepared(p.id, s.id, 7, 'dog', 'dogs/a.png'),
    ]);
    // Inside one import: stored once, the copy is a duplicate, the other label a conflict.
    expect(r.added).toBe(1);
    expect(r.duplicates).toEqual(['cats/a-copy.png']);
    expect(r.conflicts).toEqual(['dogs/a.png']);
    // A resumed import meeting what it saved before (same session, same path) is not a duplicate.
    const again = await writeSampleBatch(p.id, [prepared(p.id, s.id, 7, 'cat', 'cats/a.png')]);
    expect(again).toMatchObject({ added: 0, resumed: 1, duplicates: [] });
    const other = await beginImport(p.id, { kind: 'files', name: 'y', fileCount: 2 });
    const r2 = await writeSampleBatch(p.id, [
      prepared(p.id, other.id, 7, 'cat', 'again.png'),
      prepared(p.id, other.id, 7, 'dog', 'dogs/a.png'),
    ]);
    expect(r2.duplicates).toEqual(['again.png', 'dogs/a.png']);
    expect(r2.conflicts).toEqual([]); // dog is already a known label of this image
    const { samples } = await listSamples(p.id);
    expect(samples).toHaveLength(1);
    expect(samples[0].flags).toContain('conflict');
    expect(samples[0].conflictLabels?.sort()).toEqual(['cat', 'dog']);
  });

  it('rolls back the whole failing batch on QuotaExceededError and keeps earlier batches', async () => {
    const p = await createProject('A');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 300 });
    await writeSampleBatch(
      p.id,
      Array.from({ length: 100 }, (_, i) => prepared(p.id, s.id, i)),
    );
    const conn = await db();
    // fake-indexeddb cannot simulate quota: make puts into the bytes store fail as Chrome's do.
    const realPut = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
      if (this.name === 'originals') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    await expect(
      writeSampleBatch(
        p.id,
        Array.from({ length: 100 }, (_, i) => prepared(p.id, s.id, 1000 + i)),
      ),
    ).rejects.toMatchObject({ name: 'QuotaExceededError' });
    vi.restoreAllMocks();
    const { samples } = await listSamples(p.id);
    expect(samples).toHaveLength(100);
    expect(await conn.count('originals')).toBe(100);
    expect(await conn.count('thumbnails')).toBe(100);
    expect((await getProject(p.id))?.sampleCount).toBe(100);
  });

  it('deletes samples and their bytes', async () => {
    const p = await createProject('A');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 3 });
    await writeSampleBatch(p.id, [prepared(p.id, s.id, 1), prepared(p.id, s.id, 2), prepared(p.id, s.id, 3)]);
    expect(await deleteSamples(p.id, [hex(1), hex(3)])).toBe(2);
    expect((await listSamples(p.id)).samples.map((x) => x.id)).toEqual([hex(2)]);
    expect((await getProject(p.id))?.sampleCount).toBe(1);
  });

  // Issue #22, 5: a dataset version never lists an image that does not exist (the project-file rule).
  it('deleting images drops them from dataset versions (labels and splits in step) and their pre-labels', async () => {
    const { putDatasetVersion, getDatasetVersion } = await import('../../src/db/datasets');
    const { putPrelabels } = await import('../../src/db/labels');
    const p = await createProject('A');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 3 });
    await writeSampleBatch(p.id, [prepared(p.id, s.id, 1), prepared(p.id, s.id, 2), prepared(p.id, s.id, 3)]);
    const { record } = await putDatasetVersion({
      id: 'dv',
      projectId: p.id,
      createdAt: 1,
      ids: [hex(1), hex(2), hex(3)],
      labelIndex: [0, 1, 0],
      splitCode: [0, 1, 2],
      classes: ['a', 'b'],
      preprocess: { inputSize: 8, channels: 3, resize: 'stretch', background: [0, 0, 0] },
      augmentation: noAugmentation(),
      origin: { kind: 'manual' },
    });
    await putPrelabels([
      {
        projectId: p.id,
        id: hex(2),
        versionId: 'v',
        classes: ['a'],
        probs: new ArrayBuffer(4),
        embedding: null,
        predicted: 'a',
        confidence: 1,
        rejected: false,
        createdAt: 1,
      },
    ]);
    await deleteSamples(p.id, [hex(2)]);
    const after = await getDatasetVersion(record.id);
    expect(after).toMatchObject({ ids: [hex(1), hex(3)], labelIndex: [0, 0], splitCode: [0, 2] });
    expect(await (await db()).count('prelabels')).toBe(0);
  });
});

describe('import sessions', () => {
  it('discard removes every sample of an unfinished import and nothing else', async () => {
    const p = await createProject('A');
    const done = await beginImport(p.id, { kind: 'files', name: 'first', fileCount: 1 });
    await writeSampleBatch(p.id, [prepared(p.id, done.id, 1)]);
    await finishImport({ ...done, state: 'complete', imported: 1 });
    const killed = await beginImport(p.id, { kind: 'folder', name: 'second', fileCount: 2 });
    await writeSampleBatch(p.id, [prepared(p.id, killed.id, 2), prepared(p.id, killed.id, 3)]);
    expect(await discardImport(killed.id)).toBe(2);
    expect((await listSamples(p.id)).samples.map((s) => s.id)).toEqual([hex(1)]);
    expect((await listImports(p.id)).map((s) => s.state)).toEqual(['complete']);
    expect((await getProject(p.id))?.sampleCount).toBe(1);
  });

  it('keep closes an interrupted import with the count actually saved', async () => {
    const p = await createProject('A');
    const killed = await beginImport(p.id, { kind: 'folder', name: 'f', fileCount: 10 });
    await writeSampleBatch(p.id, [prepared(p.id, killed.id, 2), prepared(p.id, killed.id, 3)]);
    await keepImport(killed.id);
    const [s] = await listImports(p.id);
    expect(s.state).toBe('cancelled');
    expect(s.imported).toBe(2);
  });
});

describe('versions', () => {
  it('old code against a newer database reports "update required" and deletes nothing', async () => {
    (await openDatabase()).close(); // today's schema
    await resetConnection();
    // A newer app version upgraded the database (e.g. in another tab after an update).
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION + 1);
      req.onupgradeneeded = () => req.result.createObjectStore('from-the-future');
      req.onsuccess = () => (req.result.close(), resolve());
      req.onerror = () => reject(req.error);
    });
    await expect(openDatabase()).rejects.toBeInstanceOf(DatabaseTooNewError);
    const dbs = await indexedDB.databases();
    expect(dbs.find((d) => d.name === DB_NAME)?.version).toBe(DB_VERSION + 1);
  });
});

describe('restore', () => {
  it('repairs partial records and rejects unusable ones', () => {
    expect(restoreProject({ id: 'x' })).toMatchObject({ id: 'x', name: 'Untitled project', sampleCount: 0, labels: [] });
    expect(restoreProject({ name: 'no id' })).toBeNull();
    expect(restoreSample({ projectId: 'p', id: 'not-a-hash' })).toBeNull();
    expect(restoreSample({ projectId: 'p', id: hex(5), split: 'bogus', flags: ['truncated', 'evil'], label: '' })).toMatchObject({
      split: 'unassigned',
      flags: ['truncated'],
      label: null,
    });
    expect(restoreImportSession({ id: 'i', projectId: 'p', state: 'weird' })?.state).toBe('running');
    expect(restoreImportSession(null)).toBeNull();
  });
});

describe('splits', () => {
  it('records split assignments in one pass and leaves other samples alone', async () => {
    const { updateSplits } = await import('../../src/db/samples');
    const p = await createProject('A');
    const s = await beginImport(p.id, { kind: 'files', name: 'x', fileCount: 3 });
    await writeSampleBatch(p.id, [prepared(p.id, s.id, 1), prepared(p.id, s.id, 2), prepared(p.id, s.id, 3)]);
    await updateSplits(
      p.id,
      new Map([
        [hex(1), 'test'],
        [hex(3), 'train'],
      ]),
    );
    const splits = Object.fromEntries((await listSamples(p.id)).samples.map((x) => [x.id, x.split]));
    expect(splits).toEqual({ [hex(1)]: 'test', [hex(2)]: 'unassigned', [hex(3)]: 'train' });
  });
});
