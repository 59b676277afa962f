// Reliability catalog, "Bad-input catalog for importers": the rows about DECODED PIXELS, which
// bad-input-import.e2e.ts only checks as "imported, not skipped":
//   - CMYK or grayscale JPEG, 16-bit / palette / RGBA PNG → correct RGB; one documented alpha rule
//   - EXIF orientations 1-8 → all give the same pixels (imageOrientation: 'from-image')
//   - animated GIF/WebP → first frame
// One browser session: the hand-written fixtures (test/reliability/pixel-fixtures.ts) are first
// decoded by this Chromium directly (so a fixture problem is told apart from an app problem), then
// imported as a folder the way a person does, and a 1-epoch training run (RGB, 24 px, pad) makes
// the app fill its `preprocessed` cache. The test reads those uint8 model inputs
// (inputSize × inputSize × 3, row-major) back from IndexedDB and compares them pixel by pixel
// with what each image must look like. The thumbnails are not used: images this small are stored
// as their own thumbnail (the original bytes), so they would not show the app's decode.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessHash } from '../../src/lib/preprocess/config';
import type { PreprocessConfig } from '../../src/contracts/training';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  closeReport,
  createProject,
  datasetTotal,
  importAndReport,
  perClass,
  pickFolder,
  waitForDemoImported,
  type ImportReport,
} from '../e2e/app-helpers';
import { png } from './bad-input-fixtures';
import {
  adobeCmykToRgb,
  animatedGif,
  animatedWebp,
  blockJpeg,
  orientedJpegs,
  solidCmykJpeg,
  solidGrayJpeg,
  solidRgbJpeg,
  type Rgb,
} from './pixel-fixtures';

/** The model input the training run below preprocesses to (the Train stage's settings). */
const SIZE = 24;
const PREPROCESS: PreprocessConfig = { inputSize: SIZE, channels: 3, resize: 'pad', background: [0, 0, 0] };

/** JPEG YCbCr → RGB rounding; lossless formats and alpha compositing get 2. */
const JPEG_TOL = 3;
const TOL = 2;

interface Fixture {
  /** `class/file`, the folder being the label. */
  path: string;
  bytes: Buffer;
  /** Upright size (after EXIF orientation). */
  width: number;
  height: number;
  /** What pixel (x, y) of the upright image must become in the model input (alpha composited on black). */
  rgb: (x: number, y: number) => Rgb;
  tol: number;
}

const flat = (c: Rgb) => () => c;
/** 3x3 grid of 8x8 blocks (x-major thirds) of a 24x24 image. */
const thirds = (cols: Rgb[]) => (x: number) => cols[Math.floor(x / 8)];

// CMYK samples as stored (Adobe convention: inverted, 255 = no ink).
const CMYK: [number, number, number, number] = [200, 100, 50, 220];
const CMYK_RGB = adobeCmykToRgb(CMYK); // ≈ [173, 86, 43]

// EXIF: one asymmetric upright image of 3x2 flat blocks, stored 8 ways.
const UPRIGHT: Rgb[][] = [
  [
    [220, 30, 30],
    [30, 200, 40],
    [40, 60, 220],
  ],
  [
    [240, 220, 30],
    [200, 40, 200],
    [40, 210, 210],
  ],
];
const EXIF_FILES = orientedJpegs(UPRIGHT);

// Animated: the first frame is what counts; the second is far from it.
const WEBP_FRAMES: Array<[number, number, number, number]> = [
  [200, 40, 60, 255],
  [30, 160, 220, 255],
];
const GIF_FRAMES: Rgb[] = [
  [20, 180, 90],
  [230, 90, 20],
];

// Alpha: columns opaque / half / fully transparent (the transparent pixels hide white).
const RGBA_COLS: Array<[number, number, number, number]> = [
  [10, 200, 30, 255],
  [200, 100, 50, 128],
  [255, 255, 255, 0],
];
const GRAY_ALPHA_COLS: Array<[number, number]> = [
  [180, 255],
  [180, 64],
  [250, 0],
];
const over = (v: number, a: number) => (v * a) / 255;

const PALETTE: Rgb[] = [
  [255, 0, 0],
  [0, 128, 255],
  [250, 250, 20],
];

const FIXTURES: Fixture[] = [
  { path: 'jpeg/gray.jpg', bytes: solidGrayJpeg(SIZE, SIZE, 90), width: SIZE, height: SIZE, rgb: flat([90, 90, 90]), tol: JPEG_TOL },
  {
    path: 'jpeg/ycbcr.jpg',
    bytes: solidRgbJpeg(SIZE, SIZE, [200, 60, 30]),
    width: SIZE,
    height: SIZE,
    rgb: flat([200, 60, 30]),
    tol: JPEG_TOL,
  },
  { path: 'jpeg/cmyk-adobe.jpg', bytes: solidCmykJpeg(SIZE, SIZE, CMYK), width: SIZE, height: SIZE, rgb: flat(CMYK_RGB), tol: JPEG_TOL },
  // The same samples without the APP14 marker: Chromium reads every 4-component JPEG as Adobe CMYK.
  {
    path: 'jpeg/cmyk-plain.jpg',
    bytes: blockJpeg({ width: SIZE, height: SIZE, block: () => CMYK }),
    width: SIZE,
    height: SIZE,
    rgb: flat(CMYK_RGB),
    tol: JPEG_TOL,
  },
  {
    path: 'png/gray.png',
    bytes: png(SIZE, SIZE, { colorType: 0, sample: (x) => [30, 128, 230][Math.floor(x / 8)] }),
    width: SIZE,
    height: SIZE,
    rgb: (x) => {
      const v = [30, 128, 230][Math.floor(x / 8)];
      return [v, v, v];
    },
    tol: TOL,
  },
  {
    path: 'png/palette.png',
    bytes: png(SIZE, SIZE, { colorType: 3, palette: PALETTE, sample: (x) => Math.floor(x / 8) }),
    width: SIZE,
    height: SIZE,
    rgb: thirds(PALETTE),
    tol: TOL,
  },
  // 16-bit samples v·257 (+ noise in the low byte) must come out as v.
  {
    path: 'png/rgb16.png',
    bytes: png(SIZE, SIZE, { colorType: 2, depth: 16, sample: (x, y, c) => [70, 140, 210][c] * 257 + ((x + y) % 3) * 40 }),
    width: SIZE,
    height: SIZE,
    rgb: flat([70, 140, 210]),
    tol: TOL,
  },
  ...EXIF_FILES.map((bytes, i) => ({
    path: `exif/orient-${i + 1}.jpg`,
    bytes,
    width: 24,
    height: 16,
    rgb: (x: number, y: number) => UPRIGHT[Math.floor(y / 8)][Math.floor(x / 8)],
    tol: JPEG_TOL,
  })),
  {
    path: 'alpha/rgba.png',
    bytes: png(SIZE, SIZE, { colorType: 6, sample: (x, _y, c) => RGBA_COLS[Math.floor(x / 8)][c] }),
    width: SIZE,
    height: SIZE,
    rgb: (x) => {
      const [r, g, b, a] = RGBA_COLS[Math.floor(x / 8)];
      return [over(r, a), over(g, a), over(b, a)];
    },
    tol: TOL,
  },
  {
    path: 'alpha/gray-alpha.png',
    bytes: png(SIZE, SIZE, { colorType: 4, sample: (x, _y, c) => GRAY_ALPHA_COLS[Math.floor(x / 8)][c] }),
    width: SIZE,
    height: SIZE,
    rgb: (x) => {
      const [v, a] = GRAY_ALPHA_COLS[Math.floor(x / 8)];
      return [over(v, a), over(v, a), over(v, a)];
    },
    tol: TOL,
  },
  {
    path: 'animated/animated.webp',
    bytes: animatedWebp(SIZE, SIZE, WEBP_FRAMES),
    width: SIZE,
    height: SIZE,
    rgb: flat(WEBP_FRAMES[0].slice(0, 3) as Rgb),
    tol: TOL,
  },
  {
    path: 'animated/animated.gif',
    bytes: animatedGif(SIZE, SIZE, GIF_FRAMES),
    width: SIZE,
    height: SIZE,
    rgb: flat(GIF_FRAMES[0]),
    tol: TOL,
  },
];

const byPath = (p: string) => FIXTURES.find((f) => f.path === p)!;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** RGB of the whole SIZE x SIZE model input the app must produce: pad policy, black background. */
function expectedModelInput(f: Fixture): Uint8Array {
  const scale = SIZE / Math.max(f.width, f.height);
  if (scale !== 1) throw new Error(`${f.path}: fixtures are drawn at scale 1 (max side ${SIZE})`);
  const dx = Math.floor((SIZE - f.width) / 2);
  const dy = Math.floor((SIZE - f.height) / 2);
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < f.height; y++) for (let x = 0; x < f.width; x++) out.set(f.rgb(x, y).map(Math.round), ((y + dy) * SIZE + x + dx) * 3);
  return out;
}

/** Largest per-channel difference and where, between two RGB buffers of one width. */
function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, width: number, channels = 3): { max: number; at: string } {
  let max = -1;
  let at = '';
  if (actual.length !== expected.length) return { max: Infinity, at: `length ${actual.length} ≠ ${expected.length}` };
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > max) {
      const p = Math.floor(i / channels);
      max = d;
      at = `(${p % width}, ${Math.floor(p / width)}) channel ${i % channels}: got ${actual[i]}, want ${expected[i]}`;
    }
  }
  return { max, at };
}

describe('Bad inputs: decoded pixels', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  const dialogs: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-rel-pixels-'));
    for (const f of FIXTURES) {
      mkdirSync(dirname(join(dir, 'pixels', f.path)), { recursive: true });
      writeFileSync(join(dir, 'pixels', f.path), f.bytes);
    }
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    b.context.on('request', (r) => {
      const u = r.url();
      if (/^https?:/.test(u) && !u.startsWith(appUrl())) foreign.push(u);
    });
    await page.goto(appUrl());
    await waitForDemoImported(page);
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** This Chromium's own decode of every fixture (EXIF applied, drawn on black), in the app's page. */
  let direct: Promise<Record<string, { width: number; height: number; rgb: number[] } | { error: string }>> | null = null;
  const decodeDirectly = () =>
    (direct ??= page.evaluate(
      async (files) => {
        const out: Record<string, { width: number; height: number; rgb: number[] } | { error: string }> = {};
        for (const [path, b64] of Object.entries(files)) {
          try {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const bitmap = await createImageBitmap(new Blob([bytes]), { imageOrientation: 'from-image' });
            const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
            const ctx = canvas.getContext('2d')!;
            ctx.fillStyle = '#000';
            ctx.fillRect(0, 0, bitmap.width, bitmap.height);
            ctx.drawImage(bitmap, 0, 0);
            const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
            out[path] = { width: bitmap.width, height: bitmap.height, rgb: Array.from(rgba).filter((_, i) => i % 4 !== 3) };
            bitmap.close();
          } catch (err) {
            out[path] = { error: String(err) };
          }
        }
        return out;
      },
      Object.fromEntries(FIXTURES.map((f) => [f.path, f.bytes.toString('base64')])),
    ));

  /**
   * One import of the fixture folder and one 1-epoch training run; then the app's model inputs
   * (the `preprocessed` cache for this run's settings) and sample records, keyed by file path.
   */
  let imported: Promise<{
    report: ImportReport;
    classes: Record<string, number>;
    inputs: Map<string, Uint8Array>;
    samples: Map<string, { width: number; height: number; mime: string }>;
  }> | null = null;
  const importAndTrain = () =>
    (imported ??= (async () => {
      const projectId = await createProject(page, 'Decoded pixels');
      await pickFolder(page, join(dir, 'pixels'));
      const report = await importAndReport(page);
      await closeReport(page);
      await expect.poll(() => datasetTotal(page)).toBe(report.imported);
      const classes = await perClass(page);

      await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
      await page.getByLabel('Architecture').selectOption({ label: 'Small CNN (digit-sized inputs)' });
      await page.getByLabel('Input size (px)').fill(String(SIZE));
      await page.getByLabel('Colour').selectOption({ label: 'RGB' });
      await page.getByLabel('Resize').selectOption({ label: 'Pad (keep aspect)' });
      await page.getByLabel('Epochs').fill('1');
      await page.getByLabel('Batch size').fill('8');
      await page.getByLabel('Augmentation strength (0 = off)').fill('0');
      await page.getByLabel('Early stopping patience (0 = off)').fill('0');
      await page.getByLabel('Backend').selectOption('cpu');
      await page.getByRole('button', { name: 'Start training' }).click();
      // The run's outcome, or the Train stage's refusal / failure message, whichever comes first.
      const trainSection = page.getByRole('region', { name: 'Train a classifier' });
      const outcome = async () => {
        const done = await page
          .getByTestId('train-outcome')
          .innerText()
          .catch(() => '');
        if (done) return done;
        const alerts = await trainSection.getByRole('alert').allInnerTexts();
        return alerts.length ? `alert: ${alerts.join(' / ')}` : '';
      };
      await expect.poll(outcome, { timeout: 150_000 }).toMatch(/Run \w+|alert:/);
      expect(await outcome()).toMatch(/^Run completed/);

      const hash = preprocessHash(PREPROCESS);
      const stored = await page.evaluate(
        async ({ projectId, hash }) => {
          const db = await new Promise<IDBDatabase>((resolve, reject) => {
            const r = indexedDB.open('trainyard');
            r.onsuccess = () => resolve(r.result);
            r.onerror = () => reject(r.error);
          });
          const all = <T>(store: string, range: IDBKeyRange) =>
            new Promise<T[]>((resolve, reject) => {
              const r = db.transaction(store, 'readonly').objectStore(store).getAll(range);
              r.onsuccess = () => resolve(r.result as T[]);
              r.onerror = () => reject(r.error);
            });
          try {
            const pre = await all<{ id: string; data: ArrayBuffer }>(
              'preprocessed',
              IDBKeyRange.bound([projectId, hash, ''], [projectId, hash, '\uffff']),
            );
            const samples = await all<{ id: string; width: number; height: number; mime: string }>(
              'samples',
              IDBKeyRange.bound([projectId, ''], [projectId, '\uffff']),
            );
            return {
              inputs: pre.map((r) => ({ id: r.id, data: Array.from(new Uint8Array(r.data)) })),
              samples: samples.map((s) => ({ id: s.id, width: s.width, height: s.height, mime: s.mime })),
            };
          } finally {
            db.close();
          }
        },
        { projectId, hash },
      );

      const pathOf = new Map(FIXTURES.map((f) => [sha256(f.bytes), f.path]));
      return {
        report,
        classes,
        inputs: new Map(stored.inputs.filter((r) => pathOf.has(r.id)).map((r) => [pathOf.get(r.id)!, Uint8Array.from(r.data)])),
        samples: new Map(stored.samples.filter((s) => pathOf.has(s.id)).map((s) => [pathOf.get(s.id)!, s])),
      };
    })());

  /** The app's model input for `path`, checked against what the image must look like. */
  async function checkModelInput(path: string): Promise<Uint8Array> {
    const { inputs } = await importAndTrain();
    const f = byPath(path);
    const actual = inputs.get(path);
    expect(actual, `${path}: no preprocessed record for ${preprocessHash(PREPROCESS)}`).toBeDefined();
    const { max, at } = compare(actual!, expectedModelInput(f), SIZE);
    expect(max, `${path} model input differs at ${at}`).toBeLessThanOrEqual(f.tol);
    return actual!;
  }

  it('Fixture check: this Chromium decodes every hand-written file to the intended pixels (CMYK: R = C·K/255 on the stored, inverted samples)', async () => {
    const decoded = await decodeDirectly();
    for (const f of FIXTURES) {
      const d = decoded[f.path];
      expect(d, f.path).not.toHaveProperty('error');
      const ok = d as { width: number; height: number; rgb: number[] };
      expect([ok.width, ok.height], f.path).toEqual([f.width, f.height]);
      const want = new Array<number>();
      for (let y = 0; y < f.height; y++) for (let x = 0; x < f.width; x++) want.push(...f.rgb(x, y).map(Math.round));
      const { max, at } = compare(ok.rgb, want, f.width);
      expect(max, `${f.path} decoded by Chromium differs at ${at}`).toBeLessThanOrEqual(f.tol);
    }
    // The CMYK rule is the inverted one: the plain reading (C = ink) would give R = 255 − C·(1 − K/255) − K ≈ 8.
    const cmyk = decoded['jpeg/cmyk-adobe.jpg'] as { rgb: number[] };
    expect(cmyk.rgb.slice(0, 3).map((v, c) => Math.abs(v - CMYK_RGB[c]) <= JPEG_TOL)).toEqual([true, true, true]);
  });

  it('Bad input: CMYK or grayscale JPEG, 16-bit / palette / RGBA PNG → correct RGB (the model input, pixel by pixel)', async () => {
    const { report, classes, samples } = await importAndTrain();
    expect(report.skippedFiles).toEqual([]);
    expect(report.imported).toBe(FIXTURES.length);
    expect(classes).toEqual({ jpeg: 4, png: 3, exif: 8, alpha: 2, animated: 2 });
    for (const path of [
      'jpeg/gray.jpg',
      'jpeg/ycbcr.jpg',
      'jpeg/cmyk-adobe.jpg',
      'jpeg/cmyk-plain.jpg',
      'png/gray.png',
      'png/palette.png',
      'png/rgb16.png',
    ]) {
      expect(samples.get(path), path).toMatchObject({ width: SIZE, height: SIZE });
      await checkModelInput(path);
    }
    // CMYK: Adobe's inverted convention, with or without the APP14 marker (Chromium's rule).
    const cmyk = await checkModelInput('jpeg/cmyk-adobe.jpg');
    expect(Math.abs(cmyk[0] - 173)).toBeLessThanOrEqual(JPEG_TOL);
    // Grayscale JPEG: R = G = B.
    const gray = await checkModelInput('jpeg/gray.jpg');
    expect([gray[0], gray[1], gray[2]]).toEqual([gray[0], gray[0], gray[0]]);
  });

  it('Bad input: EXIF orientations 1-8 → all give the same pixels (imageOrientation: from-image)', async () => {
    const { samples } = await importAndTrain();
    const first = await checkModelInput('exif/orient-1.jpg');
    for (let o = 1; o <= 8; o++) {
      const path = `exif/orient-${o}.jpg`;
      // Stored 16x24 for 5-8: the app records the upright size.
      expect(samples.get(path), path).toMatchObject({ width: 24, height: 16, mime: 'image/jpeg' });
      const pixels = await checkModelInput(path);
      const { max, at } = compare(pixels, first, SIZE);
      expect(max, `orientation ${o} vs 1 differs at ${at}`).toBeLessThanOrEqual(JPEG_TOL);
    }
  });

  it('Bad input: RGBA PNG → one documented alpha rule: composited on the background (black), before resizing', async () => {
    const rgba = await checkModelInput('alpha/rgba.png');
    const px = (x: number, y: number) => Array.from(rgba.subarray((y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3));
    // Opaque: unchanged. Half transparent (a = 128): scaled by a/255. Transparent white: black.
    expect(px(4, 4)).toEqual([10, 200, 30]);
    expect(px(12, 12).map((v, c) => Math.abs(v - [100, 50, 25][c]) <= TOL)).toEqual([true, true, true]);
    expect(px(20, 20)).toEqual([0, 0, 0]);
    await checkModelInput('alpha/gray-alpha.png');
  });

  it('Bad input: animated GIF/WebP → first frame', async () => {
    const { samples } = await importAndTrain();
    expect(samples.get('animated/animated.webp'), 'animated WebP kept').toMatchObject({ width: SIZE, height: SIZE, mime: 'image/webp' });
    expect(samples.get('animated/animated.gif'), 'animated GIF kept').toMatchObject({ width: SIZE, height: SIZE, mime: 'image/gif' });
    const webp = await checkModelInput('animated/animated.webp');
    const gif = await checkModelInput('animated/animated.gif');
    // Not the second frame.
    expect(
      compare(webp, expectedModelInput({ ...byPath('animated/animated.webp'), rgb: flat(WEBP_FRAMES[1].slice(0, 3) as Rgb) }), SIZE).max,
    ).toBeGreaterThan(100);
    expect(compare(gif, expectedModelInput({ ...byPath('animated/animated.gif'), rgb: flat(GIF_FRAMES[1]) }), SIZE).max).toBeGreaterThan(
      100,
    );
  });

  it('No page errors, dialogs, CSP violations or requests to other origins through import and training', async () => {
    await importAndTrain();
    expect(page.pageErrors()).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
