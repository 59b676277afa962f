// Hosts a tuning study in the training worker: each trial is a training run in "trial" mode (no test
// evaluation, no version) whose per-epoch validation value feeds the pruner. Trials are recorded in
// IndexedDB as they start and end; only the best complete trial keeps its final checkpoint, which
// "register best" turns into a model version.
import * as tf from '@tensorflow/tfjs';
import { getRun, saveRun } from '../../src/db/runs';
import { listTrials, saveStudy, saveTrialAndStudy } from '../../src/db/studies';
import type { EpochMetrics } from '../../src/contracts/training';
import type { StudyRecord, TrainRunRecord, TrialRecord } from '../../src/contracts/records';
import { bestTrial, directionOf, trialSummary, type StudyPlan } from '../../src/lib/tune/study';
import { runStudy, type StudyEnd, type TrialResult } from '../../src/lib/tune/runner';
import { applyParams } from '../../src/lib/tune/training-space';
import { withDefaults, type TrainSettings } from '../../src/lib/train/train-config';
import type { StudyGpuLoss, TrainProgress } from '../train.api';
import type { BackendInfo } from './backend';
import { executeRun, type RunConfig } from './train-runner';
import { db } from '../../src/db/open';
import { watchGpu } from './device-watch';
import { errorMessage } from '../../src/lib/util/errors';

export type StudyEvent =
  { kind: 'trial-start'; trial: TrialRecord } | { kind: 'trial-end'; trial: TrialRecord } | { kind: 'progress'; progress: TrainProgress };

export interface StudyControl {
  isStopped(): boolean;
  backend: BackendInfo;
  onEvent(e: StudyEvent): void;
}

/** How a study ended; `interruption` is set when its GPU was lost (the caller drops the dead backend). */
export interface HostedStudy {
  study: StudyRecord;
  end: StudyEnd;
  interruption?: StudyGpuLoss;
  /** Set whenever the GPU was lost while the study ran (even at its very end): drop the backend. */
  gpuLost?: string;
}

class TrialGpuLost extends Error {}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The study's message when its GPU was lost during trial `trial` (it reruns on resume). */
export function gpuLostStudyMessage(reason: string, trial: number): string {
  const after = trial > 1 ? `after trial ${trial - 1}` : 'before its first trial finished';
  return `The GPU was lost (${reason}); the study paused ${after}. Resume study continues on a fresh or fallback backend.`;
}

function objectiveOf(plan: StudyPlan, m: EpochMetrics): number {
  const v = plan.objective.metric === 'valLoss' ? (m.valLoss ?? m.loss) : (m.valAcc ?? m.acc);
  return v;
}

async function deleteRunAndCheckpoint(runId: string): Promise<void> {
  const tx = (await db()).transaction(['runs', 'checkpoints'], 'readwrite');
  await Promise.all([tx.objectStore('runs').delete(runId), tx.objectStore('checkpoints').delete(runId)]);
  await tx.done;
}

/**
 * Runs the study's trials until its budget is used. `runExtras` go into every trial's run config:
 * a pipeline's tune step trains every trial on its dataset version with its augmentation.
 *
 * The GPU is watched the whole time (as a plain run's is): when it is lost, the current trial's
 * pending reads are abandoned (a read from a lost device may never settle), nothing more is stored
 * from it, the trial is recorded 'interrupted' (it reruns on resume) and the study is saved
 * 'paused' with a message naming the loss; the result's `interruption` tells the caller, which
 * drops the dead backend.
 */
export async function hostStudy(
  study: StudyRecord,
  labels: string[],
  ctl: StudyControl,
  runExtras: Pick<RunConfig, 'dataset' | 'augmentation'> = {},
): Promise<HostedStudy> {
  const watch = watchGpu(ctl.backend.name);
  try {
    return await hostWatchedStudy(study, labels, ctl, runExtras, watch);
  } finally {
    watch.dispose();
  }
}

async function hostWatchedStudy(
  study: StudyRecord,
  labels: string[],
  ctl: StudyControl,
  runExtras: Pick<RunConfig, 'dataset' | 'augmentation'>,
  watch: ReturnType<typeof watchGpu>,
): Promise<HostedStudy> {
  const plan = study.plan as StudyPlan;
  const base = withDefaults(study.baseSettings as Partial<TrainSettings>);
  let current: StudyRecord = { ...study, state: 'running', message: null };
  await saveStudy(current);
  const lostSignal = watch.whenLost.then((reason) => {
    throw new TrialGpuLost(reason);
  });
  lostSignal.catch(() => undefined);
  const isStopped = () => ctl.isStopped() || watch.lost() !== null;
  let interruption: StudyGpuLoss | undefined;
  const sessionStart = performance.now();
  const elapsedBefore = study.elapsedMs;
  const elapsed = () => elapsedBefore + (performance.now() - sessionStart);
  const records = new Map((await listTrials(study.id)).map((t) => [t.number, t]));

  const end = await runStudy(plan, {
    loadTrials: async () => [...records.values()].map(trialSummary),
    elapsedMs: elapsed,
    isStopped,
    runTrial: async (number, params, report) => {
      const settings = applyParams(base, params, plan.seed + number);
      const previous = records.get(number);
      // A rerun of a cut trial starts clean: its half-trained run is dropped.
      if (previous?.runId) await deleteRunAndCheckpoint(previous.runId);
      const startedAt = Date.now();
      const t0 = performance.now();
      const tensorsBefore = tf.memory().numTensors;
      const now = Date.now();
      const run: TrainRunRecord = {
        id: crypto.randomUUID(),
        projectId: study.projectId,
        state: 'running',
        createdAt: now,
        updatedAt: now,
        config: { settings, labels, trial: true, origin: { studyId: study.id, trialNumber: number }, ...runExtras } satisfies RunConfig,
        history: [],
        checkpointEpoch: 0,
        backend: ctl.backend.name,
        adapter: ctl.backend.adapter,
        message: null,
        versionId: null,
      };
      let trial: TrialRecord = {
        studyId: study.id,
        number,
        params,
        settings,
        state: 'running',
        history: [],
        values: [],
        value: null,
        message: null,
        startedAt,
        durationMs: 0,
        backend: ctl.backend.name,
        runId: run.id,
        tensorsBefore,
        tensorsAfter: null,
      };
      records.set(number, trial);
      await saveRun(run);
      await saveTrialAndStudy(trial, { ...current, elapsedMs: elapsed() });
      ctl.onEvent({ kind: 'trial-start', trial });
      const values: number[] = [];
      let pruneReason: string | null = null;
      let finished: TrainRunRecord;
      let running: Promise<TrainRunRecord> | undefined;
      let lost: string | null;
      try {
        running = executeRun(
          run,
          {
            isStopped,
            backend: ctl.backend,
            onProgress: (progress) => {
              if (watch.lost() === null) ctl.onEvent({ kind: 'progress', progress });
            },
            abandoned: () => watch.lost() !== null,
          },
          {
            afterEpoch: (m) => {
              if (watch.lost() !== null) return null;
              const value = objectiveOf(plan, m);
              values.push(value);
              pruneReason = report(value);
              return pruneReason;
            },
          },
        );
        running.catch(() => undefined);
        // GPU loss: stop waiting at once; the abandoned trial winds down at its next batch.
        finished = await Promise.race([running, lostSignal]);
        lost = watch.lost();
      } catch (err) {
        // Errors from a dying GPU can arrive before its loss event: wait a moment for it.
        lost = watch.lost() ?? (await watch.settle(500));
        finished = { ...run, state: 'failed', message: errorMessage(err) };
      }
      if (lost) {
        // Nothing more is stored from the cut trial: it is recorded interrupted and reruns on resume.
        await Promise.race([running?.catch(() => undefined), sleep(3000)]);
        const stored = await getRun(run.id).catch(() => undefined);
        interruption = { kind: 'gpu-lost', reason: lost, epoch: stored?.checkpointEpoch ?? 0, backend: ctl.backend.name, trial: number };
        finished = { ...(stored ?? run), state: 'interrupted', message: `The GPU was lost (${lost}) during this trial.` };
        pruneReason = null;
      } else if (finished.state === 'trained' && finished.checkpointEpoch === 0) {
        // Every epoch's weights were NaN/Inf, so none was checkpointed (a backend may clamp the
        // NaN out of the loss itself): the trial diverged; it has no usable weights.
        finished = {
          ...finished,
          state: 'diverged',
          message: 'The weights became NaN or infinite in every epoch: training diverged. Try a lower learning rate.',
        };
      }
      await saveRun(finished);
      const tensorsAfter = lost ? null : tf.memory().numTensors;
      const result: TrialResult = lost
        ? { state: 'interrupted', values, value: null, message: `The GPU was lost (${lost}); the trial runs again on resume.` }
        : pruneReason !== null
          ? { state: 'pruned', values, value: values.at(-1) ?? null, message: pruneReason }
          : finished.state === 'trained'
            ? { state: 'complete', values, value: values.at(-1) ?? null, message: finished.message }
            : finished.state === 'diverged' || finished.state === 'failed'
              ? { state: 'failed', values, value: null, message: finished.message ?? 'The trial failed.' }
              : { state: 'interrupted', values, value: null, message: 'Stopped before the trial finished; it runs again on resume.' };
      trial = {
        ...trial,
        state: result.state,
        values,
        value: result.value,
        message: result.message,
        history: finished.history,
        durationMs: performance.now() - t0,
        tensorsAfter,
      };
      records.set(number, trial);
      // Keep checkpoints only for the best complete trial (and a cut one, harmlessly replaced on rerun).
      const best = bestTrial(plan, [...records.values()].map(trialSummary));
      for (const r of records.values()) {
        if (r.runId && r.number !== best?.number && r.state !== 'running') {
          await deleteRunAndCheckpoint(r.runId);
          if (r.number !== number) records.set(r.number, { ...r, runId: null });
        }
      }
      if (trial.runId && best?.number !== number) trial = { ...trial, runId: null };
      records.set(number, trial);
      current = { ...current, elapsedMs: elapsed() };
      await saveTrialAndStudy(trial, current);
      for (const r of records.values()) if (r.number !== number) await saveTrialAndStudy(r, current);
      ctl.onEvent({ kind: 'trial-end', trial });
      return result;
    },
  });
  const messages: Record<StudyEnd, string> = {
    budget: 'The budget is used up.',
    exhausted: 'Every point of the grid was tried.',
    stopped: 'Stopped. Resume continues with the next trial (a cut trial runs again).',
  };
  const lostLate = watch.lost();
  if (lostLate && !interruption && end === 'stopped') {
    // Lost between trials: none was cut; the next one starts on resume.
    const next = [...records.values()].reduce((n, t) => Math.max(n, t.number), 0) + 1;
    interruption = { kind: 'gpu-lost', reason: lostLate, epoch: 0, backend: ctl.backend.name, trial: next };
  }
  const message = interruption ? gpuLostStudyMessage(interruption.reason, interruption.trial) : messages[end];
  current = { ...current, state: end === 'stopped' ? 'paused' : 'done', elapsedMs: elapsed(), message };
  await saveStudy(current);
  return { study: current, end, ...(interruption ? { interruption } : {}), ...(lostLate ? { gpuLost: lostLate } : {}) };
}

/** Direction-aware best complete trial of a stored study. */
export async function bestStoredTrial(study: StudyRecord): Promise<TrialRecord | null> {
  const trials = await listTrials(study.id);
  const best = bestTrial(study.plan as StudyPlan, trials.map(trialSummary));
  return best ? (trials.find((t) => t.number === best.number) ?? null) : null;
}

/** The run holding the best trial's final checkpoint, ready to be evaluated and saved as a version. */
export async function runForRegistration(study: StudyRecord, trial: TrialRecord): Promise<TrainRunRecord> {
  if (!trial.runId) throw new Error(`Trial ${trial.number}'s weights were not kept.`);
  const run = await getRun(trial.runId);
  if (!run || run.state !== 'trained') throw new Error(`Trial ${trial.number}'s weights are no longer stored.`);
  const config = run.config as RunConfig;
  const plan = study.plan as StudyPlan;
  return {
    ...run,
    config: {
      ...config,
      trial: false,
      // Training is done: the loop runs no epoch and goes straight to evaluation and saving.
      settings: { ...config.settings, epochs: run.checkpointEpoch },
      // The version's timings count the trial's own training time (this run trains no epoch).
      priorTrainMs: trial.durationMs,
      origin: {
        studyId: study.id,
        studyName: study.name,
        trialNumber: trial.number,
        params: trial.params,
        objective: plan.objective.metric,
        direction: directionOf(plan.objective),
        value: trial.value,
      },
    } satisfies RunConfig,
  };
}
