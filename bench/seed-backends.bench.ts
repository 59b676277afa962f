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
// benchmark at full size; test/unit/seed-across-backends.test.ts and seed-webgl.test.ts run short
// ones in CI. WebGL has no Node runtime: it trains in headless Chromium (test/browser/webgl-seed.ts).
// BENCH_SEED_TRAIN / BENCH_SEED_TEST / BENCH_SEED_EPOCHS / BENCH_SEED_BATCH size the run.
import '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { ArraySet } from './lib/array-trainer';
import { loadDigitsDemo } from './lib/digits-demo';
import { largestWeightDifference, seededRun } from './lib/seed-run';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
import { DEFAULT_SETTINGS } from '../src/lib/train/train-config';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { registerWebGpuTrainingKernels } from '../src/lib/ml/webgpu-training';
import { installNodeWebGpu } from '../test/node-webgpu';
import { openSeedPage } from '../test/browser/webgl-seed';

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

const options = { set, train: trainRows, test: testRows, epochs: EPOCHS, batchSize: BATCH, seed: SEED };
const wasm = await seededRun('wasm', options);
const webgpu = await seededRun('webgpu', options);
const page = await openSeedPage(options);
const webgl = await page.trainSeeded('webgl').finally(() => page.close());
const worst = largestWeightDifference(wasm.weights, webgpu.weights);
const points = Math.abs(wasm.accuracy - webgpu.accuracy) * 100;
const worstGl = largestWeightDifference(wasm.weights, webgl.weights);
const pointsGl = Math.abs(wasm.accuracy - webgl.accuracy) * 100;
console.log(`seed ${SEED}: small CNN, ${EPOCHS} epoch(s) of ${TRAIN} digits in batches of ${BATCH}, tested on ${TEST}`);
console.log(`  WebAssembly         ${(wasm.accuracy * 100).toFixed(2)}%  (${wasm.seconds.toFixed(1)} s)`);
console.log(`  WebGPU (${adapter})  ${(webgpu.accuracy * 100).toFixed(2)}%  (${webgpu.seconds.toFixed(1)} s)`);
console.log(`  WebGL (Chromium, ${webgl.backend})  ${(webgl.accuracy * 100).toFixed(2)}%  (${webgl.seconds.toFixed(1)} s)`);
console.log(`  WebGPU: difference ${points.toFixed(2)} points (goal: at most 0.5); largest weight difference ${worst.toExponential(2)}`);
console.log(
  `  WebGL:  difference ${pointsGl.toFixed(2)} points (goal: at most 0.5); largest weight difference ${worstGl.toExponential(2)}`,
);
process.exit(points <= 0.5 && pointsGl <= 0.5 ? 0 : 1);
