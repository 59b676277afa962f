// Training worker: picks a backend once, then runs, stops and resumes training runs.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import './ml/wasm-setup';
import { backendOrder, chooseBackend, type BackendInfo, type BackendName } from './ml/backend';
import { backendRanking, describeProbe } from './ml/backend-probe';
import { executeRun, trainableSamples, type RunConfig, type RunHooks } from './ml/train-runner';
import { getRun, saveRun } from '../src/db/runs';
import { getProject } from '../src/db/projects';
import { ProjectDeletedError } from '../src/db/project-guard';
import { deleteBackbone, listBackbones } from '../src/db/backbones';
import { downloadCatalogBackbone, importBackbone } from './ml/backbone-model';
import { catalogEntry } from '../src/lib/ml/backbone-catalog';
import type { TrainRunRecord } from '../src/contracts/records';
import type { TrainSettings } from '../src/lib/train/train-config';
import type {
  DebugFault,
  GpuLoss,
  LabelQualityProgress,
  LabelQualityReport,
  StartOptions,
  StudyEvent,
  StudyOutcome,
  TrainApi,
  TrainOutcome,
  TrainProgress,
} from './train.api';
import { dropBackend, loseGpu, watchGpu } from './ml/device-watch';
import { getStudy, saveStudy } from '../src/db/studies';
import { describeTrainingWriteFailure } from '../src/db/storage-errors';
import type { StudyRecord } from '../src/contracts/records';
import { bestStoredTrial, hostStudy, runForRegistration, type HostedStudy, type StudyControl } from './ml/study-host';
import { checkLabels } from './ml/label-quality';
import { withDefaults } from '../src/lib/train/train-config';
import { hostPipelineRun, planPipeline, type PipelineEvent, type TriggerInfo } from './ml/pipeline-host';
import { getPipeline, getPipelineRun } from '../src/db/pipelines';
import { GPU_LOST_ERROR_NAME, resumableRun, type PipelineRunRecord } from '../src/lib/pipeline/runner';
import { errorMessage } from '../src/lib/util/errors';
import { cpuThreads } from '../src/lib/ml/data-parallel/threads';

let backend: BackendInfo | null = null;
let stopped = false;
let busy = false;
/** The catalog download in progress: cancelDownload() aborts it. */
let download: AbortController | null = null;

const TRAINING_BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * A named backend first (falling back in the usual order); "automatic" takes the fastest this
 * device measured (backend-probe.ts, once per device), and says why the others were not used.
 */
async function ensureBackend(preferred: TrainSettings['backend']): Promise<BackendInfo> {
  if (backend && (preferred === 'auto' || preferred === backend.name)) return backend;
  if (preferred !== 'auto') {
    backend = await chooseBackend(backendOrder(preferred, TRAINING_BACKENDS));
    return backend;
  }
  const probe = await backendRanking(TRAINING_BACKENDS);
  const info = await chooseBackend(probe.ranking);
  const others = probe.results
    .filter((r) => r.name !== info.name && !info.fallbacks.some((f) => f.name === r.name))
    .map((r) =>
      r.imagesPerSecond === null
        ? { name: r.name, reason: r.reason ?? 'did not start' }
        : {
            name: r.name,
            reason: `measured slower here (${Math.round(r.imagesPerSecond).toLocaleString('en-US')} images/s)`,
            slower: true,
          },
    );
  backend = { ...info, fallbacks: [...info.fallbacks, ...others], probe: describeProbe(probe) };
  return backend;
}

class GpuLostError extends Error {}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function go(run: TrainRunRecord, onProgress: (p: TrainProgress) => void): Promise<TrainOutcome> {
  if (busy) throw new Error('A training run is already going in this tab.');
  busy = true;
  stopped = false;
  try {
    return (await watchedRun(run, onProgress, () => stopped)).outcome;
  } finally {
    busy = false;
  }
}

/**
 * One training run on the chosen backend, watched for GPU loss and a full disk; the record is
 * stored at the start and the end. Used by plain runs and by pipeline steps.
 */
async function watchedRun(
  run: TrainRunRecord,
  onProgress: (p: TrainProgress) => void,
  isStopped: () => boolean,
  hooks?: RunHooks,
): Promise<{ record: TrainRunRecord; outcome: TrainOutcome }> {
  const settings = (run.config as RunConfig).settings;
  const info = await ensureBackend(settings.backend);
  // Data-parallel training threads on WASM (issue #20), only where a setting asks for them: the
  // path is tested for exact results but its speed has not yet been measured in the app on a
  // machine with more than 2 cores, so "automatic" (0 or absent) still trains on this thread.
  const requestedThreads = withDefaults(settings).cpuThreads;
  const threads = info.name === 'wasm' && requestedThreads ? cpuThreads(navigator.hardwareConcurrency, requestedThreads) : 1;
  run = {
    ...run,
    backend: info.name,
    adapter: threads > 1 ? `${info.adapter ?? 'WASM'}; ${threads} training threads` : info.adapter,
    state: 'running',
  };
  await saveRun(run);
  // GPU loss: the loop stops at once, its pending reads are abandoned (a read from a lost
  // device may never settle) and nothing more is stored from it.
  const watch = watchGpu(info.name);
  const lostSignal = watch.whenLost.then((reason) => {
    throw new GpuLostError(reason);
  });
  lostSignal.catch(() => undefined);
  const job: { running?: Promise<TrainRunRecord> } = {};
  let result: TrainRunRecord;
  let lost: string | null = null;
  try {
    result = await navigator.locks.request(`trainyard-train-${run.id}`, () => {
      job.running = executeRun(
        run,
        {
          isStopped: () => isStopped() || watch.lost() !== null,
          onProgress: (p) => {
            if (watch.lost() === null) onProgress(p);
          },
          backend: info,
          abandoned: () => watch.lost() !== null,
          cpuThreads: threads,
        },
        hooks,
      );
      job.running.catch(() => undefined);
      return Promise.race([job.running, lostSignal]);
    });
    if (result.state !== 'completed') lost = watch.lost();
  } catch (err) {
    // Errors from a dying GPU can arrive before its loss event: wait a moment for it.
    lost = watch.lost() ?? (await watch.settle(500));
    // A full disk while saving a checkpoint or the model: say so with usage and quota, and keep
    // the run resumable from the last checkpoint that did land.
    const stored = await getRun(run.id).catch(() => undefined);
    const full = await describeTrainingWriteFailure(err, stored?.checkpointEpoch ?? run.checkpointEpoch);
    result = full ? { ...(stored ?? run), state: 'interrupted', message: full } : { ...run, state: 'failed', message: errorMessage(err) };
  } finally {
    watch.dispose();
  }
  let interruption: GpuLoss | undefined;
  if (lost) {
    // Let the abandoned loop wind down (it stops at its next batch) before its backend goes.
    await Promise.race([job.running?.catch(() => undefined), sleep(3000)]);
    backend = null;
    dropBackend(info.name);
    const stored = (await getRun(run.id)) ?? run;
    interruption = { kind: 'gpu-lost', reason: lost, epoch: stored.checkpointEpoch, backend: info.name };
    result = {
      ...stored,
      state: 'interrupted',
      message: `The GPU was lost (${lost}); the run stopped after epoch ${stored.checkpointEpoch}.`,
    };
  }
  // The project was deleted (in this tab or another) while it trained: whatever the loop ended
  // with (stopped, or data it needed gone), that is the reason; the record is refused by the
  // database (db/project-guard), so nothing of the run is left.
  if (!(await getProject(run.projectId).catch(() => true)))
    result = { ...result, state: 'failed', message: new ProjectDeletedError(run.projectId).message };
  // Best effort: on a full disk even this record may not fit; the outcome still reaches the page.
  await saveRun(result).catch(() => undefined);
  return {
    record: result,
    outcome: {
      runId: result.id,
      state: result.state,
      message: result.message,
      versionId: result.versionId,
      backend: info,
      ...(interruption ? { interruption } : {}),
    },
  };
}

/** Runs one exclusive job (a run, a study, a label check): one at a time per tab. */
async function exclusive<T>(what: string, job: () => Promise<T>): Promise<T> {
  if (busy) throw new Error(`A training job is already going in this tab; wait for it or stop it before ${what}.`);
  busy = true;
  stopped = false;
  try {
    return await job();
  } finally {
    busy = false;
  }
}

async function labelsOf(projectId: string, excludeAutoLabels: boolean): Promise<string[]> {
  const samples = await trainableSamples(projectId, { excludeAutoLabels });
  return [...new Set(samples.map((s) => s.label!))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/** After a GPU loss: forget the dead backend, so the next job initialises a fresh one or falls back. */
function dropLostBackend(info: BackendInfo): void {
  backend = null;
  dropBackend(info.name);
}

/** A study on the chosen backend; hostStudy watches its GPU, and a loss drops the dead backend. */
async function watchedStudy(
  study: StudyRecord,
  labels: string[],
  ctl: Omit<StudyControl, 'backend'>,
  extras?: Pick<RunConfig, 'dataset' | 'augmentation'>,
): Promise<HostedStudy & { backend: BackendInfo }> {
  const info = await ensureBackend(withDefaults(study.baseSettings as Partial<TrainSettings>).backend);
  const hosted = await hostStudy(study, labels, { ...ctl, backend: info }, extras);
  if (hosted.gpuLost) dropLostBackend(info);
  return { ...hosted, backend: info };
}

async function runStudyJob(study: StudyRecord, onEvent: (e: StudyEvent) => void): Promise<StudyOutcome> {
  return exclusive('starting a study', async () => {
    const base = withDefaults(study.baseSettings as Partial<TrainSettings>);
    const labels = await labelsOf(study.projectId, base.excludeAutoLabels);
    const {
      study: result,
      backend: info,
      interruption,
    } = await navigator.locks.request(`trainyard-study-${study.id}`, () =>
      watchedStudy(study, labels, { isStopped: () => stopped, onEvent }),
    );
    return { study: result, backend: info, ...(interruption ? { interruption } : {}) };
  });
}

/**
 * The label check on the chosen backend, watched for GPU loss: on a loss its pending reads are
 * abandoned, nothing is stored, the dead backend is dropped and the check rejects at once.
 */
async function watchedLabelCheck(
  projectId: string,
  settings: TrainSettings,
  folds: number,
  onProgress: (p: LabelQualityProgress) => void,
): Promise<LabelQualityReport> {
  const info = await ensureBackend(settings.backend);
  const watch = watchGpu(info.name);
  const lostSignal = watch.whenLost.then((reason) => {
    throw new GpuLostError(reason);
  });
  lostSignal.catch(() => undefined);
  let job: Promise<LabelQualityReport> | undefined;
  try {
    job = checkLabels(
      projectId,
      settings,
      folds,
      (p) => watch.lost() === null && onProgress(p),
      () => stopped || watch.lost() !== null,
      () => watch.lost() !== null,
    );
    job.catch(() => undefined);
    return await Promise.race([job, lostSignal]);
  } catch (err) {
    // Errors from a dying GPU can arrive before its loss event: wait a moment for it.
    const lost = watch.lost() ?? (await watch.settle(500));
    if (!lost) throw err;
    // Let the abandoned folds wind down (they stop at their next batch) before the backend goes.
    await Promise.race([job?.catch(() => undefined), sleep(3000)]);
    dropLostBackend(info);
    throw new Error(`The GPU was lost during the label check (${lost}). Run it again; it will use a fresh or fallback backend.`, {
      cause: err,
    });
  } finally {
    watch.dispose();
  }
}

function pipelineJob(
  pipelineId: string,
  trigger: TriggerInfo,
  onEvent: (e: PipelineEvent) => void,
  resume?: PipelineRunRecord,
): Promise<PipelineRunRecord> {
  return exclusive('running a pipeline', () =>
    navigator.locks.request(`trainyard-pipeline-${pipelineId}`, { ifAvailable: true }, async (lock) => {
      if (!lock) throw new Error('This pipeline is already running in another tab.');
      return hostPipelineRun(
        pipelineId,
        trigger,
        {
          isCancelled: () => stopped,
          onEvent,
          async train(run, ctl, hooks) {
            const { record, outcome } = await watchedRun(run, ctl.onProgress, ctl.isStopped, hooks);
            if (outcome.interruption) {
              const err = new Error(
                `${outcome.interruption.reason}: the step stopped after epoch ${outcome.interruption.epoch}. Resume the run to continue.`,
              );
              err.name = GPU_LOST_ERROR_NAME;
              throw err;
            }
            if (record.state === 'stopped' && stopped) throw new Error('Cancelled.');
            return record;
          },
          async tune(study, labels, extras, ctl) {
            const hosted = await watchedStudy(
              study,
              labels,
              { isStopped: ctl.isStopped, onEvent: (e) => e.kind === 'progress' && ctl.onProgress(e.progress) },
              extras,
            );
            if (hosted.interruption) {
              // Like a lost GPU in a train step: the pipeline run is interrupted and resumable.
              const err = new Error(
                `${hosted.interruption.reason}: the tuning study “${hosted.study.name}” paused during trial ${hosted.interruption.trial}. Resume the run to continue.`,
              );
              err.name = GPU_LOST_ERROR_NAME;
              throw err;
            }
            return { study: hosted.study, end: hosted.end };
          },
        },
        resume,
      );
    }),
  );
}

const api = {
  async startStudy(projectId, name, plan, baseSettings, onEvent) {
    const now = Date.now();
    const study: StudyRecord = {
      id: crypto.randomUUID(),
      projectId,
      name: name.trim() || 'Study',
      plan,
      baseSettings,
      state: 'running',
      createdAt: now,
      updatedAt: now,
      elapsedMs: 0,
      message: null,
      registeredVersionId: null,
    };
    return runStudyJob(study, onEvent);
  },

  async resumeStudy(studyId, onEvent) {
    const study = await getStudy(studyId);
    if (!study) throw new Error('That study no longer exists.');
    return runStudyJob(study, onEvent);
  },

  async registerBest(studyId, onProgress) {
    const study = await getStudy(studyId);
    if (!study) throw new Error('That study no longer exists.');
    const best = await bestStoredTrial(study);
    if (!best) throw new Error('No trial has completed yet.');
    const run = await runForRegistration(study, best);
    const outcome = await go(run, onProgress);
    if (outcome.versionId) {
      await saveStudy({ ...study, registeredVersionId: outcome.versionId });
    }
    return outcome;
  },

  async checkLabels(projectId, settings, folds, onProgress) {
    return exclusive('checking labels', () => watchedLabelCheck(projectId, settings, folds, onProgress));
  },

  async start(projectId, settings, onProgress, options?: StartOptions) {
    const samples = await trainableSamples(projectId, { excludeAutoLabels: settings.excludeAutoLabels });
    const labels = [...new Set(samples.map((s) => s.label!))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const now = Date.now();
    const run: TrainRunRecord = {
      id: crypto.randomUUID(),
      projectId,
      state: 'running',
      createdAt: now,
      updatedAt: now,
      config: {
        settings,
        labels,
        ...(options?.initFromVersionId ? { init: { versionId: options.initFromVersionId } } : {}),
      } satisfies RunConfig,
      history: [],
      checkpointEpoch: 0,
      backend: 'unknown',
      adapter: null,
      message: null,
      versionId: null,
    };
    return go(run, onProgress);
  },

  async planPipeline(pipelineId) {
    const pipeline = await getPipeline(pipelineId);
    if (!pipeline) throw new Error('That pipeline no longer exists.');
    return planPipeline(pipeline);
  },

  runPipeline: (pipelineId, trigger, onEvent) => pipelineJob(pipelineId, trigger, onEvent),

  async resumePipeline(runId, onEvent) {
    const run = await getPipelineRun(runId);
    if (!run) throw new Error('That pipeline run no longer exists.');
    if (!resumableRun(run)) throw new Error('That pipeline run has nothing left to resume.');
    return pipelineJob(run.pipelineId, { kind: 'resume', detail: `resumed run #${run.number}` }, onEvent, run);
  },

  async resume(runId, onProgress) {
    const run = await getRun(runId);
    if (!run) throw new Error('That run no longer exists.');
    if (run.state === 'completed') throw new Error('That run already finished.');
    if ((run.config as RunConfig).trial) throw new Error('That run is a tuning trial; resume its study instead.');
    return go(run, onProgress);
  },

  stop() {
    stopped = true;
  },

  async importBackbone(source, name, options) {
    if (busy) throw new Error('Wait for the training run to finish before importing a backbone.');
    await ensureBackend('auto');
    return importBackbone(source, name, options);
  },

  listBackbones: () => listBackbones(),

  async downloadCatalogBackbone(entryId, onProgress) {
    if (busy) throw new Error('Wait for the training run to finish before downloading a backbone.');
    if (download) throw new Error('A backbone download is already running.');
    const entry = catalogEntry(entryId);
    if (!entry) throw new Error(`There is no catalog backbone “${entryId}”.`);
    const controller = new AbortController();
    download = controller;
    const started = performance.now();
    let last = 0;
    let trailing: ReturnType<typeof setTimeout> | undefined;
    const send = (received: number, total: number | null) => {
      last = performance.now();
      onProgress({ received, total, elapsedMs: last - started });
    };
    try {
      await ensureBackend('auto');
      return await downloadCatalogBackbone(entry, {
        signal: controller.signal,
        onProgress: (received, total) => {
          // Throttled like training progress: plain numbers, at most every ~120 ms, and the
          // latest value always follows (a stalled download still shows what arrived).
          clearTimeout(trailing);
          const wait = 120 - (performance.now() - last);
          if (wait <= 0 || received === total) send(received, total);
          else trailing = setTimeout(() => send(received, total), wait);
        },
      });
    } finally {
      clearTimeout(trailing);
      download = null;
    }
  },

  cancelDownload() {
    download?.abort();
  },

  async deleteBackbone(id) {
    if (busy) throw new Error('Wait for the training run to finish before deleting a backbone.');
    await deleteBackbone(id);
  },

  ping() {
    return Date.now();
  },

  debugFault(kind: DebugFault) {
    return debugFault(kind);
  },

  tensorCount() {
    // Before a backend is chosen nothing has been allocated, and asking TF.js would start its
    // default (async) backend and throw.
    return backend ? tf.memory().numTensors : 0;
  },
} satisfies TrainApi;

/** Test-only fault injection (see DebugFault in train.api.ts); nothing in the app calls it. */
function debugFault(kind: DebugFault): string {
  if (kind === 'lose-gpu') return `lost the ${loseGpu()} GPU`;
  if (kind === 'crash') {
    setTimeout(() => {
      throw new Error('debugFault("crash"): a deliberate uncaught error, to test recovery');
    }, 0);
    return 'crashing';
  }
  if (kind === 'hang') {
    setTimeout(() => {
      // Blocks this worker's event loop for good: only terminate() ends it.
      for (;;) {
        /* busy */
      }
    }, 0);
    return 'hanging';
  }
  throw new Error(`Unknown fault: ${String(kind)}`);
}

Comlink.expose(api);
// Also reachable from a test driving the worker directly (Playwright's worker.evaluate), so e2e
// tests can inject a fault into the very worker that is training. Test-only, harmless otherwise.
(self as typeof self & { trainyardDebugFault?: (kind: DebugFault) => string }).trainyardDebugFault = debugFault;
