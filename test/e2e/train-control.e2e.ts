// Control of a training run: Stop keeps the last complete epoch and Resume continues from it
// (after a reload too), and a diverging run (NaN/Inf loss) stops with a reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from './app-helpers';

describe('stopping, resuming and diverging runs', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let projectId: string;

  const epochRows = () => page.getByRole('table', { name: 'Epochs' }).getByRole('row').count();
  const nav = (name: string) => page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-control-'));
    writeDarkLightDataset(dir, 40, 11);
    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Dark and light');
    await pickFolder(page, dir);
    await importAndReport(page);
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops between batches and resumes from the last complete epoch after a reload', async () => {
    await nav('Train');
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill('12');
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(epochRows, { timeout: 120_000 }).toBeGreaterThanOrEqual(3); // header + 2 epochs
    await page.getByRole('button', { name: 'Stop training' }).click();
    await expect.poll(() => page.getByTestId('train-outcome').innerText(), { timeout: 30_000 }).toMatch(/Run stopped/);
    const done = (await epochRows()) - 1;
    expect(done).toBeLessThan(12);

    await page.reload();
    const offer = page.getByRole('status').filter({ hasText: /was stopped after epoch/ });
    await offer.waitFor({ timeout: 30_000 });
    const savedEpoch = Number(/after epoch (\d+)/.exec(await offer.innerText())![1]);
    expect(savedEpoch).toBeGreaterThanOrEqual(2);
    await offer.getByRole('button', { name: 'Resume run' }).click();
    await expect.poll(() => page.getByTestId('train-outcome').innerText(), { timeout: 180_000 }).toMatch(/Run completed/);
    // The history is continuous: epochs 1..12, once each.
    const epochs = await page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts();
    expect(epochs.map(Number)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await nav('Models');
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
  });

  it('stops a diverging run, keeps no NaN weights and suggests a lower learning rate', async () => {
    await page.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/train`));
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Optimizer').selectOption('sgd');
    await page.getByLabel('Learning rate').fill('1e12');
    await page.getByLabel('Epochs').fill('3');
    await page.getByLabel('Batch size').fill('8');
    await page.getByRole('button', { name: 'Start training' }).click();
    const outcome = page.getByTestId('train-outcome');
    await expect.poll(() => outcome.innerText(), { timeout: 120_000 }).toMatch(/Run diverged/);
    expect(await outcome.innerText()).toMatch(/learning rate/i);
    await nav('Models');
    // Still one version: a diverged run never becomes a model.
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    expect(await page.getByRole('button', { name: /^Version \d+$/ }).count()).toBe(1);
  });
});
