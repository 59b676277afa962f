// A Svelte component in real headless Chromium without the app: the entry file (which mounts the
// component) is bundled with esbuild, its .svelte files compiled by svelte/compiler in a small
// esbuild plugin, and served from a throwaway server that `close()` stops with the browser.
// For component e2e tests (test/e2e/box-editor.e2e.ts) that need no built app and no global setup.
import { build, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { compile } from 'svelte/compiler';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import { BASE_FLAGS } from '../e2e/chromium-flags';

/** Compiles .svelte files for the browser (TypeScript in `<script lang="ts">` included, CSS injected). */
export const sveltePlugin: Plugin = {
  name: 'svelte-compile',
  setup(b) {
    b.onLoad({ filter: /\.svelte$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const out = compile(source, { filename: path, generate: 'client', css: 'injected', dev: false });
      return { contents: out.js.code, loader: 'js', warnings: out.warnings.map((w) => ({ text: `${w.code}: ${w.message}` })) };
    });
  },
};

export interface ComponentPage {
  page: Page;
  browser: Browser;
  close(): Promise<void>;
}

export async function openComponentPage(entry: string, viewport = { width: 800, height: 600 }): Promise<ComponentPage> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    conditions: ['svelte', 'browser'],
    write: false,
    logLevel: 'silent',
    plugins: [sveltePlugin],
  });
  const files: Record<string, [string, Uint8Array | string]> = {
    '/': [
      'text/html',
      '<!doctype html><html lang="en"><meta charset="utf-8"><title>component</title><body><div id="app"></div><script src="/app.js"></script></body></html>',
    ],
    '/app.js': ['text/javascript', bundle.outputFiles[0].contents],
  };
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: BASE_FLAGS });
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  if (errors.length) throw new Error(`The component page failed: ${errors.join('; ')}`);
  return {
    page,
    browser,
    async close() {
      await browser.close();
      server.close();
    },
  };
}
