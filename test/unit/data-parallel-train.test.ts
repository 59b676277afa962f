// Synchronous data parallelism end to end in Node: two member workers (worker_threads, WASM
// backend with the training kernels) train the small CNN and end with the weights one worker
// gets on the full batches (trainLoop, same seed, same seeded dropout), driven directly and
// through trainLoop's data-parallel hook; a member dying mid-step
// fails the run at once instead of hanging at the barrier.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { DataParallelCoordinator } from '../../src/lib/ml/data-parallel/coordinator';
import { parallelSteps } from '../../src/lib/ml/data-parallel/loop-hook';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import type { OptimizerKind } from '../../src/contracts/training';
import { mulberry32 } from '../../src/lib/ml/random';
import { trainLoop } from '../../src/lib/ml/train-loop';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';
import { startNodeMembers } from '../../workers/ml/data-parallel-node-ports';

beforeAll(async () => {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
}, 60_000);

afterAll(async () => {
  await tf.setBackend('cpu');
});

const config: ArchitectureConfig = { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25, filters: 8 };
const ROW = 28 * 28;
const SEED = 11;

function batches(sizes: number[]): Array<{ x: Float32Array; y: Float32Array; rows: number }> {
  const rand = mulberry32(5);
  return sizes.map((rows) => {
    const x = Float32Array.from({ length: rows * ROW }, () => rand());
    const y = new Float32Array(rows * 10);
    for (let i = 0; i < rows; i++) y[i * 10 + Math.floor(rand() * 10)] = 1;
    return { x, y, rows };
  });
}

/** One worker on the full batches: the app's train loop. */
async function reference(data: ReturnType<typeof batches>, optimizerName: OptimizerKind): Promise<Float32Array[]> {
  const model = buildModel(config, SEED);
  const optimizer = makeOptimizer(optimizerName, 0.002);
  try {
    await trainLoop(
      model,
      {
        size: data.reduce((s, b) => s + b.rows, 0),
        async *batches() {
          for (const b of data) yield { xs: tf.tensor4d(b.x, [b.rows, 28, 28, 1]), ys: tf.tensor2d(b.y, [b.rows, 10]) };
        },
      },
      { epochs: 1, optimizer, seed: SEED, shouldStop: () => false, readEvery: 1 },
    );
    return model.getWeights().map((w) => w.dataSync() as Float32Array);
  } finally {
    disposeOptimizer(optimizer);
    model.dispose();
  }
}

/** Largest |a - b| over a tensor, relative to the tensor's largest |b|. */
function worstRelative(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  b.forEach((e, i) => {
    let scale = 1e-6;
    let err = 0;
    for (let j = 0; j < e.length; j++) scale = Math.max(scale, Math.abs(e[j]));
    for (let j = 0; j < e.length; j++) err = Math.max(err, Math.abs(a[i][j] - e[j]));
    worst = Math.max(worst, err / scale);
  });
  return worst;
}

function coordinator(workers: number, optimizer: OptimizerKind, barrierTimeoutMs = 60_000) {
  const ports = startNodeMembers(workers);
  const c = new DataParallelCoordinator(ports, {
    config,
    seed: SEED,
    optimizer: { name: optimizer, learningRate: 0.002 },
    barrierTimeoutMs,
    rowSize: ROW,
    classes: 10,
  });
  return { c, ports };
}

describe('data-parallel training on WASM (2 worker_threads)', () => {
  // Three steps, the last one short and odd (shards of 4 and 3 rows), with dropout on.
  const data = batches([16, 16, 7]);

  /** The members' weights after the steps, checked identical across members. */
  async function parallelWeights(
    c: DataParallelCoordinator,
    optimizerName: OptimizerKind,
  ): Promise<{ weights: Float32Array[]; losses: number[] }> {
    await c.whenReady();
    let losses: number[] = [];
    if (optimizerName === 'sgd') {
      // The coordinator on its own.
      for (const [i, b] of data.entries()) {
        const r = await c.step(b.x, b.y, b.rows, 0, i);
        expect(r.rows).toBe(b.rows);
        losses.push(r.loss);
      }
    } else {
      // Through trainLoop's data-parallel hook, as the training worker runs it.
      const model = buildModel(config, SEED);
      const optimizer = makeOptimizer(optimizerName, 0.002);
      try {
        const outcome = await trainLoop(
          model,
          {
            size: 39,
            async *batches() {
              for (const b of data) yield { xs: tf.tensor4d(b.x, [b.rows, 28, 28, 1]), ys: tf.tensor2d(b.y, [b.rows, 10]) };
            },
          },
          { epochs: 1, optimizer, seed: SEED, shouldStop: () => false, parallel: parallelSteps(c) },
        );
        expect(outcome.status).toBe('completed');
        losses = outcome.history.map((h) => h.loss);
        // syncModel copied the members' weights into the training thread's model.
        const [members] = await c.memberWeights();
        model.getWeights().forEach((w, i) => expect([...(w.dataSync() as Float32Array)]).toEqual([...members[i]]));
      } finally {
        disposeOptimizer(optimizer);
        model.dispose();
      }
    }
    const [first, second] = await c.memberWeights();
    // The members sum the same slots in the same order: the same bits, not merely close.
    first.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(second[i].buffer)), `tensor ${i}`).toBe(true));
    return { weights: first, losses };
  }

  for (const optimizerName of ['sgd', 'adam'] as const) {
    it(`gives one worker's weights on the full batches (${optimizerName}, dropout 0.25)`, async () => {
      const { c } = coordinator(2, optimizerName);
      try {
        const { weights, losses } = await parallelWeights(c, optimizerName);
        expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
        const expected = await reference(data, optimizerName);
        // Float sums in another order (two half-batch reductions, then their sum). Measured on this
        // data: SGD 1.0e-7 of each tensor's largest value, Adam 3.2e-6 (it divides by sqrt(v), so
        // a gradient near zero magnifies a tiny difference). Allowed: 1e-6 and 1e-4.
        expect(worstRelative(weights, expected)).toBeLessThan(optimizerName === 'sgd' ? 1e-6 : 1e-4);
      } finally {
        c.close();
      }
    }, 120_000);
  }

  it('fails the run at once, with a clear error, when a member dies mid-step', async () => {
    const { c, ports } = coordinator(2, 'adam');
    try {
      await c.whenReady();
      await c.step(data[0].x, data[0].y, data[0].rows, 0, 0);
      const t0 = performance.now();
      const step = c.step(data[1].x, data[1].y, data[1].rows, 0, 1);
      void ports[1].worker.terminate();
      await expect(step).rejects.toThrow(/Training worker 2 of 2 stopped unexpectedly/);
      // Released through the barrier's abort, not its 60 s timeout.
      expect(performance.now() - t0).toBeLessThan(20_000);
      await expect(c.step(data[2].x, data[2].y, data[2].rows, 0, 2)).rejects.toThrow(/stopped unexpectedly/);
      await expect(c.memberWeights()).rejects.toThrow(/stopped unexpectedly/);
    } finally {
      c.close();
    }
  }, 120_000);
});
