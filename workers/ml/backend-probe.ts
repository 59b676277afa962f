// "Automatic" backend for training: instead of a fixed order, a short probe at first use trains a
// few steps of the small CNN on every backend that starts, and ranks them by measured images/s.
// The ranking is remembered per device (browser, cores and GPU adapters), so later runs start at
// once; a different GPU or browser probes again.
import * as tf from '@tensorflow/tfjs';
import { getMeta, setMeta } from '../../src/db/meta';
import { buildModel } from '../../src/lib/ml/architectures';
import { chooseBackend, softwareWebGpu, type BackendName } from './backend';
import { errorMessage } from '../../src/lib/util/errors';

export interface ProbeResult {
  /** The device the ranking was measured on. */
  signature: string;
  measuredAt: number;
  /** Fastest first; backends that failed to start or train are left out. */
  ranking: BackendName[];
  results: Array<{ name: BackendName; imagesPerSecond: number | null; reason: string | null }>;
}

const META_KEY = 'backend-probe';
const BATCH = 32;
const WARMUP_STEPS = 2;
const TIMED_STEPS = 4;

/** What identifies the device for the remembered ranking. */
async function deviceSignature(candidates: BackendName[]): Promise<string> {
  const parts = [navigator.userAgent, String(navigator.hardwareConcurrency)];
  if (candidates.includes('webgpu')) {
    const adapter = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter().catch(() => null);
    parts.push(adapter?.info ? `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}` : 'no webgpu');
  }
  return parts.join(' | ');
}

/** Images/s of a few training steps of the small CNN on the current backend (after a warm-up that compiles kernels). */
async function trainingSpeed(): Promise<number> {
  const model = buildModel({ kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25 }, 1);
  const optimizer = tf.train.adam(0.001);
  const xs = tf.randomUniform([BATCH, 28, 28, 1]);
  const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10).toFloat());
  const step = () =>
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
  try {
    for (let i = 0; i < WARMUP_STEPS; i++) {
      const loss = step();
      await loss.data();
      loss.dispose();
    }
    const t0 = performance.now();
    let loss: tf.Scalar | null = null;
    for (let i = 0; i < TIMED_STEPS; i++) {
      loss?.dispose();
      loss = step();
    }
    // One read at the end: the steps queue without a GPU read-back each, as training does.
    await loss!.data();
    loss!.dispose();
    return (BATCH * TIMED_STEPS) / ((performance.now() - t0) / 1000);
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
    optimizer.dispose();
  }
}

/** Measures every candidate that starts; CPU is only measured when nothing faster runs. */
export async function probeBackends(candidates: BackendName[]): Promise<ProbeResult> {
  const results: ProbeResult['results'] = [];
  for (const name of candidates) {
    if (name === 'cpu' && results.some((r) => r.imagesPerSecond !== null)) {
      results.push({
        name,
        imagesPerSecond: null,
        reason: 'not measured: the JavaScript CPU backend is the slowest wherever another one runs',
      });
      continue;
    }
    // Bounds the probe's time: a software WebGPU adapter compiles its shaders for tens of seconds
    // and was measured ~4x slower than WebGL on the same machine.
    if (name === 'webgpu' && candidates.length > 1 && (await softwareWebGpu())) {
      results.push({ name, imagesPerSecond: null, reason: 'not measured: software adapter (SwiftShader)' });
      continue;
    }
    try {
      const started = await chooseBackend([name]);
      if (started.name !== name) throw new Error('did not start');
      results.push({ name, imagesPerSecond: await trainingSpeed(), reason: null });
    } catch (err) {
      results.push({ name, imagesPerSecond: null, reason: errorMessage(err) });
    }
  }
  const ranking = results
    .filter((r) => r.imagesPerSecond !== null)
    .sort((a, b) => b.imagesPerSecond! - a.imagesPerSecond!)
    .map((r) => r.name);
  // The CPU backend always runs: it stays the last resort even when it was not measured.
  if (!ranking.includes('cpu') && candidates.includes('cpu')) ranking.push('cpu');
  return { signature: await deviceSignature(candidates), measuredAt: Date.now(), ranking, results };
}

/** The remembered ranking for this device, or a fresh probe (stored) when there is none. */
export async function backendRanking(candidates: BackendName[]): Promise<ProbeResult> {
  const signature = await deviceSignature(candidates);
  const stored = await getMeta<ProbeResult>(META_KEY).catch(() => undefined);
  if (stored?.signature === signature && stored.ranking.length) return stored;
  const probed = await probeBackends(candidates);
  await setMeta(META_KEY, probed).catch(() => undefined);
  return probed;
}

/** For the Train stage: why this backend was chosen. */
export function describeProbe(probe: ProbeResult): string {
  const measured = probe.results
    .filter((r) => r.imagesPerSecond !== null)
    .map((r) => `${r.name} ${Math.round(r.imagesPerSecond!).toLocaleString('en-US')} images/s`);
  return `chosen by a probe on ${new Date(probe.measuredAt).toLocaleDateString()}: ${measured.join(', ') || 'no backend trained'}`;
}
