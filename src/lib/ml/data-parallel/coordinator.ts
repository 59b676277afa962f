// Drives N data-parallel member workers from one thread: splits each batch into shards, posts
// them (steps are pipelined: the next batch can be posted before the last one finished), collects
// the per-shard loss sums, and fails the whole run when any member dies or reports an error,
// aborting the barrier so the others stop waiting. Knows nothing of the worker runtime: the
// caller hands it one MemberPort per worker (a browser Worker or a Node worker_threads Worker).
import { Barrier, barrierCells, planShards, sharedBytes } from './plan';
import type { FromMember, InitMessage, ToMember } from './protocol';
import type { WeightsBlob } from '../checkpoint';

export interface MemberPort {
  post(message: ToMember, transfer?: Transferable[]): void;
  /** Registers the handlers; onExit fires once when the worker dies, with a reason. */
  listen(onMessage: (m: FromMember) => void, onExit: (reason: string) => void): void;
  terminate(): void;
}

export interface CoordinatorOptions extends Omit<InitMessage, 'type' | 'index' | 'workers'> {
  /** Float32 elements per input row and per label row. */
  rowSize: number;
  classes: number;
}

interface Pending {
  resolve(v: FromMember): void;
  reject(e: Error): void;
  answers: FromMember[];
}

export class DataParallelCoordinator {
  private buffer: SharedArrayBuffer | null = null;
  private barrier: Barrier | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly ready: Promise<void>;
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  constructor(
    private readonly ports: MemberPort[],
    private readonly opts: CoordinatorOptions,
  ) {
    const workers = ports.length;
    if (workers < 1) throw new Error('Data-parallel training needs at least one worker.');
    const lengths: number[] = [];
    let readyResolve!: (lengths: number[]) => void;
    let readyReject!: (e: Error) => void;
    const built = new Promise<number[]>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    // Members build their models first and report the slot length; then one buffer sized for it
    // is shared with all of them.
    this.ready = built.then(async (all) => {
      const slotLength = all[0];
      if (all.some((l) => l !== slotLength))
        throw new Error(`The training workers built different models (${all.join(', ')} values per slot).`);
      this.buffer = new SharedArrayBuffer(sharedBytes(workers, slotLength));
      this.barrier = new Barrier(barrierCells(this.buffer), workers);
      const buffer = this.buffer;
      await this.request((id) => ports.map(() => ({ message: { type: 'attach', id, buffer, slotLength } })));
    });
    this.ready.catch(() => undefined);
    ports.forEach((port, index) => {
      port.listen(
        (m) => {
          if (m.type === 'ready') {
            lengths[index] = m.slotLength;
            if (lengths.filter((l) => l !== undefined).length === workers) readyResolve(lengths);
            return;
          }
          if (m.type === 'error') {
            // A member released by another's failure says so; report the first, real cause.
            this.fail(
              new Error(
                m.aborted && this.failure ? this.failure.message : `Training worker ${index + 1} of ${workers} failed: ${m.message}`,
              ),
            );
            return;
          }
          const p = this.pending.get(m.id);
          if (!p) return;
          p.answers[index] = m;
          if (p.answers.filter(Boolean).length === workers) {
            this.pending.delete(m.id);
            p.resolve(m);
          }
        },
        (reason) => {
          if (!this.closed)
            this.fail(new Error(`Training worker ${index + 1} of ${workers} stopped unexpectedly (${reason}); the run stops.`));
        },
      );
    });
    const { rowSize: _r, classes: _c, ...init } = opts;
    ports.forEach((port, index) => port.post({ type: 'init', index, workers, ...init }));
    this.readyReject = readyReject;
  }

  private readyReject: (e: Error) => void;

  get workers(): number {
    return this.ports.length;
  }

  /** Resolves when every member built its model; rejects when one fails first. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Fails the run: aborts the barrier (every waiting member wakes and stops), rejects all calls, ends the workers. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.barrier?.abort();
    this.readyReject(error);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.closed = true;
    for (const port of this.ports) port.terminate();
  }

  private request(build: (id: number) => Array<{ message: ToMember; transfer?: Transferable[] }>): Promise<FromMember[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('The data-parallel run is closed.'));
    const id = this.nextId++;
    const answers: FromMember[] = [];
    const done = new Promise<FromMember[]>((resolve, reject) => {
      this.pending.set(id, { resolve: () => resolve(answers), reject, answers });
    });
    build(id).forEach(({ message, transfer }, k) => this.ports[k].post(message, transfer));
    return done;
  }

  /**
   * One synchronous step on a full batch: x row-major [rows, ...inputShape], y one-hot. Resolves
   * with the batch's mean loss and correct count once every member applied the update.
   */
  async step(
    x: Float32Array,
    y: Float32Array,
    rows: number,
    epoch: number,
    batch: number,
    learningRate = this.opts.optimizer.learningRate,
  ): Promise<{ loss: number; correct: number; rows: number }> {
    const { rowSize, classes } = this.opts;
    if (x.length !== rows * rowSize) throw new Error(`A batch of ${rows} rows needs ${rows * rowSize} input values (got ${x.length}).`);
    if (y.length !== rows * classes) throw new Error(`A batch of ${rows} rows needs ${rows * classes} label values (got ${y.length}).`);
    const shards = planShards(rows, this.workers);
    const answers = await this.request((id) =>
      shards.map(({ start, rows: n }) => {
        const xs = x.slice(start * rowSize, (start + n) * rowSize);
        const ys = y.slice(start * classes, (start + n) * classes);
        return {
          message: { type: 'step', id, epoch, batch, start, rows: n, fullRows: rows, learningRate, x: xs, y: ys },
          transfer: [xs.buffer, ys.buffer],
        };
      }),
    );
    let lossSum = 0;
    let correct = 0;
    for (const a of answers) {
      if (a.type !== 'stepped') throw new Error(`Unexpected answer ${a.type} to a step.`);
      lossSum += a.lossSum;
      correct += a.correct;
    }
    return { loss: lossSum / rows, correct, rows };
  }

  /** Averages batch norm's moving statistics over the members (e.g. at the end of an epoch). */
  async syncState(): Promise<void> {
    await this.request((id) => this.ports.map(() => ({ message: { type: 'sync', id } })));
  }

  /**
   * Every member's weights (model.getWeights() order), by member. The trainable ones are the same
   * bits in every member; take member 0's to save or evaluate.
   */
  async memberWeights(): Promise<Float32Array[][]> {
    const answers = await this.request((id) => this.ports.map(() => ({ message: { type: 'weights', id } })));
    return answers.map((a) => {
      if (a.type !== 'weights') throw new Error(`Unexpected answer ${a.type} to weights.`);
      return a.weights;
    });
  }

  /** The first member's optimizer state (captureOptimizer's blob), for a checkpoint; every member holds the same. */
  async optimizerState(): Promise<WeightsBlob | null> {
    const answers = await this.request((id) => this.ports.map(() => ({ message: { type: 'optimizer', id } })));
    const a = answers[0];
    if (a.type !== 'optimizer') throw new Error(`Unexpected answer ${a.type} to optimizer.`);
    return a.state;
  }

  /** Ends the members. Pending calls reject. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('The data-parallel run was closed.');
    this.barrier?.abort();
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    for (const port of this.ports) port.terminate();
  }
}
