import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { evaluateModel, predictAll, trainLoop, yieldToEventLoop, type EpochData, type EpochInfo } from '../../src/lib/ml/train-loop';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const SIDE = 4; // 4x4x1 inputs, 16 features
const FEATURES = SIDE * SIDE;

/**
 * Two uniform blobs at -0.5 and +0.5 in every feature: linearly separable with margin. With
 * `shuffledLabels` the labels are random, so nothing can fit them (a huge step size then diverges).
 */
function blobs(n: number, seed: number, shuffledLabels = false): { x: Float32Array; y: number[] } {
  const rand = mulberry32(seed);
  const x = new Float32Array(n * FEATURES);
  const y = Array.from({ length: n }, (_, i) => (shuffledLabels ? Math.floor(rand() * 2) : i % 2));
  for (let i = 0; i < n; i++) for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = (i % 2 ? 0.5 : -0.5) + (rand() - 0.5);
  return { x, y };
}

function epochData(n: number, seed: number, batchSize: number, onBatch?: () => void, shuffledLabels = false): EpochData {
  const { x, y } = blobs(n, seed, shuffledLabels);
  return {
    size: n,
    async *batches() {
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        onBatch?.();
        yield {
          xs: tf.tensor4d(x.slice(start * FEATURES, end * FEATURES), [end - start, SIDE, SIDE, 1]),
          ys: tf.tidy(() => tf.oneHot(tf.tensor1d(y.slice(start, end), 'int32'), 2).toFloat()),
        };
      }
    },
  };
}

// Dropout masks are unseeded (see architectures.ts), so tests that need exact behaviour use dropout 0.
const mlp = (dropout = 0) => buildModel({ kind: 'mlp', inputSize: SIDE, channels: 1, numClasses: 2, dropout, hidden: [8] }, 11);

/** Runs fn with a fresh model and optimizer, then checks every tensor was released. */
async function leakFree<T>(makeOpt: () => tf.Optimizer, fn: (m: tf.LayersModel, o: tf.Optimizer) => Promise<T>, dropout = 0): Promise<T> {
  const before = tf.memory().numTensors;
  const model = mlp(dropout);
  const opt = makeOpt();
  try {
    return await fn(model, opt);
  } finally {
    model.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }
}

describe('trainLoop', () => {
  it('learns a separable problem, reads back only every readEvery steps', async () => {
    const batches: Array<{ epoch: number; batch: number }> = [];
    const epochs: EpochInfo[] = [];
    await leakFree(
      () => tf.train.adam(0.02),
      async (model, optimizer) => {
        const out = await trainLoop(
          model,
          epochData(200, 1, 20),
          {
            epochs: 4,
            optimizer,
            readEvery: 5,
            shouldStop: () => false,
            validation: epochData(60, 2, 32),
          },
          { onBatch: (b) => batches.push(b), onEpoch: (e) => void epochs.push(e) },
        );
        expect(out.status).toBe('completed');
        expect(out.epochsDone).toBe(4);
        expect(out.history).toEqual(epochs);
        const last = epochs[3];
        expect(last.acc).toBeGreaterThan(0.9);
        expect(last.valAcc).toBeGreaterThan(0.9);
        expect(last.loss).toBeLessThan(epochs[0].loss);
        expect(batches.map((b) => b.batch)).toEqual([4, 9, 4, 9, 4, 9, 4, 9]);

        const ev = await evaluateModel(model, epochData(60, 2, 32));
        expect(ev).toEqual({ loss: expect.closeTo(last.valLoss!, 5), acc: last.valAcc, n: 60 });
        const { x } = blobs(10, 3);
        async function* inputs() {
          yield tf.tensor4d(x.slice(0, 6 * FEATURES), [6, SIDE, SIDE, 1]);
          yield tf.tensor4d(x.slice(6 * FEATURES), [4, SIDE, SIDE, 1]);
        }
        const probs = await predictAll(model, inputs());
        expect(probs.length).toBe(20);
        expect(probs[0] + probs[1]).toBeCloseTo(1, 5);
      },
      0.1,
    );
  });

  it('stops mid-epoch when a stop message arrives as a macrotask', async () => {
    let served = 0;
    let stop = false;
    let epochCalls = 0;
    await leakFree(
      () => tf.train.sgd(0.1),
      async (model, optimizer) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => (stop = true);
        channel.port2.postMessage('stop'); // delivered only if the loop yields to the event loop
        const out = await trainLoop(
          model,
          epochData(400, 1, 10, () => served++),
          {
            epochs: 3,
            optimizer,
            shouldStop: () => stop,
          },
          { onEpoch: () => void epochCalls++ },
        );
        channel.port1.close();
        expect(out.status).toBe('stopped');
        expect(out.epochsDone).toBe(0);
        expect(out.history).toEqual([]);
        expect(epochCalls).toBe(0);
        expect(served).toBeLessThan(40);
      },
    );
  });

  it.each([5, 100])('reports divergence at the next read (readEvery %i) and never calls onEpoch for it', async (readEvery) => {
    let epochCalls = 0;
    let batchCalls = 0;
    await leakFree(
      () => tf.train.sgd(1e6),
      async (model, optimizer) => {
        const out = await trainLoop(
          model,
          epochData(200, 1, 20, undefined, true),
          {
            epochs: 3,
            optimizer,
            readEvery,
            shouldStop: () => false,
          },
          { onEpoch: () => void epochCalls++, onBatch: () => void batchCalls++ },
        );
        expect(out.status).toBe('diverged');
        expect(out.reason).toMatch(/lower learning rate/);
        expect(out.epochsDone).toBe(0);
        expect(out.history).toEqual([]);
        expect(epochCalls).toBe(0);
        expect(batchCalls).toBe(0);
      },
    );
  });

  it('early-stops when the monitored loss stops improving', async () => {
    await leakFree(
      () => tf.train.adam(0.01),
      async (model, optimizer) => {
        const out = await trainLoop(model, epochData(40, 1, 20), {
          epochs: 10,
          optimizer,
          shouldStop: () => false,
          validation: epochData(20, 2, 20),
          earlyStopping: { patience: 2, minDelta: 100 }, // nothing beats the first epoch by 100
        });
        expect(out.status).toBe('early-stopped');
        expect(out.epochsDone).toBe(3);
        expect(out.bestEpoch).toBe(0);
        expect(out.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
        // The epoch whose weights a run keeps is flagged.
        expect(out.history.map((h) => h.improved)).toEqual([true, false, false]);
      },
    );
  });

  it('halves the learning rate on a plateau, and a resume continues at the reduced rate', async () => {
    await leakFree(
      () => tf.train.adam(0.01),
      async (model, optimizer) => {
        const rates: number[] = [];
        const out = await trainLoop(
          model,
          epochData(40, 1, 20),
          {
            epochs: 5,
            optimizer,
            shouldStop: () => false,
            validation: epochData(20, 2, 20),
            earlyStopping: { patience: 10, minDelta: 100 },
            reduceOnPlateau: { patience: 2, factor: 0.5, minLearningRate: 0.003 },
          },
          { onEpoch: () => void rates.push((optimizer as tf.Optimizer & { learningRate: number }).learningRate) },
        );
        expect(out.status).toBe('completed');
        // Epoch 0 improves; 1-2 do not (halved after 2), 3-4 do not (halved again, but not below 0.003).
        expect(rates).toEqual([0.01, 0.01, 0.005, 0.005, 0.003]);
      },
    );
    await leakFree(
      () => tf.train.adam(0.01),
      async (model, optimizer) => {
        const previous = [0, 1, 2].map((epoch) => ({ epoch, loss: 1, valLoss: 1 }));
        await trainLoop(
          model,
          epochData(40, 1, 20),
          {
            epochs: 4,
            startEpoch: 3,
            optimizer,
            shouldStop: () => false,
            earlyStopping: { patience: 10, previous },
            reduceOnPlateau: { patience: 2, factor: 0.5 },
          },
          { onEpoch: (m) => expect([m.epoch, (optimizer as tf.Optimizer & { learningRate: number }).learningRate]).toEqual([3, 0.005]) },
        );
        expect((optimizer as tf.Optimizer & { learningRate: number }).learningRate).toBe(0.005);
      },
    );
  });

  it('early stopping carries its best loss and wait over a resume', async () => {
    await leakFree(
      () => tf.train.adam(0.01),
      async (model, optimizer) => {
        // Before the resume: epoch 0 was unbeatable, epoch 1 did not improve (wait 1 of 2).
        const previous = [
          { epoch: 0, loss: 0.5, valLoss: 1e-9 },
          { epoch: 1, loss: 0.4, valLoss: 0.3 },
          { epoch: 2, loss: 0, valLoss: 0 },
        ];
        const out = await trainLoop(model, epochData(40, 1, 20), {
          epochs: 10,
          startEpoch: 2,
          optimizer,
          shouldStop: () => false,
          validation: epochData(20, 2, 20),
          earlyStopping: { patience: 2, previous }, // epoch 2 is redone, so its stale entry is ignored
        });
        expect(out).toMatchObject({ status: 'early-stopped', epochsDone: 3, bestEpoch: 0 });
        expect(out.history.map((h) => [h.epoch, h.improved])).toEqual([[2, false]]);
      },
    );
  });

  it('resumes from startEpoch, without validation', async () => {
    await leakFree(
      () => tf.train.adam(0.01),
      async (model, optimizer) => {
        const out = await trainLoop(model, epochData(40, 1, 20), { epochs: 3, startEpoch: 2, optimizer, shouldStop: () => false });
        expect(out).toMatchObject({ status: 'completed', epochsDone: 3 });
        expect(out.history).toEqual([
          {
            epoch: 2,
            loss: expect.any(Number),
            acc: expect.any(Number),
            valLoss: null,
            valAcc: null,
            trainMs: expect.any(Number),
            validationMs: 0,
          },
        ]);
      },
    );
  });

  it('refuses empty data without leaking', async () => {
    await leakFree(
      () => tf.train.adam(0.01),
      async (model, optimizer) => {
        await expect(trainLoop(model, epochData(0, 1, 20), { epochs: 1, optimizer, shouldStop: () => false })).rejects.toThrow(
          /no batches/,
        );
        expect((await evaluateModel(model, epochData(0, 1, 20))).n).toBe(0);
      },
    );
  });

  it('yieldToEventLoop lets a queued macrotask run', async () => {
    let ran = false;
    setTimeout(() => (ran = true), 0);
    for (let i = 0; i < 100_000 && !ran; i++) await yieldToEventLoop(); // timers need >= 1 ms in Node
    expect(ran).toBe(true);
  });
});
