// Data-parallel CPU training: images/s of Trainyard's synchronous data parallelism (N member
// workers on TF.js's WASM backend with the training kernels, gradients summed through a
// SharedArrayBuffer each step; src/lib/ml/data-parallel) for 1, 2, 4, ... workers up to the
// machine's cores, for the small CNN (28x28x1, batch 64) and the MobileNet-style net (96x96x3,
// batch 32, width 0.5), in Node with worker_threads; and PyTorch at the same thread counts
// (bench/torch_bench.py) where `import torch` works. Prints a scaling table. A script, never a test.
//
//   npm run bench:train-parallel -- [--models=cnn,mobilenet] [--threads=1,2] [--min-seconds=4]
//                                   [--skip-torch] [--json]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ArchitectureConfig } from '../src/lib/ml/architectures';
import { DataParallelCoordinator } from '../src/lib/ml/data-parallel/coordinator';
import { mulberry32 } from '../src/lib/ml/random';
import { startNodeMembers } from '../workers/ml/data-parallel-node-ports';

type ModelName = 'cnn' | 'mobilenet';
const MODELS: Record<ModelName, { config: ArchitectureConfig; batch: number }> = {
  cnn: { config: { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25 }, batch: 64 },
  mobilenet: { config: { kind: 'mobilenet', inputSize: 96, channels: 3, numClasses: 10, dropout: 0.25, widthMultiplier: 0.5 }, batch: 32 },
};

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const cores = cpus().length;
const defaultThreads = (): number[] => {
  const t: number[] = [];
  for (let n = 1; n < cores; n *= 2) t.push(n);
  t.push(cores);
  return t;
};
const models = (arg('models')?.split(',') ?? ['cnn', 'mobilenet']) as ModelName[];
for (const m of models) if (!(m in MODELS)) throw new Error(`Unknown model ${m} (cnn or mobilenet).`);
const threads = arg('threads')?.split(',').map(Number) ?? defaultThreads();
const minSeconds = Number(arg('min-seconds') ?? 4);
const log = (s: string) => console.error(s);

async function timeTrainyard(
  name: ModelName,
  workers: number,
): Promise<{ imagesPerSecond: number; steps: number; seconds: number; loss: number }> {
  const { config, batch } = MODELS[name];
  if (config.kind === 'head') throw new Error('not an image model');
  const rowSize = config.inputSize * config.inputSize * config.channels;
  const rand = mulberry32(1);
  const x = Float32Array.from({ length: batch * rowSize }, () => rand());
  const y = new Float32Array(batch * config.numClasses);
  for (let i = 0; i < batch; i++) y[i * config.numClasses + Math.floor(rand() * config.numClasses)] = 1;
  const c = new DataParallelCoordinator(startNodeMembers(workers), {
    config,
    seed: 42,
    optimizer: { name: 'adam', learningRate: 0.002 },
    barrierTimeoutMs: 120_000,
    rowSize,
    classes: config.numClasses,
  });
  try {
    await c.whenReady();
    for (let i = 0; i < 3; i++) await c.step(x, y, batch, 0, i);
    // Two steps in flight, as a training worker with a batch loader keeps them: the next shards
    // are already queued at the members when a step ends.
    const t0 = performance.now();
    let steps = 0;
    let loss = NaN;
    let inFlight: Promise<{ loss: number }> = c.step(x, y, batch, 1, steps++);
    while (true) {
      const next = c.step(x, y, batch, 1, steps++);
      loss = (await inFlight).loss;
      inFlight = next;
      if ((performance.now() - t0) / 1000 >= minSeconds && steps >= 6) break;
    }
    loss = (await inFlight).loss;
    const seconds = (performance.now() - t0) / 1000;
    return { imagesPerSecond: (steps * batch) / seconds, steps, seconds, loss };
  } finally {
    c.close();
  }
}

interface TorchResult {
  model: string;
  threads: number;
  imagesPerSecond: number;
}
function runTorch(): { available: boolean; reason?: string; version?: string; results?: TorchResult[] } {
  if (flag('skip-torch')) return { available: false, reason: '--skip-torch' };
  const pythons = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p))];
  const python = pythons.find((p) => spawnSync(p, ['-c', 'import torch']).status === 0);
  if (!python) return { available: false, reason: `no python with torch among ${pythons.join(', ')}` };
  const script = fileURLToPath(new URL('./torch_bench.py', import.meta.url));
  const samples = models.map((m) => `--samples-${m}=${m === 'cnn' ? 1280 : 320}`);
  log(`PyTorch (${python}): ${models.join(', ')} at ${threads.join(', ')} thread(s)...`);
  const r = spawnSync(
    python,
    [script, '--json', `--models=${models.join(',')}`, `--threads=${threads.join(',')}`, `--min-seconds=${minSeconds}`, ...samples],
    { encoding: 'utf8', timeout: 1_800_000 },
  );
  try {
    return JSON.parse((r.stdout ?? '').trim().split('\n').at(-1) ?? '');
  } catch {
    return {
      available: false,
      reason: `torch_bench.py failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`,
    };
  }
}

const rows: Array<{ model: ModelName; threads: number; trainyard: number; speedup: number; pytorch: number | null }> = [];
for (const model of models) {
  let one = NaN;
  for (const n of threads) {
    log(`Trainyard ${model}, ${n} worker(s)...`);
    const r = await timeTrainyard(model, n);
    if (n === 1) one = r.imagesPerSecond;
    log(`  ${r.imagesPerSecond.toFixed(1)} images/s (${r.steps} steps in ${r.seconds.toFixed(2)} s, loss ${r.loss.toFixed(3)})`);
    rows.push({ model, threads: n, trainyard: r.imagesPerSecond, speedup: r.imagesPerSecond / one, pytorch: null });
  }
}
const torch = runTorch();
for (const row of rows)
  row.pytorch = torch.results?.find((t) => t.model === row.model && t.threads === row.threads)?.imagesPerSecond ?? null;

const fmt = (v: number | null) => (v == null || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
console.log(
  `\nData-parallel training scaling (${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} logical cores, Node ${process.version}; ` +
    (torch.available ? `PyTorch ${torch.version}` : `PyTorch not available: ${torch.reason}`) +
    ')',
);
console.log('model      threads  Trainyard img/s  vs 1 worker  PyTorch img/s  Trainyard/PyTorch');
for (const r of rows) {
  console.log(
    `${r.model.padEnd(10)} ${String(r.threads).padStart(7)}  ${fmt(r.trainyard).padStart(15)}  ${r.speedup.toFixed(2).padStart(10)}x  ${fmt(r.pytorch).padStart(13)}  ${r.pytorch ? (r.trainyard / r.pytorch).toFixed(2).padStart(17) : '–'.padStart(17)}`,
  );
}
if (flag('json')) console.log(JSON.stringify({ cores, rows, torch }));
