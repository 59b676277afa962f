// The batch loader worker's API: reads a batch's preprocessed images from IndexedDB and builds
// its float32 input (augmented for training batches) on another thread, so the training worker's
// thread only trains. (IndexedDB delivers each record as an event on the reading thread: ~64 of
// them per batch, about a sixth of a small CNN's step on WebAssembly.)
import type { BatchPixelsRequest } from '../src/contracts/training';

export interface BatchLoaderApi {
  /** The batch's pixels, [ids.length, size, size, channels], transferred. */
  load(request: BatchPixelsRequest): Promise<Float32Array>;
}
