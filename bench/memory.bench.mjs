// npm run bench:memory — does the tab's memory grow with the dataset? ("20,000 samples of 64x64x3
// must train without the tab's memory growing with the dataset.")
//
// Generates 20,000 distinct smooth 64x64 RGB PNGs in 10 class folders (bench/out/mem20k, reused when
// complete) and a 2,000-image subset (the first 200 of each class, hard links in bench/out/mem2k),
// then for each size, in the built app in headless Chromium:
//   1. imports the folder into its own project through the UI (fresh page),
//   2. reopens the project in a fresh page (so both sizes start from the same state), records the
//      settled memory at the Data and Train stages (after a page GC), and
//   3. trains an MLP (64x64x3, hidden [128] by default, 1 epoch, batch 128, early stopping off, WebGL,
//      Adam at 0.0001: see TRAIN) from the Train stage.
// Memory is sampled about once a second during import and training:
//   - performance.measureUserAgentSpecificMemory() (page + its workers; the page is cross-origin
//     isolated; --enable-blink-features=ForceEagerMeasureMemory makes it answer at once), with a
//     per-context breakdown (page, train worker, import worker, decode workers...),
//   - performance.memory.usedJSHeapSize (the page's main-thread V8 heap; --enable-precise-memory-info),
//   - resident memory (VmRSS from /proc) of Chromium's renderer, GPU, browser and storage-service
//     processes, found through the DevTools protocol (SystemInfo.getProcessInfo); Linux only.
// The browser runs on a fresh on-disk profile (a temporary --user-data-dir), as a user's would: a
// Playwright newContext() is off the record, and there Chromium keeps IndexedDB in memory, so every
// byte imported or preprocessed would show up as browser-side RSS (--incognito measures that way).
// Reports per size the peak during preprocessing + training (+ evaluation and saving), the median
// during the training phase, and the ratio 20k/2k of the peaks (memory that does not grow with the
// dataset keeps it near 1; the dataset ratio is 10). Writes bench/results/memory.json, prints a table.
//
// Usage: npm run bench:memory [-- [--sizes=2000,20000] [--incognito]]
//   --sizes      any sizes <= 20,000, multiples of 10 (default 2000,20000)
//   --incognito  an off-the-record context (IndexedDB in memory) instead of an on-disk profile
// CHROME_PATH picks the browser.
import {
  existsSync,
  linkSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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
const RESULTS = join(ROOT, 'bench', 'results', 'memory.json');
const CLASSES = 10;
const FULL_COUNT = 20_000;
const SIZE = 64;
const SAMPLE_EVERY_MS = 1000;
const MiB = 1048576;

// The learning rate is lowered from the app's default (0.002): with Adam at 0.002 the MLP on 12,288
// raw [0, 1] inputs blows up on these images (loss ~11 after one epoch of 2,000; NaN within the first
// 10 batches of 20,000, which ends the run as 'diverged' before the memory of a full epoch is seen).
const TRAIN = {
  architecture: 'mlp',
  inputSize: 64,
  channels: 3,
  epochs: 1,
  batchSize: 128,
  patience: 0,
  backend: 'webgl',
  learningRate: 0.0001,
};

const argv = process.argv.slice(2);
const sizesArg = argv.find((a) => a.startsWith('--sizes='));
const INCOGNITO = argv.includes('--incognito');
const SIZES = sizesArg ? sizesArg.slice(8).split(',').map(Number) : [2000, FULL_COUNT];
for (const n of SIZES) {
  if (!Number.isInteger(n) || n < CLASSES * 2 || n > FULL_COUNT || n % CLASSES)
    throw new Error(`--sizes: ${n} is not a multiple of ${CLASSES} between ${CLASSES * 2} and ${FULL_COUNT}`);
}

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const round = (x, d = 1) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const mib = (b) => round(b == null ? null : b / MiB, 1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const max = (xs) => {
  const s = xs.filter((x) => x != null);
  return s.length ? Math.max(...s) : null;
};

// ---------------------------------------------------------------------------------------------
// Images

function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const countFiles = (dir) =>
  existsSync(dir)
    ? readdirSync(dir).reduce((n, c) => n + (statSync(join(dir, c)).isDirectory() ? readdirSync(join(dir, c)).length : 0), 0)
    : 0;

/** Smooth RGB images (per-image gradient and waves, a class tint), each one distinct by construction. */
function generateFull() {
  const dir = join(OUT, 'mem20k');
  if (countFiles(dir) === FULL_COUNT) return dir;
  rmSync(dir, { recursive: true, force: true });
  const t0 = Date.now();
  const random = rng(20_000);
  const png = new pngjs.PNG({ width: SIZE, height: SIZE });
  for (let k = 0; k < CLASSES; k++) mkdirSync(join(dir, `class-${k}`), { recursive: true });
  for (let i = 0; i < FULL_COUNT; i++) {
    const k = i % CLASSES;
    const [r0, g0, b0] = [random() * 200, random() * 200, random() * 200];
    const [fx, fy, phase] = [0.05 + random() * 0.25, 0.05 + random() * 0.25, random() * 6.283];
    const tint = (k * 25) % 256;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const o = (y * SIZE + x) * 4;
        const wave = Math.sin(x * fx + phase) * Math.cos(y * fy) * 40;
        png.data[o] = r0 + wave + x * 0.5;
        png.data[o + 1] = g0 - wave + tint * 0.2;
        png.data[o + 2] = (b0 + tint + y) % 256;
        png.data[o + 3] = 255;
      }
    }
    // The image's index in the first two pixels: distinct bytes (and SHA-256) whatever the random draw.
    png.data[0] = i & 255;
    png.data[1] = (i >> 8) & 255;
    png.data[4] = (i >> 16) & 255;
    const name = `img-${String(Math.floor(i / CLASSES)).padStart(5, '0')}.png`;
    writeFileSync(join(dir, `class-${k}`, name), pngjs.PNG.sync.write(png, { colorType: 2 }));
  }
  log(`generated ${FULL_COUNT} ${SIZE}x${SIZE} RGB PNGs in ${relative(ROOT, dir)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

/** The first count/10 images of each class of the full set (hard links; copies where links fail). */
function subset(full, count) {
  if (count === FULL_COUNT) return full;
  const dir = join(OUT, `mem${count % 1000 === 0 ? `${count / 1000}k` : count}`);
  if (countFiles(dir) === count) return dir;
  rmSync(dir, { recursive: true, force: true });
  const per = count / CLASSES;
  for (let k = 0; k < CLASSES; k++) {
    const from = join(full, `class-${k}`);
    const to = join(dir, `class-${k}`);
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from).sort().slice(0, per)) {
      try {
        linkSync(join(from, name), join(to, name));
      } catch {
        copyFileSync(join(from, name), join(to, name));
      }
    }
  }
  log(`linked ${count} images into ${relative(ROOT, dir)}`);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Build

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** npm run build when dist/ is missing or older than its sources; a failed rebuild over an existing dist/ only warns. */
function ensureAppBuild() {
  const index = join(ROOT, 'dist', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sources = ['src', 'workers', 'index.html', 'vite.config.ts', 'package.json', 'svelte.config.js'].map((p) =>
    newestMtime(join(ROOT, p)),
  );
  if (built && Math.max(...sources) <= built) return { rebuilt: false };
  log(built ? 'dist/ is older than the sources: npm run build' : 'no dist/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', env: process.env });
  if (r.status === 0) return { rebuilt: true };
  const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
  if (!existsSync(index)) throw new Error(`npm run build failed (exit ${r.status}):\n${tail}`);
  log(`WARNING: npm run build failed (exit ${r.status}); measuring the existing dist/:\n${tail}`);
  return { rebuilt: false, buildFailed: true };
}

// ---------------------------------------------------------------------------------------------
// Memory sampling

/**
 * One in-page sample: measureUserAgentSpecificMemory (total and per context), the page's V8 heap,
 * and what the Train stage shows (phase, images/s). Never throws.
 */
function pageSample(page) {
  return page
    .evaluate(async () => {
      const out = {
        ua: null,
        contexts: null,
        uaError: null,
        heap: performance.memory?.usedJSHeapSize ?? null,
        phase: 'idle',
        liveIps: null,
        done: null,
        total: null,
      };
      try {
        const m = await performance.measureUserAgentSpecificMemory();
        out.ua = m.bytes;
        const contexts = {};
        for (const e of m.breakdown) {
          if (!e.bytes) continue;
          const names = e.attribution.length
            ? e.attribution.map((a) => {
                if (a.scope === 'Window') return 'page';
                const file = (a.url ?? '').split(/[?#]/)[0].split('/').pop() ?? '';
                // assets/train.worker-AbC123.js -> train.worker
                return file.replace(/-[\w-]{6,}\.js$/, '').replace(/\.js$/, '') || a.scope;
              })
            : ['shared'];
          for (const n of names) contexts[n] = (contexts[n] ?? 0) + e.bytes / names.length;
        }
        out.contexts = contexts;
      } catch (err) {
        out.uaError = String(err?.message ?? err);
      }
      const live = document.querySelector('[aria-label="Training progress"]');
      const text = live?.textContent ?? '';
      if (document.querySelector('[data-testid="train-outcome"]')) out.phase = 'done';
      else if (/Preparing images/.test(text)) out.phase = 'preprocessing';
      else if (/Epoch \d+ of \d+/.test(text)) out.phase = 'training';
      else if (/Evaluating/.test(text)) out.phase = 'evaluating';
      else if (/Saving the model/.test(text)) out.phase = 'saving';
      else if (/Starting the training worker/.test(text)) out.phase = 'starting';
      const ips = text.match(/(\d+) images\/s/);
      if (ips) out.liveIps = Number(ips[1]);
      const bar = live?.querySelector('progress') ?? document.querySelector('progress');
      if (bar) {
        out.done = Number(bar.getAttribute('value') ?? bar.value ?? 0);
        out.total = Number(bar.getAttribute('max') ?? 0);
      }
      return out;
    })
    .catch((err) => ({
      ua: null,
      contexts: null,
      uaError: String(err?.message ?? err).split('\n')[0],
      heap: null,
      phase: 'error',
      liveIps: null,
      done: null,
    }));
}

/** Resident memory of Chromium's renderer and GPU processes (Linux /proc; null elsewhere). */
async function processRss(cdp) {
  if (!cdp || os.platform() !== 'linux') return null;
  try {
    const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
    const rss = { renderer: 0, gpu: 0, browser: 0, storage: 0, other: 0 };
    for (const p of processInfo) {
      let kb = 0;
      try {
        kb = Number(readFileSync(`/proc/${p.id}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
      } catch {
        continue; // the process is gone
      }
      const key =
        p.type === 'renderer'
          ? 'renderer'
          : /gpu/i.test(p.type)
            ? 'gpu'
            : p.type === 'browser'
              ? 'browser'
              : /storage/i.test(p.type)
                ? 'storage'
                : 'other';
      rss[key] += kb * 1024;
    }
    return rss;
  } catch {
    return null;
  }
}

/** Samples every ~SAMPLE_EVERY_MS until stop() is called; stop() resolves to the samples. */
function startSampler(page, cdp, t0) {
  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const began = Date.now();
      const [s, rss] = await Promise.all([pageSample(page), processRss(cdp)]);
      // The Train stage shows "Preparing images n of n" until the first progress report of the
      // training loop (every 10 batches): once every image is prepared, the run is training
      // (model build, kernel compilation and the first batches included).
      if (s.phase === 'preprocessing' && s.total > 1 && s.done >= s.total) s.phase = 'training';
      samples.push({ t: (began - t0) / 1000, ...s, rss });
      const wait = SAMPLE_EVERY_MS - (Date.now() - began);
      if (running && wait > 0) await sleep(wait);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return samples;
  };
}

/** Settled memory: the page's isolate garbage-collected first (workers are not). */
async function settledSample(page) {
  try {
    const s = await page.context().newCDPSession(page);
    await s.send('HeapProfiler.enable');
    await s.send('HeapProfiler.collectGarbage');
    await s.detach();
  } catch {
    /* GC is best effort */
  }
  await sleep(300);
  return pageSample(page);
}

// ---------------------------------------------------------------------------------------------
// App driving

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
    if (state === 'done') return log(`Digits demo import finished (waited ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    if (Date.now() - t0 > timeoutMs) return log(`Digits demo import still "${state}" after ${timeoutMs / 1000} s; going on`);
    await sleep(500);
  }
}

/** Newest model version of the project, read from the app's IndexedDB. */
async function newestVersion(page, projectId) {
  return page.evaluate(
    (projectId) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('trainyard');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('models')) return (db.close(), resolve(null));
          const req = db.transaction('models', 'readonly').objectStore('models').getAll();
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            db.close();
            const v = req.result.filter((r) => r.projectId === projectId).sort((a, b) => b.createdAt - a.createdAt)[0];
            if (!v) return resolve(null);
            const m = v.meta ?? {};
            resolve({
              id: v.id,
              backend: m.backend,
              adapter: m.adapter,
              timings: m.timings,
              splitCounts: m.splitCounts,
              accuracy: m.metrics?.accuracy ?? null,
            });
          };
        };
      }),
    projectId,
  );
}

function watchPage(page, errors) {
  page.on('pageerror', (e) => {
    errors.push(e.message);
    log(`page error: ${e.message}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) log(`console error: ${m.text().slice(0, 300)}`);
  });
}

/** Phase summary of a list of samples (MiB). */
function summarize(samples) {
  const pick = (f) => samples.map(f);
  const renderer = (s) => s.rss?.renderer ?? null;
  const gpu = (s) => s.rss?.gpu ?? null;
  const browserRss = (s) => s.rss?.browser ?? null;
  const storageRss = (s) => s.rss?.storage ?? null;
  const otherRss = (s) => s.rss?.other ?? null;
  return {
    samples: samples.length,
    seconds: samples.length ? round(samples.at(-1).t - samples[0].t, 1) : null,
    peakUaMiB: mib(max(pick((s) => s.ua))),
    medianUaMiB: mib(median(pick((s) => s.ua))),
    peakPageHeapMiB: mib(max(pick((s) => s.heap))),
    medianPageHeapMiB: mib(median(pick((s) => s.heap))),
    peakRendererRssMiB: mib(max(pick(renderer))),
    medianRendererRssMiB: mib(median(pick(renderer))),
    peakGpuRssMiB: mib(max(pick(gpu))),
    medianGpuRssMiB: mib(median(pick(gpu))),
    // IndexedDB lives in the storage service (a utility process here), the network service in another.
    peakBrowserRssMiB: mib(max(pick(browserRss))),
    peakStorageRssMiB: mib(max(pick(storageRss))),
    peakOtherRssMiB: mib(max(pick(otherRss))),
    medianByContextMiB: Object.fromEntries(
      [...new Set(samples.flatMap((s) => Object.keys(s.contexts ?? {})))]
        .sort()
        .map((k) => [k, mib(median(pick((s) => s.contexts?.[k] ?? null)))]),
    ),
    peakByContextMiB: Object.fromEntries(
      [...new Set(samples.flatMap((s) => Object.keys(s.contexts ?? {})))]
        .sort()
        .map((k) => [k, mib(max(pick((s) => s.contexts?.[k] ?? null)))]),
    ),
  };
}

const settledSummary = (s) => ({
  uaMiB: mib(s.ua),
  pageHeapMiB: mib(s.heap),
  byContextMiB: Object.fromEntries(Object.entries(s.contexts ?? {}).map(([k, v]) => [k, mib(v)])),
  uaError: s.uaError,
});

async function runSize(ctx, count, dir) {
  const { context, baseUrl, cdp, errors } = ctx;
  const name = `Memory bench ${count}`;
  const result = { images: count, dir: relative(ROOT, dir) };

  // 1. Import, in a fresh page.
  let page = await context.newPage();
  watchPage(page, errors);
  await page.goto(`${baseUrl}#/`);
  await page.getByLabel('New project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/#\/p\/[^/]+\/data/, { timeout: 30_000 });
  const projectId = decodeURIComponent(new URL(page.url()).hash.match(/^#\/p\/([^/]+)\//)[1]);
  result.projectId = projectId;
  const tPick = Date.now();
  await page.locator('input[webkitdirectory]').setInputFiles(dir);
  const start = page.getByRole('button', { name: 'Start import' });
  await start.waitFor({ timeout: 600_000 });
  result.planSeconds = round((Date.now() - tPick) / 1000, 1);
  const t0 = Date.now();
  const stopImport = startSampler(page, cdp, t0);
  await start.click();
  await page.getByTestId('report-imported').waitFor({ timeout: 600_000 });
  const importSeconds = (Date.now() - t0) / 1000;
  const importSamples = await stopImport();
  const imported = Number((await page.getByTestId('report-imported').textContent())?.trim());
  result.import = {
    imported,
    seconds: round(importSeconds, 1),
    imagesPerSecond: round(imported / importSeconds, 1),
    ...summarize(importSamples),
  };
  log(`${count}: imported ${imported} in ${importSeconds.toFixed(1)} s; peak ${result.import.peakUaMiB} MiB (page+workers)`);
  if (imported !== count) throw new Error(`import of ${count} images: only ${imported} imported`);
  await page.close();

  // 2. A fresh page on the project: settled memory at the Data stage, then at the Train stage.
  page = await context.newPage();
  watchPage(page, errors);
  await page.goto(`${baseUrl}#/p/${encodeURIComponent(projectId)}/data`);
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="dataset-total"]')?.textContent?.replace(/\D/g, '') === String(n),
    count,
    { timeout: 120_000 },
  );
  await sleep(1500);
  const atData = await settledSample(page);
  await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
  await page.waitForURL(/\/train$/);
  await page.getByLabel('Architecture').selectOption(TRAIN.architecture);
  await page.getByLabel('Input size (px)').fill(String(TRAIN.inputSize));
  await page.getByLabel('Colour').selectOption(String(TRAIN.channels));
  await page.getByLabel(/^Epochs/).fill(String(TRAIN.epochs));
  await page.getByLabel('Batch size').fill(String(TRAIN.batchSize));
  await page.getByLabel('Early stopping patience (0 = off)').fill(String(TRAIN.patience));
  await page.getByLabel('Backend').selectOption(TRAIN.backend);
  await page.getByLabel('Learning rate').fill(String(TRAIN.learningRate));
  await sleep(500);
  const atTrain = await settledSample(page);
  result.settled = { dataStage: settledSummary(atData), trainStageBeforeRun: settledSummary(atTrain) };

  // 3. Train, sampling all the way.
  const t1 = Date.now();
  const stopTrain = startSampler(page, cdp, t1);
  await page.getByRole('button', { name: 'Start training' }).click();
  const outcome = page.getByTestId('train-outcome');
  await outcome.waitFor({ timeout: count > 5000 ? 1_200_000 : 600_000 });
  const wallSeconds = (Date.now() - t1) / 1000;
  const trainSamples = await stopTrain();
  const outcomeText = (await outcome.textContent())?.replace(/\s+/g, ' ').trim() ?? '';
  const backendLine =
    (
      await page
        .locator('[data-testid="train-outcome"] + p')
        .textContent()
        .catch(() => null)
    )
      ?.replace(/\s+/g, ' ')
      .trim() ?? null;
  const tensors =
    (
      await page
        .getByTestId('tensor-count')
        .textContent({ timeout: 10_000 })
        .catch(() => null)
    )
      ?.replace(/\s+/g, ' ')
      .trim() ?? null;
  const liveText =
    (
      await page
        .getByRole('region', { name: 'Training progress' })
        .innerText()
        .catch(() => '')
    )
      ?.replace(/\s+/g, ' ')
      .trim()
      .slice(0, 400) ?? null;
  const alerts = (
    await page
      .getByRole('alert')
      .allTextContents()
      .catch(() => [])
  )
    .map((s) => s.trim())
    .filter(Boolean);
  const version = await newestVersion(page, projectId).catch(() => null);
  await sleep(1000);
  const afterRun = await settledSample(page);
  await page.close();

  const runSamples = trainSamples.filter((s) => s.phase !== 'done' && s.phase !== 'idle');
  const byPhase = (p) => trainSamples.filter((s) => s.phase === p);
  const phaseSeconds = (p) => {
    const s = byPhase(p);
    return s.length ? round(s.at(-1).t - s[0].t + SAMPLE_EVERY_MS / 1000, 1) : null;
  };
  result.train = {
    completed: /^Run completed/.test(outcomeText),
    outcome: outcomeText,
    alerts,
    backendLine,
    tensors,
    liveText,
    wallSeconds: round(wallSeconds, 1),
    phaseSecondsApprox: Object.fromEntries(
      ['starting', 'preprocessing', 'training', 'evaluating', 'saving'].map((p) => [p, phaseSeconds(p)]),
    ),
    splitCounts: version?.splitCounts ?? null,
    backend: version?.backend ?? null,
    adapter: version?.adapter ?? null,
    testAccuracy: version?.accuracy ?? null,
    /** The app's own figure (Models stage): training images x epochs / training time (preprocessing excluded). */
    appImagesPerSecond: round(version?.timings?.imagesPerSecond ?? null, 1),
    appTrainSeconds: version?.timings ? round(version.timings.trainMs / 1000, 1) : null,
    /** The last "N images/s" the Train stage showed while training. */
    liveImagesPerSecond:
      trainSamples
        .map((s) => s.liveIps)
        .filter((x) => x != null)
        .at(-1) ?? null,
    run: summarize(runSamples),
    preprocessing: summarize(byPhase('preprocessing')),
    training: summarize(byPhase('training')),
    afterRun: settledSummary(afterRun),
  };
  result.samples = { import: importSamples, train: trainSamples };
  const r = result.train;
  log(
    `${count}: ${outcomeText.slice(0, 60)} in ${wallSeconds.toFixed(1)} s; run peak ${r.run.peakUaMiB} MiB, training median ${r.training.medianUaMiB} MiB; app ${r.appImagesPerSecond} images/s`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

function pad(s, n, right = true) {
  s = String(s ?? '–');
  return right ? s.padStart(n) : s.padEnd(n);
}
const f = (x) => (x == null ? '–' : x.toFixed(1));

function printReport(report) {
  const { machine, results } = report;
  console.log('');
  console.log(`Memory benchmark — ${machine.cpus} cores, ${machine.cpuModel}, ${machine.memoryGB} GB; Chromium ${report.browser}`);
  console.log(
    `MLP ${TRAIN.inputSize}x${TRAIN.inputSize}x${TRAIN.channels} (hidden ${report.hidden}), ${TRAIN.epochs} epoch, batch ${TRAIN.batchSize}, Adam ${TRAIN.learningRate}, backend ${TRAIN.backend}. All memory in MiB.`,
  );
  console.log(
    '"UA": measureUserAgentSpecificMemory (page + workers). "heap": the page\'s V8 heap. "rend"/"gpu": RSS of the renderer / GPU processes.',
  );
  console.log('');
  const head = [
    'images',
    'import pk',
    'settled',
    'run pk UA',
    'train md UA',
    'pk heap',
    'pk rend',
    'pk gpu',
    'train wrk pk',
    'app img/s',
    'live img/s',
    'run s',
  ];
  const w = [7, 10, 8, 10, 12, 8, 8, 8, 13, 10, 11, 7];
  console.log(head.map((h, i) => pad(h, w[i])).join(' '));
  for (const r of results) {
    if (r.error) {
      console.log(`${pad(r.images, w[0])} failed: ${r.error}`);
      continue;
    }
    const t = r.train;
    const cells = [
      r.images,
      f(r.import.peakUaMiB),
      f(r.settled.trainStageBeforeRun.uaMiB),
      f(t.run.peakUaMiB),
      f(t.training.medianUaMiB),
      f(t.run.peakPageHeapMiB),
      f(t.run.peakRendererRssMiB),
      f(t.run.peakGpuRssMiB),
      f(t.run.peakByContextMiB['train.worker'] ?? null),
      f(t.appImagesPerSecond),
      t.liveImagesPerSecond ?? '–',
      f(t.wallSeconds),
    ];
    console.log(cells.map((c, i) => pad(c, w[i])).join(' '));
  }
  const g = report.growth;
  if (g) {
    console.log('');
    console.log(`Ratio ${g.larger}/${g.smaller} (dataset ratio ${g.datasetRatio}):`);
    for (const [k, v] of Object.entries(g.ratios)) console.log(`  ${pad(k, 40, false)} ${v == null ? '–' : v.toFixed(2)}`);
    if (g.metadataBytesPerSample != null) {
      console.log(
        `Settled page heap at the Data stage grows by ${f(g.pageHeapGrowthMiB)} MiB for ${g.larger - g.smaller} more samples: ` +
          `~${g.metadataBytesPerSample.toFixed(0)} bytes per sample record held by the page (by design: the open project's sample metadata).`,
      );
    }
    if (g.trainWorkerBytesPerSample != null) {
      console.log(
        `The train worker's median during training grows by ${f(g.trainWorkerGrowthMiB)} MiB: ~${g.trainWorkerBytesPerSample.toFixed(0)} bytes per sample ` +
          `(the run's sample list, split and id lists). The model inputs themselves would be ${g.pixelBytesMiB[g.smaller]} / ${g.pixelBytesMiB[g.larger]} MiB as bytes.`,
      );
    }
    console.log(
      `Outside the tab: Chromium's browser process peaked at ${g.browserProcessRssPeakMiB[g.smaller] ?? '–'} / ${g.browserProcessRssPeakMiB[g.larger] ?? '–'} MiB RSS, ` +
        `its storage service (IndexedDB) at ${g.storageServiceRssPeakMiB[g.smaller] ?? '–'} / ${g.storageServiceRssPeakMiB[g.larger] ?? '–'} MiB during the ${g.smaller} / ${g.larger} runs ` +
        `(${report.profile} profile; both are cumulative over the session).`,
    );
  }
  if (report.notes.length) {
    console.log('Notes:');
    for (const n of report.notes) console.log(`  ${n}`);
  }
  console.log(`\nWritten to ${relative(ROOT, RESULTS)} (total ${report.totalSeconds.toFixed(0)} s).`);
}

function growth(results) {
  const ok = results.filter((r) => !r.error && r.train?.completed);
  if (ok.length < 2) return null;
  const [a, b] = [ok[0], ok.at(-1)];
  const ratio = (fa, fb = fa) => {
    const x = fa(a);
    const y = fb(b);
    return x && y ? round(y / x, 2) : null;
  };
  const heapA = a.settled.dataStage.pageHeapMiB;
  const heapB = b.settled.dataStage.pageHeapMiB;
  const grown = heapA != null && heapB != null ? heapB - heapA : null;
  const wA = a.train.training.medianByContextMiB['train.worker'];
  const wB = b.train.training.medianByContextMiB['train.worker'];
  const workerGrown = wA != null && wB != null ? wB - wA : null;
  const brA = a.train.run.peakBrowserRssMiB;
  const brB = b.train.run.peakBrowserRssMiB;
  return {
    smaller: a.images,
    larger: b.images,
    datasetRatio: round(b.images / a.images, 2),
    ratios: {
      'peak UA, preprocessing+training': ratio((r) => r.train.run.peakUaMiB),
      'median UA, training phase': ratio((r) => r.train.training.medianUaMiB),
      'peak UA, training phase': ratio((r) => r.train.training.peakUaMiB),
      'peak UA, preprocessing phase': ratio((r) => r.train.preprocessing.peakUaMiB),
      'peak train worker, preprocessing+training': ratio((r) => r.train.run.peakByContextMiB['train.worker']),
      'median train worker, training phase': ratio((r) => r.train.training.medianByContextMiB['train.worker']),
      'peak page heap, preprocessing+training': ratio((r) => r.train.run.peakPageHeapMiB),
      'peak renderer RSS, preprocessing+training': ratio((r) => r.train.run.peakRendererRssMiB),
      'peak GPU-process RSS, preprocessing+training': ratio((r) => r.train.run.peakGpuRssMiB),
      'peak browser-process RSS, preprocessing+training': ratio((r) => r.train.run.peakBrowserRssMiB),
      'peak storage-service RSS, preprocessing+training': ratio((r) => r.train.run.peakStorageRssMiB),
      'peak UA, import': ratio((r) => r.import.peakUaMiB),
      'settled page heap, Data stage': ratio((r) => r.settled.dataStage.pageHeapMiB),
    },
    pageHeapGrowthMiB: round(grown, 1),
    metadataBytesPerSample: grown != null ? round((grown * MiB) / (b.images - a.images), 0) : null,
    trainWorkerGrowthMiB: round(workerGrown, 1),
    trainWorkerBytesPerSample: workerGrown != null ? round((workerGrown * MiB) / (b.images - a.images), 0) : null,
    /** What the model inputs alone would take if they were held: images x 64 x 64 x 3 bytes (float32 is 4x). */
    pixelBytesMiB: {
      [a.images]: mib(a.images * TRAIN.inputSize ** 2 * TRAIN.channels),
      [b.images]: mib(b.images * TRAIN.inputSize ** 2 * TRAIN.channels),
    },
    browserProcessRssPeakMiB: { [a.images]: brA, [b.images]: brB },
    storageServiceRssPeakMiB: { [a.images]: a.train.run.peakStorageRssMiB, [b.images]: b.train.run.peakStorageRssMiB },
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
  };
  const build = ensureAppBuild();
  mkdirSync(OUT, { recursive: true });
  const full = generateFull();
  const dirs = SIZES.map((n) => subset(full, n));

  const server = await startServer({ root: join(ROOT, 'dist'), port: 0 });
  const launch = {
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
      '--enable-precise-memory-info',
    ],
  };
  const profileDir = INCOGNITO ? null : mkdtempSync(join(os.tmpdir(), 'trainyard-membench-'));
  let browser;
  let context;
  if (profileDir) {
    context = await chromium.launchPersistentContext(profileDir, launch);
    browser = context.browser();
  } else {
    browser = await chromium.launch(launch);
    context = await browser.newContext();
  }
  const notes = [];
  const results = [];
  let crossOriginIsolated = null;
  const browserVersion = browser?.version() ?? 'unknown';
  try {
    const cdp = await browser?.newBrowserCDPSession().catch(() => null);
    const errors = [];
    const first = context.pages()[0] ?? (await context.newPage());
    watchPage(first, errors);
    await first.goto(server.url);
    crossOriginIsolated = await first.evaluate(() => self.crossOriginIsolated);
    if (!crossOriginIsolated) notes.push('The page is not cross-origin isolated: measureUserAgentSpecificMemory is unavailable.');
    // The first-run Digits demo import would share the CPU and refuses a second import while running.
    await first.getByRole('link', { name: 'Digits demo' }).waitFor({ timeout: 120_000 });
    await waitForDemoImport(first);
    await first.close();
    const ctx = { context, baseUrl: server.url, cdp, errors };
    for (let i = 0; i < SIZES.length; i++) {
      log(`--- ${SIZES[i]} images ---`);
      try {
        results.push(await runSize(ctx, SIZES[i], dirs[i]));
      } catch (err) {
        const message = String(err?.message ?? err).split('\n')[0];
        log(`${SIZES[i]}: failed: ${message}`);
        results.push({ images: SIZES[i], error: message });
      }
    }
    if (errors.length) notes.push(`page errors: ${[...new Set(errors)].slice(0, 5).join(' | ')}`);
  } finally {
    await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  }

  for (const r of results) {
    if (r.error || !r.train) continue;
    if (!r.train.completed) notes.push(`${r.images}: the run did not complete: ${r.train.outcome} ${r.train.alerts.join(' | ')}`);
    if (r.train.backend && r.train.backend !== TRAIN.backend)
      notes.push(`${r.images}: asked for ${TRAIN.backend}, trained on ${r.train.backend}`);
    if (r.train.training.samples < 3)
      notes.push(`${r.images}: only ${r.train.training.samples} sample(s) fell in the training phase; its median is rough.`);
    const uaErr = r.samples.train.find((s) => s.uaError)?.uaError;
    if (uaErr) notes.push(`${r.images}: measureUserAgentSpecificMemory failed at least once: ${uaErr}`);
  }
  const g = growth(results);
  const report = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((x) => round(x, 2)) },
    browser: browserVersion,
    crossOriginIsolated,
    profile: profileDir ? 'on-disk' : 'off-the-record (IndexedDB in memory)',
    appRebuilt: build.rebuilt,
    buildFailed: build.buildFailed ?? false,
    hidden: '[128] (the default)',
    settings: TRAIN,
    method: {
      ua: 'performance.measureUserAgentSpecificMemory().bytes: JS memory of the page and its workers (with --enable-blink-features=ForceEagerMeasureMemory); byContext splits it by realm (page, train.worker, import.worker, decode.worker...).',
      pageHeap: "performance.memory.usedJSHeapSize with --enable-precise-memory-info: the page's main-thread V8 heap.",
      rss: 'VmRSS from /proc of the Chromium processes the DevTools protocol lists (SystemInfo.getProcessInfo), summed by type; gpu holds WebGL (SwiftShader without a GPU) textures.',
      phases:
        "From what the Train stage shows: 'Preparing images' = preprocessing, 'Epoch n of m' = training, then evaluating and saving. run = every sample from the click on Start training until the outcome.",
      settled:
        'After a fresh page load on the project (import done in another page), the page isolate garbage-collected through the DevTools protocol (workers are not).',
      samplingMs: SAMPLE_EVERY_MS,
    },
    growth: g,
    results,
    notes,
    totalSeconds: (Date.now() - started) / 1000,
  };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(report, null, 2) + '\n');
  printReport(report);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
