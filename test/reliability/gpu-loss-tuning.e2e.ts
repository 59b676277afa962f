// Reliability catalog, "WebGL context loss" / "WebGPU device loss", for the jobs that train more
// than one model: a tuning study and the label-quality check. The loss is injected into the
// training worker itself (WEBGL_lose_context.loseContext() or device.destroy(), as
// webgl-context-loss.e2e.ts and webgpu-device-loss.e2e.ts do) while a trial (or a fold) trains. A study must stop at once (no hang), record the cut trial as
// interrupted, pause with a notice naming the loss, and "Resume study" must finish it on a fresh
// context (or a fallback backend) with every trial counted once; the label check must reject
// promptly with a clear message and run again afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as PwWorker } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';
import { defaultPipeline, defaultTunePlan, serializePipeline } from '../../src/lib/pipeline/definition';

const PER_CLASS = 30;
const TRIAL_EPOCHS = 8;

interface StoredTrial {
  number: number;
  state: string;
  message: string | null;
}

interface Variant {
  backend: 'webgl' | 'webgpu';
  /** How the catalog names the case. */
  caseName: string;
  /** The loss's reason as the notices give it. */
  reason: string;
  /** Where the notice says the study went on. */
  resumedOn: string;
}

const WEBGL: Variant = {
  backend: 'webgl',
  caseName: 'WebGL context loss',
  reason: 'WebGL context lost',
  resumedOn: '(WebGL with a fresh WebGL context|CPU instead of WebGL)',
};
const WEBGPU: Variant = {
  backend: 'webgpu',
  caseName: 'WebGPU device loss',
  reason: 'WebGPU device lost[^)]*',
  resumedOn: '(WebGPU with a fresh device|(WebGL|CPU) instead of WebGPU)',
};

describe('reliability: GPU loss during tuning and label checks (WebGL)', () => suite(WEBGL));
// WebGPU on SwiftShader (the harness's WEBGPU_FLAGS); skipped, saying so, where there is no adapter.
describe('reliability: GPU loss during tuning and label checks (WebGPU)', () => suite(WEBGPU));

function suite(v: Variant): void {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let noWebGpu: string | null = null;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
  const trainWorker = (): PwWorker | undefined => page.workers().find((w) => /train/i.test(w.url()));
  const studyState = (name: string) =>
    page.getByRole('list', { name: 'Studies' }).getByRole('listitem', { name, exact: true }).getByTestId('study-state').innerText();
  const trialStates = () =>
    page
      .getByRole('table', { name: 'Trials' })
      .locator('tbody tr[data-state]')
      .evaluateAll((rows) =>
        rows
          .map(
            (r) =>
              `${(r.querySelector('[data-col="number"]')?.textContent ?? '').trim()}:${(r.querySelector('[data-col="state"]')?.textContent ?? '').trim()}`,
          )
          .join(' '),
      )
      .catch(() => '');

  async function loseGpu(): Promise<string> {
    const worker = trainWorker();
    expect(worker, 'the training worker is running').toBeTruthy();
    return worker!.evaluate(() => (self as typeof self & { trainyardDebugFault(k: string): string }).trainyardDebugFault('lose-gpu'));
  }

  /** A study's trials as stored in IndexedDB. */
  async function storedTrials(studyName: string): Promise<{ state: string; trials: StoredTrial[] }> {
    return page.evaluate(async (name) => {
      const req = indexedDB.open('trainyard');
      const db = await new Promise<IDBDatabase>(
        (res, rej) => ((req.onsuccess = () => res(req.result)), (req.onerror = () => rej(req.error))),
      );
      const all = <T>(store: string) =>
        new Promise<T[]>((res, rej) => {
          const r = db.transaction(store).objectStore(store).getAll();
          r.onsuccess = () => res(r.result as T[]);
          r.onerror = () => rej(r.error);
        });
      const study = (await all<{ id: string; name: string; state: string }>('studies')).find((s) => s.name === name)!;
      const trials = (await all<StoredTrial & { studyId: string }>('trials'))
        .filter((t) => t.studyId === study.id)
        .sort((a, c) => a.number - c.number);
      db.close();
      return { state: study.state, trials: trials.map(({ number, state, message }) => ({ number, state, message })) };
    }, studyName);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-gpu-loss-tuning-'));
    writeDarkLightDataset(dir, PER_CLASS, 11);
    // The flags of webgl-context-loss.e2e.ts (no WebGPU) and webgpu-device-loss.e2e.ts (WEBGPU_FLAGS).
    b = await launchBrowser({ webgpu: v.backend === 'webgpu', demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    if (v.backend === 'webgpu') {
      noWebGpu = await page.evaluate(async () => {
        const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        if (!gpu) return 'this Chromium exposes no navigator.gpu';
        return (await gpu.requestAdapter().catch(() => null)) ? null : 'navigator.gpu.requestAdapter() returned no adapter';
      });
      if (noWebGpu) return;
    }
    await waitForDemoImported(page);
    await createProject(page, `GPU loss tuning ${v.backend}`);
    await pickFolder(page, dir);
    await importAndReport(page);
    // The Train stage's settings are the base of every trial and of the label check's folds.
    await nav('Train');
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Epochs').fill('2');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByLabel('Backend').selectOption(v.backend);
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${v.caseName} during a tuning study: the study stops (no hang), the cut trial is marked interrupted, and "Resume study" finishes it on a fresh or fallback backend, with a notice`, async (ctx) => {
    if (noWebGpu) ctx.skip(`WebGPU is unavailable in this headless Chromium: ${noWebGpu}`);
    await nav('Tune');
    await expect.poll(() => page.getByTestId('base-settings').innerText()).toMatch(/16 px.*batch 8, 2 epochs/);
    await page.getByLabel('Study name').fill('Lost GPU');
    await page.getByLabel('Strategy').selectOption({ label: 'Random' });
    await page.getByLabel('Max trials').fill('3');
    await page.getByLabel('Pruner').selectOption({ label: 'None' });
    const space: Record<string, string> = { Epochs: String(TRIAL_EPOCHS), 'Input size': '16', 'Batch size': '8', Dropout: '0.1, 0.3' };
    const editor = page.getByRole('table', { name: 'Search space' });
    for (const box of await editor.getByRole('checkbox', { name: /^Include / }).all()) {
      await box.setChecked((await box.getAttribute('aria-label'))!.replace(/^Include /, '') in space);
    }
    for (const [label, values] of Object.entries(space)) {
      const kind = editor.getByLabel(`${label} values as`);
      if (await kind.count()) await kind.selectOption('choice');
      await editor.getByLabel(`${label} choices`).fill(values);
    }
    await page.getByRole('button', { name: 'Start study' }).click();

    // Trial 1 finished and trial 2 is training: lose the GPU now, mid-trial.
    await expect.poll(trialStates, { timeout: 150_000, interval: 100 }).toMatch(/^1:complete 2:running$/);
    await page.getByRole('progressbar', { name: /^Trial 2: epoch \d+ of \d+, batch$/ }).waitFor({ timeout: 60_000 });
    expect(await loseGpu(), `it trains on ${v.backend} (not a fallback)`).toBe(`lost the ${v.backend} GPU`);

    // No hang: the study stops and pauses with a notice naming the loss.
    const notice = page.getByTestId('tune-notice');
    await expect
      .poll(() => notice.innerText().catch(() => ''), { timeout: 60_000 })
      .toMatch(
        new RegExp(
          `^Study “Lost GPU”: The GPU was lost \\(${v.reason}\\); the study paused after trial 1\\. Resume study continues on a fresh or fallback backend\\.`,
        ),
      );
    await expect.poll(() => studyState('Lost GPU'), { timeout: 30_000 }).toBe('paused');
    expect(await trialStates()).toBe('1:complete 2:interrupted');
    const paused = await storedTrials('Lost GPU');
    expect(paused.state).toBe('paused');
    expect(paused.trials.map((t) => `${t.number}:${t.state}`)).toEqual(['1:complete', '2:interrupted']);
    expect(paused.trials[1].message).toMatch(/GPU was lost/);
    expect(await page.getByRole('button', { name: 'Start study' }).isDisabled()).toBe(false);

    // Resume: the cut trial reruns (not counted twice) and the study finishes its budget.
    await notice.getByRole('button', { name: 'Resume study' }).click();
    await expect.poll(() => studyState('Lost GPU'), { timeout: 240_000 }).toBe('done');
    expect(await trialStates()).toBe('1:complete 2:complete 3:complete');
    const done = await storedTrials('Lost GPU');
    expect(done.state).toBe('done');
    expect(done.trials.map((t) => `${t.number}:${t.state}`)).toEqual(['1:complete', '2:complete', '3:complete']);
    // The notice names where the study went on: a fresh WebGL context, or a fallback backend.
    await expect
      .poll(() => notice.innerText().catch(() => ''), { timeout: 10_000 })
      .toMatch(new RegExp(`^The GPU was lost \\(${v.reason}\\) during trial 2; study “Lost GPU” resumed on ${v.resumedOn}`));
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /was (stopped|interrupted) after/ })
        .count(),
    ).toBe(0);
    expect(page.pageErrors()).toEqual([]);
  });

  it(`${v.caseName} during a label check: it rejects promptly with a clear message and runs again on a fresh or fallback backend`, async (ctx) => {
    if (noWebGpu) ctx.skip(`WebGPU is unavailable in this headless Chromium: ${noWebGpu}`);
    await nav('Label');
    await page.getByLabel('Folds', { exact: true }).fill('2');
    await page.getByLabel('Epochs per fold').fill('40');
    await page.getByRole('button', { name: 'Find label errors' }).click();

    // A fold is training: lose the GPU.
    // (Preparing counts images, 2 × PER_CLASS; the folds count batches, 2 folds × 40 epochs × 4 batches.)
    const bar = page.getByRole('progressbar', { name: 'Checking labels' });
    const foldBatches = () =>
      bar
        .evaluate(
          (el, images) => {
            const p = el as HTMLProgressElement;
            return p.max > images ? p.value : 0;
          },
          PER_CLASS * 2,
          { timeout: 1_000 },
        )
        .catch(() => 0);
    await expect.poll(foldBatches, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
    expect(await loseGpu(), `it trains on ${v.backend} (not a fallback)`).toBe(`lost the ${v.backend} GPU`);

    const alert = page.getByRole('alert').filter({ hasText: /GPU was lost/ });
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.innerText()).toMatch(
      new RegExp(`^The GPU was lost during the label check \\(${v.reason}\\)\\. Run it again; it will use a fresh or fallback backend\\.$`),
    );
    expect(await page.getByTestId('label-status').innerText()).toBe('');

    // Again, shorter: it completes on a fresh context (or a fallback backend).
    await page.getByLabel('Epochs per fold').fill('2');
    await page.getByRole('button', { name: 'Find label errors' }).click();
    await expect
      .poll(() => page.getByTestId('label-status').innerText(), { timeout: 180_000 })
      .toMatch(new RegExp(`^Checked ${PER_CLASS * 2} labels with 2 folds`));
    expect(
      await page
        .getByRole('alert')
        .filter({ hasText: /GPU was lost/ })
        .count(),
    ).toBe(0);
    expect(page.pageErrors()).toEqual([]);
  });

  // The pipeline's tune step hosts a study the same way; its loss must end the pipeline run as
  // 'interrupted' (resumable), like a loss in a plain train step. One backend is enough here.
  if (v.backend === 'webgl') {
    it("WebGL context loss during a pipeline's tune step: the pipeline run is interrupted (not failed) and resumes to success", async () => {
      const name = 'Tuned on a lost GPU';
      const file = join(dir, 'tuned-pipeline.json');
      writeFileSync(
        file,
        serializePipeline(
          defaultPipeline(name, {
            preprocess: { inputSize: 16, channels: 1, resize: 'stretch', augmentation: {} },
            train: {
              mode: 'tune',
              settings: {
                architecture: 'mlp',
                hidden: [32],
                learningRate: 0.005,
                batchSize: 8,
                epochs: 20,
                earlyStoppingPatience: 0,
                backend: 'webgl',
              },
              plan: { ...defaultTunePlan(), strategy: 'random', maxTrials: 2 },
            },
            gate: { minImprovement: -1, maxClassDrop: 1 },
          }),
        ),
      );
      await nav('Pipeline');
      await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
      await page.getByLabel('Import JSON').setInputFiles(file);
      await page
        .getByRole('status')
        .filter({ hasText: `Imported “${name}”` })
        .waitFor();
      await page.getByRole('button', { name: 'Run pipeline' }).click();

      // The tune step's first trial is training: lose the GPU.
      await page
        .getByRole('list', { name: 'Pipeline steps' })
        .getByRole('progressbar', { name: 'train progress' })
        .waitFor({ timeout: 180_000 });
      expect(await loseGpu()).toBe('lost the webgl GPU');

      const runState = () =>
        page
          .getByRole('table', { name: 'Runs' })
          .locator('tr[data-run="1"]')
          .getByTestId('run-state')
          .innerText()
          .then((t) => t.trim())
          .catch(() => '');
      await expect.poll(runState, { timeout: 60_000 }).toBe('interrupted');
      await page.getByRole('status').filter({ hasText: 'Run #1 stopped before it finished (interrupted)' }).waitFor();
      const show = page.getByRole('button', { name: 'Show run #1', exact: true });
      if ((await show.getAttribute('aria-pressed')) !== 'true') await show.click();
      await expect
        .poll(
          () => page.getByText(/WebGL context lost: the tuning study “.*” paused during trial \d+\. Resume the run to continue\./).count(),
          { timeout: 10_000 },
        )
        .toBeGreaterThan(0);

      await page.getByRole('button', { name: 'Resume run' }).click();
      await expect.poll(runState, { timeout: 420_000, interval: 1000 }).toMatch(/^(succeeded|rejected|failed|cancelled)$/);
      expect(await runState()).toBe('succeeded');
      expect(page.pageErrors()).toEqual([]);
    });
  }
}
