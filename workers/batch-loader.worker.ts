// Batch loader: a nested worker of the training worker (workers/ml/data-feed.ts starts it); see batch-loader.api.ts.
import * as Comlink from 'comlink';
import { getPreprocessedBatch } from '../src/db/preprocessed';
import type { BatchLoaderApi } from './batch-loader.api';
import { recordsToPixels, type BatchPixelsRequest } from './ml/batch-pixels';

const api = {
  async load(request: BatchPixelsRequest): Promise<Float32Array> {
    const records = await getPreprocessedBatch(request.configHash, request.projectId, request.ids);
    const pixels = recordsToPixels(
      records.map((r) => r.data),
      request,
    );
    return Comlink.transfer(pixels, [pixels.buffer]);
  },
} satisfies BatchLoaderApi;

Comlink.expose(api);
