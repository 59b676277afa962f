// The backbone catalog on the page: which entries are stored, one download at a time with its
// progress, Cancel, and the reason when it fails. The download itself runs in the training worker.
import * as Comlink from 'comlink';
import { trainClient } from '../clients/ml-clients';
import { CATALOG, CATALOG_ORIGIN, catalogEntry, describeDownload, type DownloadProgress } from '../lib/ml/backbone-catalog';
import { formatBytes } from '../lib/util/format';
import type { BackboneInfo } from '../../workers/train.api';
import { backbones } from './backbone-manager.svelte';
import { training } from './train-manager.svelte';

class CatalogManager {
  readonly entries = CATALOG;
  readonly origin = CATALOG_ORIGIN;
  /** The entry being downloaded, and how far it got. */
  downloading = $state<string | null>(null);
  progress = $state<DownloadProgress | null>(null);
  error = $state<string | null>(null);
  message = $state<string | null>(null);

  /** The stored backbone downloaded from this entry, if any. */
  stored(id: string): BackboneInfo | null {
    return backbones.list.find((b) => b.catalogId === id) ?? null;
  }

  get progressText(): string {
    return this.progress ? describeDownload(this.progress, formatBytes) : 'Starting…';
  }

  /** Downloads the entry (unless stored) and returns the stored backbone, or null when it failed or was cancelled. */
  async ensure(id: string): Promise<BackboneInfo | null> {
    const have = this.stored(id);
    if (have) return have;
    const entry = catalogEntry(id);
    if (!entry) return null;
    if (this.downloading) return null;
    this.error = null;
    this.message = null;
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this.error = 'You are offline: import a backbone zip instead.';
      return null;
    }
    this.downloading = id;
    this.progress = null;
    try {
      const b = await trainClient.call((api) =>
        api.downloadCatalogBackbone(
          id,
          Comlink.proxy((p: DownloadProgress) => (this.progress = p)),
        ),
      );
      this.message = `Downloaded ${b.name}: ${formatBytes(b.bytes ?? 0)}, SHA-256 ${b.sha256 ?? 'unknown'}. It is stored in this browser and works offline.`;
      await backbones.load();
      return b;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      this.error =
        e?.name === 'AbortError' || /cancelled/.test(e?.message ?? '')
          ? 'Download cancelled; nothing was stored.'
          : (e?.message ?? String(err));
      return null;
    } finally {
      this.downloading = null;
      this.progress = null;
    }
  }

  /** Download and select it as the backbone for the next run. */
  async download(id: string): Promise<void> {
    const b = await this.ensure(id);
    if (b && !training.running) training.settings.backboneId = b.id;
  }

  cancel(): void {
    if (this.downloading) void trainClient.api.cancelDownload();
  }
}

export const catalog = new CatalogManager();
