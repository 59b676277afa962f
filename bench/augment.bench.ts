// npm run bench:augment — is on-the-fly augmentation fast enough not to starve training?
// Times lib/augment's augmentImage (the function the training worker's data feed calls for every
// training image) on batches of 64, for the two reference input shapes (28x28x1 digits, 96x96x3
// photos), with each transform alone and with all of them on. Compare the images/s with training
// throughput (bench:train): augmentation runs on the training worker's thread between batches, so
// it costs training time exactly when it is not far faster than training itself.
// Writes bench/results/augment.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { augmentImage } from '../src/lib/augment/apply';
import { NO_AUGMENTATION, type AugmentationSpec } from '../src/lib/augment/spec';
import { mulberry32 } from '../src/lib/ml/random';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BATCH = 64;
const SECONDS = 1.5;

const SPECS: Record<string, Partial<AugmentationSpec>> = {
  none: {},
  hflip: { hflip: 0.5 },
  rotation: { rotation: 15 },
  resizedCrop: { resizedCrop: 0.3 },
  brightness: { brightness: 0.3 },
  contrast: { contrast: 0.3 },
  saturation: { saturation: 0.3 },
  noise: { noise: 0.05 },
  cutout: { cutout: 0.25 },
  all: {
    hflip: 0.5,
    vflip: 0.1,
    rotation: 15,
    resizedCrop: 0.3,
    brightness: 0.3,
    contrast: 0.3,
    saturation: 0.3,
    noise: 0.05,
    cutout: 0.25,
  },
};

function measure(size: number, channels: number, spec: AugmentationSpec): number {
  const rand = mulberry32(1);
  const n = size * size * channels;
  const images = Array.from({ length: BATCH }, () => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const out = new Float32Array(BATCH * n);
  const batch = () => images.forEach((img, i) => augmentImage(img, { size, channels }, spec, rand, out, i * n));
  for (let i = 0; i < 5; i++) batch(); // warm-up (JIT)
  let batches = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    batch();
    batches++;
  }
  return (batches * BATCH) / ((performance.now() - t0) / 1000);
}

const results: Record<string, Record<string, number>> = {};
for (const [shape, size, channels] of [
  ['28x28x1', 28, 1],
  ['96x96x3', 96, 3],
] as const) {
  results[shape] = {};
  for (const [name, partial] of Object.entries(SPECS)) {
    if (name === 'saturation' && channels === 1) continue;
    const ips = measure(size, channels, { ...NO_AUGMENTATION, ...partial });
    results[shape][name] = Math.round(ips);
    console.log(
      `${shape} ${name.padEnd(12)} ${Math.round(ips).toLocaleString('en-US').padStart(9)} images/s  (${((BATCH / ips) * 1000).toFixed(2)} ms per batch of ${BATCH})`,
    );
  }
}

const out = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version },
  method: `augmentImage on random uint8 images, batches of ${BATCH}, one thread, ${SECONDS} s per case after a warm-up; images/s.`,
  imagesPerSecond: results,
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'augment.json'), JSON.stringify(out, null, 2) + '\n');
console.log('wrote bench/results/augment.json');
