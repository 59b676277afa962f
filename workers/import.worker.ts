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
import { HEAD_BYTES, sniffHead } from '../src/lib/import/sniff';
import { getProject } from '../src/db/projects';

interface HeldPlan {
  projectId: string;
  source: OpenedSource;
  summary: ImportPlanSummary;
}

const plans = new Map<string, HeldPlan>();

/**
 * Reads the first bytes of every file the source can slice cheaply and returns what sniffing can
 * already refuse (by raw index), so the plan counts only what will be imported. Zips are judged
 * while importing instead (an entry cannot be read without inflating it).
 */
async function sniffHeads(source: OpenedSource): Promise<Map<number, string>> {
  const refused = new Map<number, string>();
  const readHead = source.readHead;
  if (!readHead) return refused;
  const indexes = source.raw.flatMap((e, i) => (e.size > 0 && !e.path.endsWith('/') && !/\.csv$/i.test(e.path) ? [i] : []));
  let next = 0;
  const worker = async () => {
    while (next < indexes.length) {
      const i = indexes[next++];
      const head = await readHead(i, HEAD_BYTES).catch(() => null);
      if (!head) continue; // unreadable now: the import itself reports why
      const verdict = sniffHead(head, head.length >= source.raw[i].size);
      if (verdict) refused.set(i, verdict.reason);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return refused;
}
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
    const [project, sniffRefused] = await Promise.all([getProject(projectId), sniffHeads(opened)]);
    const summary = planImport(opened.raw, { dropRoot: opened.dropRoot, manifest, existingLabels: project?.labels ?? [], sniffRefused });
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
