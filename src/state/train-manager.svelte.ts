// The Train stage's state: settings, the live run (progress, charts), and past runs to resume.
import * as Comlink from 'comlink';
import { trainClient } from '../clients/ml-clients';
import { WorkerDiedError } from '../clients/worker-client';
import { getRun, listRuns } from '../db/runs';
import type { EpochMetrics } from '../contracts/training';
import type { TrainRunRecord } from '../contracts/records';
import { DEFAULT_SETTINGS, validateSettings, type TrainSettings } from '../lib/train/train-config';
import type { GpuLoss, TrainOutcome, TrainProgress } from '../../workers/train.api';
import type { BackendName } from '../contracts/backend';
import { errorMessage } from '../lib/util/errors';

const BACKEND_LABEL: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** What the notice says once a run interrupted by a GPU loss has resumed on `now`. */
function gpuLossNotice(loss: GpuLoss, now: BackendName | null): string {
  const was = BACKEND_LABEL[loss.backend];
  const lost = `The GPU was lost (${loss.reason}); the run stopped after epoch ${loss.epoch}`;
  if (now === null) return `${lost}. Resuming from that checkpoint on a fresh backend…`;
  if (now === loss.backend)
    return `${lost} and resumed from that checkpoint on ${was} with a fresh ${loss.backend === 'webgl' ? 'WebGL context' : 'device'}.`;
  return `${lost} and resumed from that checkpoint on ${BACKEND_LABEL[now]} instead of ${was} (${was} could not start again); expect it to be slower.`;
}

/** A worker that died (threw, was stopped or stopped answering) while the Train stage used it. */
export interface WorkerFailure {
  worker: string;
  reason: string;
  projectId: string;
  /** The run it was working on, resumed from its checkpoint by Retry (null: start again). */
  runId: string | null;
}

class TrainManager {
  settings = $state<TrainSettings>({ ...DEFAULT_SETTINGS });
  running = $state(false);
  stopping = $state(false);
  projectId = $state<string | null>(null);
  progress = $state<TrainProgress | null>(null);
  batchSteps = $state<number[]>([]);
  batchLoss = $state<number[]>([]);
  batchAcc = $state<number[]>([]);
  epochs = $state<EpochMetrics[]>([]);
  outcome = $state<TrainOutcome | null>(null);
  error = $state<string | null>(null);
  runs = $state<TrainRunRecord[]>([]);
  /** tf.memory().numTensors in the training worker before and after the last run (leak check). */
  tensors = $state<{ before: number; after: number } | null>(null);
  interrupted = $state<TrainRunRecord[]>([]);
  /** A notice about a recovery (GPU lost, run resumed on another or a fresh backend). */
  notice = $state<string | null>(null);
  /** Set when the training worker died; the Train stage offers Retry. */
  failure = $state<WorkerFailure | null>(null);
  /** The run being trained (from its progress), so a Retry can resume it. */
  private currentRunId: string | null = null;
  /** A GPU loss resumes automatically once per user action; a second loss is left to the user. */
  private gpuLoss: GpuLoss | null = null;
  private autoResumed = false;
  /** Set by projectDeleted(): the message the running run ends with, whatever its outcome. */
  private deletedMessage: { projectId: string | null; message: string } | null = null;

  get settingsProblem(): string | null {
    return validateSettings(this.settings);
  }

  async loadRuns(projectId: string): Promise<void> {
    const runs = await listRuns(projectId);
    const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
    // Tuning trials belong to their study (the Tune stage), not to the Train stage's run list.
    const own = runs.filter((r) => !(r.config as { trial?: boolean }).trial);
    this.runs = own;
    this.interrupted = own.filter(
      (r) => (r.state === 'running' && !held.has(`trainyard-train-${r.id}`)) || r.state === 'stopped' || r.state === 'interrupted',
    );
  }

  private begin(projectId: string, history: EpochMetrics[] = []) {
    this.projectId = projectId;
    this.running = true;
    this.stopping = false;
    this.outcome = null;
    this.error = null;
    this.failure = null;
    this.progress = null;
    this.batchSteps = [];
    this.batchLoss = [];
    this.batchAcc = [];
    this.epochs = history;
  }

  private onProgress = (p: TrainProgress) => {
    this.currentRunId = p.runId;
    this.progress = p;
    if (p.batch) {
      this.batchSteps = [...this.batchSteps, p.batch.step];
      this.batchLoss = [...this.batchLoss, p.batch.loss];
      this.batchAcc = [...this.batchAcc, p.batch.acc];
    }
    if (p.epochMetrics) this.epochs = [...this.epochs.filter((e) => e.epoch < p.epochMetrics!.epoch), p.epochMetrics];
  };

  async start(projectId: string): Promise<void> {
    const problem = this.settingsProblem;
    if (problem) {
      this.error = problem;
      return;
    }
    this.begin(projectId);
    this.resetRecovery();
    const settings = $state.snapshot(this.settings) as TrainSettings;
    await this.finish(projectId, null, () => trainClient.call((api) => api.start(projectId, settings, Comlink.proxy(this.onProgress))));
  }

  async resume(run: TrainRunRecord): Promise<void> {
    this.resetRecovery();
    await this.continueRun(run);
  }

  private resetRecovery(): void {
    this.notice = null;
    this.gpuLoss = null;
    this.autoResumed = false;
  }

  private async continueRun(run: TrainRunRecord): Promise<void> {
    this.begin(run.projectId, run.history);
    await this.finish(run.projectId, run.id, () => trainClient.call((api) => api.resume(run.id, Comlink.proxy(this.onProgress))));
  }

  /** After a worker failure: a fresh worker, and the run resumes from its last checkpoint. */
  async retry(): Promise<void> {
    const f = this.failure;
    if (!f || this.running) return;
    this.failure = null;
    trainClient.stop(); // normally already gone; make sure the next call starts a fresh worker
    const run = f.runId ? await getRun(f.runId) : undefined;
    if (run && run.state !== 'completed') await this.continueRun(run);
    else await this.start(f.projectId);
  }

  private async finish(projectId: string, runId: string | null, work: () => Promise<TrainOutcome>): Promise<void> {
    this.currentRunId = runId;
    let resumeNext: TrainRunRecord | undefined;
    const before = await trainClient.call((api) => api.tensorCount()).catch(() => null);
    try {
      this.outcome = await work();
      const loss = this.outcome.interruption;
      if (loss && !this.autoResumed) {
        // The worker dropped the dead backend; resume once, automatically, on a fresh or fallback one.
        this.autoResumed = true;
        this.gpuLoss = loss;
        this.notice = gpuLossNotice(loss, null);
        resumeNext = await getRun(this.outcome.runId);
        if (!resumeNext) this.error = this.outcome.message;
      } else {
        if (this.gpuLoss && !loss) this.notice = gpuLossNotice(this.gpuLoss, this.outcome.backend.name);
        if (this.outcome.state === 'failed' || this.outcome.state === 'diverged' || loss) this.error = this.outcome.message;
        // A run interrupted by a full disk says why (usage and quota) and stays resumable.
        else if (this.outcome.state === 'interrupted' && this.outcome.message?.startsWith('Storage is full'))
          this.error = this.outcome.message;
      }
    } catch (err) {
      if (err instanceof WorkerDiedError) {
        this.failure = { worker: err.worker, reason: err.reason, projectId, runId: this.currentRunId };
      } else {
        this.error = errorMessage(err);
      }
    } finally {
      const after = await trainClient.call((api) => api.tensorCount()).catch(() => null);
      this.tensors = before !== null && after !== null ? { before, after } : null;
      if (!resumeNext) {
        this.running = false;
        this.stopping = false;
      }
      if (this.deletedMessage?.projectId === projectId) {
        // Whatever the run ended with (stopped, or an error reading data that was deleted), the reason is the deletion.
        this.error = this.deletedMessage.message;
        this.deletedMessage = null;
        this.outcome = null;
        resumeNext = undefined;
        this.running = false;
        this.stopping = false;
      }
      await this.loadRuns(projectId);
    }
    if (resumeNext) await this.continueRun(resumeNext);
  }

  stop(): void {
    if (!this.running) return;
    this.stopping = true;
    void trainClient.api.stop();
  }

  /** The project of the running run was deleted (here or in another tab): stop, and say so once it ends. */
  projectDeleted(message: string): void {
    this.deletedMessage = { projectId: this.projectId, message };
    this.error = message;
    this.stop();
  }
}

export const training = new TrainManager();
