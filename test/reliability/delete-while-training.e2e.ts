// Issue #22, case 6: a project deleted in one tab while another tab of the same profile trains on
// it. Two pages of one browser context: tab T trains, tab D deletes. The training stops at once;
// both tabs say the project was deleted (not "preprocessed data is missing"); no record of the
// project is left in any store, the training tab's run record included, also after a reload; the
// app stays usable in both tabs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, openProject, openProjectList, pickFolder, projectCard, waitForDemoImported, writeHalvesDataset } from '../e2e/app-helpers';

/** Every record in any store that belongs to the project or one of its runs (store: count). */
const leftovers = (page: Page, projectId: string, runIds: string[]) =>
  page.evaluate(
    ({ pid, runs }) =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const names = [...db.objectStoreNames];
          const tx = db.transaction(names, 'readonly');
          const found: Record<string, number> = {};
          for (const name of names) {
            tx.objectStore(name).openCursor().onsuccess = (e) => {
              const cursor = (e.target as IDBRequest<IDBCursorWithValue | null>).result;
              if (!cursor) return;
              const v = cursor.value as Record<string, unknown>;
              const mine = v.projectId === pid || v.id === pid || runs.includes(v.runId as string) || runs.includes(v.id as string) || v.key === `label-quality:${pid}`;
              if (mine) found[name] = (found[name] ?? 0) + 1;
              cursor.continue();
            };
          }
          tx.oncomplete = () => (db.close(), resolve(found));
          tx.onerror = () => (db.close(), reject(tx.error));
        };
        req.onerror = () => reject(req.error);
      }),
    { pid: projectId, runs: runIds },
  );

/** Ids of the project's runs, from IndexedDB. */
const runIdsOf = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<string[]>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const q = db.transaction('runs').objectStore('runs').index('byProject').getAllKeys(pid);
          q.onsuccess = () => (db.close(), resolve(q.result as string[]));
          q.onerror = () => (db.close(), reject(q.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

/** checkpointEpoch of each of the project's runs, from IndexedDB. */
const checkpointEpochs = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<number[]>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const q = db.transaction('runs').objectStore('runs').index('byProject').getAll(pid);
          q.onsuccess = () => (db.close(), resolve((q.result as Array<{ checkpointEpoch: number }>).map((r) => r.checkpointEpoch)));
          q.onerror = () => (db.close(), reject(q.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

describe('A project deleted in one tab while another tab trains on it (issue #22)', () => {
  let root: string;
  let b: LaunchedBrowser;
  let deleter: TrackedPage;
  let trainer: TrackedPage;
  let projectId: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-delete-'));
    writeHalvesDataset(join(root, 'data'), 12);
    b = await launchBrowser({ webgpu: false });
    deleter = await newPage(b);
    await deleter.goto(appUrl());
    await waitForDemoImported(deleter);
    projectId = await createProject(deleter, 'Doomed');
    await pickFolder(deleter, join(root, 'data'));
    expect((await importAndReport(deleter)).imported).toBe(36);
    trainer = await newPage(b);
  }, 240_000);

  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('stops the training, says so in both tabs, and leaves no record of the project in any store (also after a reload)', async () => {
    await trainer.bringToFront();
    await openProject(trainer, projectId, 'Doomed');
    await trainer.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
    await trainer.getByLabel('Input size (px)').fill('16');
    await trainer.getByLabel('Epochs').fill('500');
    await trainer.getByLabel('Batch size').fill('8');
    await trainer.getByLabel('Early stopping patience (0 = off)').fill('0');
    await trainer.getByRole('button', { name: 'Start training' }).click();
    // Mid-training: at least one epoch (and its checkpoint) stored.
    await expect
      .poll(async () => ((await checkpointEpochs(trainer, projectId)).some((e) => e >= 2) ? 'trained' : await trainer.locator('main').innerText()), { timeout: 120_000, interval: 1000 })
      .toBe('trained');
    const runIds = await runIdsOf(trainer, projectId);
    expect(runIds).toHaveLength(1);
    expect(Object.keys(await leftovers(trainer, projectId, runIds))).toEqual(expect.arrayContaining(['runs', 'checkpoints', 'samples', 'preprocessed']));

    await deleter.bringToFront();
    await openProjectList(deleter);
    await deleter.getByRole('button', { name: 'Delete Doomed', exact: true }).click();
    await deleter.getByRole('dialog', { name: 'Delete project?' }).getByRole('button', { name: 'Delete project' }).click();
    // The deleting tab says what it stopped.
    await expect
      .poll(() => deleter.getByTestId('project-deleted-notice').innerText().catch(() => ''), { timeout: 15_000 })
      .toBe('Deleted “Doomed”. Its training was stopped (in every tab) and nothing of it was kept.');
    expect(await projectCard(deleter, 'Doomed').count()).toBe(0);

    // The training tab says the project was deleted, not that preprocessed data is missing, and stops.
    const alert = trainer.getByRole('alert').filter({ hasText: 'was deleted' });
    await alert.waitFor({ timeout: 30_000 });
    expect((await alert.innerText()).trim()).toBe('“Doomed” was deleted in another tab; the work on it stopped and nothing of it was kept.');
    await expect.poll(() => trainer.getByRole('button', { name: 'Stop training' }).isDisabled(), { timeout: 30_000 }).toBe(true);
    expect(await trainer.getByText(/Preprocessed data .* is missing/).count()).toBe(0);
    // Give any write still in flight in the training worker the time to land (it must be refused).
    await trainer.waitForTimeout(2000);
    expect(await leftovers(trainer, projectId, runIds)).toEqual({});

    // After a reload of both tabs: still nothing, the project is gone, the app usable.
    for (const p of [trainer, deleter]) {
      await p.bringToFront();
      await p.reload();
    }
    await trainer.getByRole('heading', { name: 'Project not found' }).waitFor();
    expect(await leftovers(deleter, projectId, runIds)).toEqual({});
    await openProjectList(trainer);
    await trainer.getByRole('list', { name: 'Projects' }).getByRole('listitem').first().waitFor();
    expect(await projectCard(trainer, 'Doomed').count()).toBe(0);
    expect(await projectCard(trainer, 'Digits demo').count()).toBe(1);
    expect(trainer.pageErrors()).toEqual([]);
    expect(deleter.pageErrors()).toEqual([]);
  }, 300_000);
});
