// End to end on the WASM backend with the training kernels registered: the app's CNN and
// MobileNet-style (depthwise-separable, batch norm, ReLU6) models get the same gradients and the
// same optimizer step as on TF.js's CPU backend; plus a printed (never asserted) throughput
// measurement of training the app's CNN (28x28x1, batch 64). Set WASM_KERNELS_BENCH=1 to also
// time the CPU backend (slow: ~15-30 s per step in Node) and the JS-fallback inner loops.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradsAndStep } from './model-step';
import { buildModel, DEFAULT_CNN, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { registerWasmTrainingKernels, setSimdKernelsEnabled } from '../../src/lib/ml/wasm-training';

beforeAll(async () => {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
}, 60_000);

afterAll(async () => {
  setSimdKernelsEnabled(true);
  await tf.setBackend('cpu');
});

const rand = mulberry32(7);

function batch(n: number, side: number, channels: number, classes: number): { x: Float32Array; y: Float32Array } {
  const x = Float32Array.from({ length: n * side * side * channels }, () => rand());
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) y[i * classes + Math.floor(rand() * classes)] = 1;
  return { x, y };
}

function expectTensorsClose(actual: Float32Array[], expected: Float32Array[], label: string, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    let scale = 1e-6;
    let worst = 0;
    for (let j = 0; j < e.length; j++) scale = Math.max(scale, Math.abs(e[j]));
    for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(actual[i][j] - e[j]));
    expect(worst / scale, `${label} #${i}: max error ${worst} (scale ${scale})`).toBeLessThanOrEqual(rtol);
  });
}

async function compareModel(config: ArchitectureConfig, n: number): Promise<void> {
  if (config.kind === 'head') throw new Error('not an image model');
  const data = batch(n, config.inputSize, config.channels, config.numClasses);
  const cpu = await gradsAndStep('cpu', config, null, data, n);
  for (const simd of [true, false]) {
    setSimdKernelsEnabled(simd);
    const wasm = await gradsAndStep('wasm', config, cpu.weights, data, n);
    expect(Math.abs(wasm.loss - cpu.loss), 'loss').toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.loss)));
    expectTensorsClose(wasm.grads, cpu.grads, `${config.kind} gradient simd=${simd}`, 2e-3);
    expectTensorsClose(wasm.after, cpu.after, `${config.kind} weights after one SGD step simd=${simd}`, 1e-3);
  }
  setSimdKernelsEnabled(true);
}

describe('training on wasm matches cpu', () => {
  it('small CNN (conv2d + max pool + dense): gradients and one SGD step', async () => {
    await compareModel({ kind: 'cnn', inputSize: 12, channels: 1, numClasses: 4, dropout: 0, filters: 8 }, 6);
  }, 120_000);

  it('depthwise-separable MobileNet-style net (batch norm, ReLU6, stride 2): gradients and one SGD step', async () => {
    await compareModel({ kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 5, dropout: 0, widthMultiplier: 0.25 }, 4);
  }, 120_000);
});

async function imagesPerSecond(backend: 'cpu' | 'wasm', steps: number, warmup: number): Promise<number> {
  await tf.setBackend(backend);
  const n = 64;
  const model = buildModel(DEFAULT_CNN, 1);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const data = batch(n, 28, 1, 10);
  const xs = tf.tensor4d(data.x, [n, 28, 28, 1]);
  const ys = tf.tensor2d(data.y, [n, 10]);
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(xs, ys);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([xs, ys]);
  model.dispose();
  return (steps * n) / seconds;
}

describe('throughput (printed, not asserted)', () => {
  it('trains the app CNN (28x28x1, batch 64) on wasm', async () => {
    const full = Boolean(process.env.WASM_KERNELS_BENCH);
    await tf.setBackend('wasm');
    const binary = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')
      ? 'threaded-simd'
      : tf.env().getBool('WASM_HAS_SIMD_SUPPORT')
        ? 'simd'
        : 'plain';
    const lines = [`wasm binary: tfjs-backend-wasm-${binary}.wasm, XNNPACK threads: ${getThreadsCount()}`];
    const wasm = await imagesPerSecond('wasm', full ? 20 : 5, 2);
    lines.push(`wasm (SIMD training kernels): ${wasm.toFixed(0)} images/s`);
    if (full) {
      setSimdKernelsEnabled(false);
      lines.push(`wasm (JS-fallback inner loops): ${(await imagesPerSecond('wasm', 10, 2)).toFixed(0)} images/s`);
      setSimdKernelsEnabled(true);
      lines.push(`cpu: ${(await imagesPerSecond('cpu', 1, 0)).toFixed(1)} images/s`);
    }
    console.log(`[wasm-kernels] small CNN training throughput (Node ${process.version})\n  ${lines.join('\n  ')}`);
    expect(wasm).toBeGreaterThan(0);
  }, 600_000);
});
