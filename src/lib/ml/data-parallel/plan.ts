// Synchronous data parallelism, the pure parts: how a batch is split into shards, where each
// worker's gradients live in the shared buffer, the fixed order in which every worker sums them,
// and the barrier (Atomics over an Int32Array) that separates "all slots written" from "read".
// No TF.js here: the TF.js side is ./member.ts, the worker side workers/ml/data-parallel-*.ts.

export interface Shard {
  /** First row of the full batch this worker trains on, and how many rows (0 when batch < workers). */
  start: number;
  rows: number;
}

/**
 * Contiguous shards, as even as possible: the first (rows % workers) shards get one extra row.
 * Every row belongs to exactly one shard, in order, so shard k's rows are rows start..start+rows-1
 * of the full batch (its dropout mask rows are the same rows of the full batch's mask).
 */
export function planShards(batchRows: number, workers: number): Shard[] {
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`A batch needs at least one row (got ${batchRows}).`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`Data parallelism needs at least one worker (got ${workers}).`);
  const base = Math.floor(batchRows / workers);
  const extra = batchRows % workers;
  const shards: Shard[] = [];
  let start = 0;
  for (let k = 0; k < workers; k++) {
    const rows = base + (k < extra ? 1 : 0);
    shards.push({ start, rows });
    start += rows;
  }
  return shards;
}

/**
 * The weight each shard's mean loss gets so that the plain sum of the shards' gradients is the
 * full batch's mean gradient: mean over the batch = sum over shards of (rows / batchRows) x the
 * shard's mean. Exact for unequal shards too (the last, short batch of an epoch).
 */
export function shardLossScale(shard: Shard, batchRows: number): number {
  return shard.rows / batchRows;
}

/** Offsets of each tensor (by element count) inside one worker's slot, and the slot's length. */
export interface SlotLayout {
  offsets: number[];
  sizes: number[];
  /** Float32 elements per slot. */
  length: number;
}

export function slotLayout(sizes: readonly number[]): SlotLayout {
  const offsets: number[] = [];
  let length = 0;
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`A tensor size must be a non-negative whole number (got ${s}).`);
    offsets.push(length);
    length += s;
  }
  return { offsets, sizes: [...sizes], length };
}

/** Int32 cells at the start of the shared buffer: the barrier (3) then padding to 16 bytes. */
export const BARRIER_CELLS = 4;
const HEADER_BYTES = BARRIER_CELLS * 4;

/**
 * Bytes of the shared buffer for `workers` slots of `slotLength` floats, twice: step t writes
 * bank t % 2. With one bank a fast worker could write step t+1's gradients while a slow one still
 * sums step t's; with two, writing bank (t+1) % 2 again (step t+2) needs everyone past step t+1's
 * barrier, which they reach only after finishing their sum of step t.
 */
export function sharedBytes(workers: number, slotLength: number): number {
  return HEADER_BYTES + 2 * workers * slotLength * 4;
}

/** Views of one shared buffer: the barrier cells and slot `worker` of bank `bank`. */
export function barrierCells(buffer: SharedArrayBuffer | ArrayBuffer): Int32Array {
  return new Int32Array(buffer, 0, BARRIER_CELLS);
}

export function slotView(
  buffer: SharedArrayBuffer | ArrayBuffer,
  workers: number,
  slotLength: number,
  bank: 0 | 1,
  worker: number,
): Float32Array {
  if (worker < 0 || worker >= workers) throw new Error(`No worker ${worker} among ${workers}.`);
  return new Float32Array(buffer, HEADER_BYTES + (bank * workers + worker) * slotLength * 4, slotLength);
}

/**
 * out[i] = slots[0][i] + slots[1][i] + ... in this order, accumulated in a double and rounded to
 * float32 once. Every worker runs this same loop over the same bytes, so every worker gets the
 * same bits: the weights stay identical without being broadcast.
 */
export function reduceSlots(slots: readonly Float32Array[], out: Float32Array, scale = 1): Float32Array {
  if (slots.length === 0) throw new Error('Nothing to reduce.');
  const n = out.length;
  for (const s of slots) if (s.length < n) throw new Error(`A slot holds ${s.length} values, the sum needs ${n}.`);
  const first = slots[0];
  for (let i = 0; i < n; i++) {
    let sum = first[i];
    for (let k = 1; k < slots.length; k++) sum += slots[k][i];
    out[i] = sum * scale;
  }
  return out;
}

// Barrier cells.
const COUNT = 0;
const GENERATION = 1;
const ABORTED = 2;

export class BarrierAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BarrierAbortedError';
  }
}

/**
 * A reusable barrier for `parties` threads over three Int32 cells (arrival count, generation,
 * aborted flag). The last to arrive resets the count, bumps the generation and wakes the rest;
 * the others Atomics.wait on the generation. abort() (any thread, or the coordinator when a
 * worker dies) sets the flag and bumps the generation, so a waiter never sleeps through it: it
 * wakes, sees the flag and throws. A wait longer than timeoutMs aborts the barrier for everyone.
 * Atomics.wait blocks, so arrive() belongs in workers (Node's main thread allows it; a browser
 * page does not).
 */
export class Barrier {
  constructor(
    private readonly cells: Int32Array,
    private readonly parties: number,
  ) {
    if (cells.length < 3) throw new Error('A barrier needs three Int32 cells.');
    if (!Number.isInteger(parties) || parties < 1) throw new Error(`A barrier needs at least one party (got ${parties}).`);
  }

  get aborted(): boolean {
    return Atomics.load(this.cells, ABORTED) !== 0;
  }

  /** Sets the flag and wakes every waiter; they throw. Idempotent. */
  abort(): void {
    Atomics.store(this.cells, ABORTED, 1);
    Atomics.add(this.cells, GENERATION, 1);
    Atomics.notify(this.cells, GENERATION);
  }

  /** Blocks until all parties arrived; throws BarrierAbortedError when aborted or timed out. */
  arrive(timeoutMs: number, now: () => number = () => performance.now()): void {
    const c = this.cells;
    if (this.aborted) throw new BarrierAbortedError('The step was abandoned: another training worker failed.');
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, COUNT, 1) + 1 === this.parties) {
      Atomics.store(c, COUNT, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const deadline = now() + timeoutMs;
    while (Atomics.load(c, GENERATION) === generation) {
      const left = deadline - now();
      if (left <= 0) {
        this.abort();
        throw new BarrierAbortedError(
          `A training worker waited ${Math.round(timeoutMs / 1000)} s for the others at a step's barrier; the run stops.`,
        );
      }
      Atomics.wait(c, GENERATION, generation, left);
    }
    if (this.aborted) throw new BarrierAbortedError('The step was abandoned: another training worker failed.');
  }
}
