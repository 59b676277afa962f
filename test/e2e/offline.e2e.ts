// Offline: once the service worker controls the page, the app reloads with every network
// request cut, is still cross-origin isolated, and can create a project and import a folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  DEMO_NAME,
  closeReport,
  createProject,
  datasetTotal,
  freshFixtures,
  importAndReport,
  openProjectList,
  pickFolder,
  projectCard,
  textOf,
  waitForDemoImported,
  type Fixtures,
} from './app-helpers';

describe('offline', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let fx: Fixtures;
  const aborted: string[] = [];

  beforeAll(async () => {
    fx = await freshFixtures();
    b = await launchBrowser({ webgpu: false });
    page = await newPage(b);
  });
  afterAll(async () => {
    await b?.close();
    fx?.cleanup();
  });

  it('is controlled by the service worker after the first visit', async () => {
    await page.goto(appUrl());
    await waitForDemoImported(page);
    // registerType 'prompt': the first page load is not claimed; one reload puts it under control.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
      await page.reload();
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
    }
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.state)).toBe('activated');
    await projectCard(page, DEMO_NAME).waitFor();
  });

  it('reloads with the network cut: the project list renders and the page is still cross-origin isolated', async () => {
    await b.context.route('**', (route) => {
      aborted.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor({ timeout: 30_000 });
    await projectCard(page, DEMO_NAME).waitFor();
    expect(await textOf(projectCard(page, DEMO_NAME).getByTestId('sample-count'))).toBe('5,000 images');
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    // The cut is real: a request the service worker does not answer from its cache fails.
    const probe = await page.evaluate(() =>
      fetch(`/not-precached-${Date.now()}.txt`).then(
        (r) => `answered ${r.status}`,
        () => 'network error',
      ),
    );
    expect(probe).toBe('network error');
    // ... and so does one the service worker makes itself (its fetches go through the route too).
    const [sw] = b.context.serviceWorkers();
    expect(sw, 'the service worker is visible to the test').toBeTruthy();
    const swProbe = await sw.evaluate(() =>
      fetch(`/not-precached-sw-${Date.now()}.txt`).then(
        (r) => `answered ${r.status}`,
        () => 'network error',
      ),
    );
    expect(swProbe).toBe('network error');
    expect(aborted.some((u) => u.includes('/not-precached-'))).toBe(true);
  });

  it('creates a project and imports a folder while offline', async () => {
    await openProjectList(page);
    await createProject(page, 'Offline pets');
    await pickFolder(page, fx.folder);
    const report = await importAndReport(page);
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBeGreaterThan(0);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBeGreaterThan(0);
    const stored = await datasetTotal(page);
    // Still offline, the project card shows what was stored.
    await openProjectList(page);
    expect(await textOf(projectCard(page, 'Offline pets').getByTestId('sample-count'))).toBe(`${stored} images`);
    // Nothing the app needed came from the network: every aborted request was a probe (or the
    // browser's own check for a new service worker, which may fail offline).
    expect(aborted.filter((u) => !u.includes('/not-precached-') && new URL(u).pathname !== '/sw.js')).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
  });
});
