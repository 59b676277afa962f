// Backend choice for a TF.js worker: the first of an ordered list that starts (the training
// worker's order in automatic mode comes from backend-probe.ts). A backend that fails to
// initialise falls back, and the reason is kept for the UI.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';
import { registerWebGpuTrainingKernels } from '../../src/lib/ml/webgpu-training';
import { errorMessage } from '../../src/lib/util/errors';
import type { BackendName, BackendInfo } from '../../src/contracts/backend';
export type { BackendName, BackendInfo };

export async function describeAdapter(name: BackendName): Promise<string | null> {
  try {
    if (name === 'webgpu') {
      const adapter = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter();
      const info = adapter?.info;
      return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : null;
    }
    if (name === 'webgl') {
      const gl = (tf.backend() as { gpgpu?: { gl: WebGL2RenderingContext } }).gpgpu?.gl;
      if (!gl) return null;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    }
    if (name === 'wasm') {
      // XNNPACK's thread count (1 while the threaded build is off: see wasm-setup.ts).
      const threads = getThreadsCount();
      return `WASM, ${threads > 1 ? `${threads} threads` : '1 thread'}`;
    }
    return `JavaScript CPU (${navigator.hardwareConcurrency} cores)`;
  } catch {
    return null;
  }
}

/** True when the WebGPU adapter is a software one (SwiftShader or a fallback adapter). */
export async function softwareWebGpu(): Promise<boolean> {
  const adapter = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter().catch(() => null);
  if (!adapter) return false;
  return (
    !!(adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ||
    /swiftshader/i.test(`${adapter.info?.architecture} ${adapter.info?.description}`)
  );
}

async function checkWebGpu(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) throw new Error('this browser has no WebGPU');
  if (!(await gpu.requestAdapter())) throw new Error('no WebGPU adapter');
}

export async function chooseBackend(order: BackendName[]): Promise<BackendInfo> {
  const fallbacks: BackendInfo['fallbacks'] = [];
  for (const name of order) {
    try {
      if (!tf.findBackendFactory(name)) throw new Error('not available in this build');
      if (name === 'webgpu') await checkWebGpu();
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error('failed to initialise');
      await tf.ready();
      if (name === 'wasm') registerWasmTrainingKernels(); // conv/depthwise gradients: WASM can train
      // WebGPU flags: TF.js's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (15 dispatches per queue submission)
      // stays. 1, 15, 64 and 256 trained the CNN equally fast on SwiftShader (bench:webgpu-kernels),
      // and larger batches hold disposed tensors' buffers back from reuse until the submission,
      // which raises peak GPU memory. Re-measure on a real GPU with that bench before changing it.
      if (name === 'webgpu') registerWebGpuTrainingKernels(); // split-K filter gradients, column sums, stem convs
      // A tiny op proves the backend really runs (some drivers initialise and then fail).
      const probe = tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).sum());
      const value = (await probe.data())[0];
      probe.dispose();
      if (value !== 4) throw new Error('produced wrong results');
      return { name, adapter: await describeAdapter(name), fallbacks };
    } catch (err) {
      fallbacks.push({ name, reason: errorMessage(err) });
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${fallbacks.map((f) => `${f.name}: ${f.reason}`).join('; ')}`);
}

/**
 * The automatic order where nothing is measured (inference): a software WebGPU adapter goes after
 * WebGL, which was measured ~4x faster on SwiftShader.
 */
export async function unmeasuredAutoOrder(allowed: BackendName[]): Promise<BackendName[]> {
  if (!allowed.includes('webgpu') || !allowed.includes('webgl') || !(await softwareWebGpu())) return allowed;
  const rest: BackendName[] = allowed.filter((b) => b !== 'webgpu');
  rest.splice(rest.indexOf('webgl') + 1, 0, 'webgpu');
  return rest;
}

/** A chosen backend first, then the rest in the given order. */
export function backendOrder(preferred: BackendName | 'auto', allowed: BackendName[]): BackendName[] {
  if (preferred === 'auto' || !allowed.includes(preferred)) return allowed;
  return [preferred, ...allowed.filter((b) => b !== preferred)];
}
