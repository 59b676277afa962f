// npm run bench:webgpu-kernels — stock TF.js WebGPU kernels vs the WGSL replacements in
// src/lib/ml/webgpu-training, in Node with Dawn (the `webgpu` package) on whatever adapter it
// finds: SwiftShader (software Vulkan, from Debian's chromium) without a GPU; set
// VK_ICD_FILENAMES to a GPU's Vulkan driver to run on that GPU (see ../shared/guides/testing.md).
//
// For each reference model (small CNN 28x28x1 batch 64; MobileNet-style 96x96x3 alpha 0.5 batch
// 32) it
//  1. records the calls a training step makes to the replaced kernels (shapes and attributes),
//     and times each distinct call with the stock kernel and with the replacement;
//  2. times whole training steps (Adam, optimizer.minimize on categorical cross-entropy, no read
//     back inside the timed steps), stock and replaced alternately;
//  3. profiles one step of each (tf.profile: per-dispatch GPU time from timestamp queries, where
//     the adapter has them) and lists the kernels that dominate.
// Timing is wall-clock around work that has been forced to finish: the backend's pending
// commands are submitted and the queue's onSubmittedWorkDone awaited before the clock stops.
// Then, with the replacements, it times steps of the CNN at several WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE
// values (dispatches per queue submission).
//
// Options: --models cnn,mobilenet  --steps N (timed steps per variant and round; default 3, 1 for
// MobileNet on a software adapter)  --rounds N (alternating stock/new rounds; default 2, 1 for
// MobileNet on a software adapter)
// --no-profile  --no-flags.  Writes bench/results/webgpu-kernels.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import { installNodeWebGpu } from '../test/node-webgpu';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const flag = (name: string): boolean => argv.includes(`--${name}`);

const gpu = await installNodeWebGpu();
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
const { registerWebGpuTrainingKernels, unregisterWebGpuTrainingKernels, WEBGPU_TRAINING_KERNELS } =
  await import('../src/lib/ml/webgpu-training');
const { buildModel } = await import('../src/lib/ml/architectures');
type ArchitectureConfig = import('../src/lib/ml/architectures').ArchitectureConfig;

if (!(await tf.setBackend('webgpu'))) throw new Error(`the WebGPU backend did not start on ${gpu.description}`);
await tf.ready();

/** The WebGPU backend's internals used to force completion (tfjs-backend-webgpu 4.22). */
interface BackendInternals {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  runWebGPUProgram(program: { shaderKey: string }, ...rest: unknown[]): TF.TensorInfo;
}
const backend = tf.backend() as BackendInternals;

/** Submits whatever the backend has recorded and waits until the GPU has finished it. */
async function finishGpuWork(): Promise<void> {
  if (backend.commandEncoder) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  await backend.device.queue.onSubmittedWorkDone();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

function useReplacements(on: boolean): void {
  if (on) registerWebGpuTrainingKernels();
  else unregisterWebGpuTrainingKernels();
}

// ---- the reference models and their training step ----

interface ModelSpec {
  name: 'cnn' | 'mobilenet';
  config: ArchitectureConfig & { inputSize: number; channels: number };
  batch: number;
}
const MODELS: ModelSpec[] = [
  { name: 'cnn', config: { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25 }, batch: 64 },
  {
    name: 'mobilenet',
    config: { kind: 'mobilenet', inputSize: 96, channels: 3, numClasses: 10, dropout: 0.25, widthMultiplier: 0.5 },
    batch: 32,
  },
];

interface Trainer {
  step(): TF.Scalar;
  dispose(): void;
}

function makeTrainer(spec: ModelSpec): Trainer {
  const { config, batch } = spec;
  const model = buildModel(config, 1);
  const xs = tf.randomUniform([batch, config.inputSize, config.inputSize, config.channels], 0, 1, 'float32', 1);
  const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, config.numClasses, 'int32', 2), config.numClasses).toFloat());
  const optimizer = tf.train.adam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as TF.Variable);
  const loss = () => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as TF.Tensor).mean() as TF.Scalar;
  return {
    step: () => optimizer.minimize(loss, true, vars) as TF.Scalar,
    dispose: () => {
      tf.dispose([xs, ys]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** Mean ms per step over `steps` steps, the loss read back only after the last. */
async function timeSteps(trainer: Trainer, steps: number): Promise<number> {
  await finishGpuWork();
  const t0 = performance.now();
  let last: TF.Scalar | null = null;
  for (let i = 0; i < steps; i++) {
    last?.dispose();
    last = trainer.step();
  }
  await last!.data();
  await finishGpuWork();
  const ms = (performance.now() - t0) / steps;
  last!.dispose();
  return ms;
}

// ---- kernel calls of a step ----

interface KernelCall {
  kernel: string;
  inputs: Record<string, { shape: number[]; dtype: TF.DataType } | null>;
  attrs: Record<string, unknown>;
  /** Calls per training step with these shapes and attributes. */
  perStep: number;
}

/** The calls one training step makes to `names`, grouped by shapes and attributes. */
async function recordCalls(trainer: Trainer, names: readonly string[]): Promise<KernelCall[]> {
  const calls = new Map<string, KernelCall>();
  const saved = names.map((name) => tf.getKernel(name, 'webgpu')).filter((k): k is TF.KernelConfig => !!k);
  for (const config of saved) {
    tf.unregisterKernel(config.kernelName, 'webgpu');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const inputs: KernelCall['inputs'] = {};
        for (const [k, t] of Object.entries(args.inputs)) inputs[k] = t ? { shape: [...t.shape], dtype: t.dtype } : null;
        const attrs = JSON.parse(JSON.stringify(args.attrs ?? {})) as Record<string, unknown>;
        const key = JSON.stringify([config.kernelName, inputs, attrs]);
        const known = calls.get(key);
        if (known) known.perStep++;
        else calls.set(key, { kernel: config.kernelName, inputs, attrs, perStep: 1 });
        return config.kernelFunc(args);
      },
    });
  }
  try {
    const loss = trainer.step();
    await loss.data();
    loss.dispose();
  } finally {
    for (const config of saved) {
      tf.unregisterKernel(config.kernelName, 'webgpu');
      tf.registerKernel(config);
    }
  }
  return [...calls.values()];
}

/**
 * ms per call of one kernel call with random inputs, and whether a replacement program ran: the
 * fastest of 3 samples (each enough calls to take ~30 ms) after a warm-up call, so that other
 * processes on the machine inflate the figure less.
 */
async function timeCall(call: KernelCall): Promise<{ ms: number; replaced: boolean }> {
  const inputs: TF.NamedTensorMap = {};
  for (const [k, info] of Object.entries(call.inputs)) {
    if (info) inputs[k] = info.dtype === 'int32' ? tf.randomUniform(info.shape, 0, 8, 'int32') : tf.randomNormal(info.shape);
  }
  let replaced = false;
  const run = backend.runWebGPUProgram;
  backend.runWebGPUProgram = function (program, ...rest) {
    if (program.shaderKey.startsWith('trainyard')) replaced = true;
    return run.call(this, program, ...rest);
  };
  const once = () => (tf.engine().runKernel(call.kernel, inputs, call.attrs as TF.NamedAttrMap) as TF.Tensor).dispose();
  const sample = async (calls: number) => {
    await finishGpuWork();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) once();
    await finishGpuWork();
    return (performance.now() - t0) / calls;
  };
  try {
    const first = await sample(1); // compiles the pipelines
    const calls = Math.min(20, Math.max(1, Math.round(30 / first)));
    const samples = [];
    for (let i = 0; i < 3; i++) samples.push(await sample(calls));
    return { ms: Math.min(...samples), replaced };
  } finally {
    backend.runWebGPUProgram = run;
    tf.dispose(Object.values(inputs));
  }
}

const describeCall = (call: KernelCall): string => {
  const shapes = Object.entries(call.inputs)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}[${v!.shape.join(',')}]`)
    .join(' ');
  const a = call.attrs as { strides?: unknown; pad?: unknown; axis?: unknown; activation?: unknown };
  const extra = [
    a.strides !== undefined ? `s${JSON.stringify(a.strides)}` : '',
    a.pad !== undefined ? `${JSON.stringify(a.pad)}` : '',
    a.axis !== undefined ? `axis ${JSON.stringify(a.axis)}` : '',
    a.activation ? `${a.activation}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${call.kernel} ${shapes}${extra ? ` (${extra})` : ''}`;
};

// ---- profiling ----

async function profileStep(trainer: Trainer): Promise<Array<{ kernel: string; ms: number; share: number; calls: number }>> {
  await finishGpuWork();
  const profile = await tf.profile(() => {
    trainer.step().dispose();
  });
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of profile.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    total += ms;
    const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    byName.set(k.name, entry);
  }
  return [...byName]
    .sort((a, b) => b[1].ms - a[1].ms)
    .filter(([, v]) => v.ms > 0)
    .slice(0, 12)
    .map(([kernel, v]) => ({ kernel, ms: round(v.ms, 1), share: round(total ? v.ms / total : 0, 3), calls: v.calls }));
}

// ---- run ----

const wanted = (option('models') ?? 'cnn,mobilenet').split(',');
const hasTimestamps = (backend.device.features as ReadonlySet<string>).has('timestamp-query');
console.log(
  `adapter: ${gpu.description}${gpu.software ? ' (software)' : ''}; timestamp queries: ${hasTimestamps ? 'yes' : 'no'}; tfjs ${tf.version.tfjs}; Node ${process.version}; ${cpus().length} CPU cores`,
);

const results: Record<string, unknown> = {};
for (const spec of MODELS.filter((m) => wanted.includes(m.name))) {
  // A MobileNet step takes tens of seconds on SwiftShader: one step per round, one round.
  const slow = gpu.software && spec.name === 'mobilenet';
  const steps = Number(option('steps') ?? (slow ? 1 : 3));
  const rounds = Number(option('rounds') ?? (slow ? 1 : 2));
  console.log(`\n== ${spec.name} (batch ${spec.batch}): ${steps} timed step(s) per variant per round, ${rounds} round(s)`);
  const trainer = makeTrainer(spec);

  // 1. The replaced kernels' calls in one step, stock vs new.
  useReplacements(false);
  const calls = await recordCalls(trainer, WEBGPU_TRAINING_KERNELS);
  const kernelRows: Array<{ call: string; perStep: number; stockMs: number; newMs: number; speedup: number; replaced: boolean }> = [];
  for (const call of calls) {
    useReplacements(false);
    const stock = await timeCall(call);
    useReplacements(true);
    const ours = await timeCall(call);
    const row = {
      call: describeCall(call),
      perStep: call.perStep,
      stockMs: round(stock.ms),
      newMs: round(ours.ms),
      speedup: round(stock.ms / ours.ms),
      replaced: ours.replaced,
    };
    kernelRows.push(row);
    // Print the replaced calls and any stock fallback that costs a step at least 5 ms (all go to the JSON).
    if (row.replaced || row.stockMs * row.perStep >= 5)
      console.log(
        `${row.call.padEnd(72)} x${String(row.perStep).padEnd(3)} stock ${row.stockMs.toFixed(1).padStart(8)} ms  new ${row.newMs.toFixed(1).padStart(8)} ms  ${row.replaced ? `${row.speedup.toFixed(1)}x` : '(stock fallback)'}`,
      );
  }
  const perStep = (key: 'stockMs' | 'newMs') => kernelRows.reduce((sum, r) => sum + r[key] * r.perStep, 0);
  console.log(`replaced kernels, per step: stock ${perStep('stockMs').toFixed(0)} ms, new ${perStep('newMs').toFixed(0)} ms`);

  // 2. Whole steps, alternating.
  const stepMs: Record<'stock' | 'new', number[]> = { stock: [], new: [] };
  for (const variant of ['stock', 'new'] as const) {
    useReplacements(variant === 'new');
    await timeSteps(trainer, 1); // warm-up: pipelines for this variant
  }
  for (let r = 0; r < rounds; r++) {
    for (const variant of ['stock', 'new'] as const) {
      useReplacements(variant === 'new');
      stepMs[variant].push(await timeSteps(trainer, steps));
    }
  }
  const stockStep = median(stepMs.stock);
  const newStep = median(stepMs.new);
  console.log(
    `training step: stock ${stockStep.toFixed(0)} ms (${((spec.batch * 1000) / stockStep).toFixed(1)} img/s), new ${newStep.toFixed(0)} ms (${((spec.batch * 1000) / newStep).toFixed(1)} img/s): ${(stockStep / newStep).toFixed(2)}x`,
  );

  // 3. Where the time goes.
  let profile: Record<string, unknown> | undefined;
  if (!flag('no-profile')) {
    useReplacements(false);
    const stockProfile = await profileStep(trainer);
    useReplacements(true);
    const newProfile = await profileStep(trainer);
    profile = {
      method: hasTimestamps ? 'tf.profile, timestamp queries per dispatch' : 'none (no timestamp-query feature: kernel times read 0)',
      stock: stockProfile,
      new: newProfile,
    };
    for (const [label, rows] of [
      ['stock', stockProfile],
      ['new', newProfile],
    ] as const) {
      console.log(`profile (${label}): ${rows.map((r) => `${r.kernel} ${r.ms} ms (${(r.share * 100).toFixed(0)}%)`).join(', ')}`);
    }
  }
  trainer.dispose();
  results[spec.name] = {
    batch: spec.batch,
    config: spec.config,
    step: {
      stockMs: round(stockStep, 1),
      newMs: round(newStep, 1),
      speedup: round(stockStep / newStep),
      stockImagesPerSecond: round((spec.batch * 1000) / stockStep, 1),
      newImagesPerSecond: round((spec.batch * 1000) / newStep, 1),
      samples: stepMs,
    },
    kernels: kernelRows,
    profile,
  };
}

// 4. Dispatches per submission (with the replacements), on the CNN.
let flags: Array<{ deferredSubmitBatchSize: number; stepMs: number }> | undefined;
if (!flag('no-flags') && wanted.includes('cnn')) {
  useReplacements(true);
  const trainer = makeTrainer(MODELS[0]);
  const original = tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
  flags = [];
  console.log('\n== WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (cnn, with the replacements)');
  for (const size of [1, 15, 64, 256]) {
    tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', size);
    await timeSteps(trainer, 1);
    const samples = [];
    for (let r = 0; r < Number(option('rounds') ?? 2); r++) samples.push(await timeSteps(trainer, 3));
    flags.push({ deferredSubmitBatchSize: size, stepMs: round(median(samples), 1) });
    console.log(`batch size ${String(size).padStart(3)}: ${median(samples).toFixed(1)} ms/step`);
  }
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', original);
  trainer.dispose();
}

const out = {
  date: new Date().toISOString(),
  adapter: gpu.description,
  software: gpu.software,
  timestampQueries: hasTimestamps,
  tfjs: tf.version.tfjs,
  node: process.version,
  cpuCores: cpus().length,
  method:
    'wall clock around work forced to finish (pending commands submitted, queue.onSubmittedWorkDone awaited); kernels: fastest of 3 samples (each ~30 ms of calls, at least one) after a warm-up call, random inputs of the recorded shapes; steps: Adam minimize without read-back inside the timed steps, stock and new alternating, median of rounds',
  models: results,
  deferredSubmit: flags,
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'webgpu-kernels.json'), JSON.stringify(out, null, 2) + '\n');
console.log('\nwrote bench/results/webgpu-kernels.json');
