// The kit worker's API: export a dataset version as a PyTorch training kit, import its out/ back.
import type { KitExport, KitExportProgress, KitGateResult, KitImportResult, KitSource } from '../src/contracts/kit';

export type { KitExport, KitExportProgress, KitGateResult, KitImportResult, KitSource };

export interface KitApi {
  /** The zip (job.json, data/*.npy, images/, trainyard_kit/, train.py, README.md). */
  exportKit(projectId: string, datasetVersionId: string, onProgress: (p: KitExportProgress) => void): Promise<KitExport>;
  /** The same kit from a pipeline run's train step: the dataset version its split step made, the settings its train step used. */
  exportKitFromRun(projectId: string, pipelineRunId: string, onProgress: (p: KitExportProgress) => void): Promise<KitExport>;
  /** Validates out/ (zip or folder), evaluates it on the dataset version's test split, then stores it as a version. Nothing is stored on failure. */
  importResult(projectId: string, source: KitSource): Promise<KitImportResult>;
  /** The pipeline's gate against the model in production, on the same frozen test split; `promote` moves the alias when it passes. */
  gate(projectId: string, versionId: string, promote: boolean): Promise<KitGateResult>;
}
