// The project list as UI state, and first-run creation of the Digits demo project.
import { createProject, deleteProject, listProjects, renameProject } from '../db/projects';
import { getMeta, setMeta } from '../db/meta';
import type { ProjectRecord } from '../db/schema';
import { DEMO_URL, imports } from './import-manager.svelte';
import { storage } from './storage-manager.svelte';

export const DEMO_NAME = 'Digits demo';

class ProjectsManager {
  list = $state<ProjectRecord[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);

  constructor() {
    imports.onFinished(() => void this.refresh());
  }

  async refresh(): Promise<void> {
    try {
      this.list = await listProjects();
      this.loaded = true;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
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

  async remove(id: string): Promise<void> {
    await deleteProject(id);
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
