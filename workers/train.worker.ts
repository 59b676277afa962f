// Training worker: picks a backend once, then runs, stops and resumes training runs.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { backendOrder, chooseBackend, type BackendInfo } from './ml/backend';
import { executeRun, RefusedError, trainableSamples, type RunConfig } from './ml/train-runner';
import { getRun, saveRun } from '../src/db/runs';
import { deleteBackbone, listBackbones } from '../src/db/backbones';
import { importBackbone } from './ml/backbone-model';
import type { TrainRunRecord } from '../src/db/schema';
import type { TrainSettings } from '../src/lib/train/train-config';
import type { TrainApi, TrainOutcome, TrainProgress } from './train.api';

let backend: BackendInfo | null = null;
let stopped = false;
let busy = false;

async function ensureBackend(preferred: TrainSettings['backend']): Promise<BackendInfo> {
  if (backend && (preferred === 'auto' || preferred === backend.name)) return backend;
  backend = await chooseBackend(backendOrder(preferred, ['webgpu', 'webgl', 'cpu']));
  return backend;
}

async function go(run: TrainRunRecord, onProgress: (p: TrainProgress) => void): Promise<TrainOutcome> {
  if (busy) throw new Error('A training run is already going in this tab.');
  busy = true;
  stopped = false;
  const settings = (run.config as RunConfig).settings;
  try {
    const info = await ensureBackend(settings.backend);
    run = { ...run, backend: info.name, adapter: info.adapter, state: 'running' };
    await saveRun(run);
    let result: TrainRunRecord;
    try {
      result = await navigator.locks.request(`trainyard-train-${run.id}`, () =>
        executeRun(run, { isStopped: () => stopped, onProgress, backend: info }),
      );
    } catch (err) {
      const refused = err instanceof RefusedError;
      result = { ...run, state: refused ? 'failed' : 'failed', message: err instanceof Error ? err.message : String(err) };
    }
    await saveRun(result);
    return { runId: result.id, state: result.state, message: result.message, versionId: result.versionId, backend: info };
  } finally {
    busy = false;
  }
}

const api = {
  async start(projectId, settings, onProgress) {
    const samples = await trainableSamples(projectId);
    const labels = [...new Set(samples.map((s) => s.label!))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const now = Date.now();
    const run: TrainRunRecord = {
      id: crypto.randomUUID(),
      projectId,
      state: 'running',
      createdAt: now,
      updatedAt: now,
      config: { settings, labels } satisfies RunConfig,
      history: [],
      checkpointEpoch: 0,
      backend: 'unknown',
      adapter: null,
      message: null,
      versionId: null,
    };
    return go(run, onProgress);
  },

  async resume(runId, onProgress) {
    const run = await getRun(runId);
    if (!run) throw new Error('That run no longer exists.');
    if (run.state === 'completed') throw new Error('That run already finished.');
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

  async deleteBackbone(id) {
    if (busy) throw new Error('Wait for the training run to finish before deleting a backbone.');
    await deleteBackbone(id);
  },

  tensorCount() {
    // Before a backend is chosen nothing has been allocated, and asking TF.js would start its
    // default (async) backend and throw.
    return backend ? tf.memory().numTensors : 0;
  },
} satisfies TrainApi;

Comlink.expose(api);
