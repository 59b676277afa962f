// Reliability catalog, "Offline and updates" (service worker): missing /assets/* → 404; offline
// reload, then import, train, export; a new version never reloads the page while an import runs.
// One browser session against a private server over a throwaway copy of dist/, so the test can
// publish a "new version" (a changed sw.js) without touching dist/ or the shared test server.
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../scripts/serve.mjs';
import { launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  DEMO_NAME,
  closeReport,
  createProject,
  datasetTotal,
  importAndReport,
  importPanel,
  pickFiles,
  pickFolder,
  projectCard,
  waitForDemoImported,
  waitForReport,
  writeHalvesDataset,
} from '../e2e/app-helpers';
import { writeManyZip } from './bad-input-fixtures';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('Offline and updates', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let dist: string;
  let server: { url: string; close(): Promise<void> };
  const url = (p = '/') => new URL(p.replace(/^\//, ''), server.url).href;
  const counts = { faults: 0, lost: 0 };

  const nav = (stage: 'Data' | 'Label' | 'Train' | 'Models') =>
    page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();

  async function underServiceWorker(): Promise<void> {
    await page.evaluate(async () => void (await navigator.serviceWorker.ready));
    if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
      await page.reload();
      await page.evaluate(async () => void (await navigator.serviceWorker.ready));
    }
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.state)).toBe('activated');
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-rel-offline-'));
    dist = join(dir, 'dist');
    cpSync(join(ROOT, process.env.TRAINYARD_DIST || 'dist'), dist, { recursive: true });
    server = await startServer({ root: dist, port: 0 });
    writeHalvesDataset(join(dir, 'halves'), 8);
    b = await launchBrowser({ webgpu: false });
    page = await newPage(b);
    await page.goto(url());
    await waitForDemoImported(page);
    await underServiceWorker();
  });

  afterAll(async () => {
    console.log(`[reliability] offline/updates: ${counts.faults} faults injected, ${counts.lost} records lost`);
    await b?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("A request for a missing /assets/* file gets a 404, never the app's HTML", async () => {
    counts.faults += 3;
    // From the server.
    const direct = await fetch(url('/assets/missing-chunk-0000.js'));
    expect(direct.status).toBe(404);
    expect(direct.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await direct.text()).not.toMatch(/<html|<!doctype/i);
    // Through the service worker: a fetch and a navigation (navigateFallback must not apply).
    const viaSw = await page.evaluate(async () => {
      const r = await fetch('/assets/missing-chunk-0001.js');
      return { status: r.status, type: r.headers.get('content-type'), html: /<html|<!doctype/i.test(await r.text()) };
    });
    expect(viaSw).toEqual({ status: 404, type: expect.stringMatching(/^text\/plain/), html: false });
    const scratch = await newPage(b);
    const nav404 = await scratch.goto(url('/assets/missing-chunk-0002.wasm'));
    expect(nav404?.status()).toBe(404);
    expect(await scratch.content()).not.toMatch(/id="app"|Trainyard<\/title>/);
    await scratch.close();
  });

  it('Offline: reload with all network cut, then import, train, export: all work', async () => {
    const aborted: string[] = [];
    await b.context.route('**', (route) => {
      aborted.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    counts.faults++;
    try {
      await page.reload();
      await projectCard(page, DEMO_NAME).waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
      // The cut is real.
      expect(
        await page.evaluate(() =>
          fetch(`/probe-${Date.now()}.txt`).then(
            () => 'answered',
            () => 'network error',
          ),
        ),
      ).toBe('network error');

      await createProject(page, 'Offline walk');
      await pickFolder(page, join(dir, 'halves'));
      const report = await importAndReport(page);
      expect(report.imported).toBe(24);
      await closeReport(page);
      await expect.poll(() => datasetTotal(page)).toBe(24);

      await nav('Train');
      await page.getByLabel('Input size (px)').fill('16');
      await page.getByLabel('Epochs').fill('2');
      await page.getByLabel('Batch size').fill('8');
      await page.getByLabel('Early stopping patience (0 = off)').fill('0');
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect
        .poll(
          () =>
            page
              .getByTestId('train-outcome')
              .innerText()
              .catch(() => ''),
          { timeout: 150_000 },
        )
        .toMatch(/Run completed/);

      await page.getByRole('button', { name: 'See the new model version' }).click();
      await page.getByRole('heading', { name: 'Version 1' }).waitFor();
      const [zip] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export as zip' }).click()]);
      const zipPath = join(dir, 'offline-model.zip');
      await zip.saveAs(zipPath);
      expect(readFileSync(zipPath).subarray(0, 2).toString('latin1')).toBe('PK');

      await nav('Label');
      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        (async () => {
          await page.getByRole('button', { name: 'Export labels CSV' }).click();
          await page.getByRole('link', { name: /labels\.csv$/ }).click();
        })(),
      ]);
      expect(readFileSync(await csv.path(), 'utf8').split('\r\n')[0]).toBe('filename,label,source,confidence');

      // Nothing the app needed came from the network (only the probe, and the browser's own
      // check for a new sw.js, were cut).
      expect(aborted.filter((u) => !u.includes('/probe-') && new URL(u).pathname !== '/sw.js')).toEqual([]);
      expect(page.pageErrors()).toEqual([]);
      expect(page.cspViolations()).toEqual([]);
    } finally {
      await b.context.unrouteAll({ behavior: 'ignoreErrors' });
    }
  });

  it('A new version never reloads the page while an import, training or tuning run is going; the user is asked (import)', async () => {
    const zip = join(dir, 'many.zip');
    await writeManyZip(zip, 4000);
    await page.goto(url());
    await underServiceWorker();
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    await createProject(page, 'Update during import');
    await pickFiles(page, zip);
    await importPanel(page).getByRole('button', { name: 'Start import' }).click();
    await page.waitForFunction(
      () => /\b([1-9]\d*) saved\b/.test(document.querySelector('[aria-label="Import"]')?.textContent ?? ''),
      null,
      { timeout: 60_000 },
    );

    // Publish a new version: a changed sw.js, then ask the browser to check for it.
    counts.faults++;
    const sw = join(dist, 'sw.js');
    writeFileSync(sw, `${readFileSync(sw, 'utf8')}\n// reliability test: version 2\n`);
    const future = new Date(Date.now() + 60_000);
    utimesSync(sw, future, future);
    const navsBefore = navigations;
    await page.evaluate(async () => void (await (await navigator.serviceWorker.getRegistration())?.update()));

    const banner = page.getByRole('status').filter({ hasText: 'A new version of Trainyard is ready.' });
    await banner.waitFor({ timeout: 60_000 });
    const reload = banner.getByRole('button', { name: 'Reload to update' });
    const stillImporting = await importPanel(page).getByRole('button', { name: 'Cancel import' }).isVisible();
    expect(stillImporting, 'the import is still running when the new version is announced').toBe(true);
    // The user is asked, and the reload is held back while the import runs.
    expect(await reload.isDisabled()).toBe(true);
    expect(await banner.innerText()).toMatch(/offered again when the import finishes/);

    const report = await waitForReport(page, 120_000);
    if ('error' in report) throw new Error(report.error);
    expect(report.heading).toBe('Import finished');
    expect(navigations, 'page navigations while the import ran').toBe(navsBefore);
    expect(report.imported).toBe(4000);

    // Once the import is done the user may reload; nothing was lost.
    await expect.poll(() => reload.isEnabled()).toBe(true);
    await closeReport(page);
    await Promise.all([page.waitForEvent('framenavigated', { timeout: 30_000 }), reload.click()]);
    await page
      .getByRole('heading', { level: 1, name: 'Update during import' })
      .or(page.getByRole('heading', { level: 1, name: 'Projects' }))
      .waitFor({ timeout: 30_000 });
    await page.goto(url('/#/'));
    const card = projectCard(page, 'Update during import');
    await card.getByTestId('sample-count').filter({ hasText: '4,000 images' }).waitFor({ timeout: 30_000 });
    expect(page.pageErrors()).toEqual([]);
  });
});
