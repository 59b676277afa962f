// CenterNet-lite for TF.js: a small convolutional backbone (stride 8 with a stride-4 skip), one
// stride-4 output of numClasses + 4 channels: heatmap logits (sigmoid, penalty-reduced focal loss),
// box size in grid cells and centre offset (L1 at centre cells), laid out as centernet.ts expects.
// Imports TF.js: for workers and Node benchmarks only (the main thread never imports TF.js).
import * as tf from '@tensorflow/tfjs';
import { seedStream } from '../ml/random';
import { buildTargets, decode, gridSide, nms, type HeadBox, type HeadConfig, type HeadDetection } from './centernet';

export interface DetectorConfig extends HeadConfig {
  channels: 1 | 3;
  /** Width of the backbone's first stage (later stages are 2x and 4x). */
  width: number;
}

export const DEFAULT_DETECTOR: DetectorConfig = { inputSize: 128, stride: 4, numClasses: 10, channels: 1, width: 16 };

/** CenterNet's heatmap bias init: sigmoid(-2.19) ≈ 0.1, so the focal loss starts small. */
const HEATMAP_PRIOR_BIAS = -2.19;

/** Builds the model; each initializer gets its own seed from `seed`. */
export function buildDetector(cfg: DetectorConfig, seed: number): tf.LayersModel {
  if (cfg.stride !== 4) throw new Error('buildDetector: only stride 4 is built');
  gridSide(cfg);
  const next = seedStream(seed);
  const he = () => tf.initializers.heNormal({ seed: next() });
  const w = cfg.width;
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, cfg.channels] });
  const block = (x: tf.SymbolicTensor, filters: number, strides: number, name: string) => {
    const c = tf.layers
      .conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: he(), name: `${name}_conv` })
      .apply(x) as tf.SymbolicTensor;
    const b = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(c) as tf.SymbolicTensor;
    return tf.layers.reLU({ name: `${name}_relu` }).apply(b) as tf.SymbolicTensor;
  };
  let x = block(input, w, 2, 's2a'); // 64
  x = block(x, w * 2, 2, 's4a'); // 32
  const s4 = block(x, w * 2, 1, 's4b');
  x = block(s4, w * 4, 2, 's8a'); // 16
  x = block(x, w * 4, 1, 's8b');
  x = block(x, w * 4, 1, 's8c');
  x = block(x, w * 4, 1, 's8d');
  // Back to stride 4: upsample, project, add the stride-4 features.
  let up = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(x) as tf.SymbolicTensor;
  up = tf.layers
    .conv2d({ filters: w * 2, kernelSize: 1, useBias: false, kernelInitializer: he(), name: 'up_proj' })
    .apply(up) as tf.SymbolicTensor;
  x = tf.layers.add({ name: 'skip' }).apply([up, s4]) as tf.SymbolicTensor;
  x = block(x, w * 2, 1, 'head');
  const heat = tf.layers
    .conv2d({
      filters: cfg.numClasses,
      kernelSize: 1,
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed: next() }),
      biasInitializer: tf.initializers.constant({ value: HEATMAP_PRIOR_BIAS }),
      name: 'heatmap',
    })
    .apply(x) as tf.SymbolicTensor;
  const reg = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: 1,
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed: next() }),
      name: 'size_offset',
    })
    .apply(x) as tf.SymbolicTensor;
  const out = tf.layers.concatenate({ name: 'centernet' }).apply([heat, reg]) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'centernet_lite' });
}

export interface TargetBatch {
  heatmap: tf.Tensor4D;
  size: tf.Tensor4D;
  offset: tf.Tensor4D;
  mask: tf.Tensor4D;
}

/** Stacks buildTargets for a batch of images into tensors [N, G, G, *]. */
export function targetBatch(boxesPerImage: readonly HeadBox[][], cfg: HeadConfig): TargetBatch {
  const g = gridSide(cfg);
  const n = boxesPerImage.length;
  const C = cfg.numClasses;
  const heat = new Float32Array(n * g * g * C);
  const size = new Float32Array(n * g * g * 2);
  const offset = new Float32Array(n * g * g * 2);
  const mask = new Float32Array(n * g * g);
  boxesPerImage.forEach((boxes, i) => {
    const t = buildTargets(boxes, cfg);
    heat.set(t.heatmap, i * g * g * C);
    size.set(t.size, i * g * g * 2);
    offset.set(t.offset, i * g * g * 2);
    mask.set(t.mask, i * g * g);
  });
  return {
    heatmap: tf.tensor4d(heat, [n, g, g, C]),
    size: tf.tensor4d(size, [n, g, g, 2]),
    offset: tf.tensor4d(offset, [n, g, g, 2]),
    mask: tf.tensor4d(mask, [n, g, g, 1]),
  };
}

export interface LossParts {
  total: tf.Scalar;
  focal: tf.Scalar;
  size: tf.Scalar;
  offset: tf.Scalar;
}

/**
 * CenterNet's loss on the raw output: penalty-reduced pixel-wise focal loss (alpha 2, beta 4) on
 * the heatmap, normalised by the number of objects; L1 on size (weight 0.1) and offset (weight 1)
 * at centre cells. Logs are computed from logits (log p = -softplus(-x)) so nothing overflows.
 */
export function centernetLoss(output: tf.Tensor4D, t: TargetBatch, numClasses: number): LossParts {
  return tf.tidy(() => {
    const [n, g] = output.shape;
    const logits = output.slice([0, 0, 0, 0], [n, g, g, numClasses]);
    const sizePred = output.slice([0, 0, 0, numClasses], [n, g, g, 2]);
    const offPred = output.slice([0, 0, 0, numClasses + 2], [n, g, g, 2]);
    const p = tf.sigmoid(logits);
    const logP = tf.neg(tf.softplus(tf.neg(logits)));
    const log1mP = tf.neg(tf.softplus(logits));
    const pos = tf.cast(tf.greaterEqual(t.heatmap, 1), 'float32');
    const neg = tf.sub(1, pos);
    const numPos = tf.maximum(tf.sum(pos), 1);
    const posLoss = tf.sum(tf.mul(tf.mul(logP, tf.square(tf.sub(1, p))), pos));
    const negWeight = tf.pow(tf.sub(1, t.heatmap), 4);
    const negLoss = tf.sum(tf.mul(tf.mul(tf.mul(log1mP, tf.square(p)), negWeight), neg));
    const focal = tf.div(tf.neg(tf.add(posLoss, negLoss)), numPos) as tf.Scalar;
    const numCentres = tf.maximum(tf.sum(t.mask), 1);
    const size = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(sizePred, t.size)), t.mask)), numCentres) as tf.Scalar;
    const offset = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(offPred, t.offset)), t.mask)), numCentres) as tf.Scalar;
    const total = tf.addN([focal, tf.mul(size, 0.1), offset]) as tf.Scalar;
    return { total, focal, size, offset };
  });
}

export interface PredictOptions {
  scoreThreshold?: number;
  topK?: number;
  nmsIou?: number;
}

/** Runs the model on a batch [N, S, S, C] (0..1 floats) and decodes each image's boxes. */
export function predictBoxes(model: tf.LayersModel, images: tf.Tensor4D, cfg: HeadConfig, options: PredictOptions = {}): HeadDetection[][] {
  const g = gridSide(cfg);
  const C = cfg.numClasses;
  const [heatT, sizeT, offT] = tf.tidy(() => {
    const y = model.predict(images) as tf.Tensor4D;
    const [n] = y.shape;
    return [tf.sigmoid(y.slice([0, 0, 0, 0], [n, g, g, C])), y.slice([0, 0, 0, C], [n, g, g, 2]), y.slice([0, 0, 0, C + 2], [n, g, g, 2])];
  });
  const n = heatT.shape[0];
  const heat = heatT.dataSync() as Float32Array;
  const size = sizeT.dataSync() as Float32Array;
  const off = offT.dataSync() as Float32Array;
  tf.dispose([heatT, sizeT, offT]);
  const per: HeadDetection[][] = [];
  for (let i = 0; i < n; i++) {
    const dets = decode(
      heat.subarray(i * g * g * C, (i + 1) * g * g * C),
      size.subarray(i * g * g * 2, (i + 1) * g * g * 2),
      off.subarray(i * g * g * 2, (i + 1) * g * g * 2),
      cfg,
      { scoreThreshold: options.scoreThreshold ?? 0.05, topK: options.topK ?? 100 },
    );
    per.push(options.nmsIou !== undefined ? nms(dets, options.nmsIou) : dets);
  }
  return per;
}
