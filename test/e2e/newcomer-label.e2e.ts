// A newcomer's first session (issue #17): the demo fills in as "Preparing the demo" and leaves no
// import report behind; a second import merges "Circle" into the existing class "circle", refuses
// a readme.txt up front and counts only what it will import; a real label conflict is explained,
// counted as left out of training, and settled with one key; keyboard labeling keeps going key
// after key; empty queues say what to do next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  DEMO_NAME,
  DEMO_TIMEOUT,
  closeReport,
  createProject,
  importAndReport,
  importPanel,
  pickFolder,
  planHeading,
  projectCard,
  sampleGrid,
  textOf,
  waitForDemoImported,
  writeHalvesDataset,
} from './app-helpers';

const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
const queueCount = async (page: Page, kind: string) => Number(await page.locator(`[data-queue="${kind}"] .count`).innerText());
const workspace = (page: Page) => page.getByRole('region', { name: 'Labeling queue' });
const currentId = (page: Page) => workspace(page).locator('[aria-current="true"]').getAttribute('data-sample-id');
/** Whether keyboard focus is inside the labeling queue (not fallen to the page body). */
const focusInQueue = (page: Page) => page.evaluate(() => !!document.activeElement?.closest('[aria-label="Labeling queue"]'));

describe('a newcomer labels their own folder', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let first: string;
  let second: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-newcomer-'));
    // First import: 4 each of circle, square, triangle, and 6 unlabeled images at the top.
    first = join(dir, 'shapes');
    writeHalvesDataset(first, 4, ['circle', 'square', 'triangle']);
    writeHalvesDataset(join(dir, 'pool'), 6, ['right']);
    for (const f of readdirSync(join(dir, 'pool', 'right'))) renameSync(join(dir, 'pool', 'right', f), join(first, f));
    // Second import: "Circle" holds an identical copy of circle-0 and one new image, plus a
    // readme.txt; "square" holds an identical copy of triangle-0 (a real conflict).
    second = join(dir, 'more-shapes');
    mkdirSync(join(second, 'Circle'), { recursive: true });
    mkdirSync(join(second, 'square'), { recursive: true });
    copyFileSync(join(first, 'circle', 'circle-0.png'), join(second, 'Circle', 'circle-0.png'));
    writeHalvesDataset(join(dir, 'new'), 1, ['left']);
    copyFileSync(join(dir, 'new', 'left', 'left-0.png'), join(second, 'Circle', 'new.png'));
    writeFileSync(join(second, 'Circle', 'readme.txt'), 'Circles drawn by hand, 2026.\n');
    copyFileSync(join(first, 'triangle', 'triangle-0.png'), join(second, 'square', 'triangle-0.png'));

    b = await launchBrowser({ webgpu: false });
    page = await newPage(b);
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('first run: the demo card says "Preparing the demo: n of 5,000", and its import leaves no report on the Data stage', async () => {
    await page.goto(appUrl());
    const card = projectCard(page, DEMO_NAME);
    await card.waitFor({ timeout: 30_000 });
    const preparing = card.getByTestId('demo-preparing');
    await preparing.filter({ hasText: /^\s*Preparing the demo: [\d,]+ of 5,000\b/ }).waitFor({ timeout: 60_000 });
    expect(await textOf(card)).not.toMatch(/0 images · 0 classes/);

    // Opened while it fills: the Data stage says it is preparing the demo, not "Importing".
    await card.getByRole('link', { name: DEMO_NAME, exact: true }).click();
    await importPanel(page).getByRole('progressbar', { name: 'Preparing the demo' }).waitFor({ timeout: 30_000 });
    expect(await textOf(importPanel(page))).toMatch(
      /^Preparing the demo [\d,]+ of 5,000.*The demo's 5,000 handwritten digits fill in by themselves/,
    );
    expect(await textOf(importPanel(page))).not.toMatch(/Importing/);
    // When it is done the panel goes away: nobody asked for an "Import finished" report.
    await importPanel(page).waitFor({ state: 'detached', timeout: DEMO_TIMEOUT });
    expect(await page.getByText('Import finished').count()).toBe(0);
    await page.goto(appUrl('/#/'));
    await waitForDemoImported(page);
    expect(await textOf(card.getByTestId('sample-count'))).toBe('5,000 images');
  });

  it('a second import merges "Circle" into the existing "circle", refuses readme.txt up front and counts only what it imports', async () => {
    await createProject(page, 'Shapes');
    await pickFolder(page, first);
    expect(await textOf(planHeading(page))).toBe('Import 18 images from “shapes”?');
    await importAndReport(page);
    await closeReport(page);

    await pickFolder(page, second);
    // 3 images: the readme is refused in the plan, not counted under "Circle".
    expect(await textOf(planHeading(page))).toBe('Import 3 images from “more-shapes”?');
    const plan = (await textOf(importPanel(page))) ?? '';
    expect(plan).toContain('Classes: circle (2), square (1)');
    expect(plan).toContain('Circle → circle (existing class)');
    expect(plan).toMatch(/1 files? will be skipped: Circle\/readme\.txt: not an image/);

    const report = await importAndReport(page);
    expect.soft(report.imported, 'the one new image').toBe(1);
    expect.soft(report.duplicates, 'circle-0 again, same class once merged').toBe(1);
    expect.soft(report.skippedFiles.map((s) => s.file)).toEqual(['Circle/readme.txt']);
    // Only the triangle image filed under "square" is a conflict.
    expect(report.conflicts).toMatch(/^Label conflicts\b.*square\/triangle-0\.png$/);
    await closeReport(page);

    // The "!" badge's tooltip names both labels.
    const flagged = sampleGrid(page).getByRole('button', { name: /^triangle-0\.png, triangle, conflict$/ });
    expect(await flagged.getAttribute('title')).toMatch(/Label conflict: arrived as “triangle” and “square”/);
    expect(page.pageErrors()).toEqual([]);
  });

  it('the Train stage says what is left out of training and links to the Conflicts queue, where one key settles it', async () => {
    await nav(page, 'Train');
    const notice = page.getByTestId('left-out');
    await notice.waitFor();
    expect(await textOf(notice)).toMatch(
      /^7 images are left out of training: ?1 image with a label conflict \(the same image arrived with two labels\) — resolve it in the Conflicts queue ?6 images without a label — label them$/,
    );
    await notice.getByRole('link', { name: 'resolve it in the Conflicts queue' }).click();
    await page.waitForURL(/\/label\?queue=conflicts$/);
    await expect.poll(() => page.locator('[data-queue="conflicts"] input').isChecked()).toBe(true);
    expect(await queueCount(page, 'conflicts')).toBe(1);

    const resolve = page.getByRole('group', { name: 'Resolve the label conflict' });
    expect(await textOf(resolve)).toMatch(
      /^triangle-0\.png arrived with 2 labels\. Keep one \(training leaves it out until then\): ?1 triangle ?2 square$/,
    );
    await workspace(page).locator('[aria-current="true"]').click();
    await page.keyboard.press('1');
    await expect.poll(() => queueCount(page, 'conflicts')).toBe(0);
    // The empty queue says what it is for instead of a blank box.
    expect(await textOf(workspace(page).getByTestId('empty-queue'))).toMatch(
      /^No label conflicts\. An image that arrives with two different labels/,
    );

    await nav(page, 'Train');
    await expect
      .poll(() => textOf(page.getByTestId('left-out')))
      .toMatch(/^6 images are left out of training: ?6 images without a label — label them$/);
  });

  it('keyboard labeling keeps going: click a tile, press 1, 2, 3 and three images are labeled', async () => {
    await nav(page, 'Label');
    await page.locator('[data-queue="unlabeled"]').click();
    await expect.poll(() => queueCount(page, 'unlabeled')).toBe(6);
    const labeledBefore = await queueCount(page, 'labeled');
    const tiles = workspace(page).getByRole('button');
    await tiles.first().click();
    const clicked = await currentId(page);
    await page.keyboard.press('1');
    await page.keyboard.press('2');
    await page.keyboard.press('3');
    await expect.poll(() => queueCount(page, 'unlabeled')).toBe(3);
    expect(await queueCount(page, 'labeled')).toBe(labeledBefore + 3);
    // Focus stayed in the queue, on the next item; the labeled tile is gone from this queue.
    expect(await focusInQueue(page)).toBe(true);
    expect(await currentId(page)).not.toBe(clicked);
    expect(await workspace(page).locator(`[data-sample-id="${clicked}"]`).count()).toBe(0);

    // In a queue an image stays in (All), the cursor steps on and the old tile loses its outline.
    await page.locator('[data-queue="all"]').click();
    await tiles.nth(1).click();
    const before = await currentId(page);
    await page.keyboard.press('2');
    await expect.poll(() => currentId(page)).not.toBe(before);
    expect(await workspace(page).locator(`[data-sample-id="${before}"]`).getAttribute('aria-current')).toBeNull();
    expect(await focusInQueue(page)).toBe(true);
    const next = await currentId(page);
    await page.keyboard.press('3');
    await expect.poll(() => currentId(page)).not.toBe(next);

    // Empty Unlabeled queue: it says what to do next, and Accept / Reject / Remove are disabled.
    await page.locator('[data-queue="unlabeled"]').click();
    while ((await queueCount(page, 'unlabeled')) > 0) {
      const n = await queueCount(page, 'unlabeled');
      await tiles.first().click();
      await page.keyboard.press('1');
      await expect.poll(() => queueCount(page, 'unlabeled')).toBe(n - 1);
    }
    expect(await textOf(workspace(page).getByTestId('empty-queue'))).toMatch(/^Every image is labeled\. Train a model in the Train stage/);
    for (const name of ['Accept pre-label (Enter)', 'Reject pre-label (X)', 'Remove label (U)']) {
      expect(await page.getByRole('button', { name }).isDisabled(), name).toBe(true);
    }
    expect(page.pageErrors()).toEqual([]);
  });
});
