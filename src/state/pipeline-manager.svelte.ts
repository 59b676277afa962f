// The Pipeline stage's state: the project's pipelines (a default one is made on the first visit),
// the shown one's editor (PipelineDraft), its runs, the plan ("what will run"), the project's
// dataset versions (DatasetVersions), and starting, cancelling and resuming runs through the
// tab's shared pipelineActivity (pipeline-activity.svelte.ts). Triggers are checked by
// PipelineTriggerWatcher (pipeline-trigger-watcher.ts) while the stage is open.
import { trainClient } from '../clients/ml-clients';
import { deletePipeline, getPipeline, listPipelineRuns, listPipelines, savePipeline } from '../db/pipelines';
import type { PipelineRecord } from '../contracts/records';
import { MAX_NAME_LENGTH, defaultPipeline, parsePipeline, serializePipeline, type PipelineDefinition } from '../lib/pipeline/definition';
import type { StepPlan } from '../lib/pipeline/plan';
import { resumableRun, type PipelineRunRecord } from '../lib/pipeline/runner';
import type { TriggerInfo } from '../../workers/train.api';
import { KitManager } from './kit-manager.svelte';
import { downloadBlob } from './download';
import { errorMessage } from '../lib/util/errors';
import { heldLocks, lockName, pipelineActivity, type ActivityNotice } from './pipeline-activity.svelte';
import { PipelineTriggerWatcher } from './pipeline-trigger-watcher';
import { PipelineDraft, augmentationErrors, definitionOf } from './pipeline-draft.svelte';
import { DatasetVersions } from './dataset-versions.svelte';

export const DEFAULT_PIPELINE_NAME = 'Retrain and promote';

/** Default pipelines being made, per project, so two quick loads make one. */
const creatingDefault = new Map<string, Promise<void>>();

export type ShownRunState = PipelineRunRecord['state'];

function fileSlug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'pipeline'
  );
}

const asRuns = (records: unknown[]) => records as PipelineRunRecord[];

export class PipelineManager {
  pipelines = $state.raw<PipelineRecord[]>([]);
  selectedId = $state<string | null>(null);
  /** The editable copy of the shown pipeline's definition, and the edits the form makes. */
  readonly editor = new PipelineDraft();
  saveErrors = $state<string[]>([]);
  importErrors = $state<string[]>([]);
  runs = $state.raw<PipelineRunRecord[]>([]);
  /** Some tab (this one included) holds the shown pipeline's run lock. */
  lockHeld = $state(false);
  selectedRunId = $state<string | null>(null);
  plan = $state.raw<StepPlan[] | null>(null);
  labeled = $state<number | null>(null);
  planning = $state(false);
  planError = $state<string | null>(null);
  error = $state<string | null>(null);
  message = $state<string | null>(null);
  loading = $state(true);
  saving = $state(false);

  private destroyed = false;
  private planReads = 0;
  private runReads = 0;
  private unsubscribe: () => void;
  private poll: ReturnType<typeof setInterval>;
  /** Triggers fire while the stage is open too (ProjectView runs its own watcher; they share checks). */
  private watcher = new PipelineTriggerWatcher();

  /** The training kit (PyTorch): exported from a dataset version or from a run's train step, and its result imported. */
  readonly kit: KitManager;
  /** The project's dataset versions (made by the runs' split step). */
  readonly datasets: DatasetVersions;

  constructor(readonly projectId: string) {
    this.kit = new KitManager(projectId);
    this.datasets = new DatasetVersions(projectId);
    this.unsubscribe = pipelineActivity.subscribe((n) => this.onActivity(n));
    // A run stored as running that this tab does not run: another tab runs it, or a reload cut it.
    this.poll = setInterval(() => {
      if (this.destroyed || !this.selectedId) return;
      const ours = pipelineActivity.running && pipelineActivity.pipelineId === this.selectedId;
      if (!ours && this.runs.some((r) => r.state === 'running')) void this.refreshRuns();
    }, 2000);
  }

  destroy(): void {
    this.destroyed = true;
    this.datasets.destroy();
    this.watcher.stop();
    this.unsubscribe();
    clearInterval(this.poll);
  }

  get selected(): PipelineRecord | null {
    return this.pipelines.find((p) => p.id === this.selectedId) ?? null;
  }

  get selectedRun(): PipelineRunRecord | null {
    return this.runs.find((r) => r.id === this.selectedRunId) ?? null;
  }

  /** True while this tab runs the shown pipeline. */
  get runningHere(): boolean {
    return pipelineActivity.running && pipelineActivity.pipelineId === this.selectedId && pipelineActivity.projectId === this.projectId;
  }

  /** The state a run is shown with: a stored 'running' run no tab runs was interrupted. */
  shownState(run: PipelineRunRecord): ShownRunState {
    if (pipelineActivity.running && pipelineActivity.run?.id === run.id) return 'running';
    if (run.state === 'running' && !this.lockHeld) return 'interrupted';
    return run.state;
  }

  canResume(run: PipelineRunRecord): boolean {
    return resumableRun(run) && this.shownState(run) !== 'running';
  }

  /** The newest run that can be continued, if any. */
  get resumable(): PipelineRunRecord | null {
    if (this.runningHere) return null;
    return this.runs.find((r) => this.canResume(r)) ?? null;
  }

  // ---- loading

  async load(): Promise<void> {
    try {
      let list = await listPipelines(this.projectId);
      if (list.length === 0) {
        let pending = creatingDefault.get(this.projectId);
        if (!pending) {
          pending = this.createPipeline(DEFAULT_PIPELINE_NAME, false).then(() => undefined);
          creatingDefault.set(this.projectId, pending);
          void pending.finally(() => creatingDefault.delete(this.projectId));
        }
        await pending;
        list = await listPipelines(this.projectId);
      }
      if (this.destroyed) return;
      this.pipelines = list;
      // Coming back to the stage shows the pipeline that is running, else the one that ran last.
      const running = pipelineActivity.running && pipelineActivity.projectId === this.projectId ? pipelineActivity.pipelineId : null;
      const lastRun = [...list].sort((a, b) => (b.lastRunAt ?? 0) - (a.lastRunAt ?? 0))[0];
      const keep = list.some((p) => p.id === this.selectedId) ? this.selectedId : (running ?? lastRun?.id ?? null);
      await this.select(keep);
      await this.refreshVersions();
      if (!this.destroyed) this.watcher.start(this.projectId);
    } catch (err) {
      this.error = `The pipelines could not be read: ${errorMessage(err)}`;
    } finally {
      this.loading = false;
    }
  }

  /** Shows a pipeline: its draft, runs and plan. */
  async select(id: string | null): Promise<void> {
    this.selectedId = id;
    this.saveErrors = [];
    this.selectedRunId = null;
    this.resetDraft();
    this.runs = [];
    this.plan = null;
    this.labeled = null;
    this.planError = null;
    if (!id) return;
    await this.refreshRuns();
    if (pipelineActivity.running && pipelineActivity.pipelineId === id && pipelineActivity.run)
      this.selectedRunId = pipelineActivity.run.id;
    await this.refreshPlan();
  }

  /** Puts the stored definition back into the editor. */
  resetDraft(): void {
    this.saveErrors = [];
    this.editor.reset(this.selected);
  }

  private async reloadPipelines(): Promise<void> {
    const list = await listPipelines(this.projectId);
    if (this.destroyed) return;
    this.pipelines = list;
  }

  async refreshRuns(): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    const read = ++this.runReads;
    try {
      const [stored, held] = await Promise.all([listPipelineRuns(id), heldLocks()]);
      if (this.destroyed || read !== this.runReads || id !== this.selectedId) return;
      let runs = asRuns(stored);
      // The live record from the worker is at least as new as the stored one.
      const live = pipelineActivity.running && pipelineActivity.pipelineId === id ? pipelineActivity.run : null;
      if (live) runs = [live, ...runs.filter((r) => r.id !== live.id)].sort((a, b) => b.number - a.number);
      this.runs = runs;
      // The worker takes the run's lock only after the page asked for the run: a lock query made
      // in between says "not held". This tab knows it runs the pipeline; without this, a stale
      // answer kept lockHeld false for the whole run, and the moment the run ended (before the
      // final record was read back) it was shown as "interrupted".
      this.lockHeld = held.has(lockName(id)) || this.runningHere;
      if (this.selectedRunId && !runs.some((r) => r.id === this.selectedRunId)) this.selectedRunId = null;
    } catch (err) {
      this.error = `The runs could not be read: ${errorMessage(err)}`;
    }
  }

  async refreshPlan(): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    const read = ++this.planReads;
    this.planning = true;
    this.planError = null;
    try {
      const result = await trainClient.call((api) => api.planPipeline(id));
      if (this.destroyed || read !== this.planReads) return;
      this.plan = result.plan;
      this.labeled = result.labeled;
    } catch (err) {
      if (this.destroyed || read !== this.planReads) return;
      this.plan = null;
      this.planError = errorMessage(err);
    } finally {
      if (read === this.planReads) this.planning = false;
    }
  }

  async refreshVersions(): Promise<void> {
    try {
      await this.datasets.refresh();
    } catch (err) {
      this.error = `The dataset versions could not be read: ${errorMessage(err)}`;
    }
  }

  private onActivity(n: ActivityNotice): void {
    if (this.destroyed || n.projectId !== this.projectId) return;
    if (n.kind === 'start') {
      if (n.pipelineId === this.selectedId) this.lockHeld = true;
      return;
    }
    if (n.kind === 'event') {
      if (n.event.kind !== 'run' || n.pipelineId !== this.selectedId) return;
      const run = n.event.run;
      const known = this.runs.some((r) => r.id === run.id);
      this.runs = [run, ...this.runs.filter((r) => r.id !== run.id)].sort((a, b) => b.number - a.number);
      if (!known) this.selectedRunId = run.id;
      const split = run.steps.find((s) => s.kind === 'split' && (s.state === 'done' || s.state === 'cached'));
      const versionId = split?.outputs?.datasetVersionId;
      if (typeof versionId === 'string' && !this.datasets.versions.some((v) => v.id === versionId)) void this.refreshVersions();
      return;
    }
    // A run ended. Its final record (the call's answer) is the truth: events travel on their own
    // channel and the last one may arrive after the answer, when it is no longer applied, so the
    // list would keep the run's previous record ('running', all steps done) until it is read back.
    if (n.run && n.pipelineId === this.selectedId) {
      const final = n.run;
      this.runReads++; // a read begun before the end would put the older record back
      this.runs = [final, ...this.runs.filter((r) => r.id !== final.id)].sort((a, b) => b.number - a.number);
    }
    // Everything it touched may have changed.
    void (async () => {
      await this.reloadPipelines();
      if (n.pipelineId === this.selectedId) {
        if (n.run) this.selectedRunId = n.run.id;
        await this.refreshRuns();
        await this.refreshPlan();
      }
      await this.refreshVersions();
    })();
  }

  /** Checks the draft (as an imported file would be) and saves it with the next revision. */
  async save(): Promise<boolean> {
    const id = this.selectedId;
    if (!id || !this.editor.draft) return false;
    this.saveErrors = [];
    this.message = null;
    this.error = null;
    this.saving = true;
    try {
      const stored = await getPipeline(id);
      if (!stored) throw new Error('This pipeline no longer exists (deleted in another tab?).');
      const draft = $state.snapshot(this.editor.draft) as PipelineDefinition;
      const before = parsePipeline(stored.definition);
      const revision = (before.ok ? before.definition.revision : Number(draft.revision) || 0) + 1;
      const parsed = parsePipeline({ ...draft, name: typeof draft.name === 'string' ? draft.name.trim() : draft.name, revision });
      const errors = parsed.ok ? augmentationErrors(parsed.definition) : parsed.errors;
      if (!parsed.ok || errors.length) {
        this.saveErrors = errors;
        return false;
      }
      await savePipeline({ ...stored, definition: parsed.definition });
      await this.reloadPipelines();
      if (this.destroyed || id !== this.selectedId) return true;
      this.resetDraft();
      this.message = `Saved “${parsed.definition.name}” (revision ${parsed.definition.revision}).`;
      void this.refreshPlan();
      return true;
    } catch (err) {
      this.error = `The pipeline could not be saved: ${errorMessage(err)}`;
      return false;
    } finally {
      this.saving = false;
    }
  }

  // ---- pipelines

  private uniqueName(name: string): string {
    const taken = new Set(this.pipelines.map((p) => definitionOf(p).definition.name));
    if (!taken.has(name)) return name;
    for (let n = 2; ; n++) {
      const suffix = ` (${n})`;
      const candidate = `${name.slice(0, MAX_NAME_LENGTH - suffix.length)}${suffix}`;
      if (!taken.has(candidate)) return candidate;
    }
  }

  private async createPipeline(name: string, show: boolean, definition?: PipelineDefinition): Promise<PipelineRecord> {
    const now = Date.now();
    const record: PipelineRecord = {
      id: crypto.randomUUID(),
      projectId: this.projectId,
      definition: definition ?? defaultPipeline(name),
      createdAt: now,
      updatedAt: now,
      labeledAtLastRun: null,
      lastRunAt: null,
    };
    await savePipeline(record);
    if (show) {
      await this.reloadPipelines();
      await this.select(record.id);
    }
    return record;
  }

  async newPipeline(): Promise<void> {
    this.error = null;
    this.message = null;
    try {
      const record = await this.createPipeline(this.uniqueName(DEFAULT_PIPELINE_NAME), true);
      this.message = `Created “${(record.definition as PipelineDefinition).name}”.`;
    } catch (err) {
      this.error = `The pipeline could not be created: ${errorMessage(err)}`;
    }
  }

  /** Reads a pipeline file; saves it as a new pipeline, or lists why it cannot be one. */
  async importFile(file: File): Promise<void> {
    this.importErrors = [];
    this.message = null;
    this.error = null;
    try {
      if (file.size > 1_000_000) {
        this.importErrors = ['The file is too large to be a pipeline.'];
        return;
      }
      const parsed = parsePipeline(await file.text());
      const errors = parsed.ok ? augmentationErrors(parsed.definition) : parsed.errors;
      if (!parsed.ok || errors.length) {
        this.importErrors = errors;
        return;
      }
      const definition = { ...parsed.definition, name: this.uniqueName(parsed.definition.name) };
      await this.createPipeline(definition.name, true, definition);
      this.message = `Imported “${definition.name}” from ${file.name}.`;
    } catch (err) {
      this.importErrors = [`The file could not be read: ${errorMessage(err)}`];
    }
  }

  /** Downloads the stored definition of the shown pipeline. */
  exportJson(): void {
    const record = this.selected;
    if (!record) return;
    this.error = null;
    try {
      const { definition } = definitionOf(record);
      downloadBlob(new Blob([serializePipeline(definition)], { type: 'application/json' }), `${fileSlug(definition.name)}.pipeline.json`);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async deleteSelected(): Promise<void> {
    const record = this.selected;
    if (!record) return;
    this.error = null;
    this.message = null;
    if (pipelineActivity.running && pipelineActivity.pipelineId === record.id) {
      this.error = 'Cancel the run before deleting this pipeline.';
      return;
    }
    try {
      await deletePipeline(record.id);
      await this.reloadPipelines();
      await this.select(this.pipelines[0]?.id ?? null);
      this.message = `Deleted “${definitionOf(record).definition.name}”.`;
    } catch (err) {
      this.error = `The pipeline could not be deleted: ${errorMessage(err)}`;
    }
  }

  // ---- runs

  async run(): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    this.error = null;
    this.message = null;
    const trigger: TriggerInfo = { kind: 'manual', detail: 'started by hand on the Pipeline stage' };
    const result = await pipelineActivity.launch(this.projectId, id, trigger, 'person', (api, onEvent) =>
      api.runPipeline(id, trigger, onEvent),
    );
    if (result.error && !this.destroyed) this.error = result.error;
  }

  async resume(run: PipelineRunRecord): Promise<void> {
    this.error = null;
    this.message = null;
    this.selectedRunId = run.id;
    const trigger: TriggerInfo = { kind: 'resume', detail: `resumed run #${run.number}` };
    const result = await pipelineActivity.launch(this.projectId, run.pipelineId, trigger, 'person', (api, onEvent) =>
      api.resumePipeline(run.id, onEvent),
    );
    if (result.error && !this.destroyed) this.error = result.error;
  }

  cancel(): void {
    if (this.runningHere) pipelineActivity.cancel();
  }
}
