// The IndexedDB schema: record types, store layout and ordered migrations.
// Adding a store or index: bump DB_VERSION and append a migration (see db/README.md).
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { ImageStats } from '../lib/monitor/image-stats';

export const DB_NAME = 'trainyard';
export const DB_VERSION = 5;

export type Split = 'unassigned' | 'train' | 'val' | 'test';

export type LabelSource =
  | { kind: 'folder' | 'csv' | 'human' }
  /** A model's pre-label that a person accepted ('human') or that passed the auto-accept threshold ('auto'). */
  | { kind: 'model'; versionId: string; confidence: number; accepted: 'human' | 'auto' };

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
  /** webcam: frames captured in the Data stage (src/views/data/WebcamCapture.svelte). */
  kind: 'folder' | 'files' | 'zip' | 'demo' | 'webcam';
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
  /** Set on the returned report only: the closing record could not be written (disk full). */
  closeUnsaved?: boolean;
}

/** How images become model input. Hashed into the preprocessed-cache key. */
export interface PreprocessConfig {
  inputSize: number;
  channels: 1 | 3;
  /** stretch: ignore aspect; center-crop: fill then crop; pad: fit inside, pad with the background. */
  resize: 'stretch' | 'center-crop' | 'pad';
  /** Transparent pixels are composited on this colour before anything else. */
  background: [number, number, number];
}

export interface PreprocessedRecord {
  /** Key: [projectId, preprocessing config hash, sampleId], so a project's cache deletes as one range. */
  configHash: string;
  projectId: string;
  id: string;
  /** uint8 pixels, inputSize x inputSize x channels, row-major. */
  data: ArrayBuffer;
}

/** 'trained': a tuning trial's training finished; evaluation and a version come only on "register best". */
export type RunState = 'running' | 'completed' | 'stopped' | 'diverged' | 'failed' | 'interrupted' | 'trained';

export interface EpochMetrics {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
}

export interface TrainRunRecord {
  id: string;
  projectId: string;
  state: RunState;
  createdAt: number;
  updatedAt: number;
  /** Everything needed to replay or resume the run (architecture, preprocessing, hyperparameters, seed). */
  config: unknown;
  history: EpochMetrics[];
  /** Last epoch whose checkpoint is stored (0 = none). */
  checkpointEpoch: number;
  backend: string;
  adapter: string | null;
  message: string | null;
  versionId: string | null;
}

export interface CheckpointRecord {
  runId: string;
  epoch: number;
  weights: unknown;
  optimizer: unknown | null;
  savedAt: number;
  /**
   * With early stopping: the best epoch so far (1-based) and its weights, when that is not this
   * checkpoint's epoch; the run ends on them. Absent in older checkpoints (the last epoch counts).
   */
  best?: { epoch: number; weights: unknown } | null;
}

export interface ModelVersionRecord {
  id: string;
  projectId: string;
  /** 1, 2, 3… per project, for people. */
  number: number;
  createdAt: number;
  runId: string | null;
  parentId: string | null;
  /** The rest is the version's immutable metadata (see lib/registry). */
  meta: Record<string, unknown>;
}

export interface ModelWeightsRecord {
  versionId: string;
  /** TF.js layers-format artifacts: model topology JSON and weight specs, weight bytes. */
  modelTopology: unknown;
  weightSpecs: unknown;
  weightData: ArrayBuffer;
}

export interface AliasRecord {
  projectId: string;
  alias: string;
  versionId: string | null;
  history: Array<{ versionId: string | null; at: number }>;
}

/** A pretrained feature extractor for transfer learning. Metadata only: weights live in `backboneWeights`. */
export interface BackboneRecord {
  id: string;
  name: string;
  format: 'layers-model' | 'graph-model';
  /** [height, width, channels] of one input image. */
  inputShape: [number, number, number];
  embeddingSize: number;
  /** Graph models: the output node whose value is the embedding (the model's first output by default). */
  outputNode?: string;
  /** The input range the backbone was trained on: pixels / 255, or scaled to [-1, 1] (MobileNet, Teachable Machine). */
  normalization: '0..1' | '-1..1';
  createdAt: number;
  source: 'zip' | 'folder' | 'url' | 'catalog';
  url?: string;
  /** Total weight bytes, for display. */
  bytes?: number;
  /** SHA-256 (hex) of the weight bytes in manifest order; carried into versions trained on it. */
  sha256?: string;
  /** model.json and each weight file as received, with their SHA-256. */
  files?: Array<{ path: string; bytes: number; sha256: string }>;
  /** Catalog downloads: the entry (lib/ml/backbone-catalog.ts) and its licence. */
  catalogId?: string;
  license?: string;
  /** Layers models cut at a named layer (as Teachable Machine cuts MobileNet) and pooled to a vector. */
  outputLayer?: string;
  pooling?: 'avg' | 'flatten';
}

export interface BackboneWeightsRecord {
  id: string;
  /** Layers models: the Keras topology; graph models: the GraphDef JSON (model.json's modelTopology). */
  modelTopology: unknown;
  /** Graph models only: signature and initializer, which tf.loadGraphModel reads beside the topology. */
  signature?: unknown;
  modelInitializer?: unknown;
  weightSpecs: unknown;
  weightData: ArrayBuffer;
}

export interface EmbeddingRecord {
  /** Key: [projectId, backboneId, sampleId], so a project's cache deletes as one range. */
  projectId: string;
  backboneId: string;
  id: string;
  /** Hash of the preprocessing that produced it: a different resize policy means recompute. */
  configHash: string;
  /** float32, embeddingSize values. */
  data: ArrayBuffer;
}

/** One model version's prediction for one sample, made to help a person label (never a label itself). */
export interface PrelabelRecord {
  projectId: string;
  id: string;
  versionId: string;
  /** The version's class names, in output order (probs are indexed by them). */
  classes: string[];
  /** float32 class probabilities. */
  probs: ArrayBuffer;
  /** float32 penultimate-layer features: diversity sampling and near-duplicate search. */
  embedding: ArrayBuffer | null;
  predicted: string;
  confidence: number;
  /** A person rejected this pre-label: it is no longer offered, the sample stays unlabeled. */
  rejected: boolean;
  createdAt: number;
}

export type StudyState = 'running' | 'paused' | 'done' | 'failed';

export interface StudyRecord {
  id: string;
  projectId: string;
  name: string;
  /** lib/tune StudyPlan: search space, strategy, objective, budget, pruner, seed. */
  plan: unknown;
  /** The training settings every trial starts from; the trial's parameters override them. */
  baseSettings: unknown;
  state: StudyState;
  createdAt: number;
  updatedAt: number;
  /** Time spent running trials, summed over sessions (the wall-time budget counts this). */
  elapsedMs: number;
  message: string | null;
  /** Set by "register best". */
  registeredVersionId: string | null;
}

export type TrialRecordState = 'running' | 'complete' | 'pruned' | 'failed' | 'interrupted';

export interface TrialRecord {
  studyId: string;
  number: number;
  params: Record<string, number | string | boolean>;
  /** The full training settings the trial ran with (base settings + params + its seed): replayable. */
  settings: unknown;
  state: TrialRecordState;
  history: EpochMetrics[];
  /** Objective after each epoch. */
  values: number[];
  value: number | null;
  message: string | null;
  startedAt: number;
  durationMs: number;
  backend: string;
  /** The training run that holds this trial's final checkpoint (kept for the best trial only). */
  runId: string | null;
  tensorsBefore: number | null;
  tensorsAfter: number | null;
}

/**
 * An immutable dataset snapshot: which samples, with which labels and splits, under which
 * preprocessing and augmentation. Its id is the SHA-256 of that content, so an unchanged dataset
 * is the same version (pipeline step caching relies on this).
 */
export interface DatasetVersionRecord {
  id: string;
  projectId: string;
  /** 1, 2, 3… per project, for people. */
  number: number;
  createdAt: number;
  /** Compact items (lib/dataset packItems): ids, an index into `classes` and a split code each. */
  ids: string[];
  labelIndex: number[];
  splitCode: number[];
  classes: string[];
  preprocess: PreprocessConfig;
  /** lib/augment AugmentationSpec. */
  augmentation: unknown;
  /** Where it came from: a pipeline run or a person ("Snapshot now"). */
  origin: { kind: 'pipeline'; pipelineId: string; runId: string } | { kind: 'manual' };
}

/** A pipeline definition (lib/pipeline PipelineDefinition) and its trigger bookkeeping. */
export interface PipelineRecord {
  id: string;
  projectId: string;
  definition: unknown;
  createdAt: number;
  updatedAt: number;
  /** Labeled-sample count when the last run started: the "N new labels" trigger counts from here. */
  labeledAtLastRun: number | null;
  lastRunAt: number | null;
}

/** One run of a pipeline: lib/pipeline PipelineRunRecord (steps with states, logs and outputs). */
export interface PipelineRunStoreRecord {
  id: string;
  pipelineId: string;
  projectId: string;
  number: number;
  state: string;
  createdAt: number;
  updatedAt: number;
  [key: string]: unknown;
}

/** A step's outputs under its cache key (hash of its settings and inputs). */
export interface StepCacheRecord {
  key: string;
  projectId: string;
  kind: string;
  outputs: Record<string, unknown>;
  createdAt: number;
}

/** The cheap image statistics logged with each prediction (lib/monitor imageStats). */
export type PredictionStats = ImageStats;

/** One prediction made through the playground or batch prediction, for monitoring. */
export interface PredictionLogRecord {
  projectId: string;
  /** Time-ordered: a zero-padded base-36 timestamp and a random suffix, so a key range reads in time order. */
  id: string;
  at: number;
  versionId: string;
  source: 'playground' | 'batch';
  fileName: string;
  predicted: string;
  confidence: number;
  latencyMs: number;
  stats: PredictionStats;
  /** lib/monitor embeddingSketch of the penultimate-layer features. */
  sketch: number[];
  /** SHA-256 of the image when its bytes are kept in `predictionInputs` (for "send to labeling"). */
  inputId: string | null;
  inputBytes: number;
  /** Set when the image was sent to the labeling queue. */
  sentToLabeling: boolean;
}

export interface PredictionInputRecord {
  projectId: string;
  id: string;
  fileName: string;
  mime: string;
  data: ArrayBuffer;
}

/** What a version's training data looked like: the reference drift is measured against. */
export interface MonitorReferenceRecord {
  versionId: string;
  projectId: string;
  createdAt: number;
  count: number;
  stats: Record<keyof PredictionStats, number[]>;
  sketches: number[][];
  /** Training-split images per class. */
  classCounts: Record<string, number>;
}

export interface AlertRecord {
  projectId: string;
  id: string;
  at: number;
  kind: 'drift';
  versionId: string;
  /** lib/monitor DriftReport, plus the log ids it covered. */
  report: unknown;
  message: string;
  acknowledged: boolean;
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
  pipelineRuns: { key: string; value: PipelineRunStoreRecord; indexes: { byProject: string; byPipeline: string } };
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
