// GPU loss in a TF.js worker. TF.js only logs a warning when the WebGL context is lost, and on a
// destroyed WebGPU device reads may reject or never settle, so a training run must watch for it:
//  - WebGPU: `device.lost` resolves (device.destroy(), driver reset, GPU process crash);
//  - WebGL: the backend's (Offscreen)canvas fires `webglcontextlost`, and `gl.isContextLost()`.
// On loss the run stops at once (its pending reads are abandoned), and dropBackend() removes the
// dead backend so the next run initialises a fresh one (a new WebGL context / WebGPU device) or
// falls back to the next backend.
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from './backend';

export interface GpuWatch {
  /** Why the GPU was lost; null while it is fine. Also checks the WebGL context synchronously. */
  lost(): string | null;
  /** Resolves with the reason when the GPU is lost (never, on CPU/WASM). */
  readonly whenLost: Promise<string>;
  /** Waits up to `ms` for a loss that may be on its way (events arrive after errors). */
  settle(ms: number): Promise<string | null>;
  dispose(): void;
}

type WebGlBackend = { gpgpu?: { gl?: WebGL2RenderingContext } };
type WebGpuBackend = { device?: GPUDevice };

/** The current TF.js backend's WebGL context, if it is a WebGL backend. */
export function webglContext(): WebGL2RenderingContext | null {
  try {
    return (tf.backend() as WebGlBackend).gpgpu?.gl ?? null;
  } catch {
    return null;
  }
}

/** The current TF.js backend's WebGPU device, if it is a WebGPU backend. */
export function webgpuDevice(): GPUDevice | null {
  try {
    return (tf.backend() as WebGpuBackend).device ?? null;
  } catch {
    return null;
  }
}

export function watchGpu(name: BackendName): GpuWatch {
  let reason: string | null = null;
  let signal!: (r: string) => void;
  const whenLost = new Promise<string>((resolve) => (signal = resolve));
  const mark = (r: string) => {
    if (reason !== null) return;
    reason = r;
    signal(r);
  };
  const cleanups: Array<() => void> = [];

  if (name === 'webgl') {
    const gl = webglContext();
    const canvas = gl?.canvas as (OffscreenCanvas | HTMLCanvasElement) | undefined;
    if (gl && canvas && 'addEventListener' in canvas) {
      const onLost = (e: Event) => {
        e.preventDefault(); // lets a restore happen; TF.js creates a fresh context anyway
        mark('WebGL context lost');
      };
      canvas.addEventListener('webglcontextlost', onLost as EventListener);
      cleanups.push(() => canvas.removeEventListener('webglcontextlost', onLost as EventListener));
    }
    const lost = () => {
      if (reason === null && gl?.isContextLost()) mark('WebGL context lost');
      return reason;
    };
    lost();
    return {
      lost,
      whenLost,
      settle: (ms) => settle(lost, whenLost, ms),
      dispose: () => cleanups.forEach((c) => c()),
    };
  }

  if (name === 'webgpu') {
    const device = webgpuDevice();
    let live = true;
    cleanups.push(() => (live = false));
    device?.lost.then((info) => {
      if (!live) return;
      const why = [info.reason && info.reason !== 'unknown' ? info.reason : '', info.message?.replace(/[.\s]+$/, '') ?? '']
        .filter(Boolean)
        .join(', ');
      mark(`WebGPU device lost${why ? `: ${why}` : ''}`);
    });
  }

  return {
    lost: () => reason,
    whenLost,
    settle: (ms) => settle(() => reason, whenLost, ms),
    dispose: () => cleanups.forEach((c) => c()),
  };
}

async function settle(check: () => string | null, whenLost: Promise<string>, ms: number): Promise<string | null> {
  if (check()) return check();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([whenLost, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  return check();
}

/**
 * Removes a (dead) backend so the next tf.setBackend(name) builds a new one: TF.js's removeBackend
 * also forgets the factory, so it is registered again with its old priority.
 */
export function dropBackend(name: BackendName): void {
  const factory = tf.findBackendFactory(name);
  if (!factory) return;
  const registry = (tf.engine() as ReturnType<typeof tf.engine> & { registryFactory: Record<string, { priority: number }> })
    .registryFactory;
  const priority = registry[name]?.priority ?? 1;
  try {
    tf.removeBackend(name);
  } catch (err) {
    console.warn(`Removing the lost ${name} backend failed`, err);
  }
  if (!tf.findBackendFactory(name)) tf.registerBackend(name, factory, priority);
}

/**
 * Test-only fault injection: makes the current GPU backend lose its device or context, the way a
 * driver reset does. Throws on a backend without a GPU.
 */
export function loseGpu(): string {
  const device = webgpuDevice();
  if (device) {
    device.destroy();
    return 'webgpu';
  }
  const gl = webglContext();
  if (gl) {
    const ext = gl.getExtension('WEBGL_lose_context');
    if (!ext) throw new Error('This WebGL context has no WEBGL_lose_context extension.');
    ext.loseContext();
    return 'webgl';
  }
  throw new Error(`The ${tf.getBackend()} backend has no GPU to lose.`);
}
