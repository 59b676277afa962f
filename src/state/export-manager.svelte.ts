// The Export dialog's state: every format built once in the inference worker (sizes known, or
// the reason a format cannot express this version), then one click downloads a format's zip.
// A format that failed offers no download, so nothing half-written ever reaches the disk.
import { inferClient } from '../clients/ml-clients';
import type { ExportOutcome } from '../lib/export/types';
import { downloadBlob } from './download';
import { errorMessage } from '../lib/util/errors';

export class ExportManager {
  outcomes = $state<ExportOutcome[] | null>(null);
  preparing = $state(false);
  downloading = $state<string | null>(null);
  error = $state<string | null>(null);
  message = $state<string | null>(null);
  private token = 0;

  constructor(
    public readonly versionId: string,
    public readonly versionNumber: number,
  ) {}

  async prepare(): Promise<void> {
    const token = ++this.token;
    this.preparing = true;
    this.error = null;
    this.outcomes = null;
    try {
      const outcomes = await inferClient.call((api) => api.prepareExports(this.versionId));
      if (token === this.token) this.outcomes = outcomes;
    } catch (err) {
      if (token === this.token) this.error = errorMessage(err);
    } finally {
      if (token === this.token) this.preparing = false;
    }
  }

  async download(formatId: string): Promise<void> {
    const outcome = this.outcomes?.find((o) => o.id === formatId);
    if (!outcome?.ok) return;
    this.downloading = formatId;
    this.error = null;
    this.message = null;
    try {
      const { blob, fileName } = await inferClient.call((api) => api.exportFile(this.versionId, formatId));
      downloadBlob(blob, fileName);
      this.message = `${outcome.label}: ${fileName} downloaded.`;
    } catch (err) {
      this.error = `${outcome.label} export failed, nothing was downloaded: ${errorMessage(err)}`;
    } finally {
      this.downloading = null;
    }
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}
