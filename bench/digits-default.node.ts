// Tuning aid for the Train stage's defaults (npx tsx bench/digits-default.node.ts [--backend=wasm|cpu]
// [--set key=value ...] [--seeds=42,7]): trains on the Digits demo in Node the way the app's worker
// does, without a browser: the same 5,000 images (public/demo/digits.zip, `npm run demo:build`),
// sample ids (SHA-256 of the file), seeded stratified split, and the app's training loop as
// bench/lib/digits-train.ts runs it (shared with bench/kit-parity.bench.ts). Prints test accuracy, epochs and wall time per seed. The app's own
// run (import through the UI, backend probe, checkpoints) is measured by bench/digits-default.bench.mjs.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { assignSplits } from '../src/lib/ml/split';
import { evaluateModel } from '../src/lib/ml/train-loop';
import { DEFAULT_SETTINGS, type TrainSettings } from '../src/lib/train/train-config';
import type { LabeledId } from '../workers/ml/data-feed';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { loadDigitsDemoRecords } from './lib/digits-demo';
import { digitsFeed, trainDigits } from './lib/digits-train';

const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const backend = arg('backend') ?? 'wasm';
const seeds = (arg('seeds') ?? String(DEFAULT_SETTINGS.seed)).split(',').map(Number);
const settings: TrainSettings = { ...DEFAULT_SETTINGS };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] !== '--set') continue;
  const [k, v] = argv[++i].split('=');
  (settings as unknown as Record<string, unknown>)[k] = JSON.parse(v);
}

async function main(): Promise<void> {
  if (backend === 'wasm') {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTrainingKernels();
  }
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed`);
  const digits = await loadDigitsDemoRecords();
  const labels = [...new Set(digits.map((d) => d.label))].sort();
  console.log(`settings: ${JSON.stringify(settings)}`);
  for (const seed of seeds) {
    const s = { ...settings, seed };
    const splits = assignSplits(
      digits.map((d) => ({ id: d.id, label: d.label })),
      { seed: s.seed, keepExisting: true },
    );
    const of = (name: string): LabeledId[] =>
      digits.filter((d) => splits.get(d.id) === name).map((d) => ({ id: d.id, classIndex: labels.indexOf(d.label) }));
    const [train, val, test] = [of('train'), of('val'), of('test')];
    const feed = digitsFeed(digits, labels.length, s.augmentation);
    const {
      model,
      outcome: out,
      seconds,
    } = await trainDigits(s, labels.length, feed, { train, val }, (m) => {
      console.log(
        `  epoch ${m.epoch + 1}: loss ${m.loss.toFixed(4)} acc ${(m.acc * 100).toFixed(2)} val ${m.valLoss?.toFixed(4)} ${((m.valAcc ?? 0) * 100).toFixed(2)}%${m.improved ? ' *' : ''} (${(m.trainMs / 1000).toFixed(1)} s)`,
      );
    });
    const result = await evaluateModel(model, feed(test, 128, null));
    console.log(
      `seed ${seed}: test accuracy ${(result.acc * 100).toFixed(2)}% (${result.n} images), ${out.status} after ${out.epochsDone} epochs, best epoch ${(out.bestEpoch ?? out.epochsDone - 1) + 1}, ${seconds.toFixed(1)} s training on ${backend}`,
    );
    model.dispose();
  }
}

await main();
