// "Export training kit": a dataset version as a zip that PyTorch trains on any machine or cluster
// (ARCHITECTURE.md "Training kit"). The arrays are the exact model inputs the app would train on
// (its preprocessed cache), the model is described by the app's own TF.js topology, and the
// Python ships inside the zip, so the kit needs nothing but PyTorch and NumPy.
import * as tf from '@tensorflow/tfjs';
import { BlobWriter, TextReader, Uint8ArrayReader, ZipWriter, configure } from '@zip.js/zip.js';
import { getDatasetVersion } from '../../src/db/datasets';
import { getPipeline, getPipelineRun } from '../../src/db/pipelines';
import { getRun } from '../../src/db/runs';
import { getPreprocessedBatch } from '../../src/db/preprocessed';
import { getProject } from '../../src/db/projects';
import { getOriginal, listSamples } from '../../src/db/samples';
import type { DatasetVersionRecord } from '../../src/contracts/records';
import type { AugmentationSpec } from '../../src/lib/augment/spec';
import { datasetVersionHash, unpackItems, type DatasetItem } from '../../src/lib/dataset/version';
import { kitHyperparameters, kitImagePath, KIT_FORMAT_VERSION, KIT_KIND, validateKitJob, type KitJob } from '../../src/lib/kit/job';
import { encodeNpy } from '../../src/lib/kit/npy';
import { KIT_PYTHON_FILES } from '../../src/lib/kit/python-sources';
import { KIT_REQUIREMENTS, kitReadme } from '../../src/lib/kit/readme';
import { buildModel } from '../../src/lib/ml/architectures';
import { effectiveTrainSettings, findStep, type PipelineDefinition } from '../../src/lib/pipeline/definition';
import type { PipelineRunRecord } from '../../src/lib/pipeline/runner';
import { preprocessHash } from '../../src/lib/preprocess/config';
import { DEFAULT_SETTINGS, type TrainSettings } from '../../src/lib/train/train-config';
import { ensurePreprocessed } from './data-feed';
import { APP_VERSION, modelArtifacts } from './save-version';
import { architectureOf, type RunConfig } from './train-runner';
import { sha256Hex } from '../../src/lib/util/hex';
import type { KitExportProgress, KitExport } from '../../src/contracts/kit';
export type { KitExportProgress, KitExport };

configure({ useWebWorkers: false });

const READ_BATCH = 256;
const SPLITS = ['train', 'val', 'test'] as const;

/**
 * The training settings of a pipeline run's train step: the ones its training run used when the
 * step finished (for a tune step, the best trial's), else the run's own copy of the definition's.
 */
async function runSettings(run: PipelineRunRecord): Promise<{ settings: TrainSettings; source: KitJob['source'] }> {
  const step = findStep(run.definition, 'train');
  if (!step) throw new Error(`Pipeline run #${run.number} has no train step.`);
  const stepRun = run.steps.find((s) => s.stepId === step.id);
  const trainedId = stepRun && (stepRun.state === 'done' || stepRun.state === 'cached') ? stepRun.outputs?.runId : undefined;
  const trained = typeof trainedId === 'string' ? await getRun(trainedId) : undefined;
  const settings = trained ? (trained.config as RunConfig).settings : effectiveTrainSettings(run.definition);
  const source: KitJob['source'] = {
    kind: 'pipeline-train-step',
    pipelineId: run.pipelineId,
    pipelineName: run.definition.name,
    pipelineRunId: run.id,
    runNumber: run.number,
    stepId: step.id,
    settingsFrom: trained ? 'trained-run' : step.settings.mode === 'tune' ? 'tune-base-settings' : 'definition',
  };
  return { settings, source };
}

/**
 * The training settings for a kit of `version`: those of the pipeline run's train step when one is
 * named (its split step must have made this version), else those of the run that made the version,
 * else of its pipeline as it is now, else the app's defaults; always on the version's input shape.
 */
async function settingsFor(
  version: DatasetVersionRecord,
  pipelineRunId?: string,
): Promise<{ settings: TrainSettings; source: KitJob['source'] }> {
  let chosen: { settings: TrainSettings; source: KitJob['source'] } | null = null;
  const runId = pipelineRunId ?? (version.origin.kind === 'pipeline' ? version.origin.runId : null);
  const run = runId ? await getPipelineRun(runId) : undefined;
  if (pipelineRunId) {
    if (!run || run.projectId !== version.projectId) throw new Error('That pipeline run is not in this project (deleted?).');
    const made = run.steps.find((s) => s.kind === 'split' && (s.state === 'done' || s.state === 'cached'))?.outputs?.datasetVersionId;
    if (made !== version.id) throw new Error(`Pipeline run #${run.number} did not make dataset v${version.number}.`);
  }
  if (run) chosen = await runSettings(run);
  else if (version.origin.kind === 'pipeline') {
    const pipeline = await getPipeline(version.origin.pipelineId);
    if (pipeline)
      chosen = {
        settings: effectiveTrainSettings(pipeline.definition as PipelineDefinition),
        source: { kind: 'pipeline-definition', pipelineId: pipeline.id, pipelineName: (pipeline.definition as PipelineDefinition).name },
      };
  }
  chosen ??= { settings: DEFAULT_SETTINGS, source: { kind: 'defaults' } };
  return {
    settings: {
      ...chosen.settings,
      inputSize: version.preprocess.inputSize,
      channels: version.preprocess.channels,
      resize: version.preprocess.resize,
    },
    source: chosen.source,
  };
}

/** "Export training kit" on a pipeline run's train step: the dataset version its split step made, with the settings of its train step. */
export async function exportTrainingKitFromRun(
  projectId: string,
  pipelineRunId: string,
  onProgress: (p: KitExportProgress) => void = () => {},
): Promise<KitExport> {
  const run = await getPipelineRun(pipelineRunId);
  if (!run || run.projectId !== projectId) throw new Error('That pipeline run is not in this project.');
  const versionId = run.steps.find((s) => s.kind === 'split' && (s.state === 'done' || s.state === 'cached'))?.outputs?.datasetVersionId;
  if (typeof versionId !== 'string')
    throw new Error(`Pipeline run #${run.number} has no dataset version yet: its split step has not finished.`);
  return exportTrainingKit(projectId, versionId, onProgress, pipelineRunId);
}

export async function exportTrainingKit(
  projectId: string,
  versionId: string,
  onProgress: (p: KitExportProgress) => void = () => {},
  pipelineRunId?: string,
): Promise<KitExport> {
  const version = await getDatasetVersion(versionId);
  if (!version || version.projectId !== projectId) throw new Error('That dataset version is not in this project.');
  const project = await getProject(projectId);
  const { settings, source } = await settingsFor(version, pipelineRunId);
  if (settings.backboneId)
    throw new Error('This version is trained with a transfer backbone; a training kit covers the three built-in architectures only.');
  const items = unpackItems(version, version.classes);
  const { samples } = await listSamples(projectId);
  const byId = new Map(samples.map((s) => [s.id, s]));
  const missing = items.filter((i) => !byId.has(i.id));
  if (missing.length)
    throw new Error(
      `${missing.length} image(s) of dataset v${version.number} are no longer in the project (e.g. ${missing[0].id.slice(0, 12)}); the kit would not match the version.`,
    );

  const config = version.preprocess;
  await ensurePreprocessed(
    projectId,
    items.map((i) => byId.get(i.id)!),
    config,
    (done, total) => onProgress({ phase: 'preprocessing', done, total }),
    () => false,
  );
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
      const records = await getPreprocessedBatch(
        hash,
        projectId,
        part.map((i) => i.id),
      );
      records.forEach((r, k) => {
        const bytes = new Uint8Array(r.data);
        if (bytes.length !== per)
          throw new Error(`The cached pixels of ${r.id.slice(0, 12)} have ${bytes.length} values, expected ${per}.`);
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
      contentHash: await datasetVersionHash({
        items,
        classes: version.classes,
        preprocess: version.preprocess,
        augmentation: version.augmentation as AugmentationSpec,
      }),
      counts,
    },
    classes: version.classes,
    preprocess: {
      inputSize: config.inputSize,
      channels: config.channels,
      resize: config.resize,
      background: config.background,
      layout: 'NHWC uint8',
      scale: '0..1',
    },
    augmentation: version.augmentation as AugmentationSpec,
    seed: settings.seed >>> 0,
    hyperparameters: kitHyperparameters(settings),
    source,
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
  const safeName =
    (project?.name ?? 'project')
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'project';
  return { zip, fileName: `trainyard-kit-${safeName}-v${version.number}.zip`, jobId: job.jobId, images: items.length };
}

async function addImages(
  writer: ZipWriter<Blob>,
  projectId: string,
  items: DatasetItem[],
  byId: Map<string, { fileName: string }>,
  progress: (n: number) => void,
): Promise<void> {
  let n = 0;
  for (const item of items) {
    const original = await getOriginal(projectId, item.id);
    if (!original) throw new Error(`The image bytes of ${item.id.slice(0, 12)} are missing.`);
    const bytes = new Uint8Array(original.data);
    // Images are already compressed: stored, not deflated again.
    await writer.add(kitImagePath(item.split, item.label, item.id, byId.get(item.id)?.fileName ?? item.id), new Uint8ArrayReader(bytes), {
      level: 0,
    });
    if (++n % 200 === 0) progress(n);
  }
  progress(n);
}
