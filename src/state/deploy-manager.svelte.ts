// The Deploy stage's state: which model version the playground uses, its predictions (images
// picked, dropped, drawn or snapped from the webcam) through the inference worker, and batch
// prediction (a folder, images or a zip in, a CSV out, with the drift check on what it logged).
// The views render this and keep only the DOM (file inputs, the webcam, the draw pad).
import * as Comlink from 'comlink';
import Papa from 'papaparse';
import { inferClient } from '../clients/ml-clients';
import { ModelsManager } from './models-manager.svelte';
import type { DriftCheckResult, PredictResult } from '../../workers/infer.api';
import type { ImportSource } from '../../workers/import.api';
import type { BackendInfo } from '../../workers/ml/backend';

export interface PlaygroundPrediction {
  name: string;
  /** An object URL of the image (also the row's key). */
  url: string;
  result: PredictResult | null;
  error: string | null;
}

/** Predictions kept on the page, newest first. */
export const MAX_SHOWN_PREDICTIONS = 24;

export class DeployManager {
  readonly models: ModelsManager;
  versionId = $state<string | null>(null);
  /** Where the version runs (known once it is loaded). */
  backend = $state<BackendInfo | null>(null);
  results = $state<PlaygroundPrediction[]>([]);
  error = $state<string | null>(null);

  constructor(readonly projectId: string) {
    this.models = new ModelsManager(projectId);
  }

  /** Reads the versions and shows the production one (else the newest). */
  async load(): Promise<void> {
    await this.models.load();
    this.versionId = this.models.defaultVersionId();
  }

  /** Loads the chosen version in the worker, then predicts each image in turn (its result shows as it comes). */
  async predictFiles(files: Iterable<Blob & { name?: string }>): Promise<void> {
    const versionId = this.versionId;
    if (!versionId) return;
    this.error = null;
    try {
      this.backend = await inferClient.call((api) => api.load(versionId));
    } catch (err) {
      this.error = (err as Error).message;
      return;
    }
    for (const file of files) {
      const row: PlaygroundPrediction = { name: file.name ?? 'webcam frame', url: URL.createObjectURL(file), result: null, error: null };
      this.results = [row, ...this.results].slice(0, MAX_SHOWN_PREDICTIONS);
      try {
        const result = await inferClient.call((api) =>
          api.predict(versionId, file, 3, { projectId: this.projectId, fileName: file.name ?? 'image' }),
        );
        this.results = this.results.map((r) => (r.url === row.url ? { ...r, result } : r));
      } catch (err) {
        this.results = this.results.map((r) => (r.url === row.url ? { ...r, error: (err as Error).message } : r));
      }
    }
  }
}

export type BatchRow = { filename: string; predicted: string; confidence: string; error: string };

/** Rows drawn in the page; the CSV has them all. */
export const SHOW_LIMIT = 1000;

/** Batch prediction with one version: the worker writes the CSV; the page can read it back as a table. */
export class BatchPrediction {
  progress = $state<{ done: number; total: number } | null>(null);
  running = $state(false);
  result = $state<{ url: string; csv: Blob; predicted: number; skipped: number; drift: DriftCheckResult | null } | null>(null);
  error = $state<string | null>(null);
  shown = $state<{ rows: BatchRow[]; total: number } | null>(null);

  constructor(
    readonly projectId: string,
    readonly versionId: string,
  ) {}

  async run(source: ImportSource): Promise<void> {
    this.running = true;
    this.error = null;
    this.progress = null;
    if (this.result) URL.revokeObjectURL(this.result.url);
    this.result = null;
    this.shown = null;
    try {
      const r = await inferClient.call((api) =>
        api.predictBatch(
          this.versionId,
          source,
          Comlink.proxy((p) => {
            this.progress = p;
          }),
          { projectId: this.projectId },
        ),
      );
      this.result = { url: URL.createObjectURL(r.csv), csv: r.csv, predicted: r.predicted, skipped: r.skipped, drift: r.drift };
    } catch (err) {
      this.error = (err as Error).message;
    } finally {
      this.running = false;
    }
  }

  /** Reads the CSV back (the first SHOW_LIMIT rows) to show as a table. */
  async showResults(): Promise<void> {
    if (!this.result) return;
    const csv = await this.result.csv.text();
    const parsed = Papa.parse<BatchRow>(csv, { header: true, skipEmptyLines: true });
    this.shown = { rows: parsed.data.slice(0, SHOW_LIMIT), total: parsed.data.length };
  }
}
