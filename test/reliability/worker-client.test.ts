// Reliability catalog, "Worker dies": Comlink leaves calls pending forever when a worker dies, so
// WorkerClient must reject every pending call (naming the worker) when the worker throws, is
// terminated or stops answering, and start a fresh worker on the next call. A fake Worker on a
// Node MessageChannel stands in for a real one; its far side is a real Comlink.expose.
import { afterEach, describe, expect, it } from 'vitest';
import * as Comlink from 'comlink';
import { WorkerClient, WorkerDiedError } from '../../src/clients/worker-client';

interface FakeApi {
  slow(ms: number): Promise<string>;
  never(): Promise<never>;
  echo(x: number): number;
}

const opened: FakeWorker[] = [];

/** A Worker look-alike: page side of a MessageChannel; the far side runs Comlink.expose. */
class FakeWorker extends EventTarget {
  private readonly channel = new MessageChannel();
  /** While true the "worker" is stuck: messages to it are dropped (its event loop never runs). */
  hung = false;
  terminated = false;

  constructor() {
    super();
    opened.push(this);
    const api: FakeApi = {
      slow: (ms) => new Promise((r) => setTimeout(() => r('done'), ms)),
      never: () => new Promise<never>(() => {}),
      echo: (x) => x,
    };
    // Messages from the far side arrive on port1 and are re-dispatched on this object.
    this.channel.port1.addEventListener('message', (e) => {
      if (!this.terminated) this.dispatchEvent(new MessageEvent('message', { data: (e as MessageEvent).data }));
    });
    this.channel.port1.start();
    Comlink.expose(api, this.channel.port2 as unknown as Comlink.Endpoint);
  }

  postMessage(data: unknown, transfer?: Transferable[]): void {
    if (this.terminated || this.hung) return;
    this.channel.port1.postMessage(data, (transfer ?? []) as never);
  }

  start(): void {}

  terminate(): void {
    this.terminated = true;
    this.channel.port1.close();
    this.channel.port2.close();
  }

  /** What a browser does for an uncaught exception inside the worker. */
  crash(message: string): void {
    const ev = new Event('error') as Event & { message: string };
    ev.message = message;
    this.dispatchEvent(ev);
  }
}

function client(timeoutMs = 300) {
  const workers: FakeWorker[] = [];
  const c = new WorkerClient<FakeApi>(
    () => {
      const w = new FakeWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
    'training',
    { timeoutMs, pingIntervalMs: 50 },
  );
  return { c, workers };
}

/** Resolves to the rejection (or throws if it resolves), failing if it takes longer than `within` ms. */
async function rejection(p: Promise<unknown>, within: number): Promise<Error> {
  const started = Date.now();
  const outcome = await Promise.race([
    p.then(
      () => new Error('resolved instead of rejecting'),
      (err: Error) => err,
    ),
    new Promise<Error>((r) => setTimeout(() => r(new Error(`still pending after ${within} ms`)), within)),
  ]);
  expect(outcome).toBeInstanceOf(WorkerDiedError);
  expect(Date.now() - started).toBeLessThan(within);
  return outcome;
}

afterEach(() => {
  for (const w of opened.splice(0)) w.terminate();
});

describe('Worker dies: every pending call rejects within a timeout', () => {
  it('answers normally while the worker lives (probes do not disturb calls)', async () => {
    const { c, workers } = client();
    expect(await c.call((api) => api.slow(400))).toBe('done'); // longer than the timeout: probes keep it alive
    expect(await c.call((api) => api.echo(7))).toBe(7);
    expect(workers).toHaveLength(1);
    expect(c.pendingCount).toBe(0);
  });

  it('rejects every pending call when the worker throws an uncaught error, then restarts', async () => {
    const { c, workers } = client();
    const a = c.call((api) => api.never());
    const b = c.call((api) => api.slow(10_000));
    await new Promise((r) => setTimeout(r, 20));
    workers[0].crash('Uncaught Error: boom');
    const [ea, eb] = await Promise.all([rejection(a, 1000), rejection(b, 1000)]);
    expect(ea.message).toMatch(/^The training worker stopped: .*boom/);
    expect(eb.message).toBe(ea.message);
    expect(workers[0].terminated).toBe(true);
    expect(c.lastFailure?.worker).toBe('training');
    // The next call starts a fresh worker and works.
    expect(await c.call((api) => api.echo(3))).toBe(3);
    expect(workers).toHaveLength(2);
  });

  it('rejects every pending call when the worker is terminated', async () => {
    const { c, workers } = client();
    const a = c.call((api) => api.never());
    const b = c.call((api) => api.never());
    c.stop();
    const err = await rejection(a, 500);
    await rejection(b, 500);
    expect(err.message).toMatch(/training worker stopped: it was stopped/);
    expect(workers[0].terminated).toBe(true);
    expect(await c.call((api) => api.echo(1))).toBe(1);
  });

  it('rejects every pending call when the worker stops answering (hang), within the timeout', async () => {
    const { c, workers } = client(300);
    const a = c.call((api) => api.never());
    const b = c.call((api) => api.never());
    await new Promise((r) => setTimeout(r, 120)); // a few probes answered
    expect(c.pendingCount).toBe(2);
    workers[0].hung = true;
    // Timeout (300 ms) + at most one probe interval (50 ms) + slack.
    const err = await rejection(a, 1000);
    await rejection(b, 100);
    expect(err.message).toMatch(/training worker stopped: it stopped answering/);
    expect(workers[0].terminated).toBe(true);
    expect(await c.call((api) => api.echo(2))).toBe(2);
    expect(workers).toHaveLength(2);
  });

  it('a call made on a hung worker also rejects (nothing stays pending)', async () => {
    const { c, workers } = client(200);
    expect(await c.call((api) => api.echo(1))).toBe(1);
    workers[0].hung = true;
    const err = await rejection(
      c.call((api) => api.echo(5)),
      800,
    );
    expect(err.message).toMatch(/stopped answering/);
  });

  it('ignores late events from a worker that was already replaced', async () => {
    const { c, workers } = client();
    c.call((api) => api.never()).catch(() => {});
    workers[0].crash('first');
    const live = c.call((api) => api.slow(50));
    workers[0].crash('late event from the dead worker');
    expect(await live).toBe('done');
  });
});
