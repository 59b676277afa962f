// Reliability catalog, "Storage (IndexedDB)" — Browser killed mid-import: what test/e2e/import-interrupt.e2e.ts
// does not check. That test covers the banner, the hidden samples and Resume to the full count; this one
// opens the database after the crash and checks every stored sample has its bytes and thumbnail and a
// valid label, no bytes are orphaned, the project's counters equal what is stored, and that "Keep what
// was saved" then lists exactly those samples while "Discard" (in a second crash) removes them all.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { audit } from './storage-audit';
import { createProject, datasetTotal, importPanel, pickFolder, waitForDemoImported } from '../e2e/app-helpers';

const COUNT = 1200;

function writeMany(root: string): string {
  const dir = join(root, 'many');
  for (let i = 0; i < COUNT; i++) {
    const cls = join(dir, i % 2 ? 'odd' : 'even');
    mkdirSync(cls, { recursive: true });
    const png = new pngjs.PNG({ width: 24, height: 24 });
    for (let j = 0; j < 24 * 24; j++) png.data.set([(i * 5 + j) & 255, (i >> 8) & 255, i & 255, 255], j * 4);
    writeFileSync(join(cls, `img-${i}.png`), pngjs.PNG.sync.write(png));
  }
  return dir;
}

describe('Storage (IndexedDB): browser killed mid-import (stored data audit)', () => {
  let root: string;
  let many: string;
  let profile: string;
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let projectId: string;
  const counts = { kills: 0, lost: 0 };

  const killMidImport = async () => {
    await pickFolder(page, many);
    await importPanel(page).getByRole('button', { name: 'Start import' }).click();
    await page.waitForFunction(
      () => /\b([1-9]\d*) saved\b/.test(document.querySelector('[aria-label="Import"]')?.textContent ?? ''),
      null,
      { polling: 'raf', timeout: 60_000 },
    );
    b.kill();
    counts.kills++;
    b = await launchBrowser({ webgpu: false, userDataDir: profile });
    page = await newPage(b);
    // A relaunch after a kill recovers the profile first: allow it more than the default wait.
    await page.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/data`));
    await page.getByRole('heading', { level: 1, name: 'Killed', exact: true }).waitFor({ timeout: 90_000 });
    const banner = page.getByRole('alert').filter({ hasText: /Incomplete import/ });
    await banner.waitFor({ timeout: 30_000 });
    return banner;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-crash-import-'));
    many = writeMany(root);
    profile = join(root, 'profile');
    b = await launchBrowser({ webgpu: false, userDataDir: profile, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Killed');
  });
  afterAll(async () => {
    console.info(`crash-import: browser kills ${counts.kills}, committed samples lost ${counts.lost}`);
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Browser killed mid-import / mid-save: every stored sample has its bytes and a valid label; the import is shown as incomplete with resume/discard; counts match', async () => {
    const banner = await killMidImport();
    expect(await banner.getByRole('button', { name: 'Resume import' }).count()).toBe(1);
    expect(await banner.getByRole('button', { name: 'Discard import' }).count()).toBe(1);
    expect(await datasetTotal(page)).toBe(0); // hidden until resumed, kept or discarded
    const a = await audit(page, projectId);
    expect(a.samples).toBeGreaterThan(0);
    expect(a.samples).toBeLessThan(COUNT);
    expect(a).toMatchObject({
      withoutOriginal: 0,
      withoutThumbnail: 0,
      orphanOriginals: 0,
      orphanThumbnails: 0,
      badLabels: 0,
      sampleCount: a.samples,
    });
    expect(a.bytes).toBe(a.blobBytes);
    expect(a.sessions).toEqual([{ state: 'running', imported: 0 }]);

    // Keep what was saved: exactly the stored samples are listed.
    await banner.getByRole('button', { name: 'Keep what was saved' }).click();
    await banner.waitFor({ state: 'detached' });
    await expect.poll(() => datasetTotal(page)).toBe(a.samples);
    const kept = await audit(page, projectId);
    expect(kept.sessions).toEqual([{ state: 'cancelled', imported: a.samples }]);
    counts.lost += a.samples - kept.samples;

    // A second crash, then Discard: that import's samples and bytes go, the kept ones stay.
    const again = await killMidImport();
    const mid = await audit(page, projectId);
    expect(mid).toMatchObject({
      withoutOriginal: 0,
      withoutThumbnail: 0,
      orphanOriginals: 0,
      orphanThumbnails: 0,
      badLabels: 0,
      sampleCount: mid.samples,
    });
    expect(mid.samples).toBeGreaterThanOrEqual(a.samples);
    await again.getByRole('button', { name: 'Discard import' }).click();
    await again.waitFor({ state: 'detached' });
    await expect.poll(() => datasetTotal(page)).toBe(a.samples);
    const after = await audit(page, projectId);
    expect(after).toMatchObject({
      samples: a.samples,
      sampleCount: a.samples,
      orphanOriginals: 0,
      orphanThumbnails: 0,
      withoutOriginal: 0,
    });
    expect(after.bytes).toBe(after.blobBytes);
    expect(page.pageErrors()).toEqual([]);
  });
});
