import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
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
