// npm run bench:label — active learning against random acquisition on the Digits demo, with the
// true labels as the oracle: start from 50 labels, acquire 50 at a time up to 500, retrain after
// each step; 3 seeds per strategy. Training uses the app's MLP builder and training loop, and
// acquisition the app's uncertainty + k-center code, in Node (TF.js CPU backend: the browser's
// software GPU would make 60 retrainings take hours). Then pre-labeling throughput is measured in
// the built app in headless Chromium (real inference worker). Writes bench/results/label.json.
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { chromium } from 'playwright-core';
import { loadDigitsDemo } from './lib/digits-demo';
import { accuracy, featureRows, fit, predictRows, type ArraySet } from './lib/array-trainer';
import { selectBatch } from '../src/lib/label/diversity';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
// @ts-expect-error plain ESM helpers without types
import { startServer } from '../scripts/serve.mjs';
// @ts-expect-error plain ESM helpers without types
import { findChromium } from '../scripts/ensure-chromium.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const START = 50;
const STEP = 50;
const END = 500;
const SEEDS = [1, 2, 3];
const TEST_SIZE = 1000;
/** Gradient steps per retraining, whatever the label count: small sets get more epochs. */
const STEPS = 300;
const BATCH = 32;

type Strategy = 'random' | 'margin' | 'margin+kcenter';
const STRATEGIES: Strategy[] = ['random', 'margin', 'margin+kcenter'];

async function curve(set: ArraySet, pool: number[], test: number[], seed: number, strategy: Strategy): Promise<Array<{ labels: number; accuracy: number }>> {
  const rand = mulberry32(seed * 1000 + 17);
  const labeled = shuffleInPlace(pool.slice(), mulberry32(seed)).slice(0, START);
  const points: Array<{ labels: number; accuracy: number }> = [];
  for (;;) {
    const epochs = Math.max(1, Math.round((STEPS * BATCH) / labeled.length));
    const { model } = await fit(set, labeled, {
      architecture: { kind: 'mlp', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.2, hidden: [128] },
      epochs, batchSize: BATCH, learningRate: 0.002, seed: seed + labeled.length,
    });
    try {
      points.push({ labels: labeled.length, accuracy: accuracy(await predictRows(model, set, test), set, test) });
      if (labeled.length >= END) return points;
      const taken = new Set(labeled);
      const unlabeled = pool.filter((i) => !taken.has(i));
      if (strategy === 'random') {
        labeled.push(...shuffleInPlace(unlabeled, rand).slice(0, STEP));
      } else {
        const probs = await predictRows(model, set, unlabeled);
        const diversity = strategy === 'margin+kcenter';
        const features = diversity ? await featureRows(model, set, unlabeled) : null;
        const dim = features ? features.length / unlabeled.length : 0;
        const picked = selectBatch(probs, 10, features, dim, { strategy: 'margin', batchSize: STEP, diversity });
        labeled.push(...picked.map((i) => unlabeled[i]));
      }
    } finally {
      model.dispose();
    }
  }
}

function mean(curves: Array<Array<{ labels: number; accuracy: number }>>): Array<{ labels: number; accuracy: number }> {
  return curves[0].map((p, i) => ({ labels: p.labels, accuracy: curves.reduce((s, c) => s + c[i].accuracy, 0) / curves.length }));
}

/** Labels active learning needs to reach `target` (linear interpolation between steps), or null. */
function labelsToReach(points: Array<{ labels: number; accuracy: number }>, target: number): number | null {
  for (let i = 0; i < points.length; i++) {
    if (points[i].accuracy >= target) {
      if (i === 0) return points[0].labels;
      const a = points[i - 1];
      const b = points[i];
      return Math.round(a.labels + ((target - a.accuracy) / (b.accuracy - a.accuracy)) * (b.labels - a.labels));
    }
  }
  return null;
}

async function prelabelThroughput(demo: Awaited<ReturnType<typeof loadDigitsDemo>>): Promise<{ images: number; imagesPerSecond: number; cycleSeconds: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-bench-label-'));
  const rand = mulberry32(5);
  const order = shuffleInPlace(demo.y.map((_, i) => i), rand);
  const labeled = order.filter((_, k, all) => all.slice(0, k).filter((j) => demo.y[j] === demo.y[all[k]]).length < 40).slice(0, 400);
  const isLabeled = new Set(labeled);
  const write = (i: number, path: string) => {
    const png = new pngjs.PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) {
      const v = Math.round(demo.x[i * 784 + p] * 255);
      png.data.set([v, v, v, 255], p * 4);
    }
    writeFileSync(path, pngjs.PNG.sync.write(png, { colorType: 0 }));
  };
  const poolFiles: string[] = [];
  for (const i of order) {
    if (isLabeled.has(i)) {
      mkdirSync(join(dir, 'labeled', String(demo.y[i])), { recursive: true });
      write(i, join(dir, 'labeled', String(demo.y[i]), `d${i}.png`));
    } else {
      mkdirSync(join(dir, 'pool'), { recursive: true });
      const f = join(dir, 'pool', `d${i}.png`);
      write(i, f);
      poolFiles.push(f);
    }
  }
  const server = await startServer({ root: join(ROOT, 'dist'), port: 0 });
  const browser = await chromium.launch({ executablePath: findChromium(), args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'] });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(300_000);
    await page.goto(server.url);
    const step = (what: string) => console.log(`  browser: ${what}`);
    // A fresh profile imports the Digits demo first; one import runs at a time.
    step('waiting for the Digits demo import');
    await page.getByRole('progressbar', { name: 'Importing into Digits demo' }).waitFor({ state: 'attached' }).catch(() => undefined);
    await page.getByRole('progressbar', { name: 'Importing into Digits demo' }).waitFor({ state: 'detached' });
    step('creating the project');
    await page.getByLabel('New project name').fill('Label bench');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(/#\/p\/[^/]+\/data$/);
    const importAll = async () => {
      const panel = page.getByRole('region', { name: 'Import', exact: true });
      await panel.getByRole('button', { name: 'Start import' }).click();
      await panel.getByRole('heading', { name: /^Import (finished|cancelled|failed)$/ }).waitFor();
      await panel.getByRole('button', { name: 'Close report' }).click();
    };
    step('importing 400 labeled digits');
    await page.locator('input[webkitdirectory]').setInputFiles(join(dir, 'labeled'));
    await importAll();
    step(`importing ${poolFiles.length} unlabeled digits`);
    await page.getByLabel('Choose files to import').setInputFiles(poolFiles);
    await importAll();
    const stage = (name: string) => page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
    step('training the first model (2 epochs)');
    await stage('Train');
    await page.getByRole('spinbutton', { name: 'Epochs', exact: true }).fill('2');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByTestId('train-outcome').filter({ hasText: /Run completed/ }).waitFor();
    step('pre-labeling');
    await stage('Label');
    await page.getByRole('button', { name: /^Pre-label \d+ unlabeled$/ }).click();
    const status = page.getByTestId('label-status').filter({ hasText: /Pre-labeled \d+ images/ });
    await status.waitFor();
    const m = /Pre-labeled (\d+) images \((\d+) images\/s\)/.exec(await status.innerText())!;
    step('one label -> retrain -> re-rank cycle');
    // One loop turn: label a batch of 50 (accept the model's pre-labels), retrain, re-rank.
    await page.getByRole('button', { name: /^Select next batch/ }).click();
    await page.getByRole('button', { name: 'Accept pre-label (Enter)' }).click();
    await page.getByLabel('Retrain epochs').fill('1');
    await page.getByRole('button', { name: 'Retrain now' }).click();
    const cycle = page.getByTestId('label-status').filter({ hasText: /re-ranked in/ });
    await cycle.waitFor();
    const c = /re-ranked in ([\d.]+) s/.exec(await cycle.innerText());
    return { images: Number(m[1]), imagesPerSecond: Number(m[2]), cycleSeconds: c ? Number(c[1]) : null };
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const demo = await loadDigitsDemo();
  const resultsPath = join(ROOT, 'bench', 'results', 'label.json');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  let out: Record<string, unknown> = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
  if (!process.argv.includes('--no-sim')) out = { ...(await simulate(demo)), prelabel: null };
  writeFileSync(resultsPath, JSON.stringify(out, null, 2));
  if (!process.argv.includes('--no-browser')) {
    const prelabel = await prelabelThroughput(demo);
    console.log(`Pre-labeling in the app: ${prelabel.images} images at ${prelabel.imagesPerSecond} images/s; one label -> retrain (1 epoch, warm start) -> re-rank cycle: ${prelabel.cycleSeconds} s.`);
    out = { ...out, prelabel, prelabelDate: new Date().toISOString() };
    writeFileSync(resultsPath, JSON.stringify(out, null, 2));
  }
}

/** The active-learning simulation: every strategy's curve per seed, means, labels needed. */
async function simulate(demo: Awaited<ReturnType<typeof loadDigitsDemo>>): Promise<Record<string, unknown>> {
  await tf.setBackend('cpu');
  const set: ArraySet = { x: demo.x, y: demo.y, shape: [28, 28, 1], numClasses: 10 };
  const order = shuffleInPlace(demo.y.map((_, i) => i), mulberry32(424242));
  const test = order.slice(0, TEST_SIZE);
  const pool = order.slice(TEST_SIZE);
  const results = Object.fromEntries(STRATEGIES.map((s) => [s, [] as Array<Array<{ labels: number; accuracy: number }>>])) as Record<Strategy, Array<Array<{ labels: number; accuracy: number }>>>;
  const t0 = Date.now();
  for (const seed of SEEDS) {
    for (const strategy of STRATEGIES) {
      const c = await curve(set, pool, test, seed, strategy);
      results[strategy].push(c);
      console.log(`seed ${seed} ${strategy.padEnd(14)} ${c.map((p) => `${p.labels}:${(p.accuracy * 100).toFixed(1)}`).join(' ')}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  const means = Object.fromEntries(STRATEGIES.map((s) => [s, mean(results[s])])) as Record<Strategy, Array<{ labels: number; accuracy: number }>>;
  const target = means.random.at(-1)!.accuracy;
  console.log(`\nlabels  ${STRATEGIES.map((s) => s.padStart(14)).join('')}   (mean test accuracy over seeds, %)`);
  means.random.forEach((p, i) => console.log(`${String(p.labels).padStart(6)}  ${STRATEGIES.map((s) => (means[s][i].accuracy * 100).toFixed(1).padStart(14)).join('')}`));
  const needed: Partial<Record<Strategy, number | null>> = {};
  for (const s of STRATEGIES.filter((x) => x !== 'random')) {
    needed[s] = labelsToReach(means[s], target);
    const share = needed[s] === null ? null : needed[s]! / END;
    console.log(`Random acquisition reaches ${(target * 100).toFixed(1)}% with ${END} labels; ${s} reaches it with ${needed[s] ?? `more than ${END}`} labels${share === null ? '' : ` = ${(share * 100).toFixed(0)}% of the labels`} (goal: at most 60%).`);
  }
  return {
    date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, tfjsBackend: 'cpu (Node) for the simulation' },
    setup: { start: START, step: STEP, end: END, seeds: SEEDS, testSize: TEST_SIZE, steps: STEPS, batch: BATCH, model: 'MLP 784-128-10', acquisition: 'margin (top 50); margin + k-center greedy over the 5x batch most uncertain' },
    curves: results, means, randomAt500: target, labelsNeeded: needed,
  };
}

await main();
