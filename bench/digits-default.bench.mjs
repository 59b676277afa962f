// npm run bench:digits-default — the Train stage's default run on the Digits demo, as a new user
// meets it: the built app (dist/) in headless Chromium, the first-run demo import, then "Start
// training" on the Train stage without touching a setting (backend "auto": the probe picks; WebGPU
// and WebGL on SwiftShader are offered to it as a browser would). Reports the version's test
// accuracy, the backend, epochs run (early stopping), the epoch whose weights were kept, wall time
// from the click to the finished version, the browser's CPU seconds over that time (what the run
// cost, whatever else shares the machine) and the load average.
// Goal (issue 14): >= 97.5% test accuracy in about a minute on a 2-core machine.
// Usage: npm run bench:digits-default [-- --runs=N]. Writes bench/results/digits-default.json.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { findChromium } from '../scripts/ensure-chromium.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results', 'digits-default.json');
const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 1);
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
];

if (!existsSync(join(ROOT, 'dist', 'index.html'))) throw new Error('No dist/: run npm run build first.');

/**
 * CPU seconds used so far by this script's descendants (the browser and its renderer, GPU and
 * utility processes; Linux /proc). On a shared machine the wall time stretches with the load;
 * the browser's CPU time over the run is what the run itself cost.
 */
function browserCpuSeconds() {
  const parent = new Map();
  const ticks = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(pid, f[1]);
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  const mine = (pid) => {
    for (let p = pid, hops = 0; p && p !== '0' && hops < 64; p = parent.get(p), hops++) if (p === String(process.pid)) return true;
    return false;
  };
  let total = 0;
  for (const [pid, t] of ticks) if (pid !== String(process.pid) && mine(pid)) total += t;
  return total / 100; // USER_HZ is 100 on Linux
}

/** Resolves once IndexedDB holds a finished demo import (state complete). */
async function demoImported(page) {
  for (const t0 = Date.now(); Date.now() - t0 < 600_000;) {
    const done = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open('trainyard');
          open.onerror = () => resolve(false);
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains('imports')) return (db.close(), resolve(false));
            const req = db.transaction('imports').objectStore('imports').getAll();
            req.onsuccess = () => (db.close(), resolve(req.result.some((s) => s.source?.kind === 'demo' && s.state === 'complete')));
            req.onerror = () => (db.close(), resolve(false));
          };
        }),
    );
    if (done) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('the demo import did not finish in 10 minutes');
}

/** The newest model version's figures, read from IndexedDB. */
function newestVersion(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('trainyard');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const req = db.transaction('models').objectStore('models').getAll();
          req.onsuccess = () => {
            db.close();
            const v = req.result.sort((a, b) => b.createdAt - a.createdAt)[0];
            if (!v) return resolve(null);
            const m = v.meta;
            resolve({
              id: v.id,
              accuracy: m.metrics.accuracy,
              backend: m.backend,
              epochs: m.timings.epochs,
              trainSeconds: m.timings.trainMs / 1000,
              history: m.history,
              hyperparameters: m.hyperparameters,
            });
          };
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

const browser = await chromium.launch({ executablePath: findChromium(), args: ARGS });
const server = await startServer({ root: join(ROOT, 'dist'), port: 0 });
const runs = [];
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  await demoImported(page);
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${server.url}#/`);
    await page.getByRole('link', { name: 'Digits demo', exact: true }).click();
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByRole('button', { name: 'Start training' }).waitFor();
    const load = os.loadavg()[0];
    const cpu0 = browserCpuSeconds();
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Start training' }).click();
    const outcome = page.getByTestId('train-outcome');
    await outcome.waitFor({ state: 'detached', timeout: 30_000 }).catch(() => {});
    await outcome.waitFor({ timeout: 1_800_000 });
    const wallSeconds = (Date.now() - t0) / 1000;
    const cpuSeconds = browserCpuSeconds() - cpu0;
    const outcomeText = (await outcome.innerText()).replace(/\s+/g, ' ').trim();
    const v = await newestVersion(page);
    const valLosses = (v?.history ?? []).map((h) => h.valLoss);
    const kept = valLosses.length ? valLosses.indexOf(Math.min(...valLosses)) + 1 : null;
    const run = {
      outcome: outcomeText,
      testAccuracy: v ? +(v.accuracy * 100).toFixed(2) : null,
      backend: v?.backend ?? null,
      epochsRun: v?.epochs ?? null,
      epochKept: kept,
      trainSeconds: v ? +v.trainSeconds.toFixed(1) : null,
      wallSeconds: +wallSeconds.toFixed(1),
      /** CPU time the browser's processes used from the click to the finished version (all threads). */
      browserCpuSeconds: +cpuSeconds.toFixed(1),
      loadAverageAtStart: +load.toFixed(2),
      loadAverageAtEnd: +os.loadavg()[0].toFixed(2),
    };
    runs.push(run);
    console.log(JSON.stringify(run));
  }
} finally {
  await browser.close();
  await server.close();
}
mkdirSync(dirname(RESULTS), { recursive: true });
writeFileSync(
  RESULTS,
  JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, at: new Date().toISOString(), runs }, null, 2) + '\n',
);
console.log(`wrote ${RESULTS}`);
