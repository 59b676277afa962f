// Worker side of the bare-fit benchmark: Trainyard's own model builder, compiled the way the app
// trains (Adam 0.002, categorical cross-entropy), timed with a plain model.fit on random tensors
// that already sit on the backend. This is the "(a) bare fit" ceiling Trainyard's path is held to.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { buildModel, type ArchitectureConfig } from '../src/lib/ml/architectures';

export interface FitBenchOptions {
  backend: 'webgpu' | 'webgl' | 'cpu';
  architecture: 'cnn' | 'mobilenet';
  inputSize: number;
  channels: 1 | 3;
  batchSize: number;
  /** Samples per epoch (a multiple of the batch size keeps every step full). */
  samples: number;
  /** Timed epochs, after the warm-up fit. */
  epochs: number;
  /** Samples in the warm-up fit (one epoch, before the clock starts); default: all of them. */
  warmupSamples?: number;
  numClasses?: number;
  dropout?: number;
  widthMultiplier?: number;
  learningRate?: number;
  seed?: number;
}

export interface FitBenchResult {
  backend: string;
  adapter: string | null;
  tfjsVersion: string;
  architecture: ArchitectureConfig;
  params: number;
  samples: number;
  batchSize: number;
  epochs: number;
  /** Samples and seconds of the warm-up epoch (kernel compilation, first allocations). */
  warmupSamples: number;
  warmupSeconds: number;
  /** Seconds of the timed fit (all timed epochs). */
  seconds: number;
  /** samples * epochs / seconds: steady state, after the warm-up epoch. */
  imagesPerSecond: number;
  finalLoss: number | null;
}

async function describeAdapter(name: string): Promise<string | null> {
  try {
    if (name === 'webgpu') {
      const adapter = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter();
      const info = adapter?.info;
      return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : null;
    }
    if (name === 'webgl') {
      const gl = (tf.backend() as unknown as { gpgpu?: { gl: WebGL2RenderingContext } }).gpgpu?.gl;
      if (!gl) return null;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    }
    return `JavaScript CPU (${navigator.hardwareConcurrency} cores)`;
  } catch {
    return null;
  }
}

/** The same config the app's train runner builds from its settings (src: workers/ml/train-runner.ts architectureOf). */
function architectureOf(o: FitBenchOptions): ArchitectureConfig {
  const common = { inputSize: o.inputSize, channels: o.channels, numClasses: o.numClasses ?? 10, dropout: o.dropout ?? 0.25 };
  if (o.architecture === 'mobilenet') return { kind: 'mobilenet', ...common, widthMultiplier: o.widthMultiplier ?? 0.5 };
  return { kind: 'cnn', ...common };
}

const api = {
  async run(o: FitBenchOptions): Promise<FitBenchResult> {
    if (o.backend === 'webgpu' && !(navigator as Navigator & { gpu?: GPU }).gpu) throw new Error('this browser has no WebGPU in workers');
    if (!(await tf.setBackend(o.backend))) throw new Error(`backend ${o.backend} failed to initialise`);
    await tf.ready();
    const architecture = architectureOf(o);
    const model = buildModel(architecture, o.seed ?? 42);
    model.compile({ optimizer: tf.train.adam(o.learningRate ?? 0.002), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const numClasses = architecture.numClasses;
    const xs = tf.randomUniform([o.samples, o.inputSize, o.inputSize, o.channels], 0, 1, 'float32', 1);
    const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([o.samples], 0, numClasses, 'int32', 2), numClasses).toFloat());
    try {
      // Make sure the data is on the backend before any clock starts.
      await xs.data();
      await ys.data();
      // Warm-up: one epoch over the first warmupSamples, same batch size (same kernels and shapes).
      const warmupSamples = Math.min(o.samples, o.warmupSamples ?? o.samples);
      const [wx, wy] = warmupSamples === o.samples ? [xs, ys] : [xs.slice(0, warmupSamples), ys.slice(0, warmupSamples)];
      let t0 = performance.now();
      await model.fit(wx, wy, { batchSize: o.batchSize, epochs: 1, verbose: 0 });
      if (wx !== xs) tf.dispose([wx, wy]);
      const warmupSeconds = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const history = await model.fit(xs, ys, { batchSize: o.batchSize, epochs: o.epochs, verbose: 0 });
      const seconds = (performance.now() - t0) / 1000;
      const losses = history.history.loss as number[];
      return {
        backend: tf.getBackend(),
        adapter: await describeAdapter(o.backend),
        tfjsVersion: tf.version.tfjs,
        architecture,
        params: model.countParams(),
        samples: o.samples,
        batchSize: o.batchSize,
        epochs: o.epochs,
        warmupSamples,
        warmupSeconds,
        seconds,
        imagesPerSecond: (o.samples * o.epochs) / seconds,
        finalLoss: losses.length ? Number(losses[losses.length - 1]) : null,
      };
    } finally {
      tf.dispose([xs, ys]);
      model.dispose();
    }
  },
};

export type FitBenchApi = typeof api;
Comlink.expose(api);
