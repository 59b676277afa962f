// Browser side of the WebGL seed check (test/browser/webgl-seed.ts): the same seeded run as
// bench/lib/seed-run.ts, bundled for a plain page, so WebGL (which has no Node runtime) trains
// the app's default small CNN with the app's own loop on the digits the Node side serves.
import * as tf from '@tensorflow/tfjs';
import { firstStepGradients, seededRun, type SeedRunOptions } from '../../bench/lib/seed-run';

interface PageRun {
  backend: string;
  accuracy: number;
  seconds: number;
  weights: number[][];
}

declare global {
  interface Window {
    trainSeeded(backend: string, options: Omit<SeedRunOptions, 'set'>, shape: [number, number, number]): Promise<PageRun>;
    firstStepGradients(
      backend: string,
      options: Omit<SeedRunOptions, 'set'>,
      shape: [number, number, number],
      training: boolean,
    ): Promise<number[][]>;
  }
}

async function servedOptions(options: Omit<SeedRunOptions, 'set'>, shape: [number, number, number]): Promise<SeedRunOptions> {
  const x = new Float32Array(await (await fetch('/digits.bin')).arrayBuffer());
  const y: number[] = await (await fetch('/labels.json')).json();
  return { ...options, set: { x, y, shape, numClasses: 10 } };
}

window.firstStepGradients = async (backend, options, shape, training) => {
  const grads = await firstStepGradients(backend, await servedOptions(options, shape), training);
  return grads.map((g) => Array.from(g));
};

window.trainSeeded = async (backend, options, shape) => {
  const run = await seededRun(backend, await servedOptions(options, shape));
  return { backend: tf.getBackend(), accuracy: run.accuracy, seconds: run.seconds, weights: run.weights.map((w) => Array.from(w)) };
};
