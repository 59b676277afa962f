// The page's handle on the training-kit worker (TF.js stays in the worker).
import type { KitApi } from '../../workers/kit.api';
import { WorkerClient } from './worker-client';

export const kitClient = new WorkerClient<KitApi>(
  () => new Worker(new URL('../../workers/kit.worker.ts', import.meta.url), { type: 'module', name: 'kit' }),
  'training kit',
);
