// Builds an unpacked training kit in Node the way the app's kit worker does (same job.json, .npy
// arrays, TF.js topology and seeded initial weights, the Python beside them), for the bench and
// for tests of the Python side that need no browser: from the mnist package's real digits
// (writeSyntheticKit), or from any splits and settings (writeKit).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { NO_AUGMENTATION, type AugmentationSpec } from '../../src/lib/augment/spec';
import { encodeNpy } from '../../src/lib/kit/npy';
import { kitHyperparameters, KIT_FORMAT_VERSION, KIT_KIND, validateKitJob, type KitJob } from '../../src/lib/kit/job';
import { DEFAULT_SETTINGS, type TrainSettings } from '../../src/lib/train/train-config';
import { KIT_PYTHON_DIR } from './python';
import { modelArtifacts } from '../../workers/ml/save-version';

const require = createRequire(import.meta.url);
const MNIST_DIR = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');

export interface SyntheticKitOptions {
  perClass: { train: number; val: number; test: number };
  architecture?: ArchitectureConfig['kind'];
  epochs?: number;
  batchSize?: number;
}

/** One split's exact model inputs: uint8 NHWC pixels, class indices, image ids. */
export interface KitSplit {
  x: Uint8Array;
  y: Int32Array;
  ids: string[];
}

export interface KitSpec {
  splits: Record<'train' | 'val' | 'test', KitSplit>;
  classes: string[];
  inputSize: number;
  channels: 1 | 3;
  architecture: KitJob['architecture'];
  /** Seed of the initial weights (built here with the app's builder) and of the kit's own draws. */
  seed: number;
  settings: TrainSettings;
  augmentation: AugmentationSpec;
}

export async function writeKit(dir: string, spec: KitSpec): Promise<KitJob> {
  const { inputSize: size, channels } = spec;
  const files = new Map<string, Uint8Array>();
  const counts = { train: 0, val: 0, test: 0 };
  for (const split of ['train', 'val', 'test'] as const) {
    const { x, y, ids } = spec.splits[split];
    counts[split] = y.length;
    files.set(`data/${split}_x.npy`, encodeNpy(x, [y.length, size, size, channels]));
    files.set(`data/${split}_y.npy`, encodeNpy(y, [y.length]));
    files.set(`data/${split}_ids.txt`, new TextEncoder().encode(ids.join('\n') + (ids.length ? '\n' : '')));
  }
  const model = buildModel(spec.architecture, spec.seed);
  const { modelTopology: topology, weightSpecs: specs, weightData } = await modelArtifacts(model);
  files.set('init/weights.bin', new Uint8Array(weightData));
  model.dispose();
  const fileInfo: KitJob['files'] = {};
  for (const [path, bytes] of files) fileInfo[path] = { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  const hex = (s: string) => createHash('sha256').update(s).digest('hex');
  const job: KitJob = {
    kind: KIT_KIND,
    formatVersion: KIT_FORMAT_VERSION,
    jobId: randomUUID(),
    createdAt: new Date().toISOString(),
    project: { id: 'synthetic', name: 'Synthetic digits' },
    dataset: { versionId: hex('version'), number: 1, contentHash: hex('content'), counts },
    classes: spec.classes,
    preprocess: { inputSize: size, channels, resize: 'pad', background: [0, 0, 0], layout: 'NHWC uint8', scale: '0..1' },
    augmentation: spec.augmentation,
    seed: spec.seed >>> 0,
    hyperparameters: kitHyperparameters(spec.settings),
    architecture: spec.architecture,
    tfjs: {
      modelTopology: topology as Record<string, unknown>,
      weights: specs.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })),
      initialWeights: 'init/weights.bin',
    },
    app: { version: '0.1.0', tfjsVersion: tf.version.tfjs },
    files: fileInfo,
  };
  const checked = validateKitJob(job);
  if (!checked.ok) throw new Error(checked.errors.join('; '));
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'init'), { recursive: true });
  for (const [path, bytes] of files) writeFileSync(join(dir, path), bytes);
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job, null, 2));
  cpSync(KIT_PYTHON_DIR, dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  return job;
}

export async function writeSyntheticKit(dir: string, opts: SyntheticKitOptions): Promise<KitJob> {
  const size = 28;
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  let offset = 0;
  const splits = {} as KitSpec['splits'];
  for (const split of ['train', 'val', 'test'] as const) {
    const n = opts.perClass[split];
    const x = new Uint8Array(10 * n * size * size);
    const y = new Int32Array(10 * n);
    for (let d = 0; d < 10; d++) {
      const { data } = JSON.parse(readFileSync(join(MNIST_DIR, `${d}.json`), 'utf8')) as { data: number[] };
      for (let k = 0; k < n; k++) {
        const src = (offset + k) * size * size;
        const dst = (d * n + k) * size * size;
        for (let p = 0; p < size * size; p++) x[dst + p] = Math.round(data[src + p] * 255);
        y[d * n + k] = d;
      }
    }
    offset += n;
    splits[split] = { x, y, ids: Array.from({ length: 10 * n }, (_, i) => `${split}-${i}`) };
  }
  const kind = opts.architecture ?? 'cnn';
  if (kind === 'mobilenet') throw new Error('the synthetic kit has 28 px digits; MobileNet needs 32 px or more');
  const architecture = (
    kind === 'mlp'
      ? { kind, inputSize: size, channels: 1, numClasses: 10, dropout: 0.2, hidden: [128] }
      : { kind, inputSize: size, channels: 1, numClasses: 10, dropout: 0.25 }
  ) as KitJob['architecture'];
  await tf.setBackend('cpu');
  const settings: TrainSettings = {
    ...DEFAULT_SETTINGS,
    learningRate: 0.002,
    batchSize: opts.batchSize ?? 64,
    epochs: opts.epochs ?? 2,
    earlyStoppingPatience: 0,
  };
  return writeKit(dir, {
    splits,
    classes,
    inputSize: size,
    channels: 1,
    architecture,
    seed: 42,
    settings,
    augmentation: { ...NO_AUGMENTATION },
  });
}
