// Inference worker: runs model versions for the playground, and moves models in and out as zips.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import './ml/wasm-setup';
import { backendOrder, chooseBackend, unmeasuredAutoOrder, type BackendInfo, type BackendName } from './ml/backend';
import { getVersion, getWeights } from '../src/db/models';
import type { PreprocessConfig } from '../src/contracts/training';
import { toModelPixels } from './ml/pixels';
import { openBackbone, type OpenedBackbone } from './ml/backbone-model';
import { exportVersionZip, importModelZip } from './ml/model-zip';
import { exportFile, prepareExports } from './ml/model-export';
import type { InferApi, PredictResult } from './infer.api';
import { batchPredictCsv } from './ml/batch-predict';
import { prelabelSamples } from './ml/prelabel';
import { checkDrift, predictMonitored, PredictionLogWriter, type MonitoredModel } from './ml/monitoring';

interface Loaded extends MonitoredModel {
  model: tf.LayersModel;
  labels: string[];
  preprocess: PreprocessConfig;
  symmetric: boolean;
  /** Graph-backbone transfer versions: the stored backbone runs first, the version is only the head. */
  backbone?: OpenedBackbone;
}

let backend: BackendInfo | null = null;
const loaded = new Map<string, Loaded>();

async function ensureBackend(preferred: Parameters<InferApi['load']>[1] = 'auto'): Promise<BackendInfo> {
  if (backend && (preferred === 'auto' || preferred === backend.name)) return backend;
  for (const l of loaded.values()) {
    l.model.dispose();
    l.both?.dispose();
    l.backbone?.dispose();
  }
  loaded.clear();
  const allowed: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
  backend = await chooseBackend(preferred === 'auto' ? await unmeasuredAutoOrder(allowed) : backendOrder(preferred, allowed));
  return backend;
}

async function loadVersion(versionId: string): Promise<Loaded> {
  const hit = loaded.get(versionId);
  if (hit) return hit;
  await ensureBackend();
  const [version, weights] = await Promise.all([getVersion(versionId), getWeights(versionId)]);
  if (!version || !weights) throw new Error('That model version no longer exists.');
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: weights.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: weights.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: weights.weightData,
    }),
  );
  const meta = version.meta as { labels: string[]; preprocess: PreprocessConfig; normalization?: string; backboneId?: string };
  let backbone: OpenedBackbone | undefined;
  try {
    if (meta.backboneId) backbone = await openBackbone(meta.backboneId);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const entry: Loaded = { model, labels: meta.labels, preprocess: meta.preprocess, symmetric: meta.normalization === '-1..1', backbone };
  loaded.set(versionId, entry);
  return entry;
}

function topOf(values: ArrayLike<number>, labels: string[], topK: number) {
  return Array.from(values, (confidence, i) => ({ label: labels[i] ?? String(i), confidence }))
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, topK);
}

async function predictLogged(
  versionId: string,
  image: Blob,
  topK: number,
  writer: PredictionLogWriter,
  source: 'playground' | 'batch',
  fileName: string,
) {
  const m = await loadVersion(versionId);
  const p = await predictMonitored(m, image);
  const top = topOf(p.probs, m.labels, topK);
  await writer.add(
    {
      at: Date.now(),
      versionId,
      source,
      fileName,
      predicted: top[0]?.label ?? '',
      confidence: top[0]?.confidence ?? 0,
      latencyMs: p.latencyMs,
      stats: p.stats,
      sketch: p.sketch,
    },
    image,
  );
  return { top, latencyMs: p.latencyMs };
}

async function predictPlain(versionId: string, image: Blob, topK: number): Promise<PredictResult> {
  const m = await loadVersion(versionId);
  const pixels = await toModelPixels(image, image.type, m.preprocess);
  const t0 = performance.now();
  const probs = tf.tidy(() => {
    const { inputSize, channels } = m.preprocess;
    let x = tf.tensor4d(pixels, [1, inputSize, inputSize, channels], 'float32').div(255);
    if (m.symmetric) x = x.mul(2).sub(1);
    return (m.model.predict(m.backbone ? m.backbone.embed(x as tf.Tensor4D) : x) as tf.Tensor).squeeze();
  });
  const values = await probs.data();
  probs.dispose();
  const latencyMs = performance.now() - t0;
  return { top: topOf(values, m.labels, topK), latencyMs };
}

const api = {
  async load(versionId, preferred = 'auto') {
    const info = await ensureBackend(preferred);
    await loadVersion(versionId);
    return info;
  },

  async predictBatch(versionId, source, onProgress, log) {
    const writer = log ? new PredictionLogWriter(log.projectId) : null;
    const { csv, predicted, skipped } = await batchPredictCsv(
      source,
      (image, path) => (writer ? predictLogged(versionId, image, 3, writer, 'batch', path) : predictPlain(versionId, image, 3)),
      onProgress,
    );
    await writer?.flush();
    const drift = log && predicted > 0 ? await checkDrift(log.projectId, versionId, await loadVersion(versionId)) : null;
    return { csv: new Blob([csv], { type: 'text/csv' }), predicted, skipped, drift };
  },

  async checkDrift(projectId, versionId) {
    return checkDrift(projectId, versionId, await loadVersion(versionId));
  },

  async predict(versionId, image, topK = 3, log) {
    if (!log) return predictPlain(versionId, image, topK);
    const writer = new PredictionLogWriter(log.projectId);
    const result = await predictLogged(versionId, image, topK, writer, 'playground', log.fileName ?? 'image');
    await writer.flush();
    return result;
  },

  async prelabel(projectId, versionId, sampleIds, onProgress) {
    const m = await loadVersion(versionId);
    return prelabelSamples(projectId, versionId, m, sampleIds, onProgress);
  },

  exportZip: (versionId) => exportVersionZip(versionId),

  async prepareExports(versionId) {
    await ensureBackend();
    return prepareExports(versionId);
  },

  async exportFile(versionId, formatId) {
    await ensureBackend();
    return exportFile(versionId, formatId);
  },

  async importZip(projectId, zip) {
    await ensureBackend();
    return importModelZip(projectId, zip);
  },

  tensorCount: () => tf.memory().numTensors,
} satisfies InferApi;

Comlink.expose(api);
