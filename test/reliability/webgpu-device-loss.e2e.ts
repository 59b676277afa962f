// Reliability catalog, "WebGPU device loss": after device.destroy() pending reads must reject (no
// hang), the run is marked interrupted, the dead backend dropped, and the page resumes the run once
// from its last checkpoint on a fresh device (or a fallback backend), with a notice. The loss is
// injected into the training worker itself. Needs WebGPU (SwiftShader in headless Chromium, with
// the harness's WEBGPU_FLAGS); where the browser has no adapter the test is skipped, saying so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as PwWorker } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';

const EPOCHS = 5;

describe('reliability: GPU loss (WebGPU)', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let noWebGpu: string | null = null;

  const epochCells = () => page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts();
  const trainWorker = (): PwWorker | undefined => page.workers().find((w) => /train/i.test(w.url()));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-webgpu-loss-'));
    writeDarkLightDataset(dir, 30, 5); // WebGPU on SwiftShader is slow: a smaller set
    b = await launchBrowser({ demoImported: true }); // with WEBGPU_FLAGS
    page = await newPage(b);
    await page.goto(appUrl());
    noWebGpu = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      if (!gpu) return 'this Chromium exposes no navigator.gpu';
      return (await gpu.requestAdapter().catch(() => null)) ? null : 'navigator.gpu.requestAdapter() returned no adapter';
    });
    if (noWebGpu) return;
    await waitForDemoImported(page);
    await createProject(page, 'WebGPU loss');
    await pickFolder(page, dir);
    await importAndReport(page);
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('WebGPU device loss: pending reads reject (no hang), the run is marked interrupted and resumes from its checkpoint on a fresh or fallback backend, with a notice', async (ctx) => {
    if (noWebGpu) ctx.skip(`WebGPU is unavailable in this headless Chromium: ${noWebGpu}`);
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill(String(EPOCHS));
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByLabel('Backend').selectOption('webgpu');
    await page.getByRole('button', { name: 'Start training' }).click();

    // Epoch 1's checkpoint is stored before its row appears.
    await expect.poll(async () => (await epochCells()).length, { timeout: 120_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    const worker = trainWorker();
    expect(worker, 'the training worker is running').toBeTruthy();
    const did = await worker!.evaluate(() =>
      (self as typeof self & { trainyardDebugFault(k: string): string }).trainyardDebugFault('lose-gpu'),
    );
    expect(did, 'the run trains on WebGPU (not a fallback)').toBe('lost the webgpu GPU');

    const notice = page.getByTestId('train-notice');
    await expect
      .poll(() => notice.innerText().catch(() => ''), { timeout: 30_000 })
      .toMatch(/The GPU was lost \(WebGPU device lost.*?\); the run stopped after epoch \d+/);
    const stoppedAfter = Number(/after epoch (\d+)/.exec(await notice.innerText())![1]);
    expect(stoppedAfter).toBeGreaterThanOrEqual(1);
    expect(stoppedAfter).toBeLessThan(EPOCHS);

    const outcome = page.getByTestId('train-outcome');
    await expect.poll(() => outcome.innerText().catch(() => ''), { timeout: 120_000 }).toMatch(/Run completed/);
    // The notice names where the run went on: a fresh WebGPU device, or a fallback backend.
    expect(await notice.innerText()).toMatch(/resumed from that checkpoint on (WebGPU with a fresh device|(WebGL|CPU) instead of WebGPU)/);
    // The metric history is continuous: epochs 1..EPOCHS, once each.
    expect((await epochCells()).map(Number)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    // No error alert and no offer to resume: the run finished.
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /was interrupted after epoch/ })
        .count(),
    ).toBe(0);
  });
});
