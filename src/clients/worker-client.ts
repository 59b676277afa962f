// Lifecycle of one Comlink worker seen from the page: lazy start, crash and hang detection, restart.
// Comlink leaves calls pending forever when a worker dies, so every call is tracked here and
// rejected, with a message naming the worker, when:
//  - the worker reports an uncaught error ('error' / 'messageerror' events),
//  - the page terminates it (stop()),
//  - it stops answering: while calls are pending, a liveness probe (a Comlink GET of a property
//    that does not exist: one message round trip, no API change needed in any worker) goes out
//    every few seconds; no answer within the timeout means it is stuck (a busy loop, a hung
//    driver call) and it is terminated.
// After a death the next call starts a fresh worker.
import * as Comlink from 'comlink';

export interface WorkerClientOptions {
  /** How often a liveness probe goes out while calls are pending (ms). */
  pingIntervalMs?: number;
  /**
   * A worker that does not answer a probe within this many ms is declared stuck. Generous by
   * default: a worker legitimately blocks its event loop while, say, WebGL compiles shaders.
   */
  timeoutMs?: number;
}

/** Defaults; `localStorage['trainyard.workerTimeoutMs']` overrides the timeout (for tests and slow machines). */
export const DEFAULT_PING_INTERVAL_MS = 2_000;
export const DEFAULT_TIMEOUT_MS = 20_000;

/** Raised for every pending call of a worker that died; `worker` is its label. */
export class WorkerDiedError extends Error {
  constructor(
    readonly worker: string,
    readonly reason: string,
  ) {
    super(`The ${worker} worker stopped: ${reason}.`);
    this.name = 'WorkerDiedError';
  }
}

interface Pending {
  reject: (err: Error) => void;
}

function storedTimeout(): number | null {
  try {
    const v = Number(globalThis.localStorage?.getItem('trainyard.workerTimeoutMs'));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WorkerClient<Api extends object> {
  private worker: Worker | null = null;
  private remote: Comlink.Remote<Api> | null = null;
  /** Bumped on every start and stop, so late events of an old worker are ignored. */
  private generation = 0;
  private readonly pending = new Set<Pending>();
  private watching = false;
  /** Why the last worker died (null while it lives or before any death). */
  lastFailure: WorkerDiedError | null = null;

  constructor(
    private readonly create: () => Worker,
    readonly label: string,
    private readonly options: WorkerClientOptions = {},
  ) {}

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? storedTimeout() ?? DEFAULT_TIMEOUT_MS;
  }

  private get pingIntervalMs(): number {
    return Math.min(this.options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, this.timeoutMs);
  }

  /** The typed remote API, starting the worker on first use. Prefer call(): it notices deaths. */
  get api(): Comlink.Remote<Api> {
    if (!this.remote) {
      const worker = this.create();
      const gen = ++this.generation;
      this.worker = worker;
      this.remote = Comlink.wrap<Api>(worker);
      worker.addEventListener('error', (e: Event) => {
        const ev = e as ErrorEvent;
        ev.preventDefault?.();
        this.die(gen, ev.message ? `it threw an uncaught error (${ev.message})` : 'it crashed');
      });
      worker.addEventListener('messageerror', () => this.die(gen, 'a message from it could not be read'));
    }
    return this.remote;
  }

  /** True while a worker is started. */
  get alive(): boolean {
    return this.worker !== null;
  }

  /** Runs a call; rejects if the worker errors, is stopped or stops answering before it answers. */
  call<T>(fn: (api: Comlink.Remote<Api>) => Promise<T>): Promise<T> {
    const api = this.api;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { reject };
      this.pending.add(entry);
      const settle = () => this.pending.delete(entry);
      let work: Promise<T>;
      try {
        work = Promise.resolve(fn(api));
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        (v) => {
          settle();
          resolve(v);
        },
        (err) => {
          settle();
          reject(err);
        },
      );
      this.watch();
    });
  }

  /** Probes the worker while calls are pending; a probe unanswered within the timeout kills it. */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const gen = this.generation;
    void (async () => {
      try {
        while (this.generation === gen && this.pending.size > 0) {
          const remote = this.remote as Comlink.Remote<Api> & Record<string, PromiseLike<unknown>>;
          const timeout = this.timeoutMs;
          const started = Date.now();
          // `await remote.x` sends a Comlink GET for a property no worker has: one round trip.
          const probe = Promise.resolve(remote.__trainyardAlive).then(
            () => true,
            () => true,
          );
          let timer: ReturnType<typeof setTimeout> | undefined;
          const answered = await Promise.race([probe, new Promise<false>((r) => (timer = setTimeout(() => r(false), timeout)))]);
          clearTimeout(timer);
          if (this.generation !== gen) return;
          if (!answered) {
            this.die(gen, `it stopped answering (no reply for ${Math.round(timeout / 1000)} s; it may be stuck)`);
            return;
          }
          await sleep(Math.max(0, this.pingIntervalMs - (Date.now() - started)));
        }
      } finally {
        if (this.generation === gen) this.watching = false;
      }
    })();
  }

  private die(gen: number, reason: string): void {
    if (gen !== this.generation || !this.worker) return;
    const err = new WorkerDiedError(this.label, reason);
    this.lastFailure = err;
    this.teardown(err);
  }

  private teardown(err: Error): void {
    const worker = this.worker;
    this.worker = null;
    this.remote = null;
    this.generation++;
    this.watching = false;
    worker?.terminate();
    const pending = [...this.pending];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }

  /** Terminates the worker; pending calls reject. The next call starts a fresh worker. */
  stop(): void {
    if (!this.worker) return;
    this.teardown(new WorkerDiedError(this.label, 'it was stopped'));
  }

  /** Calls still waiting for an answer (for tests and diagnostics). */
  get pendingCount(): number {
    return this.pending.size;
  }
}
