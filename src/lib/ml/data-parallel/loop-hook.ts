// Plugs a data-parallel coordinator into trainLoop (TrainOptions.parallel): each step's batch goes
// to the members, and at each epoch's end their batch norm statistics are averaged and their
// weights copied into the training thread's model, which validation, checkpoints and the saved
// version then read as usual.
import * as tf from '@tensorflow/tfjs';
import type { ParallelSteps } from '../train-loop';
import type { DataParallelCoordinator } from './coordinator';

export function parallelSteps(c: DataParallelCoordinator): ParallelSteps {
  return {
    async step(xs, ys, epoch, batch, learningRate) {
      const [x, y] = (await Promise.all([xs.data(), ys.data()])) as [Float32Array, Float32Array];
      return c.step(x, y, xs.shape[0], epoch, batch, learningRate);
    },
    async syncModel(model) {
      await c.syncState();
      const [weights] = await c.memberWeights();
      const current = model.getWeights();
      if (weights.length !== current.length)
        throw new Error(`The training workers hold ${weights.length} weight tensors, the model ${current.length}.`);
      const tensors = current.map((t, i) => tf.tensor(weights[i], t.shape, 'float32'));
      try {
        model.setWeights(tensors);
      } finally {
        tf.dispose(tensors);
      }
    },
  };
}
