// Storage usage, quota and persistence as visible state. persist() only works from the page.
// Also keeps a small marker outside IndexedDB (localStorage) of how much data was last seen, so a
// browser that evicted or cleared the database is noticed and said, instead of an empty workspace.
import { getMeta, setMeta } from '../db/meta';

const MARKER_KEY = 'trainyard:last-seen';

/** What the page last saw in IndexedDB (written when the project list changes). */
export interface SeenMarker {
  projects: number;
  samples: number;
  at: number;
}

export function readSeenMarker(): SeenMarker | null {
  try {
    const raw = localStorage.getItem(MARKER_KEY);
    if (!raw) return null;
    const m = JSON.parse(raw) as Partial<SeenMarker>;
    if (typeof m.projects !== 'number' || typeof m.samples !== 'number') return null;
    return { projects: m.projects, samples: m.samples, at: typeof m.at === 'number' ? m.at : 0 };
  } catch {
    return null;
  }
}

/**
 * True when the marker says projects existed but the database holds nothing at all (no project and
 * not even the first-run flag): the browser cleared the storage, the user did not delete projects
 * (deleting updates the marker).
 */
export function looksEvicted(marker: SeenMarker | null, projectsNow: number, firstRunDone: boolean): boolean {
  return !!marker && marker.projects > 0 && projectsNow === 0 && !firstRunDone;
}

class StorageManager {
  usage = $state<number | null>(null);
  quota = $state<number | null>(null);
  persisted = $state<boolean | null>(null);
  /** Set at start when the marker says data existed but IndexedDB came back empty. */
  evicted = $state<SeenMarker | null>(null);

  private refreshing: Promise<void> | null = null;
  private watching = false;

  async refresh(): Promise<void> {
    if (!navigator.storage?.estimate) return;
    // One estimate at a time: a refresh asked for meanwhile shares the one in flight.
    this.refreshing ??= (async () => {
      try {
        const { usage, quota } = await navigator.storage.estimate();
        this.usage = usage ?? null;
        this.quota = quota ?? null;
        this.persisted = (await navigator.storage.persisted?.()) ?? null;
      } catch {
        // An estimate can fail while the browser is busy; the next tick tries again.
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /**
   * Keeps usage current while the page is visible: imports, training checkpoints, model versions
   * and prediction logs all change it from workers, without telling the page. An estimate is cheap
   * (the browser keeps the figure), so polling every few seconds is simpler than wiring every writer.
   */
  watch(intervalMs = 3000): () => void {
    if (this.watching) return () => {};
    this.watching = true;
    const tick = () => {
      if (document.visibilityState === 'visible') void this.refresh();
    };
    const timer = setInterval(tick, intervalMs);
    document.addEventListener('visibilitychange', tick);
    void this.refresh();
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
      this.watching = false;
    };
  }

  /** Asked on the first real import, never at page load (browsers ignore unprompted asks). */
  async requestPersistence(): Promise<void> {
    if (this.persisted || !navigator.storage?.persist) return;
    if (await getMeta<boolean>('persist-asked')) return;
    this.persisted = await navigator.storage.persist();
    await setMeta('persist-asked', true);
  }

  /** Records what the page sees now (never while an eviction notice is unanswered). */
  rememberSeen(projects: number, samples: number): void {
    if (this.evicted) return;
    try {
      localStorage.setItem(MARKER_KEY, JSON.stringify({ projects, samples, at: Date.now() } satisfies SeenMarker));
    } catch {
      // localStorage full or unavailable: eviction simply goes unnoticed.
    }
  }

  /** At start, before anything is created: did the data vanish since the last visit? */
  async checkEviction(projectsNow: number): Promise<boolean> {
    const marker = readSeenMarker();
    if (!marker || marker.projects === 0 || projectsNow > 0) return false;
    const firstRunDone = !!(await getMeta<boolean>('demo-created'));
    if (looksEvicted(marker, projectsNow, firstRunDone)) this.evicted = marker;
    return this.evicted !== null;
  }

  /** The user read the notice and starts again: forget the old marker. */
  acknowledgeEviction(): void {
    this.evicted = null;
    try {
      localStorage.removeItem(MARKER_KEY);
    } catch {
      /* nothing to forget */
    }
  }
}

export const storage = new StorageManager();
