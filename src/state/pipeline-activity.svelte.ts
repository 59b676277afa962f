// The pipeline run going on in this tab (at most one: the training worker runs one job at a time),
// in the module-level `pipelineActivity`: shared by the Pipeline stage's PipelineManager and by
// PipelineTriggerWatcher (which starts runs when a trigger fires, on any stage of an open
// project), so a triggered run shows live on the Pipeline stage.
import * as Comlink from 'comlink';
import { trainClient } from '../clients/ml-clients';
import type { PipelineRunRecord } from '../lib/pipeline/runner';
import type { PipelineEvent, TrainApi, TrainProgress, TriggerInfo } from '../../workers/train.api';
import { errorMessage } from '../lib/util/errors';

/** The worker (or another tab) is busy with another job: a trigger tries again later. */
export function isBusyError(message: string): boolean {
  return /already (going|running)/i.test(message);
}

export const lockName = (pipelineId: string) => `trainyard-pipeline-${pipelineId}`;

export async function heldLocks(): Promise<Set<string>> {
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
  async launch(
    projectId: string,
    pipelineId: string,
    trigger: TriggerInfo,
    startedBy: 'person' | 'trigger',
    start: Starter,
  ): Promise<LaunchResult> {
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
