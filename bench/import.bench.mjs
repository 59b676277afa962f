// npm run bench:import — imports generated images through the real app in headless Chromium and
// prints images/s and peak JS heap (page + workers, via measureUserAgentSpecificMemory) for
// (a) 5,000 PNGs of 64x64 and (b) 1,000 JPEGs of 512x512. Writes bench/results/import.json.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { findChromium } from '../scripts/ensure-chromium.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const CLASSES = 10;

function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smooth random images (gradients + blobs) that compress like photos, not like noise. */
function paint(width, height, random, channels = 4) {
  const data = Buffer.alloc(width * height * channels);
  const [r0, g0, b0, fx, fy] = [random() * 255, random() * 255, random() * 255, random() * 0.2, random() * 0.2];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const wave = Math.sin(x * fx + random() * 0.05) * Math.cos(y * fy) * 60;
      data[i] = r0 + wave;
      data[i + 1] = g0 - wave;
      data[i + 2] = (b0 + x + y) % 256;
      if (channels === 4) data[i + 3] = 255;
    }
  }
  return data;
}

function generate(kind, count, size) {
  const dir = join(OUT, kind);
  const done = existsSync(dir) && readdirSync(dir).reduce((n, c) => n + readdirSync(join(dir, c)).length, 0) === count;
  if (done) return dir;
  const t0 = Date.now();
  const random = rng(kind === 'png64' ? 1 : 2);
  for (let i = 0; i < count; i++) {
    const cls = join(dir, `class-${i % CLASSES}`);
    mkdirSync(cls, { recursive: true });
    const pixels = paint(size, size, random);
    if (kind === 'png64') {
      const png = new pngjs.PNG({ width: size, height: size });
      pixels.copy(png.data);
      writeFileSync(join(cls, `img-${i}.png`), pngjs.PNG.sync.write(png));
    } else {
      writeFileSync(join(cls, `img-${i}.jpg`), jpeg.encode({ data: pixels, width: size, height: size }, 85).data);
    }
  }
  console.log(`generated ${count} ${kind} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

async function sampleMemory(page) {
  return page.evaluate(async () => {
    try {
      const m = await performance.measureUserAgentSpecificMemory();
      return m.bytes;
    } catch {
      return performance.memory?.usedJSHeapSize ?? null;
    }
  });
}

async function importFolder(page, baseUrl, name, dir, expected) {
  await page.goto(`${baseUrl}#/`);
  await page.getByLabel('New project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await page.locator('input[webkitdirectory]').setInputFiles(dir);
  const start = page.getByRole('button', { name: 'Start import' });
  await start.waitFor({ timeout: 600_000 });
  const samples = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const bytes = await sampleMemory(page).catch(() => null);
      const done = await page
        .locator('progress')
        .first()
        .getAttribute('value')
        .catch(() => null);
      if (bytes) samples.push({ t: Date.now(), bytes, done: Number(done ?? 0) });
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  const t0 = Date.now();
  await start.click();
  await page.getByTestId('report-imported').waitFor({ timeout: 1_800_000 });
  const seconds = (Date.now() - t0) / 1000;
  polling = false;
  await poller;
  const imported = Number(await page.getByTestId('report-imported').textContent());
  const peak = Math.max(...samples.map((s) => s.bytes));
  // Heap at each quarter of the import: it must not grow with the number of images.
  const quarters = [0.25, 0.5, 0.75, 1].map((q) => {
    const upto = samples.filter((s) => s.done <= q * expected);
    return upto.length ? Math.max(...upto.map((s) => s.bytes)) : null;
  });
  return {
    name,
    expected,
    imported,
    seconds,
    imagesPerSecond: imported / seconds,
    peakHeapMB: peak / 1048576,
    heapByQuarterMB: quarters.map((b) => (b ? +(b / 1048576).toFixed(1) : null)),
    samples: samples.length,
  };
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'index.html'))) throw new Error('Build first: npm run build');
  const pngDir = generate('png64', 5000, 64);
  const jpgDir = generate('jpeg512', 1000, 512);
  const server = await startServer({ root: join(ROOT, 'dist'), port: 0 });
  const browser = await chromium.launch({
    executablePath: findChromium(),
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--enable-blink-features=ForceEagerMeasureMemory',
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    // Let the first-run Digits demo import finish so it does not share the CPU with the benchmark.
    // (Wait for the finished count, not for the progress bar to vanish: it is absent before the import starts too.)
    await page
      .getByRole('listitem', { name: 'Digits demo' })
      .getByTestId('sample-count')
      .filter({ hasText: /^5,000 images$/ })
      .waitFor({ timeout: 600_000 });
    await page.getByRole('progressbar', { name: 'Importing into Digits demo' }).waitFor({ state: 'detached', timeout: 600_000 });
    const results = [];
    results.push(await importFolder(page, server.url, 'Bench PNG 64', pngDir, 5000));
    results.push(await importFolder(page, server.url, 'Bench JPEG 512', jpgDir, 1000));
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGB: Math.round(os.totalmem() / 2 ** 30),
        platform: `${os.platform()} ${os.release()}`,
      },
      browser: browser.version(),
      results,
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'import.json'), JSON.stringify(report, null, 2));
    console.log(`\nImport benchmark (${report.machine.cpus} cores, ${report.machine.cpuModel}, Chromium ${report.browser})`);
    for (const r of results) {
      console.log(
        `${r.name}: ${r.imported}/${r.expected} images in ${r.seconds.toFixed(1)} s = ${r.imagesPerSecond.toFixed(0)} images/s; peak heap ${r.peakHeapMB.toFixed(1)} MB; by quarter ${r.heapByQuarterMB.join(' / ')} MB`,
      );
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
