// Backbones in TensorFlow.js: import (validate, load from memory, probe the embedding, store in
// IndexedDB) and open a stored one as an embedding function. Loading always goes through
// tf.io.fromMemory, so a stored backbone works offline and never triggers a fetch.
import * as tf from '@tensorflow/tfjs';
import { addBackbone, getBackbone, getBackboneWeights } from '../../src/db/backbones';
import type { BackboneRecord, BackboneWeightsRecord, WeightManifestEntry } from '../../src/contracts/records';
import { backboneInputShape, embeddingCut } from '../../src/lib/ml/backbone';
import { fromUrl, readBackboneSource, type BackboneFiles, type BackboneSource, type FetchLike, type UrlOptions } from './backbone-source';
import { CATALOG_ORIGIN, catalogMaxBytes, catalogUrl, checkCatalogContract, type CatalogEntry } from '../../src/lib/ml/backbone-catalog';
import { describeStorageFull, isQuotaError } from '../../src/db/storage-errors';
import { formatBytes } from '../../src/lib/util/format';

export interface OpenedBackbone {
  record: BackboneRecord;
  /** Images [n, h, w, c] (already normalised) to embeddings [n, d]. Synchronous: call inside tf.tidy. */
  embed(x: tf.Tensor4D): tf.Tensor2D;
  /** Layers backbones: the model cut at its embedding (its layers belong to `full`). */
  cut: tf.LayersModel | null;
  dispose(): void;
}

type Loaded =
  | { format: 'layers-model'; full: tf.LayersModel; cut: tf.LayersModel; inputShape: ReadonlyArray<number | null> }
  | { format: 'graph-model'; graph: tf.GraphModel; outputNode: string; inputShape: ReadonlyArray<number | null> | undefined };

function layerSummary(layer: tf.layers.Layer): { className: string; activation?: string | null } {
  const config = layer.getConfig() as { activation?: unknown };
  return { className: layer.getClassName(), activation: typeof config.activation === 'string' ? config.activation : null };
}

/** Where a layers backbone is cut: a named layer (catalog models, as Teachable Machine cuts them) and its pooling. */
interface LayersCut {
  outputLayer?: string;
  pooling?: 'avg' | 'flatten';
}

async function loadArtifacts(
  weights: BackboneWeightsRecord,
  format: BackboneRecord['format'],
  outputNode?: string,
  at: LayersCut = {},
): Promise<Loaded> {
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: weights.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: weights.weightSpecs as tf.io.WeightsManifestEntry[],
    weightData: weights.weightData,
    ...(weights.signature ? { signature: weights.signature as object } : {}),
    ...(weights.modelInitializer ? { modelInitializer: weights.modelInitializer as object } : {}),
  };
  if (format === 'graph-model') {
    const graph = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const node = outputNode ?? graph.outputNodes[0];
    if (!node) {
      graph.dispose();
      throw new Error('The graph model names no output node.');
    }
    return { format, graph, outputNode: node, inputShape: graph.inputs[0]?.shape };
  }
  const full = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  try {
    if (full.inputs.length !== 1 || full.outputs.length !== 1) throw new Error('A backbone needs exactly one input and one output.');
    let cut: tf.LayersModel;
    if (at.outputLayer) {
      let layer: tf.layers.Layer;
      try {
        layer = full.getLayer(at.outputLayer);
      } catch {
        throw new Error(`The model has no layer named ${at.outputLayer}, where this backbone is cut.`);
      }
      let y = layer.output as tf.SymbolicTensor;
      // Global average pooling has no weights, so the cut still owns nothing beyond `full`'s layers.
      if (at.pooling === 'avg' && y.rank === 4)
        y = tf.layers.globalAveragePooling2d({ name: 'trainyard_backbone_pool' }).apply(y) as tf.SymbolicTensor;
      cut = tf.model({ inputs: full.inputs, outputs: y });
    } else {
      const drop = embeddingCut(full.layers.map(layerSummary));
      // The cut model shares the loaded layers (no copy); only `full` is disposed later.
      cut =
        drop === 0
          ? full
          : tf.model({ inputs: full.inputs, outputs: full.layers[full.layers.length - 1 - drop].output as tf.SymbolicTensor });
    }
    return { format, full, cut, inputShape: full.inputs[0].shape };
  } catch (err) {
    full.dispose();
    throw err;
  }
}

function opened(record: BackboneRecord, loaded: Loaded): OpenedBackbone {
  const flat = (y: tf.Tensor): tf.Tensor2D => (y.rank === 2 ? y : y.reshape([y.shape[0], -1])) as tf.Tensor2D;
  if (loaded.format === 'graph-model') {
    return {
      record,
      cut: null,
      embed: (x) => flat(loaded.graph.execute(x, loaded.outputNode) as tf.Tensor),
      dispose: () => loaded.graph.dispose(),
    };
  }
  return {
    record,
    cut: loaded.cut,
    embed: (x) => flat(loaded.cut.apply(x, { training: false }) as tf.Tensor),
    dispose: () => loaded.full.dispose(),
  };
}

/** Loads a stored backbone from IndexedDB only. */
export async function openBackbone(id: string): Promise<OpenedBackbone> {
  const [record, weights] = await Promise.all([getBackbone(id), getBackboneWeights(id)]);
  if (!record || !weights) throw new Error('That backbone is no longer stored; pick another one or import it again.');
  return opened(record, await loadArtifacts(weights, record.format, record.outputNode, record));
}

export interface ImportOptions {
  normalization?: BackboneRecord['normalization'];
  fetchImpl?: FetchLike;
}

/** Validates, loads and probes a backbone, then stores it. Nothing is stored when any step fails. */
export async function importBackbone(source: BackboneSource, name: string, opts: ImportOptions = {}): Promise<BackboneRecord> {
  const files = await readBackboneSource(source, opts.fetchImpl);
  return storeBackbone(files, {
    name,
    normalization: opts.normalization ?? guessNormalization(files.metadata),
    source: source.kind === 'files' ? 'folder' : source.kind,
    ...(source.kind === 'url' ? { url: source.url } : {}),
  });
}

export interface CatalogDownloadOptions extends UrlOptions {
  fetchImpl?: FetchLike;
}

/**
 * Downloads a catalog backbone from the build's one catalog origin, validates it like an import,
 * checks it keeps the catalog's contract (input, embedding width), and stores it. A failure or a
 * cancel at any point stores nothing: the single IndexedDB write happens last.
 */
export async function downloadCatalogBackbone(entry: CatalogEntry, opts: CatalogDownloadOptions = {}): Promise<BackboneRecord> {
  const url = catalogUrl(entry);
  const files = await fromUrl(url, opts.fetchImpl ?? fetch, {
    ...opts,
    catalogOrigin: CATALOG_ORIGIN,
    maxWeightBytes: catalogMaxBytes(entry),
  });
  if (files.checked.format !== 'layers-model')
    throw new Error(`${entry.name} should be a layers model; the download is a graph model. Nothing was stored.`);
  if (opts.signal?.aborted) throw new DOMException('The download was cancelled; nothing was stored.', 'AbortError');
  return storeBackbone(
    files,
    {
      name: entry.name,
      normalization: entry.normalization,
      source: 'catalog',
      url,
      catalogId: entry.id,
      license: entry.license,
      outputLayer: entry.outputLayer,
      pooling: entry.pooling,
    },
    (got) => checkCatalogContract(entry, got),
    opts.signal,
  );
}

type StoreFields = Pick<BackboneRecord, 'name' | 'normalization' | 'source'> &
  Partial<Pick<BackboneRecord, 'url' | 'catalogId' | 'license' | 'outputLayer' | 'pooling'>>;

async function storeBackbone(
  files: BackboneFiles,
  fields: StoreFields,
  contract?: (got: { inputShape: [number, number, number]; embeddingSize: number }) => string | null,
  signal?: AbortSignal,
): Promise<BackboneRecord> {
  const json = files.json;
  const weights: BackboneWeightsRecord = {
    id: crypto.randomUUID(),
    modelTopology: json.modelTopology,
    weightSpecs: (json.weightsManifest as Array<{ weights: WeightManifestEntry[] }>).flatMap((g) => g.weights),
    weightData: files.weightData,
    ...(files.checked.format === 'graph-model' && json.signature ? { signature: json.signature } : {}),
    ...(files.checked.format === 'graph-model' && json.modelInitializer ? { modelInitializer: json.modelInitializer } : {}),
  };
  const loaded = await loadArtifacts(weights, files.checked.format, undefined, fields);
  const probe: OpenedBackbone = opened({} as BackboneRecord, loaded);
  try {
    const shape = backboneInputShape(loaded.inputShape);
    if (typeof shape === 'string') throw new Error(shape);
    // One zero image through the backbone: proves it runs here and gives the embedding width.
    const width = tf.tidy(() => probe.embed(tf.zeros([1, ...shape]) as tf.Tensor4D).shape[1]);
    if (!Number.isInteger(width) || width < 1) throw new Error('The backbone produced no features.');
    const problem = contract?.({ inputShape: shape, embeddingSize: width });
    if (problem) throw new Error(problem);
    if (signal?.aborted) throw new DOMException('The download was cancelled; nothing was stored.', 'AbortError');
    const record: BackboneRecord = {
      id: weights.id,
      ...fields,
      name: fields.name.trim().slice(0, 120) || 'Backbone',
      format: files.checked.format,
      inputShape: shape,
      embeddingSize: width,
      ...(loaded.format === 'graph-model' ? { outputNode: loaded.outputNode } : {}),
      createdAt: Date.now(),
      bytes: files.weightData.byteLength,
      sha256: files.sha256,
      files: files.files,
    };
    try {
      await addBackbone(record, weights);
    } catch (err) {
      if (isQuotaError(err)) {
        throw new Error(
          await describeStorageFull(
            `The backbone (${formatBytes(record.bytes ?? 0)}) was not stored; nothing was kept.`,
            'Free space (delete a project, an old model version or other site data), then try again.',
          ),
          { cause: err },
        );
      }
      throw err;
    }
    return record;
  } finally {
    probe.dispose();
  }
}

/** Teachable Machine and Trainyard exports say their range in metadata.json; otherwise assume [0, 1]. */
function guessNormalization(metadata: Record<string, unknown> | null): BackboneRecord['normalization'] {
  const ours = (metadata?.userMetadata as { trainyard?: { normalization?: string } } | undefined)?.trainyard;
  if (ours?.normalization === '-1..1' || ours?.normalization === '0..1') return ours.normalization;
  return metadata && 'tmVersion' in metadata && metadata.tmVersion ? '-1..1' : '0..1';
}
