// Writes of work that runs on a project (training, tuning, pipelines, caches) check, in the same
// transaction, that the project still exists. deleteProject() takes the projects store too, so the
// two are ordered: a write either lands before the delete (which then removes it) or finds the
// project gone and stores nothing. That is what keeps a project deleted in one tab from coming
// back as a stray run record written by another tab that was training on it.
import type { ProjectRecord } from '../contracts/records';

export const PROJECT_DELETED = 'ProjectDeletedError';

export class ProjectDeletedError extends Error {
  constructor(readonly projectId: string) {
    super('This project was deleted (in this tab or another one); the work on it stopped and nothing of it was kept.');
    this.name = PROJECT_DELETED;
  }
}

/** True for a ProjectDeletedError, also one that crossed a worker boundary (same name). */
export const isProjectDeleted = (e: unknown): boolean => e instanceof Error && e.name === PROJECT_DELETED;

/** Throws ProjectDeletedError unless `project` (read in the writing transaction) exists. */
export function requireProject(project: ProjectRecord | undefined, projectId: string): void {
  if (!project) throw new ProjectDeletedError(projectId);
}
