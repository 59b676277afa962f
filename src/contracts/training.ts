// Types only: what a training run is set up with, what it reports, and what a model version
// records about itself. The logic is in src/lib/train, src/lib/ml and workers/ml.
import type { AugmentationSpec } from './augment';
import type { BackendChoice, BackendInfo, BackendName } from './backend';
import type { Objective, Params } from './tuning';

/** How images become model input. Hashed into the preprocessed-cache key. */
export interface PreprocessConfig {
  inputSize: number;
  channels: 1 | 3;
  /** stretch: ignore aspect; center-crop: fill then crop; pad: fit inside, pad with the background. */
  resize: ResizeMode;
  /** Transparent pixels are composited on this colour before anything else. */
  background: [number, number, number];
}

export type ResizeMode = 'stretch' | 'center-crop' | 'pad';

/** A network as built (lib/ml/architectures); 'head' is the small classifier on a backbone's embeddings. */
export type ArchitectureConfig =
  | { kind: 'cnn'; inputSize: number; channels: 1 | 3; numClasses: number; dropout: number; filters?: number }
  | { kind: 'mobilenet'; inputSize: number; channels: 1 | 3; numClasses: number; dropout: number; widthMultiplier: number }
  | { kind: 'mlp'; inputSize: number; channels: 1 | 3; numClasses: number; dropout: number; hidden: number[] }
  | { kind: 'head'; embeddingSize: number; numClasses: number; dropout: number; hidden: number };
export type ArchitectureKind = ArchitectureConfig['kind'];
/** The architectures a person picks on the Train stage (a head is built for transfer runs only). */
export type SettingsArchitecture = Exclude<ArchitectureKind, 'head'>;

export type OptimizerKind = 'adam' | 'sgd' | 'rmsprop';

export interface TrainSettings {
  architecture: SettingsArchitecture;
  inputSize: number;
  channels: 1 | 3;
  resize: ResizeMode;
  widthMultiplier: number;
  hidden: number[];
  optimizer: OptimizerKind;
  learningRate: number;
  batchSize: number;
  epochs: number;
  dropout: number;
  /** SGD only: classical momentum. */
  momentum: number;
  /** On-the-fly augmentation strength for training batches (0 = off, 1 = strong); see lib/augment/spec fromStrength. */
  augmentation: number;
  /** Leave labels a model auto-accepted (above the threshold, unseen by a person) out of training. */
  excludeAutoLabels: boolean;
  /** Epochs without validation-loss improvement before stopping (the best epoch's weights are kept); 0 = off. */
  earlyStoppingPatience: number;
  seed: number;
  backend: BackendChoice;
  /**
   * WASM backend: data-parallel training threads (src/lib/ml/data-parallel). 0 or absent: this
   * thread only, until the threaded path is measured in the app (workers/train.worker.ts).
   */
  cpuThreads?: number;
  /** Transfer learning: an imported backbone's id (its embeddings feed a small head), or null to train from scratch. */
  backboneId: string | null;
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

/**
 * Where a version came from, recorded in its metadata: a tuning study's best trial, a pipeline
 * run's train step, or a training-kit job. Every field is optional: older versions lack some.
 */
export interface VersionOrigin {
  kind?: 'pipeline' | 'kit' | 'study';
  studyId?: string;
  studyName?: string;
  trialNumber?: number;
  params?: Params;
  objective?: Objective['metric'];
  direction?: 'maximize' | 'minimize';
  value?: number | null;
  pipelineId?: string;
  pipelineName?: string;
  pipelineRunId?: string;
  pipelineRunNumber?: number;
  runId?: string;
  datasetVersionId?: string;
  datasetVersionNumber?: number;
  /** Pipeline versions: the train step's cache key and the gate's and promote's fingerprints when registered. */
  trainKey?: string | null;
  fingerprints?: { gate: unknown; promote: unknown };
  gate?: Record<string, unknown> | null;
  tuning?: { studyId?: unknown; trialNumber?: unknown; params?: unknown; value?: unknown };
  /** Training-kit imports. */
  jobId?: string;
  trainedOn?: unknown;
  claimedTestAccuracy?: number | null;
  kitEpochs?: number;
  kitHistory?: unknown[];
  onnx?: unknown;
}

/** Everything needed to replay or resume a run (stored as TrainRunRecord.config). */
export interface RunConfig {
  settings: TrainSettings;
  labels: string[];
  /** Warm start ("Retrain now"): start from this version's weights where layer shapes match. */
  init?: { versionId: string };
  /** Tuning trials stop after training: no test evaluation, no version; the last checkpoint is kept. */
  trial?: boolean;
  /** Where the run came from, recorded in the version's metadata (a tuning study's best trial, a pipeline run). */
  origin?: VersionOrigin;
  /** Pipeline runs: train on this dataset version's frozen items and splits. */
  dataset?: { versionId: string };
  /** Pipeline runs: the dataset version's augmentation (overrides the strength knob in settings). */
  augmentation?: AugmentationSpec;
  /** Pipeline "evaluate" step: score the final checkpoint on the test split (RunHooks.onEvaluated), save nothing. */
  evaluateOnly?: boolean;
  /** Keep the final checkpoint after saving the version (a pipeline's cached train step may be registered again). */
  keepCheckpoint?: boolean;
  /** Pipeline train step: which pipeline run and step started this training run (to adopt it after a crash). */
  pipelineRun?: { runId: string; stepId: string };
  /** Milliseconds already spent training the checkpoint this run starts from (a registered tuning trial). */
  priorTrainMs?: number;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** Weights (or optimizer state) packed 4 bytes per value in spec order (lib/ml/checkpoint). */
export interface WeightsBlob {
  specs: WeightSpec[];
  data: ArrayBuffer;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}
export interface ConfidentMistake {
  index: number;
  predicted: number;
  confidence: number;
  trueClass: number;
}
export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  accuracy: number;
  confidence: number;
}
/** Plain JSON (arrays and numbers only): safe to structured-clone and store. */
export interface EvaluationReport {
  n: number;
  numClasses: number;
  accuracy: number;
  macroF1: number;
  logLoss: number;
  ece: number;
  confusion: number[][];
  perClass: ClassMetrics[];
  calibration: CalibrationBin[];
  mostConfidentlyWrong: ConfidentMistake[];
}

export interface VersionTimings {
  trainMs: number;
  epochs: number;
  imagesPerSecond: number;
  /** Milliseconds spent in training batches, validation passes and checkpoint snapshots (all
   *  epochs of this run), and the part of the batches' time spent waiting for data. */
  breakdown?: { trainMs: number; validationMs: number; checkpointMs: number; waitingForDataMs?: number };
}

/** The backbone a transfer version was trained on; sha256 fingerprints its weights. */
export interface VersionBackbone {
  id: string;
  name: string;
  format: string;
  embeddingSize: number;
  sha256?: string;
  catalogId?: string;
  url?: string;
}

/**
 * A model version's immutable metadata (ModelVersionRecord.meta). Trained versions carry all of
 * it; imported ones (a model zip, a training-kit job) only what they know, so the training-only
 * fields are optional.
 */
export interface VersionMeta {
  labels: string[];
  inputShape: number[];
  preprocess: PreprocessConfig;
  source: 'trained' | 'imported';
  appVersion: string;
  tfjsVersion: string;
  /** Input range: '0..1' unless recorded otherwise (transfer versions use their backbone's). */
  normalization?: '0..1' | '-1..1';
  architecture?: ArchitectureConfig;
  hyperparameters?: TrainSettings;
  seed?: number;
  datasetHash?: string;
  testIds?: string[];
  testPredicted?: number[];
  testTrue?: number[];
  splitCounts?: { train: number; val: number; test: number };
  backend?: string;
  adapter?: string | null;
  metrics?: EvaluationReport;
  history?: EpochMetrics[];
  timings?: VersionTimings;
  /** Imported versions: where from ("model.zip", "training kit job …"). */
  importedFrom?: string;
  origin?: VersionOrigin;
  /** "Retrain now": the version whose weights this one started from. */
  warmStartFrom?: string;
  /** Pipeline and kit versions: the dataset version trained on. */
  datasetVersionId?: string;
  /** Graph-backbone versions store only the head; the inference worker runs this backbone first. */
  backboneId?: string;
  backbone?: VersionBackbone;
}

export type TrainPhase = 'starting' | 'preprocessing' | 'training' | 'evaluating' | 'saving';

export interface TrainProgress {
  runId: string;
  phase: TrainPhase;
  /** Preprocessing: images done/total. Training: batches done in the epoch / batches per epoch. */
  done: number;
  total: number;
  epoch: number;
  epochs: number;
  /** Batch-level points (read every few steps, never every step). */
  batch?: { step: number; loss: number; acc: number };
  /** Set when an epoch ends. */
  epochMetrics?: EpochMetrics;
  imagesPerSecond?: number;
  /** Transfer runs, while preparing: embeddings computed now and reused from the cache. */
  embeddings?: { computed: number; reused: number };
}

export interface GpuLoss {
  kind: 'gpu-lost';
  /** What was lost, e.g. "WebGL context lost", "WebGPU device lost: destroyed". */
  reason: string;
  /** The last complete (checkpointed) epoch; a resume continues after it. */
  epoch: number;
  /** The backend that lost its GPU. */
  backend: BackendName;
}

/** How a training run ended, as the training worker reports it to the page. */
export interface TrainOutcome {
  runId: string;
  state: RunState;
  message: string | null;
  versionId: string | null;
  backend: BackendInfo;
  /**
   * Set when the run was interrupted because its GPU was lost (WebGPU device lost, WebGL context
   * lost). The dead backend has been dropped: resuming initialises a fresh one or falls back.
   */
  interruption?: GpuLoss;
}

/** Catalog backbone downloads: bytes so far and expected. */
export interface DownloadProgress {
  /** Bytes received so far (model.json and weights). */
  received: number;
  /** Bytes expected in all (model.json's size plus its declared weights), null until model.json is read. */
  total: number | null;
  /** Milliseconds since the download started. */
  elapsedMs: number;
}

export interface BatchPixelsRequest {
  projectId: string;
  configHash: string;
  inputSize: number;
  channels: number;
  ids: string[];
  /** Training batches only: the spec and this batch's seed (augmentSeed). */
  augment?: { spec: AugmentationSpec; seed: number };
}
