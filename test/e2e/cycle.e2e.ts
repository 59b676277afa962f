// The whole cycle on the Digits demo, the way a person runs it: a pipeline trains and promotes v1;
// rerunning it with nothing changed reuses every step from the cache; batch prediction of digits
// the model never saw (rotated a quarter turn) fires a drift alert; the drifted images go to the labeling queue;
// the test plays the labeler (a labels CSV); the "new labels" trigger runs the pipeline; v2 beats
// v1 on the shifted data, the gate promotes it, and the alias history reads v1 then v2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pngjs from 'pngjs';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import { DEMO_NAME, projectCard, waitForDemoImported } from './app-helpers';
import { defaultPipeline, serializePipeline } from '../../src/lib/pipeline/definition';

const require = createRequire(import.meta.url);
const MNIST_DIR = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
const SIDE = 28;

/**
 * MNIST digits turned a quarter turn: the demo has none, so they are a real shift in what the
 * model sees (its features), which a small model can still learn from a few hundred labels.
 * Indices are taken from the end of each class file, away from the demo's random picks; any
 * overlap is still a distinct image once rotated. Returns file name -> label.
 */
function writeRotatedDigits(dir: string, perClass: number, skip: number): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const labels: Record<string, string> = {};
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(readFileSync(join(MNIST_DIR, `${d}.json`), 'utf8')) as { data: number[] };
    const total = Math.floor(data.length / (SIDE * SIDE));
    for (let k = 0; k < perClass; k++) {
      const idx = total - 1 - skip - k;
      const png = new pngjs.PNG({ width: SIDE, height: SIDE });
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          // Output (x, y) takes the source pixel at (y, SIDE - 1 - x): 90° clockwise.
          const v = Math.max(0, Math.min(255, Math.round(data[idx * SIDE * SIDE + (SIDE - 1 - x) * SIDE + y] * 255)));
          png.data.set([v, v, v, 255], (y * SIDE + x) * 4);
        }
      }
      const name = `rot-${d}-${idx}.png`;
      writeFileSync(join(dir, name), pngjs.PNG.sync.write(png));
      labels[name] = String(d);
    }
  }
  return labels;
}

function stage(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
}

/** Accuracy of a predictions CSV (filename,predicted,…) against the known labels. */
function csvAccuracy(csv: string, labels: Record<string, string>): number {
  const rows = csv
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));
  const scored = rows.filter((r) => labels[r[0]] !== undefined && r[1]);
  return scored.filter((r) => labels[r[0]] === r[1]).length / scored.length;
}

async function batchPredict(page: TrackedPage, versionLabel: RegExp | null, folder: string, dir: string): Promise<string> {
  await stage(page, 'Deploy');
  if (versionLabel) {
    const select = page.getByLabel('Model version');
    const option = (await select.locator('option').allInnerTexts()).find((t) => versionLabel.test(t));
    await select.selectOption({ label: option! });
  }
  await page.getByLabel('Choose a folder to predict').setInputFiles(folder);
  const link = page.getByRole('link', { name: 'Download predictions CSV' });
  await link.waitFor({ timeout: 120_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const path = join(dir, `predictions-${Date.now()}.csv`);
  await download.saveAs(path);
  return readFileSync(path, 'utf8');
}

/** The run history row of run number n (the Runs table). */
function runRow(page: Page, n: number) {
  return page.getByRole('table', { name: 'Runs' }).locator(`tr[data-run="${n}"]`);
}

/** The steps of run n, after showing its details: one item per step, named "<kind>: <state>". */
async function runSteps(page: Page, n: number) {
  await page.getByRole('button', { name: `Show run #${n}`, exact: true }).click();
  return page.getByRole('list', { name: `Steps of run #${n}` }).locator(':scope > li');
}

describe('the pipeline cycle on the Digits demo', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let shifted: Record<string, string>;
  let heldOut: Record<string, string>;
  let v1OnShifted = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-cycle-'));
    shifted = writeRotatedDigits(join(dir, 'shifted'), 30, 0);
    heldOut = writeRotatedDigits(join(dir, 'held-out'), 10, 40);
    writeFileSync(
      join(dir, 'shifted-labels.csv'),
      ['filename,label', ...Object.entries(shifted).map(([f, l]) => `${f},${l}`)].join('\n') + '\n',
    );
    // A small fast model, a gate that needs no loss of accuracy and tolerates some per-class noise,
    // and the "new labels" trigger on.
    const def = defaultPipeline('Retrain on new labels', {
      train: {
        mode: 'train',
        settings: { architecture: 'mlp', hidden: [128], epochs: 5, learningRate: 0.002, batchSize: 64, earlyStoppingPatience: 0 },
      },
      gate: { minImprovement: 0, maxClassDrop: 0.15 },
    });
    def.triggers = [{ kind: 'manual' }, { kind: 'new-labels', count: 100, enabled: true }, { kind: 'drift-alert', enabled: false }];
    writeFileSync(join(dir, 'pipeline.json'), serializePipeline(def));

    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await projectCard(page, DEMO_NAME).getByRole('link').first().click();
    await page.getByRole('heading', { level: 1, name: DEMO_NAME }).waitFor();
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the pipeline: v1 is trained, passes the gate (nothing in production) and is promoted', async () => {
    await stage(page, 'Pipeline');
    await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
    await page.getByLabel('Import JSON').setInputFiles(join(dir, 'pipeline.json'));
    const picker = page.getByLabel('Choose pipeline');
    await expect.poll(() => picker.locator('option').allInnerTexts()).toContainEqual(expect.stringMatching(/Retrain on new labels/));
    const option = (await picker.locator('option').allInnerTexts()).find((t) => /Retrain on new labels/.test(t))!;
    await picker.selectOption({ label: option });
    await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe('Retrain on new labels');
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    await expect.poll(() => runRow(page, 1).innerText(), { timeout: 420_000, interval: 1000 }).toMatch(/succeeded/);
    expect(await runRow(page, 1).innerText()).toMatch(/manual/);
  }, 480_000);

  it('reruns with nothing changed: every step is reused from the cache', async () => {
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    await expect.poll(() => runRow(page, 2).innerText(), { timeout: 120_000, interval: 500 }).toMatch(/succeeded/);
    const steps = await runSteps(page, 2);
    const names = await steps.evaluateAll((items) => items.map((li) => li.getAttribute('aria-label')));
    expect(names).toEqual(
      ['validate', 'snapshot', 'split', 'preprocess', 'train', 'evaluate', 'gate', 'register', 'promote'].map((k) => `${k}: cached`),
    );
  }, 180_000);

  it('batch prediction of rotated digits fires a drift alert', async () => {
    const csv = await batchPredict(page, null, join(dir, 'shifted'), dir);
    v1OnShifted = csvAccuracy(csv, shifted);
    await expect
      .poll(() => page.getByRole('alert').allInnerTexts(), { timeout: 120_000 })
      .toContainEqual(expect.stringMatching(/Drift detected/));
  }, 240_000);

  it('sends the drifted images to the labeling queue, and the labeler labels them', async () => {
    await stage(page, 'Monitor');
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.getByRole('button', { name: 'Send drifted samples to labeling' }).first().click();
    await expect
      .poll(() => page.getByText(/images? sent to the labeling queue/).allInnerTexts(), { timeout: 120_000 })
      .toContainEqual(expect.stringMatching(/300 images? sent/));

    await stage(page, 'Label');
    await page.getByLabel('Import labels CSV').setInputFiles(join(dir, 'shifted-labels.csv'));
    const report = page.getByRole('region', { name: 'Label import report' });
    await expect.poll(() => report.innerText(), { timeout: 60_000 }).toMatch(/300 labels to apply/);
    await page.getByRole('button', { name: 'Apply 300 labels' }).click();
    await report.waitFor({ state: 'detached', timeout: 60_000 });
  }, 240_000);

  it('the new-labels trigger runs the pipeline; v2 beats v1 on the shifted data and is promoted', async () => {
    await stage(page, 'Pipeline');
    await expect.poll(() => runRow(page, 3).innerText(), { timeout: 60_000, interval: 1000 }).toMatch(/new-labels|new labels/);
    await expect.poll(() => runRow(page, 3).innerText(), { timeout: 480_000, interval: 1000 }).toMatch(/succeeded|rejected|failed/);
    expect(await runRow(page, 3).innerText()).toMatch(/succeeded/);
    const steps = await runSteps(page, 3);
    // The plan said why each step reran: the labeled data grew by the 300 new labels.
    expect(await steps.first().innerText()).toMatch(/\+300 labeled/);
    // The gate measured both models on the same (frozen, now larger) test split.
    const gate = await steps.nth(6).innerText();
    const [, candidate, champion] = /Accuracy ([\d.]+)% against ([\d.]+)% in production/.exec(gate)!;
    expect(Number(candidate)).toBeGreaterThan(Number(champion));

    // v2 against v1 on rotated digits neither has seen.
    const v2Csv = await batchPredict(page, /Version 2|v2/, join(dir, 'held-out'), dir);
    const v1Csv = await batchPredict(page, /Version 1|v1/, join(dir, 'held-out'), dir);
    const v2 = csvAccuracy(v2Csv, heldOut);
    const v1 = csvAccuracy(v1Csv, heldOut);
    expect({ v1, v2, v1OnShifted }).toEqual({ v1: expect.any(Number), v2: expect.any(Number), v1OnShifted: expect.any(Number) });
    expect(v2, `v1 ${v1}, v2 ${v2} on held-out rotated digits`).toBeGreaterThan(v1 + 0.2);
    expect(v1OnShifted).toBeLessThan(0.6);

    await stage(page, 'Models');
    const history = page.getByRole('list', { name: 'History of production' });
    await expect
      .poll(() => history.getByRole('listitem').allInnerTexts())
      .toEqual([expect.stringMatching(/^Version 1 ·/), expect.stringMatching(/^Version 2 ·/)]);
  }, 900_000);
});
