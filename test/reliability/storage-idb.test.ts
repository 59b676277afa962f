// Reliability catalog, "Storage (IndexedDB)": the cases that the storage layer itself must
// guarantee, run in Node against src/db with fake-indexeddb. Faults are injected by stubbing
// IndexedDB methods (fake-indexeddb cannot run out of space). One test per catalog case.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProject, getProject, listProjects } from '../../src/db/projects';
import { deleteSamples, listSamples, writeSampleBatch, type PreparedSample } from '../../src/db/samples';
import { beginImport, finishImport, listImports } from '../../src/db/imports';
import { listCommittedSamples } from '../../src/db/committed';
import { describeTrainingWriteFailure, isQuotaError } from '../../src/db/storage-errors';
import { writeLabels } from '../../src/db/labels';
import { saveTrialAndStudy, listTrials, getStudy } from '../../src/db/studies';
import { addVersion, listVersions, getWeights } from '../../src/db/models';
import { saveRun, saveCheckpoint, getRun, getCheckpoint } from '../../src/db/runs';
import { DatabaseTooNewError, db, onConnectionEvent, openDatabase, resetConnection, type ConnectionEvent } from '../../src/db/open';
import { openDB } from 'idb';
import { DB_NAME, DB_VERSION, migrations } from '../../src/db/schema';
import type { StudyRecord, TrainRunRecord, TrialRecord } from '../../src/contracts/records';
import { SETTINGS, runConfig, studyPlan, versionMeta, weightsBlob } from '../record-fixtures';

const hex = (n: number) => n.toString(16).padStart(64, '0');

function prepared(projectId: string, importId: string, n: number, label: string | null = 'cat'): PreparedSample {
  const id = hex(n);
  const path = `${label ?? 'none'}/img-${n}.png`;
  return {
    sample: {
      projectId,
      id,
      fileName: `img-${n}.png`,
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
const batch = (projectId: string, importId: string, from: number, n: number) =>
  Array.from({ length: n }, (_, i) => prepared(projectId, importId, from + i, i % 2 ? 'cat' : 'dog'));

function deleteDb(name: string): Promise<void> {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

/** Fails `put` on one store from the `after`-th call on (0 = at once) with the given error. */
function failPuts(store: string, makeError: () => Error, after = 0) {
  const realPut = IDBObjectStore.prototype.put;
  let calls = 0;
  return vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
    if (this.name === store && calls++ >= after) throw makeError();
    return realPut.apply(this, args);
  });
}
const quotaError = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

/** Every sample has its bytes and thumbnail, no bytes without a sample, and counters agree. */
async function assertNoOrphans(projectId: string): Promise<number> {
  const conn = await db();
  const sampleKeys = (await conn.getAllKeys('samples')).map((k) => JSON.stringify(k)).sort();
  expect((await conn.getAllKeys('originals')).map((k) => JSON.stringify(k)).sort()).toEqual(sampleKeys);
  expect((await conn.getAllKeys('thumbnails')).map((k) => JSON.stringify(k)).sort()).toEqual(sampleKeys);
  const project = await getProject(projectId);
  expect(project?.sampleCount).toBe(sampleKeys.length);
  expect(project?.bytes).toBe(sampleKeys.length * 14);
  return sampleKeys.length;
}

const faults = { injected: 0, badInputs: 0 };

beforeEach(async () => {
  await resetConnection();
  await deleteDb(DB_NAME);
});
afterEach(() => vi.restoreAllMocks());

describe('Storage (IndexedDB)', () => {
  it('Quota hit mid-import: import stops; earlier batches intact; the failing batch fully rolled back; no orphan blobs; works after space is freed', async () => {
    const p = await createProject('Quota');
    const s = await beginImport(p.id, { kind: 'folder', name: 'q', fileCount: 400 });
    await writeSampleBatch(p.id, batch(p.id, s.id, 0, 100));
    await writeSampleBatch(p.id, batch(p.id, s.id, 100, 100));
    // The disk fills up half-way through the third batch: the 50th thumbnail does not fit.
    failPuts('thumbnails', quotaError, 50);
    faults.injected++;
    const err = await writeSampleBatch(p.id, batch(p.id, s.id, 200, 100)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'QuotaExceededError' });
    vi.restoreAllMocks();
    // The words for it name the cause and show usage and quota.
    expect(isQuotaError(err)).toBe(true);
    expect(isQuotaError(new TypeError('x'))).toBe(false);
    const msg = await describeTrainingWriteFailure(err, 3);
    expect(msg).toMatch(/^Storage is full: the browser allows this site \d+(\.\d+)? (B|KB|MB|GB) and \d+(\.\d+)? (B|KB|MB|GB) is used\./);
    expect(msg).toMatch(/checkpoint after epoch 3 is kept/);
    expect(await assertNoOrphans(p.id)).toBe(200);
    expect((await listSamples(p.id)).samples.map((x) => x.id)).toEqual(Array.from({ length: 200 }, (_, i) => hex(i)));
    // Space is back: the same batch lands whole, then the rest.
    expect((await writeSampleBatch(p.id, batch(p.id, s.id, 200, 100))).added).toBe(100);
    expect((await writeSampleBatch(p.id, batch(p.id, s.id, 300, 100))).added).toBe(100);
    await finishImport({ ...s, state: 'complete', imported: 400 });
    expect(await assertNoOrphans(p.id)).toBe(400);
    expect((await listCommittedSamples(p.id)).samples).toHaveLength(400);
  });

  it('Atomicity across transactions: a multi-batch import or a model save writes a manifest record last (durability strict); readers ignore anything without one', async () => {
    const transactions: Array<{ stores: string[]; options: unknown }> = [];
    const realTx = IDBDatabase.prototype.transaction;
    vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (
      this: IDBDatabase,
      ...args: Parameters<IDBDatabase['transaction']>
    ) {
      transactions.push({ stores: [args[0]].flat() as string[], options: args[2] });
      return realTx.apply(this, args);
    });
    const p = await createProject('Atomic');
    const done = await beginImport(p.id, { kind: 'folder', name: 'first', fileCount: 10 });
    await writeSampleBatch(p.id, batch(p.id, done.id, 0, 10));
    await finishImport({ ...done, state: 'complete', imported: 10 });
    // A second import wrote two batches and never wrote its manifest (killed, or still running).
    const open = await beginImport(p.id, { kind: 'folder', name: 'second', fileCount: 200 });
    await writeSampleBatch(p.id, batch(p.id, open.id, 10, 100));
    await writeSampleBatch(p.id, batch(p.id, open.id, 110, 100));
    faults.injected++; // the missing closing record
    const read = await listCommittedSamples(p.id);
    expect(read.samples.map((x) => x.importId)).toEqual(Array(10).fill(done.id));
    expect(read.uncommitted).toBe(200);
    // The manifest is a single strict write of the imports store, after every batch.
    const finishTx = transactions.filter(
      (t) => t.stores.length === 1 && t.stores[0] === 'imports' && (t.options as { durability?: string })?.durability === 'strict',
    );
    expect(finishTx).toHaveLength(1);
    await finishImport({ ...open, state: 'complete', imported: 200 });
    expect((await listCommittedSamples(p.id)).samples).toHaveLength(210);
    // A closing record kept outside IndexedDB (disk full) counts for the page.
    const third = await beginImport(p.id, { kind: 'folder', name: 'third', fileCount: 5 });
    await writeSampleBatch(p.id, batch(p.id, third.id, 500, 5));
    expect((await listCommittedSamples(p.id)).samples).toHaveLength(210);
    expect((await listCommittedSamples(p.id, (id) => id === third.id)).samples).toHaveLength(215);

    // Model save: weights and metadata in one strict transaction; a failed weights write lists nothing.
    const weights = { versionId: 'v-1', modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(64) };
    const version = { id: 'v-1', projectId: p.id, createdAt: 1, runId: null, parentId: null, meta: versionMeta() };
    failPuts('modelWeights', quotaError);
    faults.injected++;
    await expect(addVersion(version, weights)).rejects.toMatchObject({ name: 'QuotaExceededError' });
    vi.mocked(IDBObjectStore.prototype.put).mockRestore();
    expect(await listVersions(p.id)).toEqual([]);
    const saved = await addVersion(version, weights);
    expect(saved.number).toBe(1);
    for (const v of await listVersions(p.id)) expect(await getWeights(v.id), `weights of version ${v.number}`).toBeDefined();
    const modelTx = transactions.filter((t) => t.stores.includes('models') && t.stores.includes('modelWeights'));
    expect(modelTx.every((t) => (t.options as { durability?: string })?.durability === 'strict')).toBe(true);

    // Checkpoints: the run's checkpointEpoch and the checkpoint move together.
    const run: TrainRunRecord = {
      id: 'r-1',
      projectId: p.id,
      state: 'running',
      createdAt: 1,
      updatedAt: 1,
      config: runConfig(),
      history: [],
      checkpointEpoch: 0,
      backend: 'cpu',
      adapter: null,
      message: null,
      versionId: null,
    };
    await saveRun(run);
    await saveCheckpoint(run, { runId: run.id, epoch: 1, weights: weightsBlob(1), optimizer: null, savedAt: 1 });
    failPuts('checkpoints', quotaError);
    faults.injected++;
    await expect(
      saveCheckpoint({ ...run, checkpointEpoch: 1 }, { runId: run.id, epoch: 2, weights: weightsBlob(2), optimizer: null, savedAt: 2 }),
    ).rejects.toBeTruthy();
    vi.mocked(IDBObjectStore.prototype.put).mockRestore();
    expect((await getRun(run.id))?.checkpointEpoch).toBe(1);
    expect((await getCheckpoint(run.id))?.epoch).toBe(1);
  });

  it('No awaits on non-IndexedDB work inside a transaction: batch writers complete, and a thrown non-IDB error rolls the whole batch back', async () => {
    // The rule this guards: awaiting anything but an IndexedDB request lets the transaction commit.
    const conn = await db();
    const tx = conn.transaction('meta', 'readwrite');
    const store = tx.store;
    await store.put({ key: 'a', value: 1 });
    await new Promise((r) => setTimeout(r, 20)); // e.g. decoding or hashing in the middle (long enough that the commit has surely happened)
    faults.injected++;
    await expect(Promise.resolve().then(() => store.put({ key: 'b', value: 2 }))).rejects.toMatchObject({
      name: 'TransactionInactiveError',
    });

    // The batch writers prepare first and complete with a real (fake) IndexedDB.
    const p = await createProject('Writers');
    const s = await beginImport(p.id, { kind: 'folder', name: 'w', fileCount: 300 });
    expect((await writeSampleBatch(p.id, batch(p.id, s.id, 0, 300))).added).toBe(300);
    const labelWrites = Array.from({ length: 300 }, (_, i) => ({
      id: hex(i),
      label: i % 3 === 0 ? 'bird' : 'cat',
      labelSource: { kind: 'human' as const },
      labeledAt: 5,
    }));
    expect(await writeLabels(p.id, labelWrites)).toBe(300);
    const classesBefore = (await getProject(p.id))?.labels;
    expect(classesBefore).toEqual(expect.arrayContaining(['bird', 'cat']));
    const study: StudyRecord = {
      id: 'st-1',
      projectId: p.id,
      name: 'S',
      plan: studyPlan(),
      baseSettings: SETTINGS,
      state: 'running',
      createdAt: 1,
      updatedAt: 1,
      elapsedMs: 10,
      message: null,
      registeredVersionId: null,
    };
    const trial = (n: number): TrialRecord => ({
      studyId: study.id,
      number: n,
      params: { lr: 0.01 },
      settings: SETTINGS,
      state: 'complete',
      history: [],
      values: [0.5],
      value: 0.5,
      message: null,
      startedAt: 1,
      durationMs: 5,
      backend: 'cpu',
      runId: null,
      tensorsBefore: 0,
      tensorsAfter: 0,
    });
    await saveTrialAndStudy(trial(0), study);
    expect(await listTrials(study.id)).toHaveLength(1);

    // A non-IDB error thrown in the middle of each writer leaves nothing of its batch behind.
    failPuts('originals', () => new TypeError('not an IndexedDB error'), 40);
    faults.injected++;
    await expect(writeSampleBatch(p.id, batch(p.id, s.id, 1000, 100))).rejects.toThrow('not an IndexedDB error');
    vi.mocked(IDBObjectStore.prototype.put).mockRestore();
    expect(await assertNoOrphans(p.id)).toBe(300);
  });

  // Known bug, found by this suite: writeLabels (src/db/labels.ts) and saveTrialAndStudy
  // (src/db/studies.ts) do not abort their transaction when something throws half-way, so the part
  // already queued commits. Fix: wrap each body in try { ... await tx.done } catch (err) {
  // try { tx.abort() } catch {} ; await tx.done.catch(() => {}); throw err } as writeSampleBatch does.
  it('No awaits on non-IndexedDB work inside a transaction: a thrown non-IDB error rolls back writeLabels and saveTrialAndStudy too', async () => {
    const p = await createProject('Writers 2');
    const s = await beginImport(p.id, { kind: 'folder', name: 'w', fileCount: 300 });
    await writeSampleBatch(p.id, batch(p.id, s.id, 0, 300));
    const labelWrites = Array.from({ length: 300 }, (_, i) => ({
      id: hex(i),
      label: 'fish',
      labelSource: { kind: 'human' as const },
      labeledAt: 5,
    }));
    const classesBefore = (await getProject(p.id))?.labels;
    const study: StudyRecord = {
      id: 'st-2',
      projectId: p.id,
      name: 'S',
      plan: studyPlan(),
      baseSettings: SETTINGS,
      state: 'running',
      createdAt: 1,
      updatedAt: 1,
      elapsedMs: 10,
      message: null,
      registeredVersionId: null,
    };
    const trial = (n: number): TrialRecord => ({
      studyId: study.id,
      number: n,
      params: { lr: 0.01 },
      settings: SETTINGS,
      state: 'complete',
      history: [],
      values: [0.5],
      value: 0.5,
      message: null,
      startedAt: 1,
      durationMs: 5,
      backend: 'cpu',
      runId: null,
      tensorsBefore: 0,
      tensorsAfter: 0,
    });
    await saveTrialAndStudy(trial(0), study);
    let lostOrHalf = 0;

    failPuts('studies', () => new TypeError('not an IndexedDB error'));
    faults.injected++;
    await expect(saveTrialAndStudy(trial(1), { ...study, elapsedMs: 20 })).rejects.toThrow('not an IndexedDB error');
    vi.mocked(IDBObjectStore.prototype.put).mockRestore();
    await new Promise((r) => setTimeout(r, 20)); // let an orphaned transaction commit, if there is one
    expect((await getStudy(study.id))?.elapsedMs).toBe(10);
    if ((await listTrials(study.id)).length !== 1) lostOrHalf++;

    const realUpdate = IDBCursor.prototype.update;
    let updates = 0;
    vi.spyOn(IDBCursor.prototype, 'update').mockImplementation(function (this: IDBCursor, ...args) {
      if (updates++ === 100) throw new TypeError('not an IndexedDB error');
      return realUpdate.apply(this, args);
    });
    faults.injected++;
    await expect(writeLabels(p.id, labelWrites, { before: [], after: ['fish'] })).rejects.toThrow('not an IndexedDB error');
    vi.mocked(IDBCursor.prototype.update).mockRestore();
    await new Promise((r) => setTimeout(r, 20));
    const half = (await listSamples(p.id)).samples.filter((x) => x.label === 'fish').length;
    if (half !== 0) lostOrHalf++;
    console.info(
      `known bug check: trial without study totals / half-applied label change set: ${lostOrHalf} of 2 (labels changed: ${half})`,
    );
    expect(half).toBe(0);
    expect((await getProject(p.id))?.labels).toEqual(classesBefore);
    expect(await listTrials(study.id), 'a trial without its study totals').toHaveLength(1);
  });

  it('Upgrade with another tab open: the old tab closes its connection on versionchange and asks for a reload; the new tab shows guidance on blocked instead of hanging', async () => {
    const events: ConnectionEvent['kind'][] = [];
    const off = onConnectionEvent((e) => events.push(e.kind));
    try {
      // This tab (old code) holds the shared connection; a newer app opens version + 1 elsewhere.
      const p = await createProject('Kept');
      const newer = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, DB_VERSION + 1);
        req.onupgradeneeded = () => req.result.createObjectStore('from-the-future');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
        req.onblocked = () => reject(new Error('the newer tab was blocked by this one'));
      });
      expect(events).toEqual(['closed-for-upgrade']);
      expect(Array.from(newer.objectStoreNames)).toContain('projects');
      newer.close();

      // The other way round: a tab that never closes (no versionchange handler) blocks our upgrade.
      const name = 'trainyard-blocked-test';
      await deleteDb(name);
      // Version 3 of our own schema, opened by "old code" that has no versionchange handler.
      const stale = await openDB(name, 3, {
        upgrade(d, oldVersion, _n, tx) {
          for (let v = oldVersion; v < 3; v++) migrations[v](d as never, tx as never);
        },
      });
      faults.injected++;
      const upgrading = openDatabase(name, 4);
      await vi.waitFor(() => expect(events).toContain('blocked'), { timeout: 2000 });
      stale.close(); // the user closes the other tab, as the guidance says
      const upgraded = await upgrading;
      expect(upgraded.version).toBe(4);
      expect(Array.from(upgraded.objectStoreNames)).toContain('trials');
      upgraded.close();
      await deleteDb(name);
      expect(p.name).toBe('Kept');
    } finally {
      off();
    }
  });

  it('Old code, newer database (stale service worker): a clear "update required" error; the database is never deleted or reset', async () => {
    const p = await createProject('Precious');
    const s = await beginImport(p.id, { kind: 'folder', name: 'x', fileCount: 5 });
    await writeSampleBatch(p.id, batch(p.id, s.id, 0, 5));
    await resetConnection();
    // A newer app upgraded the database in another tab.
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION + 1);
      req.onupgradeneeded = () => req.result.createObjectStore('from-the-future');
      req.onsuccess = () => (req.result.close(), resolve());
      req.onerror = () => reject(req.error);
    });
    faults.injected++;
    for (let attempt = 0; attempt < 3; attempt++) {
      const err = await db().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseTooNewError);
      expect((err as DatabaseTooNewError).found).toBe(DB_VERSION + 1);
      expect((err as Error).message).toMatch(/older than your saved data/);
      expect((err as Error).message).toMatch(/nothing has been changed or deleted/);
    }
    // Everything is still there, at the newer version.
    const still = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(DB_NAME);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    expect(still.version).toBe(DB_VERSION + 1);
    const count = await new Promise<number>((resolve) => {
      const r = still.transaction('samples').objectStore('samples').count();
      r.onsuccess = () => resolve(r.result);
    });
    expect(count).toBe(5);
    still.close();
  });

  it('Unreadable record: that item is marked damaged and can be removed; everything else loads', async () => {
    const p = await createProject('Mixed');
    const s = await beginImport(p.id, { kind: 'folder', name: 'x', fileCount: 20 });
    await writeSampleBatch(p.id, batch(p.id, s.id, 0, 20));
    await finishImport({ ...s, state: 'complete', imported: 20 });
    const conn = await db();
    // Damaged on disk: a record with a bad id, one with no fields, one that is not an object,
    // one with wrong types everywhere; a damaged project and a damaged import session.
    const bad: unknown[] = [
      { projectId: p.id, id: 'not-a-hash' },
      { projectId: p.id, id: 'zz'.repeat(32), label: 42 },
      { projectId: p.id, id: 'ff'.padStart(64, 'f'), label: 7, flags: 'x', split: 'nope', width: 'wide', labelSource: 'x' },
    ];
    await conn.put('samples', bad[0] as never);
    await conn.put('samples', bad[1] as never);
    await conn.put('samples', bad[2] as never);
    await conn.put('projects', { id: '' } as never);
    await conn.put('imports', { id: 'broken' } as never);
    faults.badInputs += bad.length + 2;
    const listed = await listSamples(p.id);
    expect(listed.damaged).toBe(2);
    expect(listed.samples).toHaveLength(21);
    const repaired = listed.samples.find((x) => x.id === 'ff'.padStart(64, 'f'))!;
    expect(repaired).toMatchObject({ label: null, flags: [], split: 'unassigned', width: 0, labelSource: null });
    expect((await listProjects()).map((x) => x.name)).toEqual(['Mixed']);
    expect(await listImports(p.id)).toHaveLength(1);
    // The damaged items can be removed; counters never go below the truth.
    expect(await deleteSamples(p.id, ['not-a-hash', 'zz'.repeat(32)])).toBe(2);
    const after = await listSamples(p.id);
    expect(after.damaged).toBe(0);
    expect(after.samples).toHaveLength(21);
    expect((await getProject(p.id))?.sampleCount).toBe(18);
  });

  it('reports what was injected', () => {
    console.info(`storage-idb: faults injected ${faults.injected}, bad records ${faults.badInputs}`);
    expect(faults.injected).toBeGreaterThan(0);
  });
});
