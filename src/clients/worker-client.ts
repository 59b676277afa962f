// Lifecycle of one Comlink worker seen from the page: lazy start, crash detection, restart.
// Comlink leaves calls pending forever when a worker dies, so every call races a death signal.
import * as Comlink from 'comlink';

export class WorkerClient<Api extends object> {
  private worker: Worker | null = null;
  private remote: Comlink.Remote<Api> | null = null;
  private died: Promise<never> | null = null;

  constructor(
    private readonly create: () => Worker,
    private readonly label: string,
  ) {}

  /** The typed remote API, starting the worker on first use. */
  get api(): Comlink.Remote<Api> {
    if (!this.remote) {
      const worker = this.create();
      this.worker = worker;
      this.remote = Comlink.wrap<Api>(worker);
      this.died = new Promise<never>((_, reject) => {
        worker.addEventListener('error', (e) => {
          reject(new Error(`The ${this.label} worker stopped: ${e.message || 'it crashed'}. Try again.`));
          this.stop();
        });
      });
      this.died.catch(() => {});
    }
    return this.remote;
  }

  /** Runs a call and rejects if the worker dies before it answers. */
  call<T>(fn: (api: Comlink.Remote<Api>) => Promise<T>): Promise<T> {
    const api = this.api;
    return Promise.race([fn(api), this.died!]);
  }

  stop(): void {
    this.worker?.terminate();
    this.worker = null;
    this.remote = null;
    this.died = null;
  }
}
