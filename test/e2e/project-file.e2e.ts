// The portable project file, as two people on two browsers meet it: in profile A a small project
// gets data, a trained version set as production, a pipeline run that promotes a second version,
// and playground and batch predictions; it is exported as one zip. Profile B (a separate browser
// profile, its own IndexedDB) imports the zip: the images, versions, aliases, pipeline runs and
// prediction logs are all there, the imported version predicts exactly as it did in A, and
// exporting it again gives the same files hash for hash (only the project id differs, by design).
// A zip with one byte changed in a records file is refused with a message naming the file, and
// nothing is written, with no request leaving the app's origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobReader, BlobWriter, Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter, configure } from '@zip.js/zip.js';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  datasetTotal,
  importAndReport,
  openProjectList,
  perClass,
  pickFolder,
  projectCard,
  createProject,
  waitForDemoImported,
  writeHalvesDataset,
} from './app-helpers';
import { defaultPipeline, serializePipeline } from '../../src/lib/pipeline/definition';

configure({ useWebWorkers: false });

const PROJECT = 'Halves export';
const ZIP_NAME = 'Halves_export.trainyard.zip';
const CLASSES = ['left', 'right'];
const PER_CLASS = 12;
const PIPELINE = 'Train halves';
const MANIFEST = 'trainyard-project.json';
/** The image predicted in the playground of both profiles. */
const PLAYGROUND_IMAGE = 'right-4.png';
const BATCH_IMAGES = ['left-0.png', 'left-7.png', 'right-2.png', 'right-9.png'];

type Stage = 'Data' | 'Train' | 'Pipeline' | 'Models' | 'Deploy' | 'Monitor';

function stage(page: Page, name: Stage) {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
}

async function openProjectByName(page: Page, name: string): Promise<void> {
  await openProjectList(page);
  await projectCard(page, name).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}

async function unzip(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const reader = new ZipReader(new BlobReader(new Blob([bytes as Uint8Array<ArrayBuffer>])));
  const out = new Map<string, Uint8Array>();
  for (const e of await reader.getEntries()) if (!e.directory) out.set(e.filename, await e.getData!(new Uint8ArrayWriter()));
  await reader.close();
  return out;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const utf8 = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

interface Manifest {
  exportedAt: number;
  project: Record<string, unknown> & { id: string; name: string };
  counts: Record<string, number>;
  requiredBackbones: string[];
  files: Array<{ path: string; sha256: string; bytes: number }>;
}

/** Every request of a browser context whose URL is not the app's own origin. */
function recordForeignRequests(context: BrowserContext): string[] {
  const origin = new URL(appUrl()).origin;
  const foreign: string[] = [];
  context.on('request', (r) => {
    const url = r.url();
    if (url.startsWith(`${origin}/`) || url.startsWith(`blob:${origin}/`) || url.startsWith('data:')) return;
    foreign.push(url);
  });
  return foreign;
}

/** Exports a project from the project list (one click on Export downloads it) and saves the zip. */
async function exportFromList(page: Page, name: string, saveTo: string): Promise<void> {
  await openProjectList(page);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('button', { name: `Export ${name}`, exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(ZIP_NAME);
  await download.saveAs(saveTo);
}

/**
 * Picks a project file through "Import project file…", confirms its plan when the check passes,
 * and waits for the outcome (note or alert).
 */
async function importProjectFile(page: Page, file: string): Promise<{ note: string | null; error: string | null }> {
  await openProjectList(page);
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.getByRole('button', { name: 'Import project file…', exact: true }).click(),
  ]);
  await chooser.setFiles(file);
  const note = page.getByRole('status').filter({ hasText: /^Imported “/ });
  const error = page.getByRole('alert').filter({ hasText: /^Import refused:/ });
  const plan = page.getByRole('heading', { name: /^Import project “.+”\?$/ });
  await plan.or(error).waitFor({ timeout: 180_000 });
  if (await plan.isVisible()) await page.getByRole('button', { name: 'Import project', exact: true }).click();
  await note.or(error).waitFor({ timeout: 180_000 });
  return {
    note: (await note.count()) ? await note.innerText() : null,
    error: (await error.count()) ? await error.innerText() : null,
  };
}

/** Names and image counts of the projects on the list. */
async function projectList(page: Page): Promise<string[]> {
  return page
    .getByRole('list', { name: 'Projects' })
    .getByRole('listitem')
    .evaluateAll((items) =>
      items.map((li) => `${li.getAttribute('aria-label')}: ${li.querySelector('[data-testid="sample-count"]')?.textContent ?? ''}`),
    );
}

/** Number of records in every store of the app's database (to see that a refused import wrote nothing). */
function storeCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('trainyard');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const names = [...db.objectStoreNames];
      const tx = db.transaction(names, 'readonly');
      const counts: Record<string, number> = {};
      await Promise.all(
        names.map(
          (n) =>
            new Promise<void>((resolve, reject) => {
              const q = tx.objectStore(n).count();
              q.onsuccess = () => ((counts[n] = q.result), resolve());
              q.onerror = () => reject(q.error);
            }),
        ),
      );
      return counts;
    } finally {
      db.close();
    }
  });
}

/** What a person reads on the stages, kept from profile A to compare with profile B. */
interface Seen {
  versionRows: string[];
  productionHistory: string[];
  runRows: string[];
  runSteps: (string | null)[];
  monitorOptions: string[];
  monitorCount: string;
  deployVersion: string;
  playgroundTop: string;
  batch: Map<string, string[]>;
}

async function readModels(page: Page): Promise<Pick<Seen, 'versionRows' | 'productionHistory'>> {
  await stage(page, 'Models');
  await page.getByRole('heading', { name: 'Model versions' }).waitFor();
  const table = page.getByRole('table', { name: 'Versions' });
  await table.waitFor();
  const rows = table.locator('tbody tr');
  // Both versions are there (the list loads once, after the stage opens).
  await expect.poll(() => rows.count()).toBe(2);
  return {
    versionRows: (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
    productionHistory: await page.getByRole('list', { name: 'History of production' }).getByRole('listitem').allInnerTexts(),
  };
}

async function readPipelineRuns(page: Page): Promise<Pick<Seen, 'runRows' | 'runSteps'>> {
  await stage(page, 'Pipeline');
  await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
  await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe(PIPELINE);
  const rows = page.getByRole('table', { name: 'Runs' }).locator('tbody tr');
  await expect.poll(() => rows.count()).toBe(1);
  await page.getByRole('button', { name: 'Show run #1', exact: true }).click();
  const steps = page.getByRole('list', { name: 'Steps of run #1' }).locator(':scope > li');
  await expect.poll(() => steps.count()).toBe(9);
  return {
    runRows: (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
    runSteps: await steps.evaluateAll((items) => items.map((li) => li.getAttribute('aria-label'))),
  };
}

async function readMonitor(page: Page): Promise<Pick<Seen, 'monitorOptions' | 'monitorCount'>> {
  await stage(page, 'Monitor');
  await page.getByRole('heading', { name: 'Monitor', exact: true }).waitFor();
  const count = page.getByTestId('summary-predictions');
  await count.waitFor({ timeout: 60_000 });
  const select = page.getByLabel('Model version');
  await select.selectOption({ label: (await select.locator('option').allInnerTexts()).find((t) => t.startsWith('All versions'))! });
  await expect.poll(() => count.innerText()).toBe(String(1 + BATCH_IMAGES.length));
  return { monitorOptions: await select.locator('option').allInnerTexts(), monitorCount: await count.innerText() };
}

/** Predicts one image in the playground with the production version; returns "label NN.N%". */
async function playground(page: Page, image: string): Promise<Pick<Seen, 'deployVersion' | 'playgroundTop'>> {
  await stage(page, 'Deploy');
  await page.getByRole('heading', { name: 'Playground' }).waitFor();
  const select = page.getByLabel('Model version');
  const production = page.getByRole('option', { name: /\(production\)$/ });
  await production.waitFor({ state: 'attached' });
  const deployVersion = await production.innerText();
  await select.selectOption({ label: deployVersion });
  await page.getByLabel('Choose images to predict').setInputFiles(image);
  const result = page.getByRole('list', { name: 'Predictions' }).getByRole('listitem').first();
  await result.getByText(/ms$/).waitFor({ timeout: 120_000 });
  const playgroundTop = (await result.locator('ol > li').first().innerText()).replace(/\s+/g, ' ').trim();
  return { deployVersion, playgroundTop };
}

/** Predicts a folder in batch (with the version shown in the playground); returns file -> CSV cells without latency. */
async function batchPredict(page: Page, folder: string): Promise<Map<string, string[]>> {
  await page.getByLabel('Choose a folder to predict').setInputFiles(folder);
  const link = page.getByRole('link', { name: 'Download predictions CSV' });
  await link.waitFor({ timeout: 120_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const lines = readFileSync(await download.path())
    .toString('utf8')
    .trim()
    .split(/\r?\n/);
  const header = lines[0].split(',');
  expect(header.slice(0, 3)).toEqual(['filename', 'predicted', 'confidence']);
  const latency = header.indexOf('latency_ms');
  return new Map(
    lines
      .slice(1)
      .map((l) => l.split(','))
      .map((cells) => [cells[0], cells.filter((_, i) => i !== 0 && i !== latency)]),
  );
}

describe('a whole project as one file, from one browser profile to another', () => {
  let dir: string;
  let data: string;
  let a: LaunchedBrowser | null = null;
  let b: LaunchedBrowser | null = null;
  let pageB: TrackedPage;
  let foreignB: string[] = [];
  const zipA = () => join(dir, 'from-a.trainyard.zip');
  const zipB = () => join(dir, 'from-b.trainyard.zip');
  let seenA: Seen;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-project-file-'));
    data = join(dir, 'halves');
    writeHalvesDataset(data, PER_CLASS, CLASSES);
    const batch = join(dir, 'batch');
    mkdirSync(batch);
    for (const f of BATCH_IMAGES) copyFileSync(join(data, f.split('-')[0], f), join(batch, f));
    // A fast model for the pipeline, and a gate that always lets it through (a second version).
    const def = defaultPipeline(PIPELINE, {
      train: {
        mode: 'train',
        settings: { architecture: 'mlp', hidden: [32], epochs: 8, learningRate: 0.002, batchSize: 8, earlyStoppingPatience: 0 },
      },
      gate: { minImprovement: -1, maxClassDrop: 1 },
    });
    writeFileSync(join(dir, 'pipeline.json'), serializePipeline(def));
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('profile A: data, a trained version in production, a pipeline run and predictions, exported as one zip', async () => {
    a = await launchBrowser({ userDataDir: join(dir, 'profile-a'), demoImported: true });
    const foreignA = recordForeignRequests(a.context);
    const page = await newPage(a);
    await page.goto(appUrl());
    await waitForDemoImported(page);

    // Images labelled by their folders.
    await createProject(page, PROJECT);
    await pickFolder(page, data);
    expect((await importAndReport(page)).imported).toBe(CLASSES.length * PER_CLASS);

    // A small model on the Train stage, set as production.
    await stage(page, 'Train');
    await page.getByLabel('Architecture').selectOption({ label: 'Small MLP' });
    await page.getByLabel('Epochs').fill('3');
    await page.getByLabel('Batch size').fill('8');
    await page.getByRole('button', { name: 'Start training' }).click();
    const outcome = page.getByTestId('train-outcome');
    await outcome.waitFor({ timeout: 300_000 });
    expect(await outcome.innerText()).toMatch(/Run completed/);
    await page.getByRole('button', { name: 'See the new model version' }).click();
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByText('Alias history: production').waitFor();

    // One pipeline run: a dataset version, a second model version, promoted by the gate.
    await stage(page, 'Pipeline');
    await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
    await page.getByLabel('Import JSON').setInputFiles(join(dir, 'pipeline.json'));
    const picker = page.getByLabel('Choose pipeline');
    await expect.poll(() => picker.locator('option').allInnerTexts()).toContainEqual(expect.stringMatching(PIPELINE));
    await picker.selectOption({ label: (await picker.locator('option').allInnerTexts()).find((t) => t.includes(PIPELINE))! });
    await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe(PIPELINE);
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    const run = page.getByRole('table', { name: 'Runs' }).locator('tr[data-run="1"]');
    await expect.poll(() => run.innerText(), { timeout: 420_000, interval: 1000 }).toMatch(/succeeded|rejected|failed|cancelled/);
    expect(await run.innerText()).toMatch(/succeeded/);
    expect(await run.innerText()).toMatch(/registered version 2/);

    // Predictions: one in the playground, a folder in batch (both are logged for the Monitor).
    const deploy = await playground(page, join(data, PLAYGROUND_IMAGE.split('-')[0], PLAYGROUND_IMAGE));
    expect(deploy.deployVersion).toBe('Version 2 (production)');
    expect(deploy.playgroundTop).toMatch(/^(left|right) [\d.]+%$/);
    const batch = await batchPredict(page, join(dir, 'batch'));
    expect([...batch.keys()].sort()).toEqual([...BATCH_IMAGES].sort());

    seenA = { ...deploy, batch, ...(await readModels(page)), ...(await readPipelineRuns(page)), ...(await readMonitor(page)) };
    expect(seenA.versionRows).toEqual([
      expect.stringMatching(/^Version 2 .*\d+\.\d% .*production/),
      expect.stringMatching(/^Version 1 .*\d+\.\d%/),
    ]);
    expect(seenA.productionHistory).toEqual([expect.stringMatching(/^Version 1 ·/), expect.stringMatching(/^Version 2 ·/)]);
    expect(seenA.runSteps).toEqual(
      ['validate', 'snapshot', 'split', 'preprocess', 'train', 'evaluate', 'gate', 'register', 'promote'].map((k) => `${k}: done`),
    );

    await exportFromList(page, PROJECT, zipA());
    const manifest = JSON.parse(utf8((await unzip(readFileSync(zipA()))).get(MANIFEST))) as Manifest;
    expect(manifest.project.name).toBe(PROJECT);
    for (const store of [
      'samples',
      'originals',
      'thumbnails',
      'imports',
      'models',
      'modelWeights',
      'aliases',
      'runs',
      'predictionLogs',
      'datasetVersions',
      'pipelines',
      'pipelineRuns',
    ]) {
      expect(manifest.counts[store], store).toBeGreaterThan(0);
    }
    expect(manifest.counts.samples).toBe(CLASSES.length * PER_CLASS);
    expect(manifest.counts.models).toBe(2);
    expect(manifest.counts.predictionLogs).toBe(1 + BATCH_IMAGES.length);

    expect(foreignA).toEqual([]);
    // Uncaught errors and unhandled rejections (a failing progress callback shows up here too).
    expect(page.pageErrors()).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
    await a.close();
    a = null;
  }, 900_000);

  it('profile B (its own storage) imports the file, and exporting it again gives the same files hash for hash', async () => {
    b = await launchBrowser({ userDataDir: join(dir, 'profile-b'), demoImported: true });
    foreignB = recordForeignRequests(b.context);
    pageB = await newPage(b);
    await pageB.goto(appUrl());
    await waitForDemoImported(pageB);
    // A separate profile: nothing of profile A is here.
    expect(await projectList(pageB)).toEqual(['Digits demo: 5,000 images']);

    const imported = await importProjectFile(pageB, zipA());
    expect(imported).toEqual({ note: `Imported “${PROJECT}”.`, error: null });
    await expect
      .poll(async () => (await projectList(pageB)).sort())
      .toEqual(['Digits demo: 5,000 images', `${PROJECT}: ${CLASSES.length * PER_CLASS} images`]);

    // Export it straight away, before any stage is opened here.
    await exportFromList(pageB, PROJECT, zipB());
    const fa = await unzip(readFileSync(zipA()));
    const fb = await unzip(readFileSync(zipB()));
    const ma = JSON.parse(utf8(fa.get(MANIFEST))) as Manifest;
    const mb = JSON.parse(utf8(fb.get(MANIFEST))) as Manifest;

    // The project id is new by design; everything else in the manifest but the export time is the same.
    expect(mb.project.id).not.toBe(ma.project.id);
    expect({ ...mb.project, id: '<project>' }).toEqual({ ...ma.project, id: '<project>' });
    expect(mb.counts).toEqual(ma.counts);
    expect(mb.requiredBackbones).toEqual(ma.requiredBackbones);
    expect(mb.exportedAt).toBeGreaterThan(ma.exportedAt);

    // The same files, and each file's bytes the same once A's project id reads as B's.
    expect([...fb.keys()].sort()).toEqual([...fa.keys()].sort());
    const normalised = (files: Map<string, Uint8Array>, fromId: string, toId: string) =>
      Object.fromEntries(
        [...files]
          .filter(([path]) => path !== MANIFEST)
          .map(([path, bytes]) => [path, path.startsWith('records/') ? sha256(utf8(bytes).split(fromId).join(toId)) : sha256(bytes)]),
      );
    const hashesA = normalised(fa, ma.project.id, mb.project.id);
    const hashesB = normalised(fb, mb.project.id, mb.project.id);
    expect(Object.keys(hashesA).filter((p) => p.startsWith('blobs/')).length).toBeGreaterThan(CLASSES.length * PER_CLASS);
    expect(hashesB).toEqual(hashesA);
    // Blobs need no normalising at all: the manifests list the same SHA-256 for each.
    const blobsOf = (m: Manifest) => m.files.filter((f) => f.path.startsWith('blobs/')).sort((x, y) => (x.path < y.path ? -1 : 1));
    expect(blobsOf(mb)).toEqual(blobsOf(ma));
    // And B's manifest tells the truth about B's files.
    for (const f of mb.files) expect(sha256(fb.get(f.path)!), f.path).toBe(f.sha256);
    // The old project id is nowhere in B's file.
    for (const [path, bytes] of fb) if (!path.startsWith('blobs/')) expect(utf8(bytes).includes(ma.project.id), path).toBe(false);
  }, 600_000);

  it('profile B shows the same data, versions, aliases, pipeline runs and prediction logs as profile A', async () => {
    await openProjectByName(pageB, PROJECT);
    await expect.poll(() => datasetTotal(pageB)).toBe(CLASSES.length * PER_CLASS);
    expect(await perClass(pageB)).toEqual(Object.fromEntries(CLASSES.map((c) => [c, PER_CLASS])));

    const models = await readModels(pageB);
    expect(models).toEqual({ versionRows: seenA.versionRows, productionHistory: seenA.productionHistory });
    const runs = await readPipelineRuns(pageB);
    expect(runs).toEqual({ runRows: seenA.runRows, runSteps: seenA.runSteps });
    const monitor = await readMonitor(pageB);
    expect(monitor).toEqual({ monitorOptions: seenA.monitorOptions, monitorCount: seenA.monitorCount });
  }, 300_000);

  it('the imported version predicts in profile B exactly as it did in profile A', async () => {
    const deploy = await playground(pageB, join(data, PLAYGROUND_IMAGE.split('-')[0], PLAYGROUND_IMAGE));
    expect(deploy).toEqual({ deployVersion: seenA.deployVersion, playgroundTop: seenA.playgroundTop });

    const batch = await batchPredict(pageB, join(dir, 'batch'));
    expect([...batch.keys()].sort()).toEqual([...seenA.batch.keys()].sort());
    for (const [file, cells] of batch) {
      const before = seenA.batch.get(file)!;
      // predicted, confidence, top2, top2_confidence, …, error: labels equal, probabilities to 1e-5.
      expect(cells.length, file).toBe(before.length);
      cells.forEach((cell, i) => {
        if (/^\d+\.\d+$/.test(before[i]))
          expect(Math.abs(Number(cell) - Number(before[i])), `${file} column ${i + 1}`).toBeLessThanOrEqual(1e-5);
        else expect(cell, `${file} column ${i + 1}`).toBe(before[i]);
      });
    }
  }, 300_000);

  it('refuses a copy with one byte changed in a records file: a clear message, nothing written, no request elsewhere', async () => {
    // Same manifest, same entry names; one letter of one file name in records/samples.jsonl changed.
    const files = await unzip(readFileSync(zipA()));
    const records = files.get('records/samples.jsonl')!;
    const at = utf8(records).indexOf('"fileName":"left-') + '"fileName":"'.length;
    expect(at).toBeGreaterThan(20);
    const tampered = records.slice();
    tampered[at] = 'L'.charCodeAt(0);
    expect(tampered.length).toBe(records.length);
    expect(sha256(tampered)).not.toBe(sha256(records));
    const writer = new ZipWriter(new BlobWriter('application/zip'));
    for (const [path, bytes] of files) await writer.add(path, new Uint8ArrayReader(path === 'records/samples.jsonl' ? tampered : bytes));
    const hostile = join(dir, 'tampered.trainyard.zip');
    writeFileSync(hostile, new Uint8Array(await (await writer.close()).arrayBuffer()));

    await openProjectList(pageB);
    const listBefore = await projectList(pageB);
    const countsBefore = await storeCounts(pageB);
    expect(countsBefore.samples).toBeGreaterThan(5000);
    const requestsBefore = foreignB.length;

    const outcome = await importProjectFile(pageB, hostile);
    expect(outcome.note).toBeNull();
    expect(outcome.error).toMatch(/^Import refused: records\/samples\.jsonl does not match the SHA-256 listed in trainyard-project\.json/);

    // No half project: the list and every store are as they were.
    expect(await projectList(pageB)).toEqual(listBefore);
    expect(await storeCounts(pageB)).toEqual(countsBefore);
    expect(foreignB.length).toBe(requestsBefore);
    expect(foreignB).toEqual([]);
    expect(pageB.pageErrors()).toEqual([]);
    expect(pageB.cspViolations()).toEqual([]);
  }, 180_000);
});
