// Project files, zip side: export a project as one zip and import one back (layout and what is
// included: src/lib/archive/format.ts). No Comlink here, so Node tests call these directly; the
// import worker exposes them as exportProject / importProject.
import {
  BlobReader,
  BlobWriter,
  TextReader,
  Uint8ArrayReader,
  ZipReader,
  ZipWriter,
  configure,
  type Entry,
  type FileEntry,
} from '@zip.js/zip.js';
import { DB_VERSION } from '../src/db/schema';
import type { ProjectRecord } from '../src/contracts/records';
import { deleteProject } from '../src/db/projects';
import {
  PAGED_STORES,
  addProjectRecord,
  addRecords,
  describeBackbones,
  resolveBackbones,
  projectNames,
  readByKeys,
  readProjectSnapshot,
  takenIds,
  type HeldStore,
  type PagedStore,
  type ProjectSnapshot,
} from '../src/db/project-archive';
import { describeStorageFull, isQuotaError } from '../src/db/storage-errors';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  ARCHIVE_STORES,
  MANIFEST_PATH,
  blobPath,
  blobRefs,
  classifyPath,
  decodeRecord,
  encodeRecord,
  labelQualityKey,
  recordsPath,
  toHex,
  type ArchiveFileEntry,
  type ArchiveManifest,
  type ArchiveProgress,
  type ArchiveStore,
  type ImportedProject,
  type ProjectImportPlan,
  IMPORT_CANCELLED,
} from '../src/lib/archive/format';
import {
  ARCHIVE_ZIP_LIMITS,
  ArchiveError,
  checkBlobsUsed,
  checkEntryNames,
  checkFileHash,
  checkListedFiles,
  checkReferences,
  parseManifest,
  parseRecordsFile,
  type ArchiveRecords,
} from '../src/lib/archive/validate';
import { buildIdMap, remapIds, sharedIds } from '../src/lib/archive/remap';
import { ZipBombError, ZipGuard } from '../src/lib/import/zip-guard';
import { Throttle } from '../src/lib/util/format';
import { inflateEntry } from './zip-entry';
import { version as appVersion } from '../package.json';
import { errorMessage } from '../src/lib/util/errors';

// zip.js would otherwise start its own workers from blob URLs; we are already in one.
configure({ useWebWorkers: false });

type Progress = (p: ArchiveProgress) => void;
type Rec = Record<string, unknown>;

const BATCH_RECORDS = 128;
/** Bytes read from the zip for one write batch: bounds memory when originals are large. */
const BATCH_BYTES = 64 * 1024 ** 2;
const EXPORT_PAGE = 32;

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---- Export ---------------------------------------------------------------------------------------

/**
 * What the snapshot may put in a file: the committed part of the project, so that the file passes
 * the import's own integrity checks. Samples of an import still 'running' are uncommitted (nobody
 * but the Data page shows them); an alias of a deleted version reads as unset, as deleteVersion
 * leaves it; pipeline runs of a deleted pipeline are gone with it in deletePipeline.
 */
function committedPart(snap: ProjectSnapshot): ProjectSnapshot {
  const held = snap.held as Record<HeldStore, Rec[]>;
  const open = new Set(held.imports.filter((i) => i.state === 'running').map((i) => i.id));
  const samples = held.samples.filter((s) => !open.has(s.importId));
  const sampleIds = new Set(samples.map((s) => s.id));
  const versionIds = new Set(held.models.map((m) => m.id));
  const pipelineIds = new Set(held.pipelines.map((p) => p.id));
  const ofSample = (keys: IDBValidKey[]) => keys.filter((k) => sampleIds.has((k as [string, string])[1]));
  return {
    project: snap.project,
    held: {
      ...held,
      imports: held.imports.filter((i) => !open.has(i.id)),
      samples,
      pipelineRuns: held.pipelineRuns.filter((r) => pipelineIds.has(r.pipelineId)),
      aliases: held.aliases.map((a) => (a.versionId === null || versionIds.has(a.versionId) ? a : { ...a, versionId: null })),
    },
    keys: {
      ...snap.keys,
      originals: ofSample(snap.keys.originals),
      thumbnails: ofSample(snap.keys.thumbnails),
      prelabels: ofSample(snap.keys.prelabels),
    },
  };
}

/** Backbone ids named anywhere in versions' metadata and runs' settings (`backboneId`). */
function backboneIds(held: Record<HeldStore, Rec[]>): string[] {
  const found = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'backboneId' && typeof x === 'string' && x) found.add(x);
      else walk(x, depth + 1);
    }
  };
  held.models.forEach((m) => walk(m.meta, 0));
  held.runs.forEach((r) => walk(r.config, 0));
  return [...found].sort();
}

/** The whole project as one zip, store by store; at most one page of bytes is in memory at a time. */
export async function buildProjectArchive(projectId: string, onProgress: Progress): Promise<Blob> {
  const snapshot = await readProjectSnapshot(projectId);
  if (!snapshot) throw new Error('That project no longer exists.');
  const { project, held, keys } = committedPart(snapshot);
  const isPaged = (s: ArchiveStore): s is PagedStore => (PAGED_STORES as readonly string[]).includes(s);
  const total = ARCHIVE_STORES.reduce((n, s) => n + (isPaged(s) ? keys[s].length : held[s].length), 0);
  const throttle = new Throttle(125);
  let done = 0;

  const writer = new ZipWriter(new BlobWriter('application/zip'));
  const files: ArchiveFileEntry[] = [];
  const counts = {} as Record<ArchiveStore, number>;
  const addFile = async (path: string, bytes: Uint8Array<ArrayBuffer>, level?: number) => {
    files.push({ path, sha256: await sha256(bytes), bytes: bytes.byteLength });
    await writer.add(path, new Uint8ArrayReader(bytes), level === undefined ? {} : { level });
  };

  for (const store of ARCHIVE_STORES) {
    const lines: string[] = [];
    let n = 0;
    const pages = isPaged(store) ? chunks(keys[store], EXPORT_PAGE) : chunks(held[store], 256);
    for (const page of pages) {
      const records = isPaged(store) ? await readByKeys(store, page as IDBValidKey[]) : page;
      const blobs: Array<[string, Uint8Array<ArrayBuffer>]> = [];
      const addBlob = (bytes: Uint8Array) => {
        const path = blobPath(store, n++);
        blobs.push([path, bytes as Uint8Array<ArrayBuffer>]);
        return path;
      };
      for (const record of records) {
        try {
          lines.push(JSON.stringify(encodeRecord(record, addBlob)));
        } catch (err) {
          throw new Error(`A ${store} record could not be exported: ${errorMessage(err)}`, { cause: err });
        }
      }
      // Images and weights are already dense: stored, not deflated (as fast as a copy, as small).
      for (const [path, bytes] of blobs) await addFile(path, bytes, 0);
      done += page.length;
      if (throttle.ready()) onProgress({ phase: 'export', done, total });
    }
    counts[store] = lines.length;
    await addFile(recordsPath(store), new TextEncoder().encode(lines.length ? lines.join('\n') + '\n' : ''));
  }

  const requiredBackbones = backboneIds(held as Record<HeldStore, Rec[]>);
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    dbVersion: DB_VERSION,
    exportedAt: Date.now(),
    app: { name: 'Trainyard', version: appVersion },
    project,
    counts,
    requiredBackbones,
    backbones: await describeBackbones(requiredBackbones),
    files,
  };
  await writer.add(MANIFEST_PATH, new TextReader(JSON.stringify(manifest, null, 1)));
  onProgress({ phase: 'export', done: total, total });
  return writer.close();
}

// ---- Import ---------------------------------------------------------------------------------------

/**
 * Reads, checks and stores a project file as a new project. Two passes over the zip: the first
 * checks everything (every hash, record and reference) and keeps only the records; the second
 * reads the bytes again batch by batch while writing. Nothing is written before the first ends.
 */
export async function restoreProjectArchive(file: Blob, onProgress: Progress, hooks: RestoreHooks = {}): Promise<ImportedProject> {
  const reader = new ZipReader(new BlobReader(file), { filenameValidation: 'tolerant' });
  try {
    return await restore(reader, onProgress, hooks);
  } finally {
    await reader.close().catch(() => {});
  }
}

function utf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ArchiveError(`${path} is not UTF-8 text.`);
  }
}

/** The person's part in a project import: confirm the plan, or cancel. */
export interface RestoreHooks {
  /** Called once the whole file is checked, before anything is written; false stops with nothing written. */
  confirm?(plan: ProjectImportPlan): boolean | Promise<boolean>;
  /** Polled between files and batches; true stops the import and removes what it wrote. */
  isCancelled?(): boolean;
}

function cancelled(message: string): Error {
  const err = new Error(message);
  err.name = IMPORT_CANCELLED;
  return err;
}

async function restore(reader: ZipReader<Blob>, onProgress: Progress, hooks: RestoreHooks): Promise<ImportedProject> {
  const stopWhileChecking = () => {
    if (hooks.isCancelled?.()) throw cancelled('Import cancelled while checking the file: nothing was stored.');
  };
  let entries: Entry[];
  try {
    entries = await reader.getEntries();
  } catch {
    throw new ArchiveError('This file is not a zip file, so it is not a Trainyard project file.');
  }
  const bomb = (err: unknown): never => {
    if (err instanceof ZipBombError) throw new ArchiveError(`The project file was refused as a possible zip bomb: ${err.message}.`);
    throw err;
  };
  const checkGuard = new ZipGuard(ARCHIVE_ZIP_LIMITS);
  try {
    checkGuard.checkEntryCount(entries.length);
    for (const e of entries) if (!e.directory) checkGuard.checkDeclared(e.filename, e.uncompressedSize, e.compressedSize);
  } catch (err) {
    bomb(err);
  }
  checkEntryNames(entries.map((e) => ({ name: e.filename, directory: e.directory })));
  const zipFiles = new Map(entries.filter((e): e is FileEntry => !e.directory).map((e) => [e.filename, e]));

  const read = (path: string, guard: ZipGuard) =>
    inflateEntry(zipFiles.get(path)!, guard).catch((err: unknown) => {
      if (err instanceof ZipBombError) return bomb(err);
      throw new ArchiveError(`${path} ${errorMessage(err)}.`);
    });
  const manifest = parseManifest(utf8(await read(MANIFEST_PATH, checkGuard), MANIFEST_PATH), { dbVersion: DB_VERSION });
  checkListedFiles(manifest, [...zipFiles.keys()]);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const readChecked = async (path: string, guard: ZipGuard) => {
    const bytes = await read(path, guard);
    checkFileHash(listed.get(path)!, { sha256: await sha256(bytes), bytes: bytes.byteLength });
    return bytes;
  };

  // Pass 1: check.
  const blobFiles = manifest.files.filter((f) => classifyPath(f.path)?.kind === 'blob');
  const blobSizes = new Map(blobFiles.map((f) => [f.path, f.bytes]));
  const checkTotal = ARCHIVE_STORES.length + blobFiles.length;
  const throttle = new Throttle(125);
  let checked = 0;
  const records = {} as ArchiveRecords;
  const usedBlobs = new Set<string>();
  for (const store of ARCHIVE_STORES) {
    const path = recordsPath(store);
    records[store] = listed.has(path)
      ? parseRecordsFile(store, utf8(await readChecked(path, checkGuard), path), manifest, blobSizes, usedBlobs)
      : [];
    onProgress({ phase: 'check', done: ++checked, total: checkTotal });
    stopWhileChecking();
  }
  checkBlobsUsed(blobSizes, usedBlobs);
  checkReferences(records);
  for (const f of blobFiles) {
    stopWhileChecking();
    await readChecked(f.path, checkGuard);
    if (throttle.ready()) onProgress({ phase: 'check', done: ++checked, total: checkTotal });
    else checked++;
  }

  // Ids and name: a new project, and fresh ids only where this profile already uses one.
  const projectId = crypto.randomUUID();
  const name = unusedName(manifest.project.name, await projectNames());
  const idMap = buildIdMap(manifest.project.id, projectId, await takenIds(sharedIds(records)), () => crypto.randomUUID());
  // Backbones found here under another id (same weights, by SHA-256): versions and runs refer to
  // this browser's copy. Backbone ids are UUIDs, so the deep remap touches nothing else.
  const backbones = await resolveBackbones(manifest.requiredBackbones, manifest.backbones);
  for (const [fileId, localId] of backbones.matched) idMap.set(fileId, localId);
  const missing = backbones.missing.map((b) => b.id);
  const imageBytes = [...records.originals, ...records.thumbnails].reduce((n, r) => n + (blobSizes.get(blobRefs(r.data)[0]) ?? 0), 0);
  const project: ProjectRecord = {
    ...(remapIds(manifest.project, idMap) as ProjectRecord),
    id: projectId,
    name,
    // The file's counters are not trusted: they are what was actually written.
    sampleCount: records.samples.length,
    bytes: imageBytes,
  };
  onProgress({ phase: 'check', done: checkTotal, total: checkTotal });
  if (hooks.confirm) {
    const plan: ProjectImportPlan = {
      name,
      originalName: manifest.project.name,
      exportedAt: manifest.exportedAt,
      appVersion: manifest.app.version,
      counts: Object.fromEntries(ARCHIVE_STORES.map((s) => [s, records[s].length])),
      labels: [...(manifest.project.labels ?? [])],
      imageBytes,
      missingBackbones: missing,
      missingBackboneDetails: backbones.missing,
      matchedBackbones: backbones.matched.size,
    };
    if (!(await hooks.confirm(plan))) throw cancelled('Import cancelled before writing: nothing was stored.');
  }
  stopWhileChecking();

  // Pass 2: write, parents first, the project record last.
  const writeGuard = new ZipGuard(ARCHIVE_ZIP_LIMITS);
  const writeTotal = ARCHIVE_STORES.reduce((n, s) => n + records[s].length, 1);
  let written = 0;
  try {
    for (const store of ARCHIVE_STORES) {
      for (const batch of writeBatches(records[store], blobSizes)) {
        const bytes = new Map<string, ArrayBuffer>();
        for (const path of batch.flatMap((r) => blobRefs(r))) {
          const b = await readChecked(path, writeGuard);
          bytes.set(path, b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer);
        }
        const decoded = batch.map((r) => {
          const record = decodeRecord(remapIds(r, idMap), (path) => bytes.get(path)!) as Rec;
          return store === 'meta' ? { ...record, key: labelQualityKey(projectId) } : record;
        });
        await addRecords(store, decoded);
        written += batch.length;
        if (throttle.ready()) onProgress({ phase: 'write', done: written, total: writeTotal });
        if (hooks.isCancelled?.()) throw cancelled('Import cancelled: what it had written was removed, nothing was kept.');
      }
    }
    await addProjectRecord(project);
  } catch (err) {
    // Nothing of a half-written project may stay: it would never be listed, only take space.
    await deleteProject(projectId).catch(() => {});
    if (err instanceof Error && err.name === IMPORT_CANCELLED) throw err;
    throw await writeFailure(err);
  }
  onProgress({ phase: 'write', done: writeTotal, total: writeTotal });
  return {
    projectId,
    name,
    counts: Object.fromEntries(ARCHIVE_STORES.map((s) => [s, records[s].length])),
    missingBackbones: missing,
    missingBackboneDetails: backbones.missing,
    matchedBackbones: backbones.matched.size,
  };
}

/** ≤ 128 records and about BATCH_BYTES of blob bytes per batch (a bigger single record goes alone). */
function writeBatches(records: Rec[], blobSizes: Map<string, number>): Rec[][] {
  const batches: Rec[][] = [];
  let batch: Rec[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = blobRefs(r).reduce((n, p) => n + (blobSizes.get(p) ?? 0), 0);
    if (batch.length && (batch.length >= BATCH_RECORDS || bytes + size > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(r);
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

function unusedName(name: string, taken: Set<string>): string {
  if (!taken.has(name)) return name;
  let candidate = `${name} (imported)`;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name} (imported ${i})`;
  return candidate;
}

async function writeFailure(err: unknown): Promise<Error> {
  if (isQuotaError(err)) {
    return new Error(
      await describeStorageFull(
        'The project import stopped and what it had written was removed.',
        'Free space (delete a project, an old model version or other site data), then import the file again.',
      ),
    );
  }
  const reason = errorMessage(err);
  return new Error(`The project could not be saved (${reason}); what was written was removed.`);
}
