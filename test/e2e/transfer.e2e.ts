// Transfer learning as a person meets it: a small TF.js backbone built here (random weights) is
// imported as a zip, a URL on another origin is refused with a clear reason (the app's CSP allows
// only its own origin; the URL loader itself is tested in test/unit/backbone-load.test.ts against a
// local server), a head trains on cached embeddings, a second run reuses every embedding, the
// version predicts in the Deploy playground and exports as one layers model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { BlobReader, BlobWriter, Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter, configure } from '@zip.js/zip.js';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, HALVES_CLASSES, writeHalvesDataset } from './app-helpers';

configure({ useWebWorkers: false });

const CLASSES = HALVES_CLASSES;

/** input 32x32x3 -> conv -> global average pooling -> dense 8 softmax, seeded random weights. */
async function writeBackbone(folder: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [32, 32, 3],
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 8, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      const json = {
        format: 'layers-model',
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
      writeFileSync(join(folder, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  m.dispose();
}

async function zipFolder(folder: string, names: string[], out: string): Promise<void> {
  const writer = new ZipWriter(new BlobWriter('application/zip'));
  for (const n of names) await writer.add(n, new Uint8ArrayReader(new Uint8Array(readFileSync(join(folder, n)))));
  writeFileSync(out, new Uint8Array(await (await writer.close()).arrayBuffer()));
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious and critical axe violations on the page, as rule ids with their first target. */
async function axeProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    type V = { id: string; impact: string | null; nodes: Array<{ target: string[] }> };
    const axe = (window as typeof window & { axe: { run: (d: Document, o: object) => Promise<{ violations: V[] }> } }).axe;
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes[0]?.target.join(' ')}`);
  });
}

function gotoStage(page: Page, stage: 'Data' | 'Train' | 'Models' | 'Deploy') {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();
}

async function trainOnce(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Start training' }).click();
  const outcome = page.getByTestId('train-outcome');
  await outcome.waitFor({ timeout: 60_000 });
  return outcome.innerText();
}

describe('transfer learning with an imported backbone', () => {
  let b: LaunchedBrowser;
  let page: Page;
  let dir: string;
  let server: Server | null = null;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'trainyard-transfer-'));
    writeHalvesDataset(join(dir, 'data'), 24);
    await writeBackbone(join(dir, 'tiny-backbone'));
    await zipFolder(join(dir, 'tiny-backbone'), ['model.json', 'weights.bin'], join(dir, 'tiny-backbone.zip'));
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

  it('imports a backbone zip and shows its input and embedding size', async () => {
    await createProject(page, 'Transfer');
    await pickFolder(page, join(dir, 'data'));
    expect((await importAndReport(page)).imported).toBe(72);
    await gotoStage(page, 'Train');
    await page.getByRole('combobox', { name: 'Backbone input range' }).selectOption('0..1');
    await page.getByLabel('Choose a backbone zip to import').setInputFiles(join(dir, 'tiny-backbone.zip'));
    await page.getByText(/Imported backbone “tiny-backbone”: 32×32×3 input, 16-d embedding/).waitFor({ timeout: 30_000 });
    const select = page.getByRole('combobox', { name: 'Backbone', exact: true });
    // The classifier was cut before its softmax Dense: 16 pooled conv features, not 8 class scores.
    expect(await select.locator('option:checked').innerText()).toBe('tiny-backbone (32×32×3 input, 16-d embedding)');
    expect(await page.getByRole('list', { name: 'Stored backbones' }).innerText()).toMatch(
      /tiny-backbone.*layers model.*32×32×3 input, 16-d embedding/,
    );
    expect(await axeProblems(page)).toEqual([]);
  });

  it('says clearly why a backbone URL on another origin cannot be loaded', async () => {
    // CORS and CORP headers allow the read; the app's own CSP (connect-src 'self') still blocks it.
    server = createServer((req, res) => {
      const name = (req.url ?? '/').slice(1);
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      try {
        res.end(readFileSync(join(dir, 'tiny-backbone', name.replace(/[^\w.]/g, ''))));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server!.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model.json`;
    await page.getByLabel('Backbone model.json URL').fill(url);
    await page.getByRole('button', { name: 'Load backbone from URL' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /Could not load model\.json/ });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/connect-src 'self'.*import the zip or folder/);
    expect(await page.getByRole('list', { name: 'Stored backbones' }).getByRole('listitem').count()).toBe(1);
  });

  it('trains a head on cached embeddings, and a second run reuses every one', async () => {
    await page.getByLabel('Epochs').fill('3');
    await page.getByLabel('Batch size').fill('16');
    const first = await trainOnce(page);
    expect(first).toMatch(/Run completed/);
    expect(first).toMatch(/Embeddings: 72 computed, 0 reused\./);
    const second = await trainOnce(page);
    expect(second).toMatch(/Run completed/);
    expect(second).toMatch(/Embeddings: 0 computed, 72 reused\./);
  });

  it('predicts in the Deploy playground and exports one combined layers model', async () => {
    await gotoStage(page, 'Deploy');
    await page.getByLabel('Choose images to predict').setInputFiles(join(dir, 'data', 'top', 'top-3.png'));
    const result = page.getByRole('list', { name: 'Predictions' }).getByRole('listitem').first();
    await result.getByText(/ms$/).waitFor({ timeout: 30_000 });
    const top = /\n\s*(\w+) ([\d.]+)%/.exec(await result.innerText());
    expect(CLASSES).toContain(top?.[1]);

    await gotoStage(page, 'Models');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export as zip' }).click()]);
    const zipPath = join(dir, 'exported.zip');
    await download.saveAs(zipPath);
    const reader = new ZipReader(new BlobReader(new Blob([readFileSync(zipPath)])));
    const files = new Map<string, Uint8Array>();
    for (const e of await reader.getEntries()) if (!e.directory) files.set(e.filename, await e.getData!(new Uint8ArrayWriter()));
    await reader.close();
    const modelJson = JSON.parse(new TextDecoder().decode(files.get('model.json')));
    const weights = files.get('weights.bin')!;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
      }),
    );
    // Backbone and head in one model: image in, three class probabilities out.
    expect(model.inputs[0].shape).toEqual([null, 32, 32, 3]);
    expect(model.outputs[0].shape).toEqual([null, 3]);
    model.dispose();
    const metadata = JSON.parse(new TextDecoder().decode(files.get('metadata.json')));
    expect(metadata.userMetadata.trainyard.normalization).toBe('0..1');
  });
});
