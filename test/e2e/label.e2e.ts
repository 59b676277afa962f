// Labeling as a person does it: keyboard labeling with undo, class rename and merge as one undoable
// step, model pre-labels accepted by hand or auto-accepted above a threshold (provenance kept and
// exported), the label-quality check on deliberately flipped labels, and the labels CSV round trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFiles, pickFolder, waitForDemoImported, writeHalvesDataset } from './app-helpers';

/** Bright-left / bright-right 28x28 images with their own noise seed (so no byte-duplicates of the labeled set). */
function writePool(root: string, perSide: number, seed: number): string[] {
  mkdirSync(root, { recursive: true });
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const files: string[] = [];
  for (const side of ['left', 'right']) {
    for (let i = 0; i < perSide; i++) {
      const png = new pngjs.PNG({ width: 28, height: 28 });
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const lit = side === 'left' ? x < 14 : x >= 14;
          const v = Math.min(255, Math.round((lit ? 170 : 20) + rand() * 80));
          png.data.set([v, v, v, 255], (y * 28 + x) * 4);
        }
      }
      const file = join(root, `pool-${side}-${i}.png`);
      writeFileSync(file, pngjs.PNG.sync.write(png, { colorType: 0 }));
      files.push(file);
    }
  }
  return files;
}

const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
const QUEUES: Record<string, string> = {
  Unlabeled: 'unlabeled',
  'Pre-labeled': 'prelabeled',
  'Auto-accepted': 'auto',
  'Label issues': 'issues',
  Labeled: 'labeled',
  All: 'all',
};
const queueCount = async (page: Page, name: string) => Number(await page.locator(`[data-queue="${QUEUES[name]}"] .count`).innerText());
const status = (page: Page) => page.getByTestId('label-status').innerText();
const workspace = (page: Page) => page.getByRole('region', { name: 'Labeling queue' });
const currentTile = (page: Page) => workspace(page).locator('[aria-current="true"]');

describe('labeling', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-label-'));
    writeHalvesDataset(join(dir, 'labeled'), 16, ['left', 'right']);
    const pool = writePool(join(dir, 'pool'), 12, 99);
    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'Halves to label');
    await pickFolder(page, join(dir, 'labeled'));
    await importAndReport(page);
    await pickFiles(page, pool);
    await importAndReport(page);
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels with the keyboard: number keys, arrows, bulk select, undo, rename and merge in one step', async () => {
    await nav(page, 'Label');
    await expect.poll(() => queueCount(page, 'Unlabeled')).toBe(24);
    await workspace(page).click({ position: { x: 5, y: 5 } });
    const first = await currentTile(page).getAttribute('data-sample-id');
    await page.keyboard.press('ArrowRight');
    const second = await currentTile(page).getAttribute('data-sample-id');
    expect(second).not.toBe(first);
    await page.keyboard.press('ArrowLeft');
    expect(await currentTile(page).getAttribute('data-sample-id')).toBe(first);

    // "1" labels the current image with the first class ("left"), by a person.
    await page.keyboard.press('1');
    await expect.poll(() => queueCount(page, 'Unlabeled')).toBe(23);
    await expect.poll(() => status(page)).toMatch(/Label 1 image “left”/);
    // Z undoes it.
    await page.keyboard.press('z');
    await expect.poll(() => queueCount(page, 'Unlabeled')).toBe(24);

    // Bulk: select three with Space while moving, then "2" labels all three "right".
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    await page.keyboard.press('2');
    await expect.poll(() => queueCount(page, 'Unlabeled')).toBe(21);
    await expect.poll(() => status(page)).toMatch(/Label 3 images “right”/);

    // Rename "right" -> "east" touches all 19 right images in one step; one undo restores them.
    await page.getByText('Rename or merge classes').click();
    await page.getByLabel('Class to rename').selectOption('right');
    await page.getByLabel('New class name').fill('east');
    await page.getByRole('button', { name: 'Rename class' }).click();
    await expect.poll(() => status(page)).toMatch(/19 images updated/);
    await expect(page.getByRole('group', { name: 'Classes' }).getByRole('button', { name: /east/ }).count()).resolves.toBe(1);
    await workspace(page).click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('z');
    await expect
      .poll(() =>
        page
          .getByRole('group', { name: 'Classes' })
          .getByRole('button', { name: /^2\s*right$/ })
          .count(),
      )
      .toBe(1);

    // Merge needs a class to merge: add "up", label one image with it (key 3), merge it into "left".
    await page.getByLabel('New class', { exact: true }).fill('up');
    await page.getByRole('button', { name: 'Add class' }).click();
    await workspace(page).click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('3');
    await expect.poll(() => queueCount(page, 'Unlabeled')).toBe(20);
    await page.getByLabel('Classes to merge').selectOption(['up']);
    await page.getByLabel('Merge into').selectOption('left');
    await page.getByRole('button', { name: 'Merge classes' }).click();
    await expect.poll(() => page.getByRole('group', { name: 'Classes' }).getByRole('button', { name: /up$/ }).count()).toBe(0);
    // Labels survive a reload: they are in IndexedDB, not only in the page.
    await page.reload();
    await expect.poll(() => queueCount(page, 'Unlabeled'), { timeout: 30_000 }).toBe(20);
    await expect.poll(() => queueCount(page, 'Labeled')).toBe(36);
  });

  it('pre-labels with a trained model: accept by hand, auto-accept above a threshold, provenance in the CSV, exact round trip', async () => {
    await nav(page, 'Train');
    await page.getByRole('spinbutton', { name: 'Epochs', exact: true }).fill('4');
    await page.getByRole('spinbutton', { name: 'Batch size', exact: true }).fill('8');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('train-outcome').innerText(), { timeout: 150_000 }).toMatch(/Run completed/);

    await nav(page, 'Label');
    await page.getByRole('button', { name: /^Pre-label \d+ unlabeled$/ }).click();
    await expect.poll(() => status(page), { timeout: 60_000 }).toMatch(/Pre-labeled 20 images \(\d+ images\/s\)/);
    await expect.poll(() => queueCount(page, 'Pre-labeled')).toBe(20);
    // Tiles say what the model suggests and how sure it is.
    await expect
      .poll(() =>
        workspace(page)
          .getByRole('button', { name: /model suggests (left|right) \d+%/ })
          .count(),
      )
      .toBeGreaterThan(0);

    // Enter accepts the current image's pre-label (a person accepted it).
    await workspace(page).click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Enter');
    await expect.poll(() => status(page)).toMatch(/Accepted 1 pre-label/);
    await expect.poll(() => queueCount(page, 'Unlabeled')).toBe(19);
    // X rejects the next one: it stays unlabeled and leaves the pre-labeled queue.
    await page.keyboard.press('x');
    await expect.poll(() => queueCount(page, 'Pre-labeled')).toBe(18);

    // Auto-accept is off by default; on, it labels every pre-label at or above the threshold.
    await expect(page.getByLabel('Auto-accept pre-labels at or above').isChecked()).resolves.toBe(false);
    await page.getByLabel('Auto-accept pre-labels at or above').check();
    await page.getByLabel('Threshold').fill('0.5');
    await page.getByRole('button', { name: 'Auto-accept now' }).click();
    await expect.poll(() => status(page)).toMatch(/Auto-accepted (\d+) pre-labels/);
    const auto = Number(/Auto-accepted (\d+)/.exec(await status(page))![1]);
    expect(auto).toBe(18);
    await expect.poll(() => queueCount(page, 'Auto-accepted')).toBe(18);

    // The CSV says who labeled what: person, folder, model (accepted) and model-auto, with confidences.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      (async () => {
        await page.getByRole('button', { name: 'Export labels CSV' }).click();
        await page.getByRole('link', { name: /labels\.csv$/ }).click();
      })(),
    ]);
    const csvPath = join(dir, 'labels.csv');
    await download.saveAs(csvPath);
    const csv = readFileSync(csvPath, 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toBe('filename,label,source,confidence');
    expect(lines.filter((l) => /,folder,$/.test(l)).length).toBe(32);
    expect(lines.filter((l) => /,model:[0-9a-f-]{36},0\.\d+$/.test(l)).length).toBe(1);
    expect(lines.filter((l) => /,model-auto:[0-9a-f-]{36},0\.\d+$/.test(l)).length).toBe(18);
    expect(lines.filter((l) => /,human,$/.test(l)).length).toBe(4);
    expect(lines.filter((l) => /^[^,]+,,,$/.test(l)).length).toBe(1); // the rejected one, unlabeled

    // Import the same CSV back: every row is unchanged.
    await page.getByLabel('Import labels CSV').setInputFiles(csvPath);
    const report = page.getByRole('region', { name: 'Label import report' });
    await expect.poll(() => report.innerText()).toMatch(/0 labels to apply, 56 unchanged/);
    await page.getByRole('button', { name: 'Cancel' }).click();

    // Auto-accepted labels can be left out of training.
    await nav(page, 'Train');
    await expect(page.getByLabel('Leave auto-accepted labels out').isChecked()).resolves.toBe(false);
  });
});
