// The Train stage's state: settings, the live run (progress, charts), and past runs to resume.
import * as Comlink from 'comlink';
import { trainClient } from '../clients/ml-clients';
import { listRuns } from '../db/runs';
import type { EpochMetrics, TrainRunRecord } from '../db/schema';
import { DEFAULT_SETTINGS, validateSettings, type TrainSettings } from '../lib/train/train-config';
import type { TrainOutcome, TrainProgress } from '../../workers/train.api';

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
    this.progress = null;
    this.batchSteps = [];
    this.batchLoss = [];
    this.batchAcc = [];
    this.epochs = history;
  }

  private onProgress = (p: TrainProgress) => {
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
    const settings = $state.snapshot(this.settings) as TrainSettings;
    await this.finish(projectId, () => trainClient.call((api) => api.start(projectId, settings, Comlink.proxy(this.onProgress))));
  }

  async resume(run: TrainRunRecord): Promise<void> {
    this.begin(run.projectId, run.history);
    await this.finish(run.projectId, () => trainClient.call((api) => api.resume(run.id, Comlink.proxy(this.onProgress))));
  }

  private async finish(projectId: string, work: () => Promise<TrainOutcome>): Promise<void> {
    const before = await trainClient.call((api) => api.tensorCount()).catch(() => null);
    try {
      this.outcome = await work();
      if (this.outcome.state === 'failed' || this.outcome.state === 'diverged') this.error = this.outcome.message;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    } finally {
      const after = await trainClient.call((api) => api.tensorCount()).catch(() => null);
      this.tensors = before !== null && after !== null ? { before, after } : null;
      this.running = false;
      this.stopping = false;
      await this.loadRuns(projectId);
    }
  }

  stop(): void {
    if (!this.running) return;
    this.stopping = true;
    void trainClient.api.stop();
  }
}

export const training = new TrainManager();
