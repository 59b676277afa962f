// npm run bench:scale-out — the training kit on this machine:
//  1. PyTorch images/s training the app's small CNN from a kit (3,500 real digits, batch 64, 2
//     epochs) with 1 and 2 CPU processes (torchrun, gloo), and with 1..N GPUs when CUDA is there;
//  2. in the built app: exporting the Digits demo's dataset version as a kit (time, size) and
//     importing a PyTorch out/ back (time, including the in-app evaluation on the test split).
// Part 2 needs `npm run build` first (or TRAINYARD_DIST=<a build folder>) and makes the dataset
// version with a two-epoch pipeline run. Writes bench/results/scale-out.json and prints both parts
// in one table. Set BENCH_SKIP_APP=1 to run part 1 only.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { findChromium } from '../scripts/ensure-chromium.mjs';
import { defaultPipeline, serializePipeline } from '../src/lib/pipeline/definition';
import { findTorchPython } from '../test/kit/python';
import { writeSyntheticKit } from '../test/kit/synthetic-kit';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { python, reason } = findTorchPython();
if (!python) {
  console.log(`bench:scale-out needs PyTorch: ${reason}`);
  process.exit(1);
}

interface TorchRun {
  processes: number;
  device: string;
  imagesPerSecond: number;
  epochSeconds: number[];
  wallSeconds: number;
  testAccuracy: number;
}

function torchRun(kit: string, processes: number, device: 'cpu' | 'cuda'): TorchRun {
  rmSync(join(kit, 'out'), { recursive: true, force: true });
  const threads = device === 'cpu' ? Math.max(1, Math.floor(cpus().length / processes)) : 4;
  const args =
    processes === 1
      ? ['train.py', '--device', device, '--threads', String(threads), '--no-onnx']
      : [
          '-m',
          'torch.distributed.run',
          '--redirects',
          '1',
          '--tee',
          '1',
          `--nproc_per_node=${processes}`,
          'train.py',
          '--device',
          device,
          '--threads',
          String(threads),
          '--no-onnx',
        ];
  const started = performance.now();
  const r = spawnSync(python!, args, { cwd: kit, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`torch run failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
  const m = JSON.parse(readFileSync(join(kit, 'out/metrics.json'), 'utf8'));
  // Epoch 1 includes warm-up: report the steady epochs' throughput.
  const steady = m.history.slice(1);
  const ips = steady.reduce((s: number, h: { imagesPerSecond: number }) => s + h.imagesPerSecond, 0) / steady.length;
  return {
    processes,
    device: m.trainedOn.device,
    imagesPerSecond: Math.round(ips),
    epochSeconds: m.history.map((h: { seconds: number }) => h.seconds),
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    testAccuracy: m.testAccuracy,
  };
}

async function appPart(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kit-'));
  const def = defaultPipeline('Bench kit', {
    train: { mode: 'train', settings: { architecture: 'mlp', hidden: [128], epochs: 2, earlyStoppingPatience: 0 } },
    gate: { minImprovement: -1, maxClassDrop: 1 },
  });
  writeFileSync(join(dir, 'pipeline.json'), serializePipeline(def));
  const server = await startServer({
    root: process.env.TRAINYARD_DIST ? resolve(ROOT, process.env.TRAINYARD_DIST) : join(ROOT, 'dist'),
    port: 0,
  });
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
    ],
  });
  try {
    const page = await browser.newPage({ acceptDownloads: true });
    await page.goto(server.url);
    const card = page.getByRole('listitem', { name: 'Digits demo', exact: true });
    await card
      .getByTestId('sample-count')
      .filter({ hasText: /5,000 images/ })
      .waitFor({ timeout: 180_000 });
    await page.getByRole('progressbar', { name: 'Importing into Digits demo' }).waitFor({ state: 'detached', timeout: 180_000 });
    await card.getByRole('link').first().click();
    const stage = (name: string) =>
      page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
    await stage('Pipeline');
    await page.getByLabel('Import JSON').setInputFiles(join(dir, 'pipeline.json'));
    const picker = page.getByLabel('Choose pipeline');
    await page.waitForFunction(() => [...document.querySelectorAll('option')].some((o) => o.textContent?.includes('Bench kit')));
    await picker.selectOption({ label: (await picker.locator('option').allInnerTexts()).find((t) => t.includes('Bench kit'))! });
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    await page
      .getByRole('table', { name: 'Runs' })
      .locator('tr[data-run="1"]')
      .filter({ hasText: /succeeded/ })
      .waitFor({ timeout: 600_000 });

    let t = performance.now();
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 600_000 }),
      page.getByRole('button', { name: 'Export training kit', exact: true }).click(),
    ]);
    const exportSeconds = (performance.now() - t) / 1000;
    const zip = join(dir, 'kit.zip');
    await download.saveAs(zip);
    const kit = join(dir, 'kit');
    spawnSync(python!, ['-m', 'zipfile', '-e', zip, kit]);
    // Same job as the app's run (1 epoch, same settings, same initial weights), one CPU process.
    const r = spawnSync(python!, ['train.py', '--threads', '2'], { cwd: kit, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr.slice(-2000));
    const kitAccuracy = JSON.parse(readFileSync(join(kit, 'out/metrics.json'), 'utf8')).testAccuracy as number;
    await stage('Models');
    await page.getByRole('table', { name: 'Versions' }).getByRole('button', { name: 'Version 1', exact: true }).click();
    const appAccuracy = Number((await page.getByTestId('version-accuracy').innerText()).replace('%', '')) / 100;
    await stage('Pipeline');
    t = performance.now();
    await page.getByLabel('Import trained kit result (folder)').setInputFiles(join(kit, 'out'));
    await page
      .getByTestId('kit-message')
      .filter({ hasText: /^Imported as model version/ })
      .waitFor({ timeout: 300_000 });
    const importSeconds = (performance.now() - t) / 1000;
    const job = JSON.parse(readFileSync(join(kit, 'job.json'), 'utf8'));
    return {
      images: 5000,
      exportSeconds: Math.round(exportSeconds * 10) / 10,
      kitMB: Math.round(statSync(zip).size / 1e5) / 10,
      importSeconds: Math.round(importSeconds * 10) / 10,
      testImages: job.dataset.counts.test,
      sameJob: {
        appWasmTestAccuracy: appAccuracy,
        kitCpuTestAccuracy: kitAccuracy,
        differencePoints: Math.round((kitAccuracy - appAccuracy) * 1000) / 10,
      },
      note: 'export includes reading the preprocessed cache (built by the pipeline run), 5,000 originals and zipping; import includes validation and the in-app evaluation on the test split',
    };
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const kit = mkdtempSync(join(tmpdir(), 'bench-kit-py-'));
await writeSyntheticKit(kit, { perClass: { train: 350, val: 75, test: 75 }, epochs: 2, batchSize: 64 });
const runs: TorchRun[] = [];
for (const n of [1, 2]) {
  runs.push(torchRun(kit, n, 'cpu'));
  console.log(`PyTorch CPU, ${n} process(es): ${runs.at(-1)!.imagesPerSecond} images/s`);
}
const gpus = Number(spawnSync(python, ['-c', 'import torch; print(torch.cuda.device_count())'], { encoding: 'utf8' }).stdout.trim() || 0);
for (let n = 1; n <= gpus; n++) {
  runs.push(torchRun(kit, n, 'cuda'));
  console.log(`PyTorch CUDA, ${n} GPU(s): ${runs.at(-1)!.imagesPerSecond} images/s`);
}
rmSync(kit, { recursive: true, force: true });
const app = process.env.BENCH_SKIP_APP === '1' ? null : await appPart();
console.log(
  `\n${cpus()[0]?.model}, ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end`,
);
console.log('| step | where | figure |\n| --- | --- | --- |');
for (const r of runs)
  console.log(`| train (small CNN, 3,500 images, batch 64) | PyTorch ${r.processes} x ${r.device} | ${r.imagesPerSecond} images/s |`);
if (app) {
  console.log(
    `| export kit (Digits demo v1, ${app.images} images) | app, headless Chromium | ${app.exportSeconds} s, ${app.kitMB} MB zip |`,
  );
  console.log(
    `| import out/ (validate + evaluate on ${app.testImages} test images + store) | app, headless Chromium | ${app.importSeconds} s |`,
  );
}
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGB: Math.round(totalmem() / 2 ** 30) },
  torch: reason,
  model: 'small CNN 28x28x1, batch 64, 3,500 training images',
  runs,
  app,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/scale-out.json'), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
process.exit(0);
