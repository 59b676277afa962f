// The custom training loop: streams batches, keeps loss/accuracy sums on the device (read every few
// steps), yields real macrotasks so "stop" can arrive, and never reports an epoch with non-finite loss.
import * as tf from '@tensorflow/tfjs';
import { fmix32 } from './random';

/** ys one-hot float32 (the loss assumes one-hot); the loop disposes both tensors after use. */
export interface Batch {
  xs: tf.Tensor;
  ys: tf.Tensor;
}
export interface EpochData {
  batches(): AsyncIterable<Batch>;
  size: number;
}
export interface EpochInfo {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
  /** Wall time of the epoch's training batches and of its validation pass. */
  trainMs: number;
  validationMs: number;
  /** With early stopping: this epoch has the best monitored loss so far (keep its weights). */
  improved?: boolean;
}
export interface TrainCallbacks {
  /** Only on steps whose sums were read; loss/acc are running means over the epoch so far. */
  onBatch?(info: { epoch: number; batch: number; loss: number; acc: number }): void;
  onEpoch?(info: EpochInfo): Promise<void> | void;
}
export interface TrainOptions {
  /** Total epochs; with startEpoch (a resume) the loop runs epochs startEpoch..epochs-1. Indices are 0-based. */
  epochs: number;
  startEpoch?: number;
  readEvery?: number;
  optimizer: tf.Optimizer;
  validation?: EpochData;
  shouldStop: () => boolean;
  yieldEvery?: number;
  /**
   * Monitors valLoss (training loss when there is no validation data). `previous` holds the
   * metrics of epochs done before a resume, so the best loss and the wait carry over.
   */
  earlyStopping?: { patience: number; minDelta?: number; previous?: Array<{ epoch: number; loss: number; valLoss: number | null }> };
  /**
   * Seeds dropout: each step's masks come from (seed, epoch, batch, layer), so a run replays bit
   * for bit and a resumed run draws what the uninterrupted one would have. Without it, dropout
   * draws from Math.random.
   */
  seed?: number;
  /**
   * With early stopping: multiplies the learning rate by `factor` each time `patience` epochs in a
   * row fail to improve the monitored loss (never below minLearningRate). The rate is a function of
   * the history, so a resume (earlyStopping.previous) continues at the rate it had.
   */
  reduceOnPlateau?: { patience: number; factor: number; minLearningRate?: number };
  /**
   * Data-parallel training (src/lib/ml/data-parallel/loop-hook.ts): each step runs in the member
   * workers instead of on `model`, and before the epoch's validation and onEpoch, `syncModel`
   * copies the members' weights into `model`. `optimizer` then only holds the learning rate.
   */
  parallel?: ParallelSteps;
}
export interface ParallelSteps {
  /** learningRate: the optimizer's current rate (reduce-on-plateau changes it between epochs). */
  step(xs: tf.Tensor, ys: tf.Tensor, epoch: number, batch: number, learningRate: number): Promise<{ loss: number; correct: number }>;
  syncModel(model: tf.LayersModel): Promise<void>;
}
export type TrainLoopResult = {
  status: 'completed' | 'stopped' | 'early-stopped' | 'diverged';
  /** Absolute count of completed epochs: pass it as startEpoch to resume. */
  epochsDone: number;
  reason?: string;
  history: EpochInfo[];
  /** Epoch with the best monitored loss, when early stopping was configured. */
  bestEpoch?: number;
};

/**
 * A real macrotask, so messages queued for this worker (e.g. "stop") get handled. MessageChannel
 * is used when present because browsers clamp nested setTimeout(0) to >= 4 ms.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/**
 * Mean cross-entropy for one-hot ys: -log(probability of the true class). Deliberately not clipped
 * as Keras does: a clip turns exploding logits into a finite plateau with zero gradient, a run that
 * looks alive but learns nothing. Unclipped, they surface as a non-finite loss, reported as 'diverged'.
 */
/** The loop's loss: mean cross-entropy of softmax outputs against one-hot labels. */
export function crossEntropy(probs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.log(tf.sum(tf.mul(ys, probs), -1)))) as tf.Scalar);
}

function countCorrect(probs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), tf.argMax(ys, -1)), 'float32')));
}

/** Adds [loss * n, correct] to a running device-side sum; disposes the old sum. */
function accumulate(sum: tf.Tensor1D, loss: tf.Scalar, correct: tf.Scalar, n: number): tf.Tensor1D {
  const next = tf.tidy(() => tf.add(sum, tf.stack([tf.mul(loss, n), correct])) as tf.Tensor1D);
  sum.dispose();
  return next;
}

/** Forward pass in inference mode over all batches; one read at the end. Empty data gives NaN, n 0. */
export async function evaluateModel(model: tf.LayersModel, data: EpochData): Promise<{ loss: number; acc: number; n: number }> {
  let sum = tf.zeros([2]) as tf.Tensor1D;
  let n = 0;
  try {
    for await (const { xs, ys } of data.batches()) {
      try {
        const [loss, correct] = tf.tidy(() => {
          const probs = model.apply(xs, { training: false }) as tf.Tensor;
          return [crossEntropy(probs, ys), countCorrect(probs, ys)];
        });
        sum = accumulate(sum, loss, correct, xs.shape[0]);
        tf.dispose([loss, correct]);
        n += xs.shape[0];
      } finally {
        tf.dispose([xs, ys]);
      }
      await yieldToEventLoop();
    }
    if (n === 0) return { loss: NaN, acc: NaN, n };
    const [l, c] = await sum.data();
    return { loss: l / n, acc: c / n, n };
  } finally {
    sum.dispose();
  }
}

/** Class probabilities for every input, row-major, in input order; inputs are disposed. */
export async function predictAll(model: tf.LayersModel, data: AsyncIterable<tf.Tensor>): Promise<Float32Array> {
  const chunks: Float32Array[] = [];
  for await (const x of data) {
    try {
      const probs = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor);
      try {
        chunks.push((await probs.data()) as Float32Array);
      } finally {
        probs.dispose();
      }
    } finally {
      x.dispose();
    }
  }
  const out = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * The seed of one dropout layer's mask at one step. TF.js's Dropout layer passes its `seed` to
 * tf.dropout on every call (its random numbers are drawn in JS, the same on every backend), so
 * the loop sets a fresh one before each step instead of fixing one at construction, which would
 * drop the same units every step.
 */
export function dropoutSeed(runSeed: number, epoch: number, batch: number, layer: number): number {
  return fmix32((fmix32((fmix32((fmix32((runSeed ^ 0x85ebca6b) >>> 0) + epoch) >>> 0) + batch) >>> 0) + layer) >>> 0);
}

/** The optimizer's learning rate; SGD and momentum keep theirs in a tensor set by setLearningRate. */
function learningRateOf(optimizer: tf.Optimizer): { get(): number; set(v: number): void } {
  const o = optimizer as tf.Optimizer & { learningRate: number; setLearningRate?: (v: number) => void };
  return { get: () => o.learningRate, set: (v) => (o.setLearningRate ? o.setLearningRate(v) : (o.learningRate = v)) };
}

type SeededLayer = tf.layers.Layer & { seed?: number };

function dropoutLayers(model: tf.LayersModel): SeededLayer[] {
  return model.layers.filter((l) => l.getClassName() === 'Dropout') as SeededLayer[];
}

const divergedReason = (what: string, value: number, epoch: number) =>
  `${what} became ${value} in epoch ${epoch + 1}: training diverged. Try a lower learning rate.`;

export async function trainLoop(
  model: tf.LayersModel,
  train: EpochData,
  opts: TrainOptions,
  cb: TrainCallbacks = {},
): Promise<TrainLoopResult> {
  const readEvery = Math.max(1, Math.floor(opts.readEvery ?? 10));
  const yieldEvery = Math.max(1, Math.floor(opts.yieldEvery ?? 1));
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const history: EpochInfo[] = [];
  const es = opts.earlyStopping;
  let best = Infinity;
  let bestEpoch: number | undefined;
  let wait = 0;
  let step = 0;
  const improves = (monitored: number) => monitored < best - (es?.minDelta ?? 0);
  const plateau = es ? opts.reduceOnPlateau : undefined;
  const lr = learningRateOf(opts.optimizer);
  let rate = lr.get();
  /** Early stopping's bookkeeping for one finished epoch; true when it improved. */
  const track = (epoch: number, monitored: number): boolean => {
    if (improves(monitored)) {
      best = monitored;
      bestEpoch = epoch;
      wait = 0;
      return true;
    }
    wait++;
    if (plateau && wait % plateau.patience === 0) rate = Math.max(plateau.minLearningRate ?? 0, rate * plateau.factor);
    return false;
  };
  for (const p of es?.previous ?? []) {
    if (p.epoch < (opts.startEpoch ?? 0)) track(p.epoch, p.valLoss ?? p.loss);
  }
  if (rate !== lr.get()) lr.set(rate);
  const dropouts = opts.seed === undefined ? [] : dropoutLayers(model);
  const originalSeeds = dropouts.map((l) => l.seed);
  const done = (status: TrainLoopResult['status'], epochsDone: number, reason?: string): TrainLoopResult => {
    // The seeds were for training steps only: the saved model keeps its layers' own configuration.
    dropouts.forEach((l, i) => (l.seed = originalSeeds[i]));
    return { status, epochsDone, history, ...(reason ? { reason } : {}), ...(es ? { bestEpoch } : {}) };
  };

  for (let epoch = opts.startEpoch ?? 0; epoch < opts.epochs; epoch++) {
    if (opts.shouldStop()) return done('stopped', epoch);
    const epochStart = performance.now();
    let sum = tf.zeros([2]) as tf.Tensor1D;
    let seen = 0;
    let batch = 0;
    let totals: Float32Array | null = null;
    try {
      for await (const { xs, ys } of train.batches()) {
        const kept: { correct?: tf.Scalar } = {};
        try {
          if (opts.parallel) {
            const r = await opts.parallel.step(xs, ys, epoch, batch, lr.get());
            const [loss, correct] = [tf.scalar(r.loss), tf.scalar(r.correct)];
            sum = accumulate(sum, loss, correct, xs.shape[0]);
            tf.dispose([loss, correct]);
          } else {
            dropouts.forEach((l, i) => (l.seed = dropoutSeed(opts.seed!, epoch, batch, i)));
            const loss = opts.optimizer.minimize(
              () => {
                const probs = model.apply(xs, { training: true }) as tf.Tensor;
                // Kept out of the gradient scope's tidy; argMax is off the loss path, so no gradient flows.
                kept.correct = tf.keep(countCorrect(probs, ys));
                return crossEntropy(probs, ys);
              },
              true,
              vars,
            ) as tf.Scalar;
            sum = accumulate(sum, loss, kept.correct!, xs.shape[0]);
            loss.dispose();
          }
          seen += xs.shape[0];
        } finally {
          // kept.correct escapes minimize's tidy, so it is freed here even when the step throws.
          tf.dispose(kept.correct ? [xs, ys, kept.correct] : [xs, ys]);
        }
        batch++;
        step++;
        if (batch % readEvery === 0) {
          totals = (await sum.data()) as Float32Array;
          if (!Number.isFinite(totals[0])) return done('diverged', epoch, divergedReason('The loss', totals[0], epoch));
          cb.onBatch?.({ epoch, batch: batch - 1, loss: totals[0] / seen, acc: totals[1] / seen });
        } else totals = null;
        if (step % yieldEvery === 0) await yieldToEventLoop();
        if (opts.shouldStop()) return done('stopped', epoch);
      }
      if (seen === 0) throw new Error('Training data produced no batches.');
      totals ??= (await sum.data()) as Float32Array;
    } finally {
      sum.dispose();
    }
    if (!Number.isFinite(totals[0])) return done('diverged', epoch, divergedReason('The loss', totals[0], epoch));
    await opts.parallel?.syncModel(model);
    const validationStart = performance.now();
    const info: EpochInfo = {
      epoch,
      loss: totals[0] / seen,
      acc: totals[1] / seen,
      valLoss: null,
      valAcc: null,
      trainMs: validationStart - epochStart,
      validationMs: 0,
    };
    if (opts.validation) {
      const v = await evaluateModel(model, opts.validation);
      if (v.n > 0) {
        if (!Number.isFinite(v.loss)) return done('diverged', epoch, divergedReason('The validation loss', v.loss, epoch));
        info.valLoss = v.loss;
        info.valAcc = v.acc;
      }
      info.validationMs = performance.now() - validationStart;
    }
    if (es) {
      info.improved = track(epoch, info.valLoss ?? info.loss);
      if (rate !== lr.get()) lr.set(rate);
    }
    await cb.onEpoch?.(info);
    history.push(info);
    if (es && wait >= es.patience) {
      return done('early-stopped', epoch + 1, `No improvement for ${wait} epochs (best at epoch ${(bestEpoch ?? epoch) + 1}).`);
    }
  }
  return done('completed', Math.max(opts.epochs, opts.startEpoch ?? 0));
}
