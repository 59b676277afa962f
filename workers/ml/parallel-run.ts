// A training run's data-parallel side in the training worker: starts the member workers (nested),
// hands trainLoop its hook, gives checkpoints the members' optimizer state, and ends them.
import type * as tf from '@tensorflow/tfjs';
import type { ArchitectureConfig } from '../../src/lib/ml/architectures';
import type { WeightsBlob } from '../../src/lib/ml/checkpoint';
import { DataParallelCoordinator } from '../../src/lib/ml/data-parallel/coordinator';
import { parallelSteps } from '../../src/lib/ml/data-parallel/loop-hook';
import type { OptimizerKind } from '../../src/contracts/training';
import type { ParallelSteps } from '../../src/lib/ml/train-loop';
import type { BackendInfo } from './backend';
import { startBrowserMembers } from './data-parallel-browser-ports';

export interface ParallelRun {
  threads: number;
  parallel: ParallelSteps;
  optimizerState(): Promise<WeightsBlob | null>;
  close(): void;
}

/** A member that waits this long at a step's barrier gives the run up (a member froze). */
const BARRIER_TIMEOUT_MS = 120_000;

/**
 * Null (train on this thread, as before) unless the run is on WASM, trains an image model from
 * pixels, and has more than one thread. The members start from `model`'s current weights (a warm
 * start or a restored checkpoint) and `optimizerState` (the checkpoint's).
 */
export async function startParallelRun(
  threads: number,
  backend: BackendInfo,
  architecture: ArchitectureConfig,
  run: { seed: number; optimizer: OptimizerKind; learningRate: number; momentum?: number },
  model: tf.LayersModel,
  optimizerState: WeightsBlob | null | undefined,
): Promise<ParallelRun | null> {
  if (threads <= 1 || backend.name !== 'wasm' || architecture.kind === 'head') return null;
  // SharedArrayBuffer exists only in a cross-origin-isolated context (the app's COOP/COEP headers).
  if (typeof SharedArrayBuffer === 'undefined' || (typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated)) return null;
  const rowSize = architecture.inputSize * architecture.inputSize * architecture.channels;
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const c = new DataParallelCoordinator(startBrowserMembers(threads), {
    config: architecture,
    seed: run.seed,
    optimizer: { name: run.optimizer, learningRate: run.learningRate, momentum: run.momentum },
    barrierTimeoutMs: BARRIER_TIMEOUT_MS,
    weights,
    ...(optimizerState ? { optimizerState } : {}),
    rowSize,
    classes: architecture.numClasses,
  });
  try {
    await c.whenReady();
  } catch (e) {
    // Members that cannot start (a worker blocked, out of memory) leave the run to this thread: the
    // same training, one core.
    c.close();
    console.warn(`Data-parallel training did not start; training on one thread: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
  return { threads, parallel: parallelSteps(c), optimizerState: () => c.optimizerState(), close: () => c.close() };
}
