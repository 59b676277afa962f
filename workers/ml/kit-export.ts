// "Export training kit": a dataset version as a zip that PyTorch trains on any machine or cluster
// (ARCHITECTURE.md "Training kit"). The arrays are the exact model inputs the app would train on
// (its preprocessed cache), the model is described by the app's own TF.js topology, and the
// Python ships inside the zip, so the kit needs nothing but PyTorch and NumPy.
import * as tf from '@tensorflow/tfjs';
import { BlobWriter, TextReader, Uint8ArrayReader, ZipWriter, configure } from '@zip.js/zip.js';
import { getDatasetVersion } from '../../src/db/datasets';
import { getPipeline } from '../../src/db/pipelines';
import { getPreprocessedBatch } from '../../src/db/preprocessed';
import { getProject } from '../../src/db/projects';
import { getOriginal, listSamples } from '../../src/db/samples';
import type { DatasetVersionRecord } from '../../src/db/schema';
import type { AugmentationSpec } from '../../src/lib/augment/spec';
import { datasetVersionHash, unpackItems, type DatasetItem } from '../../src/lib/dataset/version';
import { kitImagePath, KIT_FORMAT_VERSION, KIT_KIND, validateKitJob, type KitJob } from '../../src/lib/kit/job';
import { encodeNpy } from '../../src/lib/kit/npy';
import { KIT_PYTHON_FILES } from '../../src/lib/kit/python-sources';
import { KIT_REQUIREMENTS, kitReadme } from '../../src/lib/kit/readme';
import { buildModel } from '../../src/lib/ml/architectures';
import { effectiveTrainSettings, type PipelineDefinition } from '../../src/lib/pipeline/definition';
import { preprocessHash } from '../../src/lib/preprocess/config';
import { DEFAULT_SETTINGS, type TrainSettings } from '../../src/lib/train/train-config';
import { ensurePreprocessed } from './data-feed';
import { APP_VERSION, modelArtifacts } from './save-version';
import { architectureOf } from './train-runner';

configure({ useWebWorkers: false });

export interface KitExportProgress {
  phase: 'preprocessing' | 'arrays' | 'images' | 'zipping';
  done: number;
  total: number;
}

export interface KitExport {
  zip: Blob;
  fileName: string;
  jobId: string;
  images: number;
}

const READ_BATCH = 256;
const SPLITS = ['train', 'val', 'test'] as const;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The training settings a version was made for: its pipeline's train step, else the app's defaults on the version's input shape. */
async function settingsFor(version: DatasetVersionRecord): Promise<TrainSettings> {
  const pipeline = version.origin.kind === 'pipeline' ? await getPipeline(version.origin.pipelineId) : undefined;
  const base = pipeline ? effectiveTrainSettings(pipeline.definition as PipelineDefinition) : DEFAULT_SETTINGS;
  return { ...base, inputSize: version.preprocess.inputSize, channels: version.preprocess.channels, resize: version.preprocess.resize };
}

export async function exportTrainingKit(projectId: string, versionId: string, onProgress: (p: KitExportProgress) => void = () => {}): Promise<KitExport> {
  const version = await getDatasetVersion(versionId);
  if (!version || version.projectId !== projectId) throw new Error('That dataset version is not in this project.');
  const project = await getProject(projectId);
  const settings = await settingsFor(version);
  if (settings.backboneId) throw new Error('This version is trained with a transfer backbone; a training kit covers the three built-in architectures only.');
  const items = unpackItems(version, version.classes);
  const { samples } = await listSamples(projectId);
  const byId = new Map(samples.map((s) => [s.id, s]));
  const missing = items.filter((i) => !byId.has(i.id));
  if (missing.length) throw new Error(`${missing.length} image(s) of dataset v${version.number} are no longer in the project (e.g. ${missing[0].id.slice(0, 12)}); the kit would not match the version.`);

  const config = version.preprocess;
  await ensurePreprocessed(projectId, items.map((i) => byId.get(i.id)!), config, (done, total) => onProgress({ phase: 'preprocessing', done, total }), () => false);
  const hash = preprocessHash(config);
  const classIndex = new Map(version.classes.map((c, i) => [c, i]));
  const per = config.inputSize * config.inputSize * config.channels;

  const files = new Map<string, Uint8Array>();
  let done = 0;
  for (const split of SPLITS) {
    const chosen = items.filter((i) => i.split === split);
    const x = new Uint8Array(chosen.length * per);
    const y = new Int32Array(chosen.length);
    for (let start = 0; start < chosen.length; start += READ_BATCH) {
      const part = chosen.slice(start, start + READ_BATCH);
      const records = await getPreprocessedBatch(hash, projectId, part.map((i) => i.id));
      records.forEach((r, k) => {
        const bytes = new Uint8Array(r.data);
        if (bytes.length !== per) throw new Error(`The cached pixels of ${r.id.slice(0, 12)} have ${bytes.length} values, expected ${per}.`);
        x.set(bytes, (start + k) * per);
        y[start + k] = classIndex.get(part[k].label)!;
      });
      done += part.length;
      onProgress({ phase: 'arrays', done, total: items.length });
    }
    files.set(`data/${split}_x.npy`, encodeNpy(x, [chosen.length, config.inputSize, config.inputSize, config.channels]));
    files.set(`data/${split}_y.npy`, encodeNpy(y, [chosen.length]));
    files.set(`data/${split}_ids.txt`, new TextEncoder().encode(chosen.map((i) => i.id).join('\n') + (chosen.length ? '\n' : '')));
  }

  // The app's own model for these settings: its topology and weight manifest are the contract out/
  // must meet, and its seeded initial weights let the kit start exactly where the app would.
  const architecture = architectureOf(settings, version.classes.length);
  if (architecture.kind === 'head') throw new Error('Transfer heads are not part of the training kit.');
  await tf.ready();
  const model = buildModel(architecture, settings.seed);
  let artifacts;
  try {
    artifacts = await modelArtifacts(model);
  } finally {
    model.dispose();
  }
  files.set('init/weights.bin', new Uint8Array(artifacts.weightData));

  const fileInfo: KitJob['files'] = {};
  for (const [path, bytes] of files) fileInfo[path] = { bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
  const counts = { train: 0, val: 0, test: 0 };
  for (const i of items) counts[i.split as keyof typeof counts]++;
  const job: KitJob = {
    kind: KIT_KIND,
    formatVersion: KIT_FORMAT_VERSION,
    jobId: crypto.randomUUID(),
    createdAt: new Date().toISOString(),
    project: { id: projectId, name: project?.name ?? projectId },
    dataset: {
      versionId: version.id,
      number: version.number,
      contentHash: await datasetVersionHash({ items, classes: version.classes, preprocess: version.preprocess, augmentation: version.augmentation as AugmentationSpec }),
      counts,
    },
    classes: version.classes,
    preprocess: { inputSize: config.inputSize, channels: config.channels, resize: config.resize, background: config.background, layout: 'NHWC uint8', scale: '0..1' },
    augmentation: version.augmentation as AugmentationSpec,
    seed: settings.seed >>> 0,
    hyperparameters: {
      optimizer: settings.optimizer, learningRate: settings.learningRate, batchSize: settings.batchSize, epochs: settings.epochs,
      momentum: settings.momentum, earlyStoppingPatience: settings.earlyStoppingPatience,
    },
    architecture: architecture as KitJob['architecture'],
    tfjs: {
      modelTopology: artifacts.modelTopology as Record<string, unknown>,
      weights: artifacts.weightSpecs.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' as const })),
      initialWeights: 'init/weights.bin',
    },
    app: { version: APP_VERSION, tfjsVersion: tf.version.tfjs },
    files: fileInfo,
  };
  const checked = validateKitJob(job);
  if (!checked.ok) throw new Error(`The kit's job.json would be refused: ${checked.errors.join('; ')}`);

  const writer = new ZipWriter(new BlobWriter('application/zip'));
  await writer.add('job.json', new TextReader(JSON.stringify(job, null, 2)));
  await writer.add('README.md', new TextReader(kitReadme(job)));
  await writer.add('requirements.txt', new TextReader(KIT_REQUIREMENTS));
  for (const [path, source] of Object.entries(KIT_PYTHON_FILES)) await writer.add(path, new TextReader(source));
  for (const [path, bytes] of files) await writer.add(path, new Uint8ArrayReader(bytes), { level: path.endsWith('.bin') ? 0 : 6 });
  onProgress({ phase: 'zipping', done: 0, total: items.length });
  await addImages(writer, projectId, items, byId, (n) => onProgress({ phase: 'images', done: n, total: items.length }));
  const zip = await writer.close();
  const safeName = (project?.name ?? 'project').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'project';
  return { zip, fileName: `trainyard-kit-${safeName}-v${version.number}.zip`, jobId: job.jobId, images: items.length };
}

async function addImages(writer: ZipWriter<Blob>, projectId: string, items: DatasetItem[], byId: Map<string, { fileName: string }>, progress: (n: number) => void): Promise<void> {
  let n = 0;
  for (const item of items) {
    const original = await getOriginal(projectId, item.id);
    if (!original) throw new Error(`The image bytes of ${item.id.slice(0, 12)} are missing.`);
    const bytes = new Uint8Array(original.data);
    // Images are already compressed: stored, not deflated again.
    await writer.add(kitImagePath(item.split, item.label, item.id, byId.get(item.id)?.fileName ?? item.id), new Uint8ArrayReader(bytes), { level: 0 });
    if (++n % 200 === 0) progress(n);
  }
  progress(n);
}
