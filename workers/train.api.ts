// The training worker's API: start, stop and resume runs; progress arrives as plain numbers.
// Imports contracts only: the page and the worker both depend on this file, never on each other.
import type { BackendInfo } from '../src/contracts/backend';
import type { BackboneRecord, StudyRecord, TrialRecord } from '../src/contracts/records';
import type { DownloadProgress, GpuLoss, TrainOutcome, TrainPhase, TrainProgress, TrainSettings } from '../src/contracts/training';
import type { StudyPlan } from '../src/contracts/tuning';
import type { DuplicatePair, LabelIssue } from '../src/contracts/labeling';
import type { PipelineEvent, PipelinePlan, PipelineRunRecord, TriggerInfo } from '../src/contracts/pipeline';

/** What the Train stage shows of a stored backbone. */
export type BackboneInfo = BackboneRecord;
export type { DownloadProgress, GpuLoss, TrainOutcome, TrainPhase, TrainProgress };

export type BackboneImportSource =
  { kind: 'zip'; file: File } | { kind: 'files'; files: File[]; paths: string[] } | { kind: 'url'; url: string };

/**
 * Faults the training worker can inject into itself, ONLY to test recovery (e2e tests). Harmless
 * in production: nothing in the app calls it.
 *  - 'lose-gpu': device.destroy() on the WebGPU backend's device, or WEBGL_lose_context.loseContext()
 *    on the WebGL backend's context (throws on the CPU backend);
 *  - 'crash': an uncaught error thrown from a timer (the page's Worker gets an 'error' event);
 *  - 'hang': a busy loop that blocks the worker's event loop for good (liveness probes time out).
 */
export type DebugFault = 'lose-gpu' | 'crash' | 'hang';

export type StudyEvent =
  { kind: 'trial-start'; trial: TrialRecord } | { kind: 'trial-end'; trial: TrialRecord } | { kind: 'progress'; progress: TrainProgress };

/** A GPU loss that paused a tuning study; `epoch` is how far the cut trial had got. */
export interface StudyGpuLoss extends GpuLoss {
  /** The trial that was cut (recorded 'interrupted'; it runs again on resume). */
  trial: number;
}

export interface StudyOutcome {
  study: StudyRecord;
  backend: BackendInfo;
  /**
   * Set when the study paused because its GPU was lost (WebGPU device lost, WebGL context lost).
   * The dead backend has been dropped: resuming initialises a fresh one or falls back.
   */
  interruption?: StudyGpuLoss;
}

export interface LabelQualityProgress {
  phase: 'preparing' | 'fold' | 'duplicates';
  fold: number;
  folds: number;
  done: number;
  total: number;
}

/** Likely label errors (out-of-fold predictions) and near-duplicates with disagreeing labels. */
export interface LabelQualityReport {
  projectId: string;
  createdAt: number;
  folds: number;
  classes: string[];
  checked: number;
  issues: Array<Omit<LabelIssue, 'index' | 'given' | 'suggested'> & { id: string; given: string; suggested: string }>;
  duplicates: Array<Omit<DuplicatePair, 'a' | 'b'> & { a: string; b: string; labelA: string; labelB: string }>;
  /** Accuracy of the out-of-fold predictions against the given labels (how good the judges were). */
  oofAccuracy: number;
}

export type { PipelineEvent, PipelinePlan, TriggerInfo };

export interface StartOptions {
  /** "Retrain now": warm-start from this version's weights. */
  initFromVersionId?: string;
}

export interface TrainApi {
  start(projectId: string, settings: TrainSettings, onProgress: (p: TrainProgress) => void, options?: StartOptions): Promise<TrainOutcome>;
  /** Creates a study and runs its trials until the budget is used, the grid is exhausted or stop() is called. */
  startStudy(
    projectId: string,
    name: string,
    plan: StudyPlan,
    baseSettings: TrainSettings,
    onEvent: (e: StudyEvent) => void,
  ): Promise<StudyOutcome>;
  /** Continues a paused or interrupted study; a trial cut mid-way runs again. */
  resumeStudy(studyId: string, onEvent: (e: StudyEvent) => void): Promise<StudyOutcome>;
  /** Evaluates the best complete trial on the test split and saves it as a version carrying its parameters and study. */
  registerBest(studyId: string, onProgress: (p: TrainProgress) => void): Promise<TrainOutcome>;
  /**
   * Trains k models on k-1 folds each and predicts the held-out fold, so every labeled sample is
   * judged by a model that never saw it; ranks likely label errors and finds near-duplicates whose
   * labels disagree. Stoppable with stop().
   */
  checkLabels(
    projectId: string,
    settings: TrainSettings,
    folds: number,
    onProgress: (p: LabelQualityProgress) => void,
  ): Promise<LabelQualityReport>;
  /** Which steps of the pipeline would rerun now, and why (the rest are cached). */
  planPipeline(pipelineId: string): Promise<PipelinePlan>;
  /** Runs the pipeline's steps in this worker; stop() cancels between (and inside training) steps. */
  runPipeline(pipelineId: string, trigger: TriggerInfo, onEvent: (e: PipelineEvent) => void): Promise<PipelineRunRecord>;
  /** Continues a run cut by a reload, a cancel or a lost GPU, from its first incomplete step. */
  resumePipeline(runId: string, onEvent: (e: PipelineEvent) => void): Promise<PipelineRunRecord>;
  /** Continues a stopped or interrupted run from its last complete epoch. */
  resume(runId: string, onProgress: (p: TrainProgress) => void): Promise<TrainOutcome>;
  /** Stops between batches; the last complete epoch's checkpoint is kept. */
  stop(): void;
  /**
   * Validates (before TF.js sees it), loads, probes and stores a pretrained backbone. Zip and folder
   * imports never fetch anything; a URL import fetches model.json and only the weight files it lists
   * next to it. Afterwards the backbone loads from IndexedDB only (offline).
   */
  importBackbone(
    source: BackboneImportSource,
    name: string,
    options?: { normalization?: BackboneRecord['normalization'] },
  ): Promise<BackboneInfo>;
  listBackbones(): Promise<BackboneInfo[]>;
  /**
   * Downloads a catalog backbone (lib/ml/backbone-catalog.ts) from the build's one catalog origin,
   * validates it like an import, records its SHA-256 and stores it. Progress is throttled; a
   * failure or cancelDownload() stores nothing.
   */
  downloadCatalogBackbone(entryId: string, onProgress: (p: DownloadProgress) => void): Promise<BackboneInfo>;
  /** Cancels the catalog download in progress (if any). */
  cancelDownload(): void;
  /** Deletes the backbone, its weights and its cached embeddings in every project. */
  deleteBackbone(id: string): Promise<void>;
  /** tf.memory().numTensors, for leak checks. */
  tensorCount(): number;
  /** Liveness: answers at once with the worker's clock (the page's WorkerClient probes any worker generically). */
  ping(): number;
  /** Test-only fault injection (see DebugFault); returns what it did. */
  debugFault(kind: DebugFault): string;
}
