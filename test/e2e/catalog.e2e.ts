// The backbone catalog and "Quick model" as a person meets them, without the internet: the app is
// built once into dist-catalog-test/ with its catalog origin pointing at a second local server
// (another port, so another origin, answering with CORS and CORP headers), which serves backbones
// generated here with the catalog's contract: a good one, a corrupt one (NaN weights), a truncated
// one (the connection drops half way), one whose size is a lie (more bytes than model.json says)
// and a slow one to cancel. Each failure leaves nothing in IndexedDB; a 3 x 15 colour-photo
// project trained through Quick model beats the from-scratch defaults, and trains again offline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported } from './app-helpers';
import { startServer } from '../../scripts/serve.mjs';
import { CATALOG, catalogEntry } from '../../src/lib/ml/backbone-catalog';
import { corruptWeights, oversizedWeights, tinyCatalogBackbone, type ServedModel } from '../fixtures/catalog-backbones';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = resolve(ROOT, 'dist-catalog-test');
const CLASSES = ['red', 'green', 'blue'];
// Colours of (nearly) equal luminance: in grayscale the classes look alike, in colour they differ.
const COLOURS: Record<string, [number, number, number]> = { red: [230, 80, 60], green: [40, 170, 60], blue: [60, 110, 250] };

/** 96x96 RGB "photos": a disc of the class colour on a noisy background, seeded. */
function writePhotos(root: string, perClass: number): void {
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const cls of CLASSES) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const png = new pngjs.PNG({ width: 96, height: 96 });
      const cx = 30 + rand() * 36,
        cy = 30 + rand() * 36,
        r = 18 + rand() * 12;
      for (let y = 0; y < 96; y++) {
        for (let x = 0; x < 96; x++) {
          const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
          const base = inside ? COLOURS[cls] : [120, 120, 120];
          const px = base.map((v) => Math.max(0, Math.min(255, Math.round(v + (rand() - 0.5) * 60))));
          png.data.set([...px, 255], (y * 96 + x) * 4);
        }
      }
      writeFileSync(join(root, cls, `${cls}-${i}.png`), pngjs.PNG.sync.write(png));
    }
  }
}

type Mode = 'good' | 'corrupt' | 'truncated' | 'oversized' | 'slow';
const MODES: Record<string, Mode> = {
  'mobilenet-v2-0.35-224': 'good',
  'mobilenet-v2-0.50-224': 'corrupt',
  'mobilenet-v2-0.75-224': 'truncated',
  'mobilenet-v2-1.00-224': 'oversized',
  'mobilenet-v1-0.25-96-gray': 'slow',
};

function gotoStage(page: Page, stage: 'Data' | 'Train') {
  return page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();
}

/** Records in the backbone stores of the app's IndexedDB (both must stay empty after a failure). */
function storedBackbones(page: Page): Promise<number[]> {
  return page.evaluate(
    () =>
      new Promise<number[]>((ok, fail) => {
        const req = indexedDB.open('trainyard');
        req.onerror = () => fail(req.error);
        req.onsuccess = () => {
          const tx = req.result.transaction(['backbones', 'backboneWeights']);
          const a = tx.objectStore('backbones').count();
          const b = tx.objectStore('backboneWeights').count();
          tx.oncomplete = () => (req.result.close(), ok([a.result, b.result]));
        };
      }),
  );
}

/** The newest version's test accuracy and backbone fingerprint, from IndexedDB. */
function newestVersion(page: Page): Promise<{ number: number; accuracy: number; sha256: string | null }> {
  return page.evaluate(
    () =>
      new Promise((ok, fail) => {
        const req = indexedDB.open('trainyard');
        req.onerror = () => fail(req.error);
        req.onsuccess = () => {
          const all = req.result.transaction('models').objectStore('models').getAll();
          all.onsuccess = () => {
            req.result.close();
            const v = (
              all.result as Array<{
                number: number;
                createdAt: number;
                meta: { metrics: { accuracy: number }; backbone?: { sha256?: string } };
              }>
            ).sort((x, y) => y.createdAt - x.createdAt)[0];
            ok({ number: v.number, accuracy: v.meta.metrics.accuracy, sha256: v.meta.backbone?.sha256 ?? null });
          };
        };
      }),
  );
}

describe('backbone catalog and Quick model', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let catalogServer: Server;
  let app: { url: string; close: () => Promise<void> };
  const served = new Map<string, ServedModel>();
  const requests: string[] = [];
  let goodSha = '';

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'trainyard-catalog-'));
    writePhotos(join(dir, 'photos'), 15);
    for (const e of CATALOG) {
      const good = await tinyCatalogBackbone(e);
      served.set(e.id, MODES[e.id] === 'corrupt' ? corruptWeights(good) : MODES[e.id] === 'oversized' ? oversizedWeights(good) : good);
    }
    goodSha = createHash('sha256').update(served.get('mobilenet-v2-0.35-224')!['weights.bin']).digest('hex');

    catalogServer = createServer((req, res) => {
      requests.push(req.url ?? '');
      const entry = CATALOG.find((e) => (req.url ?? '').startsWith(e.path.replace(/model\.json$/, '')));
      const name = (req.url ?? '').split('/').pop() as keyof ServedModel;
      const body = entry && served.get(entry.id)?.[name];
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      if (!entry || body === undefined) {
        res.statusCode = 404;
        return res.end();
      }
      const bytes = Buffer.from(body);
      const mode = MODES[entry.id];
      if (name === 'weights.bin' && (mode === 'truncated' || mode === 'slow')) {
        res.writeHead(200, { 'Content-Length': bytes.byteLength, 'Content-Type': 'application/octet-stream' });
        res.write(bytes.subarray(0, bytes.byteLength >> 1));
        if (mode === 'truncated') setTimeout(() => res.destroy(), 50);
        return; // slow: the rest never comes; the test cancels
      }
      res.end(bytes);
    }).listen(0, '127.0.0.1');
    await new Promise((r) => catalogServer.once('listening', r));
    const origin = `http://127.0.0.1:${(catalogServer.address() as { port: number }).port}`;

    // One build of the app for this origin (about 20 s alone); dist/ stays the default build.
    execFileSync(
      process.execPath,
      [resolve(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', OUT, '--emptyOutDir', '--logLevel', 'warn'],
      {
        cwd: ROOT,
        env: { ...process.env, TRAINYARD_CATALOG_ORIGIN: origin },
        stdio: 'inherit',
      },
    );
    app = await startServer({ root: OUT, port: 0 });
    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(app.url);
    await waitForDemoImported(page);
  }, 400_000);

  afterAll(async () => {
    catalogServer?.closeAllConnections();
    catalogServer?.close();
    await b?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the catalog before fetching, and each failed download leaves nothing behind', async () => {
    await createProject(page, 'Photos');
    await pickFolder(page, join(dir, 'photos'));
    expect((await importAndReport(page)).imported).toBe(45);
    await gotoStage(page, 'Train');
    const table = page.getByRole('table', { name: 'Pretrained backbones' });
    await table.waitFor();
    expect(await table.getByRole('row').nth(1).innerText()).toMatch(
      /MobileNet v2 0\.35 \(224 px, RGB\)\s+224×224 px\s+colour \(RGB\)\s+1280\s+about 1\.6 MB\s+Apache-2\.0/,
    );
    expect(requests).toEqual([]); // nothing fetched just by looking

    // The first call to the training worker also runs its one-time backend probe: minutes on a loaded 2-core machine.
    const attempt = async (name: string, why: RegExp, timeout = 60_000) => {
      await page.getByRole('button', { name: `Download ${name}` }).click();
      const alert = page.getByTestId('catalog-error');
      await alert.filter({ hasText: why }).waitFor({ timeout });
      expect(await storedBackbones(page)).toEqual([0, 0]);
    };
    await attempt(catalogEntry('mobilenet-v2-0.50-224')!.name, /NaN or infinite/, 240_000);
    await attempt(catalogEntry('mobilenet-v2-0.75-224')!.name, /cut off after/);
    await attempt(catalogEntry('mobilenet-v2-1.00-224')!.name, /weights\.bin is [\d,]+ bytes; the limit is/);

    // Cancel: progress shows bytes, then nothing is kept.
    await page.getByRole('button', { name: `Download ${catalogEntry('mobilenet-v1-0.25-96-gray')!.name}` }).click();
    await page
      .getByTestId('catalog-progress')
      .filter({ hasText: / of [\d.]+ KB/ })
      .waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Cancel download' }).click();
    await page.getByTestId('catalog-error').filter({ hasText: 'Download cancelled; nothing was stored.' }).waitFor({ timeout: 30_000 });
    expect(await storedBackbones(page)).toEqual([0, 0]);

    // Offline: a clear message instead of a request.
    const before = requests.length;
    await b.context.setOffline(true);
    await page.getByRole('button', { name: `Download ${catalogEntry('mobilenet-v2-0.35-224')!.name}` }).click();
    await page.getByTestId('catalog-error').filter({ hasText: 'You are offline: import a backbone zip instead.' }).waitFor();
    await b.context.setOffline(false);
    expect(requests.length).toBe(before);
    expect(await storedBackbones(page)).toEqual([0, 0]);
    expect(page.cspViolations()).toEqual([]);
  }, 420_000);

  it('Quick model on photos beats training from scratch, and works offline after the download', async () => {
    const proposals = page.getByRole('region', { name: 'Suggested for this data' });
    const why = await proposals.getByRole('list', { name: /Why: Transfer learning on MobileNet v2 0\.35/ }).innerText();
    expect(why).toMatch(/in colour/);
    expect(why).toMatch(/smallest class has 15 images \(under 50\)/);
    await proposals.getByRole('button', { name: 'Quick model' }).click();
    await page
      .getByTestId('quick-model-result')
      .filter({ hasText: /Quick model ready/ })
      .waitFor({ timeout: 240_000 });
    const quick = await newestVersion(page);
    expect(quick.sha256).toBe(goodSha); // the version carries the backbone's fingerprint
    expect(await page.getByRole('list', { name: 'Stored backbones' }).innerText()).toContain(`SHA-256 ${goodSha}`);
    expect(await storedBackbones(page)).toEqual([1, 1]);

    // From scratch with the defaults (a fresh page: default settings, no backbone).
    await page.reload();
    await gotoStage(page, 'Train');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page
      .getByTestId('train-outcome')
      .filter({ hasText: /Run completed/ })
      .waitFor({ timeout: 240_000 });
    const scratch = await newestVersion(page);
    expect(scratch.number).toBe(quick.number + 1);
    expect(scratch.sha256).toBeNull();
    console.info(`test accuracy: Quick model ${quick.accuracy}, from scratch with the defaults ${scratch.accuracy}`);
    expect(quick.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(quick.accuracy - scratch.accuracy).toBeGreaterThanOrEqual(0.25);

    // Offline: Quick model trains again from the stored backbone, with no request to the catalog.
    const before = requests.length;
    await b.context.setOffline(true);
    await page.getByRole('region', { name: 'Suggested for this data' }).getByRole('button', { name: 'Quick model' }).click();
    await page
      .getByTestId('quick-model-result')
      .filter({ hasText: /Quick model ready/ })
      .waitFor({ timeout: 240_000 });
    await b.context.setOffline(false);
    const again = await newestVersion(page);
    expect(again.number).toBe(scratch.number + 1);
    expect(again.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(requests.length).toBe(before);
    expect(page.cspViolations()).toEqual([]);
  });
});
