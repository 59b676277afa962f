// The training worker's API: start, stop and resume runs; progress arrives as plain numbers.
import type { TrainSettings } from '../src/lib/train/train-config';
import type { BackendInfo } from './ml/backend';
import type { BackboneRecord, EpochMetrics, RunState } from '../src/db/schema';

/** What the Train stage shows of a stored backbone. */
export type BackboneInfo = BackboneRecord;

export type BackboneImportSource = { kind: 'zip'; file: File } | { kind: 'files'; files: File[]; paths: string[] } | { kind: 'url'; url: string };

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

export interface TrainOutcome {
  runId: string;
  state: RunState;
  message: string | null;
  versionId: string | null;
  backend: BackendInfo;
}

export interface TrainApi {
  start(projectId: string, settings: TrainSettings, onProgress: (p: TrainProgress) => void): Promise<TrainOutcome>;
  /** Continues a stopped or interrupted run from its last complete epoch. */
  resume(runId: string, onProgress: (p: TrainProgress) => void): Promise<TrainOutcome>;
  /** Stops between batches; the last complete epoch's checkpoint is kept. */
  stop(): void;
  /**
   * Validates (before TF.js sees it), loads, probes and stores a pretrained backbone. Zip and folder
   * imports never fetch anything; a URL import fetches model.json and only the weight files it lists
   * next to it. Afterwards the backbone loads from IndexedDB only (offline).
   */
  importBackbone(source: BackboneImportSource, name: string, options?: { normalization?: BackboneRecord['normalization'] }): Promise<BackboneInfo>;
  listBackbones(): Promise<BackboneInfo[]>;
  /** Deletes the backbone, its weights and its cached embeddings in every project. */
  deleteBackbone(id: string): Promise<void>;
  /** tf.memory().numTensors, for leak checks. */
  tensorCount(): number;
}
