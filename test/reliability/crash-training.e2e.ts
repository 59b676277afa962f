// Reliability catalog, "Storage (IndexedDB)" — Browser killed mid-import / mid-save, for training:
// the browser process is SIGKILLed while a run is writing its per-epoch checkpoints (persistent
// profile), then relaunched on the same profile. The run is offered as interrupted at its last stored
// checkpoint, resumes from there, and ends with each epoch exactly once and one model version.
// (The import half of this case is covered by test/e2e/import-interrupt.e2e.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';

const EPOCHS = 12;

/** The project's runs and checkpoints, straight from IndexedDB. */
const storedRuns = (page: TrackedPage, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<
        Array<{ id: string; state: string; checkpointEpoch: number; epochs: number[]; checkpoint: number | null; versionId: string | null }>
      >((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction(['runs', 'checkpoints']);
          const runs = tx.objectStore('runs').index('byProject').getAll(pid);
          const out: Array<{
            id: string;
            state: string;
            checkpointEpoch: number;
            epochs: number[];
            checkpoint: number | null;
            versionId: string | null;
          }> = [];
          runs.onsuccess = () => {
            for (const r of runs.result) {
              const row = {
                id: r.id,
                state: r.state,
                checkpointEpoch: r.checkpointEpoch,
                epochs: r.history.map((h: { epoch: number }) => h.epoch),
                checkpoint: null as number | null,
                versionId: r.versionId,
              };
              out.push(row);
              tx.objectStore('checkpoints').get(r.id).onsuccess = (e) =>
                (row.checkpoint = (e.target as IDBRequest<{ epoch: number } | undefined>).result?.epoch ?? null);
            }
          };
          tx.oncomplete = () => (db.close(), resolve(out));
          tx.onerror = () => (db.close(), reject(tx.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

describe('Storage (IndexedDB): browser killed mid-training', () => {
  let root: string;
  let profile: string;
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let projectId: string;

  const epochRows = () => page.getByRole('table', { name: 'Epochs' }).getByRole('row').count();
  const nav = (name: string) => page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-crash-'));
    writeDarkLightDataset(join(root, 'data'), 20, 23);
    profile = join(root, 'profile');
    b = await launchBrowser({ webgpu: false, userDataDir: profile, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Crash');
    await pickFolder(page, join(root, 'data'));
    await importAndReport(page);
  });
  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Browser killed mid-import / mid-save (mid-training): the run resumes from its last checkpoint; counts match', async () => {
    await nav('Train');
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill(String(EPOCHS));
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(epochRows, { timeout: 120_000 }).toBeGreaterThanOrEqual(3); // header + 2 epochs
    const shownBeforeKill = (await epochRows()) - 1;
    b.kill();

    b = await launchBrowser({ webgpu: false, userDataDir: profile });
    page = await newPage(b);
    await page.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/train`));
    const offer = page.getByRole('status').filter({ hasText: /was interrupted after epoch/ });
    await offer.waitFor({ timeout: 60_000 });
    const savedEpoch = Number(/after epoch (\d+)/.exec(await offer.innerText())![1]);
    // Every epoch the page showed had its checkpoint written (strict durability) before it was shown.
    expect(savedEpoch).toBeGreaterThanOrEqual(shownBeforeKill);
    expect(savedEpoch).toBeLessThan(EPOCHS);
    const [run] = await storedRuns(page, projectId);
    // Nothing half-written: the run points at a checkpoint that exists, with its history up to it.
    expect(run).toMatchObject({ state: 'running', checkpointEpoch: savedEpoch, checkpoint: savedEpoch, versionId: null });
    expect(run.epochs).toEqual(Array.from({ length: savedEpoch }, (_, i) => i + 1));

    await offer.getByRole('button', { name: 'Resume run' }).click();
    await expect.poll(() => page.getByTestId('train-outcome').innerText(), { timeout: 180_000 }).toMatch(/Run completed/);
    const epochs = await page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts();
    expect(epochs.map(Number)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const runs = await storedRuns(page, projectId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'completed', checkpoint: null });
    expect(runs[0].epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    expect(runs[0].versionId).toBeTruthy();
    await nav('Models');
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    expect(await page.getByRole('button', { name: /^Version \d+$/ }).count()).toBe(1);
    console.info(`crash-training: 1 kill at ${shownBeforeKill} epochs shown, resumed from checkpoint ${savedEpoch}, epochs lost 0`);
    expect(page.pageErrors()).toEqual([]);
  });
});
