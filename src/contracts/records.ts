// Types only: every IndexedDB record, typed to the leaf, so idb's DBSchema (src/db/schema.ts)
// types every value read or written. Records read from disk are checked by src/db/restore.ts.
import type { AugmentationSpec } from './augment';
import type { AlertReport, ImageStats } from './monitor';
import type { PipelineDefinition, StepOutputs } from './pipeline';
import type { PreprocessConfig, RunConfig, RunState, EpochMetrics, TrainSettings, VersionMeta, WeightsBlob } from './training';
import type { Params, StudyPlan, TrialState } from './tuning';

/** TF.js's weight manifest entry (tf.io.WeightsManifestEntry), kept here so records need no TF.js types. */
export interface WeightManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  group?: 'model' | 'optimizer';
  quantization?: { scale?: number; min?: number; dtype: 'uint16' | 'uint8' | 'float16' };
}

/** A row of the `meta` store: first-run markers and settings. */
export interface MetaRecord {
  key: string;
  value: unknown;
}

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

export interface PreprocessedRecord {
  /** Key: [projectId, preprocessing config hash, sampleId], so a project's cache deletes as one range. */
  configHash: string;
  projectId: string;
  id: string;
  /** uint8 pixels, inputSize x inputSize x channels, row-major. */
  data: ArrayBuffer;
}

export interface TrainRunRecord {
  id: string;
  projectId: string;
  state: RunState;
  createdAt: number;
  updatedAt: number;
  /** Everything needed to replay or resume the run (architecture, preprocessing, hyperparameters, seed). */
  config: RunConfig;
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
  weights: WeightsBlob;
  optimizer: WeightsBlob | null;
  savedAt: number;
  /**
   * With early stopping: the best epoch so far (1-based) and its weights, when that is not this
   * checkpoint's epoch; the run ends on them. Absent in older checkpoints (the last epoch counts).
   */
  best?: { epoch: number; weights: WeightsBlob } | null;
}

export interface ModelVersionRecord {
  id: string;
  projectId: string;
  /** 1, 2, 3… per project, for people. */
  number: number;
  createdAt: number;
  runId: string | null;
  parentId: string | null;
  /** The rest is the version's immutable metadata. */
  meta: VersionMeta;
}

export interface ModelWeightsRecord {
  versionId: string;
  /** TF.js layers-format artifacts: model topology JSON (Keras's, opaque here: lib/ml/model-json-validate
   *  checks imported ones) and weight specs, weight bytes. */
  modelTopology: unknown;
  weightSpecs: WeightManifestEntry[];
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
  weightSpecs: WeightManifestEntry[];
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
  /** Search space, strategy, objective, budget, pruner, seed. */
  plan: StudyPlan;
  /** The training settings every trial starts from; the trial's parameters override them. */
  baseSettings: TrainSettings;
  state: StudyState;
  createdAt: number;
  updatedAt: number;
  /** Time spent running trials, summed over sessions (the wall-time budget counts this). */
  elapsedMs: number;
  message: string | null;
  /** Set by "register best". */
  registeredVersionId: string | null;
}

export interface TrialRecord {
  studyId: string;
  number: number;
  params: Params;
  /** The full training settings the trial ran with (base settings + params + its seed): replayable. */
  settings: TrainSettings;
  state: TrialState;
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
  augmentation: AugmentationSpec;
  /** Where it came from: a pipeline run or a person ("Snapshot now"). */
  origin: { kind: 'pipeline'; pipelineId: string; runId: string } | { kind: 'manual' };
}

/** A pipeline definition and its trigger bookkeeping. */
export interface PipelineRecord {
  id: string;
  projectId: string;
  definition: PipelineDefinition;
  createdAt: number;
  updatedAt: number;
  /** Labeled-sample count when the last run started: the "N new labels" trigger counts from here. */
  labeledAtLastRun: number | null;
  lastRunAt: number | null;
}

/** A step's outputs under its cache key (hash of its settings and inputs). */
export interface StepCacheRecord {
  key: string;
  projectId: string;
  kind: string;
  outputs: StepOutputs;
  createdAt: number;
}

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
  stats: ImageStats;
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
  stats: Record<keyof ImageStats, number[]>;
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
  report: AlertReport;
  message: string;
  acknowledged: boolean;
}
