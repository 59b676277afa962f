// The page's handle on the import worker (which owns its own decode pool).
import type { ImportApi } from '../../workers/import.api';
import { WorkerClient } from './worker-client';

export const importClient = new WorkerClient<ImportApi>(
  () => new Worker(new URL('../../workers/import.worker.ts', import.meta.url), { type: 'module', name: 'import' }),
  'import',
);
