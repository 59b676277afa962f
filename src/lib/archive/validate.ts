// Checks of a project file, which is untrusted input: anyone can hand one over. Pure: the worker
// reads the zip and calls these; nothing is written to the database unless all of them pass.
// Every refusal is an ArchiveError whose message is a sentence naming the file (and line).
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  ARCHIVE_STORES,
  MANIFEST_PATH,
  NON_FINITE_NAMES,
  TYPED_ARRAYS,
  classifyPath,
  isArchiveStore,
  labelQualityKey,
  recordsPath,
  type ArchiveManifest,
  type ArchiveStore,
} from './format';
import type { ZipLimits } from '../import/zip-guard';
import {
  JSON_LIMITS,
  UntrustedJsonError,
  checkUntrustedText,
  findUnknownKey,
  parseUntrustedJson,
  unknownKeyMessage,
  type KeyShape,
} from '../util/safe-json';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/**
 * Zip limits for project files (lib/import/zip-guard enforces them on bytes actually inflated).
 * Larger than an image import's: a project holds every image plus weights and checkpoints, and a
 * records file of 100,000 samples is tens of MiB. The ratio limit is the import's: blobs are
 * stored, JSON deflates about 10x.
 */
export const ARCHIVE_ZIP_LIMITS: Partial<ZipLimits> = {
  maxEntries: 1_000_000,
  maxTotalBytes: 32 * 1024 ** 3,
  maxEntryBytes: 1024 ** 3,
};

export const MAX_STRING = 1024 * 1024;
const MAX_DEPTH = 64;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// ---- Field specs: each returns what is wrong ("must be …") or null ------------------------------

type Spec = (v: unknown) => string | null;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const id: Spec = (v) =>
  typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[\u0000-\u001f]/.test(v)
    ? null
    : 'must be an id (1 to 200 characters, no control characters)';
const hex64: Spec = (v) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? null : 'must be a SHA-256 (64 lowercase hex characters)');
const text =
  (max: number): Spec =>
  (v) =>
    typeof v !== 'string' ? 'must be a string' : v.length > max ? `is longer than ${max} characters` : null;
const finite: Spec = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'must be a finite number');
const count: Spec = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'must be a whole number, 0 or more');
const bool: Spec = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const obj: Spec = (v) => (isObj(v) ? null : 'must be an object');
const arr: Spec = (v) => (Array.isArray(v) ? null : 'must be a list');
const any: Spec = () => null;
const blob: Spec = (v) => (isObj(v) && typeof v.$blob === 'string' ? null : 'must refer to a file under blobs/');
/** A number, or a non-finite one written as { "$num": … } (a diverged trial's value). */
const numeric: Spec = (v) => (typeof v === 'number' || (isObj(v) && typeof v.$num === 'string') ? null : 'must be a number');
const oneOf =
  (...values: string[]): Spec =>
  (v) =>
    values.includes(v as string) ? null : `must be one of ${values.map((x) => `"${x}"`).join(', ')}`;
const nullable =
  (spec: Spec): Spec =>
  (v) =>
    v === null ? null : spec(v);
const optional =
  (spec: Spec): Spec =>
  (v) =>
    v === undefined ? null : spec(v);
const listOf =
  (spec: Spec): Spec =>
  (v) => {
    if (!Array.isArray(v)) return 'must be a list';
    for (const [i, item] of v.entries()) {
      const problem = spec(item);
      if (problem) return `item ${i + 1} ${problem}`;
    }
    return null;
  };
const shape =
  (fields: Record<string, Spec>): Spec =>
  (v) => {
    if (!isObj(v)) return 'must be an object';
    for (const [k, spec] of Object.entries(fields)) {
      const problem = spec(v[k]);
      if (problem) return `"${k}" ${problem}`;
    }
    return null;
  };

const NAME = 4096;
const LABEL = 1000;
const MESSAGE = 64 * 1024;

const labelSource: Spec = (v) => {
  if (!isObj(v)) return 'must be an object';
  if (v.kind === 'model') return shape({ versionId: id, confidence: finite, accepted: oneOf('human', 'auto') })(v);
  return oneOf('folder', 'csv', 'human')(v.kind) ? '"kind" is not a known label source' : null;
};
const datasetOrigin: Spec = (v) => {
  if (!isObj(v)) return 'must be an object';
  if (v.kind === 'pipeline') return shape({ pipelineId: id, runId: id })(v);
  return v.kind === 'manual' ? null : '"kind" must be "pipeline" or "manual"';
};

export const PROJECT_SPEC: Record<string, Spec> = {
  id,
  name: text(NAME),
  kind: oneOf('user', 'demo'),
  createdAt: finite,
  updatedAt: finite,
  sampleCount: count,
  bytes: count,
  labels: listOf(text(LABEL)),
};

const owned = { projectId: id };
const STORE_SPECS: Record<ArchiveStore, Record<string, Spec>> = {
  imports: {
    id,
    ...owned,
    source: obj,
    state: oneOf('complete', 'cancelled', 'failed'),
    startedAt: finite,
    endedAt: nullable(finite),
    imported: count,
    duplicates: count,
    conflicts: arr,
    truncated: arr,
    skipped: arr,
    ignored: count,
    message: nullable(text(MESSAGE)),
  },
  samples: {
    ...owned,
    id: hex64,
    fileName: text(NAME),
    path: text(NAME),
    label: nullable(text(LABEL)),
    labelSource: nullable(labelSource),
    labeledAt: nullable(finite),
    width: count,
    height: count,
    mime: text(200),
    bytes: count,
    split: oneOf('unassigned', 'train', 'val', 'test'),
    addedAt: finite,
    importId: id,
    flags: listOf(oneOf('truncated', 'conflict')),
    conflictLabels: optional(listOf(text(LABEL))),
  },
  originals: { ...owned, id: hex64, mime: text(200), data: blob },
  thumbnails: { ...owned, id: hex64, mime: text(200), data: blob },
  datasetVersions: {
    id,
    ...owned,
    number: count,
    createdAt: finite,
    ids: listOf(hex64),
    labelIndex: arr,
    splitCode: arr,
    classes: listOf(text(LABEL)),
    preprocess: obj,
    augmentation: any,
    origin: datasetOrigin,
  },
  pipelines: {
    id,
    ...owned,
    definition: any,
    createdAt: finite,
    updatedAt: finite,
    labeledAtLastRun: nullable(finite),
    lastRunAt: nullable(finite),
  },
  pipelineRuns: {
    id,
    pipelineId: id,
    ...owned,
    number: count,
    state: text(100),
    createdAt: finite,
    updatedAt: finite,
    definition: optional(obj),
    trigger: optional(obj),
    steps: optional(listOf(obj)),
    keys: optional(arr),
    message: optional(nullable(text(MESSAGE))),
  },
  stepCache: { key: id, ...owned, kind: text(200), outputs: obj, createdAt: finite },
  runs: {
    id,
    ...owned,
    state: oneOf('running', 'completed', 'stopped', 'diverged', 'failed', 'interrupted', 'trained'),
    createdAt: finite,
    updatedAt: finite,
    config: any,
    history: arr,
    checkpointEpoch: count,
    backend: text(200),
    adapter: nullable(text(NAME)),
    message: nullable(text(MESSAGE)),
    versionId: nullable(id),
  },
  checkpoints: {
    runId: id,
    epoch: count,
    weights: any,
    optimizer: any,
    savedAt: finite,
    best: optional(nullable(shape({ epoch: count, weights: any }))),
  },
  models: { id, ...owned, number: count, createdAt: finite, runId: nullable(id), parentId: nullable(id), meta: obj },
  modelWeights: { versionId: id, modelTopology: any, weightSpecs: any, weightData: blob },
  aliases: { ...owned, alias: text(64), versionId: nullable(id), history: listOf(shape({ versionId: nullable(id), at: finite })) },
  prelabels: {
    ...owned,
    id: hex64,
    versionId: id,
    classes: listOf(text(LABEL)),
    probs: blob,
    embedding: nullable(blob),
    predicted: text(LABEL),
    confidence: finite,
    rejected: bool,
    createdAt: finite,
  },
  studies: {
    id,
    ...owned,
    name: text(NAME),
    plan: any,
    baseSettings: any,
    state: oneOf('running', 'paused', 'done', 'failed'),
    createdAt: finite,
    updatedAt: finite,
    elapsedMs: finite,
    message: nullable(text(MESSAGE)),
    registeredVersionId: nullable(id),
  },
  trials: {
    studyId: id,
    number: count,
    params: obj,
    settings: any,
    state: oneOf('running', 'complete', 'pruned', 'failed', 'interrupted'),
    history: arr,
    values: arr,
    value: nullable(numeric),
    message: nullable(text(MESSAGE)),
    startedAt: finite,
    durationMs: finite,
    backend: text(200),
    runId: nullable(id),
    tensorsBefore: nullable(finite),
    tensorsAfter: nullable(finite),
  },
  predictionLogs: {
    ...owned,
    id,
    at: finite,
    versionId: id,
    source: oneOf('playground', 'batch'),
    fileName: text(NAME),
    predicted: text(LABEL),
    confidence: finite,
    latencyMs: finite,
    stats: obj,
    sketch: arr,
    inputId: nullable(id),
    inputBytes: count,
    sentToLabeling: bool,
  },
  predictionInputs: { ...owned, id, fileName: text(NAME), mime: text(200), data: blob },
  monitorReferences: { versionId: id, ...owned, createdAt: finite, count: count, stats: obj, sketches: arr, classCounts: obj },
  alerts: { ...owned, id, at: finite, kind: oneOf('drift'), versionId: id, report: any, message: text(MESSAGE), acknowledged: bool },
  meta: { key: text(300), value: any },
};

/** The primary key of a record, as one string (for duplicate detection). */
const KEY_OF: Record<ArchiveStore, (r: Record<string, unknown>) => string> = {
  imports: (r) => r.id as string,
  samples: (r) => r.id as string,
  originals: (r) => r.id as string,
  thumbnails: (r) => r.id as string,
  datasetVersions: (r) => r.id as string,
  pipelines: (r) => r.id as string,
  pipelineRuns: (r) => r.id as string,
  stepCache: (r) => r.key as string,
  runs: (r) => r.id as string,
  checkpoints: (r) => r.runId as string,
  models: (r) => r.id as string,
  modelWeights: (r) => r.versionId as string,
  aliases: (r) => r.alias as string,
  prelabels: (r) => r.id as string,
  studies: (r) => r.id as string,
  trials: (r) => `${r.studyId as string} #${r.number as number}`,
  predictionLogs: (r) => r.id as string,
  predictionInputs: (r) => r.id as string,
  monitorReferences: (r) => r.versionId as string,
  alerts: (r) => r.id as string,
  meta: (r) => r.key as string,
};

// ---- Generic scan of any JSON value ---------------------------------------------------------------

interface ScanContext {
  /** Blob store the record belongs to: its markers may only point under blobs/<store>/. */
  store: ArchiveStore | null;
  /** Listed blob files and their sizes. */
  blobs: Map<string, number>;
  /** Blobs referred to so far: each file belongs to exactly one field of one record. */
  used: Set<string>;
}

/** Returns "at <path>: <problem>" for the first problem in a JSON value, or null. */
function scan(value: unknown, ctx: ScanContext, at: string, depth: number): string | null {
  const where = at || 'the record';
  if (depth > MAX_DEPTH) return `${where} is nested more than ${MAX_DEPTH} levels deep`;
  if (typeof value === 'string') return value.length > MAX_STRING ? `${where} is a string longer than ${MAX_STRING} characters` : null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${where} is not a finite number`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = scan(value[i], ctx, `${at}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (!isObj(value)) return null;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `${where} has a key named "${key}", which is refused (it could alter objects it is merged into)`;
    if (key.length > 1000) return `${where} has a key longer than 1000 characters`;
  }
  if ('$blob' in value) return checkBlobMarker(value, ctx, where);
  if ('$num' in value) {
    return Object.keys(value).length === 1 && NON_FINITE_NAMES.includes(value.$num as string)
      ? null
      : `${where} is not a valid { "$num": … } value`;
  }
  for (const [k, v] of Object.entries(value)) {
    const problem = scan(v, ctx, at ? `${at}.${k}` : k, depth + 1);
    if (problem) return problem;
  }
  return null;
}

function checkBlobMarker(marker: Record<string, unknown>, ctx: ScanContext, where: string): string | null {
  const { $blob: path, $type: type } = marker;
  if (Object.keys(marker).some((k) => k !== '$blob' && k !== '$type')) return `${where} is not a valid { "$blob": … } reference`;
  if (typeof path !== 'string') return `${where} has a "$blob" that is not a path`;
  const kind = classifyPath(path);
  if (!ctx.store || kind?.kind !== 'blob' || kind.store !== ctx.store)
    return `${where} refers to "${path.slice(0, 200)}", outside blobs/${ctx.store ?? '…'}/`;
  const bytes = ctx.blobs.get(path);
  if (bytes === undefined) return `${where} refers to ${path}, which is not in the archive`;
  if (ctx.used.has(path)) return `${where} refers to ${path}, which another record already uses`;
  ctx.used.add(path);
  if (type !== undefined) {
    if (typeof type !== 'string' || !Object.hasOwn(TYPED_ARRAYS, type)) return `${where} has an unknown "$type"`;
    const size = TYPED_ARRAYS[type as keyof typeof TYPED_ARRAYS].BYTES_PER_ELEMENT;
    if (bytes % size !== 0) return `${where} is a ${type} but ${path} has ${bytes} bytes, not a multiple of ${size}`;
  }
  return null;
}

function checkFields(record: Record<string, unknown>, specs: Record<string, Spec>): string | null {
  for (const [field, spec] of Object.entries(specs)) {
    const problem = spec(record[field]);
    if (problem) return `"${field}" ${problem}`;
  }
  return null;
}

// ---- Manifest -------------------------------------------------------------------------------------

export interface ValidationOptions {
  /** The database version of this copy of Trainyard. */
  dbVersion: number;
}

const newer = (what: string) =>
  new ArchiveError(`This project file was made by a newer Trainyard (${what}). Update Trainyard (reload the page) and import it again.`);

/** Keys a manifest of this format version may have (lib/util/safe-json's one policy: others are refused). */
const MANIFEST_KEYS: KeyShape = {
  keys: {
    format: true,
    formatVersion: true,
    dbVersion: true,
    exportedAt: true,
    app: { keys: { name: true, version: true } },
    project: { keys: Object.fromEntries(Object.keys(PROJECT_SPEC).map((k) => [k, true])) },
    counts: true,
    requiredBackbones: true,
    backbones: { items: { keys: { id: true, name: true, sha256: true, catalogId: true } } },
    files: { items: { keys: { path: true, sha256: true, bytes: true } } },
  },
};

/** Called once every field of the manifest has been checked (each failure throws): from then on it is one. */
function markChecked(_raw: Record<string, unknown>): asserts _raw is Record<string, unknown> & ArchiveManifest {}

export function parseManifest(json: string, options: ValidationOptions): ArchiveManifest {
  let raw: unknown;
  try {
    raw = parseUntrustedJson(json, MANIFEST_PATH, JSON_LIMITS.archiveManifest);
  } catch (e) {
    if (!(e instanceof UntrustedJsonError)) throw e;
    if (/ is not valid JSON/.test(e.message))
      throw new ArchiveError(`${MANIFEST_PATH} is not valid JSON, so this is not a readable Trainyard project file.`);
    throw new ArchiveError(e.message);
  }
  if (!isObj(raw) || raw.format !== ARCHIVE_FORMAT) {
    throw new ArchiveError(`${MANIFEST_PATH} does not describe a Trainyard project (its "format" is not "${ARCHIVE_FORMAT}").`);
  }
  const bad = (problem: string) => new ArchiveError(`${MANIFEST_PATH}: ${problem}.`);
  if (count(raw.formatVersion) || (raw.formatVersion as number) < 1) throw bad('"formatVersion" must be a whole number from 1');
  if ((raw.formatVersion as number) > ARCHIVE_FORMAT_VERSION) {
    throw newer(`project file format ${raw.formatVersion as number}; this copy reads format ${ARCHIVE_FORMAT_VERSION}`);
  }
  if (count(raw.dbVersion) || (raw.dbVersion as number) < 1) throw bad('"dbVersion" must be a whole number from 1');
  if ((raw.dbVersion as number) > options.dbVersion) {
    throw newer(`database version ${raw.dbVersion as number}; this copy has version ${options.dbVersion}`);
  }
  const unknown = findUnknownKey(raw, MANIFEST_KEYS);
  if (unknown) throw new ArchiveError(unknownKeyMessage(MANIFEST_PATH, unknown.key, unknown.path));
  const top = checkFields(raw, {
    exportedAt: finite,
    app: shape({ name: text(100), version: text(100) }),
    project: obj,
    counts: obj,
    requiredBackbones: listOf(id),
    backbones: optional(listOf(shape({ id, name: text(NAME), sha256: optional(hex64), catalogId: optional(id) }))),
    files: arr,
  });
  if (top) throw bad(top);
  const projectProblem =
    checkFields(raw.project as Record<string, unknown>, PROJECT_SPEC) ??
    scan(raw.project, { store: null, blobs: new Map(), used: new Set() }, 'project', 0);
  if (projectProblem) throw bad(`project ${projectProblem}`);

  const counts = raw.counts as Record<string, unknown>;
  for (const [store, n] of Object.entries(counts)) {
    if (!isArchiveStore(store)) throw bad(`"counts" names "${store.slice(0, 100)}", which is not a store of a project`);
    if (count(n)) throw bad(`"counts.${store}" must be a whole number, 0 or more`);
  }

  const seen = new Set<string>();
  for (const [i, f] of (raw.files as unknown[]).entries()) {
    const problem = shape({ path: text(300), sha256: hex64, bytes: count })(f);
    if (problem) throw bad(`file ${i + 1} of "files": ${problem}`);
    const { path } = f as { path: string };
    const kind = classifyPath(path);
    if (!kind || kind.kind === 'manifest') throw bad(`"files" lists "${path}", a path outside records/ and blobs/`);
    if (seen.has(path)) throw bad(`"files" lists ${path} twice`);
    seen.add(path);
  }
  for (const store of ARCHIVE_STORES) {
    if (((counts[store] as number | undefined) ?? 0) > 0 && !seen.has(recordsPath(store))) {
      throw bad(`"counts" has ${counts[store] as number} ${store} records but ${recordsPath(store)} is not listed`);
    }
  }
  markChecked(raw);
  return {
    ...raw,
    counts: Object.fromEntries(ARCHIVE_STORES.map((s) => [s, (counts[s] as number | undefined) ?? 0])) as Record<ArchiveStore, number>,
  };
}

/**
 * Entry names straight from the zip's directory, before anything is inflated: only the manifest,
 * records/<store>.jsonl and blobs/<store>/<n>.bin may be there, each once.
 */
export function checkEntryNames(names: Array<{ name: string; directory: boolean }>): void {
  const seen = new Set<string>();
  for (const { name, directory } of names) {
    const path = directory ? name.replace(/\/$/, '') : name;
    const allowedDir = directory && (path === 'records' || path === 'blobs' || /^blobs\/[A-Za-z]{1,40}$/.test(path));
    if (!allowedDir && !(classifyPath(path) && !directory)) {
      throw new ArchiveError(`The project file contains "${name.slice(0, 200)}", a path outside records/ and blobs/; it was refused.`);
    }
    if (seen.has(name)) throw new ArchiveError(`The project file contains ${name} twice; it was refused.`);
    seen.add(name);
  }
  if (!seen.has(MANIFEST_PATH)) {
    throw new ArchiveError(`This zip has no ${MANIFEST_PATH}, so it is not a Trainyard project file.`);
  }
}

/** Every file the manifest lists is in the zip, and every file in the zip is listed. */
export function checkListedFiles(manifest: ArchiveManifest, fileNames: string[]): void {
  const present = new Set(fileNames);
  for (const f of manifest.files) {
    if (!present.has(f.path)) throw new ArchiveError(`${MANIFEST_PATH} lists ${f.path}, but that file is missing from the archive.`);
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const name of fileNames) {
    if (name !== MANIFEST_PATH && !listed.has(name))
      throw new ArchiveError(`${name} is in the archive but not listed in ${MANIFEST_PATH}; it was refused.`);
  }
}

export function checkFileHash(entry: { path: string; sha256: string; bytes: number }, actual: { sha256: string; bytes: number }): void {
  if (actual.bytes !== entry.bytes || actual.sha256 !== entry.sha256) {
    throw new ArchiveError(`${entry.path} does not match the SHA-256 listed in ${MANIFEST_PATH}: the file is damaged or was changed.`);
  }
}

// ---- Records --------------------------------------------------------------------------------------

export type ArchiveRecords = Record<ArchiveStore, Array<Record<string, unknown>>>;

/** The line each parsed record came from, for messages about references between records. */
const lineOf = new WeakMap<object, number>();

/**
 * Parses one records file line by line; each record is checked alone (fields, scan, projectId).
 * `blobs` are the listed blob files with their sizes; `used` collects the ones records refer to.
 */
export function parseRecordsFile(
  store: ArchiveStore,
  jsonl: string,
  manifest: ArchiveManifest,
  blobs: Map<string, number>,
  used: Set<string>,
): Array<Record<string, unknown>> {
  const file = recordsPath(store);
  const projectId = manifest.project.id;
  const specs = STORE_SPECS[store];
  const keys = new Set<string>();
  const records: Array<Record<string, unknown>> = [];
  const lines = jsonl.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const fail = (problem: string) => new ArchiveError(`${file}, line ${i + 1}: ${problem}.`);
    let record: unknown;
    try {
      // Size and depth on the text first (lib/util/safe-json): nothing recursive sees a deep line.
      record = JSON.parse(checkUntrustedText(line, `${file}, line ${i + 1}`, JSON_LIMITS.archiveRecord));
    } catch (e) {
      if (e instanceof UntrustedJsonError) throw new ArchiveError(e.message);
      throw fail('not valid JSON');
    }
    if (!isObj(record)) throw fail('a record must be a JSON object');
    const problem = scan(record, { store, blobs, used }, '', 0) ?? checkFields(record, specs);
    if (problem) throw fail(problem);
    const unknown = Object.keys(record).find((k) => !Object.hasOwn(specs, k));
    if (unknown !== undefined) throw new ArchiveError(unknownKeyMessage(`${file}, line ${i + 1}`, unknown, '$'));
    if ('projectId' in specs && record.projectId !== projectId) {
      throw fail(`"projectId" is "${String(record.projectId).slice(0, 200)}", not the archived project's id "${projectId}"`);
    }
    if (store === 'meta' && record.key !== labelQualityKey(projectId))
      throw fail(`"key" must be "${labelQualityKey(projectId)}" (the only setting a project owns)`);
    const key = KEY_OF[store](record);
    if (keys.has(key)) throw fail(`a second record with the key "${key}"`);
    keys.add(key);
    lineOf.set(record, i + 1);
    records.push(record);
  }
  if (records.length !== manifest.counts[store]) {
    throw new ArchiveError(`${file} has ${records.length} records but ${MANIFEST_PATH} says ${manifest.counts[store]}.`);
  }
  return records;
}

/** A listed blob no record refers to is not part of the project: refused as a sign of tampering. */
export function checkBlobsUsed(blobs: Map<string, number>, used: Set<string>): void {
  for (const path of blobs.keys()) {
    if (!used.has(path)) throw new ArchiveError(`${path} is listed in ${MANIFEST_PATH} but no record refers to it.`);
  }
}

/**
 * One rule per reference a record can make: every value `values` returns must be a key of a record
 * in the archive (`to`). The table in test/reliability/README.md lists these and the references
 * that may dangle (with why); test/unit/archive-references.test.ts breaks each rule once.
 */
export interface ReferenceRule {
  store: ArchiveStore;
  /** The field, as the README's table names it. */
  field: string;
  to: ArchiveStore;
  /** The field of `to` that is referred to. */
  key: string;
  /** The referring values of one record (null and absent values are not references). */
  values: (r: Record<string, unknown>) => unknown[];
}

const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), v);
const present = (...vs: unknown[]) => vs.filter((v) => v !== null && v !== undefined);
const stepOutputs = (r: Record<string, unknown>) => (Array.isArray(r.steps) ? r.steps : []).map((s) => at(s, 'outputs')).filter(isObj);

export const REFERENCE_RULES: ReferenceRule[] = [
  { store: 'samples', field: 'importId', to: 'imports', key: 'id', values: (r) => [r.importId] },
  { store: 'originals', field: 'id', to: 'samples', key: 'id', values: (r) => [r.id] },
  { store: 'thumbnails', field: 'id', to: 'samples', key: 'id', values: (r) => [r.id] },
  { store: 'samples', field: 'id (its original)', to: 'originals', key: 'id', values: (r) => [r.id] },
  { store: 'prelabels', field: 'id', to: 'samples', key: 'id', values: (r) => [r.id] },
  { store: 'datasetVersions', field: 'ids[]', to: 'samples', key: 'id', values: (r) => r.ids as unknown[] },
  { store: 'pipelineRuns', field: 'pipelineId', to: 'pipelines', key: 'id', values: (r) => [r.pipelineId] },
  {
    store: 'pipelineRuns',
    field: 'steps[].outputs.datasetVersionId',
    to: 'datasetVersions',
    key: 'id',
    values: (r) => present(...stepOutputs(r).map((o) => o.datasetVersionId)),
  },
  {
    store: 'pipelineRuns',
    field: 'steps[].outputs.artifact',
    to: 'stepCache',
    key: 'key',
    values: (r) => present(...stepOutputs(r).map((o) => o.artifact)),
  },
  {
    store: 'pipelineRuns',
    field: 'steps[].outputs.studyId',
    to: 'studies',
    key: 'id',
    values: (r) => present(...stepOutputs(r).map((o) => o.studyId)),
  },
  {
    store: 'stepCache',
    field: 'outputs.datasetVersionId',
    to: 'datasetVersions',
    key: 'id',
    values: (r) => present(at(r, 'outputs', 'datasetVersionId')),
  },
  { store: 'stepCache', field: 'outputs.artifact', to: 'stepCache', key: 'key', values: (r) => present(at(r, 'outputs', 'artifact')) },
  { store: 'stepCache', field: 'outputs.studyId', to: 'studies', key: 'id', values: (r) => present(at(r, 'outputs', 'studyId')) },
  {
    store: 'runs',
    field: 'config.dataset.versionId',
    to: 'datasetVersions',
    key: 'id',
    values: (r) => present(at(r, 'config', 'dataset', 'versionId')),
  },
  { store: 'checkpoints', field: 'runId', to: 'runs', key: 'id', values: (r) => [r.runId] },
  { store: 'models', field: 'id (its weights)', to: 'modelWeights', key: 'versionId', values: (r) => [r.id] },
  {
    store: 'models',
    field: 'meta.datasetVersionId',
    to: 'datasetVersions',
    key: 'id',
    values: (r) => present(at(r, 'meta', 'datasetVersionId')),
  },
  { store: 'modelWeights', field: 'versionId', to: 'models', key: 'id', values: (r) => [r.versionId] },
  { store: 'aliases', field: 'versionId', to: 'models', key: 'id', values: (r) => present(r.versionId) },
  { store: 'trials', field: 'studyId', to: 'studies', key: 'id', values: (r) => [r.studyId] },
  { store: 'trials', field: 'runId', to: 'runs', key: 'id', values: (r) => present(r.runId) },
  { store: 'predictionLogs', field: 'inputId', to: 'predictionInputs', key: 'id', values: (r) => present(r.inputId) },
  { store: 'predictionInputs', field: 'id (its log)', to: 'predictionLogs', key: 'inputId', values: (r) => [r.id] },
];

/** Records that point at other records must find them in the archive (REFERENCE_RULES). */
export function checkReferences(records: ArchiveRecords): void {
  const keySets = new Map<string, Set<unknown>>();
  const keysOf = (store: ArchiveStore, field: string) => {
    const name = `${store}.${field}`;
    let set = keySets.get(name);
    if (!set) keySets.set(name, (set = new Set(records[store].map((r) => r[field]))));
    return set;
  };
  for (const rule of REFERENCE_RULES) {
    const target = keysOf(rule.to, rule.key);
    for (const r of records[rule.store]) {
      const dangling = rule.values(r).find((v) => !target.has(v));
      if (dangling === undefined) continue;
      const name = REFERENCE_NAMES[rule.to];
      throw new ArchiveError(
        `${recordsPath(rule.store)}, line ${lineOf.get(r) ?? '?'}: "${rule.field}" is "${String(dangling).slice(0, 200)}", which is not ${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name} in ${recordsPath(rule.to)}. Nothing was imported.`,
      );
    }
  }
  for (const r of records.datasetVersions) {
    const n = (r.ids as unknown[]).length;
    if ((r.labelIndex as unknown[]).length !== n || (r.splitCode as unknown[]).length !== n) {
      throw new ArchiveError(
        `${recordsPath('datasetVersions')}, line ${lineOf.get(r) ?? '?'}: "labelIndex" and "splitCode" must have one entry per id (${n}). Nothing was imported.`,
      );
    }
  }
}

const REFERENCE_NAMES: Record<ArchiveStore, string> = {
  imports: 'import',
  samples: 'sample',
  originals: 'image file',
  thumbnails: 'thumbnail',
  datasetVersions: 'dataset version',
  pipelines: 'pipeline',
  pipelineRuns: 'pipeline run',
  stepCache: 'cached step result',
  runs: 'training run',
  checkpoints: 'checkpoint',
  models: 'model version',
  modelWeights: "model version's weights",
  aliases: 'alias',
  prelabels: 'pre-label',
  studies: 'study',
  trials: 'trial',
  predictionLogs: 'prediction log',
  predictionInputs: 'prediction input',
  monitorReferences: 'monitoring reference',
  alerts: 'alert',
  meta: 'setting',
};
