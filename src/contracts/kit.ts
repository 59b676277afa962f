// Types only: the PyTorch training kit's export and import results (workers/kit.worker.ts).
import type { GateDecision } from './pipeline';

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

/** out/ as a zip, or the files of the folder (their relative paths, e.g. "out/model.json"). */
export type KitSource = { kind: 'zip'; file: Blob } | { kind: 'files'; files: Array<{ path: string; file: Blob }> };

export interface KitImportResult {
  versionId: string;
  number: number;
  datasetVersionNumber: number;
  trainedOn: string;
  /** Accuracy measured here on the dataset version's test split, and what metrics.json claims. */
  accuracy: number;
  claimedAccuracy: number | null;
  testCount: number;
}

export interface KitGateResult {
  decision: GateDecision;
  candidateAccuracy: number;
  champion: { versionId: string; number: number | null; accuracy: number } | null;
  promoted: boolean;
  /** The alias the candidate is compared with and promoted to: the pipeline's promote step's ("production" by default). */
  alias: string;
}
