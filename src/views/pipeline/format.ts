// Text for the Pipeline stage: step names, progress, run outcomes and compact step outputs.
import type { StepKind } from '../../lib/pipeline/definition';
import type { PipelineRunRecord, StepRun } from '../../lib/pipeline/runner';
import type { TrainProgress } from '../../../workers/train.api';
import { formatDuration } from '../../lib/util/format';

/** One box of the step chain. */
export interface ChainStep {
  stepId: string;
  kind: string;
  /** pending, running, done, cached, skipped, failed, cancelled (or interrupted). */
  state: string;
  progress?: TrainProgress | null;
}

export const STEP_PURPOSE: Record<StepKind, string> = {
  validate: 'check the labeled data',
  snapshot: 'freeze the labeled images',
  split: 'assign train / validation / test (makes a dataset version)',
  preprocess: 'resize and cache model inputs',
  train: 'train a model',
  evaluate: 'score it on the test split',
  gate: 'compare with the model in production',
  register: 'save it as a model version',
  promote: 'move the alias to it',
};

export const TRIGGER_NAMES: Record<PipelineRunRecord['trigger']['kind'], string> = {
  manual: 'manual',
  'new-labels': 'new labels',
  'drift-alert': 'drift alert',
  resume: 'resume',
};

/** What a running step is doing, from the training worker's progress. */
export function progressText(p: TrainProgress): string {
  if (p.phase === 'training') return `epoch ${p.epoch} of ${p.epochs}, batch ${p.done} of ${p.total}`;
  if (p.phase === 'preprocessing') return p.total > 0 ? `preparing images ${p.done} of ${p.total}` : 'preparing images';
  return p.phase;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString();
}

export function when(at: number): string {
  return new Date(at).toLocaleString();
}

export function runDuration(run: PipelineRunRecord, running: boolean): string {
  if (running) return 'running';
  return formatDuration(Math.max(0, run.updatedAt - run.createdAt));
}

export function stepDuration(step: StepRun): string {
  if (step.state === 'pending' || step.state === 'skipped' || step.startedAt === null) return '–';
  if (step.state === 'running') return 'running';
  if (step.state === 'cached') return 'cached';
  return formatDuration(step.durationMs);
}

const done = (s: StepRun | undefined) => !!s && (s.state === 'done' || s.state === 'cached');

/** Registered version, promotion, or why the run stopped. */
export function runOutcome(run: PipelineRunRecord, shownState: string): string {
  const parts: string[] = [];
  const register = run.steps.find((s) => s.kind === 'register');
  const promote = run.steps.find((s) => s.kind === 'promote');
  if (done(register) && register!.outputs?.number != null) parts.push(`registered version ${String(register!.outputs.number)}`);
  if (done(promote)) {
    const out = promote!.outputs ?? {};
    const alias = String(out.alias ?? 'production');
    parts.push(out.previous === out.versionId ? `already “${alias}”` : `promoted to “${alias}”`);
  }
  if (shownState === 'interrupted' && run.state === 'running') parts.push('cut off (the tab closed or reloaded); it can be resumed');
  else if (run.message) parts.push(run.message);
  if (parts.length === 0) {
    if (shownState === 'running') return '…';
    if (shownState === 'succeeded') return 'succeeded';
    return '–';
  }
  return parts.join(' · ');
}

function shortText(text: string, max = 60): string {
  // Hashes and ids: the first characters tell them apart.
  if (/^[0-9a-f]{32,}$/i.test(text) || /^[0-9a-f-]{36}$/i.test(text)) return `${text.slice(0, 10)}…`;
  if (/^artifact:snapshot:[0-9a-f]+$/.test(text)) return `${text.slice(0, 27)}…`;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function shortNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return Number(n.toPrecision(4)).toString();
}

/** One output value in a line: numbers rounded, ids shortened, objects as short JSON. */
export function formatOutput(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') return shortNumber(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return shortText(value);
  if (Array.isArray(value)) {
    if (value.length > 6) return `${value.length} items`;
    return shortText(value.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : formatOutput(v))).join(', '), 120);
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > 12) return `${entries.length} entries`;
    return shortText(
      entries.map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : formatOutput(v)}`).join(', '),
      160,
    );
  }
  return shortText(String(value));
}

/** The training kit export's phases, as shown beside its progress. */
export const KIT_PHASES = {
  preprocessing: 'Preparing pixels',
  arrays: 'Writing arrays',
  images: 'Adding images',
  zipping: 'Zipping',
} as const;
