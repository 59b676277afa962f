// Messages between the data-parallel coordinator (the training worker, or a Node test/bench) and
// its member workers. Plain structured-clone data; shard inputs travel by transfer.
import type { ArchitectureConfig } from '../architectures';
import type { OptimizerKind } from '../../../contracts/training';
import type { WeightsBlob } from '../checkpoint';

export interface InitMessage {
  type: 'init';
  index: number;
  workers: number;
  config: ArchitectureConfig;
  /** Seeds the initial weights (buildModel) and, with dropoutSeed, dropout: the same in every worker. */
  seed: number;
  optimizer: { name: OptimizerKind; learningRate: number; momentum?: number };
  barrierTimeoutMs: number;
  /** Start from these weights (model.getWeights() order) instead of buildModel's, e.g. a resume. */
  weights?: Float32Array[];
  /** And this optimizer state (captureOptimizer's blob of the checkpoint being resumed). */
  optimizerState?: WeightsBlob;
}
export interface StepMessage {
  type: 'step';
  id: number;
  epoch: number;
  batch: number;
  start: number;
  rows: number;
  fullRows: number;
  /** The rate for this step; the member's optimizer takes it when it changed. */
  learningRate: number;
  /** This shard's rows: x row-major [rows, ...inputShape], y one-hot [rows, classes]. */
  x: Float32Array;
  y: Float32Array;
}
/** Sent once every member reported its slot length: the shared buffer, sized for it. */
export interface AttachMessage {
  type: 'attach';
  id: number;
  buffer: SharedArrayBuffer;
  slotLength: number;
}
export type ToMember =
  | InitMessage
  | AttachMessage
  | StepMessage
  | { type: 'sync'; id: number }
  | { type: 'weights'; id: number }
  | { type: 'optimizer'; id: number }
  | { type: 'abort' };

export type FromMember =
  | { type: 'ready'; index: number; slotLength: number }
  | { type: 'stepped'; id: number; lossSum: number; correct: number }
  | { type: 'synced'; id: number }
  | { type: 'attached'; id: number }
  | { type: 'optimizer'; id: number; state: WeightsBlob | null }
  | { type: 'weights'; id: number; weights: Float32Array[] }
  | { type: 'error'; id?: number; message: string; aborted: boolean };
