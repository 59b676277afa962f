// Records read from disk are validated and repaired here, one restore function per type
// (Excalidraw's restore.ts habit): old or damaged shapes never reach the UI as-is.
import type {
  AlertRecord,
  AliasRecord,
  BackboneRecord,
  BackboneWeightsRecord,
  BlobRecord,
  CheckpointRecord,
  DatasetVersionRecord,
  EmbeddingRecord,
  ImportSession,
  LabelSource,
  MetaRecord,
  ModelVersionRecord,
  ModelWeightsRecord,
  MonitorReferenceRecord,
  PipelineRecord,
  PredictionInputRecord,
  PredictionLogRecord,
  PrelabelRecord,
  PreprocessedRecord,
  ProjectRecord,
  SampleRecord,
  Split,
  StepCacheRecord,
  StudyRecord,
  TrainRunRecord,
  TrialRecord,
} from '../contracts/records';
import type { EpochMetrics, RunConfig, VersionMeta, WeightsBlob } from '../contracts/training';
import type { PipelineRunRecord, StepKeyParts, StepRun } from '../contracts/pipeline';

const SPLITS: Split[] = ['unassigned', 'train', 'val', 'test'];
const num = (v: unknown, fallback = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const str = (v: unknown, fallback = '') => (typeof v === 'string' ? v : fallback);

export function restoreProject(raw: unknown): ProjectRecord | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Partial<ProjectRecord>;
  if (typeof r.id !== 'string' || !r.id) return null;
  return {
    id: r.id,
    name: str(r.name, 'Untitled project') || 'Untitled project',
    kind: r.kind === 'demo' ? 'demo' : 'user',
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt, num(r.createdAt)),
    sampleCount: Math.max(0, num(r.sampleCount)),
    bytes: Math.max(0, num(r.bytes)),
    labels: Array.isArray(r.labels) ? r.labels.filter((l): l is string => typeof l === 'string') : [],
  };
}

/** Label sources written before v4 had no `accepted` on model sources: those were people's choices. */
export function restoreLabelSource(raw: unknown): LabelSource | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (r.kind === 'folder' || r.kind === 'csv' || r.kind === 'human') return { kind: r.kind };
  if (r.kind === 'model' && typeof r.versionId === 'string') {
    return { kind: 'model', versionId: r.versionId, confidence: num(r.confidence), accepted: r.accepted === 'auto' ? 'auto' : 'human' };
  }
  return null;
}

/** Returns null for a record too damaged to show; the caller lists it as damaged. */
export function restoreSample(raw: unknown): SampleRecord | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Partial<SampleRecord>;
  if (typeof r.projectId !== 'string' || typeof r.id !== 'string' || !/^[0-9a-f]{64}$/.test(r.id)) return null;
  return {
    projectId: r.projectId,
    id: r.id,
    fileName: str(r.fileName, r.id.slice(0, 12)),
    path: str(r.path, str(r.fileName)),
    label: typeof r.label === 'string' && r.label ? r.label : null,
    labelSource: restoreLabelSource(r.labelSource),
    labeledAt: typeof r.labeledAt === 'number' ? r.labeledAt : null,
    width: num(r.width),
    height: num(r.height),
    mime: str(r.mime, 'application/octet-stream'),
    bytes: num(r.bytes),
    split: SPLITS.includes(r.split as Split) ? (r.split as Split) : 'unassigned',
    addedAt: num(r.addedAt),
    importId: str(r.importId),
    flags: Array.isArray(r.flags) ? r.flags.filter((f) => f === 'truncated' || f === 'conflict') : [],
    ...(Array.isArray(r.conflictLabels) ? { conflictLabels: r.conflictLabels.filter((l) => typeof l === 'string') } : {}),
  };
}

export function restoreImportSession(raw: unknown): ImportSession | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Partial<ImportSession>;
  if (typeof r.id !== 'string' || typeof r.projectId !== 'string') return null;
  const states = ['running', 'complete', 'cancelled', 'failed'] as const;
  return {
    id: r.id,
    projectId: r.projectId,
    source: r.source ?? { kind: 'files', name: 'unknown', fileCount: 0 },
    state: states.includes(r.state as never) ? (r.state as ImportSession['state']) : 'running',
    startedAt: num(r.startedAt),
    endedAt: typeof r.endedAt === 'number' ? r.endedAt : null,
    imported: num(r.imported),
    duplicates: num(r.duplicates),
    conflicts: Array.isArray(r.conflicts) ? r.conflicts : [],
    truncated: Array.isArray(r.truncated) ? r.truncated : [],
    skipped: Array.isArray(r.skipped) ? r.skipped : [],
    ignored: num(r.ignored),
    message: typeof r.message === 'string' ? r.message : null,
  };
}

/** Null when the record cannot describe a usable backbone (bad shape or size); it is then not listed. */
export function restoreBackbone(raw: unknown): BackboneRecord | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Partial<BackboneRecord>;
  if (typeof r.id !== 'string' || !r.id) return null;
  const shape = Array.isArray(r.inputShape) ? r.inputShape : [];
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) return null;
  if (!Number.isInteger(r.embeddingSize) || (r.embeddingSize as number) < 1) return null;
  const sources = ['zip', 'folder', 'url', 'catalog'] as const;
  const hex = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  const files = Array.isArray(r.files)
    ? r.files
        .filter((f) => f && typeof f.path === 'string' && Number.isInteger(f.bytes) && hex(f.sha256))
        .map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }))
    : [];
  return {
    id: r.id,
    name: str(r.name, 'Backbone') || 'Backbone',
    format: r.format === 'graph-model' ? 'graph-model' : 'layers-model',
    inputShape: shape as [number, number, number],
    embeddingSize: r.embeddingSize as number,
    ...(typeof r.outputNode === 'string' ? { outputNode: r.outputNode } : {}),
    normalization: r.normalization === '-1..1' ? '-1..1' : '0..1',
    createdAt: num(r.createdAt),
    source: sources.includes(r.source as never) ? (r.source as BackboneRecord['source']) : 'zip',
    ...(typeof r.url === 'string' ? { url: r.url } : {}),
    ...(typeof r.bytes === 'number' ? { bytes: r.bytes } : {}),
    ...(hex(r.sha256) ? { sha256: r.sha256 } : {}),
    ...(files.length ? { files } : {}),
    ...(typeof r.catalogId === 'string' ? { catalogId: r.catalogId } : {}),
    ...(typeof r.license === 'string' ? { license: r.license } : {}),
    ...(typeof r.outputLayer === 'string' && r.outputLayer ? { outputLayer: r.outputLayer } : {}),
    ...(r.pooling === 'avg' || r.pooling === 'flatten' ? { pooling: r.pooling } : {}),
  };
}

// ---- The other stores: refuse a record whose keys or payload are unusable, repair what newer
// code added or a damaged write lost, and keep the rest as stored (the spread keeps fields this
// version does not know, so a newer tab's records survive an older tab reading them).

type Obj = Record<string, unknown>;
const obj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const id = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const strOrNull = (v: unknown) => (typeof v === 'string' ? v : null);
const numOrNull = (v: unknown) => (typeof v === 'number' ? v : null);
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const bytes = (v: unknown): v is ArrayBuffer => v instanceof ArrayBuffer;
const oneOf = <T extends string>(v: unknown, allowed: readonly T[], fallback: T): T => (allowed.includes(v as T) ? (v as T) : fallback);

/** Originals and thumbnails: bytes that are not bytes cannot be shown or decoded. */
export function restoreBlob(raw: unknown): BlobRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.id) || !bytes(raw.data)) return null;
  return { ...(raw as Obj & BlobRecord), mime: str(raw.mime, 'application/octet-stream') };
}

export function restoreMeta(raw: unknown): MetaRecord | null {
  if (!obj(raw) || !id(raw.key)) return null;
  return { key: raw.key, value: raw.value };
}

export function restorePreprocessed(raw: unknown): PreprocessedRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.id) || typeof raw.configHash !== 'string' || !bytes(raw.data)) return null;
  return raw as Obj & PreprocessedRecord;
}

const RUN_STATES = ['running', 'completed', 'stopped', 'diverged', 'failed', 'interrupted', 'trained'] as const;

/** A run without its settings cannot be resumed or shown; older runs lack `labels` and newer settings (filled by withDefaults where used). */
export function restoreRun(raw: unknown): TrainRunRecord | null {
  if (!obj(raw) || !id(raw.id) || !id(raw.projectId) || !obj(raw.config) || !obj(raw.config.settings)) return null;
  const config = raw.config as Obj & RunConfig;
  return {
    ...(raw as Obj & TrainRunRecord),
    config: { ...config, labels: strings(config.labels) },
    state: oneOf(raw.state, RUN_STATES, 'interrupted'),
    createdAt: num(raw.createdAt),
    updatedAt: num(raw.updatedAt, num(raw.createdAt)),
    history: list<EpochMetrics>(raw.history).filter(obj),
    checkpointEpoch: Math.max(0, num(raw.checkpointEpoch)),
    backend: str(raw.backend, 'unknown'),
    adapter: strOrNull(raw.adapter),
    message: strOrNull(raw.message),
    versionId: strOrNull(raw.versionId),
  };
}

const weightsBlob = (v: unknown): v is WeightsBlob => obj(v) && Array.isArray(v.specs) && bytes(v.data);

/** A checkpoint whose weights are not a packed blob cannot be restored into a model: refused (the run restarts from scratch). */
export function restoreCheckpoint(raw: unknown): CheckpointRecord | null {
  if (!obj(raw) || !id(raw.runId) || !weightsBlob(raw.weights)) return null;
  const best =
    obj(raw.best) && typeof raw.best.epoch === 'number' && weightsBlob(raw.best.weights)
      ? { epoch: raw.best.epoch, weights: raw.best.weights }
      : null;
  return {
    ...(raw as Obj & CheckpointRecord),
    epoch: num(raw.epoch),
    optimizer: weightsBlob(raw.optimizer) ? raw.optimizer : null,
    savedAt: num(raw.savedAt),
    ...(raw.best === undefined ? {} : { best }),
  };
}

/** A version whose metadata lacks its class names cannot predict anything readable: refused. */
export function restoreVersion(raw: unknown): ModelVersionRecord | null {
  if (!obj(raw) || !id(raw.id) || !id(raw.projectId) || !obj(raw.meta) || !Array.isArray(raw.meta.labels)) return null;
  return {
    ...(raw as Obj & ModelVersionRecord),
    number: num(raw.number),
    createdAt: num(raw.createdAt),
    runId: strOrNull(raw.runId),
    parentId: strOrNull(raw.parentId),
    meta: { ...(raw.meta as Obj & VersionMeta), labels: strings(raw.meta.labels) },
  };
}

export function restoreModelWeights(raw: unknown): ModelWeightsRecord | null {
  if (!obj(raw) || !id(raw.versionId) || !Array.isArray(raw.weightSpecs) || !bytes(raw.weightData)) return null;
  return raw as Obj & ModelWeightsRecord;
}

export function restoreAlias(raw: unknown): AliasRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.alias)) return null;
  const history = list<unknown>(raw.history)
    .filter(obj)
    .map((h) => ({ versionId: strOrNull(h.versionId), at: num(h.at) }));
  return { projectId: raw.projectId, alias: raw.alias, versionId: strOrNull(raw.versionId), history };
}

export function restoreBackboneWeights(raw: unknown): BackboneWeightsRecord | null {
  if (!obj(raw) || !id(raw.id) || !Array.isArray(raw.weightSpecs) || !bytes(raw.weightData)) return null;
  return raw as Obj & BackboneWeightsRecord;
}

export function restoreEmbedding(raw: unknown): EmbeddingRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.backboneId) || !id(raw.id) || !bytes(raw.data)) return null;
  return { ...(raw as Obj & EmbeddingRecord), configHash: str(raw.configHash) };
}

/** A pre-label without its probabilities or classes cannot be offered: refused. */
export function restorePrelabel(raw: unknown): PrelabelRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.id) || !id(raw.versionId) || !bytes(raw.probs) || !Array.isArray(raw.classes)) return null;
  return {
    ...(raw as Obj & PrelabelRecord),
    classes: strings(raw.classes),
    embedding: bytes(raw.embedding) ? raw.embedding : null,
    predicted: str(raw.predicted),
    confidence: num(raw.confidence),
    rejected: raw.rejected === true,
    createdAt: num(raw.createdAt),
  };
}

const STUDY_STATES = ['running', 'paused', 'done', 'failed'] as const;

/** A study without its plan or base settings cannot run or be shown: refused. */
export function restoreStudy(raw: unknown): StudyRecord | null {
  if (!obj(raw) || !id(raw.id) || !id(raw.projectId) || !obj(raw.plan) || !Array.isArray(raw.plan.space) || !obj(raw.baseSettings))
    return null;
  return {
    ...(raw as Obj & StudyRecord),
    name: str(raw.name, 'Study') || 'Study',
    state: oneOf(raw.state, STUDY_STATES, 'paused'),
    createdAt: num(raw.createdAt),
    updatedAt: num(raw.updatedAt, num(raw.createdAt)),
    elapsedMs: Math.max(0, num(raw.elapsedMs)),
    message: strOrNull(raw.message),
    registeredVersionId: strOrNull(raw.registeredVersionId),
  };
}

const TRIAL_STATES = ['running', 'complete', 'pruned', 'failed', 'interrupted'] as const;

export function restoreTrial(raw: unknown): TrialRecord | null {
  if (!obj(raw) || !id(raw.studyId) || !Number.isInteger(raw.number) || !obj(raw.params)) return null;
  return {
    ...(raw as Obj & TrialRecord),
    state: oneOf(raw.state, TRIAL_STATES, 'interrupted'),
    history: list<EpochMetrics>(raw.history).filter(obj),
    // NaN is a real objective value (a diverged trial): numbers are kept as they are.
    values: list<unknown>(raw.values).filter((v): v is number => typeof v === 'number'),
    value: numOrNull(raw.value),
    message: strOrNull(raw.message),
    startedAt: num(raw.startedAt),
    durationMs: num(raw.durationMs),
    backend: str(raw.backend, 'unknown'),
    runId: strOrNull(raw.runId),
    tensorsBefore: numOrNull(raw.tensorsBefore),
    tensorsAfter: numOrNull(raw.tensorsAfter),
  };
}

/** A snapshot whose packed items do not line up cannot be unpacked: refused. */
export function restoreDatasetVersion(raw: unknown): DatasetVersionRecord | null {
  if (!obj(raw) || !id(raw.id) || !id(raw.projectId) || !obj(raw.preprocess)) return null;
  if (!Array.isArray(raw.ids) || !Array.isArray(raw.labelIndex) || !Array.isArray(raw.splitCode) || !Array.isArray(raw.classes))
    return null;
  if (raw.labelIndex.length !== raw.ids.length || raw.splitCode.length !== raw.ids.length) return null;
  return {
    ...(raw as Obj & DatasetVersionRecord),
    number: num(raw.number),
    createdAt: num(raw.createdAt),
    origin: obj(raw.origin) ? (raw.origin as DatasetVersionRecord['origin']) : { kind: 'manual' },
  };
}

/** A pipeline without a definition (with steps) cannot be planned or run: refused. */
export function restorePipeline(raw: unknown): PipelineRecord | null {
  if (!obj(raw) || !id(raw.id) || !id(raw.projectId) || !obj(raw.definition) || !Array.isArray(raw.definition.steps)) return null;
  return {
    ...(raw as Obj & PipelineRecord),
    createdAt: num(raw.createdAt),
    updatedAt: num(raw.updatedAt, num(raw.createdAt)),
    labeledAtLastRun: numOrNull(raw.labeledAtLastRun),
    lastRunAt: numOrNull(raw.lastRunAt),
  };
}

const PIPELINE_RUN_STATES = ['running', 'succeeded', 'rejected', 'failed', 'cancelled', 'interrupted'] as const;

export function restorePipelineRun(raw: unknown): PipelineRunRecord | null {
  if (!obj(raw) || !id(raw.id) || !id(raw.pipelineId) || !id(raw.projectId)) return null;
  const trigger = obj(raw.trigger) ? raw.trigger : {};
  return {
    ...(raw as Obj & PipelineRunRecord),
    number: num(raw.number),
    trigger: {
      kind: oneOf(trigger.kind, ['manual', 'new-labels', 'drift-alert', 'resume'] as const, 'manual'),
      detail: str(trigger.detail),
    },
    state: oneOf(raw.state, PIPELINE_RUN_STATES, 'interrupted'),
    createdAt: num(raw.createdAt),
    updatedAt: num(raw.updatedAt, num(raw.createdAt)),
    steps: list<StepRun>(raw.steps).filter(obj),
    keys: list<StepKeyParts>(raw.keys).filter(obj),
    message: strOrNull(raw.message),
  };
}

export function restoreStepCache(raw: unknown): StepCacheRecord | null {
  if (!obj(raw) || !id(raw.key) || !id(raw.projectId) || !obj(raw.outputs)) return null;
  return { ...(raw as Obj & StepCacheRecord), kind: str(raw.kind), createdAt: num(raw.createdAt) };
}

export function restorePredictionLog(raw: unknown): PredictionLogRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.id) || !id(raw.versionId) || !obj(raw.stats)) return null;
  return {
    ...(raw as Obj & PredictionLogRecord),
    at: num(raw.at),
    source: raw.source === 'batch' ? 'batch' : 'playground',
    fileName: str(raw.fileName),
    predicted: str(raw.predicted),
    confidence: num(raw.confidence),
    latencyMs: num(raw.latencyMs),
    sketch: list<unknown>(raw.sketch).filter((v): v is number => typeof v === 'number'),
    inputId: strOrNull(raw.inputId),
    inputBytes: num(raw.inputBytes),
    sentToLabeling: raw.sentToLabeling === true,
  };
}

export function restorePredictionInput(raw: unknown): PredictionInputRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.id) || !bytes(raw.data)) return null;
  return { ...(raw as Obj & PredictionInputRecord), fileName: str(raw.fileName), mime: str(raw.mime, 'application/octet-stream') };
}

/** Drift is measured against this: a reference without its statistics is refused (the next check rebuilds it). */
export function restoreMonitorReference(raw: unknown): MonitorReferenceRecord | null {
  if (!obj(raw) || !id(raw.versionId) || !id(raw.projectId) || !obj(raw.stats) || !Array.isArray(raw.sketches)) return null;
  return {
    ...(raw as Obj & MonitorReferenceRecord),
    createdAt: num(raw.createdAt),
    count: num(raw.count),
    classCounts: obj(raw.classCounts) ? (raw.classCounts as Record<string, number>) : {},
  };
}

export function restoreAlert(raw: unknown): AlertRecord | null {
  if (!obj(raw) || !id(raw.projectId) || !id(raw.id) || !obj(raw.report)) return null;
  return {
    ...(raw as Obj & AlertRecord),
    at: num(raw.at),
    kind: 'drift',
    versionId: str(raw.versionId),
    message: str(raw.message),
    acknowledged: raw.acknowledged === true,
  };
}

/** Keeps the records that restore, in order (a list reader's helper). */
export function restoreAll<T>(raw: readonly unknown[], restore: (r: unknown) => T | null): T[] {
  const out: T[] = [];
  for (const r of raw) {
    const x = restore(r);
    if (x !== null) out.push(x);
  }
  return out;
}

/** A get reader's helper: undefined for a missing or refused record. */
export const restoreOne = <T>(raw: unknown, restore: (r: unknown) => T | null): T | undefined =>
  raw === undefined ? undefined : (restore(raw) ?? undefined);
