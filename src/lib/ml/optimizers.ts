// Optimizers by name, and a dispose that frees everything they made.
import * as tf from '@tensorflow/tfjs';
import type { OptimizerKind } from '../../contracts/training';

export function makeOptimizer(name: OptimizerKind, learningRate: number, momentum = 0.9): tf.Optimizer {
  if (name === 'sgd') return tf.train.momentum(learningRate, momentum);
  if (name === 'rmsprop') return tf.train.rmsprop(learningRate);
  return tf.train.adam(learningRate);
}

/**
 * TF.js 4.22's MomentumOptimizer.dispose() never frees the learning-rate scalar its parent
 * SGDOptimizer keeps (`c`), so each SGD run would leave one tensor behind.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.SGDOptimizer) (optimizer as tf.SGDOptimizer & { c?: tf.Tensor }).c?.dispose();
}
