// UI state of the training kit: export a dataset version as a PyTorch kit, import its out/ back
// as a model version, and put that version through the pipeline's gate.
import * as Comlink from 'comlink';
import { kitClient } from '../clients/kit-client';
import type { KitExport, KitExportProgress, KitGateResult, KitImportResult, KitSource } from '../../workers/kit.api';
import { downloadBlob } from './download';
import { errorMessage } from '../lib/util/errors';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export class KitManager {
  busy = $state(false);
  progress = $state<KitExportProgress | null>(null);
  message = $state<string | null>(null);
  error = $state<string | null>(null);
  imported = $state<KitImportResult | null>(null);
  gate = $state<KitGateResult | null>(null);

  constructor(private readonly projectId: string) {}

  private async act(fn: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    this.message = null;
    try {
      await fn();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
      this.progress = null;
    }
  }

  /** Where the last action started: a dataset version, or a pipeline run's train step (its id), so its view shows the outcome. */
  origin = $state<{ kind: 'version' } | { kind: 'run'; runId: string } | null>(null);

  /** Exports the kit of a dataset version (settings of the pipeline run that made it). */
  exportKit(datasetVersionId: string): Promise<void> {
    return this.exportWith({ kind: 'version' }, (progress) =>
      kitClient.call((api) => api.exportKit(this.projectId, datasetVersionId, progress)),
    );
  }

  /** Exports the kit of a pipeline run's train step: its dataset version, the settings it trained with. */
  exportKitFromRun(pipelineRunId: string): Promise<void> {
    return this.exportWith({ kind: 'run', runId: pipelineRunId }, (progress) =>
      kitClient.call((api) => api.exportKitFromRun(this.projectId, pipelineRunId, progress)),
    );
  }

  private exportWith(
    origin: NonNullable<KitManager['origin']>,
    start: (progress: (p: KitExportProgress) => void) => Promise<KitExport>,
  ): Promise<void> {
    return this.act(async () => {
      this.origin = origin;
      const started = performance.now();
      const result = await start(Comlink.proxy((p: KitExportProgress) => (this.progress = p)));
      downloadBlob(result.zip, result.fileName);
      const mb = (result.zip.size / 1e6).toFixed(1);
      this.message = `Training kit ready: ${result.fileName} (${mb} MB, ${result.images} images, job ${result.jobId.slice(0, 8)}) in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
    });
  }

  /** A zip of out/, or the files of the out/ folder (webkitRelativePath kept). */
  importResult(files: File[]): Promise<void> {
    return this.act(async () => {
      this.origin = { kind: 'version' };
      if (files.length === 0) return;
      const source: KitSource =
        files.length === 1 && /\.zip$/i.test(files[0].name)
          ? { kind: 'zip', file: files[0] }
          : { kind: 'files', files: files.map((f) => ({ path: f.webkitRelativePath || f.name, file: f })) };
      this.imported = null;
      this.gate = null;
      const r = await kitClient.call((api) => api.importResult(this.projectId, source));
      this.imported = r;
      this.message = `Imported as model version ${r.number}, trained on ${r.trainedOn} from dataset v${r.datasetVersionNumber}: test accuracy here ${pct(r.accuracy)} on ${r.testCount} images${r.claimedAccuracy !== null ? ` (the kit reported ${pct(r.claimedAccuracy)})` : ''}.`;
    });
  }

  runGate(promote: boolean): Promise<void> {
    return this.act(async () => {
      this.origin = { kind: 'version' };
      if (!this.imported) return;
      this.gate = await kitClient.call((api) => api.gate(this.projectId, this.imported!.versionId, promote));
      this.message = this.gate.promoted ? `Version ${this.imported.number} passed the gate and is now “${this.gate.alias}”.` : null;
    });
  }
}
