// npm run bench:seed-backends — does a seed reproduce a run across backends within 0.5 points
// (issue #14)? The same seed, data and settings trained on WebAssembly and on WebGPU; prints both
// test accuracies, their difference and the largest weight difference. Bit identity is promised
// (and unit-tested) only on CPU and WASM; a GPU sums in another order, so its weights drift by
// rounding, and this measures whether the drift reaches the metrics.
//
// Real digits (the bundled demo), the app's default small CNN with its dropout, Adam at the
// default learning rate, the app's training loop with its per-step dropout seeds. WebGPU runs on
// Dawn in Node (test/node-webgpu.ts): a real GPU where VK_ICD_FILENAMES names its Vulkan driver,
// else SwiftShader, which trains at a few images per second on 2 cores; that is why this is a
// benchmark and not a CI test. WebGL has no Node runtime and is not covered here.
// BENCH_SEED_TRAIN / BENCH_SEED_TEST / BENCH_SEED_EPOCHS / BENCH_SEED_BATCH size the run.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { accuracy, epochsOver, predictRows, type ArraySet } from './lib/array-trainer';
import { loadDigitsDemo } from './lib/digits-demo';
import { buildModel } from '../src/lib/ml/architectures';
import { disposeOptimizer, makeOptimizer } from '../src/lib/ml/optimizers';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
import { trainLoop } from '../src/lib/ml/train-loop';
import { DEFAULT_SETTINGS } from '../src/lib/train/train-config';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { registerWebGpuTrainingKernels } from '../src/lib/ml/webgpu-training';
import { installNodeWebGpu } from '../test/node-webgpu';

const TRAIN = Number(process.env.BENCH_SEED_TRAIN ?? 1000);
const TEST = Number(process.env.BENCH_SEED_TEST ?? 1000);
const EPOCHS = Number(process.env.BENCH_SEED_EPOCHS ?? 2);
const BATCH = Number(process.env.BENCH_SEED_BATCH ?? DEFAULT_SETTINGS.batchSize);
const SEED = 42;

const digits = await loadDigitsDemo();
const set: ArraySet = { x: digits.x, y: digits.y, shape: [28, 28, 1], numClasses: 10 };
const order = Array.from({ length: digits.y.length }, (_, i) => i);
shuffleInPlace(order, mulberry32(7));
const trainRows = order.slice(0, TRAIN);
const testRows = order.slice(TRAIN, TRAIN + TEST);

setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
registerWasmTrainingKernels();
const adapter = (await installNodeWebGpu()).description;
await import('@tensorflow/tfjs-backend-webgpu');
registerWebGpuTrainingKernels();

async function run(backend: 'wasm' | 'webgpu') {
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not start`);
  const started = performance.now();
  const model = buildModel({ kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: DEFAULT_SETTINGS.dropout }, SEED);
  const optimizer = makeOptimizer('adam', DEFAULT_SETTINGS.learningRate);
  try {
    const out = await trainLoop(model, epochsOver(set, trainRows, BATCH, SEED), { epochs: EPOCHS, optimizer, shouldStop: () => false, seed: SEED, readEvery: 1000 });
    if (out.status !== 'completed') throw new Error(`${backend}: run ${out.status}`);
    const probs = await predictRows(model, set, testRows);
    const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
    return { accuracy: accuracy(probs, set, testRows), weights, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.dispose();
    disposeOptimizer(optimizer);
  }
}

const wasm = await run('wasm');
const webgpu = await run('webgpu');
let worst = 0;
wasm.weights.forEach((w, i) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - webgpu.weights[i][j])))));
const points = Math.abs(wasm.accuracy - webgpu.accuracy) * 100;
console.log(`seed ${SEED}: small CNN, ${EPOCHS} epoch(s) of ${TRAIN} digits in batches of ${BATCH}, tested on ${TEST}`);
console.log(`  WebAssembly         ${(wasm.accuracy * 100).toFixed(2)}%  (${wasm.seconds.toFixed(1)} s)`);
console.log(`  WebGPU (${adapter})  ${(webgpu.accuracy * 100).toFixed(2)}%  (${webgpu.seconds.toFixed(1)} s)`);
console.log(`  difference ${points.toFixed(2)} points (goal: at most 0.5); largest weight difference ${worst.toExponential(2)}`);
process.exit(points <= 0.5 ? 0 : 1);
