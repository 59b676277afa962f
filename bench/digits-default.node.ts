// Tuning aid for the Train stage's defaults (npx tsx bench/digits-default.node.ts [--backend=wasm|cpu]
// [--set key=value ...] [--seeds=42,7]): trains on the Digits demo in Node the way the app's worker
// does, without a browser: the same 5,000 images (public/demo/digits.zip, `npm run demo:build`),
// sample ids (SHA-256 of the file), seeded stratified split, batch stream with augmentation
// (streamedEpochs + recordsToPixels), model, seeded dropout, early stopping with patience and the
// best epoch's weights restored. Prints test accuracy, epochs and wall time per seed. The app's own
// run (import through the UI, backend probe, checkpoints) is measured by bench/digits-default.bench.mjs.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobReader, Uint8ArrayWriter, ZipReader, configure } from '@zip.js/zip.js';
import pngjs from 'pngjs';
import { buildModel } from '../src/lib/ml/architectures';
import { assignSplits } from '../src/lib/ml/split';
import { trainLoop, evaluateModel } from '../src/lib/ml/train-loop';
import { makeOptimizer, disposeOptimizer } from '../src/lib/ml/optimizers';
import { captureWeights, restoreWeights, type WeightsBlob } from '../src/lib/ml/checkpoint';
import { fromStrength, isIdentity } from '../src/lib/augment/spec';
import { DEFAULT_SETTINGS, type TrainSettings } from '../src/lib/train/train-config';
import { augmentSeed, recordsToPixels } from '../workers/ml/batch-pixels';
import { pixelsToBatch, streamedEpochs, type LabeledId } from '../workers/ml/data-feed';
import { architectureOf, PLATEAU } from '../workers/ml/train-runner';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
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

async function loadDigits(): Promise<Array<{ id: string; label: string; pixels: Uint8Array }>> {
  configure({ useWebWorkers: false });
  const zip = new ZipReader(new BlobReader(new Blob([readFileSync(join(ROOT, 'public/demo/digits.zip'))])));
  const out: Array<{ id: string; label: string; pixels: Uint8Array }> = [];
  for (const entry of await zip.getEntries()) {
    if (entry.directory || !entry.getData) continue;
    const bytes = await entry.getData(new Uint8ArrayWriter());
    const png = pngjs.PNG.sync.read(Buffer.from(bytes));
    const pixels = new Uint8Array(png.width * png.height);
    for (let i = 0; i < pixels.length; i++) pixels[i] = png.data[i * 4];
    out.push({ id: createHash('sha256').update(bytes).digest('hex'), label: entry.filename.split('/')[0], pixels });
  }
  await zip.close();
  return out;
}

async function main(): Promise<void> {
  if (backend === 'wasm') {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTrainingKernels();
  }
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed`);
  const digits = await loadDigits();
  const labels = [...new Set(digits.map((d) => d.label))].sort();
  const byId = new Map(digits.map((d) => [d.id, d]));
  console.log(`settings: ${JSON.stringify(settings)}`);
  for (const seed of seeds) {
    const s = { ...settings, seed };
    const splits = assignSplits(digits.map((d) => ({ id: d.id, label: d.label })), { seed: s.seed, keepExisting: true });
    const of = (name: string): LabeledId[] => digits.filter((d) => splits.get(d.id) === name).map((d) => ({ id: d.id, classIndex: labels.indexOf(d.label) }));
    const [train, val, test] = [of('train'), of('val'), of('test')];
    const config = { inputSize: 28, channels: 1 as const, resize: 'pad' as const, background: [0, 0, 0] as [number, number, number] };
    const spec = fromStrength(s.augmentation);
    const feed = (items: LabeledId[], batch: number, shuffle: number | null) =>
      streamedEpochs(items, batch, shuffle, async (ids, at) => recordsToPixels(ids.map((id) => byId.get(id)!.pixels.buffer as ArrayBuffer), {
        inputSize: 28, channels: 1, ...(shuffle !== null && !isIdentity(spec) ? { augment: { spec, seed: augmentSeed(shuffle, at.epoch, at.batch) } } : {}),
      }), (px, classes) => pixelsToBatch(px, classes, config, labels.length));
    const model = buildModel(architectureOf(s, labels.length), s.seed);
    const optimizer = makeOptimizer(s.optimizer, s.learningRate, s.momentum);
    const started = performance.now();
    let best: { epoch: number; weights: WeightsBlob } | null = null;
    const out = await trainLoop(model, feed(train, s.batchSize, s.seed), {
      epochs: s.epochs, optimizer, shouldStop: () => false, validation: feed(val, s.batchSize, null), seed: s.seed,
      earlyStopping: s.earlyStoppingPatience > 0 ? { patience: s.earlyStoppingPatience } : undefined,
      reduceOnPlateau: s.earlyStoppingPatience > 2 ? PLATEAU(s.learningRate) : undefined,
    }, {
      onEpoch: async (m) => {
        const weights = await captureWeights(model);
        if (m.improved) best = { epoch: m.epoch, weights };
        console.log(`  epoch ${m.epoch + 1}: loss ${m.loss.toFixed(4)} acc ${(m.acc * 100).toFixed(2)} val ${m.valLoss?.toFixed(4)} ${((m.valAcc ?? 0) * 100).toFixed(2)}%${m.improved ? ' *' : ''} (${(m.trainMs / 1000).toFixed(1)} s)`);
      },
    });
    const trained = best as { epoch: number; weights: WeightsBlob } | null;
    if (trained && out.bestEpoch === trained.epoch) restoreWeights(model, trained.weights);
    const seconds = (performance.now() - started) / 1000;
    const result = await evaluateModel(model, feed(test, 128, null));
    console.log(`seed ${seed}: test accuracy ${(result.acc * 100).toFixed(2)}% (${result.n} images), ${out.status} after ${out.epochsDone} epochs, best epoch ${(out.bestEpoch ?? out.epochsDone - 1) + 1}, ${seconds.toFixed(1)} s training on ${backend}`);
    model.dispose();
    disposeOptimizer(optimizer);
  }
}

await main();
