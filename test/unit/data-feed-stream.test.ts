// The training worker's batch stream (workers/ml/data-feed.ts streamedEpochs): every sample once
// per epoch in a seeded order, reads running a bounded number of batches ahead, each read told
// its (epoch, batch) position (the augmentation seed), and time spent waiting for slow reads counted.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { streamedEpochs, type BatchPosition } from '../../workers/ml/data-feed';

const items = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, classIndex: i % 3 }));
const makeBatch = (ids: string[], classes: number[]) => ({
  xs: tf.tensor1d(ids.map((id) => Number(id.slice(1)))),
  ys: tf.tensor1d(classes),
});

async function drain(source: ReturnType<typeof streamedEpochs<string[]>>): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const b of source.batches()) {
    batches.push(Array.from(await b.xs.data()));
    tf.dispose([b.xs, b.ys]);
  }
  return batches;
}

describe('streamedEpochs', () => {
  it('yields every sample once per epoch, reshuffled per epoch and replayable from the seed', async () => {
    const positions: BatchPosition[] = [];
    const source = streamedEpochs(items, 4, 7, async (ids, at) => (positions.push(at), ids), makeBatch);
    const first = await drain(source);
    const second = await drain(source);
    expect(first.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(first.flat().sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(second.flat().sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(second.flat()).not.toEqual(first.flat());
    expect(positions).toEqual([0, 1, 2].map((batch) => ({ epoch: 0, batch })).concat([0, 1, 2].map((batch) => ({ epoch: 1, batch }))));
    const again = streamedEpochs(items, 4, 7, async (ids) => ids, makeBatch);
    expect(await drain(again)).toEqual(first);
  });

  it('keeps order without a seed, reads at most two batches ahead, and counts the wait for slow reads', async () => {
    let inFlight = 0;
    let most = 0;
    const source = streamedEpochs(
      items,
      2,
      null,
      async (ids) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 15));
        inFlight--;
        return ids;
      },
      makeBatch,
    );
    const batches = await drain(source);
    expect(batches.flat()).toEqual([...Array(10).keys()]);
    expect(most).toBe(2);
    expect(source.waitMs).toBeGreaterThan(0);
  });

  it('a failed read fails the epoch; reads left behind by a stopped loop are not unhandled', async () => {
    const failing = streamedEpochs(
      items,
      4,
      null,
      async (ids) => {
        if (ids.includes('s5')) throw new Error('Preprocessed data for sample s5 is missing');
        return ids;
      },
      makeBatch,
    );
    await expect(drain(failing)).rejects.toThrow(/s5 is missing/);
    const stopped = streamedEpochs(
      items,
      2,
      null,
      async (ids) => {
        if (ids.includes('s3')) throw new Error('late failure');
        return ids;
      },
      makeBatch,
    );
    for await (const b of stopped.batches()) {
      tf.dispose([b.xs, b.ys]);
      break; // the read of the second batch (s2, s3) is still pending and then fails: nobody awaits it
    }
    await new Promise((r) => setTimeout(r, 10));
  });
});
