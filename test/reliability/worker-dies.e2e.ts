// Reliability catalog, "Worker dies": Comlink leaves calls pending forever when a worker dies.
// The training worker is made to crash (an uncaught error) and to hang (a busy loop, so liveness
// probes time out) in the middle of a run: the Train stage must say which worker failed and why
// within the timeout, and Retry must start a fresh worker that resumes the run from its checkpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as PwWorker } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';

const EPOCHS = 6;
/** The page's liveness timeout for this test (localStorage override of WorkerClient's default). */
const TIMEOUT_MS = 8_000;
/** Probes go out every 2 s, so a hang shows within TIMEOUT_MS + 2 s; allow for a loaded machine. */
const SHOW_WITHIN_MS = TIMEOUT_MS + 2_000 + 5_000;

describe('reliability: the training worker dies', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;

  const epochCells = () => page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts();
  const trainWorker = (): PwWorker | undefined => page.workers().find((w) => /train/i.test(w.url()));
  const failure = () => page.getByTestId('worker-failure');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-worker-dies-'));
    writeDarkLightDataset(dir, 40, 3);
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await page.evaluate((ms) => localStorage.setItem('trainyard.workerTimeoutMs', String(ms)), TIMEOUT_MS);
    await waitForDemoImported(page);
    await createProject(page, 'Worker dies');
    await pickFolder(page, dir);
    await importAndReport(page);
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill(String(EPOCHS));
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    // CPU: no shader compiles that block the worker for seconds, so the short timeout is safe.
    await page.getByLabel('Backend').selectOption('cpu');
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function failMidRun(kind: 'crash' | 'hang', expected: RegExp): Promise<number> {
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(async () => (await epochCells()).length, { timeout: 90_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    const worker = trainWorker();
    expect(worker, 'the training worker is running').toBeTruthy();
    const injected = Date.now();
    await worker!.evaluate((k) => (self as typeof self & { trainyardDebugFault(k: string): string }).trainyardDebugFault(k), kind);
    await failure().waitFor({ timeout: SHOW_WITHIN_MS });
    const shownAfter = Date.now() - injected;
    expect(await failure().innerText()).toMatch(expected);
    expect(await failure().innerText()).toMatch(/resumes the run from its last checkpoint/);
    // The run is no longer "running": Start is enabled again.
    // (Within seconds: the page first records the run as interrupted, on a loaded CI box too.)
    await expect.poll(() => page.getByRole('button', { name: 'Start training' }).isEnabled(), { timeout: 10_000 }).toBe(true);
    return shownAfter;
  }

  async function retryToCompletion(): Promise<void> {
    await failure().getByRole('button', { name: 'Retry' }).click();
    await failure().waitFor({ state: 'detached', timeout: 10_000 });
    const outcome = page.getByTestId('train-outcome');
    await expect.poll(() => outcome.innerText().catch(() => ''), { timeout: 120_000 }).toMatch(/Run completed/);
    // Resumed, not restarted: the history is continuous, epochs 1..EPOCHS once each.
    expect((await epochCells()).map(Number)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
  }

  it('Worker dies: every pending call rejects within a timeout (crash: an uncaught error in the training worker)', async () => {
    const shownAfter = await failMidRun('crash', /The training worker failed: it threw an uncaught error \(.*deliberate uncaught error/);
    expect(shownAfter).toBeLessThan(5_000); // an 'error' event: no timeout needed
    await retryToCompletion();
  });

  it('Worker dies: every pending call rejects within a timeout (hang: the training worker stops answering)', async () => {
    const shownAfter = await failMidRun('hang', /The training worker failed: it stopped answering \(no reply for 8 s/);
    expect(shownAfter).toBeGreaterThanOrEqual(TIMEOUT_MS - 500);
    expect(shownAfter).toBeLessThan(SHOW_WITHIN_MS);
    await retryToCompletion();
  });
});
