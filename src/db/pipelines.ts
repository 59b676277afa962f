// Pipelines, their runs and the step cache (outputs under a hash of each step's settings and inputs).
import { db } from './open';
import { restoreAll, restoreOne, restorePipeline, restorePipelineRun, restoreStepCache } from './restore';
import { requireProject } from './project-guard';
import type { PipelineRecord, StepCacheRecord } from '../contracts/records';
import type { PipelineRunRecord } from '../contracts/pipeline';

export async function listPipelines(projectId: string): Promise<PipelineRecord[]> {
  const all = restoreAll(await (await db()).getAllFromIndex('pipelines', 'byProject', projectId), restorePipeline);
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

export async function getPipeline(id: string): Promise<PipelineRecord | undefined> {
  return restoreOne(await (await db()).get('pipelines', id), restorePipeline);
}

export async function savePipeline(record: PipelineRecord): Promise<void> {
  await (await db()).put('pipelines', { ...record, updatedAt: Date.now() });
}

/** Runs, stores and the cache entries a pipeline made are removed with it. */
export async function deletePipeline(id: string): Promise<void> {
  const tx = (await db()).transaction(['pipelines', 'pipelineRuns'], 'readwrite', { durability: 'strict' });
  const runKeys = await tx.objectStore('pipelineRuns').index('byPipeline').getAllKeys(id);
  await Promise.all([...runKeys.map((k) => tx.objectStore('pipelineRuns').delete(k)), tx.objectStore('pipelines').delete(id)]);
  await tx.done;
}

export async function listPipelineRuns(pipelineId: string): Promise<PipelineRunRecord[]> {
  const all = restoreAll(await (await db()).getAllFromIndex('pipelineRuns', 'byPipeline', pipelineId), restorePipelineRun);
  return all.sort((a, b) => b.number - a.number);
}

export async function listProjectPipelineRuns(projectId: string): Promise<PipelineRunRecord[]> {
  const all = restoreAll(await (await db()).getAllFromIndex('pipelineRuns', 'byProject', projectId), restorePipelineRun);
  return all.sort((a, b) => b.createdAt - a.createdAt);
}

export async function getPipelineRun(id: string): Promise<PipelineRunRecord | undefined> {
  return restoreOne(await (await db()).get('pipelineRuns', id), restorePipelineRun);
}

export async function savePipelineRun(run: PipelineRunRecord): Promise<void> {
  const tx = (await db()).transaction(['projects', 'pipelineRuns'], 'readwrite');
  requireProject(await tx.objectStore('projects').get(run.projectId), run.projectId);
  void tx.objectStore('pipelineRuns').put({ ...run, updatedAt: Date.now() });
  await tx.done;
}

/** The next run number of a pipeline (1, 2, 3…), read and used by one caller at a time (the training worker). */
export async function nextRunNumber(pipelineId: string): Promise<number> {
  const keys = await listPipelineRuns(pipelineId);
  return keys.reduce((n, r) => Math.max(n, r.number), 0) + 1;
}

export async function getStepCache(key: string): Promise<StepCacheRecord | undefined> {
  return restoreOne(await (await db()).get('stepCache', key), restoreStepCache);
}

export async function putStepCache(record: StepCacheRecord): Promise<void> {
  const tx = (await db()).transaction(['projects', 'stepCache'], 'readwrite');
  requireProject(await tx.objectStore('projects').get(record.projectId), record.projectId);
  void tx.objectStore('stepCache').put(record);
  await tx.done;
}
