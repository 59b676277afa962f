// Interrupted imports: Cancel keeps what was committed; a browser killed mid-import leaves an
// "incomplete import" (its images hidden, not a half dataset) that can be resumed to completion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  closeReport,
  createProject,
  datasetTotal,
  importPanel,
  openProject,
  openProjectList,
  pickFolder,
  projectCard,
  waitForDemoImported,
  waitForReport,
} from './app-helpers';

const COUNT = 2000;

/** Distinct 32x32 PNGs (a counter in the pixels), in two class folders. */
function writeMany(root: string): string {
  const dir = join(root, 'many');
  for (let i = 0; i < COUNT; i++) {
    const cls = join(dir, i % 2 ? 'odd' : 'even');
    mkdirSync(cls, { recursive: true });
    const png = new pngjs.PNG({ width: 32, height: 32 });
    for (let j = 0; j < 32 * 32; j++) png.data.set([(i * 7 + j) & 255, (i >> 8) & 255, i & 255, 255], j * 4);
    writeFileSync(join(cls, `img-${i}.png`), pngjs.PNG.sync.write(png));
  }
  return dir;
}

const savedSoFar = (page: TrackedPage) =>
  page.waitForFunction(() => /\b([1-9]\d*) saved\b/.test(document.querySelector('[aria-label="Import"]')?.textContent ?? ''), null, {
    polling: 'raf',
    timeout: 60_000,
  });

describe('cancelled and interrupted imports', () => {
  let root: string;
  let many: string;
  let b: LaunchedBrowser;
  let page: TrackedPage;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-interrupt-'));
    many = writeMany(root);
  });
  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Cancel stops the import and keeps what was committed', async () => {
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'Cancelled');
    await pickFolder(page, many);
    await importPanel(page).getByRole('button', { name: 'Start import' }).click();
    await savedSoFar(page);
    await importPanel(page).getByRole('button', { name: 'Cancel import' }).click();
    const report = await waitForReport(page, 60_000);
    if ('error' in report) throw new Error(report.error);
    expect(report.heading).toBe('Import cancelled');
    expect(report.imported).toBeGreaterThan(0);
    expect(report.imported).toBeLessThan(COUNT);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    await b.close();
  });

  it('a browser killed mid-import leaves an incomplete import that resumes to the full count', async () => {
    const profile = join(root, 'profile');
    b = await launchBrowser({ webgpu: false, userDataDir: profile, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    const id = await createProject(page, 'Killed');
    await pickFolder(page, many);
    await importPanel(page).getByRole('button', { name: 'Start import' }).click();
    await savedSoFar(page);
    b.kill();

    b = await launchBrowser({ webgpu: false, userDataDir: profile });
    page = await newPage(b);
    await openProject(page, id, 'Killed');
    const banner = page.getByRole('alert').filter({ hasText: /Incomplete import/ });
    await banner.waitFor({ timeout: 30_000 });
    // Nothing half-imported is listed as usable.
    expect(await datasetTotal(page)).toBe(0);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), banner.getByRole('button', { name: 'Resume import' }).click()]);
    await chooser.setFiles(many);
    const report = await (async () => {
      await importPanel(page).getByRole('button', { name: 'Start import' }).click();
      return waitForReport(page, 120_000);
    })();
    if ('error' in report) throw new Error(report.error);
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBe(COUNT);
    expect(report.duplicates).toBe(0);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(COUNT);
    expect(await banner.count()).toBe(0);
    await openProjectList(page);
    expect(await projectCard(page, 'Killed').getByTestId('sample-count').innerText()).toBe('2,000 images');
  });
});
