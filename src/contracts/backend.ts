// Types only: the TF.js backends a worker can run on. The page shows these names; the code that
// chooses and starts a backend lives in workers/ml/backend.ts (TF.js, worker-only).

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** What a person picks on the Train stage: a backend, or the measured ranking ('auto'). */
export type BackendChoice = 'auto' | BackendName;

export interface BackendInfo {
  name: BackendName;
  adapter: string | null;
  /** Backends tried before this one (or measured slower), with why each was not used. */
  fallbacks: Array<{ name: BackendName; reason: string; slower?: boolean }>;
  /** Automatic mode: how the probe ranked the backends. */
  probe?: string;
}
