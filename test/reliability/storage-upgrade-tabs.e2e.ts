// Reliability catalog, "Storage (IndexedDB)", in the browser: a newer version of the app upgrades
// the database while this tab is open (this tab steps aside and asks for a reload, the upgrade is
// not blocked), and this (old) code then meets the newer database: "Update required", nothing
// deleted. The database layer is covered in storage-idb.test.ts; this is what a person sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { waitForDemoImported } from '../e2e/app-helpers';

/** What a newer app would do: open the database at a higher version with an upgrade step. */
const upgradeTo = (page: TrackedPage) =>
  page.evaluate(
    () =>
      new Promise<{ version: number; stores: string[]; blocked: boolean }>((resolve, reject) => {
        let blocked = false;
        const probe = indexedDB.open('trainyard');
        probe.onsuccess = () => {
          const next = probe.result.version + 1;
          probe.result.close();
          const req = indexedDB.open('trainyard', next);
          req.onupgradeneeded = () => req.result.createObjectStore('from-a-newer-app');
          req.onblocked = () => (blocked = true);
          req.onsuccess = () => {
            const db = req.result;
            const out = { version: db.version, stores: Array.from(db.objectStoreNames), blocked };
            db.close();
            resolve(out);
          };
          req.onerror = () => reject(req.error);
        };
        probe.onerror = () => reject(probe.error);
      }),
  );

const sampleCount = (page: TrackedPage) =>
  page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const c = db.transaction('samples').objectStore('samples').count();
          c.onsuccess = () => (db.close(), resolve(c.result));
          c.onerror = () => (db.close(), reject(c.error));
        };
        req.onerror = () => reject(req.error);
      }),
  );

describe('Storage (IndexedDB): upgrades seen from the page', () => {
  let b: LaunchedBrowser;
  let oldTab: TrackedPage;
  let newTab: TrackedPage;

  beforeAll(async () => {
    b = await launchBrowser({ webgpu: false });
    oldTab = await newPage(b);
    await oldTab.goto(appUrl());
    await waitForDemoImported(oldTab);
    newTab = await newPage(b);
    await newTab.goto('about:blank');
  });

  afterAll(async () => {
    await b?.close();
  });

  it('Upgrade with another tab open: the old tab closes its connection on versionchange and asks for a reload; the upgrade in the new tab is not blocked', async () => {
    // The newer app runs on the same origin: open it at the app's URL but drive IndexedDB directly.
    await newTab.goto(appUrl('/404-not-the-app.txt')).catch(() => undefined);
    const result = await upgradeTo(newTab);
    expect(result.blocked, 'the old tab closed its connection instead of blocking the upgrade').toBe(false);
    expect(result.stores).toContain('from-a-newer-app');
    expect(result.stores).toContain('samples');
    await oldTab.getByRole('heading', { name: 'Trainyard was updated in another tab' }).waitFor({ timeout: 15_000 });
    expect(await oldTab.getByRole('button', { name: 'Reload' }).count()).toBe(1);
  });

  it('Old code, newer database (stale service worker): a clear "update required" screen; the database is never deleted or reset', async () => {
    await oldTab.getByRole('button', { name: 'Reload' }).click();
    await oldTab.getByRole('heading', { name: 'Update required' }).waitFor({ timeout: 30_000 });
    // No project list, no demo re-created: the old code stays out of the newer data.
    expect(await oldTab.getByRole('heading', { level: 1, name: 'Projects' }).count()).toBe(0);
    await oldTab.waitForTimeout(1000);
    expect(await sampleCount(newTab), 'every sample is still stored').toBe(5000);
    await oldTab.reload();
    await oldTab.getByRole('heading', { name: 'Update required' }).waitFor({ timeout: 30_000 });
    expect(await sampleCount(newTab)).toBe(5000);
    expect(oldTab.pageErrors()).toEqual([]);
  });
});
