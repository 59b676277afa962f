// Runs a lowered graph with TF.js ops, in float: used to calibrate int8 ranges (the min and max
// every activation tensor reaches on the calibration batch) and, in tests, to check the lowering.
import * as tf from '@tensorflow/tfjs';
import type { Act, GOp, Graph } from './graph';

function activate(t: tf.Tensor, act: Act): tf.Tensor {
  if (act === 'RELU') return tf.relu(t);
  if (act === 'RELU6') return tf.relu6(t);
  return t;
}

function run(op: GOp, get: (i: number) => tf.Tensor): tf.Tensor {
  switch (op.kind) {
    case 'conv2d': {
      const [o, h, w, i] = op.wShape;
      const filter = tf.transpose(tf.tensor4d(op.w, [o, h, w, i]), [1, 2, 3, 0]) as tf.Tensor4D;
      const y = tf.conv2d(get(op.x) as tf.Tensor4D, filter, op.strides, op.padding, 'NHWC', op.dilation);
      return activate(tf.add(y, tf.tensor1d(op.b)), op.act);
    }
    case 'depthwise': {
      const [, h, w, c] = op.wShape;
      const filter = tf.tensor4d(op.w, [h, w, c / op.multiplier, op.multiplier]);
      const y = tf.depthwiseConv2d(get(op.x) as tf.Tensor4D, filter, op.strides, op.padding, 'NHWC', op.dilation);
      return activate(tf.add(y, tf.tensor1d(op.b)), op.act);
    }
    case 'fc': {
      const [o, i] = op.wShape;
      const y = tf.matMul(get(op.x) as tf.Tensor2D, tf.tensor2d(op.w, [o, i]), false, true);
      return activate(tf.add(y, tf.tensor1d(op.b)), op.act);
    }
    case 'maxpool':
      return tf.maxPool(get(op.x) as tf.Tensor4D, op.size, op.strides, op.padding);
    case 'avgpool':
      return tf.avgPool(get(op.x) as tf.Tensor4D, op.size, op.strides, op.padding);
    case 'mean':
      return tf.mean(get(op.x), [1, 2], op.keepDims);
    case 'reducemax':
      return tf.max(get(op.x), [1, 2], op.keepDims);
    case 'reshape':
      return tf.reshape(get(op.x), [-1, ...shapeOf(op)]);
    case 'softmax':
      return tf.softmax(get(op.x));
    case 'relu':
      return tf.relu(get(op.x));
    case 'relu6':
      return tf.relu6(get(op.x));
    case 'logistic':
      return tf.sigmoid(get(op.x));
    case 'tanh':
      return tf.tanh(get(op.x));
    case 'pad':
      return tf.pad(get(op.x), [[0, 0], op.pads[0], op.pads[1], [0, 0]]);
    case 'add':
      return activate(tf.add(get(op.a), get(op.b)), op.act);
    case 'affine':
      return tf.add(tf.mul(get(op.x), tf.tensor1d(op.scale)), tf.tensor1d(op.shift));
  }
}

let currentGraph: Graph | null = null;
function shapeOf(op: GOp): number[] {
  return currentGraph!.tensors[op.y].shape.slice(1);
}

/**
 * Runs the graph on a batch [n, ...input shape without batch]; calls `visit` with every tensor
 * (input included) as it is computed. Returns the output values.
 */
export function evaluateGraph(
  g: Graph,
  input: Float32Array,
  batch: number,
  visit?: (tensor: number, values: tf.Tensor) => void,
): Float32Array {
  return tf.tidy(() => {
    currentGraph = g;
    try {
      const values = new Map<number, tf.Tensor>();
      const x = tf.tensor(input, [batch, ...g.tensors[g.input].shape.slice(1)]);
      values.set(g.input, x);
      visit?.(g.input, x);
      for (const op of g.ops) {
        const y = run(op, (i) => values.get(i)!);
        values.set(op.y, y);
        visit?.(op.y, y);
      }
      return values.get(g.output)!.dataSync() as Float32Array;
    } finally {
      currentGraph = null;
    }
  });
}

export interface Range {
  min: number;
  max: number;
}

/** Min and max of every tensor over the calibration batch, in chunks to bound memory. */
export function calibrateRanges(g: Graph, calibration: Float32Array, count: number, chunk = 32): Range[] {
  const ranges: Range[] = g.tensors.map(() => ({ min: Infinity, max: -Infinity }));
  const per = calibration.length / count;
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    evaluateGraph(g, calibration.subarray(start * per, (start + n) * per), n, (t, v) => {
      const [lo, hi] = [tf.min(v).dataSync()[0], tf.max(v).dataSync()[0]];
      ranges[t].min = Math.min(ranges[t].min, lo);
      ranges[t].max = Math.max(ranges[t].max, hi);
    });
  }
  return ranges;
}
