// Bringing a training kit's out/ back (zip or folder): validated like any model import (read only
// from the given files, nothing fetched, sizes and checksums checked), matched to this project's
// dataset version and classes, measured on that version's frozen test split, and only then stored
// as a version with its lineage. Any failure stores nothing.
import * as tf from '@tensorflow/tfjs';
import { BlobReader, ZipReader, type FileEntry } from '@zip.js/zip.js';
import { getDatasetVersion } from '../../src/db/datasets';
import { addVersion, getVersion, listAliases, setAlias } from '../../src/db/models';
import { listPipelines } from '../../src/db/pipelines';
import { listSamples } from '../../src/db/samples';
import { unpackItems } from '../../src/lib/dataset/version';
import { ZipGuard } from '../../src/lib/import/zip-guard';
import { kitMismatch, readKitResult, trainedOnText, validateKitJob, type KitJob, type KitResultInfo } from '../../src/lib/kit/job';
import { evaluate, predictions } from '../../src/lib/ml/metrics';
import { validateModelJson, validateWeightBytes } from '../../src/lib/ml/model-json-validate';
import { predictAll } from '../../src/lib/ml/train-loop';
import { gateDecision } from '../../src/lib/pipeline/gate';
import { defaultPipeline, findStep, type PipelineDefinition } from '../../src/lib/pipeline/definition';
import { DEFAULT_SETTINGS, type TrainSettings } from '../../src/lib/train/train-config';
import { concatBytes, inflateEntry } from '../zip-entry';
import { ensurePreprocessed, epochData } from './data-feed';
import { evaluateVersionOn } from './evaluate-version';
import { APP_VERSION } from './save-version';
import { errorMessage } from '../../src/lib/util/errors';
import { sha256Hex } from '../../src/lib/util/hex';
import type { VersionMeta } from '../../src/contracts/training';
import type { KitSource, KitImportResult, KitGateResult } from '../../src/contracts/kit';
export type { KitSource, KitImportResult, KitGateResult };
import { isArchiveJunk } from '../../src/lib/util/archive-junk';

const LIMITS: Record<string, number> = {
  'model.json': 50 * 1024 * 1024,
  'metadata.json': 4 * 1024 * 1024,
  'metrics.json': 16 * 1024 * 1024,
  'job.json': 64 * 1024 * 1024,
};
const MAX_WEIGHT_BYTES = 256 * 1024 * 1024;

interface OutFiles {
  has(name: string): boolean;
  read(name: string, limit: number): Promise<Uint8Array<ArrayBuffer>>;
  close(): Promise<void>;
}

async function openSource(source: KitSource): Promise<OutFiles> {
  if (source.kind === 'files') {
    const files = source.files.filter((f) => !isArchiveJunk(f.path));
    const model = files.find((f) => /(^|\/)model\.json$/.test(f.path));
    const dir = model ? model.path.slice(0, model.path.length - 'model.json'.length) : '';
    const byName = new Map(files.filter((f) => f.path.startsWith(dir)).map((f) => [f.path.slice(dir.length), f.file]));
    return {
      has: (name) => byName.has(name),
      async read(name, limit) {
        const file = byName.get(name)!;
        if (file.size > limit)
          throw new Error(`${name} is ${file.size.toLocaleString('en-US')} bytes, more than the ${limit.toLocaleString('en-US')} allowed.`);
        return new Uint8Array(await file.arrayBuffer());
      },
      close: async () => {},
    };
  }
  const reader = new ZipReader(new BlobReader(source.file), { filenameValidation: 'tolerant' });
  let entries: FileEntry[];
  try {
    entries = (await reader.getEntries()).filter((e) => !e.directory && !isArchiveJunk(e.filename)) as FileEntry[];
  } catch {
    await reader.close();
    throw new Error('This is not a readable zip file.');
  }
  const model = entries.find((e) => /(^|\/)model\.json$/.test(e.filename));
  const dir = model ? model.filename.slice(0, model.filename.length - 'model.json'.length) : '';
  const byName = new Map(entries.filter((e) => e.filename.startsWith(dir)).map((e) => [e.filename.slice(dir.length), e]));
  const guard = new ZipGuard({ maxEntries: 10_000, maxEntryBytes: MAX_WEIGHT_BYTES, maxTotalBytes: 2 * MAX_WEIGHT_BYTES });
  guard.checkEntryCount(entries.length);
  return {
    has: (name) => byName.has(name),
    async read(name, limit) {
      const entry = byName.get(name)!;
      if (entry.uncompressedSize > limit)
        throw new Error(
          `${name} is ${entry.uncompressedSize.toLocaleString('en-US')} bytes, more than the ${limit.toLocaleString('en-US')} allowed.`,
        );
      const bytes = await inflateEntry(entry, guard);
      if (bytes.byteLength > limit) throw new Error(`${name} is larger than the ${limit.toLocaleString('en-US')} bytes allowed.`);
      return bytes;
    },
    close: () => reader.close().then(() => undefined),
  };
}

async function readJson(out: OutFiles, name: string): Promise<unknown> {
  const bytes = await out.read(name, LIMITS[name]);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
}

function finite(data: Uint8Array): boolean {
  const view = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  for (let i = 0; i < view.length; i++) if (!Number.isFinite(view[i])) return false;
  return true;
}

/** Everything checked, nothing stored: the parsed pieces of a valid out/. */
interface CheckedKit {
  job: KitJob;
  result: KitResultInfo;
  topology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: Uint8Array<ArrayBuffer>;
  labels: string[];
}

async function checkOut(projectId: string, out: OutFiles): Promise<CheckedKit> {
  const missing = ['model.json', 'metadata.json', 'metrics.json', 'job.json'].filter((n) => !out.has(n));
  if (missing.length)
    throw new Error(
      `This is not a complete training kit result: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (expected in out/ with model.json).`,
    );
  const jobChecked = validateKitJob(await readJson(out, 'job.json'));
  if (!jobChecked.ok) throw new Error(`job.json refused: ${jobChecked.errors.join('; ')}`);
  const job = jobChecked.job;
  const metadata = await readJson(out, 'metadata.json');
  const result = readKitResult(metadata, await readJson(out, 'metrics.json'));
  if (typeof result === 'string') throw new Error(result);
  if (result.jobId !== job.jobId) throw new Error(`The model was trained for job ${result.jobId}, but job.json is job ${job.jobId}.`);

  const modelJson = await readJson(out, 'model.json');
  const checked = validateModelJson(modelJson);
  if (!checked.ok) throw new Error(`model.json refused: ${checked.reason}`);
  if (checked.format !== 'layers-model') throw new Error('model.json is not a TF.js layers model.');
  const manifest = (modelJson as { weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> }).weightsManifest.flatMap(
    (g) => g.weights,
  );
  const expected = job.tfjs.weights;
  if (
    manifest.length !== expected.length ||
    manifest.some(
      (w, i) => w.name !== expected[i].name || w.dtype !== 'float32' || JSON.stringify(w.shape) !== JSON.stringify(expected[i].shape),
    )
  ) {
    throw new Error("model.json's weights are not the ones this job's architecture has: the model is not the app's model for this job.");
  }
  // Weights come only from files beside model.json: never fetched.
  const parts: Uint8Array[] = [];
  for (const path of checked.weightFiles) {
    if (!out.has(path)) throw new Error(`${path}, named in model.json, is missing.`);
    parts.push(await out.read(path, MAX_WEIGHT_BYTES));
  }
  const weightData = concatBytes(parts);
  const sizeProblem = validateWeightBytes(checked.expectedBytes, weightData.byteLength);
  if (sizeProblem) throw new Error(sizeProblem);
  if ((await sha256Hex(weightData)) !== result.weightsSha256)
    throw new Error(
      'The weights do not match the SHA-256 the kit recorded when it wrote them: they were changed or damaged after training.',
    );
  if (!finite(weightData)) throw new Error('The weights contain NaN or infinite values.');
  const labels = (metadata as { labels?: unknown }).labels;
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new Error('metadata.json has no list of labels.');
  return {
    job,
    result,
    topology: (modelJson as { modelTopology: unknown }).modelTopology,
    weightSpecs: manifest,
    weightData,
    labels: labels as string[],
  };
}

export async function importKitResult(projectId: string, source: KitSource): Promise<KitImportResult> {
  const out = await openSource(source);
  let kit: CheckedKit;
  try {
    kit = await checkOut(projectId, out);
  } finally {
    await out.close();
  }
  const { job, result } = kit;
  const dataset = await getDatasetVersion(job.dataset.versionId);
  const mismatch = kitMismatch(job, projectId, dataset, kit.labels);
  if (mismatch || !dataset) throw new Error(mismatch ?? 'The dataset version is missing.');
  const pre = dataset.preprocess;
  if (pre.inputSize !== job.preprocess.inputSize || pre.channels !== job.preprocess.channels)
    throw new Error(
      `The kit's input (${job.preprocess.inputSize} px, ${job.preprocess.channels} channels) differs from dataset v${dataset.number}'s.`,
    );

  // Measured here, on the version's frozen test split, before anything is stored.
  const items = unpackItems(dataset, dataset.classes);
  const test = items.filter((i) => i.split === 'test');
  const { samples } = await listSamples(projectId);
  const byId = new Map(samples.map((s) => [s.id, s]));
  const gone = test.filter((t) => !byId.has(t.id));
  if (gone.length)
    throw new Error(
      `${gone.length} test image(s) of dataset v${dataset.number} are no longer in the project; the version cannot be measured on its test split.`,
    );
  await ensurePreprocessed(
    projectId,
    test.map((t) => byId.get(t.id)!),
    pre,
    () => undefined,
    () => false,
  );
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: kit.topology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: kit.weightSpecs,
      weightData: kit.weightData.buffer,
    }),
  );
  const classIndex = new Map(dataset.classes.map((c, i) => [c, i]));
  const yTrue = test.map((t) => classIndex.get(t.label)!);
  let probs: Float32Array;
  try {
    const shape = model.inputs[0].shape;
    if (shape[1] !== pre.inputSize || shape[2] !== pre.inputSize || shape[3] !== pre.channels)
      throw new Error(`The model's input shape ${JSON.stringify(shape)} does not fit dataset v${dataset.number}.`);
    const data = epochData(
      projectId,
      test.map((t, i) => ({ id: t.id, classIndex: yTrue[i] })),
      pre,
      dataset.classes.length,
      128,
      null,
    );
    probs = await predictAll(
      model,
      (async function* () {
        for await (const b of data.batches()) {
          b.ys.dispose();
          yield b.xs;
        }
      })(),
    );
  } finally {
    model.dispose();
  }
  const report = evaluate(yTrue, probs, dataset.classes.length);
  const trainedOn = trainedOnText(result.trainedOn);
  const counts = job.dataset.counts;
  const hyperparameters: TrainSettings = {
    ...DEFAULT_SETTINGS,
    architecture: job.architecture.kind,
    inputSize: pre.inputSize,
    channels: pre.channels,
    resize: pre.resize,
    optimizer: job.hyperparameters.optimizer,
    learningRate: job.hyperparameters.learningRate,
    batchSize: job.hyperparameters.batchSize,
    epochs: job.hyperparameters.epochs,
    momentum: job.hyperparameters.momentum,
    earlyStoppingPatience: job.hyperparameters.earlyStoppingPatience,
    dropout: job.architecture.dropout,
    seed: job.seed,
    backboneId: null,
    ...(job.architecture.kind === 'mobilenet' ? { widthMultiplier: job.architecture.widthMultiplier } : {}),
    ...(job.architecture.kind === 'mlp' ? { hidden: job.architecture.hidden } : {}),
  };
  const id = crypto.randomUUID();
  const meta: VersionMeta = {
    architecture: job.architecture,
    labels: dataset.classes,
    inputShape: [pre.inputSize, pre.inputSize, pre.channels],
    preprocess: pre,
    normalization: '0..1',
    hyperparameters,
    seed: job.seed,
    datasetHash: job.dataset.contentHash,
    testIds: test.map((t) => t.id),
    testPredicted: predictions(probs, dataset.classes.length),
    testTrue: yTrue,
    splitCounts: counts,
    backend: trainedOn,
    adapter: null,
    metrics: report,
    history: [],
    timings: { trainMs: 0, epochs: result.epochs, imagesPerSecond: result.imagesPerSecond ?? 0 },
    appVersion: APP_VERSION,
    tfjsVersion: tf.version.tfjs,
    source: 'imported',
    importedFrom: `training kit job ${job.jobId.slice(0, 8)}`,
    origin: {
      kind: 'kit',
      jobId: job.jobId,
      datasetVersionId: dataset.id,
      datasetVersionNumber: dataset.number,
      trainedOn: result.trainedOn,
      claimedTestAccuracy: result.testAccuracy,
      kitEpochs: result.epochs,
      kitHistory: result.history,
      onnx: result.onnx,
    },
  };
  const version = await addVersion(
    { id, projectId, createdAt: Date.now(), runId: null, parentId: null, meta },
    { versionId: id, modelTopology: kit.topology, weightSpecs: kit.weightSpecs, weightData: kit.weightData.buffer },
  );
  return {
    versionId: id,
    number: version.number,
    datasetVersionNumber: dataset.number,
    trainedOn,
    accuracy: report.accuracy,
    claimedAccuracy: result.testAccuracy,
    testCount: report.n,
  };
}

/**
 * The pipeline's gate for an imported kit version: it must beat the model holding the pipeline's
 * alias (its promote step's, `production` by default) on the same frozen test split (the kit
 * version's dataset version) by that pipeline's gate settings; with `promote`, a pass moves the
 * alias (kept in its history) as the pipeline's promote step does.
 */
export async function gateKitVersion(projectId: string, versionId: string, promote: boolean): Promise<KitGateResult> {
  const version = await getVersion(versionId);
  const origin = (version?.meta as { origin?: { kind?: string; datasetVersionId?: string } } | undefined)?.origin;
  if (!version || version.projectId !== projectId || origin?.kind !== 'kit' || !origin.datasetVersionId)
    throw new Error('That version is not a training kit result of this project.');
  const dataset = await getDatasetVersion(origin.datasetVersionId);
  if (!dataset) throw new Error('The dataset version this model was trained on no longer exists.');
  const test = unpackItems(dataset, dataset.classes).filter((i) => i.split === 'test');
  // The gate settings of the pipeline that made the dataset version, else of the project's first
  // pipeline with a gate, else the default pipeline's.
  const pipelines = await listPipelines(projectId);
  const own = dataset.origin.kind === 'pipeline' ? dataset.origin.pipelineId : null;
  const ordered = [...pipelines.filter((p) => p.id === own), ...pipelines.filter((p) => p.id !== own)];
  const def = ordered.map((p) => p.definition as PipelineDefinition).find((d) => findStep(d, 'gate')) ?? defaultPipeline('gate');
  const gateStep = findStep(def, 'gate')!;
  const alias = findStep(def, 'promote')?.settings.alias ?? 'production';
  const candidate = await evaluateVersionOn(projectId, versionId, test, () => false);
  const championId = (await listAliases(projectId)).find((a) => a.alias === alias)?.versionId ?? null;
  let champion: KitGateResult['champion'] = null;
  let championScore: { versionId: string; accuracy: number; perClass: Record<string, number> } | null = null;
  if (championId && championId !== versionId) {
    const score = await evaluateVersionOn(projectId, championId, test, () => false);
    championScore = { versionId: championId, accuracy: score.accuracy, perClass: score.perClass };
    champion = { versionId: championId, number: (await getVersion(championId))?.number ?? null, accuracy: score.accuracy };
  }
  const decision = gateDecision({
    candidate: { accuracy: candidate.accuracy, perClass: candidate.perClass },
    champion: championScore,
    minImprovement: gateStep.settings.minImprovement,
    maxClassDrop: gateStep.settings.maxClassDrop,
  });
  const promoted = promote && decision.pass;
  if (promoted) await setAlias(projectId, alias, versionId);
  return { decision, candidateAccuracy: candidate.accuracy, champion, promoted, alias };
}
