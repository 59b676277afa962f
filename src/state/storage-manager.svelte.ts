// Storage usage, quota and persistence as visible state. persist() only works from the page.
import { getMeta, setMeta } from '../db/meta';

class StorageManager {
  usage = $state<number | null>(null);
  quota = $state<number | null>(null);
  persisted = $state<boolean | null>(null);

  async refresh(): Promise<void> {
    if (!navigator.storage?.estimate) return;
    const { usage, quota } = await navigator.storage.estimate();
    this.usage = usage ?? null;
    this.quota = quota ?? null;
    this.persisted = (await navigator.storage.persisted?.()) ?? null;
  }

  /** Asked on the first real import, never at page load (browsers ignore unprompted asks). */
  async requestPersistence(): Promise<void> {
    if (this.persisted || !navigator.storage?.persist) return;
    if (await getMeta<boolean>('persist-asked')) return;
    this.persisted = await navigator.storage.persist();
    await setMeta('persist-asked', true);
  }
}

export const storage = new StorageManager();
