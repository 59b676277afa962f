// Records read from disk are validated and repaired here, one restore function per type
// (Excalidraw's restore.ts habit): old or damaged shapes never reach the UI as-is.
import type { BackboneRecord, ImportSession, LabelSource, ProjectRecord, SampleRecord, Split } from '../contracts/records';

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
    ? r.files.filter((f) => f && typeof f.path === 'string' && Number.isInteger(f.bytes) && hex(f.sha256)).map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }))
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
