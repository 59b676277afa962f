// Model zips in and out: TF.js layers format (model.json + weights.bin) with a Teachable-Machine-
// shaped metadata.json and a model card. Imports are validated before TF.js sees any of it.
import * as tf from '@tensorflow/tfjs';
import { BlobReader, BlobWriter, TextReader, Uint8ArrayReader, ZipReader, ZipWriter, configure, type FileEntry } from '@zip.js/zip.js';
import { addVersion, getVersion, getWeights } from '../../src/db/models';
import { validateModelJson, validateWeightBytes } from '../../src/lib/ml/model-json-validate';
import { modelCard } from '../../src/lib/registry/model-card';
import type { PreprocessConfig, VersionMeta } from '../../src/contracts/training';
import { APP_VERSION } from './save-version';
import { ZipGuard } from '../../src/lib/import/zip-guard';
import { concatBytes, inflateEntry } from '../zip-entry';
import { JSON_LIMITS, parseUntrustedJson } from '../../src/lib/util/safe-json';
import { isArchiveJunk } from '../../src/lib/util/archive-junk';

configure({ useWebWorkers: false });

export async function exportVersionZip(versionId: string): Promise<Blob> {
  const [version, weights] = await Promise.all([getVersion(versionId), getWeights(versionId)]);
  if (!version || !weights) throw new Error('That model version no longer exists.');
  const meta = version.meta;
  if (meta.backboneId) {
    throw new Error(
      'This version was trained on a graph-model backbone: it is stored as a head that runs after that backbone, so it cannot be exported as a single layers model.',
    );
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${meta.tfjsVersion}`,
    convertedBy: null,
    modelTopology: weights.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.weightSpecs }],
  };
  const metadata = {
    tfjsVersion: meta.tfjsVersion,
    tmVersion: null,
    packageVersion: APP_VERSION,
    packageName: 'trainyard',
    timeStamp: new Date(version.createdAt).toISOString(),
    userMetadata: {
      trainyard: {
        version: version.number,
        preprocess: meta.preprocess,
        normalization: meta.normalization ?? '0..1',
        metrics: { accuracy: meta.metrics?.accuracy },
      },
    },
    modelName: `trainyard-v${version.number}`,
    labels: meta.labels,
    imageSize: meta.preprocess.inputSize,
    grayscale: meta.preprocess.channels === 1,
  };
  const writer = new ZipWriter(new BlobWriter('application/zip'));
  await writer.add('model.json', new TextReader(JSON.stringify(modelJson)));
  await writer.add('weights.bin', new Uint8ArrayReader(new Uint8Array(weights.weightData)), { level: 0 });
  await writer.add('metadata.json', new TextReader(JSON.stringify(metadata, null, 2)));
  await writer.add('README.md', new TextReader(modelCard(version.number, meta)));
  return writer.close();
}

const IMPORT_LIMITS = { maxEntries: 64, maxEntryBytes: 256 * 1024 * 1024, maxTotalBytes: 512 * 1024 * 1024 };

export interface ImportResult {
  versionId: string;
  number: number;
  labels: string[];
}

export async function importModelZip(projectId: string, zip: Blob): Promise<ImportResult> {
  const reader = new ZipReader(new BlobReader(zip), { filenameValidation: 'tolerant' });
  try {
    let entries;
    try {
      entries = (await reader.getEntries()).filter((e) => !e.directory && !isArchiveJunk(e.filename));
    } catch {
      throw new Error('This is not a readable zip file.');
    }
    const guard = new ZipGuard(IMPORT_LIMITS);
    guard.checkEntryCount(entries.length);
    const modelEntry = entries.find((e) => /(^|\/)model\.json$/.test(e.filename));
    if (!modelEntry) throw new Error('The zip has no model.json.');
    const dir = modelEntry.filename.slice(0, modelEntry.filename.length - 'model.json'.length);
    // validateModelJson parses through lib/util/safe-json: size, depth and prototype keys first.
    const json = new TextDecoder().decode(await inflateEntry(modelEntry as FileEntry, guard));
    const checked = validateModelJson(json);
    if (!checked.ok) throw new Error(`model.json refused: ${checked.reason}`);
    if (checked.format !== 'layers-model')
      throw new Error('Only TF.js layers models can be imported as versions (graph models can be used as backbones).');
    // Weights are read only from files inside this zip: never fetched, so nothing leaves the machine.
    const parts: Uint8Array[] = [];
    for (const path of checked.weightFiles) {
      const entry = entries.find((e) => e.filename === dir + path);
      if (!entry) throw new Error(`Weights file ${path} named in model.json is not in the zip.`);
      parts.push(await inflateEntry(entry as FileEntry, guard));
    }
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    const sizeProblem = validateWeightBytes(checked.expectedBytes, total);
    if (sizeProblem) throw new Error(sizeProblem);
    const weightData = concatBytes(parts);
    const parsed = JSON.parse(json) as { weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>; modelTopology: unknown };
    const manifest = parsed.weightsManifest;
    const weightSpecs = manifest.flatMap((g) => g.weights);
    if (!finiteWeights(weightSpecs, weightData)) throw new Error('The weights contain NaN or infinite values.');
    const metaEntry = entries.find((e) => e.filename === `${dir}metadata.json`);
    let metadata: Record<string, unknown> = {};
    if (metaEntry) {
      const value = parseUntrustedJson(await inflateEntry(metaEntry as FileEntry, guard), 'metadata.json', JSON_LIMITS.metadataJson);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('metadata.json must contain a JSON object.');
      metadata = value as Record<string, unknown>;
    }
    const topology = parsed.modelTopology;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: topology as tf.io.ModelJSON['modelTopology'], weightSpecs, weightData: weightData.buffer }),
    );
    try {
      const inputShape = model.inputs[0].shape;
      const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 0;
      const labels =
        Array.isArray(metadata.labels) && metadata.labels.every((l) => typeof l === 'string')
          ? (metadata.labels as string[])
          : Array.from({ length: outputs }, (_, i) => `class ${i}`);
      if (labels.length !== outputs) throw new Error(`metadata.json lists ${labels.length} labels but the model has ${outputs} outputs.`);
      if (inputShape.length !== 4 || inputShape[1] !== inputShape[2] || ![1, 3].includes(inputShape[3] ?? 0)) {
        throw new Error(`Only square image models with 1 or 3 channels can be imported (input shape ${JSON.stringify(inputShape)}).`);
      }
      const ours = (metadata.userMetadata as { trainyard?: { preprocess?: PreprocessConfig; normalization?: string } } | undefined)
        ?.trainyard;
      const preprocess: PreprocessConfig = ours?.preprocess ?? {
        inputSize: inputShape[1]!,
        channels: inputShape[3] as 1 | 3,
        resize: 'center-crop',
        background: [0, 0, 0],
      };
      const id = crypto.randomUUID();
      const meta: VersionMeta = {
        labels,
        inputShape: inputShape.slice(1) as number[],
        preprocess,
        // Teachable Machine image models expect inputs in [-1, 1]; Trainyard's use [0, 1].
        normalization: ours ? (ours.normalization === '-1..1' ? '-1..1' : '0..1') : '-1..1',
        source: 'imported',
        importedFrom: String(metadata.modelName ?? 'model.zip'),
        tfjsVersion: tf.version.tfjs,
        appVersion: APP_VERSION,
      };
      const version = await addVersion(
        { id, projectId, createdAt: Date.now(), runId: null, parentId: null, meta },
        { versionId: id, modelTopology: topology, weightSpecs, weightData: weightData.buffer },
      );
      return { versionId: id, number: version.number, labels };
    } finally {
      model.dispose();
    }
  } finally {
    await reader.close();
  }
}

function finiteWeights(specs: tf.io.WeightsManifestEntry[], data: Uint8Array): boolean {
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const bytesPer = q ? (q.dtype === 'uint8' ? 1 : 2) : 4;
    if (!q && spec.dtype === 'float32') {
      const view = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + count * 4));
      for (let i = 0; i < view.length; i++) if (!Number.isFinite(view[i])) return false;
    }
    offset += count * bytesPer;
  }
  return true;
}
