// npm run bench:train — training throughput in headless Chromium, per TF.js backend:
//   (a) a bare model.fit on in-memory random tensors (bench/fit-bench.html and its worker, built
//       here with Vite's JS API and never part of the app build), and
//   (b) Trainyard's own training path: the built app, PNGs imported through the UI into
//       IndexedDB, trained in the app's worker from the Train stage,
// for the small CNN (28x28x1, batch 64) and the MobileNet-style net (96x96x3, batch 32, width
// 0.5), and the ratio (b)/(a) (goal: at least 0.9). (a) runs just before and just after (b) on the
// same backend so that load drifting on a shared machine does not skew the ratio.
// When PyTorch imports (Debian's python3-torch; `python3`, then /usr/bin/python3, or $PYTHON), the
// same models are timed there too (bench/torch_bench.py, 1 and 2 threads). Nothing is installed.
// Writes bench/results/train.json and prints a table.
//
// Usage: npm run bench:train [-- options]
//   --full              the issue's sizes: 1,280 / 320 images imported, bare fit on 1,280 / 320
//                       samples after a full warm-up epoch, 3 epochs, every backend. Hours on a
//                       2-core machine without a GPU; meant for machines with one. The default quick
//                       profile takes about 5 minutes for WASM on 2 cores; WebGL and WebGPU on SwiftShader
//                       add several minutes each (the CNN at ~50-100 images/s).
//   --backends=a,b      subset of webgpu,webgl,wasm,cpu
//   --models=a,b        subset of cnn,mobilenet
//   --cpu-mobilenet     also run the cpu backend on the MobileNet-style net (minutes per batch)
//   --loop              also time a minimal custom training loop (optimizer.minimize per batch) on
//                       the same in-memory tensors: tells model.fit overhead from data-path overhead
//   --skip-app          only the bare fit (and PyTorch)
//   --skip-torch        no PyTorch
// CHROME_PATH picks the browser; PYTHON the interpreter for PyTorch.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import pngjs from 'pngjs';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { findChromium } from '../scripts/ensure-chromium.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const FIT_DIST = join(OUT, 'fit-dist');
const RESULTS = join(ROOT, 'bench', 'results', 'train.json');
const CLASSES = 10;
const ALL_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];

// ---------------------------------------------------------------------------------------------
// Options and profiles

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const listArg = (name, all) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (!a) return all;
  const picked = a
    .slice(name.length + 3)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = picked.filter((p) => !all.includes(p));
  if (bad.length) throw new Error(`--${name}: unknown ${bad.join(', ')} (choose from ${all.join(', ')})`);
  return picked;
};
const FULL = flag('full') || process.env.BENCH_TRAIN_FULL === '1';
const BACKENDS = listArg('backends', ALL_BACKENDS);
const MODELS = listArg('models', ['cnn', 'mobilenet']);

/**
 * Per model: which backends run and with how many samples the bare fit goes (a string = skipped,
 * with the reason), how big the warm-up fit is (warmupBatches: null = one full epoch, as the issue
 * asks; the quick profile warms up on one or two batches, which compiles every kernel for the batch
 * shape just the same), and the dataset imported into the app and its epochs.
 * Dataset sizes in the quick profile are picked so the app's stratified 70/15/15 split
 * (src/lib/ml/split.ts) leaves a training split of whole batches.
 */
const SLOW = 'skipped in the quick profile: minutes per batch on a software adapter (run with --full)';
const PROFILES = {
  quick: {
    cnn: {
      backends: {
        webgpu: { samples: 128, epochs: 2 },
        webgl: { samples: 320, epochs: 2 },
        wasm: { samples: 2560, epochs: 2 },
        cpu: { samples: 128, epochs: 2 },
      },
      warmupBatches: 2,
      // 229 per class -> 1,600 / 350 / 340: 1,600 training images = 25 batches of 64. At WASM's
      // ~2,500 images/s an epoch takes well under a second: fewer images would leave the
      // measurement to fixed per-epoch costs and timer noise.
      app: { images: 2290, epochs: 4, split: { train: 1600, val: 350 } },
    },
    mobilenet: {
      // WebGL on SwiftShader trains this net at ~1 image/s: the app's 3 epochs would take over 20 minutes.
      backends: { webgpu: SLOW, webgl: SLOW, wasm: { samples: 128, epochs: 2 }, cpu: SLOW },
      warmupBatches: 1,
      // 324 images -> 224 / 50 / 50: 224 training images = 7 batches of 32.
      app: { images: 324, epochs: 3, split: { train: 224, val: 50 } },
    },
  },
  full: {
    cnn: {
      backends: {
        webgpu: { samples: 1280, epochs: 2 },
        webgl: { samples: 1280, epochs: 2 },
        wasm: { samples: 1280, epochs: 2 },
        cpu: { samples: 1280, epochs: 2 },
      },
      warmupBatches: null,
      app: { images: 1280, epochs: 3, split: { train: 900, val: 190 } },
    },
    mobilenet: {
      backends: {
        webgpu: { samples: 320, epochs: 2 },
        webgl: { samples: 320, epochs: 2 },
        wasm: { samples: 320, epochs: 2 },
        cpu: { samples: 320, epochs: 2 },
      },
      warmupBatches: null,
      app: { images: 320, epochs: 3, split: { train: 220, val: 50 } },
    },
  },
};
const MODEL_SHAPES = {
  cnn: { architecture: 'cnn', inputSize: 28, channels: 1, batchSize: 64, label: 'Small CNN 28x28x1, batch 64' },
  mobilenet: {
    architecture: 'mobilenet',
    inputSize: 96,
    channels: 3,
    batchSize: 32,
    widthMultiplier: 0.5,
    label: 'MobileNet-style 96x96x3 (width 0.5), batch 32',
  },
};
const CPU_MOBILENET = flag('cpu-mobilenet');
const LOOP = flag('loop');

function profileFor(model) {
  const p = structuredClone(PROFILES[FULL ? 'full' : 'quick'][model]);
  if (model === 'mobilenet') {
    p.backends.cpu = CPU_MOBILENET
      ? typeof p.backends.cpu === 'string'
        ? { samples: 32, epochs: 1 }
        : p.backends.cpu
      : 'skipped: the cpu backend takes minutes per batch on this net (add --cpu-mobilenet to run it)';
  }
  return p;
}

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const round = (x, d = 1) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

// ---------------------------------------------------------------------------------------------
// Machine and browser

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
  };
}

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGPU on machines without a GPU (SwiftShader); harmless where a real adapter exists.
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
];

function watchPage(page, tag) {
  const errors = [];
  page.on('pageerror', (e) => {
    errors.push(e.message);
    log(`${tag} page error: ${e.message}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) log(`${tag} console error: ${m.text().slice(0, 300)}`);
  });
  return errors;
}

// ---------------------------------------------------------------------------------------------
// (a) bare model.fit

async function buildFitPage() {
  const { build } = await import('vite');
  const t0 = Date.now();
  await build({
    configFile: false, // not vite.config.ts: no PWA, no Svelte, just this page and its worker
    root: ROOT,
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir: relative(ROOT, FIT_DIST),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 8192,
      // Vite 8's name for what Vite <= 7 called rollupOptions (still accepted there as an alias).
      rolldownOptions: { input: join(ROOT, 'bench', 'fit-bench.html') },
    },
    worker: { format: 'es' },
  });
  log(`built the bare-fit page in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Opens the bare-fit page (its own context, its own server). */
async function openFitPage(browser) {
  const server = await startServer({ root: FIT_DIST, port: 0 });
  const context = await browser.newContext();
  const page = await context.newPage();
  watchPage(page, 'fit-bench');
  await page.goto(`${server.url}bench/fit-bench.html`);
  await page.waitForFunction(() => window.fitBenchReady === true, null, { timeout: 60_000 });
  const crossOriginIsolated = await page.evaluate(() => self.crossOriginIsolated);
  return { page, crossOriginIsolated, close: async () => (await context.close(), await server.close()) };
}

const firstLine = (err) => String(err?.message ?? err).split('\n')[0];

/**
 * A bare-fit session in a fresh worker: builds the model and the data, warms up, and then times
 * model.fit as often as asked (no second warm-up). Never throws: failures land in .error.
 */
async function startBareFit(fit, model, backend, sizes, warmupBatches, valFraction) {
  const shape = MODEL_SHAPES[model];
  const opts = {
    backend,
    architecture: shape.architecture,
    inputSize: shape.inputSize,
    channels: shape.channels,
    batchSize: shape.batchSize,
    widthMultiplier: shape.widthMultiplier,
    samples: sizes.samples,
    epochs: sizes.epochs,
    warmupSamples: warmupBatches ? Math.min(sizes.samples, warmupBatches * shape.batchSize) : sizes.samples,
    // The app validates on its validation split after every epoch; 'fit-val' does the same
    // share of validation work (validation images per training image).
    valSamples: Math.max(1, Math.round(sizes.samples * valFraction)),
    numClasses: CLASSES,
    dropout: 0.25,
    learningRate: 0.002,
  };
  const session = { id: null, warmup: null, runs: [], error: null, crossOriginIsolated: fit.crossOriginIsolated };
  log(`bare fit ${model} ${backend}: building, warm-up fit on ${opts.warmupSamples} samples...`);
  try {
    const { id, warmup } = await fit.page.evaluate((o) => window.fitBenchStart(o), opts);
    if (warmup.backend !== backend) throw new Error(`asked for ${backend}, TF.js runs on ${warmup.backend}`);
    Object.assign(session, { id, warmup });
    log(`  warm-up ${warmup.warmupSeconds.toFixed(1)} s on ${warmup.adapter}`);
  } catch (err) {
    session.error = firstLine(err);
    log(`  failed: ${session.error}`);
  }
  session.time = async (mode = 'fit') => {
    if (session.id == null) return null;
    const what = { fit: 'model.fit', 'fit-val': `model.fit + validation (${opts.valSamples})`, loop: 'custom loop' }[mode];
    log(`bare ${what} ${model} ${backend}: ${opts.epochs} epoch(s) of ${opts.samples} samples...`);
    try {
      const r = await fit.page.evaluate(([id, m]) => window.fitBenchTime(id, m), [session.id, mode]);
      const run = { ...r, at: new Date().toISOString(), loadAverage: round(os.loadavg()[0], 2) };
      session.runs.push(run);
      log(`  ${r.imagesPerSecond.toFixed(2)} images/s (${r.seconds.toFixed(1)} s)`);
      return run;
    } catch (err) {
      session.error = firstLine(err);
      log(`  failed: ${session.error}`);
      return null;
    }
  };
  session.end = async () => {
    if (session.id != null) await fit.page.evaluate((id) => window.fitBenchEnd(id), session.id).catch(() => {});
  };
  return session;
}

// ---------------------------------------------------------------------------------------------
// (b) Trainyard's own path

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Builds the app with npm run build when dist/ is missing or older than its sources. */
function ensureAppBuild() {
  const built = existsSync(join(ROOT, 'dist', 'index.html')) ? statSync(join(ROOT, 'dist', 'index.html')).mtimeMs : 0;
  const sources = ['src', 'workers', 'index.html', 'vite.config.ts', 'package.json', 'svelte.config.js'].map((p) =>
    newestMtime(join(ROOT, p)),
  );
  if (built && Math.max(...sources) <= built) return { rebuilt: false };
  log(built ? 'dist/ is older than the sources: npm run build' : 'no dist/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`npm run build failed (exit ${r.status}):\n${tail}`);
  }
  return { rebuilt: true };
}

function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * count PNGs of size x size in CLASSES folders (class-0 ... class-9). Each class has its own mean
 * brightness and stripe frequency (and, in colour, its own hue), plus noise, so classes are
 * learnable; for speed it does not matter.
 */
function generateImages(count, size, channels) {
  const dir = join(OUT, `train-${channels === 1 ? 'gray' : 'rgb'}${size}-${count}`);
  const have = existsSync(dir) ? readdirSync(dir).reduce((n, c) => n + readdirSync(join(dir, c)).length, 0) : 0;
  if (have === count) return dir;
  rmSync(dir, { recursive: true, force: true });
  const random = rng(1000 + size * 7 + count);
  for (let i = 0; i < count; i++) {
    const k = i % CLASSES;
    const cls = join(dir, `class-${k}`);
    mkdirSync(cls, { recursive: true });
    const png = new pngjs.PNG({ width: size, height: size });
    const base = 30 + k * 20;
    const freq = (k + 1) * 0.15;
    const phase = random() * Math.PI * 2;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const stripe = Math.sin((x + y * (k % 3)) * freq + phase) * 40;
        const v = base + stripe + (random() - 0.5) * 30;
        const o = (y * size + x) * 4;
        png.data[o] = v;
        png.data[o + 1] = channels === 1 ? v : v + ((k * 37) % 80) - 40;
        png.data[o + 2] = channels === 1 ? v : 255 - v;
        png.data[o + 3] = 255;
      }
    }
    writeFileSync(join(cls, `img-${String(i).padStart(4, '0')}.png`), pngjs.PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 }));
  }
  log(`generated ${count} ${size}x${size}x${channels} PNGs in ${relative(ROOT, dir)}`);
  return dir;
}

/** Waits until the Digits demo's import session (IndexedDB store "imports") is no longer running. */
async function waitForDemoImport(page, timeoutMs = 600_000) {
  const t0 = Date.now();
  for (;;) {
    const state = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open('trainyard');
          open.onerror = () => resolve('no-db');
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains('imports')) {
              db.close();
              return resolve('no-store');
            }
            const req = db.transaction('imports', 'readonly').objectStore('imports').getAll();
            req.onerror = () => resolve('error');
            req.onsuccess = () => {
              db.close();
              const demo = req.result.filter((r) => r.source?.kind === 'demo');
              resolve(demo.length === 0 ? 'not-started' : demo.some((r) => r.state === 'running') ? 'running' : 'done');
            };
          };
        }),
    );
    if (state === 'done') {
      log(`Digits demo import finished (waited ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return;
    }
    if (Date.now() - t0 > timeoutMs) {
      log(`Digits demo import still "${state}" after ${timeoutMs / 1000} s; going on`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function importFolder(page, baseUrl, name, dir, expected) {
  await page.goto(`${baseUrl}#/`);
  await page.getByLabel('New project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/#\/p\/[^/]+\/data/, { timeout: 30_000 });
  const projectId = decodeURIComponent(new URL(page.url()).hash.match(/^#\/p\/([^/]+)\//)[1]);
  await page.locator('input[webkitdirectory]').setInputFiles(dir);
  const start = page.getByRole('button', { name: 'Start import' });
  await start.waitFor({ timeout: 300_000 });
  const t0 = Date.now();
  await start.click();
  await page.getByTestId('report-imported').waitFor({ timeout: 1_800_000 });
  const imported = Number((await page.getByTestId('report-imported').textContent())?.trim());
  log(`imported ${imported}/${expected} images into "${name}" in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (imported !== expected) throw new Error(`import of ${name}: ${imported} of ${expected} images imported`);
  return projectId;
}

/** Newest model version of the project, read straight from the app's IndexedDB. */
async function newestVersion(page, projectId) {
  return page.evaluate(
    (projectId) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('trainyard');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('models')) {
            db.close();
            return resolve(null);
          }
          const req = db.transaction('models', 'readonly').objectStore('models').getAll();
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            db.close();
            const mine = req.result.filter((r) => r.projectId === projectId).sort((a, b) => b.createdAt - a.createdAt);
            const v = mine[0];
            if (!v) return resolve(null);
            const m = v.meta ?? {};
            resolve({
              id: v.id,
              number: v.number,
              createdAt: v.createdAt,
              backend: m.backend,
              adapter: m.adapter,
              timings: m.timings,
              splitCounts: m.splitCounts,
              history: m.history,
              accuracy: m.metrics?.accuracy ?? null,
            });
          };
        };
      }),
    projectId,
  );
}

/**
 * Records when each row of the Train stage's "Epochs" table appears. A row is added when the
 * worker reports an epoch's end (after its validation pass and checkpoint), so the time between
 * the first and the last row is Trainyard's steady-state time for (epochs - 1) epochs.
 */
async function watchEpochRows(page) {
  await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__benchEpochEnds = [];
    w.__benchObserver?.disconnect();
    const table = () => [...document.querySelectorAll('table')].find((t) => t.caption?.textContent?.trim() === 'Epochs');
    const check = () => {
      const rows = table()?.tBodies[0]?.rows.length ?? 0;
      const last = w.__benchEpochEnds.at(-1)?.rows ?? 0;
      if (rows > last) w.__benchEpochEnds.push({ rows, t: performance.now() });
    };
    w.__benchObserver = new MutationObserver(check);
    w.__benchObserver.observe(document.body, { childList: true, subtree: true });
    // The page must stay responsive while training: every main-thread task over 50 ms is a long task.
    w.__benchLongTasks = [];
    w.__benchLongTaskObserver?.disconnect();
    w.__benchLongTaskObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__benchLongTasks.push(e.duration);
    });
    w.__benchLongTaskObserver.observe({ type: 'longtask' });
  });
}

async function trainInApp(page, baseUrl, projectId, model, backend, epochs) {
  const shape = MODEL_SHAPES[model];
  await page.goto(`${baseUrl}#/p/${encodeURIComponent(projectId)}/data`);
  await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train' }).click();
  await page.waitForURL(/\/train$/);
  await page.getByLabel('Architecture').selectOption(shape.architecture);
  await page.getByLabel('Colour').selectOption(String(shape.channels));
  await page.getByLabel('Backend').selectOption(backend);
  await page.getByLabel('Input size (px)').fill(String(shape.inputSize));
  await page.getByLabel('Batch size').fill(String(shape.batchSize));
  await page.getByLabel(/^Epochs/).fill(String(epochs));
  await page.getByLabel('Early stopping patience (0 = off)').fill('0');
  if (shape.widthMultiplier) await page.getByLabel('Width multiplier').fill(String(shape.widthMultiplier));
  const before = await newestVersion(page, projectId);
  await watchEpochRows(page);
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Start training' }).click();
  const outcome = page.getByTestId('train-outcome');
  // A previous run's outcome stays on screen until the new run starts.
  await outcome.waitFor({ state: 'detached', timeout: 30_000 }).catch(() => {});
  await outcome.waitFor({ timeout: 4 * 3_600_000 });
  const wallSeconds = (Date.now() - t0) / 1000;
  const outcomeText = (await outcome.textContent())?.replace(/\s+/g, ' ').trim() ?? '';
  const alerts = (
    await page
      .getByRole('alert')
      .allTextContents()
      .catch(() => [])
  )
    .map((s) => s.trim())
    .filter(Boolean);
  const backendLine =
    (
      await page
        .locator('[data-testid="train-outcome"] + p')
        .textContent()
        .catch(() => null)
    )
      ?.replace(/\s+/g, ' ')
      .trim() ?? null;
  const epochEnds = await page.evaluate(() => /** @type {any} */ (window).__benchEpochEnds);
  const longTasks = await page.evaluate(() => /** @type {any} */ (window).__benchLongTasks ?? []);
  const mainThread = { longTasks: longTasks.length, longestTaskMs: longTasks.length ? Math.round(Math.max(...longTasks)) : 0 };
  if (!/^Run completed/.test(outcomeText)) {
    return { error: `${outcomeText}${alerts.length ? ` | ${alerts.join(' | ')}` : ''}`, backendLine, wallSeconds };
  }
  const v = await newestVersion(page, projectId);
  if (!v || v.id === before?.id) return { error: 'the run completed but no new model version was found in IndexedDB', wallSeconds };
  const trainImages = v.splitCounts?.train ?? null;
  // Steady state: from the end of epoch 1 to the end of the last epoch.
  const first = epochEnds.find((e) => e.rows === 1);
  const last = epochEnds.at(-1);
  const steady =
    first && last && last.rows > 1 && trainImages
      ? {
          epochs: last.rows - 1,
          seconds: (last.t - first.t) / 1000,
          imagesPerSecond: (trainImages * (last.rows - 1)) / ((last.t - first.t) / 1000),
        }
      : null;
  return {
    versionId: v.id,
    /** Main-thread tasks over 50 ms during the run (PerformanceObserver 'longtask'): the goal is none. */
    mainThread,
    backend: v.backend,
    adapter: v.adapter,
    backendLine,
    splitCounts: v.splitCounts,
    epochs: v.timings?.epochs ?? null,
    trainSeconds: v.timings ? v.timings.trainMs / 1000 : null,
    /** Trainyard's own figure: all epochs, the first (warm-up) included; excludes preprocessing, evaluation, saving. */
    ownImagesPerSecond: v.timings?.imagesPerSecond ?? null,
    /** The app's own split of its training time: batches, validation passes, checkpoint snapshots (ms, all epochs). */
    breakdown: v.timings?.breakdown ?? null,
    steady,
    epochEnds,
    testAccuracy: v.accuracy,
    wallSeconds,
  };
}

/** Serves dist/, opens the app in its own context and waits for the first-run demo import. */
async function openApp(browser) {
  const server = await startServer({ root: join(ROOT, 'dist'), port: 0 });
  const context = await browser.newContext();
  const page = await context.newPage();
  watchPage(page, 'app');
  const close = async () => (await context.close(), await server.close());
  try {
    await page.goto(server.url);
    // The first-run Digits demo import would share the CPU with the runs, and the app refuses a
    // second import while one is running.
    await page.getByRole('link', { name: 'Digits demo' }).waitFor({ timeout: 120_000 });
    await waitForDemoImport(page);
  } catch (err) {
    await close();
    throw err;
  }
  return { page, url: server.url, close };
}

// ---------------------------------------------------------------------------------------------
// PyTorch

function findTorchPython() {
  const candidates = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))];
  const reasons = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return { python: py };
    reasons.push(`${py}: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').at(-1)}`);
  }
  return { reason: reasons.join('; ') };
}

function runTorch(models, profileSamples) {
  const found = findTorchPython();
  if (!found.python) {
    log(`PyTorch not available: ${found.reason}`);
    return { available: false, reason: found.reason };
  }
  const args = [join(ROOT, 'bench', 'torch_bench.py'), '--json', `--models=${models.join(',')}`, '--threads=1,2'];
  for (const m of models) args.push(`--samples-${m}=${profileSamples[m]}`);
  log(`PyTorch (${found.python}): ${models.join(', ')} with 1 and 2 threads...`);
  const r = spawnSync(found.python, args, { encoding: 'utf8', timeout: 900_000 });
  const line = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
  try {
    const parsed = JSON.parse(line);
    return { ...parsed, interpreter: found.python };
  } catch {
    const reason = `torch_bench.py failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ')}`;
    log(reason);
    return { available: false, reason };
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}
const fmt = (x, d = 1) => (x == null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(d));

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** One summary row per model x backend. (a) is the mean of the bare fits around the app's run. */
function buildRows(cells, torch) {
  return cells.map((c) => {
    const pt = torch?.available ? (torch.results ?? []).filter((t) => t.model === c.model) : [];
    const pt1 = pt.find((t) => t.threads === 1)?.imagesPerSecond ?? null;
    const pt2 = pt.find((t) => t.threads === 2)?.imagesPerSecond ?? null;
    const bareOk = (c.bare?.runs ?? []).filter((r) => r.mode === 'fit').map((r) => r.imagesPerSecond);
    const bareVal = mean((c.bare?.runs ?? []).filter((r) => r.mode === 'fit-val').map((r) => r.imagesPerSecond));
    const breakdown = c.app?.breakdown ?? null;
    const loopIps = mean((c.bare?.runs ?? []).filter((r) => r.mode === 'loop').map((r) => r.imagesPerSecond));
    const aIps = mean(bareOk);
    const bIps = c.app?.steady?.imagesPerSecond ?? null;
    const ptBest = Math.max(pt1 ?? 0, pt2 ?? 0) || null;
    const ptBestThreads = ptBest == null ? null : ptBest === pt2 ? 2 : 1;
    const spread = bareOk.length > 1 && aIps ? (Math.max(...bareOk) - Math.min(...bareOk)) / aIps : null;
    return {
      model: c.model,
      backend: c.backend,
      bareFitImagesPerSecond: round(aIps, 2),
      bareFitRuns: bareOk.map((x) => round(x, 2)),
      bareFitSpread: round(spread, 3),
      trainyardImagesPerSecond: round(bIps, 2),
      ratioTrainyardToBare: aIps && bIps ? round(bIps / aIps, 3) : null,
      /** model.fit with validationData of the app's validation share, evaluated every epoch. */
      bareFitWithValidationImagesPerSecond: round(bareVal, 2),
      ratioTrainyardToBareWithValidation: bareVal && bIps ? round(bIps / bareVal, 3) : null,
      /** Share of the app's training-phase time (all epochs) per part: batches, validation, checkpoint snapshots. */
      appTimeShares: breakdown
        ? (() => {
            // waitingForDataMs is part of trainMs (batches waiting for the batch loader).
            const total = breakdown.trainMs + breakdown.validationMs + breakdown.checkpointMs;
            return Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, round(v / total, 3)]));
          })()
        : null,
      trainyardOwnFigure: round(c.app?.ownImagesPerSecond ?? null, 2),
      mainThreadLongTasks: c.app?.mainThread?.longTasks ?? null,
      mainThreadLongestTaskMs: c.app?.mainThread?.longestTaskMs ?? null,
      pytorch1Thread: round(pt1, 1),
      pytorch2Threads: round(pt2, 1),
      tfjsToPytorch: aIps && ptBest ? round(aIps / ptBest, 5) : null,
      tfjsToPytorchThreads: ptBestThreads,
      skipped: c.skipped ?? null,
      bareLoopImagesPerSecond: round(loopIps, 2),
      bareNote: c.bare?.error ?? null,
      trainyardNote: c.skipped ? null : c.app ? (c.app.error ?? null) : (c.appSkipped ?? 'not run'),
    };
  });
}

function printTable(report) {
  const { machine, rows } = report;
  console.log('');
  console.log(
    `Training benchmark (${report.profile} profile) — ${machine.cpus} cores, ${machine.cpuModel}, ${machine.memoryGB} GB; ` +
      `Chromium ${report.browser}; TF.js ${report.tfjsVersion ?? '?'}` +
      (report.pytorch?.available ? `; PyTorch ${report.pytorch.version} (${report.pytorch.interpreter})` : ''),
  );
  for (const [k, v] of Object.entries(report.adapters)) console.log(`  ${k}: ${v}`);
  const head = [
    'model',
    'backend',
    '(a) bare fit',
    "(a') +val",
    '(b) Trainyard',
    '(b)/(a)',
    "(b)/(a')",
    'app figure',
    'PyTorch 1 thr',
    'PyTorch 2 thr',
    'TF.js/PyTorch',
  ];
  const widths = [10, 8, 13, 10, 14, 8, 9, 11, 14, 14, 15];
  console.log('');
  console.log(head.map((h, i) => pad(h, widths[i], i > 1)).join(' '));
  for (const r of rows) {
    const ratio = r.ratioTrainyardToBare == null ? '–' : r.ratioTrainyardToBare.toFixed(2);
    const ratioVal = r.ratioTrainyardToBareWithValidation == null ? '–' : r.ratioTrainyardToBareWithValidation.toFixed(2);
    const tp = r.tfjsToPytorch == null ? '–' : `1/${(1 / r.tfjsToPytorch).toFixed(0)} (${r.tfjsToPytorchThreads} thr)`;
    const cells = r.skipped
      ? [r.model, r.backend, 'skipped', '', '', '', '', '', fmt(r.pytorch1Thread), fmt(r.pytorch2Threads), '']
      : [
          r.model,
          r.backend,
          fmt(r.bareFitImagesPerSecond, 2),
          fmt(r.bareFitWithValidationImagesPerSecond, 2),
          fmt(r.trainyardImagesPerSecond, 2),
          ratio,
          ratioVal,
          fmt(r.trainyardOwnFigure, 2),
          fmt(r.pytorch1Thread),
          fmt(r.pytorch2Threads),
          tp,
        ];
    console.log(cells.map((c, i) => pad(c, widths[i], i > 1)).join(' '));
  }
  console.log('');
  console.log('All figures are training images/s. Goal: (b)/(a) >= 0.9.');
  console.log(
    '(a) bare model.fit on random in-memory tensors, Adam 0.002, categorical cross-entropy (+ accuracy), timed after a warm-up fit' +
      (report.profile === 'quick' ? ' of two batches (CNN) or one (MobileNet);' : ' of one full epoch;'),
  );
  console.log('    run just before and just after (b) on the same backend; the mean is shown (each run is in the JSON).');
  console.log("(a') the same model.fit with validationData evaluated after every epoch, as many validation images per training image as");
  console.log("    the app's validation split has: the same work (b) does. Images/s count training images only, in (a), (a') and (b).");
  console.log(
    "(b) Trainyard's path (IndexedDB -> training worker), from the end of epoch 1 to the end of the last epoch: the first epoch's",
  );
  console.log("    warm-up is left out; each epoch's validation pass and checkpoint write are in.");
  console.log('"app figure": Trainyard\'s own meta.timings.imagesPerSecond (all epochs, warm-up included, preprocessing excluded).');
  console.log('TF.js/PyTorch: (a) against the faster PyTorch thread setting on the same machine (thread count in brackets).');
  const notes = [];
  for (const r of rows) {
    const tag = `  ${r.model}/${r.backend}`;
    if (r.skipped) notes.push(`${tag}: ${r.skipped}`);
    if (r.bareNote) notes.push(`${tag} bare fit: ${r.bareNote}`);
    if (r.trainyardNote) notes.push(`${tag} Trainyard: ${r.trainyardNote}`);
    if (r.appTimeShares)
      notes.push(
        `${tag}: Trainyard's training time went to ${Object.entries(r.appTimeShares)
          .map(([k, v]) => `${k.replace(/Ms$/, '')} ${(v * 100).toFixed(1)}%`)
          .join(', ')} (waiting for data is part of train)`,
      );
    if (r.mainThreadLongTasks != null)
      notes.push(`${tag}: main-thread tasks over 50 ms during the run: ${r.mainThreadLongTasks} (longest ${r.mainThreadLongestTaskMs} ms)`);
    if (r.bareLoopImagesPerSecond != null)
      notes.push(
        `${tag}: bare custom loop (optimizer.minimize, in-memory data) ${fmt(r.bareLoopImagesPerSecond, 2)} images/s` +
          (r.trainyardImagesPerSecond ? `; (b)/loop = ${(r.trainyardImagesPerSecond / r.bareLoopImagesPerSecond).toFixed(2)}` : ''),
      );
    if (r.bareFitSpread != null && r.bareFitSpread > 0.15)
      notes.push(
        `${tag}: the two bare fits differ by ${(r.bareFitSpread * 100).toFixed(0)}% (${r.bareFitRuns.join(' / ')}): the ratio is noisy`,
      );
  }
  if (report.pytorch?.available)
    notes.push(
      `  PyTorch ${report.pytorch.version}: ${report.pytorch.results.map((t) => `${t.model} ${t.threads} thr ${t.samples} x ${t.epochs} epochs`).join(', ')}; interop threads ${report.pytorch.interopThreads}, MKL-DNN ${report.pytorch.mkldnn ? 'on' : 'off'}`,
    );
  else if (report.pytorch) notes.push(`  PyTorch not available: ${report.pytorch.reason}`);
  if (notes.length) {
    console.log('Notes:');
    for (const n of notes) console.log(n);
  }
  const busy = Math.max(machine.loadAverageAtStart[0], machine.loadAverageAtEnd[0]);
  if (busy > machine.cpus * 0.75) {
    console.log(
      `WARNING: 1-minute load average ${machine.loadAverageAtStart[0]} at the start, ${machine.loadAverageAtEnd[0]} at the end, on ${machine.cpus} cores: ` +
        'other processes shared the CPU, so absolute figures are low and noisy; (a) and (b) are measured back to back to keep the ratio fair.',
    );
  }
  console.log(`\nWritten to ${relative(ROOT, RESULTS)} (total ${report.totalSeconds.toFixed(0)} s).`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const machine = machineInfo();
  log(
    `profile ${FULL ? 'full' : 'quick'}; models ${MODELS.join(', ')}; backends ${BACKENDS.join(', ')}; ${machine.cpus} cores (${machine.cpuModel})`,
  );
  mkdirSync(OUT, { recursive: true });
  const profiles = Object.fromEntries(MODELS.map((m) => [m, profileFor(m)]));

  let appProblem = flag('skip-app') ? 'skipped (--skip-app)' : null;
  let appRebuilt = false;
  if (!appProblem) {
    try {
      appRebuilt = ensureAppBuild().rebuilt;
    } catch (err) {
      appProblem = String(err.message).split('\n')[0];
      log(String(err.message));
    }
  }
  await buildFitPage();

  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
  const browserVersion = browser.version();
  const cells = [];
  try {
    const fit = await openFitPage(browser);
    let app = null;
    const projects = {};
    if (!appProblem) {
      try {
        app = await openApp(browser);
        for (const model of MODELS) {
          const { images } = profiles[model].app;
          const shape = MODEL_SHAPES[model];
          try {
            const dir = generateImages(images, shape.inputSize, shape.channels);
            projects[model] = { id: await importFolder(app.page, app.url, `Bench ${model} ${images}`, dir, images) };
          } catch (err) {
            projects[model] = { error: `import failed: ${String(err?.message ?? err).split('\n')[0]}` };
            log(`${model}: ${projects[model].error}`);
          }
        }
      } catch (err) {
        appProblem = `the app did not start: ${String(err?.message ?? err).split('\n')[0]}`;
        log(appProblem);
        app = null;
      }
    }
    for (const model of MODELS) {
      const p = profiles[model];
      for (const backend of BACKENDS) {
        const sizes = p.backends[backend];
        if (typeof sizes === 'string') {
          log(`${model} ${backend}: ${sizes}`);
          cells.push({ model, backend, skipped: sizes });
          continue;
        }
        const cell = { model, backend };
        cells.push(cell);
        const bare = await startBareFit(fit, model, backend, sizes, p.warmupBatches, p.app.split.val / p.app.split.train);
        await bare.time('fit');
        await bare.time('fit-val');
        if (LOOP) await bare.time('loop');
        if (appProblem || projects[model]?.error) {
          cell.appSkipped = appProblem ?? projects[model].error;
        } else {
          const { images, epochs } = p.app;
          log(`Trainyard ${model} ${backend}: ${epochs} epochs on ${images} imported images...`);
          try {
            const r = await trainInApp(app.page, app.url, projects[model].id, model, backend, epochs);
            if (!r.error && r.backend !== backend)
              r.error = `asked for ${backend}, the app trained on ${r.backend} (${r.backendLine ?? ''})`;
            cell.app = { images, loadAverage: round(os.loadavg()[0], 2), ...r };
            if (r.error) log(`  failed: ${r.error}`);
            else
              log(
                `  steady ${r.steady ? r.steady.imagesPerSecond.toFixed(2) : '?'} images/s; the app's own figure ${r.ownImagesPerSecond?.toFixed(2)} images/s (${r.splitCounts?.train} training images, ${r.trainSeconds?.toFixed(1)} s)`,
              );
          } catch (err) {
            cell.app = { images, error: firstLine(err) };
            log(`  failed: ${cell.app.error}`);
          }
          // Time the bare fit again, so (a) brackets (b) on a machine whose load drifts.
          await bare.time('fit-val');
          await bare.time('fit');
        }
        await bare.end();
        const { id, time, end, ...kept } = bare;
        cell.bare = kept;
      }
    }
    await app?.close();
    await fit.close();
  } finally {
    await browser.close();
  }
  // The issue's sample counts; torch_bench.py repeats timed epochs for at least 3 s.
  const torchSamples = { cnn: 1280, mobilenet: 320 };
  const torch = flag('skip-torch') ? { available: false, reason: 'skipped (--skip-torch)' } : runTorch(MODELS, torchSamples);

  const adapters = {};
  for (const c of cells)
    for (const r of [c.bare?.warmup ?? {}, c.app ?? {}]) if (r.adapter && !adapters[c.backend]) adapters[c.backend] = r.adapter;
  const report = {
    date: new Date().toISOString(),
    profile: FULL ? 'full' : 'quick',
    machine,
    browser: browserVersion,
    tfjsVersion: cells.find((c) => c.bare?.warmup)?.bare.warmup.tfjsVersion ?? null,
    adapters,
    appRebuilt,
    method: {
      bareFit:
        'bench/fit-bench.html worker: buildModel from src/lib/ml/architectures.ts, compiled with Adam 0.002, categorical cross-entropy and accuracy; model.fit(xs, ys, { batchSize, epochs, verbose: 0 }) on random tensors already on the backend, after a warm-up fit; images/s = samples x epochs / seconds. The same warmed-up model is timed just before and just after the Trainyard run of the same model and backend; (a) is the mean.',
      bareFitWithValidation:
        "(a'): the same model.fit with validationData (random tensors, valSamples = samples x the app's val/train split ratio), evaluated after every epoch as the app does; images/s counts training samples only.",
      trainyard:
        "The built app (dist/) in headless Chromium: PNGs imported through the UI into IndexedDB, trained from the Train stage (early stopping off). Steady images/s = training-split images x (epochs - 1) / time from the end of epoch 1 to the end of the last epoch, epoch ends observed as rows appearing in the Train stage's Epochs table (includes per-epoch validation and checkpoint). ownImagesPerSecond is the app's meta.timings.imagesPerSecond (all epochs, first-epoch warm-up included).",
      pytorch:
        'bench/torch_bench.py: the same layer structure, random tensors (1,280 / 320 samples), Adam 0.002, cross-entropy, torch.set_num_threads(1) and (2), set_num_interop_threads(1), timed after a warm-up epoch over as many epochs as fill 3 s.',
      architectures:
        "src/lib/ml/architectures.ts with the app's default settings: 10 classes, dropout 0.25, CNN 16 filters, MobileNet width multiplier 0.5.",
    },
    profiles,
    rows: buildRows(cells, torch),
    cells,
    pytorch: torch,
    totalSeconds: (Date.now() - started) / 1000,
  };
  report.machine.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(report, null, 2) + '\n');
  printTable(report);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
