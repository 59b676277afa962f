// npm run bench:label — active learning against random acquisition on the Digits demo, with the
// true labels as the oracle: start from 50 random labels, acquire 50 at a time up to 500, retrain
// after each step; 5 seeds per strategy. The simulation (bench/lib/al-sim.ts) trains the model the
// app trains by default (the Train stage's default settings: small CNN, Adam, dropout, light
// augmentation) with the app's batch code and training loop, on TF.js's WASM backend with
// Trainyard's training kernels, in Node, and acquires with the app's own acquisition code. It is
// deterministic: the same command prints the same curves. Then pre-labeling throughput is measured
// in the built app in headless Chromium (real inference worker). Writes bench/results/label.json and
// the figures the Label stage shows (src/lib/label/al-benchmark.json).
//
//   --no-sim / --no-browser           skip a part
//   --seeds=1,2,3,4,5                 seeds
//   --strategies=random,balanced-margin,...   (random is always run: it sets the target)
//   --share=0.1                       random share of each non-random batch
//   --schedule=warm|scratch --first-steps=N --steps=N
//   --jobs=N                          child processes sharing the curves (default: one per core)
//   --dry                             do not write the Label stage's JSON
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { chromium } from 'playwright-core';
import { loadDigitsDemo } from './lib/digits-demo';
import { labelsToReach, simulateCurve, type Curve, type SimConfig, type SimData } from './lib/al-sim';
import { ACQUISITION_STRATEGIES, type AcquisitionStrategy } from '../src/lib/label/acquisition';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { DEFAULT_SETTINGS } from '../src/lib/train/train-config';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
// @ts-expect-error plain ESM helpers without types
import { startServer } from '../scripts/serve.mjs';
// @ts-expect-error plain ESM helpers without types
import { findChromium } from '../scripts/ensure-chromium.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const START = 50;
const STEP = 50;
const END = 500;
const SEEDS = (arg('seeds') ?? '1,2,3,4,5').split(',').map(Number);
const TEST_SIZE = 1000;
const SCHEDULE: SimConfig['schedule'] = {
  mode: (arg('schedule') ?? 'warm') as 'warm' | 'scratch',
  firstSteps: Number(arg('first-steps') ?? 150),
  steps: Number(arg('steps') ?? 60),
};
const SHARE = Number(arg('share') ?? 0);
/** Child processes to spread the seeds over (the machine's cores by default); --worker marks a child. */
const JOBS = Number(arg('jobs') ?? cpus().length);
const WORKER = argv.includes('--worker');
const STRATEGIES: AcquisitionStrategy[] = [
  'random',
  ...((arg('strategies') ?? 'margin,balanced-margin,badge').split(',') as AcquisitionStrategy[]).filter((s) => s !== 'random'),
];
for (const s of STRATEGIES) if (!ACQUISITION_STRATEGIES.includes(s)) throw new Error(`unknown strategy ${s}`);

function mean(curves: Curve[]): Curve {
  return curves[0].map((p, i) => ({ labels: p.labels, accuracy: curves.reduce((s, c) => s + c[i].accuracy, 0) / curves.length }));
}

async function prelabelThroughput(
  demo: Awaited<ReturnType<typeof loadDigitsDemo>>,
): Promise<{ images: number; imagesPerSecond: number; cycleSeconds: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-bench-label-'));
  const rand = mulberry32(5);
  const order = shuffleInPlace(
    demo.y.map((_, i) => i),
    rand,
  );
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
  const browser = await chromium.launch({
    executablePath: findChromium(),
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--enable-unsafe-swiftshader',
      '--use-angle=swiftshader',
    ],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(300_000);
    await page.goto(server.url);
    const step = (what: string) => console.log(`  browser: ${what}`);
    // A fresh profile imports the Digits demo first; one import runs at a time.
    step('waiting for the Digits demo import');
    await page
      .getByRole('progressbar', { name: 'Importing into Digits demo' })
      .waitFor({ state: 'attached' })
      .catch(() => undefined);
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
    const stage = (name: string) =>
      page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
    step('training the first model (2 epochs)');
    await stage('Train');
    await page.getByRole('spinbutton', { name: 'Epochs', exact: true }).fill('2');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page
      .getByTestId('train-outcome')
      .filter({ hasText: /Run completed/ })
      .waitFor();
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

/** The figures the Label stage shows (src/lib/label/al-benchmark.ts reads them). */
function writeLabelStageFigures(sim: Record<string, unknown>): void {
  const r = sim as {
    date: string;
    machine: { cpu: string; cores: number };
    setup: { seeds: number[]; pool: number; test: number };
    randomAtEnd: number;
    summary: Record<string, { labelsPerSeed: Array<number | null>; meanLabels: number | null; worstLabels: number | null }>;
  };
  const figures = {
    date: r.date,
    machine: `${r.machine.cpu.trim()} (${r.machine.cores} cores), TF.js WASM in Node`,
    dataset: `the Digits demo (${r.setup.pool} unlabeled, ${r.setup.test} test images; ${START} random labels, then batches of ${STEP})`,
    model: `the Train stage's default small CNN (${SCHEDULE.mode === 'warm' ? 'warm-started' : 'from-scratch'} retraining after each batch)`,
    seeds: r.setup.seeds.length,
    end: END,
    randomAtEnd: r.randomAtEnd,
    strategies: Object.fromEntries(
      Object.entries(r.summary).map(([k, v]) => [
        k,
        { labelsPerSeed: v.labelsPerSeed, meanLabels: v.meanLabels, worstLabels: v.worstLabels },
      ]),
    ),
  };
  // A run of other strategies on the same setup has the same random curves (the simulation is
  // deterministic), so strategies measured by an earlier run against the same baseline are kept.
  const path = join(ROOT, 'src', 'lib', 'label', 'al-benchmark.json');
  const before = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as typeof figures) : null;
  const same =
    before &&
    before.dataset === figures.dataset &&
    before.model === figures.model &&
    before.seeds === figures.seeds &&
    before.end === figures.end &&
    before.randomAtEnd === figures.randomAtEnd;
  if (same) figures.strategies = { ...before.strategies, ...figures.strategies };
  writeFileSync(path, `${JSON.stringify(figures, null, 2)}\n`);
  console.log('Wrote src/lib/label/al-benchmark.json (shown on the Label stage).');
}

async function main() {
  const demo = await loadDigitsDemo();
  const resultsPath = join(ROOT, 'bench', 'results', 'label.json');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  let out: Record<string, unknown> = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
  if (!process.argv.includes('--no-sim')) {
    const sim = await simulate(demo);
    if (WORKER) return;
    out = { ...sim, prelabel: null };
    if (!process.argv.includes('--dry')) writeLabelStageFigures(out);
  }
  writeFileSync(resultsPath, JSON.stringify(out, null, 2));
  if (!process.argv.includes('--no-browser')) {
    const prelabel = await prelabelThroughput(demo);
    console.log(
      `Pre-labeling in the app: ${prelabel.images} images at ${prelabel.imagesPerSecond} images/s; one label -> retrain (1 epoch, warm start) -> re-rank cycle: ${prelabel.cycleSeconds} s.`,
    );
    out = { ...out, prelabel, prelabelDate: new Date().toISOString() };
    writeFileSync(resultsPath, JSON.stringify(out, null, 2));
  }
}

/** The active-learning simulation: every strategy's curve per seed, means, spread, labels needed. */
async function simulate(demo: Awaited<ReturnType<typeof loadDigitsDemo>>): Promise<Record<string, unknown>> {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('The TF.js WASM backend did not start.');
  const images = demo.y.map((_, i) => Uint8Array.from(demo.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
  const data: SimData = { images, labels: demo.y, size: 28, channels: 1, numClasses: 10 };
  const order = shuffleInPlace(
    demo.y.map((_, i) => i),
    mulberry32(424242),
  );
  const test = order.slice(0, TEST_SIZE);
  const pool = order.slice(TEST_SIZE);
  const cfg: SimConfig = { start: START, step: STEP, end: END, schedule: SCHEDULE };
  console.log(
    `Digits demo: pool ${pool.length}, test ${test.length}; ${START} -> ${END} labels by ${STEP}; seeds ${SEEDS.join(',')}; model: the Train stage's default (${DEFAULT_SETTINGS.architecture}, ${DEFAULT_SETTINGS.optimizer} ${DEFAULT_SETTINGS.learningRate}, batch ${DEFAULT_SETTINGS.batchSize}, dropout ${DEFAULT_SETTINGS.dropout}, augmentation ${DEFAULT_SETTINGS.augmentation}) on ${tf.getBackend()}; schedule ${JSON.stringify(SCHEDULE)}; random share ${SHARE}`,
  );
  const t0 = Date.now();
  const bySeed = new Map<number, Record<string, Curve>>();
  const report = (seed: number, strategy: string, c: Curve) =>
    console.log(
      `seed ${seed} ${strategy.padEnd(15)} ${c.map((p) => `${p.labels}:${(p.accuracy * 100).toFixed(1)}`).join(' ')}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  if (JOBS > 1 && !WORKER) {
    // Curves are independent: deal the (seed, strategy) curves round-robin to child processes
    // (each single-threaded); a curve's figures do not depend on which process draws it.
    const tasks = SEEDS.flatMap((seed) => STRATEGIES.map((strategy) => `${seed}:${strategy}`));
    const groups = Array.from({ length: Math.min(JOBS, tasks.length) }, (_, j) => tasks.filter((_, i) => i % JOBS === j));
    const passOn = argv.filter((a) => !/^--(jobs|tasks)=/.test(a));
    await Promise.all(
      groups.map(
        (group) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              [...process.execArgv, fileURLToPath(import.meta.url), ...passOn, '--worker', `--tasks=${group.join(',')}`],
              { stdio: ['ignore', 'pipe', 'inherit'] },
            );
            let buffered = '';
            child.stdout.on('data', (chunk: Buffer) => {
              buffered += chunk.toString();
              let nl: number;
              while ((nl = buffered.indexOf('\n')) >= 0) {
                const line = buffered.slice(0, nl);
                buffered = buffered.slice(nl + 1);
                if (!line.startsWith('CURVE ')) continue;
                const { seed, strategy, curve } = JSON.parse(line.slice(6)) as { seed: number; strategy: string; curve: Curve };
                bySeed.set(seed, { ...bySeed.get(seed), [strategy]: curve });
                report(seed, strategy, curve);
              }
            });
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${group.join(',')}: exit ${code}`))));
          }),
      ),
    );
  } else {
    const mine =
      arg('tasks')
        ?.split(',')
        .map((t) => t.split(':')) ?? SEEDS.flatMap((seed) => STRATEGIES.map((strategy) => [String(seed), strategy]));
    for (const [seedText, strategyText] of mine) {
      const seed = Number(seedText);
      const strategy = strategyText as AcquisitionStrategy;
      const { curve } = await simulateCurve(data, pool, test, seed, { strategy, randomShare: strategy === 'random' ? 0 : SHARE }, cfg);
      bySeed.set(seed, { ...bySeed.get(seed), [strategy]: curve });
      if (WORKER) console.log(`CURVE ${JSON.stringify({ seed, strategy, curve })}`);
      else report(seed, strategy, curve);
    }
    if (WORKER) return {};
  }
  const results = Object.fromEntries(STRATEGIES.map((s) => [s, SEEDS.map((seed) => bySeed.get(seed)![s])])) as Record<
    AcquisitionStrategy,
    Curve[]
  >;
  const means = Object.fromEntries(STRATEGIES.map((s) => [s, mean(results[s])])) as Record<AcquisitionStrategy, Curve>;
  const target = means.random.at(-1)!.accuracy;
  console.log(`\nlabels  ${STRATEGIES.map((s) => s.padStart(20)).join('')}   (mean test accuracy over seeds, %; [min-max])`);
  means.random.forEach((p, i) =>
    console.log(
      `${String(p.labels).padStart(6)}  ${STRATEGIES.map((s) => {
        const accs = results[s].map((c) => c[i].accuracy * 100);
        return `${(means[s][i].accuracy * 100).toFixed(1)} [${Math.min(...accs).toFixed(1)}-${Math.max(...accs).toFixed(1)}]`.padStart(20);
      }).join('')}`,
    ),
  );
  const randomPerSeed = results.random.map((c) => c.at(-1)!.accuracy);
  console.log(
    `\nRandom acquisition at ${END} labels: mean ${(target * 100).toFixed(1)}% (per seed ${randomPerSeed.map((a) => (a * 100).toFixed(1)).join(', ')}).`,
  );
  const summary: Record<string, unknown> = {};
  for (const s of STRATEGIES.filter((x) => x !== 'random')) {
    // Per seed: labels this strategy needs to reach the mean random 500-label accuracy, and that seed's own random 500-label accuracy.
    const perSeed = results[s].map((c) => labelsToReach(c, target));
    const perSeedOwn = results[s].map((c, i) => labelsToReach(c, randomPerSeed[i]));
    const onMean = labelsToReach(means[s], target);
    const known = (xs: Array<number | null>) => (xs.every((x) => x !== null) ? (xs as number[]) : null);
    const all = known(perSeed);
    const own = known(perSeedOwn);
    const fmt = (x: number | null) => (x === null ? `>${END}` : `${x} (${Math.round((x / END) * 100)}%)`);
    console.log(
      `${s}: reaches it with ${perSeed.map(fmt).join(', ')} per seed; mean curve ${fmt(onMean)}; mean of seeds ${all ? fmt(Math.round(all.reduce((a, b) => a + b, 0) / all.length)) : 'n/a'}; worst ${all ? fmt(Math.max(...all)) : `>${END}`}.` +
        ` Against each seed's own random run: ${perSeedOwn.map(fmt).join(', ')}.`,
    );
    summary[s] = {
      labelsPerSeed: perSeed,
      labelsOnMeanCurve: onMean,
      meanLabels: all ? all.reduce((a, b) => a + b, 0) / all.length : null,
      worstLabels: all ? Math.max(...all) : null,
      labelsPerSeedVsOwnRandom: perSeedOwn,
      worstLabelsVsOwnRandom: own ? Math.max(...own) : null,
      accuracyAtEnd: means[s].at(-1)!.accuracy,
    };
  }
  console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s; goal: at most 60% of the labels on every seed, at most 50% on the mean)`);
  return {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      tfjsBackend: `${tf.getBackend()} (Node, single-threaded, Trainyard's training kernels)`,
    },
    setup: {
      pool: pool.length,
      test: test.length,
      start: START,
      step: STEP,
      end: END,
      seeds: SEEDS,
      schedule: SCHEDULE,
      randomShare: SHARE,
      model: `the Train stage's default settings: ${DEFAULT_SETTINGS.architecture}, ${DEFAULT_SETTINGS.optimizer} lr ${DEFAULT_SETTINGS.learningRate}, batch ${DEFAULT_SETTINGS.batchSize}, dropout ${DEFAULT_SETTINGS.dropout}, augmentation ${DEFAULT_SETTINGS.augmentation}`,
    },
    curves: results,
    means,
    randomAtEnd: target,
    randomAtEndPerSeed: randomPerSeed,
    summary,
  };
}

await main();
