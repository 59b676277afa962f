// The message handler of one data-parallel member worker, independent of the worker runtime:
// workers/ml/data-parallel.worker.ts (browser, nested in the training worker) and
// workers/ml/data-parallel.node.ts (Node worker_threads: tests and bench) wrap it.
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../src/lib/ml/architectures';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { captureOptimizer, restoreOptimizer } from '../../src/lib/ml/checkpoint';
import { DataParallelMember, memberSlotLength } from '../../src/lib/ml/data-parallel/member';
import { BarrierAbortedError } from '../../src/lib/ml/data-parallel/plan';
import type { FromMember, InitMessage, ToMember } from '../../src/lib/ml/data-parallel/protocol';

export function createMemberHandler(
  initBackend: () => Promise<void>,
  post: (m: FromMember, transfer?: Transferable[]) => void,
): (m: ToMember) => Promise<void> {
  let member: DataParallelMember | null = null;
  let model: tf.LayersModel | null = null;
  let optimizer: tf.Optimizer | null = null;
  let init: InitMessage | null = null;
  let failed = false;
  // Messages are handled one at a time, in order: a step posted ahead waits for the one before.
  let queue: Promise<void> = Promise.resolve();

  const handle = async (m: ToMember): Promise<void> => {
    if (failed) return;
    const id = 'id' in m ? m.id : undefined;
    try {
      switch (m.type) {
        case 'init': {
          await initBackend();
          init = m;
          model = buildModel(m.config, m.seed);
          if (m.weights) {
            const current = model.getWeights();
            if (m.weights.length !== current.length) throw new Error(`Expected ${current.length} weight tensors, got ${m.weights.length}.`);
            model.setWeights(current.map((w, i) => tf.tensor(m.weights![i], w.shape, 'float32')));
          }
          optimizer = makeOptimizer(m.optimizer.name, m.optimizer.learningRate, m.optimizer.momentum);
          if (m.optimizerState) await restoreOptimizer(optimizer, m.optimizerState);
          post({ type: 'ready', index: m.index, slotLength: memberSlotLength(model) });
          return;
        }
        case 'attach': {
          if (!model || !optimizer || !init) throw new Error('The member was not initialised.');
          member = new DataParallelMember(model, optimizer, {
            index: init.index,
            workers: init.workers,
            buffer: m.buffer,
            slotLength: m.slotLength,
            seed: init.seed,
            barrierTimeoutMs: init.barrierTimeoutMs,
          });
          post({ type: 'attached', id: m.id });
          return;
        }
        case 'step': {
          if (!member || !init || init.config.kind === 'head') throw new Error('The member was not initialised with an image model.');
          const c = init.config;
          let xs: tf.Tensor | null = null;
          let ys: tf.Tensor | null = null;
          if (m.rows > 0) {
            xs = tf.tensor4d(m.x, [m.rows, c.inputSize, c.inputSize, c.channels]);
            ys = tf.tensor2d(m.y, [m.rows, c.numClasses]);
          }
          try {
            member.setLearningRate(m.learningRate);
            const r = member.step(xs, ys, { start: m.start, rows: m.rows }, m.fullRows, m.epoch, m.batch);
            post({ type: 'stepped', id: m.id, lossSum: r.lossSum, correct: r.correct });
          } finally {
            tf.dispose([xs, ys].filter((t): t is tf.Tensor => t !== null));
          }
          return;
        }
        case 'sync':
          if (!member) throw new Error('The member was not initialised.');
          member.syncState();
          post({ type: 'synced', id: m.id });
          return;
        case 'weights': {
          if (!member) throw new Error('The member was not initialised.');
          const weights = member.weights();
          post(
            { type: 'weights', id: m.id, weights },
            weights.map((w) => w.buffer),
          );
          return;
        }
        case 'optimizer': {
          if (!optimizer) throw new Error('The member was not initialised.');
          post({ type: 'optimizer', id: m.id, state: await captureOptimizer(optimizer) });
          return;
        }
        case 'abort':
          member?.abort();
          return;
      }
    } catch (e) {
      failed = true;
      // Release the others before reporting: they may be waiting at the barrier for this worker.
      member?.abort();
      member?.dispose();
      if (optimizer) disposeOptimizer(optimizer);
      model?.dispose();
      post({ type: 'error', id, message: e instanceof Error ? e.message : String(e), aborted: e instanceof BarrierAbortedError });
    }
  };
  return (m) => (queue = queue.then(() => handle(m)));
}
