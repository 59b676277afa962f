// Training runs and their per-epoch checkpoints. A checkpoint is only ever written with
// finite weights (the caller checks), so resuming never starts from a diverged state.
import { db } from './open';
import { restoreAll, restoreCheckpoint, restoreOne, restoreRun } from './restore';
import type { CheckpointRecord, TrainRunRecord } from '../contracts/records';
import { requireProject } from './project-guard';

/** Throws ProjectDeletedError (storing nothing) when the run's project was deleted meanwhile. */
export async function saveRun(run: TrainRunRecord): Promise<void> {
  const tx = (await db()).transaction(['projects', 'runs'], 'readwrite');
  requireProject(await tx.objectStore('projects').get(run.projectId), run.projectId);
  void tx.objectStore('runs').put({ ...run, updatedAt: Date.now() });
  await tx.done;
}

export async function getRun(id: string): Promise<TrainRunRecord | undefined> {
  return restoreOne(await (await db()).get('runs', id), restoreRun);
}

export async function listRuns(projectId: string): Promise<TrainRunRecord[]> {
  const runs = restoreAll(await (await db()).getAllFromIndex('runs', 'byProject', projectId), restoreRun);
  return runs.sort((a, b) => b.createdAt - a.createdAt);
}

/** The run record and its checkpoint move together: a reader never sees an epoch without weights. */
export async function saveCheckpoint(run: TrainRunRecord, checkpoint: CheckpointRecord): Promise<void> {
  const tx = (await db()).transaction(['projects', 'runs', 'checkpoints'], 'readwrite', { durability: 'strict' });
  requireProject(await tx.objectStore('projects').get(run.projectId), run.projectId);
  void tx.objectStore('checkpoints').put(checkpoint);
  void tx.objectStore('runs').put({ ...run, checkpointEpoch: checkpoint.epoch, updatedAt: Date.now() });
  await tx.done;
}

export async function getCheckpoint(runId: string): Promise<CheckpointRecord | undefined> {
  return restoreOne(await (await db()).get('checkpoints', runId), restoreCheckpoint);
}

/** A run and its checkpoint, together. */
export async function deleteRun(runId: string): Promise<void> {
  const tx = (await db()).transaction(['runs', 'checkpoints'], 'readwrite', { durability: 'strict' });
  await Promise.all([tx.objectStore('runs').delete(runId), tx.objectStore('checkpoints').delete(runId)]);
  await tx.done;
}

export async function deleteCheckpoint(runId: string): Promise<void> {
  await (await db()).delete('checkpoints', runId);
}
