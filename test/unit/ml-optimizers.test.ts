import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPTIMIZER_EPSILON, disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import type { OptimizerKind } from '../../src/contracts/training';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('optimizers', () => {
  it.each<OptimizerKind>(['adam', 'sgd', 'rmsprop'])('%s leaves no tensor behind after a step and dispose', (name) => {
    const before = tf.memory().numTensors;
    const init = tf.ones([3]);
    const w = tf.variable(init);
    init.dispose();
    const opt = makeOptimizer(name, 0.1, 0.8);
    opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
    expect(w.dataSync()[0]).toBeLessThan(1);
    disposeOptimizer(opt);
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('optimizer epsilon', () => {
  // TF.js's WebGL backend reports epsilon 1e-4 where it renders float32 (SwiftShader, most GPUs);
  // an optimizer that took the backend's epsilon trained differently there than on WASM.
  it.each<OptimizerKind>(['adam', 'rmsprop'])('%s uses the same epsilon whatever the backend reports', (name) => {
    const backend = tf.backend();
    const original = backend.epsilon;
    backend.epsilon = () => 1e-4;
    try {
      const opt = makeOptimizer(name, 0.01) as unknown as { epsilon: number };
      expect(opt.epsilon).toBe(OPTIMIZER_EPSILON);
      disposeOptimizer(opt as unknown as tf.Optimizer);
    } finally {
      backend.epsilon = original;
    }
  });
});
