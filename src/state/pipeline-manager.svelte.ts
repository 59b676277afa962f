// The Pipeline stage's state: the project's pipelines (a default one is made on the first visit),
// the editable draft of the shown one, its runs, the plan ("what will run"), the project's dataset
// versions, and starting, cancelling and resuming runs in the training worker.
//
// The run going on in this tab lives in the module-level `pipelineActivity`, shared by the stage's
// PipelineManager and by PipelineTriggerWatcher (which starts runs when a trigger fires, on any
// stage of an open project), so a triggered run shows live on the Pipeline stage.
import * as Comlink from 'comlink';
import { trainClient } from '../clients/ml-clients';
import { deletePipeline, getPipeline, listPipelineRuns, listPipelines, listProjectPipelineRuns, savePipeline } from '../db/pipelines';
import { listDatasetVersions } from '../db/datasets';
import { listAlerts } from '../db/monitoring';
import { listCommittedSamples } from '../db/committed';
import type { DatasetVersionRecord, PipelineRecord } from '../contracts/records';
import { MAX_NAME_LENGTH, defaultPipeline, defaultTunePlan, findStep, parsePipeline, serializePipeline, type PipelineDefinition, type TriggerDefinition } from '../lib/pipeline/definition';
import type { StepPlan } from '../lib/pipeline/plan';
import { resumableRun, type PipelineRunRecord } from '../lib/pipeline/runner';
import { dueTriggers } from '../lib/pipeline/triggers';
import { NO_AUGMENTATION, validateAugmentation, type AugmentationKey, type AugmentationSpec } from '../lib/augment/spec';
import { diffVersions, splitCounts, unpackItems, type DatasetItem, type VersionDiff } from '../lib/dataset/version';
import { DEFAULT_SETTINGS, type TrainSettings } from '../lib/train/train-config';
import type { Split } from '../lib/ml/split';
import type { Strategy } from '../lib/tune/study';
import { defaultPruner, type PrunerConfig } from '../lib/tune/pruners';
import type { PipelineEvent, TrainApi, TrainProgress, TriggerInfo } from '../../workers/train.api';
import { KitManager } from './kit-manager.svelte';
import { training } from './train-manager.svelte';
import { tuning } from './tune-manager.svelte';
import { downloadBlob } from './download';
import { errorMessage } from '../lib/util/errors';

export const DEFAULT_PIPELINE_NAME = 'Retrain and promote';


/** The worker (or another tab) is busy with another job: a trigger tries again later. */
export function isBusyError(message: string): boolean {
  return /already (going|running)/i.test(message);
}

const lockName = (pipelineId: string) => `trainyard-pipeline-${pipelineId}`;

async function heldLocks(): Promise<Set<string>> {
  try {
    return new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name ?? ''));
  } catch {
    return new Set();
  }
}

export interface StepProgress {
  stepId: string;
  progress: TrainProgress;
}

export type ActivityNotice =
  | { kind: 'event'; projectId: string; pipelineId: string; event: PipelineEvent }
  | { kind: 'start'; projectId: string; pipelineId: string }
  | { kind: 'end'; projectId: string; pipelineId: string; run: PipelineRunRecord | null; error: string | null };

export interface LaunchResult {
  run: PipelineRunRecord | null;
  error: string | null;
  /** The worker or another tab was busy: nothing started. */
  busy: boolean;
}

type Starter = (api: Comlink.Remote<TrainApi>, onEvent: (e: PipelineEvent) => void) => Promise<PipelineRunRecord>;

/** The pipeline run going on in this tab (at most one: the training worker runs one job at a time). */
class PipelineActivity {
  running = $state(false);
  projectId = $state<string | null>(null);
  pipelineId = $state<string | null>(null);
  startedBy = $state<'person' | 'trigger' | null>(null);
  trigger = $state.raw<TriggerInfo | null>(null);
  /** The live run record (from the worker's events), or the last one that ended in this tab. */
  run = $state.raw<PipelineRunRecord | null>(null);
  progress = $state.raw<StepProgress | null>(null);
  cancelling = $state(false);
  /** A triggered run that could not start or ended with an error (shown on the Pipeline stage). */
  triggerError = $state<{ projectId: string; message: string } | null>(null);

  private listeners = new Set<(n: ActivityNotice) => void>();
  private token = 0;

  subscribe(fn: (n: ActivityNotice) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(n: ActivityNotice): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(n);
      } catch (err) {
        console.error(err);
      }
    }
  }

  /** Starts one run in the training worker and resolves when it ends (never rejects). */
  async launch(projectId: string, pipelineId: string, trigger: TriggerInfo, startedBy: 'person' | 'trigger', start: Starter): Promise<LaunchResult> {
    if (this.running) return { run: null, error: 'A pipeline run is already going in this tab.', busy: true };
    const token = ++this.token;
    this.running = true;
    this.cancelling = false;
    this.projectId = projectId;
    this.pipelineId = pipelineId;
    this.startedBy = startedBy;
    this.trigger = trigger;
    this.run = null;
    this.progress = null;
    this.emit({ kind: 'start', projectId, pipelineId });
    const onEvent = (e: PipelineEvent) => {
      // Events travel on their own channel and may arrive after the call returned.
      if (token !== this.token || !this.running) return;
      if (e.kind === 'run') {
        if (this.run && this.run.id === e.run.id && e.run.updatedAt < this.run.updatedAt) return;
        this.run = e.run;
        if (this.progress && !e.run.steps.some((s) => s.stepId === this.progress!.stepId && s.state === 'running')) this.progress = null;
      } else {
        this.progress = { stepId: e.stepId, progress: e.progress };
      }
      this.emit({ kind: 'event', projectId, pipelineId, event: e });
    };
    let run: PipelineRunRecord | null = null;
    let error: string | null = null;
    try {
      run = await trainClient.call((api) => start(api, Comlink.proxy(onEvent)));
    } catch (err) {
      error = errorMessage(err);
    }
    if (token === this.token) {
      this.running = false;
      this.cancelling = false;
      this.progress = null;
      if (run) this.run = run;
    }
    this.emit({ kind: 'end', projectId, pipelineId, run, error });
    return { run, error, busy: error !== null && isBusyError(error) };
  }

  /** Cancels the run going on in this tab (between steps, and between batches while training). */
  cancel(): void {
    if (!this.running) return;
    this.cancelling = true;
    void trainClient.api.stop();
  }
}

export const pipelineActivity = new PipelineActivity();

// ---------------------------------------------------------------------------------------------
// Triggers

/** Labeled samples the way the pipeline's snapshot counts them (finished imports, no conflicts). */
async function labeledCounts(projectId: string): Promise<{ all: number; human: number }> {
  const { samples } = await listCommittedSamples(projectId);
  let all = 0;
  let human = 0;
  for (const s of samples) {
    if (s.label === null || s.flags.includes('conflict')) continue;
    all++;
    if (!(s.labelSource?.kind === 'model' && s.labelSource.accepted === 'auto')) human++;
  }
  return { all, human };
}

/** Projects whose triggers are being checked right now (one check at a time per project, across watchers). */
const checking = new Set<string>();
const lastCheck = new Map<string, number>();
/** After a triggered start fails for another reason than "busy", that pipeline waits this long. */
const FAILURE_BACKOFF_MS = 60_000;
const backoff = new Map<string, number>();

/**
 * Checks every pipeline of a project for due triggers every 3 s, and once at start (catching up
 * on what fired while the app was closed); starts at most one run at a time. Several watchers of
 * the same project share their checks.
 */
export class PipelineTriggerWatcher {
  private projectId: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs = 3000) {}

  start(projectId: string): void {
    this.stop();
    this.projectId = projectId;
    void this.check(true);
    this.timer = setInterval(() => void this.check(false), this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.projectId = null;
  }

  /** One check of the project's triggers; resolves once a run was started (not finished) or none was due. */
  async check(force = false): Promise<void> {
    const projectId = this.projectId;
    if (!projectId || checking.has(projectId)) return;
    if (!force && Date.now() - (lastCheck.get(projectId) ?? 0) < this.intervalMs * 0.8) return;
    if (pipelineActivity.running || training.running || tuning.running) return;
    checking.add(projectId);
    lastCheck.set(projectId, Date.now());
    try {
      const pipelines = await listPipelines(projectId);
      if (pipelines.length === 0) return;
      const [counts, alerts, held] = await Promise.all([labeledCounts(projectId), listAlerts(projectId), heldLocks()]);
      for (const pipeline of pipelines) {
        if (this.projectId !== projectId || pipelineActivity.running) return;
        if ((backoff.get(pipeline.id) ?? 0) > Date.now()) continue;
        const parsed = parsePipeline(pipeline.definition);
        if (!parsed.ok) continue;
        const def = parsed.definition;
        const excludeAuto = findStep(def, 'snapshot')?.settings.excludeAutoLabels ?? false;
        const due = dueTriggers({
          triggers: def.triggers,
          labeledNow: excludeAuto ? counts.human : counts.all,
          labeledAtLastRun: pipeline.labeledAtLastRun,
          alerts: alerts.map((a) => ({ id: a.id, at: a.at })),
          lastRunAt: pipeline.lastRunAt,
          runningNow: pipelineActivity.running || held.has(lockName(pipeline.id)),
        });
        if (due.length === 0) continue;
        if (training.running || tuning.running) return;
        const trigger: TriggerInfo = { kind: due[0].kind, detail: due.map((d) => d.detail).join(' ') };
        void pipelineActivity
          .launch(projectId, pipeline.id, trigger, 'trigger', (api, onEvent) => api.runPipeline(pipeline.id, trigger, onEvent))
          .then((result) => {
            if (result.error === null || result.busy) return;
            backoff.set(pipeline.id, Date.now() + FAILURE_BACKOFF_MS);
            pipelineActivity.triggerError = { projectId, message: `The pipeline “${def.name}” was triggered (${trigger.detail}) but could not run: ${result.error}` };
          });
        return;
      }
    } catch (err) {
      console.warn('Pipeline trigger check failed:', err);
    } finally {
      checking.delete(projectId);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The Pipeline stage

/** Default pipelines being made, per project, so two quick loads make one. */
const creatingDefault = new Map<string, Promise<void>>();

export interface VersionSummary {
  totals: Record<Split, number>;
  classes: number;
}

export type ShownRunState = PipelineRunRecord['state'];

function definitionOf(record: PipelineRecord): { definition: PipelineDefinition; problem: string | null } {
  const parsed = parsePipeline(record.definition);
  if (parsed.ok) return { definition: parsed.definition, problem: null };
  return { definition: record.definition as PipelineDefinition, problem: parsed.errors.join(' ') };
}

/** Errors parsePipeline leaves to the augmentation code. */
function augmentationErrors(def: PipelineDefinition): string[] {
  const pre = findStep(def, 'preprocess');
  if (!pre) return [];
  const checked = validateAugmentation(pre.settings.augmentation ?? {});
  return checked.ok ? [] : checked.errors.map((e) => `Step "${pre.id}" (augmentation): ${e}.`);
}

function fileSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'pipeline';
}

const asRuns = (records: unknown[]) => records as PipelineRunRecord[];

export class PipelineManager {
  pipelines = $state.raw<PipelineRecord[]>([]);
  selectedId = $state<string | null>(null);
  /** The editable copy of the shown pipeline's definition. */
  draft = $state<PipelineDefinition | null>(null);
  /** The stored definition as JSON (what "unsaved changes" compares against). */
  savedJson = $state('');
  /** Why the stored definition is not valid (an old or damaged record), if it is not. */
  storedProblem = $state<string | null>(null);
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
  versions = $state.raw<DatasetVersionRecord[]>([]);
  /** Pipeline run numbers by run id (all pipelines of the project), for dataset version origins. */
  runNumbers = $state.raw<Record<string, { number: number; pipelineId: string }>>({});
  error = $state<string | null>(null);
  message = $state<string | null>(null);
  loading = $state(true);
  saving = $state(false);

  dirty = $derived(this.draft !== null && JSON.stringify(this.draft) !== this.savedJson);

  private destroyed = false;
  private planReads = 0;
  private runReads = 0;
  private unsubscribe: () => void;
  private poll: ReturnType<typeof setInterval>;
  private unpacked = new Map<string, DatasetItem[]>();
  private summaries = new Map<string, VersionSummary>();
  /** Triggers fire while the stage is open too (ProjectView runs its own watcher; they share checks). */
  private watcher = new PipelineTriggerWatcher();

  /** The training kit (PyTorch): exported from a dataset version or from a run's train step, and its result imported. */
  readonly kit: KitManager;

  constructor(readonly projectId: string) {
    this.kit = new KitManager(projectId);
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
    if (pipelineActivity.running && pipelineActivity.pipelineId === id && pipelineActivity.run) this.selectedRunId = pipelineActivity.run.id;
    await this.refreshPlan();
  }

  /** Puts the stored definition back into the editor. */
  resetDraft(): void {
    const record = this.selected;
    this.saveErrors = [];
    if (!record) {
      this.draft = null;
      this.savedJson = '';
      this.storedProblem = null;
      return;
    }
    const { definition, problem } = definitionOf(record);
    this.storedProblem = problem;
    this.savedJson = JSON.stringify(definition);
    this.draft = structuredClone(definition);
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
      const [versions, runs] = await Promise.all([listDatasetVersions(this.projectId), listProjectPipelineRuns(this.projectId)]);
      if (this.destroyed) return;
      const numbers: Record<string, { number: number; pipelineId: string }> = {};
      for (const r of runs) numbers[r.id] = { number: r.number, pipelineId: r.pipelineId };
      this.runNumbers = numbers;
      this.versions = versions;
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
      if (typeof versionId === 'string' && !this.versions.some((v) => v.id === versionId)) void this.refreshVersions();
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

  // ---- editing

  /** Sets (or, at its default, removes) one training setting of the train step. */
  setTrainSetting<K extends keyof TrainSettings>(key: K, value: TrainSettings[K] | null): void {
    const step = this.draft ? findStep(this.draft, 'train') : undefined;
    if (!step) return;
    const settings = step.settings.settings as Record<string, unknown>;
    if (value === DEFAULT_SETTINGS[key]) delete settings[key];
    else settings[key] = value;
  }

  /** Train once with the step's settings, or tune: a study over DEFAULT_SPACE picks them. */
  setTrainMode(mode: 'train' | 'tune'): void {
    const step = this.draft ? findStep(this.draft, 'train') : undefined;
    if (!step || step.settings.mode === mode) return;
    const settings = step.settings.settings;
    step.settings = mode === 'tune' ? { mode, settings, plan: defaultTunePlan() } : { mode, settings };
  }

  setTunePlan(patch: { strategy?: Strategy; maxTrials?: number | null; pruner?: PrunerConfig['kind'] }): void {
    const step = this.draft ? findStep(this.draft, 'train') : undefined;
    if (!step || step.settings.mode !== 'tune') return;
    const plan = step.settings.plan;
    if (patch.strategy) plan.strategy = patch.strategy;
    if (patch.maxTrials != null) plan.maxTrials = patch.maxTrials;
    if (patch.pruner) plan.pruner = defaultPruner(patch.pruner);
  }

  /** Sets one augmentation value; 0 (off) removes the key, so an untouched spec stays `{}`. */
  setAugmentation(key: AugmentationKey, value: number | null): void {
    const step = this.draft ? findStep(this.draft, 'preprocess') : undefined;
    if (!step) return;
    if (typeof step.settings.augmentation !== 'object' || step.settings.augmentation === null) step.settings.augmentation = {};
    const aug = step.settings.augmentation as Record<string, unknown>;
    if (value === 0) delete aug[key];
    else aug[key] = value;
  }

  trigger<K extends TriggerDefinition['kind']>(kind: K): Extract<TriggerDefinition, { kind: K }> | undefined {
    return this.draft?.triggers.find((t) => t.kind === kind) as Extract<TriggerDefinition, { kind: K }> | undefined;
  }

  setNewLabelsTrigger(patch: { enabled?: boolean; count?: number | null }): void {
    if (!this.draft) return;
    let t = this.trigger('new-labels');
    if (!t) {
      this.draft.triggers.push({ kind: 'new-labels', count: 100, enabled: false });
      t = this.trigger('new-labels')!;
    }
    if (patch.enabled !== undefined) t.enabled = patch.enabled;
    if (patch.count !== undefined) t.count = patch.count as number;
  }

  setDriftTrigger(enabled: boolean): void {
    if (!this.draft) return;
    const t = this.trigger('drift-alert');
    if (t) t.enabled = enabled;
    else this.draft.triggers.push({ kind: 'drift-alert', enabled });
  }

  /** Checks the draft (as an imported file would be) and saves it with the next revision. */
  async save(): Promise<boolean> {
    const id = this.selectedId;
    if (!id || !this.draft) return false;
    this.saveErrors = [];
    this.message = null;
    this.error = null;
    this.saving = true;
    try {
      const stored = await getPipeline(id);
      if (!stored) throw new Error('This pipeline no longer exists (deleted in another tab?).');
      const draft = $state.snapshot(this.draft) as PipelineDefinition;
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
    const result = await pipelineActivity.launch(this.projectId, id, trigger, 'person', (api, onEvent) => api.runPipeline(id, trigger, onEvent));
    if (result.error && !this.destroyed) this.error = result.error;
  }

  async resume(run: PipelineRunRecord): Promise<void> {
    this.error = null;
    this.message = null;
    this.selectedRunId = run.id;
    const trigger: TriggerInfo = { kind: 'resume', detail: `resumed run #${run.number}` };
    const result = await pipelineActivity.launch(this.projectId, run.pipelineId, trigger, 'person', (api, onEvent) => api.resumePipeline(run.id, onEvent));
    if (result.error && !this.destroyed) this.error = result.error;
  }

  cancel(): void {
    if (this.runningHere) pipelineActivity.cancel();
  }

  // ---- dataset versions

  private items(version: DatasetVersionRecord): DatasetItem[] {
    let items = this.unpacked.get(version.id);
    if (!items) {
      items = unpackItems(version, version.classes);
      this.unpacked.set(version.id, items);
    }
    return items;
  }

  summary(version: DatasetVersionRecord): VersionSummary | null {
    let s = this.summaries.get(version.id);
    if (!s) {
      try {
        const counts = splitCounts(this.items(version));
        const total = (split: Split) => Object.values(counts[split]).reduce((a, b) => a + b, 0);
        s = { totals: { train: total('train'), val: total('val'), test: total('test') }, classes: version.classes.length };
        this.summaries.set(version.id, s);
      } catch {
        return null;
      }
    }
    return s;
  }

  /** What changed from version `a` to version `b`. */
  diff(aId: string, bId: string): VersionDiff | string {
    const a = this.versions.find((v) => v.id === aId);
    const b = this.versions.find((v) => v.id === bId);
    if (!a || !b) return 'Pick two versions.';
    try {
      return diffVersions(
        { items: this.items(a), classes: a.classes, preprocess: a.preprocess, augmentation: validAugmentation(a.augmentation) },
        { items: this.items(b), classes: b.classes, preprocess: b.preprocess, augmentation: validAugmentation(b.augmentation) },
      );
    } catch (err) {
      return `These versions could not be compared: ${errorMessage(err)}`;
    }
  }
}

/** A stored version's augmentation as a spec (an unreadable one compares as no augmentation). */
function validAugmentation(x: unknown): AugmentationSpec {
  const checked = validateAugmentation(x ?? {});
  return checked.ok ? checked.spec : { ...NO_AUGMENTATION };
}

