// Inference worker: runs model versions for the playground, and moves models in and out as zips.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { backendOrder, chooseBackend, type BackendInfo } from './ml/backend';
import { getVersion, getWeights } from '../src/db/models';
import type { PreprocessConfig } from '../src/db/schema';
import { toModelPixels } from './ml/pixels';
import { openBackbone, type OpenedBackbone } from './ml/backbone-model';
import { exportVersionZip, importModelZip } from './ml/model-zip';
import type { InferApi } from './infer.api';
import { batchPredictCsv } from './ml/batch-predict';
import { prelabelSamples } from './ml/prelabel';

// The .wasm files are bundled (and precached) by Vite; never fetched from a CDN.
setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });

interface Loaded {
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
    l.backbone?.dispose();
  }
  loaded.clear();
  backend = await chooseBackend(backendOrder(preferred, ['webgpu', 'webgl', 'wasm', 'cpu']));
  return backend;
}

async function loadVersion(versionId: string): Promise<Loaded> {
  const hit = loaded.get(versionId);
  if (hit) return hit;
  await ensureBackend();
  const [version, weights] = await Promise.all([getVersion(versionId), getWeights(versionId)]);
  if (!version || !weights) throw new Error('That model version no longer exists.');
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: weights.modelTopology as tf.io.ModelJSON['modelTopology'], weightSpecs: weights.weightSpecs as tf.io.WeightsManifestEntry[], weightData: weights.weightData }),
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

const api = {
  async load(versionId, preferred = 'auto') {
    const info = await ensureBackend(preferred);
    await loadVersion(versionId);
    return info;
  },

  async predictBatch(versionId, source, onProgress) {
    const { csv, predicted, skipped } = await batchPredictCsv(source, (image) => api.predict(versionId, image, 3), onProgress);
    return { csv: new Blob([csv], { type: 'text/csv' }), predicted, skipped };
  },

  async predict(versionId, image, topK = 3) {
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
    const top = [...values]
      .map((confidence, i) => ({ label: m.labels[i] ?? String(i), confidence }))
      .sort((a, b) => b.confidence - a.confidence)
      .slice(0, topK);
    return { top, latencyMs };
  },

  async prelabel(projectId, versionId, sampleIds, onProgress) {
    const m = await loadVersion(versionId);
    return prelabelSamples(projectId, versionId, m, sampleIds, onProgress);
  },

  exportZip: (versionId) => exportVersionZip(versionId),

  async importZip(projectId, zip) {
    await ensureBackend();
    return importModelZip(projectId, zip);
  },

  tensorCount: () => tf.memory().numTensors,
} satisfies InferApi;

Comlink.expose(api);
