// One data-parallel training worker's TF.js side: compute its shard's gradients, write them into
// its slot, meet the others at the barrier, sum every slot in the fixed order and apply the same
// optimizer update as everyone else. Runs inside a worker (Atomics.wait blocks).
import * as tf from '@tensorflow/tfjs';
import { crossEntropy, dropoutSeed } from '../train-loop';
import { Barrier, barrierCells, reduceSlots, shardLossScale, slotLayout, slotView, type Shard, type SlotLayout } from './plan';

type DropoutLayer = tf.layers.Layer & { rate: number; seed?: number; noiseShape?: Array<number | null> };

/**
 * Makes a Dropout layer of this shard draw the rows of the full batch's mask. tf.dropout draws
 * randomUniform(shape, 0, 1, 'float32', seed) element by element in row-major order from one
 * seeded stream, so the full batch's mask rows start..start+rows-1 are elements
 * start*rowSize..(start+rows)*rowSize of the stream: the shard draws the full batch's numbers and
 * keeps its rows, then applies the same ops (floor(u + keep) / keep, times x), so the mask and
 * the product are bit for bit those of the full batch. Returns the restore function.
 */
export function shardDropout(layer: DropoutLayer, shard: () => { start: number; rows: number; fullRows: number }): () => void {
  if (layer.noiseShape != null) throw new Error('Data-parallel training does not support dropout with a noise shape.');
  const original = layer.call;
  layer.call = ((inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) =>
    tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const rate = layer.rate;
      if (!(kwargs?.training && 0 < rate && rate < 1)) return x.clone();
      const { start, rows, fullRows } = shard();
      const keep = 1 - rate;
      const full = tf.randomUniform([fullRows, ...x.shape.slice(1)], 0, 1, 'float32', layer.seed);
      const u = full.slice([start, ...x.shape.slice(1).map(() => 0)], [rows, ...x.shape.slice(1)]);
      return tf.mul(x, tf.div(tf.floor(tf.add(u, keep)), keep));
    })) as typeof layer.call;
  return () => {
    layer.call = original;
  };
}

export interface MemberOptions {
  index: number;
  workers: number;
  buffer: SharedArrayBuffer;
  /** memberSlotLength(model), as the coordinator sized the buffer. */
  slotLength: number;
  /** Dropout's run seed (trainLoop's `seed`); without it dropout draws from Math.random. */
  seed?: number;
  barrierTimeoutMs: number;
}

export interface StepResult {
  /** Sum over this shard's rows of the cross-entropy, and its correct predictions. */
  lossSum: number;
  correct: number;
}

/**
 * Sizes every slot must hold: the trainable weights (gradients) and the non-trainable ones (batch
 * norm's moving statistics, averaged by syncState). Every worker builds the same model, so the
 * layout is the same everywhere.
 */
export function memberSlotLength(model: tf.LayersModel): number {
  const t = model.trainableWeights.reduce((s, w) => s + w.read().size, 0);
  const n = model.nonTrainableWeights.reduce((s, w) => s + w.read().size, 0);
  return Math.max(t, n, 1);
}

export class DataParallelMember {
  private readonly vars: tf.Variable[];
  private readonly layout: SlotLayout;
  private readonly stateLayout: SlotLayout;
  private readonly slotLength: number;
  private readonly barrier: Barrier;
  private readonly reduced: Float32Array;
  private readonly dropouts: DropoutLayer[];
  private readonly restore: Array<() => void>;
  private current = { start: 0, rows: 0, fullRows: 1 };
  private bank: 0 | 1 = 0;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly optimizer: tf.Optimizer,
    private readonly opts: MemberOptions,
  ) {
    this.vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.layout = slotLayout(this.vars.map((v) => v.size));
    this.stateLayout = slotLayout(model.nonTrainableWeights.map((w) => w.read().size));
    this.slotLength = memberSlotLength(model);
    if (opts.slotLength !== this.slotLength)
      throw new Error(`The shared buffer has ${opts.slotLength} values per slot; this model needs ${this.slotLength}.`);
    this.barrier = new Barrier(barrierCells(opts.buffer), opts.workers);
    this.reduced = new Float32Array(this.slotLength);
    this.dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout') as DropoutLayer[];
    this.restore = this.dropouts.map((l) => shardDropout(l, () => this.current));
  }

  /** The rate for the next step (SGD and momentum keep theirs in a tensor set by setLearningRate). */
  setLearningRate(rate: number): void {
    const o = this.optimizer as unknown as { learningRate: number; setLearningRate?: (v: number) => void };
    if (o.learningRate === rate) return;
    if (o.setLearningRate) o.setLearningRate(rate);
    else o.learningRate = rate;
  }

  abort(): void {
    this.barrier.abort();
  }

  private slots(): Float32Array[] {
    const { buffer, workers } = this.opts;
    return Array.from({ length: workers }, (_, k) => slotView(buffer, workers, this.slotLength, this.bank, k));
  }

  /**
   * One synchronous step. xs holds this shard's rows (none when the batch has fewer rows than
   * workers: the worker then contributes zeros and still meets the others). epoch/batch seed
   * dropout as trainLoop does.
   */
  step(xs: tf.Tensor | null, ys: tf.Tensor | null, shard: Shard, fullRows: number, epoch: number, batch: number): StepResult {
    const mine = slotView(this.opts.buffer, this.opts.workers, this.slotLength, this.bank, this.opts.index);
    let lossSum = 0;
    let correct = 0;
    if (shard.rows > 0 && xs && ys) {
      this.current = { start: shard.start, rows: shard.rows, fullRows };
      if (this.opts.seed !== undefined) this.dropouts.forEach((l, i) => (l.seed = dropoutSeed(this.opts.seed!, epoch, batch, i)));
      const scale = shardLossScale(shard, fullRows);
      const kept: { loss?: tf.Scalar; correct?: tf.Scalar } = {};
      const { value, grads } = this.optimizer.computeGradients(() => {
        const probs = this.model.apply(xs, { training: true }) as tf.Tensor;
        const loss = crossEntropy(probs, ys);
        kept.loss = tf.keep(loss.clone());
        kept.correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), tf.argMax(ys, -1)), 'float32')));
        return tf.mul(loss, scale) as tf.Scalar;
      }, this.vars);
      try {
        this.vars.forEach((v, i) => mine.set(grads[v.name].dataSync() as Float32Array, this.layout.offsets[i]));
        lossSum = kept.loss!.dataSync()[0] * shard.rows;
        correct = kept.correct!.dataSync()[0];
      } finally {
        tf.dispose([value, kept.loss!, kept.correct!]);
        tf.dispose(Object.values(grads));
      }
    } else {
      mine.fill(0, 0, this.layout.length);
    }
    this.barrier.arrive(this.opts.barrierTimeoutMs);
    reduceSlots(this.slots(), this.reduced.subarray(0, this.layout.length));
    this.bank = this.bank === 0 ? 1 : 0;
    const named: tf.NamedTensorMap = {};
    this.vars.forEach((v, i) => {
      const o = this.layout.offsets[i];
      named[v.name] = tf.tensor(this.reduced.slice(o, o + this.layout.sizes[i]), v.shape, 'float32');
    });
    try {
      this.optimizer.applyGradients(named);
    } finally {
      tf.dispose(Object.values(named));
    }
    return { lossSum, correct };
  }

  /**
   * Averages the non-trainable weights (batch norm's moving mean and variance) over the workers,
   * so the model the run keeps reflects every shard's statistics, not the first worker's alone.
   * Every worker must call it at the same point (the coordinator sends it to all).
   */
  syncState(): void {
    const weights = this.model.nonTrainableWeights;
    if (weights.length === 0) return;
    const mine = slotView(this.opts.buffer, this.opts.workers, this.slotLength, this.bank, this.opts.index);
    weights.forEach((w, i) => mine.set(w.read().dataSync() as Float32Array, this.stateLayout.offsets[i]));
    this.barrier.arrive(this.opts.barrierTimeoutMs);
    reduceSlots(this.slots(), this.reduced.subarray(0, this.stateLayout.length), 1 / this.opts.workers);
    this.bank = this.bank === 0 ? 1 : 0;
    weights.forEach((w, i) => {
      const o = this.stateLayout.offsets[i];
      const t = tf.tensor(this.reduced.slice(o, o + this.stateLayout.sizes[i]), w.read().shape, 'float32');
      w.write(t);
      t.dispose();
    });
  }

  /** The model's weights (model.getWeights() order) as plain arrays. */
  weights(): Float32Array[] {
    return this.model
      .getWeights()
      .map((w) => w.dataSync() as Float32Array)
      .map((a) => a.slice());
  }

  /** Restores the Dropout layers' own call and seeds. */
  dispose(): void {
    this.restore.forEach((r) => r());
  }
}
