// Worker side of the bare-fit benchmark page (bench/fit-bench.html, used only by
// bench/train.bench.mjs). It builds Trainyard's own model (src/lib/ml/architectures.ts) the way
// the app configures it, compiles it with Adam 0.002 and categorical cross-entropy, and times a
// plain model.fit on random tensors that already sit on the backend: the "(a) bare fit" that
// Trainyard's training path is held to.
//
// prepare() builds, uploads and warms up; time() runs one timed fit and can be called again (the
// benchmark times once before and once after the app's run, with no second warm-up); dispose().
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import '../workers/ml/wasm-setup';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { registerWebGpuTrainingKernels } from '../src/lib/ml/webgpu-training';
import { buildModel, type ArchitectureConfig } from '../src/lib/ml/architectures';
import { describeAdapter, type BackendName } from '../workers/ml/backend';

export interface FitBenchOptions {
  backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
  architecture: 'cnn' | 'mobilenet';
  inputSize: number;
  channels: 1 | 3;
  batchSize: number;
  /** Samples per epoch (a multiple of the batch size keeps every step full). */
  samples: number;
  /** Epochs per timed fit. */
  epochs: number;
  /** Samples in the warm-up fit (one epoch, before any clock starts); default: all of them. */
  warmupSamples?: number;
  /** Validation samples for the 'fit-val' mode (model.fit with validationData, evaluated every epoch). */
  valSamples?: number;
  numClasses?: number;
  dropout?: number;
  widthMultiplier?: number;
  learningRate?: number;
  seed?: number;
}

export interface WarmupInfo {
  backend: string;
  adapter: string | null;
  tfjsVersion: string;
  architecture: ArchitectureConfig;
  params: number;
  warmupSamples: number;
  /** Seconds of the warm-up epoch (kernel compilation, first allocations). */
  warmupSeconds: number;
}

export interface TimedFit {
  /** 'fit': model.fit. 'fit-val': model.fit with validationData (valSamples, evaluated after
   *  every epoch, as the app validates). 'loop': a minimal custom loop (optimizer.minimize per
   *  batch, loss and accuracy summed on the device, read once per epoch) on the same tensors. */
  mode: 'fit' | 'fit-val' | 'loop';
  valSamples: number;
  samples: number;
  batchSize: number;
  epochs: number;
  seconds: number;
  /** samples * epochs / seconds. */
  imagesPerSecond: number;
  finalLoss: number | null;
}

/** The config the app's train runner builds from its settings (workers/ml/train-runner.ts architectureOf). */
function architectureOf(o: FitBenchOptions): ArchitectureConfig {
  const common = { inputSize: o.inputSize, channels: o.channels, numClasses: o.numClasses ?? 10, dropout: o.dropout ?? 0.25 };
  if (o.architecture === 'mobilenet') return { kind: 'mobilenet', ...common, widthMultiplier: o.widthMultiplier ?? 0.5 };
  return { kind: 'cnn', ...common };
}

let state: { o: FitBenchOptions; model: tf.LayersModel; xs: tf.Tensor; ys: tf.Tensor; val: [tf.Tensor, tf.Tensor] | null } | null = null;

function current() {
  if (!state) throw new Error('prepare() first');
  return state;
}

async function fitOnce(epochs: number, withValidation: boolean): Promise<number | null> {
  const { o, model, xs, ys, val } = current();
  if (withValidation && !val) throw new Error('fit-val needs valSamples');
  const history = await model.fit(xs, ys, {
    batchSize: o.batchSize,
    epochs,
    verbose: 0,
    ...(withValidation && val ? { validationData: val } : {}),
  });
  const losses = history.history.loss as number[];
  return losses.length ? Number(losses[losses.length - 1]) : null;
}

async function loopOnce(epochs: number): Promise<number | null> {
  const { o, model, xs, ys } = current();
  const optimizer = model.optimizer;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let last: number | null = null;
  for (let e = 0; e < epochs; e++) {
    const order = tf.util.createShuffledIndices(o.samples);
    let sum = tf.zeros([2]);
    for (let start = 0; start < o.samples; start += o.batchSize) {
      const idx = tf.tensor1d(Array.from(order.subarray(start, Math.min(o.samples, start + o.batchSize))), 'int32');
      const xb = tf.gather(xs, idx);
      const yb = tf.gather(ys, idx);
      let correct: tf.Scalar | null = null;
      const loss = optimizer.minimize(
        () => {
          const probs = model.apply(xb, { training: true }) as tf.Tensor;
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), tf.argMax(yb, -1)), 'float32')));
          // Categorical cross-entropy on the softmax output, clipped like Keras.
          return tf.neg(tf.mean(tf.sum(tf.mul(yb, tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7))), -1))) as tf.Scalar;
        },
        true,
        vars,
      ) as tf.Scalar;
      const next = tf.tidy(() => tf.add(sum, tf.stack([tf.mul(loss, xb.shape[0]), correct!])));
      tf.dispose([sum, loss, correct!, xb, yb, idx]);
      sum = next;
    }
    last = (await sum.data())[0] / o.samples;
    sum.dispose();
  }
  return last;
}

const api = {
  async prepare(o: FitBenchOptions): Promise<WarmupInfo> {
    if (state) throw new Error('already prepared');
    if (o.backend === 'webgpu' && !(navigator as Navigator & { gpu?: GPU }).gpu) throw new Error('this browser has no WebGPU in workers');
    if (!(await tf.setBackend(o.backend))) throw new Error(`backend ${o.backend} failed to initialise`);
    await tf.ready();
    if (o.backend === 'wasm') registerWasmTrainingKernels();
    if (o.backend === 'webgpu') registerWebGpuTrainingKernels();
    const architecture = architectureOf(o);
    const model = buildModel(architecture, o.seed ?? 42);
    model.compile({ optimizer: tf.train.adam(o.learningRate ?? 0.002), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const numClasses = architecture.numClasses;
    const xs = tf.randomUniform([o.samples, o.inputSize, o.inputSize, o.channels], 0, 1, 'float32', 1);
    const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([o.samples], 0, numClasses, 'int32', 2), numClasses).toFloat());
    const val: [tf.Tensor, tf.Tensor] | null = o.valSamples
      ? [
          tf.randomUniform([o.valSamples, o.inputSize, o.inputSize, o.channels], 0, 1, 'float32', 3),
          tf.tidy(() => tf.oneHot(tf.randomUniform([o.valSamples!], 0, numClasses, 'int32', 4), numClasses).toFloat()),
        ]
      : null;
    state = { o, model, xs, ys, val };
    // The data is on the backend before any clock starts.
    for (const t of [xs, ys, ...(val ?? [])]) await t.data();
    // Warm-up: one epoch over the first warmupSamples, same batch size (same kernels and shapes).
    const warmupSamples = Math.min(o.samples, o.warmupSamples ?? o.samples);
    const [wx, wy] = warmupSamples === o.samples ? [xs, ys] : [xs.slice(0, warmupSamples), ys.slice(0, warmupSamples)];
    const t0 = performance.now();
    await model.fit(wx, wy, { batchSize: o.batchSize, epochs: 1, verbose: 0 });
    // The validation pass runs the model in inference mode: its kernels warm up too.
    if (val) tf.dispose(model.evaluate(val[0], val[1], { batchSize: o.batchSize }) as tf.Tensor[]);
    const warmupSeconds = (performance.now() - t0) / 1000;
    if (wx !== xs) tf.dispose([wx, wy]);
    return {
      backend: tf.getBackend(),
      adapter: await describeAdapter(o.backend as BackendName),
      tfjsVersion: tf.version.tfjs,
      architecture,
      params: model.countParams(),
      warmupSamples,
      warmupSeconds,
    };
  },

  async time(mode: 'fit' | 'fit-val' | 'loop' = 'fit'): Promise<TimedFit> {
    const { o } = current();
    const t0 = performance.now();
    const finalLoss = mode === 'loop' ? await loopOnce(o.epochs) : await fitOnce(o.epochs, mode === 'fit-val');
    const seconds = (performance.now() - t0) / 1000;
    // Training images per second; the validation images are work on top (as in the app's figure).
    const valSamples = mode === 'fit-val' ? (o.valSamples ?? 0) : 0;
    return {
      mode,
      samples: o.samples,
      valSamples,
      batchSize: o.batchSize,
      epochs: o.epochs,
      seconds,
      imagesPerSecond: (o.samples * o.epochs) / seconds,
      finalLoss,
    };
  },

  dispose(): void {
    if (!state) return;
    tf.dispose([state.xs, state.ys, ...(state.val ?? [])]);
    state.model.optimizer?.dispose();
    state.model.dispose();
    state = null;
  },
};

export type FitBenchApi = typeof api;
Comlink.expose(api);
