// Reliability catalog, "Storage (IndexedDB)" — Quota hit mid-import, the part test/e2e/quota.e2e.ts
// does not check. That test covers the message (cause, usage and quota), the saved images listed on
// the Data page and the card, and a complete import once space is back. This one opens the database
// right after the failure: no orphan blobs (every original and thumbnail belongs to a sample and the
// other way round), the project's counters equal what is stored, and labels are valid.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import type { CDPSession } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  closeReport,
  createProject,
  importAndReport,
  importPanel,
  openProject,
  pickFolder,
  waitForDemoImported,
  waitForReport,
} from '../e2e/app-helpers';
import { audit } from './storage-audit';

const IMAGES = 400;
const SIZE = 64;

/** Distinct 64x64 RGB noise PNGs (~12 KB each: noise does not compress) in 2 class folders. */
function writeNoise(root: string): { dir: string; bytes: number } {
  const dir = join(root, 'noise');
  let state = 0x1234567;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) & 0xff;
  };
  let bytes = 0;
  for (let i = 0; i < IMAGES; i++) {
    const cls = join(dir, i % 2 ? 'odd' : 'even');
    mkdirSync(cls, { recursive: true });
    const png = new pngjs.PNG({ width: SIZE, height: SIZE });
    for (let j = 0; j < png.data.length; j++) png.data[j] = j % 4 === 3 ? 255 : next();
    const file = pngjs.PNG.sync.write(png, { colorType: 2 });
    writeFileSync(join(cls, `n-${i}.png`), file);
    bytes += file.length;
  }
  return { dir, bytes };
}

describe('Storage (IndexedDB): quota hit mid-import (stored data audit)', () => {
  let root: string;
  let noise: { dir: string; bytes: number };
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let cdp: CDPSession;
  let origin: string;
  let projectId: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-quota-import-'));
    noise = writeNoise(root);
    origin = new URL(appUrl()).origin;
    const userDataDir = join(root, 'profile');
    b = await launchBrowser({ webgpu: false, userDataDir });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Noise');
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await b.close();
    // Relaunch so the lowered quota holds before this session's first write (see quota.e2e.ts).
    b = await launchBrowser({ webgpu: false, userDataDir });
    page = await newPage(b);
    cdp = await b.context.newCDPSession(page);
    await openProject(page, projectId, 'Noise');
    const { usage } = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number };
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: Math.round(usage + noise.bytes * 2 * 0.45) });
  });
  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Quota hit mid-import: earlier batches intact; the failing batch fully rolled back; no orphan blobs; works after space is freed', async () => {
    await pickFolder(page, noise.dir);
    await importPanel(page).getByRole('button', { name: 'Start import' }).click();
    await page.waitForFunction(
      () => {
        const text = document.querySelector('[aria-label="Import"]')?.textContent ?? '';
        return /\b([1-9]\d*) saved\b/.test(text) || /Import (finished|failed|cancelled)/.test(text);
      },
      null,
      { polling: 'raf', timeout: 60_000 },
    );
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 * 1024 });
    const report = await waitForReport(page, 90_000);
    if ('error' in report) throw new Error(report.error);
    expect(report.heading).toBe('Import failed');
    expect(report.imported).toBeGreaterThan(0);
    expect(report.imported).toBeLessThan(IMAGES);
    const a = await audit(page, projectId);
    console.info(`storage-quota-import: ${report.imported} reported saved, audit ${JSON.stringify({ ...a, sessions: a.sessions.length })}`);
    // Everything stored is whole and counted once; nothing written by the failing batch remains.
    expect(a.samples).toBe(report.imported);
    expect(a).toMatchObject({
      withoutOriginal: 0,
      withoutThumbnail: 0,
      orphanOriginals: 0,
      orphanThumbnails: 0,
      badLabels: 0,
      sampleCount: a.samples,
    });
    expect(a.bytes).toBe(a.blobBytes);
    await closeReport(page);

    // Space is back: the same folder completes, and the audit still balances.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Noise' }).waitFor();
    const interrupted = page.getByRole('alert').filter({ hasText: /Incomplete import/ });
    if ((await interrupted.count()) > 0) {
      await interrupted.getByRole('button', { name: 'Keep what was saved' }).click();
      await interrupted.waitFor({ state: 'detached' });
    }
    await pickFolder(page, noise.dir);
    const again = await importAndReport(page, 90_000);
    expect(again.heading).toBe('Import finished');
    expect(again.imported + again.duplicates).toBe(IMAGES);
    const done = await audit(page, projectId);
    expect(done).toMatchObject({
      samples: IMAGES,
      sampleCount: IMAGES,
      withoutOriginal: 0,
      withoutThumbnail: 0,
      orphanOriginals: 0,
      orphanThumbnails: 0,
      badLabels: 0,
    });
    expect(done.bytes).toBe(done.blobBytes);
    console.info('storage-quota-import: faults injected 1 (quota), samples lost 0');
  });
});
