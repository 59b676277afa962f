// The training kit's contract (ARCHITECTURE.md "Training kit"): job.json, written by the app and
// checked by trainyard_kit/job.py before training, then checked again here when out/ comes back.
// Pure: Node tests run the same rules the worker does.
import type { AugmentationSpec } from '../augment/spec';
import { validateAugmentation } from '../augment/spec';
import { validateArchitecture, type ArchitectureConfig } from '../ml/architectures';
import { PLATEAU, type TrainSettings } from '../train/train-config';

export const KIT_KIND = 'trainyard-training-kit';
export const KIT_FORMAT_VERSION = 1;

export interface KitWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface KitJob {
  kind: typeof KIT_KIND;
  formatVersion: typeof KIT_FORMAT_VERSION;
  jobId: string;
  createdAt: string;
  project: { id: string; name: string };
  /** versionId is the dataset version's id; contentHash the SHA-256 of its canonical content. */
  dataset: { versionId: string; number: number; contentHash: string; counts: { train: number; val: number; test: number } };
  /** Class order: label i of the .npy files and output i of the model. */
  classes: string[];
  /** The arrays in data/ are these exact model inputs: uint8, NHWC, divide by 255 for 0..1. */
  preprocess: {
    inputSize: number;
    channels: 1 | 3;
    resize: string;
    background: [number, number, number];
    layout: 'NHWC uint8';
    scale: '0..1';
  };
  augmentation: AugmentationSpec;
  seed: number;
  hyperparameters: {
    optimizer: 'adam' | 'sgd' | 'rmsprop';
    learningRate: number;
    batchSize: number;
    epochs: number;
    momentum: number;
    earlyStoppingPatience: number;
    /** The app's schedule with early stopping: multiply the rate by `factor` after each `patience` epochs without improvement (never below minLearningRate). Absent or null: constant rate. */
    reduceOnPlateau?: { patience: number; factor: number; minLearningRate: number } | null;
    /** End on the weights of the epoch with the lowest validation loss, as the app does with early stopping. Absent: false. */
    keepBestEpoch?: boolean;
  };
  /** Where the training settings came from (shown in the kit's README; not needed to train). */
  source?:
    | {
        kind: 'pipeline-train-step';
        pipelineId: string;
        pipelineName: string;
        pipelineRunId: string;
        runNumber: number;
        stepId: string;
        settingsFrom: 'trained-run' | 'tune-base-settings' | 'definition';
      }
    | { kind: 'pipeline-definition'; pipelineId: string; pipelineName: string }
    | { kind: 'defaults' };
  architecture: ArchitectureConfig & { kind: 'cnn' | 'mobilenet' | 'mlp' };
  /** The app's TF.js model for this architecture: out/model.json must carry this topology and manifest. */
  tfjs: { modelTopology: Record<string, unknown>; weights: KitWeightSpec[]; initialWeights: string };
  app: { version: string; tfjsVersion: string };
  /** Every data file with its size and SHA-256 (the Python side checks them before training). */
  files: Record<string, { bytes: number; sha256: string }>;
}

/** job.json's hyperparameters for these settings, with the app's schedule around early stopping (train-runner.ts). */
export function kitHyperparameters(s: TrainSettings): KitJob['hyperparameters'] {
  return {
    optimizer: s.optimizer,
    learningRate: s.learningRate,
    batchSize: s.batchSize,
    epochs: s.epochs,
    momentum: s.momentum,
    earlyStoppingPatience: s.earlyStoppingPatience,
    reduceOnPlateau: s.earlyStoppingPatience > 2 ? PLATEAU(s.learningRate) : null,
    keepBestEpoch: s.earlyStoppingPatience > 0,
  };
}

export type KitJobValidation = { ok: true; job: KitJob } | { ok: false; errors: string[] };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown, lo: number, hi: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isHex64 = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);

/** Every check in validateKitJob passed: the value is a KitJob. */
const isCheckedJob = (_x: unknown, errors: string[]): _x is KitJob => errors.length === 0;
/** The kind was checked; validateArchitecture checks the numbers. */
const isArchitectureKind = (a: Record<string, unknown>): a is Record<string, unknown> & ArchitectureConfig =>
  ['cnn', 'mobilenet', 'mlp'].includes(a.kind as string);

/** Untrusted JSON to a KitJob, or every problem found (same rules as trainyard_kit/job.py). */
export function validateKitJob(x: unknown): KitJobValidation {
  if (!isObj(x)) return { ok: false, errors: ['job.json must be an object'] };
  const errors: string[] = [];
  if (x.kind !== KIT_KIND) errors.push(`kind must be '${KIT_KIND}'`);
  if (x.formatVersion !== KIT_FORMAT_VERSION)
    errors.push(`formatVersion ${JSON.stringify(x.formatVersion)} is not supported (this app reads ${KIT_FORMAT_VERSION})`);
  if (typeof x.jobId !== 'string' || !x.jobId) errors.push('jobId must be a non-empty string');
  if (!isObj(x.project) || typeof x.project.id !== 'string') errors.push('project.id must be a string');
  const ds = x.dataset;
  if (!isObj(ds) || !isHex64(ds.versionId) || !isHex64(ds.contentHash))
    errors.push('dataset.versionId and dataset.contentHash must be SHA-256 hex strings');
  const classes = x.classes;
  const classesOk =
    Array.isArray(classes) &&
    classes.length >= 2 &&
    classes.every((c) => typeof c === 'string' && c.length > 0) &&
    new Set(classes).size === classes.length;
  if (!classesOk) errors.push('classes must list at least 2 distinct non-empty names');
  const pre = x.preprocess;
  const preOk = isObj(pre) && isInt(pre.inputSize, 1, 256) && (pre.channels === 1 || pre.channels === 3);
  if (!preOk) errors.push('preprocess needs inputSize 1..256 and channels 1 or 3');
  const aug = validateAugmentation(x.augmentation);
  if (!aug.ok) errors.push(...aug.errors.map((e) => `augmentation: ${e}`));
  if (!isInt(x.seed, 0, 2 ** 32 - 1)) errors.push('seed must be a whole number from 0 to 2^32-1');
  const hp = x.hyperparameters;
  if (!isObj(hp)) errors.push('hyperparameters must be an object');
  else {
    if (!['adam', 'sgd', 'rmsprop'].includes(hp.optimizer as string)) errors.push('hyperparameters.optimizer must be adam, sgd or rmsprop');
    if (!isNum(hp.learningRate) || hp.learningRate <= 0) errors.push('hyperparameters.learningRate must be a positive number');
    if (!isInt(hp.batchSize, 1, 65536)) errors.push('hyperparameters.batchSize must be a whole number from 1 to 65536');
    if (!isInt(hp.epochs, 1, 10000)) errors.push('hyperparameters.epochs must be a whole number from 1 to 10000');
    if (!isNum(hp.momentum) || hp.momentum < 0 || hp.momentum >= 1) errors.push('hyperparameters.momentum must be at least 0 and below 1');
    if (!isInt(hp.earlyStoppingPatience, 0, 10000)) errors.push('hyperparameters.earlyStoppingPatience must be a whole number (0 = off)');
    const r = hp.reduceOnPlateau;
    if (
      r !== undefined &&
      r !== null &&
      !(
        isObj(r) &&
        isInt(r.patience, 1, 10000) &&
        isNum(r.factor) &&
        r.factor > 0 &&
        r.factor < 1 &&
        isNum(r.minLearningRate) &&
        r.minLearningRate >= 0
      )
    ) {
      errors.push('hyperparameters.reduceOnPlateau must be null or {patience >= 1, 0 < factor < 1, minLearningRate >= 0}');
    }
    if (hp.keepBestEpoch !== undefined && typeof hp.keepBestEpoch !== 'boolean')
      errors.push('hyperparameters.keepBestEpoch must be true or false');
  }
  const arch = x.architecture;
  if (!isObj(arch) || !isArchitectureKind(arch)) errors.push('architecture.kind must be cnn, mobilenet or mlp');
  else {
    const problem = validateArchitecture(arch);
    if (problem) errors.push(`architecture: ${problem}`);
    else if (classesOk && arch.numClasses !== (classes as string[]).length)
      errors.push('architecture.numClasses must equal the number of classes');
    else if (preOk && (arch.inputSize !== pre.inputSize || arch.channels !== pre.channels))
      errors.push('architecture inputSize/channels must match preprocess');
  }
  const tfjs = x.tfjs;
  if (!isObj(tfjs) || !isObj(tfjs.modelTopology) || !Array.isArray(tfjs.weights))
    errors.push('tfjs.modelTopology and tfjs.weights are required');
  else if (
    !tfjs.weights.every(
      (w) =>
        isObj(w) &&
        typeof w.name === 'string' &&
        Array.isArray(w.shape) &&
        w.shape.every((d) => isInt(d, 0, 1 << 24)) &&
        w.dtype === 'float32',
    )
  ) {
    errors.push('tfjs.weights must list {name, shape, dtype: float32}');
  }
  if (
    !isObj(x.files) ||
    !Object.values(x.files).every((f) => isObj(f) && isInt(f.bytes, 0, Number.MAX_SAFE_INTEGER) && isHex64(f.sha256))
  ) {
    errors.push('files must map each data file to its size and SHA-256');
  }
  return isCheckedJob(x, errors) ? { ok: true, job: x } : { ok: false, errors };
}

/** What an out/ folder's metadata.json and metrics.json say about the run (written by trainyard_kit). */
export interface KitTrainedOn {
  framework: string;
  version: string;
  devices: number;
  device: string;
  backend: string | null;
}

export interface KitResultInfo {
  jobId: string;
  weightsSha256: string;
  trainedOn: KitTrainedOn;
  testAccuracy: number | null;
  testCount: number;
  epochs: number;
  history: unknown[];
  imagesPerSecond: number | null;
  onnx: string | null;
}

/** Reads the kit's own fields from out/metadata.json and out/metrics.json; a reason when they are missing or malformed. */
export function readKitResult(metadata: unknown, metrics: unknown): KitResultInfo | string {
  const kit =
    isObj(metadata) && isObj(metadata.userMetadata) && isObj(metadata.userMetadata.trainyard)
      ? metadata.userMetadata.trainyard.kit
      : undefined;
  if (!isObj(kit)) return 'metadata.json has no userMetadata.trainyard.kit: this is not the output of a Trainyard training kit.';
  if (typeof kit.jobId !== 'string' || !isHex64(kit.weightsSha256))
    return 'metadata.json: the kit fields jobId and weightsSha256 are missing or malformed.';
  const on = kit.trainedOn;
  if (!isObj(on) || typeof on.version !== 'string' || !isInt(on.devices, 1, 1_000_000) || typeof on.device !== 'string')
    return 'metadata.json: trainedOn (PyTorch version, device count and kind) is missing.';
  if (!isObj(metrics)) return 'metrics.json must be an object.';
  if (metrics.jobId !== kit.jobId) return `metrics.json belongs to job ${String(metrics.jobId)}, metadata.json to job ${kit.jobId}.`;
  const acc = metrics.testAccuracy;
  if (acc !== null && !(isNum(acc) && acc >= 0 && acc <= 1)) return 'metrics.json: testAccuracy must be a number from 0 to 1.';
  return {
    jobId: kit.jobId,
    weightsSha256: kit.weightsSha256,
    trainedOn: {
      framework: String(on.framework ?? 'PyTorch'),
      version: on.version,
      devices: on.devices,
      device: on.device,
      backend: typeof on.backend === 'string' ? on.backend : null,
    },
    testAccuracy: acc as number | null,
    testCount: isInt(metrics.testCount, 0, Number.MAX_SAFE_INTEGER) ? metrics.testCount : 0,
    epochs: isInt(metrics.epochs, 0, 1_000_000) ? metrics.epochs : 0,
    history: Array.isArray(metrics.history) ? metrics.history.slice(0, 10_000) : [],
    imagesPerSecond: isNum(metrics.imagesPerSecond) ? metrics.imagesPerSecond : null,
    onnx: typeof metrics.onnx === 'string' ? metrics.onnx : null,
  };
}

/** "PyTorch 1.13.1, 2 x CPU" */
export function trainedOnText(on: KitTrainedOn): string {
  return `${on.framework} ${on.version}, ${on.devices} x ${on.device}`;
}

/**
 * Whether a kit's job belongs to this project's dataset version with the same classes: the reason
 * it is refused, or null. `version` is the stored dataset version the job names (undefined if none).
 */
export function kitMismatch(
  job: KitJob,
  projectId: string,
  version: { id: string; projectId: string; number: number; classes: string[] } | undefined,
  labels: string[],
): string | null {
  if (job.project.id !== projectId) return `This result was trained from a kit of another project (“${job.project.name}”), not this one.`;
  if (!version || version.projectId !== projectId)
    return `The dataset version this kit was made from (v${job.dataset.number}, ${job.dataset.versionId.slice(0, 10)}…) is not in this project.`;
  if (job.classes.length !== version.classes.length || job.classes.some((c, i) => c !== version.classes[i])) {
    return `The kit's classes (${job.classes.join(', ')}) differ from dataset v${version.number}'s (${version.classes.join(', ')}).`;
  }
  if (labels.length !== job.classes.length || labels.some((l, i) => l !== job.classes[i])) {
    return `The model's labels (${labels.join(', ')}) differ from the job's classes (${job.classes.join(', ')}).`;
  }
  return null;
}

/** A path segment safe in any zip tool and file system: no separators, dots-only names or control characters. */
export function safeSegment(name: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_').trim();
  return !cleaned || /^\.+$/.test(cleaned) ? '_' : cleaned.slice(0, 120);
}

/** images/<split>/<class>/<id prefix>-<file name>: unique (the id is the image's SHA-256) and safe. */
export function kitImagePath(split: string, label: string, id: string, fileName: string): string {
  return `images/${split}/${safeSegment(label)}/${id.slice(0, 12)}-${safeSegment(fileName.split(/[\\/]/).pop() ?? fileName)}`;
}
