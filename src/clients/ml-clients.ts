// The page's handles on the training and inference workers. TF.js lives only in these workers.
import type { TrainApi } from '../../workers/train.api';
import type { InferApi } from '../../workers/infer.api';
import { WorkerClient } from './worker-client';

export const trainClient = new WorkerClient<TrainApi>(
  () => new Worker(new URL('../../workers/train.worker.ts', import.meta.url), { type: 'module', name: 'train' }),
  'training',
);

export const inferClient = new WorkerClient<InferApi>(
  () => new Worker(new URL('../../workers/infer.worker.ts', import.meta.url), { type: 'module', name: 'inference' }),
  'inference',
);
