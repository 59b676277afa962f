// The training worker's API: start, stop and resume runs; progress arrives as plain numbers.
import type { TrainSettings } from '../src/lib/train/train-config';
import type { BackendInfo } from './ml/backend';
import type { EpochMetrics, RunState } from '../src/db/schema';

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
  /** tf.memory().numTensors, for leak checks. */
  tensorCount(): number;
}
