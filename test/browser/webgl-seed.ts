// Seeded runs on WebGL in headless Chromium (SwiftShader's WebGL where there is no GPU), for
// test/unit/seed-webgl.test.ts and bench/seed-backends.bench.ts: WebGL has no Node runtime. The
// page is a bundle of test/browser/seed-run.entry.ts (the app's model, optimizer and training
// loop), served with only the digits the run uses, from a server that `close()` stops.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { SeedRunOptions } from '../../bench/lib/seed-run';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import { BASE_FLAGS } from '../e2e/chromium-flags';

export interface BrowserRun {
  /** The backend TF.js really ran on (it falls back silently when one does not start). */
  backend: string;
  accuracy: number;
  seconds: number;
  weights: Float32Array[];
}

export interface SeedPage {
  trainSeeded(backend: string): Promise<BrowserRun>;
  firstStepGradients(backend: string, training?: boolean): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export async function openSeedPage(options: SeedRunOptions): Promise<SeedPage> {
  const bundle = await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'seed-run.entry.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const { shape } = options.set;
  const f = shape[0] * shape[1] * shape[2];
  // Only the rows the run uses travel, renumbered: train rows first, then test rows.
  const rows = [...options.train, ...options.test];
  const x = new Float32Array(rows.length * f);
  rows.forEach((r, i) => x.set(options.set.x.subarray(r * f, (r + 1) * f), i * f));
  const files: Record<string, [string, Uint8Array | string]> = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>seed run</title><script src="/run.js"></script>'],
    '/run.js': ['text/javascript', bundle.outputFiles[0].contents],
    '/digits.bin': ['application/octet-stream', new Uint8Array(x.buffer)],
    '/labels.json': ['application/json', JSON.stringify(rows.map((r) => options.set.y[r]))],
  };
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [...BASE_FLAGS, '--enable-unsafe-swiftshader'],
  });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const pageOptions = {
    train: options.train.map((_, i) => i),
    test: options.test.map((_, i) => options.train.length + i),
    epochs: options.epochs,
    batchSize: options.batchSize,
    seed: options.seed,
  };
  return {
    async trainSeeded(backend) {
      const run = await page.evaluate(({ backend, o, shape }) => window.trainSeeded(backend, o, shape), { backend, o: pageOptions, shape });
      return { ...run, weights: run.weights.map((w) => Float32Array.from(w)) };
    },
    async firstStepGradients(backend, training = false) {
      const grads = await page.evaluate(({ backend, o, shape, training }) => window.firstStepGradients(backend, o, shape, training), {
        backend,
        o: pageOptions,
        shape,
        training,
      });
      return grads.map((g) => Float32Array.from(g));
    },
    async close() {
      await browser.close();
      server.close();
    },
  };
}
