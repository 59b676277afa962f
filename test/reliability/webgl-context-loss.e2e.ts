// Reliability catalog, "WebGL context loss": TF.js only logs a warning when its context is lost.
// The training worker must notice, stop the run at once, mark it interrupted and drop the dead
// backend; the page resumes it once from its last checkpoint on a fresh context, with a notice.
// The loss is injected into the training worker itself (WEBGL_lose_context.loseContext()).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as PwWorker } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';

const EPOCHS = 10;

describe('reliability: GPU loss (WebGL)', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;

  const epochCells = () => page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts();
  const trainWorker = (): PwWorker | undefined => page.workers().find((w) => /train/i.test(w.url()));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-webgl-loss-'));
    writeDarkLightDataset(dir, 60, 5);
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'WebGL loss');
    await pickFolder(page, dir);
    await importAndReport(page);
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('WebGL context loss: the run stops, is marked interrupted and resumes from its checkpoint on a fresh context, with a notice', async () => {
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill(String(EPOCHS));
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByLabel('Backend').selectOption('webgl');
    await page.getByRole('button', { name: 'Start training' }).click();

    // Epoch 1's checkpoint is stored before its row appears.
    await expect.poll(async () => (await epochCells()).length, { timeout: 90_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    const worker = trainWorker();
    expect(worker, 'the training worker is running').toBeTruthy();
    const did = await worker!.evaluate(() =>
      (self as typeof self & { trainyardDebugFault(k: string): string }).trainyardDebugFault('lose-gpu'),
    );
    expect(did).toBe('lost the webgl GPU');

    const notice = page.getByTestId('train-notice');
    await expect
      .poll(() => notice.innerText().catch(() => ''), { timeout: 30_000 })
      .toMatch(/The GPU was lost \(WebGL context lost\); the run stopped after epoch \d+/);
    const stoppedAfter = Number(/after epoch (\d+)/.exec(await notice.innerText())![1]);
    expect(stoppedAfter).toBeGreaterThanOrEqual(1);
    expect(stoppedAfter).toBeLessThan(EPOCHS);

    const outcome = page.getByTestId('train-outcome');
    await expect.poll(() => outcome.innerText().catch(() => ''), { timeout: 120_000 }).toMatch(/Run completed/);
    // The notice names where the run went on: a fresh WebGL context (or a fallback backend).
    expect(await notice.innerText()).toMatch(/resumed from that checkpoint on (WebGL with a fresh WebGL context|CPU instead of WebGL)/);
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
