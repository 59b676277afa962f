// Batch loader: one per training (or inference) worker, see batch-loader.api.ts.
import * as Comlink from 'comlink';
import { getPreprocessedBatch } from '../src/db/preprocessed';
import type { BatchLoaderApi } from './batch-loader.api';
import { recordsToPixels } from './ml/batch-pixels';

const api: BatchLoaderApi = {
  async load(request) {
    const records = await getPreprocessedBatch(request.configHash, request.projectId, request.ids);
    const pixels = recordsToPixels(records.map((r) => r.data), request);
    return Comlink.transfer(pixels, [pixels.buffer]);
  },
};

Comlink.expose(api);
