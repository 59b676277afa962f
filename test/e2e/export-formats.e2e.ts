// Exports that run where people deploy, decided by the real runtimes:
// - the Export dialog lists every format with its size and what runs it, one click each;
// - Teachable Machine's own published library (@teachablemachine/image 0.8.5 with the TF.js 1.3.1
//   it pins, installed apart from the app in test/fixtures/teachable-machine) loads the
//   "Teachable Machine" export in a headless Chromium page and agrees with the app's top-1 on
//   >= 98% of the images (the app's answers come from its batch prediction, shown in the page);
// - the ONNX export + its preprocess.js in onnxruntime-node give the app's confidences.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pngjs from 'pngjs';
import * as ort from 'onnxruntime-node';
import { BlobReader, Uint8ArrayWriter, ZipReader, configure } from '@zip.js/zip.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, HALVES_CLASSES, writeHalvesDataset } from './app-helpers';

configure({ useWebWorkers: false });

const TM_DIR = resolve(__dirname, '../fixtures/teachable-machine');

async function unzip(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const reader = new ZipReader(new BlobReader(new Blob([bytes as Uint8Array<ArrayBuffer>])));
  const out = new Map<string, Uint8Array>();
  for (const e of await reader.getEntries()) if (!e.directory) out.set(e.filename, await e.getData!(new Uint8ArrayWriter()));
  await reader.close();
  return out;
}

function gotoStage(page: Page, stage: 'Train' | 'Models' | 'Deploy') {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();
}

/**
 * 60 test images: a third clear, the rest blends of two classes' patterns at assorted contrasts,
 * so some sit near the decision boundary (where a wrong input scaling flips answers).
 */
function writeTestImages(root: string): string[] {
  mkdirSync(root, { recursive: true });
  let seed = 99;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const lit = (cls: string, x: number, y: number) => (cls === 'left' ? x < 14 : cls === 'right' ? x >= 14 : y < 14);
  const names: string[] = [];
  for (let i = 0; i < 60; i++) {
    const a = HALVES_CLASSES[i % 3];
    const b = HALVES_CLASSES[(i + 1 + Math.floor(i / 3)) % 3];
    const mix = i < 20 ? 0 : 0.25 + rand() * 0.5;
    const lo = 10 + rand() * 60;
    const hi = lo + 60 + rand() * 120;
    const png = new pngjs.PNG({ width: 28, height: 28 });
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const s = (1 - mix) * (lit(a, x, y) ? 1 : 0) + mix * (lit(b, x, y) ? 1 : 0);
        const v = Math.max(0, Math.min(255, Math.round(lo + s * (hi - lo) + (rand() - 0.5) * 40)));
        png.data.set([v, v, v, 255], (y * 28 + x) * 4);
      }
    const name = `t${String(i).padStart(2, '0')}.png`;
    writeFileSync(join(root, name), pngjs.PNG.sync.write(png));
    names.push(name);
  }
  return names;
}

describe('export formats in the real runtimes', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let server: Server | null = null;
  const zips = new Map<string, Map<string, Uint8Array>>();
  const app = new Map<string, { label: string; confidence: number }>();
  let names: string[] = [];

  beforeAll(async () => {
    // Teachable Machine's library with its pinned TF.js, in its own folder (never the app's tree).
    if (!existsSync(join(TM_DIR, 'node_modules/@teachablemachine/image/dist/teachablemachine-image.min.js'))) {
      execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: TM_DIR, stdio: 'inherit', timeout: 180_000 });
    }
    dir = mkdtempSync(join(tmpdir(), 'trainyard-export-'));
    writeHalvesDataset(join(dir, 'train'), 24);
    names = writeTestImages(join(dir, 'test'));
    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'Exports');
    await pickFolder(page, join(dir, 'train'));
    expect((await importAndReport(page)).imported).toBe(72);
  }, 300_000);

  afterAll(async () => {
    server?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains a small model to export', async () => {
    await gotoStage(page, 'Train');
    await page.getByLabel('Epochs').fill('3');
    await page.getByLabel('Batch size').fill('16');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByTestId('train-outcome').waitFor({ timeout: 400_000 });
    expect(await page.getByTestId('train-outcome').innerText()).toMatch(/Run completed/);
  }, 420_000);

  it('the Export dialog lists every format with its size and runtime; each downloads in one click', async () => {
    await page.getByRole('button', { name: 'See the new model version' }).click();
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    await page.getByRole('button', { name: 'Export formats…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Export version 1' });
    await dialog.getByRole('button', { name: 'Download ONNX' }).waitFor({ timeout: 60_000 });
    for (const [id, label, runtime] of [
      ['tfjs', 'TensorFlow.js', /tf\.loadLayersModel/],
      ['teachable-machine', 'Teachable Machine', /@teachablemachine\/image/],
      ['onnx', 'ONNX', /ONNX Runtime/],
    ] as const) {
      const row = dialog.getByTestId(`export-format-${id}`);
      const rowText = await row.innerText();
      expect(rowText).toContain(label);
      expect(rowText).toMatch(runtime);
      expect(rowText).toMatch(/\d+(\.\d)? KB|\d+ B|MB/);
      const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: `Download ${label}` }).click()]);
      expect(download.suggestedFilename()).toBe(`trainyard-v1-${id}.zip`);
      zips.set(id, await unzip(readFileSync(await download.path())));
    }
    expect([...zips.get('onnx')!.keys()].sort()).toEqual(['README.md', 'labels.txt', 'model.onnx', 'preprocess.js']);
    expect(new TextDecoder().decode(zips.get('tfjs')!.get('README.md'))).toMatch(
      /^---\nlibrary_name: "tensorflow.js"[\s\S]*## Limitations/,
    );
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect(page.problems()).toEqual([]);
  });

  it("batch prediction shows the app's answers in the page", async () => {
    await gotoStage(page, 'Deploy');
    await page.getByLabel('Choose a folder to predict').setInputFiles(join(dir, 'test'));
    await page.getByRole('button', { name: 'Show results here' }).click({ timeout: 90_000 });
    const table = page.getByRole('table', { name: 'Batch prediction results' });
    await table.waitFor();
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows).toHaveLength(names.length);
    for (const r of rows) {
      const [file, label, conf] = r.split('\t').map((s) => s.trim());
      expect(HALVES_CLASSES).toContain(label);
      app.set(file, { label, confidence: parseFloat(conf) / 100 });
    }
    expect([...app.keys()].sort()).toEqual(names);
  });

  it("Teachable Machine's own library loads the export in a browser and agrees with the app on >= 98% of images", async () => {
    const files = zips.get('teachable-machine')!;
    // Control: the plain TF.js export, given only the grayscale flag by hand (what a person would
    // try first), fed by the same library. It must disagree somewhere, or these images could not
    // tell a right input scaling from a wrong one.
    const plain = zips.get('tfjs')!;
    const statics: Record<string, () => Buffer | Uint8Array> = {
      '/tf.min.js': () => readFileSync(join(TM_DIR, 'node_modules/@tensorflow/tfjs/dist/tf.min.js')),
      '/tm.min.js': () => readFileSync(join(TM_DIR, 'node_modules/@teachablemachine/image/dist/teachablemachine-image.min.js')),
      '/': () => Buffer.from('<!doctype html><title>tm</title><script src="/tf.min.js"></script><script src="/tm.min.js"></script>'),
    };
    server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      const body =
        statics[url]?.() ??
        (url.startsWith('/model/')
          ? files.get(url.slice(7))
          : url.startsWith('/plain/')
            ? plain.get(url.slice(7))
            : url.startsWith('/img/')
              ? readFileSync(join(dir, 'test', url.slice(5)))
              : undefined);
      res.statusCode = body ? 200 : 404;
      res.setHeader(
        'content-type',
        url.endsWith('.js')
          ? 'text/javascript'
          : url.endsWith('.json')
            ? 'application/json'
            : url.endsWith('.png')
              ? 'image/png'
              : url === '/'
                ? 'text/html'
                : 'application/octet-stream',
      );
      res.end(body ? Buffer.from(body) : '');
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server!.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const tmPage = await b.context.newPage();
    try {
      await tmPage.goto(`http://127.0.0.1:${port}/`);
      const tm = await tmPage.evaluate(async (list) => {
        const w = window as typeof window & {
          tmImage: {
            load(
              m: string,
              md: string,
            ): Promise<{ predict(img: HTMLImageElement): Promise<Array<{ className: string; probability: number }>> }>;
          };
          tf: { version: { tfjs: string } };
        };
        const model = await w.tmImage.load('/model/model.json', '/model/metadata.json');
        const metadata = await (await fetch('/plain/metadata.json')).json();
        const control = await w.tmImage.load('/plain/model.json', { ...metadata, grayscale: true } as unknown as string);
        const out: Record<string, string> = {};
        const ctl: Record<string, string> = {};
        for (const name of list) {
          const img = new Image();
          img.src = `/img/${name}`;
          await img.decode();
          const top = (preds: Array<{ className: string; probability: number }>) =>
            preds.reduce((a, p) => (p.probability > a.probability ? p : a)).className;
          out[name] = top(await model.predict(img));
          ctl[name] = top(await control.predict(img));
        }
        return { tfjs: w.tf.version.tfjs, out, ctl };
      }, names);
      expect(tm.tfjs).toBe('1.3.1');
      const agree = names.filter((n) => tm.out[n] === app.get(n)!.label).length;
      expect(agree / names.length).toBeGreaterThanOrEqual(0.98);
      const controlAgree = names.filter((n) => tm.ctl[n] === app.get(n)!.label).length;
      console.log(
        `Teachable Machine runtime: ${agree}/${names.length} agree with the app; the unscaled TF.js export: ${controlAgree}/${names.length}`,
      );
      expect(controlAgree).toBeLessThan(names.length);
    } finally {
      await tmPage.close();
    }
  });

  it("the ONNX export with its preprocess.js gives the app's confidences in onnxruntime-node", async () => {
    const files = zips.get('onnx')!;
    writeFileSync(join(dir, 'preprocess.js'), files.get('preprocess.js')!);
    const pre = (await import(pathToFileURL(join(dir, 'preprocess.js')).href)) as {
      preprocessRGBA: (rgba: Uint8Array, w: number, h: number, c: object) => { data: Float32Array; shape: number[] };
      MODEL: { labels: string[] };
    };
    const session = await ort.InferenceSession.create(files.get('model.onnx')!);
    try {
      for (const name of names) {
        const png = pngjs.PNG.sync.read(readFileSync(join(dir, 'test', name)));
        const { data, shape } = pre.preprocessRGBA(png.data, png.width, png.height, pre.MODEL);
        const probs = Array.from((await session.run({ image: new ort.Tensor('float32', data, shape) })).probabilities.data as Float32Array);
        const top = probs.indexOf(Math.max(...probs));
        expect(pre.MODEL.labels[top], name).toBe(app.get(name)!.label);
        // The page shows one decimal of a percent.
        expect(Math.abs(probs[top] - app.get(name)!.confidence), name).toBeLessThanOrEqual(0.0005 + 1e-4);
      }
    } finally {
      await session.release();
    }
  });
});
