// Vitest globalSetup for the e2e projects: serves the built app (dist/) once for all e2e files,
// with the production headers (scripts/serve.mjs), and makes one Chromium profile in which the
// first-run Digits demo import has finished. Tests that start from the demo (most of them) copy
// that profile instead of each paying for the 5,000-image import (~12 s alone, ~30 s beside
// other work on a 2-core CI machine, in every one of ~30 files). Tests of the first visit itself
// launch on a fresh profile, as before.
//
// Both e2e projects (e2e and reliability-e2e) name this file; Vitest runs it once per project in
// the same process, so the server and the profile are made once and shared (IndexedDB is keyed
// by origin, so a profile only fits the server whose port it was made on).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { BASE_FLAGS } from './chromium-flags';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    /** A closed Chromium profile holding the imported Digits demo, made for baseUrl's origin. */
    demoProfile: string;
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_NAME = 'Digits demo';
const DEMO_TIMEOUT = 180_000;

interface Shared {
  url: string;
  demoProfile: string;
  users: number;
  close(): Promise<void>;
}

const SHARED_KEY = Symbol.for('trainyard.e2e.shared');
type WithShared = typeof globalThis & { [SHARED_KEY]?: Promise<Shared> };

/** Opens the app on a fresh profile, waits for the demo import to finish, and closes the browser. */
async function makeDemoProfile(url: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-demo-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: findChromium(),
    headless: true,
    args: BASE_FLAGS,
    timeout: 60_000,
  });
  try {
    const page = await context.newPage();
    await page.goto(new URL('#/', url).href);
    const card = page.getByRole('listitem', { name: DEMO_NAME, exact: true });
    await card
      .getByTestId('sample-count')
      .filter({ hasText: /^\s*5,000 images\s*$/ })
      .waitFor({ timeout: DEMO_TIMEOUT });
    await page.getByRole('progressbar', { name: `Importing into ${DEMO_NAME}` }).waitFor({ state: 'detached', timeout: DEMO_TIMEOUT });
    // The service worker has installed and precached by now on a normal first visit; wait for it
    // so every copy starts as a returning visitor's browser does.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  } finally {
    await context.close();
  }
  return dir;
}

async function start(): Promise<Shared> {
  // TRAINYARD_DIST lets a test run against another build (e.g. a throwaway one) without
  // touching dist/.
  const root = resolve(ROOT, process.env.TRAINYARD_DIST || 'dist');
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`${join(root, 'index.html')} not found: run npm run build first`);
  }
  const server = await startServer({ root, port: 0 });
  let demoProfile: string;
  try {
    demoProfile = await makeDemoProfile(server.url);
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    url: server.url,
    demoProfile,
    users: 0,
    close: async () => {
      await server.close();
      rmSync(demoProfile, { recursive: true, force: true });
    },
  };
}

export default async function ({ provide }: TestProject) {
  const g = globalThis as WithShared;
  const pending = (g[SHARED_KEY] ??= start());
  let shared: Shared;
  try {
    shared = await pending;
  } catch (err) {
    delete g[SHARED_KEY];
    throw err;
  }
  shared.users++;
  provide('baseUrl', shared.url);
  provide('demoProfile', shared.demoProfile);
  return async () => {
    if (--shared.users > 0) return;
    delete g[SHARED_KEY];
    await shared.close();
  };
}
