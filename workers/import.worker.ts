// Import worker: wires sources, the plan, the decode pool and the runner to one Comlink API.
import * as Comlink from 'comlink';
import { findManifest, planImport } from '../src/lib/import/plan';
import type { ImportApi, ImportPlan, ImportSource } from './import.api';
import { openSource, type OpenedSource } from './import-sources';
import { runImport } from './import-runner';
import { DecodePool } from './decode-pool';
import { exportImageFolder } from './label-export';
import { buildProjectArchive, restoreProjectArchive } from './project-archive';
import type { ImportPlanSummary } from '../src/lib/import/plan';

interface HeldPlan {
  projectId: string;
  source: OpenedSource;
  summary: ImportPlanSummary;
}

const plans = new Map<string, HeldPlan>();
let cancelled = false;
let projectImportCancelled = false;
let pool: DecodePool | null = null;

const api = {
  async plan(projectId: string, source: ImportSource): Promise<ImportPlan> {
    const opened = await openSource(source);
    const manifestEntry = findManifest(opened.raw, opened.dropRoot);
    let manifest: { path: string; text: string } | undefined;
    if (manifestEntry) {
      const bytes = await opened.read(opened.raw.indexOf(manifestEntry));
      manifest = { path: manifestEntry.path, text: new TextDecoder().decode(bytes) };
    }
    const summary = planImport(opened.raw, { dropRoot: opened.dropRoot, manifest });
    const planId = crypto.randomUUID();
    plans.set(planId, { projectId, source: opened, summary });
    const { entries, ...rest } = summary;
    return { ...rest, planId, sourceName: opened.name, images: entries.length };
  },

  async run(planId, options, onProgress) {
    const plan = plans.get(planId);
    if (!plan) throw new Error('This import plan has expired; choose the files again.');
    cancelled = false;
    pool ??= new DecodePool();
    try {
      return await runImport({
        projectId: plan.projectId,
        source: plan.source,
        entries: plan.summary.entries,
        ignored: plan.summary.ignored.length,
        refused: plan.summary.refused,
        pool,
        resumeImportId: options.resumeImportId,
        isCancelled: () => cancelled,
        onProgress,
      });
    } finally {
      plans.delete(planId);
      await plan.source.close();
    }
  },

  cancel() {
    cancelled = true;
  },

  discardPlan(planId: string) {
    const plan = plans.get(planId);
    plans.delete(planId);
    void plan?.source.close();
  },
  exportImageFolder: (projectId, onProgress) => exportImageFolder(projectId, onProgress),
  exportProject: (projectId, onProgress) => buildProjectArchive(projectId, onProgress),
  importProject: (file, onProgress, confirm) => {
    projectImportCancelled = false;
    return restoreProjectArchive(file, onProgress, { confirm, isCancelled: () => projectImportCancelled });
  },
  cancelProjectImport() {
    projectImportCancelled = true;
  },
} satisfies ImportApi;

Comlink.expose(api);
