// Reliability catalog, "Storage (IndexedDB)" — Two tabs writing: two pages of one browser context
// import two different folders into the same project at the same time, then label different samples
// of that project from both tabs. Nothing may be lost: the sample count and the project's counters
// equal the sum, and every label either tab wrote is there after a reload.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  closeReport,
  createProject,
  datasetTotal,
  importPanel,
  openProject,
  openProjectList,
  pickFiles,
  pickFolder,
  projectCard,
  textOf,
  waitForDemoImported,
  waitForReport,
  writeHalvesDataset,
} from '../e2e/app-helpers';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import pngjs from 'pngjs';

/** Unlabeled 28x28 noise images with their own seed (no byte-duplicates of the labeled folders). */
function writePool(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  let s = 4242;
  const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < n; i++) {
    const png = new pngjs.PNG({ width: 28, height: 28 });
    for (let j = 0; j < 28 * 28; j++) {
      const v = Math.round(rand() * 255);
      png.data.set([v, v, v, 255], j * 4);
    }
    writeFileSync(join(dir, `pool-${i}.png`), pngjs.PNG.sync.write(png, { colorType: 0 }));
  }
}

const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
const queueCount = async (page: Page, q: string) => Number(await page.locator(`[data-queue="${q}"] .count`).innerText());
const workspace = (page: Page) => page.getByRole('region', { name: 'Labeling queue' });
const currentTile = (page: Page) => workspace(page).locator('[aria-current="true"]');

/** Labels per sample straight from IndexedDB (what a reload would read). */
const storedLabels = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<Record<string, string | null>>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const all = db
            .transaction('samples')
            .objectStore('samples')
            .getAll(IDBKeyRange.bound([pid, ''], [pid, '\uffff']));
          all.onsuccess = () => (
            db.close(),
            resolve(Object.fromEntries(all.result.map((s: { id: string; label: string | null }) => [s.id, s.label])))
          );
          all.onerror = () => (db.close(), reject(all.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );
const storedCounts = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<{ samples: number; originals: number; thumbnails: number; sampleCount: number; bytes: number; blobBytes: number }>(
        (resolve, reject) => {
          const req = indexedDB.open('trainyard');
          req.onsuccess = () => {
            const db = req.result;
            const tx = db.transaction(['samples', 'originals', 'thumbnails', 'projects']);
            const range = IDBKeyRange.bound([pid, ''], [pid, '\uffff']);
            const out = { samples: 0, originals: 0, thumbnails: 0, sampleCount: 0, bytes: 0, blobBytes: 0 };
            tx.objectStore('samples').count(range).onsuccess = (e) => (out.samples = (e.target as IDBRequest<number>).result);
            for (const store of ['originals', 'thumbnails'] as const) {
              tx.objectStore(store).getAll(range).onsuccess = (e) => {
                const rows = (e.target as IDBRequest<Array<{ data: ArrayBuffer }>>).result;
                out[store] = rows.length;
                out.blobBytes += rows.reduce((n, r) => n + r.data.byteLength, 0);
              };
            }
            tx.objectStore('projects').get(pid).onsuccess = (e) => {
              const p = (e.target as IDBRequest<{ sampleCount: number; bytes: number }>).result;
              out.sampleCount = p.sampleCount;
              out.bytes = p.bytes;
            };
            tx.oncomplete = () => (db.close(), resolve(out));
            tx.onerror = () => (db.close(), reject(tx.error));
          };
          req.onerror = () => reject(req.error);
        },
      ),
    projectId,
  );

describe('Storage (IndexedDB): two tabs writing', () => {
  let root: string;
  let b: LaunchedBrowser;
  let a: TrackedPage;
  let c: TrackedPage;
  let projectId: string;
  const PER_CLASS = 30; // 60 images per folder, so each import writes a few batches

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-tabs-'));
    // Two folders with different noise seeds per class name: no byte-identical images across them.
    writeHalvesDataset(join(root, 'one'), PER_CLASS, ['left', 'right']);
    writeHalvesDataset(join(root, 'two'), PER_CLASS, ['top', 'bottom']);
    writePool(join(root, 'unlabeled', 'pool'), 8);
    b = await launchBrowser({ webgpu: false, demoImported: true });
    a = await newPage(b);
    await a.goto(appUrl());
    await waitForDemoImported(a);
    projectId = await createProject(a, 'Shared');
    c = await newPage(b);
    await openProject(c, projectId, 'Shared');
  });
  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Two tabs writing: no lost updates (two tabs import two folders into one project at the same time)', async () => {
    // (A background tab in headless Chromium does not take file input: bring each to the front.)
    await a.bringToFront();
    await pickFolder(a, join(root, 'one'));
    await c.bringToFront();
    await pickFolder(c, join(root, 'two'));
    // Both start together: their batches interleave on the same project record.
    await Promise.all([
      importPanel(a).getByRole('button', { name: 'Start import' }).click(),
      importPanel(c).getByRole('button', { name: 'Start import' }).click(),
    ]);
    const [ra, rc] = await Promise.all([waitForReport(a, 120_000), waitForReport(c, 120_000)]);
    if ('error' in ra) throw new Error(ra.error);
    if ('error' in rc) throw new Error(rc.error);
    expect(ra.heading).toBe('Import finished');
    expect(rc.heading).toBe('Import finished');
    expect(ra.imported).toBe(2 * PER_CLASS);
    expect(rc.imported).toBe(2 * PER_CLASS);
    const stored = await storedCounts(a, projectId);
    expect(stored).toMatchObject({
      samples: 4 * PER_CLASS,
      originals: 4 * PER_CLASS,
      thumbnails: 4 * PER_CLASS,
      sampleCount: 4 * PER_CLASS,
    });
    expect(stored.bytes).toBe(stored.blobBytes);
    await closeReport(a);
    await closeReport(c);
    for (const p of [a, c]) {
      await p.bringToFront();
      await p.reload();
      await p.getByRole('heading', { level: 1, name: 'Shared' }).waitFor();
      await expect.poll(() => datasetTotal(p)).toBe(4 * PER_CLASS);
    }
    await openProjectList(a);
    expect(await textOf(projectCard(a, 'Shared').getByTestId('sample-count'))).toBe(`${4 * PER_CLASS} images`);
    // Every class of both folders is in the project's class list.
    const labels = await storedLabels(a, projectId);
    expect(new Set(Object.values(labels))).toEqual(new Set(['left', 'right', 'top', 'bottom']));
    expect(a.pageErrors()).toEqual([]);
    expect(c.pageErrors()).toEqual([]);
  });

  it('Two tabs writing: no lost updates (two tabs label different samples of one project)', async () => {
    await a.bringToFront();
    await openProject(a, projectId, 'Shared');
    await pickFiles(
      a,
      readdirSync(join(root, 'unlabeled', 'pool')).map((f) => join(root, 'unlabeled', 'pool', f)),
    );
    await importPanel(a).getByRole('button', { name: 'Start import' }).click();
    const r = await waitForReport(a);
    if ('error' in r) throw new Error(r.error);
    expect(r.imported).toBe(8);
    await closeReport(a);
    const before = await storedLabels(a, projectId);
    const unlabeled = Object.entries(before)
      .filter(([, l]) => l === null)
      .map(([id]) => id);
    expect(unlabeled).toHaveLength(8);

    for (const p of [a, c]) {
      await p.bringToFront();
      await p.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/label`));
      // A tab does not hear of another tab's import until it reloads (no cross-tab refresh).
      await p.reload();
      await expect.poll(() => queueCount(p, 'unlabeled')).toBe(8);
      await workspace(p).click({ position: { x: 5, y: 5 } });
    }
    // Tab A labels from the front of the queue, tab C from further back, alternating.
    for (let i = 0; i < 5; i++) await c.keyboard.press('ArrowRight');
    const wrote: Record<string, string> = {};
    for (let round = 0; round < 2; round++) {
      await a.bringToFront();
      const idA = (await currentTile(a).getAttribute('data-sample-id'))!;
      await a.keyboard.press('1'); // first class
      wrote[idA] = 'wantA';
      await c.bringToFront();
      const idC = (await currentTile(c).getAttribute('data-sample-id'))!;
      await c.keyboard.press('2'); // second class
      wrote[idC] = 'wantC';
      await a.waitForTimeout(300);
    }
    expect(Object.keys(wrote), 'the two tabs labeled different samples').toHaveLength(4);
    await expect
      .poll(async () => Object.values(await storedLabels(a, projectId)).filter((l) => l !== null).length, { timeout: 10_000 })
      .toBe(4 * PER_CLASS + 4);
    const after = await storedLabels(a, projectId);
    // Nothing either tab wrote was lost, and nothing else changed.
    const changed = Object.keys(after).filter((id) => after[id] !== before[id]);
    expect(changed.sort()).toEqual(Object.keys(wrote).sort());
    const aClass = new Set(
      Object.entries(wrote)
        .filter(([, w]) => w === 'wantA')
        .map(([id]) => after[id]),
    );
    const cClass = new Set(
      Object.entries(wrote)
        .filter(([, w]) => w === 'wantC')
        .map(([id]) => after[id]),
    );
    expect(aClass.size).toBe(1);
    expect(cClass.size).toBe(1);
    for (const p of [a, c]) {
      await p.bringToFront();
      await p.reload();
      await expect.poll(() => queueCount(p, 'unlabeled')).toBe(4);
    }
    expect(a.pageErrors()).toEqual([]);
    expect(c.pageErrors()).toEqual([]);
  });
});
