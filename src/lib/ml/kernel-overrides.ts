// Replacing TF.js kernels on one backend, reversibly: the WASM and WebGPU training kernels
// (wasm-training/, webgpu-training/) both swap stock kernels for their own and must be able to
// hand uncovered cases back to the stock one, restore it (tests, benchmarks), and register
// twice harmlessly. A marker property on the registered config says "ours".
import * as tf from '@tensorflow/tfjs';

export interface KernelOverrides<F> {
  /** True when the kernel registered under `name` is one of ours. */
  ours(name: string): boolean;
  /** Registers `kernelFunc` where the backend has no kernel of that name. */
  add(name: string, kernelFunc: tf.KernelFunc): void;
  /** Swaps the stock kernel for `make(stock)`, keeping its setup/dispose hooks; no-op if absent or already ours. */
  replace(name: string, make: (original: F) => tf.KernelFunc): void;
  /** The stock kernel `replace` saved for `name`, if any. */
  stockOf(name: string): tf.KernelConfig | undefined;
  /** Unregisters ours among `names` and puts the stock kernels back. */
  restore(names: readonly string[]): void;
}

export function kernelOverrides<F>(backendName: string, mark: string): KernelOverrides<F> {
  type Config = tf.KernelConfig & Record<string, unknown>;
  const stock = new Map<string, tf.KernelConfig>();
  const ours = (name: string): boolean => Boolean((tf.getKernel(name, backendName) as Config | undefined)?.[mark]);
  return {
    ours,
    stockOf: (name) => stock.get(name),
    add(name, kernelFunc) {
      if (tf.getKernel(name, backendName)) return; // already there (ours, or a newer backend's own)
      tf.registerKernel({ kernelName: name, backendName, kernelFunc, [mark]: true } as Config);
    },
    replace(name, make) {
      if (ours(name)) return;
      const original = tf.getKernel(name, backendName);
      if (!original) return; // that backend is not loaded: nothing to replace
      stock.set(name, original);
      tf.unregisterKernel(name, backendName);
      // The stock setup/dispose hooks stay: they bind what the original kernel calls.
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc: make(original.kernelFunc as F),
        setupFunc: original.setupFunc,
        disposeFunc: original.disposeFunc,
        [mark]: true,
      } as Config);
    },
    restore(names) {
      for (const name of names) {
        if (!ours(name)) continue;
        tf.unregisterKernel(name, backendName);
        const original = stock.get(name);
        if (original) {
          tf.registerKernel(original);
          stock.delete(name);
        }
      }
    },
  };
}
