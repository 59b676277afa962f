// npm run bench:quick-model — from clicking "Quick model" to a finished version, on 3 classes x 30
// photos at 224 px with the backbone already stored, and the embedding throughput (images/s) per
// backend, in headless Chromium driving the built app.
//
// Nothing can be downloaded here, so the backbone is a MobileNet v2 0.35 (224 px, no top, ending
// in out_relu with 1280 channels) built layer by layer with tf.layers in
// test/fixtures/catalog-backbones.ts: the real architecture and parameter count (about 410k,
// 1.6 MB), random seeded weights. Its timing is realistic; its accuracy is not the point. It is
// served from a second local origin, and the app is built for that origin into bench/out/.
//
// Usage: npm run bench:quick-model [-- --backends=wasm,webgl,webgpu,cpu] [--per-class=30] [--reuse-build] [--catalog-port=47113]
// Default backends: wasm,webgl (cpu takes minutes per backend at 224 px). Writes
// bench/results/quick-model.json and prints a table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { chromium, type Page } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { findChromium } from '../scripts/ensure-chromium.mjs';
import { catalogEntry } from '../src/lib/ml/backbone-catalog';
import { mobileNetV2, type ServedModel } from '../test/fixtures/catalog-backbones';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out', 'quick-model');
const DIST = join(OUT, 'dist');
const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const BACKENDS = (arg('backends') ?? 'wasm,webgl').split(',').filter(Boolean);
const PER_CLASS = Number(arg('per-class') ?? 30);
const CLASSES = ['red', 'green', 'blue'];
const ENTRY = catalogEntry('mobilenet-v2-0.35-224')!;

function writePhotos(root: string): void {
  let seed = 5;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const colours: Record<string, number[]> = { red: [220, 60, 50], green: [50, 180, 70], blue: [60, 90, 230] };
  for (const cls of CLASSES) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const png = new pngjs.PNG({ width: 224, height: 224 });
      const cx = 60 + rand() * 104,
        cy = 60 + rand() * 104,
        r = 40 + rand() * 30;
      for (let y = 0; y < 224; y++) {
        for (let x = 0; x < 224; x++) {
          const base = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? colours[cls] : [110 + (x % 32), 120, 130 - (y % 32)];
          png.data.set([...base.map((v) => Math.max(0, Math.min(255, Math.round(v + (rand() - 0.5) * 50)))), 255], (y * 224 + x) * 4);
        }
      }
      writeFileSync(join(root, cls, `${cls}-${i}.png`), pngjs.PNG.sync.write(png));
    }
  }
}

const stage = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();

async function newProjectWithPhotos(page: Page, url: string, name: string, photos: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  await page.getByLabel('New project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  await page.locator('input[webkitdirectory]').setInputFiles(photos);
  await page.getByRole('button', { name: 'Start import' }).click();
  await page.getByRole('heading', { name: /^Import (finished|cancelled|failed)$/ }).waitFor({ timeout: 300_000 });
  await stage(page, 'Train');
}

/** Clicks Quick model; returns seconds to the finished version and the embedding phase's images/s. */
async function quickModel(page: Page): Promise<{ seconds: number; embedPerSecond: number | null; backend: string }> {
  const t0 = Date.now();
  await page.getByRole('region', { name: 'Suggested for this data' }).getByRole('button', { name: 'Quick model' }).click();
  // The embedding phase: poll the progress region for the embeddings line and note when it moves.
  let first: number | null = null;
  let firstDone = 0;
  let last: number | null = null;
  let done = 0;
  const result = page.getByTestId('quick-model-result');
  while (!(await result.isVisible())) {
    const text =
      (await page
        .getByRole('region', { name: 'Training progress' })
        .innerText()
        .catch(() => '')) ?? '';
    const m = /Computing embeddings\s*(\d+) of (\d+)/.exec(text);
    if (m) {
      const n = Number(m[1]);
      if (n > 0 && first === null) ((first = Date.now()), (firstDone = n));
      if (n > done) ((done = n), (last = Date.now()));
    }
    await page.waitForTimeout(50);
    if (Date.now() - t0 > 900_000) throw new Error('Quick model did not finish in 15 minutes.');
  }
  const seconds = (Date.now() - t0) / 1000;
  if (!/Quick model ready/.test(await result.innerText())) throw new Error(`Quick model failed: ${await result.innerText()}`);
  const backend = /Backend: (\w+)/.exec(await page.getByRole('region', { name: 'Training progress' }).innerText())?.[1] ?? '?';
  // From the first to the last embedding batch (the first batch's own time is not in the span).
  const embedPerSecond = first !== null && last !== null && last > first ? (done - firstDone) / ((last - first) / 1000) : null;
  return { seconds, embedPerSecond, backend };
}

async function main() {
  rmSync(join(OUT, 'photos'), { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await tf.setBackend('cpu');
  const served: ServedModel = await mobileNetV2(0.35);
  console.log(
    `MobileNet v2 0.35 stand-in: ${(served['weights.bin'].byteLength / 2 ** 20).toFixed(2)} MB of weights (${served['weights.bin'].byteLength / 4} parameters)`,
  );
  const photos = join(OUT, 'photos');
  writePhotos(photos);

  const catalog = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    const name = (req.url ?? '').split('/').pop() as keyof ServedModel;
    const body = (req.url ?? '').startsWith(ENTRY.path.replace(/model\.json$/, '')) ? served[name] : undefined;
    res.statusCode = body === undefined ? 404 : 200;
    res.end(body === undefined ? '' : Buffer.from(body));
  }).listen(Number(arg('catalog-port') ?? 47113), '127.0.0.1');
  await new Promise((r) => catalog.once('listening', r));
  const origin = `http://127.0.0.1:${(catalog.address() as { port: number }).port}`;
  // --reuse-build skips the build when the last one was made for this origin (while iterating).
  const built = existsSync(join(DIST, 'catalog-origin.txt')) && readFileSync(join(DIST, 'catalog-origin.txt'), 'utf8').trim() === origin;
  if (!(argv.includes('--reuse-build') && built)) {
    console.log('Building the app for the local catalog origin…');
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', DIST, '--emptyOutDir', '--logLevel', 'error'],
      {
        cwd: ROOT,
        env: { ...process.env, TRAINYARD_CATALOG_ORIGIN: origin },
        stdio: 'inherit',
      },
    );
  }
  const app = await startServer({ root: DIST, port: 0 });
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--enable-unsafe-webgpu',
      '--enable-unsafe-swiftshader',
    ],
  });
  const rows: Array<Record<string, unknown>> = [];
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The first visit imports the Digits demo (5,000 images): let it finish so it does not share the CPU with the timings.
    await page.goto(app.url);
    const demo = page.getByRole('listitem', { name: 'Digits demo', exact: true });
    await demo
      .getByTestId('sample-count')
      .filter({ hasText: /^\s*5,000 images\s*$/ })
      .waitFor({ timeout: 300_000 });
    await page.getByRole('progressbar', { name: 'Importing into Digits demo' }).waitFor({ state: 'detached', timeout: 300_000 });
    // Store the backbone first: the timed clicks start with it in IndexedDB, as the goal says.
    await newProjectWithPhotos(page, app.url, 'Bench warm-up', photos);
    const t0 = Date.now();
    await page.getByRole('button', { name: `Download ${ENTRY.name}` }).click();
    const stored = page.getByRole('table', { name: 'Pretrained backbones' }).getByText('Stored');
    const tick = setInterval(
      () =>
        void page
          .getByTestId('catalog-progress')
          .innerText({ timeout: 1000 })
          .then(
            (t) => console.log(`  ${t}`),
            () => {},
          ),
      10_000,
    );
    await stored.or(page.getByTestId('catalog-error')).waitFor({ timeout: 600_000 });
    clearInterval(tick);
    if (!(await stored.isVisible())) throw new Error(`The download failed: ${await page.getByTestId('catalog-error').innerText()}`);
    console.log(`Download + validation + storage of the backbone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    for (const backend of ['auto', ...BACKENDS]) {
      await newProjectWithPhotos(page, app.url, `Bench ${backend}`, photos);
      await page
        .getByRole('combobox', { name: /Backend/ })
        .last()
        .selectOption(backend);
      const r = await quickModel(page);
      rows.push({
        backendChosen: backend,
        backendUsed: r.backend,
        quickModelSeconds: Number(r.seconds.toFixed(1)),
        embeddingImagesPerSecond: r.embedPerSecond && Number(r.embedPerSecond.toFixed(1)),
      });
      console.log(rows.at(-1));
    }
  } finally {
    await browser.close();
    await app.close();
    catalog.close();
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30) },
    images: CLASSES.length * PER_CLASS,
    backbone: 'MobileNet v2 0.35 224 px stand-in built with tf.layers (random weights)',
    rows,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'quick-model.json'), JSON.stringify(result, null, 2));
  console.table(rows);
}

await main();
