// Service worker registration and the "new version" prompt. A waiting version is never
// activated while long work runs: the reload button is disabled until the work ends.
import { registerSW } from 'virtual:pwa-register';

class AppUpdate {
  available = $state(false);
  offlineReady = $state(false);
  private update: ((reload?: boolean) => Promise<void>) | null = null;

  start(): void {
    if (!('serviceWorker' in navigator)) return;
    this.update = registerSW({
      onNeedRefresh: () => (this.available = true),
      onOfflineReady: () => (this.offlineReady = true),
    });
  }

  async apply(): Promise<void> {
    await this.update?.(true);
  }
}

export const appUpdate = new AppUpdate();
