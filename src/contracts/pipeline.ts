// Types only: pipeline definitions and runs (src/lib/pipeline decides states; workers/ml/pipeline-host
// runs the steps).
import type { StudyPlan } from './tuning';
import type { ResizeMode, TrainProgress, TrainSettings } from './training';

export type StepKind = 'validate' | 'snapshot' | 'split' | 'preprocess' | 'train' | 'evaluate' | 'gate' | 'register' | 'promote';

export type TrainStepSettings =
  { mode: 'train'; settings: Partial<TrainSettings> } | { mode: 'tune'; settings: Partial<TrainSettings>; plan: StudyPlan };

export interface StepSettings {
  validate: { minPerClass: number; minClasses: number };
  snapshot: { excludeAutoLabels: boolean };
  split: { train: number; val: number; test: number; seed: number };
  /** augmentation: a plain JSON object, checked by the augmentation code, not here. */
  preprocess: { inputSize: number; channels: 1 | 3; resize: ResizeMode; augmentation: unknown };
  /** settings: only what differs from the Train stage defaults ({} = all defaults). */
  train: TrainStepSettings;
  evaluate: Record<string, never>;
  /** Accuracy as fractions: 0.01 = one percentage point. */
  gate: { minImprovement: number; maxClassDrop: number };
  register: Record<string, never>;
  promote: { alias: string };
}

/** One step; a union over kinds, so narrowing on `kind` types `settings`. */
export type StepDefinition<K extends StepKind = StepKind> = K extends StepKind ? { id: string; kind: K; settings: StepSettings[K] } : never;

export type TriggerDefinition =
  { kind: 'manual' } | { kind: 'new-labels'; count: number; enabled: boolean } | { kind: 'drift-alert'; enabled: boolean };

export interface PipelineDefinition {
  format: 'trainyard.pipeline';
  schemaVersion: 1;
  name: string;
  revision: number;
  steps: StepDefinition[];
  triggers: TriggerDefinition[];
}

export interface StepKeyParts {
  stepId: string;
  kind: StepKind;
  /** Hash of { kind, settings }: tells "settings changed" apart from other changes. */
  settingsHash: string;
  /** The previous step's key; null for the first step. */
  upstream: string | null;
  /** The host's description of the step's external inputs (null when it has none). */
  fingerprint: unknown;
  key: string;
}

export type StepAction = 'run' | 'cached';

export interface StepPlan {
  stepId: string;
  kind: StepKind;
  action: StepAction;
  reason: string;
}

export type StepState = 'pending' | 'running' | 'done' | 'cached' | 'skipped' | 'failed' | 'cancelled';

export interface StepLogLine {
  at: number;
  message: string;
}

/** A step's outputs: plain JSON (structured-clone friendly) that only the step's host reads. */
export type StepOutputs = Record<string, unknown>;

export interface StepRun {
  stepId: string;
  kind: StepKind;
  state: StepState;
  /** The cache key the step ran (or was reused) under; null until it starts. */
  key: string | null;
  reason: string;
  startedAt: number | null;
  durationMs: number;
  logs: StepLogLine[];
  /** The runner never looks inside. */
  outputs: StepOutputs | null;
  error: string | null;
}

export type PipelineRunState = 'running' | 'succeeded' | 'rejected' | 'failed' | 'cancelled' | 'interrupted';
export type RunTriggerKind = 'manual' | 'new-labels' | 'drift-alert' | 'resume';

/** What started a pipeline run, and why ("40 new labels"). */
export interface TriggerInfo {
  kind: RunTriggerKind;
  detail: string;
}

/** One run of a pipeline (the `pipelineRuns` store's record). */
export interface PipelineRunRecord {
  id: string;
  pipelineId: string;
  projectId: string;
  number: number;
  /** A copy of the definition as it was when the run started: later edits do not change it. */
  definition: PipelineDefinition;
  trigger: TriggerInfo;
  state: PipelineRunState;
  createdAt: number;
  updatedAt: number;
  steps: StepRun[];
  /** The key parts of the latest start or resume: the next run's plan compares against them. */
  keys: StepKeyParts[];
  message: string | null;
}

/** Which steps of a pipeline would rerun now, and why; and how many samples are labeled. */
export interface PipelinePlan {
  plan: StepPlan[];
  labeled: number;
}

export type PipelineEvent = { kind: 'run'; run: PipelineRunRecord } | { kind: 'progress'; stepId: string; progress: TrainProgress };

export interface GateDecision {
  pass: boolean;
  reasons: string[];
  /** Candidate minus champion accuracy; null without a champion. */
  improvement: number | null;
  /** The class whose recall fell most; null without a champion or when no class fell. */
  worstClass: { name: string; drop: number } | null;
}
