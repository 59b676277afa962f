// Reliability catalog, "Storage (IndexedDB)": persistence and eviction, in the built app.
// Persistence: navigator.storage.persist() is asked from the page once, on the first import, and the
// answer is shown. Eviction: IndexedDB is cleared behind the app's back (CDP
// Storage.clearDataForOrigin, as a browser under disk pressure would); on the next start the app says
// so (from its localStorage marker) instead of showing an empty workspace or silently re-creating the demo.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  DEMO_NAME,
  createProject,
  importAndReport,
  openProjectList,
  pickFolder,
  projectCard,
  textOf,
  waitForDemoImported,
  writeHalvesDataset,
} from '../e2e/app-helpers';

// Counts the page's persist() calls in sessionStorage (survives reloads of the same tab).
const COUNT_PERSIST = `(() => {
  const s = navigator.storage;
  if (!s || !s.persist || s.__counted) return;
  const real = s.persist.bind(s);
  s.__counted = true;
  s.persist = () => {
    sessionStorage.setItem('persist-calls', String(Number(sessionStorage.getItem('persist-calls') || 0) + 1));
    return real();
  };
})();`;
const persistCalls = (page: TrackedPage) => page.evaluate(() => Number(sessionStorage.getItem('persist-calls') || 0));
const idbProjects = (page: TrackedPage) =>
  page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains('projects')) return (db.close(), resolve(0));
          const c = db.transaction('projects').objectStore('projects').count();
          c.onsuccess = () => (db.close(), resolve(c.result));
          c.onerror = () => (db.close(), reject(c.error));
        };
        req.onerror = () => reject(req.error);
      }),
  );

describe('Storage (IndexedDB): persistence and eviction', () => {
  let root: string;
  let b: LaunchedBrowser;
  let page: TrackedPage;
  const counts = { faults: 0, lost: 0 };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-evict-'));
    writeHalvesDataset(join(root, 'halves'), 4, ['left', 'right']);
    b = await launchBrowser({ webgpu: false });
    page = await newPage(b);
    await page.addInitScript(COUNT_PERSIST);
  });
  afterAll(async () => {
    console.info(
      `storage-eviction: faults injected ${counts.faults}, records removed by the injected eviction ${counts.lost} (all of them reported in the notice)`,
    );
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Persistence: call navigator.storage.persist() from the page on the first real save; show whether it was granted; remind to export if not', async () => {
    await page.goto(appUrl());
    await waitForDemoImported(page);
    // The automatic demo import is not the person's first save: nothing is asked yet.
    expect(await persistCalls(page)).toBe(0);
    // The first real import asks, once, from the page.
    await createProject(page, 'Halves');
    await pickFolder(page, join(root, 'halves'));
    const report = await importAndReport(page);
    expect(report.imported).toBe(8);
    await expect.poll(() => persistCalls(page)).toBe(1);
    const granted = await page.evaluate(() => navigator.storage.persisted());
    const header = page.locator('header .storage');
    await expect.poll(() => textOf(header)).toMatch(/^Storage: .+ of .+/);
    if (granted) await expect.poll(() => textOf(header)).toMatch(/· persistent$/);
    else await expect.poll(() => textOf(header)).toMatch(/not persistent: export projects you care about/);
    // A later save does not ask again (the answer is remembered), not even after a reload.
    await page.reload();
    await openProjectList(page);
    expect(await persistCalls(page)).toBe(1);
    expect(page.pageErrors()).toEqual([]);
  });

  it('Eviction: keep a small marker outside IndexedDB; if the data vanished, say so and offer restore from a project export, instead of showing an empty workspace', async () => {
    await openProjectList(page);
    await projectCard(page, 'Halves').waitFor();
    const marker = await page.evaluate(() => JSON.parse(localStorage.getItem('trainyard:last-seen') ?? 'null'));
    expect(marker).toMatchObject({ projects: 2, samples: 5008 });

    // The browser evicts IndexedDB (localStorage survives, as it may under per-type clearing).
    await page.goto('about:blank');
    const cdp = await b.context.newCDPSession(page);
    await cdp.send('Storage.clearDataForOrigin', { origin: new URL(appUrl()).origin, storageTypes: 'indexeddb' });
    counts.faults++;
    await page.goto(appUrl());
    const notice = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: "Your browser cleared Trainyard's storage" }) });
    await notice.waitFor({ timeout: 30_000 });
    const text = (await textOf(notice)) ?? '';
    expect(text).toMatch(/2 projects with 5,008 images/);
    expect(text).toMatch(/import that export/);
    // Not an empty workspace, and no demo silently re-created over the loss.
    expect(await page.getByRole('heading', { level: 1, name: 'Projects' }).count()).toBe(0);
    await page.waitForTimeout(1500);
    expect(await idbProjects(page)).toBe(0);
    // Still said after a reload, until the user answers.
    await page.reload();
    await notice.waitFor({ timeout: 30_000 });
    counts.lost = marker.samples;

    await notice.getByRole('button', { name: 'Start again' }).click();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    await waitForDemoImported(page);
    await page.reload();
    await openProjectList(page);
    await projectCard(page, DEMO_NAME).waitFor();
    expect(await notice.count()).toBe(0);
    expect(await page.evaluate(() => JSON.parse(localStorage.getItem('trainyard:last-seen') ?? 'null'))).toMatchObject({
      projects: 1,
      samples: 5000,
    });
    expect(page.pageErrors()).toEqual([]);
  });

  it('Eviction: a workspace the user emptied on purpose is not reported as evicted', async () => {
    await openProjectList(page);
    // Deleting every project updates the marker; the database keeps its first-run flag.
    const card = projectCard(page, DEMO_NAME);
    await card.getByRole('button', { name: `Delete ${DEMO_NAME}` }).click();
    await page.getByRole('button', { name: 'Delete project' }).click();
    await card.waitFor({ state: 'detached' });
    await expect.poll(() => page.evaluate(() => JSON.parse(localStorage.getItem('trainyard:last-seen') ?? 'null')?.projects)).toBe(0);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    expect(await page.getByRole('heading', { name: "Your browser cleared Trainyard's storage" }).count()).toBe(0);
  });
});
