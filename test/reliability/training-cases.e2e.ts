// Reliability catalog, "Training (TF.js in a worker)": tensor leaks, NaN/Inf loss, too big,
// checkpoint and resume, no WebGPU / no WebGL. (WebGPU device loss, WebGL context loss and
// "Worker dies" have their own files: webgpu-device-loss, webgl-context-loss, worker-dies.)
//
// Everything is driven through the UI (Train stage labels, Deploy playground) on a tiny dataset
// (16x16 PNGs, 2 classes x 30, batch 8); the stored state is read straight from IndexedDB.
// Tensor counts after every tuning trial are covered by test/e2e/tune.e2e.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, Worker as PwWorker } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';

const PER_CLASS = 30;
const CLASSES = ['dark', 'light'];

interface RunSettings {
  inputSize?: number;
  channels?: 'Grayscale' | 'RGB';
  optimizer?: 'adam' | 'sgd' | 'rmsprop';
  learningRate?: string;
  batchSize?: number;
  epochs?: number;
  augmentation?: number;
  seed?: number;
  backend?: 'auto' | 'webgpu' | 'webgl' | 'cpu';
}

/** Every setting a case depends on, set each time (the Train stage keeps them across stages). */
async function fillSettings(page: Page, s: RunSettings = {}): Promise<void> {
  await page.getByLabel('Architecture').selectOption('cnn');
  await page.getByLabel('Input size (px)').fill(String(s.inputSize ?? 16));
  await page.getByLabel('Colour').selectOption({ label: s.channels ?? 'Grayscale' });
  await page.getByLabel('Optimizer').selectOption(s.optimizer ?? 'adam');
  await page.getByLabel('Learning rate').fill(s.learningRate ?? '0.002');
  await page.getByLabel('Batch size').fill(String(s.batchSize ?? 8));
  await page.getByLabel('Epochs').fill(String(s.epochs ?? 3));
  await page.getByLabel('Augmentation strength (0 = off)').fill(String(s.augmentation ?? 0));
  await page.getByLabel('Early stopping patience (0 = off)').fill('0');
  await page.getByLabel('Seed').fill(String(s.seed ?? 42));
  await page.getByLabel('Backend').selectOption(s.backend ?? 'auto');
}

const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();

const outcomeText = (page: Page) =>
  page
    .getByTestId('train-outcome')
    .innerText()
    .catch(() => '');

const epochCells = async (page: Page) =>
  (await page.getByRole('table', { name: 'Epochs' }).count()) === 0
    ? []
    : (await page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts()).map(Number);

interface StoredRun {
  id: string;
  state: string;
  checkpointEpoch: number;
  epochs: number[];
  versionId: string | null;
  message: string | null;
  settings: Record<string, unknown>;
  checkpoint: { epoch: number; finite: boolean; values: number; optimizer: boolean } | null;
}

/** The project's runs and their checkpoints (every float32 weight checked for NaN/Inf), from IndexedDB. */
const storedRuns = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<StoredRun[]>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction(['runs', 'checkpoints']);
          const runs = tx.objectStore('runs').index('byProject').getAll(pid);
          const out: StoredRun[] = [];
          runs.onsuccess = () => {
            for (const r of runs.result) {
              const row: StoredRun = {
                id: r.id,
                state: r.state,
                checkpointEpoch: r.checkpointEpoch,
                epochs: r.history.map((h: { epoch: number }) => h.epoch),
                versionId: r.versionId,
                message: r.message,
                settings: r.config?.settings ?? {},
                checkpoint: null,
              };
              out.push(row);
              tx.objectStore('checkpoints').get(r.id).onsuccess = (e) => {
                const c = (e.target as IDBRequest).result as
                  | { epoch: number; optimizer: unknown; weights: { specs: Array<{ shape: number[]; dtype: string }>; data: ArrayBuffer } }
                  | undefined;
                if (!c) return;
                let offset = 0;
                let finite = true;
                let values = 0;
                for (const s of c.weights.specs) {
                  const n = s.shape.reduce((a, b) => a * b, 1);
                  if (s.dtype === 'float32') {
                    const v = new Float32Array(c.weights.data, offset, n);
                    for (let i = 0; i < n; i++) if (!Number.isFinite(v[i])) finite = false;
                    values += n;
                  }
                  offset += n * 4;
                }
                row.checkpoint = {
                  epoch: c.epoch,
                  finite: finite && offset === c.weights.data.byteLength,
                  values,
                  optimizer: c.optimizer != null,
                };
              };
            }
          };
          tx.oncomplete = () => (db.close(), resolve(out));
          tx.onerror = () => (db.close(), reject(tx.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

/**
 * tf.memory().numTensors in a worker. TF.js is bundled into the worker, not on its globalThis, so
 * this asks the worker's own Comlink endpoint (api.tensorCount(), the call the Train stage uses):
 * a Comlink APPLY message is dispatched on the worker's global scope, and its answer is taken off
 * postMessage before it would reach the page.
 */
function workerTensorCount(worker: PwWorker): Promise<number> {
  return worker.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const scope = self as typeof self & { postMessage: (...args: unknown[]) => void };
        const original = scope.postMessage;
        const id = `reliability-tensor-count-${Math.random()}`;
        const timer = setTimeout(
          () => ((scope.postMessage = original), reject(new Error('the worker did not answer tensorCount()'))),
          10_000,
        );
        scope.postMessage = function (this: unknown, ...args: unknown[]) {
          const msg = args[0] as { id?: string; type?: string; value?: unknown } | null;
          if (msg && msg.id === id) {
            clearTimeout(timer);
            scope.postMessage = original;
            if (msg.type === 'RAW' && typeof msg.value === 'number') resolve(msg.value);
            else reject(new Error(`tensorCount() answered ${JSON.stringify(msg)}`));
            return;
          }
          return original.apply(self, args);
        };
        self.dispatchEvent(new MessageEvent('message', { data: { id, type: 'APPLY', path: ['tensorCount'], argumentList: [] } }));
      }),
  );
}

/** What every page of this file must not do: leave the origin, violate the CSP, throw, open dialogs. */
function watchPage(page: TrackedPage) {
  const foreign: string[] = [];
  const dialogs: string[] = [];
  const origin = new URL(appUrl()).origin;
  page.on('request', (r) => {
    const u = r.url();
    if (/^https?:/.test(u) && new URL(u).origin !== origin) foreign.push(u);
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return {
    check() {
      expect(foreign, 'requests leaving the app origin').toEqual([]);
      expect(dialogs, 'dialogs').toEqual([]);
      expect(page.pageErrors(), 'page errors').toEqual([]);
      expect(page.cspViolations(), 'CSP violations').toEqual([]);
    },
  };
}

/** Starts a run and waits for its outcome line. */
async function trainAndWait(page: Page, pattern: RegExp, timeout = 120_000): Promise<string> {
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => outcomeText(page), { timeout }).toMatch(/Run \w+\./);
  const text = await outcomeText(page);
  expect(text).toMatch(pattern);
  return text;
}

/** Test accuracy (0..1) of the version the last run created, from the Models stage. */
async function newVersionAccuracy(page: Page): Promise<number> {
  await page.getByRole('button', { name: 'See the new model version' }).click();
  const acc = page.getByTestId('version-accuracy');
  await acc.waitFor({ timeout: 30_000 });
  return parseFloat(await acc.innerText()) / 100;
}

describe('reliability: training (TF.js in a worker)', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let watch: ReturnType<typeof watchPage>;
  let dir: string;
  let projectId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-training-cases-'));
    writeDarkLightDataset(dir, PER_CLASS, 3);
    // No WebGPU flags: "Automatic" goes straight to WebGL (a SwiftShader WebGPU adapter would be skipped anyway).
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    watch = watchPage(page);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Tiny dark and light');
    await pickFolder(page, dir);
    expect((await importAndReport(page)).imported).toBe(2 * PER_CLASS);
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Tensor leaks: tf.memory().numTensors returns to baseline after fit, evaluate, predict, augmentation and dispose', async () => {
    await nav(page, 'Train');
    await fillSettings(page, { epochs: 3, augmentation: 0.5 });
    // fit (augmented batches), validation evaluate, test predictions, save, dispose of the model.
    await trainAndWait(page, /Run completed/);
    const line = await page.getByTestId('tensor-count').innerText();
    const m = /(\d+) after the run, (\d+) before/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![1]), `training worker: ${line}`).toBe(Number(m![2]));

    // Predict in the Deploy playground: the inference worker holds the loaded model's weights, and
    // nothing more after further predictions.
    await nav(page, 'Deploy');
    const results = page.getByRole('list', { name: 'Predictions' }).getByRole('listitem').filter({ hasText: /ms$/ });
    await page.getByLabel('Choose images to predict').setInputFiles(join(dir, 'dark', 'dark-0.png'));
    await expect.poll(() => results.count(), { timeout: 60_000 }).toBe(1);
    const infer = page.workers().find((w) => /infer/i.test(w.url()));
    expect(infer, 'the inference worker is running').toBeTruthy();
    const baseline = await workerTensorCount(infer!);
    expect(baseline, 'the loaded model holds its weights').toBeGreaterThan(0);
    await page
      .getByLabel('Choose images to predict')
      .setInputFiles([join(dir, 'dark', 'dark-1.png'), join(dir, 'light', 'light-0.png'), join(dir, 'light', 'light-1.png')]);
    await expect.poll(() => results.count(), { timeout: 60_000 }).toBe(4);
    expect(await workerTensorCount(infer!), 'inference worker after 3 more predictions').toBe(baseline);
    watch.check();
  });

  it('NaN/Inf loss (learning rate 1e6): stops at once, never stores NaN/Inf weights, explains why in the UI, creates no version', async () => {
    await nav(page, 'Models');
    // The list loads asynchronously: the previous test made a version, so wait for it first.
    await page
      .getByRole('button', { name: /^Version \d+$/ })
      .first()
      .waitFor();
    const versionsBefore = await page.getByRole('button', { name: /^Version \d+$/ }).count();
    const runsBefore = (await storedRuns(page, projectId)).length;
    await nav(page, 'Train');
    await fillSettings(page, { learningRate: '1e6', epochs: 3 });
    const text = await trainAndWait(page, /Run diverged/);
    expect(text).toMatch(/became (NaN|-?Infinity) in epoch 1: training diverged\. Try a lower learning rate\./);
    expect(text).toMatch(/The last good checkpoint \(epoch 0\) is kept/);
    expect(await epochCells(page), 'no epoch of a diverged run is listed').toEqual([]);
    // The same reason is raised as an alert.
    await expect.poll(() => page.getByRole('alert').allInnerTexts()).toContainEqual(expect.stringMatching(/lower learning rate/));

    const runs = await storedRuns(page, projectId);
    expect(runs.length).toBe(runsBefore + 1);
    const run = runs.find((r) => r.state === 'diverged');
    expect(run, JSON.stringify(runs)).toBeTruthy();
    expect(run!.versionId).toBeNull();
    expect(run!.checkpointEpoch).toBe(0);
    // Every checkpoint stored for this project (the diverged run's, if any) holds finite weights only.
    for (const r of runs) if (r.checkpoint) expect(r.checkpoint.finite, `checkpoint of run ${r.id} (${r.state})`).toBe(true);
    if (run!.checkpoint) expect(run!.checkpoint.epoch).toBe(run!.checkpointEpoch);

    await nav(page, 'Models');
    await page
      .getByRole('button', { name: /^Version \d+$/ })
      .first()
      .waitFor();
    expect(await page.getByRole('button', { name: /^Version \d+$/ }).count(), 'a diverged run never becomes a version').toBe(
      versionsBefore,
    );
    // Not offered for resuming either: there is nothing good to resume from.
    await nav(page, 'Train');
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /after epoch 0/ })
        .count(),
    ).toBe(0);
    watch.check();
  });

  it('Too big (batch or resolution over the limits): refused up front with a suggestion, no run started', async () => {
    await nav(page, 'Train');
    const runsBefore = (await storedRuns(page, projectId)).length;
    const form = page.locator('form.settings');
    const alert = form.getByRole('alert');

    await fillSettings(page, { batchSize: 512, inputSize: 224, channels: 'RGB' });
    await expect
      .poll(() => alert.innerText().catch(() => ''))
      .toBe('This batch size and input size together are too large for a browser tab; lower one of them.');
    // The panel still shows the previous run's outcome: Start must leave it as it is.
    const before = await outcomeText(page);
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForTimeout(1000);
    expect(await outcomeText(page), 'no run started').toBe(before);
    expect(await page.getByText('Starting the training worker…').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Stop training' }).isEnabled(), 'nothing is running').toBe(false);

    // A batch over the hard limit names the limit to use instead.
    await fillSettings(page, { batchSize: 600 });
    await expect.poll(() => alert.innerText().catch(() => '')).toBe('A batch of 600 is too big for a browser tab; try 512 or less.');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForTimeout(500);
    expect(await outcomeText(page), 'no run started').toBe(before);
    expect(await page.getByRole('button', { name: 'Stop training' }).isEnabled()).toBe(false);

    expect((await storedRuns(page, projectId)).length, 'no run was created').toBe(runsBefore);
    // Back within the limits, the refusal goes away.
    await fillSettings(page);
    await expect.poll(() => alert.count()).toBe(0);
    watch.check();
  });

  it('Checkpoint and resume: weights + epoch + optimizer settings + split seed saved each epoch; after a reload the run resumes at the last complete epoch; the metric history is continuous', async () => {
    const EPOCHS = 12;
    const SEED = 7;
    await nav(page, 'Train');
    await fillSettings(page, { epochs: EPOCHS, seed: SEED });
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(async () => (await epochCells(page)).length, { timeout: 120_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Stop training' }).click();
    await expect.poll(() => outcomeText(page), { timeout: 30_000 }).toMatch(/Run stopped/);
    const done = (await epochCells(page)).length;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(EPOCHS);

    await page.reload();
    const offer = page.getByRole('status').filter({ hasText: /was stopped after epoch/ });
    await offer.waitFor({ timeout: 30_000 });
    const savedEpoch = Number(/after epoch (\d+)/.exec(await offer.innerText())![1]);
    expect(savedEpoch).toBe(done);

    // What is stored for the stopped run: its checkpoint at that epoch (finite weights, optimizer
    // state), the history so far, and the settings with the split seed.
    const stopped = (await storedRuns(page, projectId)).find((r) => r.state === 'stopped');
    expect(stopped).toBeTruthy();
    expect(stopped!.checkpointEpoch).toBe(savedEpoch);
    expect(stopped!.checkpoint).toMatchObject({ epoch: savedEpoch, finite: true, optimizer: true });
    expect(stopped!.epochs).toEqual(Array.from({ length: savedEpoch }, (_, i) => i + 1));
    expect(stopped!.settings).toMatchObject({ seed: SEED, optimizer: 'adam', learningRate: 0.002, batchSize: 8, epochs: EPOCHS });

    await offer.getByRole('button', { name: 'Resume run' }).click();
    await expect.poll(() => outcomeText(page), { timeout: 180_000 }).toMatch(/Run completed/);
    expect(await epochCells(page), 'epochs 1..N, once each').toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const finished = (await storedRuns(page, projectId)).find((r) => r.id === stopped!.id)!;
    expect(finished.state).toBe('completed');
    expect(finished.epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    expect(finished.versionId).not.toBeNull();
    expect(finished.settings).toMatchObject({ seed: SEED });
    watch.check();
  });

  it('No WebGPU / no WebGL: a named fallback backend, a speed notice, same results within tolerance', async () => {
    const SAME = { epochs: 4, seed: 42 } as const;
    // Reference: the same settings and seed on WebGL, in this browser, on a fresh project.
    await createProject(page, 'Same seed on WebGL');
    await pickFolder(page, dir);
    await importAndReport(page);
    await nav(page, 'Train');
    await fillSettings(page, { ...SAME, backend: 'webgl' });
    await trainAndWait(page, /Run completed/);
    expect(await page.getByRole('region', { name: 'Training progress' }).innerText()).toMatch(/Backend: webgl/);
    const webglAccuracy = await newVersionAccuracy(page);
    watch.check();

    // A browser with neither: no WebGPU flags, and no GPU process at all (--disable-webgl and
    // --disable-3d-apis alone still give a worker's OffscreenCanvas a WebGL2 context here).
    const cpuBrowser = await launchBrowser({
      webgpu: false,
      demoImported: true,
      args: ['--disable-gpu', '--disable-software-rasterizer', '--disable-webgl', '--disable-3d-apis'],
    });
    try {
      const cpuPage = await newPage(cpuBrowser);
      const cpuWatch = watchPage(cpuPage);
      await cpuPage.goto(appUrl());
      // Precondition, checked in a worker of the app's origin: no WebGPU adapter, no WebGL context.
      const probe = await cpuPage.evaluate(async () => {
        const src = `onmessage = async () => {
          let gpu = 'none';
          try { gpu = navigator.gpu ? String(!!(await navigator.gpu.requestAdapter())) : 'none'; } catch (e) { gpu = 'none'; }
          let gl2 = false, gl = false;
          try { gl2 = !!new OffscreenCanvas(1, 1).getContext('webgl2'); } catch {}
          try { gl = !!new OffscreenCanvas(1, 1).getContext('webgl'); } catch {}
          postMessage({ gpu, gl2, gl });
        };`;
        const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
        const r = await new Promise((res) => ((w.onmessage = (e) => res(e.data)), w.postMessage(0)));
        w.terminate();
        return r;
      });
      expect(probe, 'this browser has neither WebGPU nor WebGL in workers').toEqual({
        gpu: expect.not.stringMatching(/true/),
        gl2: false,
        gl: false,
      });

      await waitForDemoImported(cpuPage);
      await createProject(cpuPage, 'Same seed, no GPU');
      await pickFolder(cpuPage, dir);
      await importAndReport(cpuPage);
      await nav(cpuPage, 'Train');
      await fillSettings(cpuPage, { ...SAME, backend: 'auto' });
      await trainAndWait(cpuPage, /Run completed/, 180_000);
      const progress = await cpuPage.getByRole('region', { name: 'Training progress' }).innerText();
      // The backend that ran it is named (the probe picks WebAssembly over the JavaScript CPU
      // backend), and why each of the others was not used.
      expect(progress).toMatch(/Backend: wasm/);
      expect(progress).toMatch(/webgpu was not used: \S.*/);
      expect(progress).toMatch(/webgl was not used: \S.*/);
      // A notice about speed.
      const notice = cpuPage.getByTestId('backend-notice');
      expect(await notice.isVisible()).toBe(true);
      expect(await notice.innerText()).toMatch(
        /trained on the CPU \(WebAssembly\) because WebGPU and WebGL could not be used[\s\S]*slower/,
      );

      const cpuAccuracy = await newVersionAccuracy(cpuPage);
      expect(Math.abs(cpuAccuracy - webglAccuracy), `CPU ${cpuAccuracy} vs WebGL ${webglAccuracy}`).toBeLessThanOrEqual(0.15);
      cpuWatch.check();
    } finally {
      await cpuBrowser.close();
    }
  });
});
