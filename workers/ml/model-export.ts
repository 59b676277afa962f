// The Export dialog's worker side: loads a stored version once, builds every format of
// src/lib/export/formats.ts, and keeps the built zips until another version is prepared, so each
// download is one click on bytes that already exist (and whose size the dialog showed).
import * as tf from '@tensorflow/tfjs';
import recipeSource from '../../src/lib/preprocess/recipe.js?raw';
import { getVersion, getWeights } from '../../src/db/models';
import { listSamples } from '../../src/db/samples';
import { EXPORT_FORMATS, packExport, type BuiltExport, type ExportMeta, type ExportSource } from '../../src/lib/export/formats';
import type { ExportOutcome } from '../../src/lib/export/types';
import { UnsupportedLayerError } from '../../src/lib/export/unsupported';
import { DEFAULT_CALIBRATION_SIZE, pickCalibrationSample } from '../../src/lib/export/tflite/calibration';
import { ensurePreprocessed, epochData } from './data-feed';
import { APP_VERSION } from './save-version';
import { errorMessage } from '../../src/lib/util/errors';

/** Training-split images used to calibrate quantized formats. */
const CALIBRATION_SAMPLES = DEFAULT_CALIBRATION_SIZE;

let cache: { versionId: string; built: Map<string, BuiltExport> } | null = null;

async function withSource<T>(versionId: string, use: (src: ExportSource) => Promise<T>): Promise<T> {
  const [version, weights] = await Promise.all([getVersion(versionId), getWeights(versionId)]);
  if (!version || !weights) throw new Error('That model version no longer exists.');
  const meta: ExportMeta = version.meta;
  const artifacts = {
    modelTopology: weights.modelTopology,
    weightSpecs: weights.weightSpecs as tf.io.WeightsManifestEntry[],
    weightData: weights.weightData,
  };
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: artifacts.weightSpecs,
      weightData: artifacts.weightData,
    }),
  );
  try {
    return await use({
      number: version.number,
      createdAt: version.createdAt,
      meta,
      artifacts,
      model,
      recipeSource,
      appVersion: APP_VERSION,
      calibration: () => calibrationSample(version.projectId, meta),
    });
  } finally {
    model.dispose();
  }
}

/** Up to CALIBRATION_SAMPLES training-split images of the version's classes, as model input. */
async function calibrationSample(projectId: string, meta: ExportMeta): Promise<{ data: Float32Array; shape: number[] }> {
  const { samples } = await listSamples(projectId);
  const classes = new Set(meta.labels);
  const train = samples.filter((s) => s.split === 'train' && s.label !== null && classes.has(s.label));
  if (!train.length) throw new Error("No training-split images of this version's classes are left to calibrate with.");
  // Stratified by class and seeded by the version's own seed: the same version calibrates alike every time.
  const plan = pickCalibrationSample(train, CALIBRATION_SAMPLES, meta.seed ?? 0);
  const byId = new Map(train.map((x) => [x.id, x]));
  const chosen = plan.ids.map((id) => byId.get(id)!);
  await ensurePreprocessed(
    projectId,
    chosen,
    meta.preprocess,
    () => undefined,
    () => false,
  );
  const { inputSize: s, channels: c } = meta.preprocess;
  const data = new Float32Array(chosen.length * s * s * c);
  let offset = 0;
  const feed = epochData(
    projectId,
    chosen.map((x) => ({ id: x.id, classIndex: 0 })),
    meta.preprocess,
    Math.max(2, meta.labels.length),
    64,
    null,
  );
  for await (const b of feed.batches()) {
    const xs = meta.normalization === '-1..1' ? tf.tidy(() => b.xs.mul(2).sub(1)) : b.xs;
    data.set(await xs.data(), offset);
    offset += xs.size;
    if (xs !== b.xs) xs.dispose();
    b.xs.dispose();
    b.ys.dispose();
  }
  return { data: data.subarray(0, offset), shape: [offset / (s * s * c), s, s, c] };
}

/** Builds every format for a version; a format that fails says why (and which layer), and keeps nothing. */
export async function prepareExports(versionId: string): Promise<ExportOutcome[]> {
  const built = new Map<string, BuiltExport>();
  cache = { versionId, built };
  return withSource(versionId, async (src) => {
    const outcomes: ExportOutcome[] = [];
    for (const format of EXPORT_FORMATS) {
      const info = { id: format.id, label: format.label, runsWith: format.runsWith };
      const t0 = performance.now();
      try {
        const out = await packExport(format, src);
        built.set(format.id, out);
        outcomes.push({
          ...info,
          ok: true,
          fileName: out.fileName,
          bytes: out.bytes,
          modelBytes: out.modelBytes,
          ms: performance.now() - t0,
        });
      } catch (err) {
        const error = errorMessage(err);
        outcomes.push({ ...info, ok: false, error, ...(err instanceof UnsupportedLayerError ? { layer: err.layerName } : {}) });
      }
    }
    return outcomes;
  });
}

/** The built zip of one format (built now if the dialog's cache is gone); throws if it cannot be built. */
export async function exportFile(versionId: string, formatId: string): Promise<{ blob: Blob; fileName: string }> {
  const hit = cache?.versionId === versionId ? cache.built.get(formatId) : undefined;
  if (hit) return { blob: hit.blob, fileName: hit.fileName };
  const format = EXPORT_FORMATS.find((f) => f.id === formatId);
  if (!format) throw new Error(`Unknown export format "${formatId}".`);
  const out = await withSource(versionId, (src) => packExport(format, src));
  return { blob: out.blob, fileName: out.fileName };
}
