// The model lifecycle as a person meets it: refuse a one-class dataset, train a small model,
// read its evaluation, export it, load the export with plain tf.loadLayersModel (same predictions
// as the app), import it back as a version, predict in the playground, and refuse a hostile zip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { BlobReader, BlobWriter, TextReader, Uint8ArrayWriter, ZipReader, ZipWriter, configure } from '@zip.js/zip.js';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, HALVES_CLASSES, writeHalvesDataset } from './app-helpers';

configure({ useWebWorkers: false });

const CLASSES = HALVES_CLASSES;

async function unzip(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const reader = new ZipReader(new BlobReader(new Blob([bytes as Uint8Array<ArrayBuffer>])));
  const out = new Map<string, Uint8Array>();
  for (const e of await reader.getEntries()) if (!e.directory) out.set(e.filename, await e.getData!(new Uint8ArrayWriter()));
  await reader.close();
  return out;
}

function gotoStage(page: Page, stage: 'Data' | 'Train' | 'Models' | 'Deploy') {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();
}

describe('train, evaluate, export, import and deploy', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let zipPath: string;
  let server: Server | null = null;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'trainyard-train-'));
    writeHalvesDataset(join(dir, 'three'), 24);
    writeHalvesDataset(join(dir, 'one'), 6, ['only']);
    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
  });

  afterAll(async () => {
    server?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to train a dataset with one class, and says why', async () => {
    await createProject(page, 'One class');
    await pickFolder(page, join(dir, 'one'));
    await importAndReport(page);
    await gotoStage(page, 'Train');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => page.getByRole('alert').allInnerTexts(), { timeout: 30_000 })
      .toContainEqual(expect.stringMatching(/at least 2 classes/));
  });

  it('trains with live progress and creates an evaluated model version', async () => {
    await createProject(page, 'Halves');
    await pickFolder(page, join(dir, 'three'));
    const report = await importAndReport(page);
    expect(report.imported).toBe(72);
    await gotoStage(page, 'Train');
    await page.getByLabel('Epochs').fill('4');
    await page.getByLabel('Batch size').fill('16');
    await page.getByRole('button', { name: 'Start training' }).click();
    const outcome = page.getByTestId('train-outcome');
    await outcome.waitFor({ timeout: 240_000 });
    expect(await outcome.innerText()).toMatch(/Run completed/);
    // One row per epoch in the live table, and the backend that ran it is named.
    expect(await page.getByRole('table', { name: 'Epochs' }).getByRole('row').count()).toBe(5);
    expect(await page.getByRole('region', { name: 'Training progress' }).innerText()).toMatch(/Backend: (webgl|webgpu|wasm|cpu)/);
    // Training, evaluation and prediction leave no tensors behind in the worker.
    const tensors = /(\d+) after the run, (\d+) before/.exec(await page.getByTestId('tensor-count').innerText())!;
    expect(Number(tensors[1])).toBe(Number(tensors[2]));

    await page.getByRole('button', { name: 'See the new model version' }).click();
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    const accuracy = parseFloat(await page.getByTestId('version-accuracy').innerText());
    expect(accuracy).toBeGreaterThanOrEqual(80);
    // Clicking a confusion-matrix cell shows those test images.
    await page.getByRole('button', { name: /images of left predicted as left/ }).click();
    await page.getByRole('heading', { name: 'left predicted as left' }).waitFor();
    expect(await page.getByRole('img', { name: 'left → left' }).count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByText('Alias history: production').waitFor();
  });

  it('exports a zip that plain tf.loadLayersModel loads with the same predictions as the app', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export as zip' }).click()]);
    zipPath = join(dir, 'model.zip');
    await download.saveAs(zipPath);
    const files = await unzip(readFileSync(zipPath));
    expect([...files.keys()].sort()).toEqual(['README.md', 'metadata.json', 'model.json', 'weights.bin']);
    const metadata = JSON.parse(new TextDecoder().decode(files.get('metadata.json')));
    expect(metadata.labels).toEqual(CLASSES);
    expect(metadata.imageSize).toBe(28);
    expect(new TextDecoder().decode(files.get('README.md'))).toMatch(/Confusion matrix/);

    server = createServer((req, res) => {
      const body = files.get((req.url ?? '/').slice(1));
      res.statusCode = body ? 200 : 404;
      res.end(body ? Buffer.from(body) : '');
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server!.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const model = await tf.loadLayersModel(`http://127.0.0.1:${port}/model.json`);

    // The same image through the app's playground and through the exported model in Node.
    const imagePath = join(dir, 'three', 'top', 'top-3.png');
    const png = pngjs.PNG.sync.read(readFileSync(imagePath));
    const gray = new Float32Array(28 * 28).map((_, i) => png.data[i * 4] / 255);
    const probs = tf.tidy(() => (model.predict(tf.tensor4d(gray, [1, 28, 28, 1])) as tf.Tensor).dataSync());
    model.dispose();
    const nodeTop = [...probs].map((p, i) => ({ p, label: CLASSES[i] })).sort((a, b) => b.p - a.p)[0];

    await gotoStage(page, 'Deploy');
    await page.getByLabel('Choose images to predict').setInputFiles(imagePath);
    const result = page.getByRole('list', { name: 'Predictions' }).getByRole('listitem').first();
    await result.getByText(/ms$/).waitFor({ timeout: 60_000 });
    const text = await result.innerText();
    const first = /\n\s*(\w+) ([\d.]+)%/.exec(text)!;
    expect(first[1]).toBe(nodeTop.label);
    expect(Math.abs(parseFloat(first[2]) - nodeTop.p * 100)).toBeLessThan(0.2);
  });

  it('imports the exported zip back as a new version', async () => {
    await gotoStage(page, 'Models');
    await page.getByLabel('Choose a model zip to import').setInputFiles(zipPath);
    await page.getByText(/Imported as version 2 \(3 classes\)/).waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Version 2' }).waitFor();
  });

  it('predicts a folder in batch and downloads a CSV with formula-like cells neutralised', async () => {
    const batch = join(dir, 'batch');
    mkdirSync(batch, { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(batch, `left-${i}.png`), readFileSync(join(dir, 'three', 'left', `left-${i}.png`)));
    writeFileSync(join(batch, '=HYPERLINK(1).png'), readFileSync(join(dir, 'three', 'top', 'top-0.png')));
    writeFileSync(join(batch, 'notes.png'), 'not an image');
    await gotoStage(page, 'Deploy');
    await page.getByLabel('Choose a folder to predict').setInputFiles(batch);
    const link = page.getByRole('link', { name: 'Download predictions CSV' });
    await link.waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const csv = readFileSync(await download.path()).toString('utf8');
    const lines = csv.trim().split(/\r\n/);
    expect(lines[0]).toBe('filename,predicted,confidence,top2,top2_confidence,top3,top3_confidence,latency_ms,error');
    expect(lines).toHaveLength(1 + 8);
    expect(lines.filter((l) => /^left-\d\.png,left,/.test(l))).toHaveLength(6);
    expect(csv).toContain("'=HYPERLINK(1).png");
    expect(lines.find((l) => l.startsWith('notes.png'))).toMatch(/not an image/);
  });

  it('refuses a model.json whose weights point at a URL, with zero network requests', async () => {
    await gotoStage(page, 'Models');
    await page.getByRole('heading', { name: 'Model versions' }).waitFor();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(appUrl())) requests.push(r.url());
    });
    const files = await unzip(readFileSync(zipPath));
    const modelJson = JSON.parse(new TextDecoder().decode(files.get('model.json')));
    modelJson.weightsManifest[0].paths = ['https://evil.example/weights.bin'];
    const writer = new ZipWriter(new BlobWriter('application/zip'));
    await writer.add('model.json', new TextReader(JSON.stringify(modelJson)));
    const hostile = join(dir, 'hostile.zip');
    writeFileSync(hostile, new Uint8Array(await (await writer.close()).arrayBuffer()));
    await page.getByLabel('Choose a model zip to import').setInputFiles(hostile);
    const alert = page.getByRole('alert').filter({ hasText: /refused/ });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/evil\.example|URL|network/i);
    expect(requests).toEqual([]);
    expect(await page.getByRole('button', { name: /^Version \d+$/ }).count()).toBe(2);
    expect(page.cspViolations()).toEqual([]);
  });
});
