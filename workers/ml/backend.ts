// Backend choice for a TF.js worker: chosen once, WebGPU, else WebGL, else WASM (inference
// only) or CPU. A backend that fails to initialise falls back, and the reason is kept for the UI.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  adapter: string | null;
  /** Backends tried before this one, with why each was not used. */
  fallbacks: Array<{ name: BackendName; reason: string }>;
}

export async function describeAdapter(name: BackendName): Promise<string | null> {
  try {
    if (name === 'webgpu') {
      const adapter = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter();
      const info = adapter?.info;
      return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : null;
    }
    if (name === 'webgl') {
      const gl = (tf.backend() as unknown as { gpgpu?: { gl: WebGL2RenderingContext } }).gpgpu?.gl;
      if (!gl) return null;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    }
    if (name === 'wasm') return `WASM${crossOriginIsolated ? ' (threads available)' : ''}`;
    return `JavaScript CPU (${navigator.hardwareConcurrency} cores)`;
  } catch {
    return null;
  }
}

/**
 * In automatic mode a software WebGPU adapter (SwiftShader, or any fallback adapter) is skipped
 * when WebGL is next in line: measured on a 2-core machine it trains ~4x slower than WebGL.
 * Naming WebGPU explicitly still uses it.
 */
async function checkWebGpu(order: BackendName[]): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) throw new Error('this browser has no WebGPU');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const software = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter || /swiftshader/i.test(`${adapter.info?.architecture} ${adapter.info?.description}`);
  if (software && autoMode && order.includes('webgl')) throw new Error('software adapter (SwiftShader): WebGL is faster on this machine');
}

let autoMode = true;

export async function chooseBackend(order: BackendName[]): Promise<BackendInfo> {
  const fallbacks: BackendInfo['fallbacks'] = [];
  for (const name of order) {
    try {
      if (!tf.findBackendFactory(name)) throw new Error('not available in this build');
      if (name === 'webgpu') await checkWebGpu(order);
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error('failed to initialise');
      await tf.ready();
      if (name === 'wasm') registerWasmTrainingKernels(); // conv/depthwise gradients: WASM can train
      // A tiny op proves the backend really runs (some drivers initialise and then fail).
      const probe = tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).sum());
      const value = (await probe.data())[0];
      probe.dispose();
      if (value !== 4) throw new Error('produced wrong results');
      return { name, adapter: await describeAdapter(name), fallbacks };
    } catch (err) {
      fallbacks.push({ name, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${fallbacks.map((f) => `${f.name}: ${f.reason}`).join('; ')}`);
}

export function backendOrder(preferred: BackendName | 'auto', allowed: BackendName[]): BackendName[] {
  autoMode = preferred === 'auto';
  if (preferred === 'auto' || !allowed.includes(preferred)) return allowed;
  return [preferred, ...allowed.filter((b) => b !== preferred)];
}
