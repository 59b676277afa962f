// npm run bench:export — every format of src/lib/export/formats.ts on two models trained here in
// Node (TF.js WebAssembly backend with the app's training kernels; BENCH_EXPORT_BACKEND=cpu for the CPU one): the Digits demo CNN (28x28 grayscale) and a MobileNet-style net
// (depthwise convolutions + batch norm, 32x32 RGB made from the same digits by the app's
// preprocessing recipe). Per format: export time, zip and model size, and agreement with the app's
// own TF.js probabilities on the held-out images (max |Δp|, top-1 agreement, accuracy change).
// Formats run by: TF.js (the exported model.json reloaded), the Teachable Machine graph fed TM's
// x / 127 - 1 input (TF.js 4.22 here; the real TM library is checked in test/e2e/export-formats),
// onnxruntime-node, and TFLite (float32 and int8) by the real TFLite interpreter (test/tflite-runtime.ts,
// int8 fed and read through the export's quantization.json). A format without a Node runner (add one to RUNNERS) reports time and size only.
// Writes bench/results/export.json. BENCH_EXPORT_TRAIN / BENCH_EXPORT_TEST shrink or grow the run;
// BENCH_EXPORT_MOBILENET_EPOCHS sets the MobileNet-style net's epochs (10: after 3 it is at 70% accuracy, too unsure of itself for int8 agreement to mean much).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobReader, Uint8ArrayWriter, ZipReader, configure } from '@zip.js/zip.js';
import { loadDigitsDemo } from './lib/digits-demo';
import { accuracy, fit, type ArraySet } from './lib/array-trainer';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
import type { ArchitectureConfig } from '../src/lib/ml/architectures';
import { modelPixels } from '../src/lib/preprocess/recipe.js';
import { EXPORT_FORMATS, packExport, type ExportSource } from '../src/lib/export/formats';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { loadTflite } from '../test/tflite-runtime';
import { preciseBatchNorm } from './tflite-agreement';

configure({ useWebWorkers: false });
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TRAIN = Number(process.env.BENCH_EXPORT_TRAIN ?? 2000);
const TEST = Number(process.env.BENCH_EXPORT_TEST ?? 500);
const MOBILENET_EPOCHS = Number(process.env.BENCH_EXPORT_MOBILENET_EPOCHS ?? 10);

type Files = Map<string, Uint8Array>;
/** Probabilities [n x k] from a format's unpacked zip, for the test inputs x ([n, h, w, c], app range). */
type Runner = (files: Files, x: Float32Array, shape: number[], src: ExportSource) => Promise<Float32Array>;

async function unzip(blob: Blob): Promise<Files> {
  const reader = new ZipReader(new BlobReader(blob));
  const out: Files = new Map();
  for (const e of await reader.getEntries()) if (!e.directory) out.set(e.filename, await e.getData!(new Uint8ArrayWriter()));
  await reader.close();
  return out;
}

async function loadTfjs(files: Files): Promise<tf.LayersModel> {
  const json = JSON.parse(new TextDecoder().decode(files.get('model.json')));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: files.get('weights.bin')!.slice().buffer,
    }),
  );
}

const predict = (model: tf.LayersModel, x: tf.Tensor) => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);

/** The real TFLite interpreter (batch 1), int8 models fed and read through quantization.json. */
async function runTflite(files: Files, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const interp = await loadTflite(files.get('model.tflite')!);
  const q = files.has('quantization.json') ? JSON.parse(new TextDecoder().decode(files.get('quantization.json'))) : null;
  try {
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const k = interp.output.shape[interp.output.shape.length - 1];
    const probs = new Float32Array(shape[0] * k);
    for (let i = 0; i < shape[0]; i++) {
      const xi = x.subarray(i * per, (i + 1) * per);
      const input = q ? Int8Array.from(xi, (v) => Math.max(-128, Math.min(127, Math.round(v / q.input.scale) + q.input.zeroPoint))) : xi;
      const out = interp.run(input);
      for (let j = 0; j < k; j++) probs[i * k + j] = q ? q.output.scale * (out[j] - q.output.zeroPoint) : out[j];
    }
    return probs;
  } finally {
    interp.close();
  }
}

const RUNNERS: Record<string, Runner> = {
  async tfjs(files, x, shape) {
    const m = await loadTfjs(files);
    try {
      return predict(m, tf.tensor(x, shape));
    } finally {
      m.dispose();
    }
  },
  async 'teachable-machine'(files, x, shape, src) {
    const m = await loadTfjs(files);
    try {
      // Back to uint8 pixels, then what @teachablemachine/image feeds: v / 127 - 1.
      const symmetric = src.meta.normalization === '-1..1';
      return predict(
        m,
        tf.tidy(() =>
          tf
            .tensor(x, shape)
            .add(symmetric ? 1 : 0)
            .mul(symmetric ? 127.5 : 255)
            .round()
            .div(127)
            .sub(1),
        ),
      );
    } finally {
      m.dispose();
    }
  },
  'tflite-float32': (files, x, shape) => runTflite(files, x, shape),
  'tflite-int8': (files, x, shape) => runTflite(files, x, shape),
  async onnx(files, x, shape) {
    const session = await ort.InferenceSession.create(files.get('model.onnx')!);
    try {
      const out = await session.run({ image: new ort.Tensor('float32', x, shape) });
      return Float32Array.from(out.probabilities.data as Float32Array);
    } finally {
      await session.release();
    }
  },
};

function top1(p: Float32Array, k: number, i: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
  return best;
}

interface Row {
  model: string;
  format: string;
  exportMs: number;
  zipBytes: number;
  modelBytes: number;
  maxProbDiff: number | null;
  top1Agreement: number | null;
  accuracy: number | null;
  accuracyDrop: number | null;
  error?: string;
}

async function benchModel(
  name: string,
  set: ArraySet,
  train: number[],
  test: number[],
  architecture: ArchitectureConfig & { inputSize: number; channels: 1 | 3 },
  epochs: number,
  batchSize: number,
): Promise<Row[]> {
  const t0 = performance.now();
  const { model } = await fit(set, train, { architecture, epochs, batchSize, learningRate: 2e-3, seed: 5 });
  console.log(`${name}: trained ${epochs} epoch(s) on ${train.length} images in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (model.layers.some((l) => l.getClassName() === 'BatchNormalization')) {
    // A few epochs leave batch norm's moving statistics (momentum 0.99) near their start, so the
    // net predicts one class in inference mode; recompute them over the training images, as
    // bench:tflite does, so the agreement figures describe a net that works.
    const per = architecture.inputSize * architecture.inputSize * architecture.channels;
    const tx = new Float32Array(train.length * per);
    train.forEach((r, i) => tx.set(set.x.subarray(r * per, (r + 1) * per), i * per));
    preciseBatchNorm(model, tx, train.length);
  }
  let artifacts!: tf.io.ModelArtifacts;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const { inputSize: s, channels: c } = architecture;
  const x = new Float32Array(test.length * s * s * c);
  test.forEach((r, i) => x.set(set.x.subarray(r * s * s * c, (r + 1) * s * s * c), i * s * s * c));
  const shape = [test.length, s, s, c];
  const k = set.numClasses;
  const appProbs = predict(model, tf.tensor(x, shape));
  const appAcc = accuracy(appProbs, set, test);
  const src: ExportSource = {
    number: 1,
    createdAt: Date.now(),
    meta: {
      labels: Array.from({ length: k }, (_, i) => String(i)),
      preprocess: { inputSize: s, channels: c, resize: 'pad', background: [0, 0, 0] },
      normalization: '0..1',
      tfjsVersion: tf.version.tfjs,
    },
    artifacts: {
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs!,
      weightData: artifacts.weightData as ArrayBuffer,
    },
    model,
    recipeSource: readFileSync(join(ROOT, 'src/lib/preprocess/recipe.js'), 'utf8'),
    appVersion: 'bench',
    calibration: async () => {
      const n = Math.min(200, train.length);
      const data = new Float32Array(n * s * s * c);
      for (let i = 0; i < n; i++) data.set(set.x.subarray(train[i] * s * s * c, (train[i] + 1) * s * s * c), i * s * s * c);
      return { data, shape: [n, s, s, c] };
    },
  };
  const rows: Row[] = [];
  for (const format of EXPORT_FORMATS) {
    const row: Row = {
      model: name,
      format: format.label,
      exportMs: 0,
      zipBytes: 0,
      modelBytes: 0,
      maxProbDiff: null,
      top1Agreement: null,
      accuracy: null,
      accuracyDrop: null,
    };
    try {
      const e0 = performance.now();
      const built = await packExport(format, src);
      row.exportMs = performance.now() - e0;
      row.zipBytes = built.bytes;
      row.modelBytes = built.modelBytes;
      const run = RUNNERS[format.id];
      if (run) {
        const probs = await run(await unzip(built.blob), x, shape, src);
        let diff = 0;
        let agree = 0;
        for (let i = 0; i < probs.length; i++) diff = Math.max(diff, Math.abs(probs[i] - appProbs[i]));
        for (let i = 0; i < test.length; i++) if (top1(probs, k, i) === top1(appProbs, k, i)) agree++;
        row.maxProbDiff = diff;
        row.top1Agreement = agree / test.length;
        row.accuracy = accuracy(probs, set, test);
        row.accuracyDrop = appAcc - row.accuracy;
      }
    } catch (err) {
      row.error = err instanceof Error ? err.message : String(err);
    }
    rows.push(row);
  }
  console.log(`${name}: app (TF.js) test accuracy ${(appAcc * 100).toFixed(2)}% on ${test.length} images`);
  model.dispose();
  return rows;
}

function table(rows: Row[]): void {
  const fmt = (v: number | null, f: (n: number) => string) => (v === null ? 'n/a' : f(v));
  console.log('\n| model | format | export | zip | model file(s) | max |Δp| | top-1 agreement | accuracy | drop |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.model} | ${r.format} | failed: ${r.error} | | | | | | |`);
      continue;
    }
    console.log(
      `| ${r.model} | ${r.format} | ${r.exportMs.toFixed(0)} ms | ${(r.zipBytes / 1024).toFixed(1)} KB | ${(r.modelBytes / 1024).toFixed(1)} KB | ${fmt(r.maxProbDiff, (v) => v.toExponential(2))} | ${fmt(r.top1Agreement, (v) => `${(v * 100).toFixed(2)}%`)} | ${fmt(r.accuracy, (v) => `${(v * 100).toFixed(2)}%`)} | ${fmt(r.accuracyDrop, (v) => `${(v * 100).toFixed(2)} pt`)} |`,
    );
  }
}

async function main(): Promise<void> {
  if ((process.env.BENCH_EXPORT_BACKEND ?? 'wasm') === 'wasm') {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('The WASM backend did not start.');
  } else await tf.setBackend('cpu');
  await tf.ready();
  console.log(
    `bench:export — TF.js ${tf.version.tfjs} (${tf.getBackend()} backend), onnxruntime-node, ${cpus().length} CPU(s): ${cpus()[0]?.model ?? '?'}`,
  );
  const digits = await loadDigitsDemo();
  const order = shuffleInPlace(
    Array.from({ length: digits.y.length }, (_, i) => i),
    mulberry32(3),
  );
  const test = order.slice(0, TEST);
  const train = order.slice(TEST, TEST + TRAIN);
  const gray: ArraySet = { x: digits.x, y: digits.y, numClasses: 10, shape: [28, 28, 1] };

  // The MobileNet-style net's input: each digit as RGBA through the app's recipe (pad to 32, RGB).
  const rgbX = new Float32Array(digits.y.length * 32 * 32 * 3);
  const rgba = new Uint8Array(28 * 28 * 4);
  for (let i = 0; i < digits.y.length; i++) {
    for (let p = 0; p < 784; p++) {
      const v = Math.round(digits.x[i * 784 + p] * 255);
      rgba.set([v, (v * 3) >> 2, 255 - v, 255], p * 4);
    }
    const px = modelPixels(rgba, 28, 28, { inputSize: 32, channels: 3, resize: 'pad', background: [0, 0, 0] });
    for (let j = 0; j < px.length; j++) rgbX[i * px.length + j] = px[j] / 255;
  }
  const rgb: ArraySet = { x: rgbX, y: digits.y, numClasses: 10, shape: [32, 32, 3] };

  // Batch norm's moving statistics (momentum 0.99) need a few hundred steps before inference
  // mode predicts anything: the MobileNet-style net gets small batches and a third epoch.
  const rows = [
    ...(await benchModel(
      'Digits CNN',
      gray,
      train,
      test,
      { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25, filters: 16 },
      2,
      32,
    )),
    ...(await benchModel(
      'MobileNet-style',
      rgb,
      train,
      test,
      { kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 10, dropout: 0.2, widthMultiplier: 0.25 },
      MOBILENET_EPOCHS,
      16,
    )),
  ];
  table(rows);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'export.json'),
    JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, train: train.length, test: test.length, rows }, null, 2),
  );
}

await main();
