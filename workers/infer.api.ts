// The inference worker's API: load a version, predict images, export and import model zips.
import type { BackendInfo } from '../src/contracts/backend';
import type { ImportSource } from '../src/contracts/imports';
import type { AlertRecord } from '../src/contracts/records';
import type { DriftReport } from '../src/contracts/monitor';
import type { ExportOutcome } from '../src/contracts/export';

/** Where a prediction is logged for monitoring (time, version, class, confidence, latency, image statistics, sketch). */
export interface LogTarget {
  projectId: string;
  fileName?: string;
}

export interface DriftCheckResult {
  versionId: string;
  report: DriftReport;
  logIds: string[];
  alert: AlertRecord | null;
}

export interface Prediction {
  label: string;
  confidence: number;
}

export interface PredictResult {
  top: Prediction[];
  latencyMs: number;
}

export interface ImportedModel {
  versionId: string;
  number: number;
  labels: string[];
}

export interface InferApi {
  /** Loads (or reuses) a version; returns the backend it runs on. */
  load(versionId: string, backend?: 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu'): Promise<BackendInfo>;
  /** With `log`, the prediction is written to the project's monitoring log (image kept for labeling). */
  predict(versionId: string, image: Blob, topK?: number, log?: LogTarget): Promise<PredictResult>;
  /** A zip: model.json + weights.bin, metadata.json (Teachable Machine shape), README.md model card. */
  exportZip(versionId: string): Promise<Blob>;
  /** Builds every export format (src/lib/export/formats.ts) for a version: size, or why it cannot. */
  prepareExports(versionId: string): Promise<ExportOutcome[]>;
  /** One format's zip, as prepared (nothing is returned for a format that failed). */
  exportFile(versionId: string, formatId: string): Promise<{ blob: Blob; fileName: string }>;
  /** Validates before TF.js sees anything; nothing is stored on failure. */
  importZip(projectId: string, zip: Blob): Promise<ImportedModel>;
  /** Predicts every image of a folder, files or zip; returns a CSV (formula-like cells neutralised). */
  predictBatch(
    versionId: string,
    source: ImportSource,
    onProgress: (p: { done: number; total: number }) => void,
    log?: LogTarget,
  ): Promise<{ csv: Blob; predicted: number; skipped: number; drift: DriftCheckResult | null }>;
  /**
   * Compares the version's newest predictions (up to 500) with its training data: KS or Wasserstein
   * per image statistic, MMD on feature sketches. Stores an alert when drift shows on new predictions.
   */
  checkDrift(projectId: string, versionId: string): Promise<DriftCheckResult>;
  /**
   * Predicts the given samples with a version, in batches, and stores each prediction (probabilities,
   * features) as a pre-label beside the sample. Labels themselves are never touched.
   */
  prelabel(
    projectId: string,
    versionId: string,
    sampleIds: string[],
    onProgress: (p: { phase: 'preparing' | 'predicting'; done: number; total: number }) => void,
  ): Promise<{ predicted: number; imagesPerSecond: number }>;
  tensorCount(): number;
}
