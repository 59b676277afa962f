// The IndexedDB schema: record types, store layout and ordered migrations.
// Adding a store or index: bump DB_VERSION and append a migration (see db/README.md).
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';

export const DB_NAME = 'trainyard';
export const DB_VERSION = 1;

export type Split = 'unassigned' | 'train' | 'val' | 'test';

export type LabelSource =
  | { kind: 'folder' | 'csv' | 'human' }
  | { kind: 'model'; versionId: string; confidence: number };

export type SampleFlag = 'truncated' | 'conflict';

export interface ProjectRecord {
  id: string;
  name: string;
  kind: 'user' | 'demo';
  createdAt: number;
  updatedAt: number;
  /** Maintained in the same transaction as sample writes, so listing projects stays cheap. */
  sampleCount: number;
  bytes: number;
  labels: string[];
}

export interface SampleRecord {
  projectId: string;
  /** SHA-256 of the original bytes, hex. */
  id: string;
  fileName: string;
  path: string;
  label: string | null;
  labelSource: LabelSource | null;
  labeledAt: number | null;
  width: number;
  height: number;
  mime: string;
  bytes: number;
  split: Split;
  addedAt: number;
  importId: string;
  flags: SampleFlag[];
  /** Every label this exact image arrived with, when they disagree. */
  conflictLabels?: string[];
}

export interface BlobRecord {
  projectId: string;
  id: string;
  mime: string;
  data: ArrayBuffer;
}

export type ImportState = 'running' | 'complete' | 'cancelled' | 'failed';

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ImportSourceInfo {
  kind: 'folder' | 'files' | 'zip' | 'demo';
  name: string;
  fileCount: number;
}

export interface ImportSession {
  id: string;
  projectId: string;
  source: ImportSourceInfo;
  state: ImportState;
  startedAt: number;
  endedAt: number | null;
  imported: number;
  duplicates: number;
  conflicts: string[];
  truncated: string[];
  skipped: SkippedFile[];
  ignored: number;
  message: string | null;
}

export interface TrainyardSchema extends DBSchema {
  projects: { key: string; value: ProjectRecord };
  samples: {
    key: [string, string];
    value: SampleRecord;
    indexes: { byProject: string; byImport: string };
  };
  originals: { key: [string, string]; value: BlobRecord; indexes: { byProject: string } };
  thumbnails: { key: [string, string]; value: BlobRecord; indexes: { byProject: string } };
  imports: { key: string; value: ImportSession; indexes: { byProject: string } };
  meta: { key: string; value: { key: string; value: unknown } };
}

export type TrainyardDB = IDBPDatabase<TrainyardSchema>;
type UpgradeTx = IDBPTransaction<TrainyardSchema, StoreNames<TrainyardSchema>[], 'versionchange'>;

/** migrations[n] upgrades a database from version n to n + 1. Never edit a shipped step. */
export const migrations: Array<(db: TrainyardDB, tx: UpgradeTx) => void> = [
  (db) => {
    db.createObjectStore('projects', { keyPath: 'id' });
    const samples = db.createObjectStore('samples', { keyPath: ['projectId', 'id'] });
    samples.createIndex('byProject', 'projectId');
    samples.createIndex('byImport', 'importId');
    db.createObjectStore('originals', { keyPath: ['projectId', 'id'] }).createIndex('byProject', 'projectId');
    db.createObjectStore('thumbnails', { keyPath: ['projectId', 'id'] }).createIndex('byProject', 'projectId');
    db.createObjectStore('imports', { keyPath: 'id' }).createIndex('byProject', 'projectId');
    db.createObjectStore('meta', { keyPath: 'key' });
  },
];
