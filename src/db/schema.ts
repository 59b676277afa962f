// The IndexedDB schema: store layout and ordered migrations. The record types are contracts
// (src/contracts/records.ts); records read back go through src/db/restore.ts.
// Adding a store or index: bump DB_VERSION and append a migration (see db/README.md).
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
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
  StepCacheRecord,
  StudyRecord,
  TrainRunRecord,
  TrialRecord,
} from '../contracts/records';
import type { PipelineRunRecord } from '../contracts/pipeline';

export const DB_NAME = 'trainyard';
export const DB_VERSION = 5;

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
  meta: { key: string; value: MetaRecord };
  preprocessed: { key: [string, string, string]; value: PreprocessedRecord };
  runs: { key: string; value: TrainRunRecord; indexes: { byProject: string } };
  checkpoints: { key: string; value: CheckpointRecord };
  models: { key: string; value: ModelVersionRecord; indexes: { byProject: string } };
  modelWeights: { key: string; value: ModelWeightsRecord };
  aliases: { key: [string, string]; value: AliasRecord };
  backbones: { key: string; value: BackboneRecord };
  backboneWeights: { key: string; value: BackboneWeightsRecord };
  embeddings: { key: [string, string, string]; value: EmbeddingRecord; indexes: { byBackbone: string } };
  prelabels: { key: [string, string]; value: PrelabelRecord };
  studies: { key: string; value: StudyRecord; indexes: { byProject: string } };
  trials: { key: [string, number]; value: TrialRecord };
  datasetVersions: { key: string; value: DatasetVersionRecord; indexes: { byProject: string } };
  pipelines: { key: string; value: PipelineRecord; indexes: { byProject: string } };
  pipelineRuns: { key: string; value: PipelineRunRecord; indexes: { byProject: string; byPipeline: string } };
  stepCache: { key: string; value: StepCacheRecord; indexes: { byProject: string } };
  predictionLogs: { key: [string, string]; value: PredictionLogRecord };
  predictionInputs: { key: [string, string]; value: PredictionInputRecord };
  monitorReferences: { key: string; value: MonitorReferenceRecord; indexes: { byProject: string } };
  alerts: { key: [string, string]; value: AlertRecord };
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
  // v2: training. Metadata and weights of model versions live apart (cheap listing, clean rollback).
  (db) => {
    db.createObjectStore('preprocessed', { keyPath: ['projectId', 'configHash', 'id'] });
    db.createObjectStore('runs', { keyPath: 'id' }).createIndex('byProject', 'projectId');
    db.createObjectStore('checkpoints', { keyPath: 'runId' });
    db.createObjectStore('models', { keyPath: 'id' }).createIndex('byProject', 'projectId');
    db.createObjectStore('modelWeights', { keyPath: 'versionId' });
    db.createObjectStore('aliases', { keyPath: ['projectId', 'alias'] });
  },
  // v3: transfer learning. Backbones are shared by all projects; their weights live apart (cheap
  // listing), and cached embeddings are per project and backbone (byBackbone: delete a backbone's cache).
  (db) => {
    db.createObjectStore('backbones', { keyPath: 'id' });
    db.createObjectStore('backboneWeights', { keyPath: 'id' });
    db.createObjectStore('embeddings', { keyPath: ['projectId', 'backboneId', 'id'] }).createIndex('byBackbone', 'backboneId');
  },
  // v4: labeling and tuning. Pre-labels sit beside samples (same key), so a sample's label is never
  // touched by a prediction; trials are keyed by (study, number) so a study's trials read as one range.
  (db) => {
    db.createObjectStore('prelabels', { keyPath: ['projectId', 'id'] });
    db.createObjectStore('studies', { keyPath: 'id' }).createIndex('byProject', 'projectId');
    db.createObjectStore('trials', { keyPath: ['studyId', 'number'] });
  },
  // v5: the pipeline cycle. Dataset versions are content-addressed; prediction logs, kept inputs and
  // alerts are keyed (project, time-ordered id) so a project's logs read, prune and delete as ranges.
  (db) => {
    db.createObjectStore('datasetVersions', { keyPath: 'id' }).createIndex('byProject', 'projectId');
    db.createObjectStore('pipelines', { keyPath: 'id' }).createIndex('byProject', 'projectId');
    const runs = db.createObjectStore('pipelineRuns', { keyPath: 'id' });
    runs.createIndex('byProject', 'projectId');
    runs.createIndex('byPipeline', 'pipelineId');
    db.createObjectStore('stepCache', { keyPath: 'key' }).createIndex('byProject', 'projectId');
    db.createObjectStore('predictionLogs', { keyPath: ['projectId', 'id'] });
    db.createObjectStore('predictionInputs', { keyPath: ['projectId', 'id'] });
    db.createObjectStore('monitorReferences', { keyPath: 'versionId' }).createIndex('byProject', 'projectId');
    db.createObjectStore('alerts', { keyPath: ['projectId', 'id'] });
  },
];
