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
import { validateSpace, type ParamSpec, type ParamValue, type SearchSpace } from '../lib/tune/space';
import { bestTrial, type Strategy, directionOf, trialSummary, validatePlan, type StudyPlan } from '../lib/tune/study';
import type { PrunerConfig } from '../lib/tune/pruners';
import { DEFAULT_SPACE, spaceProblem, TUNABLE, type TunableName } from '../lib/tune/training-space';
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
  const where = loss === null ? BACKEND_LABEL[now]
    : now === loss.backend ? `${was} with a fresh ${loss.backend === 'webgl' ? 'WebGL context' : 'device'}`
    : `${BACKEND_LABEL[now]} instead of ${was} (${was} could not start again); expect it to be slower`;
  const lost = loss ? `The GPU was lost (${loss.reason}) during trial ${loss.trial}` : 'The GPU was lost';
  return `${lost}; study “${name}” resumed on ${where}.`;
}

export type StrategyKind = Strategy;
export type ObjectiveMetric = 'valAcc' | 'valLoss';
export type PrunerKind = 'none' | 'median' | 'asha';
export type ValueKind = 'float' | 'int' | 'choice';

/** One line of the search-space editor. Numbers stay as typed (null when a field is empty). */
export interface ParamRow {
  name: TunableName;
  include: boolean;
  kind: ValueKind;
  low: number | null;
  high: number | null;
  log: boolean;
  /** Comma-separated values when kind is 'choice'. */
  choices: string;
}

interface RowInfo {
  /** The range type of a numeric setting; categorical settings are choices only. */
  range: 'float' | 'int' | null;
  /** Only active when another setting has this value. */
  condition?: { param: TunableName; value: string };
}

export const ROW_INFO: Record<TunableName, RowInfo> = {
  architecture: { range: null },
  learningRate: { range: 'float' },
  batchSize: { range: 'int' },
  epochs: { range: 'int' },
  optimizer: { range: null },
  momentum: { range: 'float', condition: { param: 'optimizer', value: 'sgd' } },
  dropout: { range: 'float' },
  widthMultiplier: { range: 'float', condition: { param: 'architecture', value: 'mobilenet' } },
  inputSize: { range: 'int' },
  augmentation: { range: 'float' },
  hiddenUnits: { range: 'int', condition: { param: 'architecture', value: 'mlp' } },
};

/** Editor order: a parent (architecture, optimizer) comes before the settings that depend on it. */
export const ROW_ORDER: TunableName[] = [
  'architecture', 'learningRate', 'batchSize', 'epochs', 'optimizer', 'momentum', 'dropout', 'widthMultiplier', 'inputSize', 'augmentation', 'hiddenUnits',
];

/** Where a setting starts when it is not in DEFAULT_SPACE. */
const FALLBACK: Record<TunableName, Omit<ParamRow, 'name' | 'include'>> = {
  architecture: { kind: 'choice', low: null, high: null, log: false, choices: 'cnn, mlp' },
  learningRate: { kind: 'float', low: 1e-4, high: 3e-2, log: true, choices: '0.001, 0.003, 0.01' },
  batchSize: { kind: 'choice', low: 16, high: 128, log: true, choices: '32, 64, 128' },
  epochs: { kind: 'int', low: 2, high: 10, log: false, choices: '3, 6, 10' },
  optimizer: { kind: 'choice', low: null, high: null, log: false, choices: 'adam, sgd, rmsprop' },
  momentum: { kind: 'float', low: 0.5, high: 0.99, log: false, choices: '0.8, 0.9, 0.95' },
  dropout: { kind: 'float', low: 0, high: 0.5, log: false, choices: '0, 0.25, 0.5' },
  widthMultiplier: { kind: 'float', low: 0.25, high: 1, log: false, choices: '0.25, 0.5, 1' },
  inputSize: { kind: 'choice', low: 16, high: 48, log: false, choices: '16, 28, 32' },
  augmentation: { kind: 'float', low: 0, high: 1, log: false, choices: '0, 0.5, 1' },
  hiddenUnits: { kind: 'choice', low: 32, high: 256, log: true, choices: '64, 128, 256' },
};

const listText = (values: ParamValue[]) => values.map(String).join(', ');

export function defaultRows(): ParamRow[] {
  return ROW_ORDER.map((name) => {
    const spec = DEFAULT_SPACE.find((p) => p.name === name);
    const row: ParamRow = { name, include: !!spec, ...FALLBACK[name] };
    if (spec?.type === 'choice') return { ...row, kind: 'choice', choices: listText(spec.values) };
    if (spec) return { ...row, kind: spec.type, low: spec.low, high: spec.high, log: !!spec.log };
    return row;
  });
}

function parseChoices(row: ParamRow): ParamValue[] | string {
  const parts = row.choices.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return `${TUNABLE[row.name]}: list at least one value.`;
  if (ROW_INFO[row.name].range === null) return parts;
  const values: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isFinite(v)) return `${TUNABLE[row.name]}: “${p}” is not a number.`;
    if (ROW_INFO[row.name].range === 'int' && !Number.isInteger(v)) return `${TUNABLE[row.name]}: “${p}” is not a whole number.`;
    values.push(v);
  }
  return values;
}

/**
 * The search space the editor describes, or a reason it cannot be one. A conditional setting whose
 * parent is not searched is plain when the base settings already give the parent that value.
 */
export function buildSpace(rows: ParamRow[], base: TrainSettings): SearchSpace | string {
  const space: SearchSpace = [];
  const included = new Map(rows.filter((r) => r.include).map((r) => [r.name, r]));
  for (const row of rows) {
    if (!row.include) continue;
    const label = TUNABLE[row.name];
    let spec: ParamSpec;
    if (row.kind === 'choice') {
      const values = parseChoices(row);
      if (typeof values === 'string') return values;
      spec = { name: row.name, type: 'choice', values };
    } else {
      if (row.low === null || row.high === null || !Number.isFinite(row.low) || !Number.isFinite(row.high)) return `${label}: enter both low and high.`;
      spec = row.kind === 'int'
        ? { name: row.name, type: 'int', low: row.low, high: row.high, log: row.log }
        : { name: row.name, type: 'float', low: row.low, high: row.high, log: row.log };
    }
    const cond = ROW_INFO[row.name].condition;
    if (cond) {
      const parent = included.get(cond.param);
      const parentLabel = TUNABLE[cond.param];
      if (parent) {
        const parentValues = parseChoices(parent);
        if (typeof parentValues !== 'string' && !parentValues.includes(cond.value)) {
          return `${label} only matters when ${parentLabel} is ${cond.value}: add ${cond.value} to the ${parentLabel} choices or leave ${label} out.`;
        }
        spec = { ...spec, condition: { param: cond.param, in: [cond.value] } };
      } else if (String(base[cond.param as keyof TrainSettings]) !== cond.value) {
        return `${label} only matters when ${parentLabel} is ${cond.value}, and the Train stage uses ${String(base[cond.param as keyof TrainSettings])}: search ${parentLabel} too, or leave ${label} out.`;
      }
    }
    space.push(spec);
  }
  if (space.length === 0) return 'Include at least one setting to search.';
  return validateSpace(space) ?? spaceProblem(space) ?? space;
}

export interface StudyForm {
  name: string;
  rows: ParamRow[];
  strategy: StrategyKind;
  objective: ObjectiveMetric;
  maxTrials: number | null;
  /** Optional wall-time budget; null or empty for none. */
  maxMinutes: number | null;
  /** Points per float range on a grid. */
  gridSteps: number | null;
  pruner: PrunerKind;
  warmupEpochs: number | null;
  minTrials: number | null;
  minEpochs: number | null;
  reductionFactor: number | null;
  seed: number | null;
}

export function defaultForm(): StudyForm {
  return {
    name: 'Study 1', rows: defaultRows(), strategy: 'random', objective: 'valAcc', maxTrials: 10, maxMinutes: null, gridSteps: 3,
    pruner: 'median', warmupEpochs: 1, minTrials: 3, minEpochs: 1, reductionFactor: 3, seed: 1,
  };
}

const isWhole = (v: number | null, min: number): v is number => v !== null && Number.isInteger(v) && v >= min;

export function buildPlan(form: StudyForm, space: SearchSpace): StudyPlan | string {
  if (!isWhole(form.maxTrials, 1)) return 'The number of trials must be a whole number of at least 1.';
  if (form.maxMinutes !== null && !(Number.isFinite(form.maxMinutes) && form.maxMinutes > 0)) return 'The time budget must be a positive number of minutes (or empty for none).';
  if (form.seed === null || !Number.isInteger(form.seed)) return 'The seed must be a whole number.';
  if (form.strategy === 'grid' && !isWhole(form.gridSteps, 1)) return 'Grid points per range must be a whole number of at least 1.';
  let pruner: PrunerConfig;
  if (form.pruner === 'median') {
    if (!isWhole(form.warmupEpochs, 0)) return 'Warm-up epochs must be a whole number of 0 or more.';
    if (!isWhole(form.minTrials, 1)) return 'Minimum trials must be a whole number of at least 1.';
    pruner = { kind: 'median', warmupEpochs: form.warmupEpochs, minTrials: form.minTrials };
  } else if (form.pruner === 'asha') {
    if (!isWhole(form.minEpochs, 1)) return 'ASHA minimum epochs must be a whole number of at least 1.';
    if (!isWhole(form.reductionFactor, 2)) return 'The reduction factor must be a whole number of at least 2.';
    pruner = { kind: 'asha', minEpochs: form.minEpochs, reductionFactor: form.reductionFactor };
  } else {
    pruner = { kind: 'none' };
  }
  const plan: StudyPlan = {
    space,
    strategy: form.strategy,
    objective: { metric: form.objective },
    maxTrials: form.maxTrials,
    maxMinutes: form.maxMinutes,
    seed: form.seed,
    pruner,
    ...(form.strategy === 'grid' ? { gridFloatSteps: form.gridSteps! } : {}),
  };
  return validatePlan(plan) ?? plan;
}

/** A stored trial as the study logic sees it. */

export const FINISHED_STATES = ['complete', 'pruned', 'failed'] as const;
export const finishedCount = (trials: TrialRecord[]) => trials.filter((t) => (FINISHED_STATES as readonly string[]).includes(t.state)).length;

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
      this.trials = [...this.trials.filter((t) => t.number !== trial.number && t.studyId === trial.studyId), trial].sort((a, b) => a.number - b.number);
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
      const outcome = await trainClient.call((api) => api.registerBest(study.id, Comlink.proxy((p: TrainProgress) => {
        this.registerProgress = p;
      })));
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
