// npm run bench:kit-parity [-- --seeds=1,2,3,4,5] [--set key=value ...] [--out=name.json]: does a seeded single-process
// CPU run of the training kit give the same metrics as the app's WebAssembly run?
//
// One dataset version (the Digits demo's 5,000 images, ids = SHA-256 of the file, stratified split
// with seed 42, as the pipeline's split step makes it) and, per training seed, the same settings
// (the Train stage's defaults unless --set: small CNN, Adam 0.002, batch 64, up to 20 epochs, early
// stopping with patience 4, the rate halved after 2 epochs without improvement, the best epoch kept,
// light augmentation):
//   app: the app's own code in Node on TF.js's WebAssembly backend with Trainyard's training kernels
//        (model builder, seeded initialisation, batch stream with seeded augmentation, trainLoop with
//        seeded dropout, early stopping and best-epoch restore), as bench/digits-default.node.ts;
//   kit: the kit built from the same arrays and the same seeded initial weights (test/kit/synthetic-kit
//        writeKit, what the kit worker writes), trained by its train.py in one CPU process.
// Both report test accuracy and test loss (mean -log p(true class), p clamped at 1e-7) on the same
// 750 test images. The kit draws its own shuffles, augmentations and dropout masks (NumPy/PyTorch,
// not the app's mulberry32), so per seed the two runs are two different draws from the same
// training distribution: the question is whether the difference between them is within the spread
// that the seed alone causes. Writes bench/results/kit-parity.json.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assignSplits } from '../src/lib/ml/split';
import { fromStrength } from '../src/lib/augment/spec';
import { DEFAULT_SETTINGS, type TrainSettings } from '../src/lib/train/train-config';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import type { LabeledId } from '../workers/ml/data-feed';
import { architectureOf } from '../workers/ml/train-runner';
import { findTorchPython } from '../test/kit/python';
import { writeKit, type KitSplit } from '../test/kit/synthetic-kit';
import { loadDigitsDemoRecords } from './lib/digits-demo';
import { digitsFeed, predictDigits, trainDigits } from './lib/digits-train';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const seeds = (arg('seeds') ?? '1,2,3,4,5').split(',').map(Number);
const SPLIT_SEED = 42;
const base: TrainSettings = { ...DEFAULT_SETTINGS, backend: 'wasm' };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] !== '--set') continue;
  const [k, v] = argv[++i].split('=');
  (base as unknown as Record<string, unknown>)[k] = JSON.parse(v);
}

const { python, reason } = findTorchPython();
if (!python) {
  console.log(`bench:kit-parity needs PyTorch: ${reason}`);
  process.exit(1);
}

interface Result {
  accuracy: number;
  loss: number;
  epochs: number;
  bestEpoch: number | null;
  seconds: number;
}

/** Accuracy and mean clamped cross-entropy of row-major probabilities. */
function score(probs: Float32Array, y: number[], k: number): { accuracy: number; loss: number } {
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < y.length; i++) {
    const row = probs.subarray(i * k, (i + 1) * k);
    let arg = 0;
    for (let c = 1; c < k; c++) if (row[c] > row[arg]) arg = c;
    if (arg === y[i]) correct++;
    loss -= Math.log(Math.max(row[y[i]], 1e-7));
  }
  return { accuracy: correct / y.length, loss: loss / y.length };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

async function main(): Promise<void> {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend did not start');
  const digits = await loadDigitsDemoRecords();
  const labels = [...new Set(digits.map((d) => d.label))].sort();
  const byId = new Map(digits.map((d) => [d.id, d]));
  // The dataset version: one split for every seed (the pipeline's split seed, not the training seed).
  const splits = assignSplits(
    digits.map((d) => ({ id: d.id, label: d.label })),
    { seed: SPLIT_SEED, keepExisting: true },
  );
  const of = (name: string): LabeledId[] =>
    digits.filter((d) => splits.get(d.id) === name).map((d) => ({ id: d.id, classIndex: labels.indexOf(d.label) }));
  const [train, val, test] = [of('train'), of('val'), of('test')];
  const kitSplit = (items: LabeledId[]): KitSplit => {
    const x = new Uint8Array(items.length * 784);
    items.forEach((it, i) => x.set(byId.get(it.id)!.pixels, i * 784));
    return { x, y: Int32Array.from(items, (it) => it.classIndex), ids: items.map((it) => it.id) };
  };
  const kitSplits = { train: kitSplit(train), val: kitSplit(val), test: kitSplit(test) };
  const spec = fromStrength(base.augmentation);
  console.log(
    `dataset: ${train.length} train / ${val.length} val / ${test.length} test (split seed ${SPLIT_SEED}); settings: ${JSON.stringify({ ...base, seed: undefined })}`,
  );

  const rows: Array<{ seed: number; app: Result; kit: Result }> = [];
  const report = () => {
    const col = (pick: (r: (typeof rows)[number]) => number) => rows.map(pick);
    const summary = (xs: number[]) => ({ mean: mean(xs), sd: sd(xs), min: Math.min(...xs), max: Math.max(...xs) });
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadAverage: loadavg()[0] },
      torch: reason,
      dataset: { images: digits.length, train: train.length, val: val.length, test: test.length, splitSeed: SPLIT_SEED },
      settings: { ...base, seed: undefined, seeds },
      rows,
      app: { accuracy: summary(col((r) => r.app.accuracy)), loss: summary(col((r) => r.app.loss)) },
      kit: { accuracy: summary(col((r) => r.kit.accuracy)), loss: summary(col((r) => r.kit.loss)) },
      kitMinusApp: { accuracy: summary(col((r) => r.kit.accuracy - r.app.accuracy)), loss: summary(col((r) => r.kit.loss - r.app.loss)) },
    };
    // Written after every seed, so a long run that is stopped keeps what it measured.
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results', arg('out') ?? 'kit-parity.json'), JSON.stringify(result, null, 2));
    return result;
  };
  for (const seed of seeds) {
    const s = { ...base, seed };
    // --- the app, on WebAssembly
    const feed = digitsFeed(digits, labels.length, s.augmentation);
    const { model, outcome: out, seconds: appSeconds } = await trainDigits(s, labels.length, feed, { train, val });
    const probs = await predictDigits(model, feed, test);
    model.dispose();
    const app: Result = {
      ...score(
        probs,
        test.map((t) => t.classIndex),
        labels.length,
      ),
      epochs: out.epochsDone,
      bestEpoch: out.bestEpoch !== undefined ? out.bestEpoch + 1 : null,
      seconds: appSeconds,
    };

    // --- the kit, one CPU process
    const dir = mkdtempSync(join(tmpdir(), 'kit-parity-'));
    try {
      await writeKit(dir, {
        splits: kitSplits,
        classes: labels,
        inputSize: 28,
        channels: 1,
        architecture: architectureOf(s, labels.length) as Parameters<typeof writeKit>[1]['architecture'],
        seed,
        settings: s,
        augmentation: spec,
      });
      const started = performance.now();
      const r = spawnSync(python!, ['train.py', '--device', 'cpu', '--threads', '1', '--no-onnx'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: '1' },
      });
      if (r.status !== 0) throw new Error(`train.py failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
      const m = JSON.parse(readFileSync(join(dir, 'out/metrics.json'), 'utf8'));
      const kit: Result = {
        accuracy: m.testAccuracy,
        loss: m.testLoss,
        epochs: m.epochs,
        bestEpoch: m.keptEpoch ?? m.epochs,
        seconds: (performance.now() - started) / 1000,
      };
      rows.push({ seed, app, kit });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const last = rows.at(-1)!;
    const f = (x: Result) =>
      `${(x.accuracy * 100).toFixed(2)}% loss ${x.loss.toFixed(4)} (${x.epochs} epochs, best ${x.bestEpoch}, ${x.seconds.toFixed(0)} s)`;
    console.log(`seed ${seed}: app WASM ${f(last.app)} | kit CPU ${f(last.kit)}`);
    report();
  }

  const result = report();
  const pts = (x: number) => (x * 100).toFixed(2);
  console.log(
    `\ntest accuracy, mean ± sd over ${rows.length} seeds: app ${pts(result.app.accuracy.mean)} ± ${pts(result.app.accuracy.sd)}%, kit ${pts(result.kit.accuracy.mean)} ± ${pts(result.kit.accuracy.sd)}%; kit - app per seed ${pts(result.kitMinusApp.accuracy.mean)} ± ${pts(result.kitMinusApp.accuracy.sd)} points (range ${pts(result.kitMinusApp.accuracy.min)} .. ${pts(result.kitMinusApp.accuracy.max)})`,
  );
  console.log(
    `test loss, mean ± sd: app ${result.app.loss.mean.toFixed(4)} ± ${result.app.loss.sd.toFixed(4)}, kit ${result.kit.loss.mean.toFixed(4)} ± ${result.kit.loss.sd.toFixed(4)}; kit - app ${result.kitMinusApp.loss.mean.toFixed(4)} ± ${result.kitMinusApp.loss.sd.toFixed(4)}`,
  );
}

await main();
