// Types only: image statistics logged with predictions and the drift report computed from them
// (src/lib/monitor).

export interface ImageStats {
  /** Mean luma, 0..1. */
  brightness: number;
  /** Standard deviation of luma, 0..1. */
  contrast: number;
  /** Variance of the 4-neighbour Laplacian of luma (0..1 scale) on a <= 64x64 downscale. */
  sharpness: number;
  width: number;
  height: number;
  aspect: number;
}

export interface StatDrift {
  name: string;
  test: 'ks' | 'wasserstein';
  /** KS D, or the normalised Wasserstein distance. */
  statistic: number;
  /** KS p-value; null for Wasserstein. */
  pValue: number | null;
  /** Informational: never part of the decision. */
  psi: number;
  drifted: boolean;
  refMean: number;
  curMean: number;
}

export interface DriftReport {
  perStat: StatDrift[];
  share: number;
  datasetDrift: boolean;
  embedding: { mmd2: number; pValue: number; drifted: boolean } | null;
  /** False when current has fewer than minCurrent values: then nothing is marked drifted. */
  enough: boolean;
  currentCount: number;
  referenceCount: number;
}

/** A drift report as an alert stores it: with the prediction logs it covered (oldest first). */
export interface AlertReport extends DriftReport {
  firstLogId: string;
  lastLogId: string;
  logCount: number;
}
