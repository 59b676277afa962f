// The project list as UI state, and first-run creation of the Digits demo project.
import { createProject, deleteProject, getProject, listProjects, renameProject } from '../db/projects';
import { getMeta, setMeta } from '../db/meta';
import { listRuns } from '../db/runs';
import { listStudies } from '../db/studies';
import { listPipelines } from '../db/pipelines';
import { listImports } from '../db/imports';
import { unfinishedImportCounts } from '../db/committed';
import { closedImport } from '../db/closed-imports';
import type { ProjectRecord } from '../contracts/records';
import { DEMO_URL, imports } from './import-manager.svelte';
import { storage } from './storage-manager.svelte';
import { training } from './train-manager.svelte';
import { tuning } from './tune-manager.svelte';
import { pipelineActivity } from './pipeline-activity.svelte';
import { errorMessage } from '../lib/util/errors';

/**
 * Tabs of one profile tell each other about deleted projects, so work running on one in another
 * tab stops and says why. The database side (db/project-guard.ts) makes sure that whatever such
 * work still writes afterwards is refused, so no record of the project is left in any store.
 */
const CHANNEL = 'trainyard-projects';
interface DeletedMessage {
  kind: 'deleted';
  projectId: string;
  name: string;
}

/** Kinds of work holding a Web Lock on this project in any tab ("training", "tuning study", …). */
async function workRunningOn(projectId: string): Promise<string[]> {
  const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
  const [runs, studies, pipelines, sessions] = await Promise.all([
    listRuns(projectId),
    listStudies(projectId),
    listPipelines(projectId),
    listImports(projectId),
  ]);
  const work: string[] = [];
  if (runs.some((r) => held.has(`trainyard-train-${r.id}`) && !(r.config as { trial?: boolean }).trial)) work.push('training');
  if (studies.some((s) => held.has(`trainyard-study-${s.id}`))) work.push('tuning study');
  if (pipelines.some((p) => held.has(`trainyard-pipeline-${p.id}`))) work.push('pipeline run');
  if (sessions.some((s) => held.has(`trainyard-import-${s.id}`))) work.push('import');
  return work;
}

export const DEMO_NAME = 'Digits demo';

class ProjectsManager {
  list = $state<ProjectRecord[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Images saved by imports that have not finished, per project: not in its image count (db/committed.ts). */
  unfinished = $state<Map<string, number>>(new Map());
  /** What a deletion did to work running on the project (in this tab or another one). */
  notice = $state<string | null>(null);
  private channel: BroadcastChannel | null = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);

  constructor() {
    imports.onFinished(() => void this.refresh());
    this.channel?.addEventListener('message', (e: MessageEvent<DeletedMessage>) => {
      if (e.data?.kind !== 'deleted') return;
      const stopped = this.stopLocalWork(e.data.projectId, `“${e.data.name}” was deleted in another tab`);
      if (stopped.length > 0)
        this.notice = `“${e.data.name}” was deleted in another tab; its ${stopped.join(' and ')} in this tab stopped and nothing of it was kept.`;
      void this.refresh();
    });
  }

  /** Stops what this tab runs on the project; returns what it stopped. */
  private stopLocalWork(projectId: string, why: string): string[] {
    const message = `${why}; the work on it stopped and nothing of it was kept.`;
    const stopped: string[] = [];
    if (training.running && training.projectId === projectId) {
      training.projectDeleted(message);
      stopped.push('training');
    }
    if (tuning.running && tuning.projectId === projectId) {
      tuning.error = message;
      tuning.stop();
      stopped.push('tuning study');
    }
    if (pipelineActivity.running && pipelineActivity.projectId === projectId) {
      pipelineActivity.cancel();
      stopped.push('pipeline run');
    }
    return stopped;
  }

  async refresh(): Promise<void> {
    try {
      const [list, unfinished] = await Promise.all([listProjects(), unfinishedImportCounts((id) => closedImport(id) !== null)]);
      this.list = list;
      this.unfinished = unfinished;
      this.loaded = true;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** The project's images by the Data stage's rule: those of finished imports only. */
  images(p: ProjectRecord): number {
    return Math.max(0, p.sampleCount - (this.unfinished.get(p.id) ?? 0));
  }

  async create(name: string): Promise<ProjectRecord> {
    const project = await createProject(name);
    await this.refresh();
    return project;
  }

  async rename(id: string, name: string): Promise<void> {
    await renameProject(id, name);
    await this.refresh();
  }

  /**
   * Deletes the project everywhere: work on it in this tab stops, other tabs are told (they stop
   * theirs), and the database refuses whatever such work still tries to write (db/project-guard).
   */
  async remove(id: string): Promise<void> {
    this.notice = null;
    const name = (this.list.find((p) => p.id === id) ?? (await getProject(id)))?.name ?? 'The project';
    const running = await workRunningOn(id).catch(() => []);
    this.stopLocalWork(id, `“${name}” was deleted`);
    await deleteProject(id);
    this.channel?.postMessage({ kind: 'deleted', projectId: id, name } satisfies DeletedMessage);
    if (running.length > 0)
      this.notice = `Deleted “${name}”. Its ${running.join(' and ')} was stopped (in every tab) and nothing of it was kept.`;
    await this.refresh();
    void storage.refresh();
  }

  /**
   * On first run, create the Digits demo from the bundled (precached) asset. The lock keeps two
   * tabs opened at once from creating it twice.
   */
  async ensureDemo(): Promise<void> {
    const projectId = await navigator.locks.request('trainyard-demo-setup', async () => {
      if (await getMeta<boolean>('demo-created')) return null;
      const project = await createProject(DEMO_NAME, 'demo');
      await setMeta('demo-created', true);
      return project.id;
    });
    await this.refresh();
    if (projectId) await imports.run(projectId, { kind: 'demo', url: DEMO_URL });
  }

  /** Adds the demo again after the user deleted it. */
  async addDemo(): Promise<void> {
    const project = await createProject(DEMO_NAME, 'demo');
    await this.refresh();
    await imports.run(project.id, { kind: 'demo', url: DEMO_URL });
  }
}

export const projects = new ProjectsManager();
