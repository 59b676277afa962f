// Backbones on the Train stage: the stored list, importing (zip, folder, URL) and deleting.
// All TensorFlow.js work happens in the training worker; this only holds what the page shows.
import { trainClient } from '../clients/ml-clients';
import { backboneDisplayName } from '../lib/ml/backbone';
import type { BackboneImportSource, BackboneInfo } from '../../workers/train.api';
import { training } from './train-manager.svelte';
import { errorMessage } from '../lib/util/errors';

class BackboneManager {
  list = $state<BackboneInfo[]>([]);
  busy = $state(false);
  message = $state<string | null>(null);
  error = $state<string | null>(null);
  /** The input range new imports are told to expect. */
  normalization = $state<BackboneInfo['normalization']>('-1..1');

  async load(): Promise<void> {
    try {
      this.list = await trainClient.call((api) => api.listBackbones());
      // A backbone deleted elsewhere (another tab) must not stay selected.
      const chosen = training.settings.backboneId;
      if (chosen && !this.list.some((b) => b.id === chosen)) training.settings.backboneId = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  fromZip(file: File): Promise<void> {
    return this.run({ kind: 'zip', file }, backboneDisplayName({ kind: 'zip', fileName: file.name }));
  }

  fromFolder(files: FileList): Promise<void> {
    const list = [...files];
    const paths = list.map((f) => f.webkitRelativePath || f.name);
    return this.run({ kind: 'files', files: list, paths }, backboneDisplayName({ kind: 'files', paths }));
  }

  fromUrl(url: string): Promise<void> {
    return this.run({ kind: 'url', url: url.trim() }, backboneDisplayName({ kind: 'url', url }));
  }

  private async run(source: BackboneImportSource, name: string): Promise<void> {
    this.busy = true;
    this.error = null;
    this.message = null;
    try {
      const normalization = this.normalization;
      const b = await trainClient.call((api) => api.importBackbone(source, name, { normalization }));
      this.message = `Imported backbone “${b.name}”: ${b.inputShape.join('×')} input, ${b.embeddingSize}-d embedding.`;
      training.settings.backboneId = b.id;
      await this.load();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
    }
  }

  async remove(id: string): Promise<void> {
    this.error = null;
    try {
      await trainClient.call((api) => api.deleteBackbone(id));
      if (training.settings.backboneId === id) training.settings.backboneId = null;
      this.message = 'Backbone deleted.';
      await this.load();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }
}

export const backbones = new BackboneManager();
