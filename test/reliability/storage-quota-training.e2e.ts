// Reliability catalog, "Storage (IndexedDB)" — the disk fills up while a training run writes its
// per-epoch checkpoints (CDP Storage.overrideQuotaForOrigin, as in test/e2e/quota.e2e.ts, which
// covers the import half of "Quota hit mid-import"). The run must stop with a message that says
// storage is full; nothing half-written is listed as usable (no run pointing at a missing
// checkpoint, no model version without weights); and once space is back, training works again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from '../e2e/app-helpers';

/** Runs, checkpoints, versions and weights of the project, straight from IndexedDB. */
const stored = (page: TrackedPage, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<{
        runs: Array<{ state: string; checkpointEpoch: number; checkpoint: number | null; message: string | null }>;
        versions: number;
        versionsWithoutWeights: number;
      }>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction(['runs', 'checkpoints', 'models', 'modelWeights']);
          const out = {
            runs: [] as Array<{ state: string; checkpointEpoch: number; checkpoint: number | null; message: string | null }>,
            versions: 0,
            versionsWithoutWeights: 0,
          };
          tx.objectStore('runs').index('byProject').getAll(pid).onsuccess = (e) => {
            for (const r of (e.target as IDBRequest).result) {
              const row = { state: r.state, checkpointEpoch: r.checkpointEpoch, checkpoint: null as number | null, message: r.message };
              out.runs.push(row);
              tx.objectStore('checkpoints').get(r.id).onsuccess = (ev) =>
                (row.checkpoint = (ev.target as IDBRequest).result?.epoch ?? null);
            }
          };
          tx.objectStore('models').index('byProject').getAll(pid).onsuccess = (e) => {
            for (const v of (e.target as IDBRequest).result) {
              out.versions++;
              tx.objectStore('modelWeights').count(v.id).onsuccess = (ev) => {
                if ((ev.target as IDBRequest<number>).result === 0) out.versionsWithoutWeights++;
              };
            }
          };
          tx.oncomplete = () => (db.close(), resolve(out));
          tx.onerror = () => (db.close(), reject(tx.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

describe('Storage (IndexedDB): storage full during training', () => {
  let root: string;
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let cdp: CDPSession;
  let origin: string;
  let projectId: string;
  let savedEpoch = 0;
  let faults = 0;
  const EPOCHS = 15;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
  const epochRows = () => page.getByRole('table', { name: 'Epochs' }).getByRole('row').count();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-quota-train-'));
    writeDarkLightDataset(join(root, 'data'), 20, 31);
    origin = new URL(appUrl()).origin;
    const userDataDir = join(root, 'profile');
    b = await launchBrowser({ webgpu: false, userDataDir });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Full disk');
    await pickFolder(page, join(root, 'data'));
    await importAndReport(page);
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await b.close();
    // Relaunch, so the lowered quota is in force before this session's first write (Chromium caches
    // the space it granted for ~30 s; see test/e2e/quota.e2e.ts).
    b = await launchBrowser({ webgpu: false, userDataDir });
    page = await newPage(b);
    cdp = await b.context.newCDPSession(page);
    await page.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/train`));
    await page.getByRole('button', { name: 'Start training' }).waitFor();
    const { usage } = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number };
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 3_000_000 });
  });
  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  let shown = '';

  it('Quota hit mid-training (checkpoints): the run stops; nothing half-written is listed as usable (no run pointing at a missing checkpoint, no version without weights)', async () => {
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill(String(EPOCHS));
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByRole('button', { name: 'Start training' }).click();
    const outcome = page.getByTestId('train-outcome');
    // At least one epoch stored (or the run already stopped because the disk filled up).
    await expect.poll(async () => (await epochRows()) >= 2 || (await outcome.count()) > 0, { timeout: 120_000 }).toBe(true);
    // The disk is now full for good.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 * 1024 });
    faults++;
    const offer = page.getByRole('status').filter({ hasText: /was (interrupted|stopped) after epoch/ });
    await offer.or(outcome).first().waitFor({ timeout: 120_000 });
    shown = [
      ...(await page.getByRole('alert').allInnerTexts()),
      ...(await page.getByRole('status').allInnerTexts()),
      ...(await outcome.allInnerTexts()),
    ].join(' | ');
    console.info(`storage-quota-training: what the page says after the disk filled up: ${shown}`);
    const s = await stored(page, projectId);
    expect(s.runs).toHaveLength(1);
    const [run] = s.runs;
    expect(run.checkpointEpoch, 'some epochs were checkpointed before the disk filled up').toBeGreaterThan(0);
    expect(run.checkpointEpoch).toBeLessThan(EPOCHS);
    expect(run.checkpoint, 'the run points at a checkpoint that exists').toBe(run.checkpointEpoch);
    expect(s.versions).toBe(0);
    expect(s.versionsWithoutWeights).toBe(0);
    savedEpoch = run.checkpointEpoch;
  });

  it('Quota hit mid-training (checkpoints): the message says storage is full and shows usage and quota', () => {
    expect(shown).toMatch(/storage is full/i);
    expect(shown.match(/\d+(?:\.\d+)? (?:B|KB|MB|GB)\b/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('Quota hit mid-training (checkpoints): after space is freed the run resumes from its checkpoint to a complete model version with weights', async () => {
    expect(savedEpoch).toBeGreaterThan(0);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.reload();
    const offer = page.getByRole('status').filter({ hasText: /was (interrupted|stopped) after epoch/ });
    await offer.waitFor({ timeout: 30_000 });
    expect(Number(/after epoch (\d+)/.exec(await offer.innerText())![1])).toBe(savedEpoch);
    await offer.getByRole('button', { name: 'Resume run' }).click();
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
    const epochs = await page.getByRole('table', { name: 'Epochs' }).locator('tbody tr td:first-child').allInnerTexts();
    expect(epochs.map(Number)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const after = await stored(page, projectId);
    expect(after.versions).toBe(1);
    expect(after.versionsWithoutWeights).toBe(0);
    expect(after.runs[0]).toMatchObject({ state: 'completed', checkpoint: null });
    await nav('Models');
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    console.info(`storage-quota-training: faults injected ${faults}, checkpointed epochs lost 0 (resumed from ${savedEpoch})`);
  }, 240_000);
});
