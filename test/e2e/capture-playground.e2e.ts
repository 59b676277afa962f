// Teachable Machine's workflow inside Trainyard: capture webcam frames per class in the Data stage
// (Chromium's fake camera), and try a trained model in the playground: one-click test-split
// images, and a drawing pad that draws in the training data's polarity (white on black here).
// One browser, one small white-on-black dataset (2 classes x 14, 28 px), one short training run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import type { Page } from 'playwright-core';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  closeReport,
  createProject,
  importAndReport,
  importPanel,
  numberIn,
  perClass,
  pickFolder,
  readReport,
  REPORT_HEADING,
  waitForDemoImported,
} from './app-helpers';

const CAMERA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/** White bars on black, as the Digits demo is drawn: `across` (horizontal) or `down` (vertical). */
function writeBars(root: string, perClass: number): void {
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const cls of ['across', 'down']) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const png = new pngjs.PNG({ width: 28, height: 28 });
      const at = 8 + Math.floor(rand() * 12);
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const onBar = cls === 'across' ? Math.abs(y - at) <= 2 && x > 4 && x < 24 : Math.abs(x - at) <= 2 && y > 4 && y < 24;
          const v = onBar ? 200 + Math.floor(rand() * 55) : Math.floor(rand() * 25);
          png.data.set([v, v, v, 255], (y * 28 + x) * 4);
        }
      }
      writeFileSync(join(root, cls, `${cls}-${i}.png`), pngjs.PNG.sync.write(png, { colorType: 0 }));
    }
  }
}

function gotoStage(page: Page, stage: 'Data' | 'Train' | 'Deploy') {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();
}

describe('webcam capture and the playground', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-capture-'));
    writeBars(join(dir, 'bars'), 14);
    b = await launchBrowser({ webgpu: false, args: CAMERA_FLAGS, demoImported: true });
    page = await newPage(b);
    // A fresh profile imports the Digits demo first; one import runs at a time.
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'Bars');
    await pickFolder(page, join(dir, 'bars'));
    expect((await importAndReport(page)).imported).toBe(28);
    await closeReport(page);
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records webcam frames for a new class, deletes one, and adds the rest as samples from the webcam', async () => {
    await page.getByRole('button', { name: 'Capture from webcam…' }).click();
    await page.getByLabel('New class name').fill('wave');
    await page.getByRole('button', { name: 'Start camera' }).click();
    await page.waitForFunction(
      () => ((document.querySelector('video[aria-label="Webcam preview"]') as HTMLVideoElement | null)?.videoWidth ?? 0) > 0,
    );
    await page.getByLabel('Frames per second').fill('8');
    const record = page.getByRole('button', { name: 'Hold to record' });
    await record.scrollIntoViewIfNeeded();
    const box = (await record.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.getByRole('button', { name: 'Recording…' }).waitFor();
    await page.waitForTimeout(1_200);
    await page.mouse.up();
    const frames = page.getByRole('list', { name: 'Captured frames' }).getByRole('listitem');
    await expect.poll(() => frames.count()).toBeGreaterThanOrEqual(4);
    const captured = await frames.count();
    await page.waitForTimeout(400); // recording has stopped: no more frames arrive
    expect(await frames.count()).toBe(captured);

    await page.getByRole('button', { name: 'Delete frame 1', exact: true }).click();
    expect(await frames.count()).toBe(captured - 1);
    await page.getByRole('button', { name: `Add ${captured - 1} frames to “wave”` }).click();
    await importPanel(page).getByRole('heading', { name: REPORT_HEADING }).waitFor({ timeout: 60_000 });
    const report = await readReport(page);
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBe(captured - 1);
    await closeReport(page);
    await expect.poll(() => perClass(page)).toMatchObject({ across: 14, down: 14, wave: captured - 1 });
    expect(await numberIn(page.getByTestId('dataset-total'))).toBe(28 + captured - 1);

    // The frames went through the import path: one session whose source is the webcam.
    const sessions = await page.evaluate(
      () =>
        new Promise<Array<{ kind: string; name: string; imported: number }>>((resolve, reject) => {
          const open = indexedDB.open('trainyard');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const all = open.result.transaction('imports').objectStore('imports').getAll();
            all.onsuccess = () => {
              resolve(
                all.result.map((s: { source: { kind: string; name: string }; imported: number }) => ({
                  kind: s.source.kind,
                  name: s.source.name,
                  imported: s.imported,
                })),
              );
              open.result.close();
            };
          };
        }),
    );
    expect(sessions).toContainEqual({ kind: 'webcam', name: 'Webcam: wave', imported: captured - 1 });
    await page.getByRole('button', { name: 'Close webcam capture' }).click();
  });

  it('says clearly when the camera is refused', async () => {
    await page.evaluate(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    await page.getByRole('button', { name: 'Capture from webcam…' }).click();
    await page.getByRole('button', { name: 'Start camera' }).click();
    await expect.poll(() => page.getByRole('alert').allInnerTexts()).toContainEqual(expect.stringMatching(/^Camera access was refused/));
    await page.getByRole('button', { name: 'Close webcam capture' }).click();
  });

  it('tries test-split images with one click and predicts a drawing made in the data’s polarity', async () => {
    await gotoStage(page, 'Train');
    await page.getByLabel('Epochs').fill('8');
    await page.getByLabel('Batch size').fill('16');
    await page.getByRole('button', { name: 'Start training' }).click();
    const outcome = page.getByTestId('train-outcome');
    await outcome.waitFor({ timeout: 180_000 });
    expect(await outcome.innerText()).toMatch(/Run completed/);

    await gotoStage(page, 'Deploy');
    const predictions = page.getByRole('list', { name: 'Predictions' }).getByRole('listitem');
    const tries = page.getByRole('button', { name: /^Try test image \d+, labelled (across|down|wave)$/ });
    await expect.poll(() => tries.count()).toBeGreaterThanOrEqual(3);
    await tries.first().click();
    await expect.poll(() => predictions.first().innerText(), { timeout: 30_000 }).toMatch(/test image 1[\s\S]*\d+\.\d%/);

    // The pad learned the polarity from the training images: white strokes on black.
    await page.getByTestId('pad-polarity').filter({ hasText: 'light on dark' }).waitFor();
    const pad = page.locator('canvas[aria-label^="Drawing pad"]');
    const corner = () => pad.evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(2, 2, 1, 1).data.slice(0, 3)));
    expect(await corner()).toEqual([0, 0, 0]);
    await pad.scrollIntoViewIfNeeded();
    const r = (await pad.boundingBox())!;
    await page.mouse.move(r.x + r.width * 0.2, r.y + r.height * 0.5);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(r.x + r.width * (0.2 + 0.075 * i), r.y + r.height * 0.5);
    await page.mouse.up();
    const centre = await pad.evaluate((c: HTMLCanvasElement) =>
      Array.from(
        c
          .getContext('2d')!
          .getImageData(c.width / 2, c.height / 2, 1, 1)
          .data.slice(0, 3),
      ),
    );
    expect(centre).toEqual([255, 255, 255]);
    const drawing = predictions.filter({ hasText: 'drawing' }).first();
    await expect.poll(() => drawing.innerText(), { timeout: 30_000 }).toMatch(/\d+\.\d%/);
    // A horizontal stroke is a bar "across", as the white-on-black training bars were.
    expect((await drawing.locator('ol li').first().innerText()).trim()).toMatch(/^across/);
    expect(page.pageErrors()).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
  });
});
