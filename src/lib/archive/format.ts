// The portable project file ("Export project" / "Import project"): one zip holding everything a
// project owns, greppable and without base64. Pure: no IndexedDB, no DOM.
//
//   trainyard-project.json        manifest: format, versions, the project record, counts per store,
//                                 backbones the versions need (not included), SHA-256 of every file
//   records/<store>.jsonl         one JSON record per line, in the store's own shape
//   blobs/<store>/<n>.bin         binary fields (image bytes, weights, float arrays), stored as-is;
//                                 a record holds { "$blob": "blobs/<store>/<n>.bin" } in their place
//
// Not included, on purpose:
//  - preprocessed, embeddings: pure caches, recomputed on demand from the originals.
//  - backbones, backboneWeights: shared by every project, not owned by one; the manifest lists
//    the ids the project's versions and runs use, so the importing side can say what is missing.
//  - imports still 'running' and the samples they wrote: uncommitted (an import in progress or
//    interrupted), hidden from every reader but the Data page (see db/committed.ts).
import type { ProjectRecord } from '../../contracts/records';
import type { MissingBackbone, ArchiveProgress, ProjectImportPlan, ImportedProject } from '../../contracts/imports';
export type { MissingBackbone, ArchiveProgress, ProjectImportPlan, ImportedProject };

export const ARCHIVE_FORMAT = 'trainyard.project';
export const ARCHIVE_FORMAT_VERSION = 1;
export const MANIFEST_PATH = 'trainyard-project.json';

/**
 * Stores in an archive, in the order an import writes them: parents before children (runs before
 * checkpoints, models before weights, studies before trials), so deleteProject() can find and
 * remove everything of a half-written import through its parents. The project record itself lives
 * in the manifest and is written last.
 */
export const ARCHIVE_STORES = [
  'imports',
  'samples',
  'originals',
  'thumbnails',
  'datasetVersions',
  'pipelines',
  'pipelineRuns',
  'stepCache',
  'runs',
  'checkpoints',
  'models',
  'modelWeights',
  'aliases',
  'prelabels',
  'studies',
  'trials',
  'predictionLogs',
  'predictionInputs',
  'monitorReferences',
  'alerts',
  'meta',
] as const;
export type ArchiveStore = (typeof ARCHIVE_STORES)[number];

export const isArchiveStore = (s: string): s is ArchiveStore => (ARCHIVE_STORES as readonly string[]).includes(s);

/** The one meta record a project owns (the label check's last report). */
export const labelQualityKey = (projectId: string) => `label-quality:${projectId}`;

export const recordsPath = (store: ArchiveStore) => `records/${store}.jsonl`;
export const blobPath = (store: ArchiveStore, n: number) => `blobs/${store}/${n}.bin`;

const RECORDS_RE = /^records\/([A-Za-z]{1,40})\.jsonl$/;
const BLOB_RE = /^blobs\/([A-Za-z]{1,40})\/(0|[1-9][0-9]{0,8})\.bin$/;

/** What a path in an archive holds, or null for any other path (traversal, absolute, stray files). */
export function classifyPath(path: string): { kind: 'manifest' } | { kind: 'records' | 'blob'; store: ArchiveStore } | null {
  if (path === MANIFEST_PATH) return { kind: 'manifest' };
  const r = RECORDS_RE.exec(path);
  if (r && isArchiveStore(r[1])) return { kind: 'records', store: r[1] };
  const b = BLOB_RE.exec(path);
  if (b && isArchiveStore(b[1])) return { kind: 'blob', store: b[1] };
  return null;
}

export interface ArchiveFileEntry {
  path: string;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
  bytes: number;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  formatVersion: number;
  /** The database version the records were read from (their shapes follow it). */
  dbVersion: number;
  exportedAt: number;
  app: { name: string; version: string };
  project: ProjectRecord;
  counts: Record<ArchiveStore, number>;
  /** Backbone ids the project's versions and runs use; backbones are not part of a project. */
  requiredBackbones: string[];
  /**
   * What each required backbone is (files from before this field lack it). Backbone ids are local
   * to a browser, so another browser finds its own copy of the same weights by `sha256`, and a
   * catalog backbone it lacks can be named by its catalog entry.
   */
  backbones?: ArchiveBackbone[];
  files: ArchiveFileEntry[];
}

export interface ArchiveBackbone {
  id: string;
  name: string;
  /** SHA-256 (hex) of the weight bytes in manifest order (BackboneRecord.sha256). */
  sha256?: string;
  /** The catalog entry it was downloaded from (lib/ml/backbone-catalog.ts), if any. */
  catalogId?: string;
}

/** Thrown by a project import stopped by the person (before writing, or during it: what was written is removed). */
export const IMPORT_CANCELLED = 'ImportCancelled';

// ---- Record encoding ---------------------------------------------------------------------------
// Records are JSON with two markers for what JSON cannot hold:
//   { "$blob": path, "$type"?: "Float32Array" | … }  an ArrayBuffer (or typed array) moved to a file
//   { "$num": "NaN" | "Infinity" | "-Infinity" }      a non-finite number (a diverged run's loss)
// A stored object shaped exactly like a marker would be misread; no store holds such a thing.

export const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;
export type TypedArrayName = keyof typeof TYPED_ARRAYS;
const NON_FINITE = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity } as const;

const tag = (v: unknown) => Object.prototype.toString.call(v).slice(8, -1);
const isPlainObject = (v: unknown): v is Record<string, unknown> => tag(v) === 'Object';

/**
 * A record as a JSON value: binary fields go to `addBlob` (which returns the path it will have).
 * `undefined` properties are dropped, as JSON.stringify does. Values IndexedDB could hold but no
 * store uses (Date, Map, Blob…) are refused rather than exported wrongly.
 */
export function encodeRecord(value: unknown, addBlob: (bytes: Uint8Array) => string, at = ''): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $num: String(value) };
  if (tag(value) === 'ArrayBuffer') return { $blob: addBlob(new Uint8Array(value as ArrayBuffer)) };
  if (ArrayBuffer.isView(value) && Object.hasOwn(TYPED_ARRAYS, tag(value))) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { $blob: addBlob(bytes), $type: tag(value) };
  }
  if (Array.isArray(value)) return value.map((v, i) => (v === undefined ? null : encodeRecord(v, addBlob, `${at}[${i}]`)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encodeRecord(v, addBlob, at ? `${at}.${k}` : k);
    return out;
  }
  throw new Error(`A value of type ${tag(value)} at "${at || '(record)'}" cannot be exported.`);
}

export type BlobMarker = { $blob: string; $type?: TypedArrayName };
export const isBlobMarker = (v: unknown): v is BlobMarker => isPlainObject(v) && typeof v.$blob === 'string';
export const isNumMarker = (v: unknown): v is { $num: keyof typeof NON_FINITE } => isPlainObject(v) && typeof v.$num === 'string';

/** Every blob path a (validated) record refers to. */
export function blobRefs(value: unknown, out: string[] = []): string[] {
  if (isBlobMarker(value)) out.push(value.$blob);
  else if (Array.isArray(value)) for (const v of value) blobRefs(v, out);
  else if (isPlainObject(value)) for (const v of Object.values(value)) blobRefs(v, out);
  return out;
}

/** The inverse of encodeRecord, for a record validate.ts accepted; `blob` returns the file's bytes. */
export function decodeRecord(value: unknown, blob: (path: string) => ArrayBuffer): unknown {
  if (isBlobMarker(value)) {
    const buffer = blob(value.$blob);
    return value.$type ? new TYPED_ARRAYS[value.$type](buffer) : buffer;
  }
  if (isNumMarker(value)) return NON_FINITE[value.$num];
  if (Array.isArray(value)) return value.map((v) => decodeRecord(v, blob));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decodeRecord(v, blob);
    return out;
  }
  return value;
}

export { toHex } from '../util/hex';

export const NON_FINITE_NAMES = Object.keys(NON_FINITE);
