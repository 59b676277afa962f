// The registry as UI state: versions, aliases with history, export and import through the
// inference worker (TF.js never loads on this thread).
import { deleteVersion, listAliases, listVersions, setAlias } from '../db/models';
import type { AliasRecord, ModelVersionRecord } from '../contracts/records';
import { inferClient } from '../clients/ml-clients';
import { downloadBlob } from './download';
import { errorMessage } from '../lib/util/errors';

export class ModelsManager {
  versions = $state<ModelVersionRecord[]>([]);
  aliases = $state<AliasRecord[]>([]);
  selectedId = $state<string | null>(null);
  compareId = $state<string | null>(null);
  busy = $state(false);
  message = $state<string | null>(null);
  error = $state<string | null>(null);

  selected = $derived(this.versions.find((v) => v.id === this.selectedId) ?? null);
  compared = $derived(this.versions.find((v) => v.id === this.compareId) ?? null);

  constructor(public readonly projectId: string) {}

  async load(): Promise<void> {
    const [versions, aliases] = await Promise.all([listVersions(this.projectId), listAliases(this.projectId)]);
    this.versions = versions;
    this.aliases = aliases;
    if (!this.selectedId || !versions.some((v) => v.id === this.selectedId)) this.selectedId = versions[0]?.id ?? null;
  }

  aliasesOf(versionId: string): string[] {
    return this.aliases.filter((a) => a.versionId === versionId).map((a) => a.alias);
  }

  /** The version aliased `production`, else the newest. */
  defaultVersionId(): string | null {
    return this.aliases.find((a) => a.alias === 'production')?.versionId ?? this.versions[0]?.id ?? null;
  }

  private async act(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = null;
    this.message = null;
    try {
      await work();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
    }
  }

  setAlias(alias: string, versionId: string) {
    return this.act(async () => {
      await setAlias(this.projectId, alias, versionId);
      await this.load();
      this.message = `“${alias}” now points at this version.`;
    });
  }

  remove(versionId: string) {
    return this.act(async () => {
      await deleteVersion(versionId);
      await this.load();
      this.message = 'Version deleted.';
    });
  }

  exportZip(version: ModelVersionRecord) {
    return this.act(async () => {
      const blob = await inferClient.call((api) => api.exportZip(version.id));
      downloadBlob(blob, `trainyard-model-v${version.number}.zip`);
    });
  }

  importZip(file: File) {
    return this.act(async () => {
      const result = await inferClient.call((api) => api.importZip(this.projectId, file));
      await this.load();
      this.selectedId = result.versionId;
      this.message = `Imported as version ${result.number} (${result.labels.length} classes).`;
    });
  }
}
