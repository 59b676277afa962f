// Optimizers by name, and a dispose that frees everything they made.
import * as tf from '@tensorflow/tfjs';
import type { OptimizerKind } from '../../contracts/training';

/**
 * Adam's and RMSprop's epsilon, fixed. Left out, TF.js takes the backend's `epsilon()`, and its
 * WebGL backend reports half precision (1e-4) exactly when it renders float32 (`floatPrecision()`
 * in tfjs-backend-webgl 4.22 returns 32 only when float32 rendering is off and small values
 * survive), so one seed trained a different optimizer on WebGL: weights apart by two learning
 * rates after one step, accuracy by ~2 points after two epochs. 1e-7 is what CPU, WASM and WebGPU use.
 */
export const OPTIMIZER_EPSILON = 1e-7;

export function makeOptimizer(name: OptimizerKind, learningRate: number, momentum = 0.9): tf.Optimizer {
  if (name === 'sgd') return tf.train.momentum(learningRate, momentum);
  if (name === 'rmsprop') return tf.train.rmsprop(learningRate, 0.9, 0, OPTIMIZER_EPSILON);
  return tf.train.adam(learningRate, 0.9, 0.999, OPTIMIZER_EPSILON);
}

/**
 * TF.js 4.22's MomentumOptimizer.dispose() never frees the learning-rate scalar its parent
 * SGDOptimizer keeps (`c`), so each SGD run would leave one tensor behind.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.SGDOptimizer) (optimizer as tf.SGDOptimizer & { c?: tf.Tensor }).c?.dispose();
}
