// Tuning studies and their trials. A trial record is written when it starts ('running') and when it
// ends; a study found 'running' after a reload marks its running trial 'interrupted' and reruns it.
import { db } from './open';
import { restoreAll, restoreOne, restoreStudy, restoreTrial } from './restore';
import { requireProject } from './project-guard';
import type { StudyRecord, TrialRecord } from '../contracts/records';

const trialRange = (studyId: string) => IDBKeyRange.bound([studyId, 0], [studyId, Infinity]);

export async function saveStudy(study: StudyRecord): Promise<void> {
  const tx = (await db()).transaction(['projects', 'studies'], 'readwrite');
  requireProject(await tx.objectStore('projects').get(study.projectId), study.projectId);
  void tx.objectStore('studies').put({ ...study, updatedAt: Date.now() });
  await tx.done;
}

export async function getStudy(id: string): Promise<StudyRecord | undefined> {
  return restoreOne(await (await db()).get('studies', id), restoreStudy);
}

export async function listStudies(projectId: string): Promise<StudyRecord[]> {
  const all = restoreAll(await (await db()).getAllFromIndex('studies', 'byProject', projectId), restoreStudy);
  return all.sort((a, b) => b.createdAt - a.createdAt);
}

export async function listTrials(studyId: string): Promise<TrialRecord[]> {
  const all = restoreAll(await (await db()).getAll('trials', trialRange(studyId)), restoreTrial);
  return all.sort((a, b) => a.number - b.number);
}

/** A trial and its study's running totals move together. */
export async function saveTrialAndStudy(trial: TrialRecord, study: StudyRecord): Promise<void> {
  const tx = (await db()).transaction(['projects', 'trials', 'studies'], 'readwrite', { durability: 'strict' });
  const requests: Array<Promise<unknown>> = [];
  try {
    requireProject(await tx.objectStore('projects').get(study.projectId), study.projectId);
    requests.push(tx.objectStore('trials').put(trial));
    requests.push(tx.objectStore('studies').put({ ...study, updatedAt: Date.now() }));
    await Promise.all(requests);
    await tx.done;
  } catch (err) {
    // Requests already queued reject with AbortError below; they are accounted for here.
    for (const r of requests) r.catch(() => {});
    // Both or neither: a trial never lands without its study's totals.
    try {
      tx.abort();
    } catch {
      /* already finished or aborted */
    }
    await tx.done.catch(() => {});
    throw err;
  }
}
