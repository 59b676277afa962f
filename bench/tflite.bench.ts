// npm run bench:tflite — TFLite export figures on the Digits demo (5,000 MNIST images the app
// ships): the small CNN at 28×28×1 and the MobileNet-style net (width 0.25) on the same digits
// padded to 32×32 and repeated to 3 channels. Both are trained with the app's own builders and
// training loop (TF.js WASM backend with the app's training kernels); the split is the app's stratified seeded split; int8
// calibration is the app's stratified sample of the training split. Each model is exported to
// float32 and int8 TFLite and run by the real TFLite interpreter (WASM) on the whole test split.
// Prints size, export time, max probability difference, top-1 agreement and accuracy drop, and
// writes bench/results/tflite.json. The MobileNet-style net's batch-norm statistics are
// recomputed over its training images after training (see preciseBatchNorm).
// TFLITE_BENCH_ONLY=mobilenet skips the CNN; TFLITE_BENCH_MOBILENET_TRAIN sets its training size.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDigitsDemo } from './lib/digits-demo';
import { fit, type ArraySet } from './lib/array-trainer';
import { preciseBatchNorm, tfliteAgreement, type TfliteAgreement } from './tflite-agreement';
import { assignSplits } from '../src/lib/ml/split';
import { pickCalibrationSample } from '../src/lib/export/tflite/calibration';
import type { ArchitectureConfig } from '../src/lib/ml/architectures';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEED = 42;
const MOBILENET_TRAIN = Number(process.env.TFLITE_BENCH_MOBILENET_TRAIN ?? 600);

function rows(set: ArraySet, ids: number[]): Float32Array {
  const f = set.shape[0] * set.shape[1] * set.shape[2];
  const out = new Float32Array(ids.length * f);
  ids.forEach((r, i) => out.set(set.x.subarray(r * f, (r + 1) * f), i * f));
  return out;
}

/** 28×28×1 → 32×32×3: two pixels of zero padding on every side, gray repeated per channel. */
function toRgb32(set: ArraySet): ArraySet {
  const n = set.y.length;
  const x = new Float32Array(n * 32 * 32 * 3);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < 28; r++)
      for (let c = 0; c < 28; c++) {
        const v = set.x[i * 784 + r * 28 + c];
        const o = ((i * 32 + r + 2) * 32 + c + 2) * 3;
        x[o] = v;
        x[o + 1] = v;
        x[o + 2] = v;
      }
  return { x, y: set.y, shape: [32, 32, 3], numClasses: set.numClasses };
}

interface Row extends TfliteAgreement {
  model: string;
  trainSeconds: number;
}

async function run(
  name: string,
  set: ArraySet,
  train: number[],
  test: number[],
  calibrationIds: number[],
  architecture: ArchitectureConfig,
  epochs: number,
): Promise<Row[]> {
  const t0 = performance.now();
  const { model } = await fit(set, train, { architecture, epochs, batchSize: 32, learningRate: 0.003, seed: SEED });
  // Three short epochs leave batch norm's moving averages near their initial values: recompute
  // them over the training images so the inference-mode model is the one that was trained.
  if (model.layers.some((l) => l.getClassName() === 'BatchNormalization')) preciseBatchNorm(model, rows(set, train), train.length);
  const trainSeconds = (performance.now() - t0) / 1000;
  const r = await tfliteAgreement(model, { x: rows(set, test), y: test.map((i) => set.y[i]) }, rows(set, calibrationIds));
  model.dispose();
  return [r.float32, r.int8].map((a) => ({ model: name, trainSeconds, ...a }));
}

async function main() {
  // The app's WASM backend with its training kernels: ~25x faster than the CPU backend in Node.
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('The TF.js WASM backend did not start.');
  const digits = await loadDigitsDemo();
  const set: ArraySet = { x: digits.x, y: digits.y, shape: [28, 28, 1], numClasses: 10 };
  const items = digits.names.map((id, i) => ({ id, label: String(digits.y[i]) }));
  const splits = assignSplits(items, { seed: SEED });
  const index = new Map(digits.names.map((n, i) => [n, i]));
  const train = digits.names.filter((n) => splits.get(n) === 'train').map((n) => index.get(n)!);
  const test = digits.names.filter((n) => splits.get(n) === 'test').map((n) => index.get(n)!);
  const plan = pickCalibrationSample(
    items.map((it) => ({ ...it, split: splits.get(it.id)! })),
    200,
    SEED,
  );
  const calibration = plan.ids.map((id) => index.get(id)!);
  console.log(
    `Digits demo: ${train.length} train, ${test.length} test, ${calibration.length} calibration images; ${cpus().length} CPU cores, TF.js ${tf.getBackend()} backend.`,
  );

  const out: Row[] = [];
  if (process.env.TFLITE_BENCH_ONLY !== 'mobilenet')
    out.push(
      ...(await run(
        'Small CNN (Digits, 28×28×1)',
        set,
        train,
        test,
        calibration,
        { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25, filters: 16 },
        3,
      )),
    );
  const mobileTrain = train.filter((_, i) => i % Math.max(1, Math.floor(train.length / MOBILENET_TRAIN)) === 0).slice(0, MOBILENET_TRAIN);
  out.push(
    ...(await run(
      'MobileNet-style ×0.25 (Digits, 32×32×3)',
      toRgb32(set),
      mobileTrain,
      test,
      calibration,
      { kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 10, dropout: 0.2, widthMultiplier: 0.25 },
      3,
    )),
  );

  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  console.log('');
  console.log(
    'model                                   | format  |     size | export ms | max prob diff | top-1 agree | acc TF.js | acc TFLite | drop (pts)',
  );
  for (const r of out) {
    console.log(
      `${r.model.padEnd(39)} | ${r.quantization.padEnd(7)} | ${(r.bytes / 1024).toFixed(0).padStart(5)} KiB | ${r.exportMs.toFixed(0).padStart(9)} | ${r.maxProbDiff.toExponential(2).padStart(13)} | ${pct(r.top1Agreement).padStart(11)} | ${pct(r.accuracyTfjs).padStart(9)} | ${pct(r.accuracyTflite).padStart(10)} | ${(r.accuracyDrop * 100).toFixed(2).padStart(10)}`,
    );
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'tflite.json'),
    JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, rows: out }, null, 2),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
