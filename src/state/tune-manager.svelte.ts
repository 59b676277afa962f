// The Tune stage's state: the study form (search space, strategy, budget, pruner), the live study
// (trials as they start and end, the current trial's progress), the project's stored studies (to
// resume after a reload) and "register best". Everything shown comes back from IndexedDB on load.
import * as Comlink from 'comlink';
import { trainClient } from '../clients/ml-clients';
import { getVersion } from '../db/models';
import { getStudy, listStudies, listTrials } from '../db/studies';
import type { StudyRecord, TrialRecord } from '../contracts/records';
import { validateSettings, type TrainSettings } from '../lib/train/train-config';
import { gridSize } from '../lib/tune/grid';
import type { SearchSpace } from '../lib/tune/space';
import { bestTrial, directionOf, trialSummary, type StudyPlan } from '../lib/tune/study';
import { buildPlan, buildSpace, defaultForm, type StudyForm } from '../lib/tune/form';
import type { StudyEvent, StudyGpuLoss, StudyOutcome, TrainProgress } from '../../workers/train.api';
import type { BackendName } from '../contracts/backend';
import { errorMessage } from '../lib/util/errors';

const BACKEND_LABEL: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** True for a study the worker paused because its GPU was lost (its stored message says so). */
export function pausedByGpuLoss(study: StudyRecord): boolean {
  return study.state === 'paused' && /^The GPU was lost\b/.test(study.message ?? '');
}

/** What the notice says once a study paused by a GPU loss has been resumed and run on `now`. */
function resumedNotice(name: string, loss: StudyGpuLoss | null, now: BackendName): string {
  const was = loss ? BACKEND_LABEL[loss.backend] : null;
  const where =
    loss === null
      ? BACKEND_LABEL[now]
      : now === loss.backend
        ? `${was} with a fresh ${loss.backend === 'webgl' ? 'WebGL context' : 'device'}`
        : `${BACKEND_LABEL[now]} instead of ${was} (${was} could not start again); expect it to be slower`;
  const lost = loss ? `The GPU was lost (${loss.reason}) during trial ${loss.trial}` : 'The GPU was lost';
  return `${lost}; study “${name}” resumed on ${where}.`;
}

export const FINISHED_STATES = ['complete', 'pruned', 'failed'] as const;
export const finishedCount = (trials: TrialRecord[]) =>
  trials.filter((t) => (FINISHED_STATES as readonly string[]).includes(t.state)).length;

export class TuneManager {
  form = $state<StudyForm>(defaultForm());
  projectId = $state<string | null>(null);
  studies = $state<StudyRecord[]>([]);
  /** The study whose trials are shown. */
  selectedId = $state<string | null>(null);
  trials = $state<TrialRecord[]>([]);
  /** Studies whose lock no worker holds (found 'running' after a reload). */
  orphaned = $state<string[]>([]);
  running = $state(false);
  stopping = $state(false);
  /** The study the worker is running now (known from its first event). */
  runningStudyId = $state<string | null>(null);
  progress = $state<TrainProgress | null>(null);
  error = $state<string | null>(null);
  registering = $state<string | null>(null);
  registerProgress = $state<TrainProgress | null>(null);
  /** Finished (complete, pruned or failed) trials per study. */
  finished = $state<Record<string, number>>({});
  /** Version numbers of registered versions, by version id. */
  versionNumbers = $state<Record<string, number>>({});
  /** The last GPU loss that paused a study in this tab, by study id (the notice names it). */
  gpuLosses = $state<Record<string, StudyGpuLoss>>({});
  /** A notice about a recovery: a study paused by a lost GPU went on on a fresh or fallback backend. */
  notice = $state<string | null>(null);

  /** Counts reads of the stored studies, so that an older read never overwrites a newer one. */
  private reads = 0;

  get selected(): StudyRecord | null {
    return this.studies.find((s) => s.id === this.selectedId) ?? null;
  }

  spaceOrProblem(base: TrainSettings): SearchSpace | string {
    return buildSpace(this.form.rows, base);
  }

  /** Everything the form would start, or the first reason it cannot. */
  planOrProblem(base: TrainSettings): StudyPlan | string {
    const settingsProblem = validateSettings(base);
    if (settingsProblem) return `The Train stage's settings (the base of every trial) are not usable: ${settingsProblem}`;
    const space = buildSpace(this.form.rows, base);
    if (typeof space === 'string') return space;
    return buildPlan(this.form, space);
  }

  gridSizeOf(space: SearchSpace): number | null {
    const steps = this.form.gridSteps;
    if (steps === null || !Number.isInteger(steps) || steps < 1) return null;
    try {
      return gridSize(space, steps);
    } catch {
      return null;
    }
  }

  async load(projectId: string): Promise<void> {
    if (this.projectId !== projectId) {
      this.projectId = projectId;
      this.selectedId = null;
      this.trials = [];
      this.progress = null;
      this.error = null;
      this.notice = null;
    }
    await this.refresh();
  }

  /** Re-reads the project's studies and the shown study's trials from IndexedDB. */
  async refresh(): Promise<void> {
    const projectId = this.projectId;
    if (!projectId) return;
    const read = ++this.reads;
    const studies = await listStudies(projectId);
    const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
    if (projectId !== this.projectId || read !== this.reads) return;
    this.studies = studies;
    // A default name follows on from the studies already stored.
    if (/^Study \d+$/.test(this.form.name) && studies.some((s) => s.name === this.form.name)) {
      let n = studies.length + 1;
      while (studies.some((s) => s.name === `Study ${n}`)) n++;
      this.form.name = `Study ${n}`;
    }
    this.orphaned = studies
      .filter((s) => s.state === 'running' && s.id !== this.runningStudyId && !held.has(`trainyard-study-${s.id}`))
      .map((s) => s.id);
    if (!this.selectedId || !studies.some((s) => s.id === this.selectedId)) this.selectedId = studies[0]?.id ?? null;
    await this.loadTrials();
    const finished: Record<string, number> = {};
    for (const s of studies) finished[s.id] = s.id === this.selectedId ? finishedCount(this.trials) : finishedCount(await listTrials(s.id));
    this.finished = finished;
    for (const s of studies) {
      if (s.registeredVersionId && !(s.registeredVersionId in this.versionNumbers)) {
        const v = await getVersion(s.registeredVersionId);
        if (v) this.versionNumbers = { ...this.versionNumbers, [v.id]: v.number };
      }
    }
  }

  private async loadTrials(): Promise<void> {
    const id = this.selectedId;
    const trials = id ? await listTrials(id) : [];
    if (id === this.selectedId) this.trials = trials;
  }

  async select(studyId: string): Promise<void> {
    this.selectedId = studyId;
    await this.loadTrials();
  }

  /** True when a stored study could be resumed (stopped, or cut by a reload). */
  resumable(study: StudyRecord): boolean {
    if (this.running && this.runningStudyId === study.id) return false;
    return study.state === 'paused' || this.orphaned.includes(study.id);
  }

  best(study: StudyRecord, trials: TrialRecord[]): TrialRecord | null {
    const b = bestTrial(study.plan as StudyPlan, trials.map(trialSummary));
    return b ? (trials.find((t) => t.number === b.number) ?? null) : null;
  }

  direction(study: StudyRecord): 'minimize' | 'maximize' {
    return directionOf((study.plan as StudyPlan).objective);
  }

  private onEvent = (e: StudyEvent) => {
    if (e.kind === 'progress') {
      this.progress = e.progress;
      return;
    }
    const trial = e.trial;
    if (e.kind === 'trial-start') this.progress = null;
    const first = this.runningStudyId !== trial.studyId;
    if (first) {
      this.runningStudyId = trial.studyId;
      this.selectedId = trial.studyId;
    }
    if (this.selectedId === trial.studyId) {
      this.trials = [...this.trials.filter((t) => t.number !== trial.number && t.studyId === trial.studyId), trial].sort(
        (a, b) => a.number - b.number,
      );
    }
    // The study record (state, elapsed time) moves with every trial: re-read it.
    void this.refreshStudies();
  };

  private async refreshStudies(): Promise<void> {
    if (!this.projectId) return;
    const read = ++this.reads;
    const studies = await listStudies(this.projectId);
    // A later read (say, the one after the study ended) wins over this one.
    if (read !== this.reads) return;
    this.studies = studies;
    this.orphaned = this.orphaned.filter((id) => id !== this.runningStudyId);
    if (this.runningStudyId && this.selectedId === this.runningStudyId) {
      const stored = await listTrials(this.runningStudyId);
      if (read !== this.reads || !this.runningStudyId) return;
      // Keep live records for trials the event already brought (same content, written before it).
      const byNumber = new Map(stored.map((t) => [t.number, t]));
      for (const t of this.trials) if (t.studyId === this.runningStudyId) byNumber.set(t.number, pickNewer(byNumber.get(t.number), t));
      if (this.selectedId === this.runningStudyId) this.trials = [...byNumber.values()].sort((a, b) => a.number - b.number);
    }
  }

  async start(projectId: string, base: TrainSettings): Promise<void> {
    const plan = this.planOrProblem(base);
    if (typeof plan === 'string') {
      this.error = plan;
      return;
    }
    const name = this.form.name.trim() || `Study ${this.studies.length + 1}`;
    const settings = $state.snapshot(base) as TrainSettings;
    const snapshot = $state.snapshot(plan) as StudyPlan;
    this.begin(projectId, null);
    this.notice = null;
    await this.finish(() => trainClient.call((api) => api.startStudy(projectId, name, snapshot, settings, Comlink.proxy(this.onEvent))));
    // Next study gets a fresh default name.
    const m = /^(.*?)(\d+)$/.exec(name);
    this.form.name = m ? `${m[1]}${Number(m[2]) + 1}` : `${name} 2`;
  }

  async resume(study: StudyRecord): Promise<void> {
    // A study paused by a lost GPU resumes on a fresh or fallback backend (the worker dropped the
    // dead one); the notice then says which.
    const afterLoss = pausedByGpuLoss(study) || study.id in this.gpuLosses;
    const loss = this.gpuLosses[study.id] ?? null;
    this.notice = null;
    this.begin(study.projectId, study.id);
    await this.select(study.id);
    const outcome = await this.finish(() => trainClient.call((api) => api.resumeStudy(study.id, Comlink.proxy(this.onEvent))));
    if (afterLoss && outcome && !outcome.interruption) {
      this.notice = resumedNotice(study.name, loss, outcome.backend.name);
      this.gpuLosses = Object.fromEntries(Object.entries(this.gpuLosses).filter(([id]) => id !== study.id));
    }
  }

  private begin(projectId: string, studyId: string | null) {
    this.projectId = projectId;
    this.running = true;
    this.stopping = false;
    this.error = null;
    this.progress = null;
    this.runningStudyId = studyId;
    if (studyId) this.orphaned = this.orphaned.filter((id) => id !== studyId);
  }

  private async finish(work: () => Promise<StudyOutcome>): Promise<StudyOutcome | null> {
    let outcome: StudyOutcome | null = null;
    try {
      outcome = await work();
      // A lost GPU paused the study: the worker dropped the dead backend; the study's notice says
      // so and "Resume study" continues on a fresh or fallback one.
      if (outcome.interruption) this.gpuLosses = { ...this.gpuLosses, [outcome.study.id]: outcome.interruption };
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.running = false;
      this.stopping = false;
      this.progress = null;
      this.runningStudyId = null;
      await this.refresh();
    }
    return outcome;
  }

  stop(): void {
    if (!this.running) return;
    this.stopping = true;
    void trainClient.api.stop();
  }

  async registerBest(study: StudyRecord): Promise<void> {
    this.registering = study.id;
    this.registerProgress = null;
    this.error = null;
    try {
      const outcome = await trainClient.call((api) =>
        api.registerBest(
          study.id,
          Comlink.proxy((p: TrainProgress) => {
            this.registerProgress = p;
          }),
        ),
      );
      if (!outcome.versionId) throw new Error(outcome.message ?? `Registering failed (${outcome.state}).`);
      const v = await getVersion(outcome.versionId);
      if (v) this.versionNumbers = { ...this.versionNumbers, [v.id]: v.number };
      const stored = await getStudy(study.id);
      if (stored) this.studies = this.studies.map((s) => (s.id === stored.id ? stored : s));
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.registering = null;
      this.registerProgress = null;
      await this.refresh();
    }
  }
}

const ORDER: Record<TrialRecord['state'], number> = { running: 0, interrupted: 0, complete: 1, pruned: 1, failed: 1 };
function pickNewer(a: TrialRecord | undefined, b: TrialRecord): TrialRecord {
  if (!a) return b;
  return ORDER[b.state] >= ORDER[a.state] ? b : a;
}

export const tuning = new TuneManager();
