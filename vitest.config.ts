import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { availableParallelism } from 'node:os';

// Over ~10 s each on a 2-core machine: whole simulations (active learning, Bayesian optimisation
// benchmarks), kernel sweeps against the CPU backend (WASM, WebGPU on SwiftShader), the real
// TFLite interpreter on every architecture, and PyTorch beside the app (kit).
const SLOW_UNIT_TESTS = [
  'test/unit/label-flipped-digits.test.ts',
  'test/unit/tune-bayes-benchmarks.test.ts',
  'test/unit/wasm-kernels.test.ts',
  'test/unit/webgpu-kernels.test.ts',
  'test/unit/export-tflite.test.ts',
  'test/unit/kit-train.test.ts',
  'test/unit/kit-train-step.test.ts',
  'test/unit/seed-across-backends.test.ts',
  'test/unit/seed-webgl.test.ts',
];

// Node test files at a time. Vitest's default (cores - 1) is one on a 2-core machine, where most
// of the unit run is per-file start-up (transform, import): two workers took `npm run test:unit`
// from 172 s to 117 s on a loaded 2-core box (threads: 134 s). The Node projects of group 0
// (unit, slow, reliability-unit) must share one value; the e2e projects stay one file at a time.
const NODE_WORKERS = Math.max(2, availableParallelism() - 1);

// Unit tests of pure logic and storage in Node (the benchmark-sized ones apart, in `slow`), and
// end-to-end tests that drive the built app in real headless Chromium.
export default defineConfig({
  test: {
    projects: [
      // The Svelte plugin compiles the rune classes (src/state/*.svelte.ts) so their logic runs in
      // Node too; no component is rendered.
      {
        plugins: [svelte()],
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: SLOW_UNIT_TESTS,
          environment: 'node',
          maxWorkers: NODE_WORKERS,
        },
      },
      // Benchmark-sized checks of pure logic (whole simulations on real digits): CI runs them
      // with everything else; `npm run test:unit` leaves them out to stay under a minute.
      {
        test: {
          name: 'slow',
          include: SLOW_UNIT_TESTS,
          environment: 'node',
          maxWorkers: NODE_WORKERS,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 240_000,
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
      // The reliability suite (issue #8): one test per case of the reliability catalog, named
      // after the case; pure/storage cases in Node, the rest against the built app.
      {
        test: {
          name: 'reliability-unit',
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          maxWorkers: NODE_WORKERS,
        },
      },
      {
        test: {
          name: 'reliability-e2e',
          include: ['test/reliability/**/*.e2e.ts'],
          // After the other projects, not beside the e2e project: two browsers' worth of software
          // GPU on two cores turns kill-and-relaunch timings into flakes.
          sequence: { groupOrder: 1 },
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 240_000,
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
