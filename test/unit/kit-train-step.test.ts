// Training parity, step by step: from the same initial weights and the same batches, the app's
// training loop (trainLoop, makeOptimizer) and the kit's (train.py's train_step, make_optimizer)
// take the same steps: per-step losses and the weights after them agree for each architecture and
// optimiser. Dropout is off and batches are fixed, so nothing random is drawn: what is left is
// float32 rounding in two engines. This is what lets a kit run match the app's run in
// distribution; the runs themselves differ by their draws (bench:kit-parity measures how much).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { trainLoop, type EpochData } from '../../src/lib/ml/train-loop';
import { findTorchPython, KIT_PYTHON_DIR } from '../kit/python';

const { python, reason } = findTorchPython();

const DEFAULT_STEPS = 4;
const CASES: Array<{ arch: ArchitectureConfig; optimizer: 'adam' | 'sgd' | 'rmsprop'; learningRate: number; steps?: number }> = [
  { arch: { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0, filters: 8 }, optimizer: 'adam', learningRate: 0.002 },
  { arch: { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0, filters: 8 }, optimizer: 'sgd', learningRate: 0.05 },
  { arch: { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0, filters: 8 }, optimizer: 'rmsprop', learningRate: 0.001 },
  // Batch norm in training mode (batch statistics, moving averages with momentum 0.99); 2 steps: TF.js's CPU backend is slow at depthwise gradients.
  {
    arch: { kind: 'mobilenet', inputSize: 32, channels: 1, numClasses: 4, dropout: 0, widthMultiplier: 0.25 },
    optimizer: 'adam',
    learningRate: 0.002,
    steps: 2,
  },
  { arch: { kind: 'mlp', inputSize: 16, channels: 1, numClasses: 3, dropout: 0, hidden: [32] }, optimizer: 'adam', learningRate: 0.002 },
];
const BATCH = 8;

const SCRIPT = `
import json, sys
import numpy as np, torch
from trainyard_kit import models, convert
from train import make_optimizer, train_step
torch.set_num_threads(1)
for d in sys.argv[1:]:
    spec = json.load(open(d + '/spec.json'))
    net = models.build(spec['arch'])
    convert.load_tfjs(net, spec['topology'], spec['manifest'], open(d + '/weights.bin', 'rb').read())
    net.train()
    opt = make_optimizer(net.parameters(), spec['hp'])
    x = np.fromfile(d + '/x.bin', dtype='<f4').reshape(spec['xShape'])
    y = np.fromfile(d + '/y.bin', dtype='<i4').astype(np.int64)
    losses = []
    for i in range(spec['steps']):
        sl = slice(i * spec['batch'], (i + 1) * spec['batch'])
        _, loss = train_step(net, opt, torch.from_numpy(x[sl]), torch.from_numpy(y[sl]))
        losses.append(loss.item())
    open(d + '/after.bin', 'wb').write(convert.to_tfjs(net, spec['topology'], spec['manifest']))
    json.dump(losses, open(d + '/losses.json', 'w'))
`;
import { modelArtifacts } from '../../workers/ml/save-version';

interface Prepared {
  model: tf.LayersModel;
  sub: string;
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number];
  k: number;
}

describe.skipIf(!python)(`kit training steps, TF.js against PyTorch (${reason})`, () => {
  let dir: string;
  const prepared: Prepared[] = [];
  // Every case's initial weights and batches are written first, then one Python process (one
  // torch import) takes all of them.
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'kit-step-'));
    for (const { arch, optimizer, learningRate, steps = DEFAULT_STEPS } of CASES)
      prepared.push(await prepare(arch, optimizer, learningRate, steps));
    execFileSync(python!, ['-c', SCRIPT, ...prepared.map((p) => p.sub)], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: KIT_PYTHON_DIR, OMP_NUM_THREADS: '1' },
    });
  }, 180_000);
  afterAll(() => {
    prepared.forEach((p) => p.model.dispose());
    rmSync(dir, { recursive: true, force: true });
  });

  async function prepare(arch: ArchitectureConfig, optimizer: string, learningRate: number, steps: number): Promise<Prepared> {
    const model = buildModel(arch, 11);
    const { modelTopology: topology, weightSpecs: manifest, weightData: weights } = await modelArtifacts(model);
    const { inputSize: size, channels, numClasses: k } = arch as { inputSize: number; channels: number; numClasses: number };
    const per = size * size * channels;
    const rand = mulberry32(5);
    const x = new Float32Array(steps * BATCH * per).map(() => rand());
    const y = Int32Array.from({ length: steps * BATCH }, () => Math.floor(rand() * k));
    const sub = mkdtempSync(join(dir, `${arch.kind}-${optimizer}-`));
    const hp = { optimizer, learningRate, momentum: 0.9 };
    writeFileSync(
      join(sub, 'spec.json'),
      JSON.stringify({ arch, topology, manifest, hp, steps, batch: BATCH, xShape: [steps * BATCH, size, size, channels] }),
    );
    writeFileSync(join(sub, 'weights.bin'), new Uint8Array(weights));
    writeFileSync(join(sub, 'x.bin'), new Uint8Array(x.buffer));
    writeFileSync(join(sub, 'y.bin'), new Uint8Array(y.buffer));
    return { model, sub, x, y, shape: [size, size, channels], k };
  }

  CASES.forEach(({ arch, optimizer, steps = DEFAULT_STEPS }, index) => {
    it(`${arch.kind}, ${optimizer}: ${steps} steps give the same losses and weights`, async () => {
      const {
        model,
        sub,
        x,
        y,
        shape: [size, , channels],
        k,
      } = prepared[index];
      const per = x.length / (steps * BATCH);
      const { learningRate } = CASES[index];
      const theirLosses = JSON.parse(readFileSync(join(sub, 'losses.json'), 'utf8')) as number[];

      // The app: its own loop, one batch per step, in order (no shuffle, no augmentation, no dropout).
      const ours: number[] = [];
      const data: EpochData = {
        size: steps * BATCH,
        async *batches() {
          for (let i = 0; i < steps; i++) {
            yield {
              xs: tf.tensor4d(x.subarray(i * BATCH * per, (i + 1) * BATCH * per), [BATCH, size, size, channels]),
              ys: tf.oneHot(tf.tensor1d(y.subarray(i * BATCH, (i + 1) * BATCH), 'int32'), k).toFloat(),
            };
          }
        },
      };
      const opt = makeOptimizer(optimizer, learningRate, 0.9);
      await trainLoop(
        model,
        data,
        { epochs: 1, optimizer: opt, shouldStop: () => false, readEvery: 1, seed: 1 },
        {
          onBatch: ({ batch, loss }) => void (ours[batch] = loss * (batch + 1) - ours.slice(0, batch).reduce((a, b) => a + b, 0)),
        },
      );
      disposeOptimizer(opt);
      // onBatch reports running means; ours[] holds each step's own loss.
      for (let i = 0; i < steps; i++)
        expect(Math.abs(ours[i] - theirLosses[i]), `step ${i + 1}: app ${ours[i]}, kit ${theirLosses[i]}`).toBeLessThan(
          1e-4 * Math.max(1, Math.abs(ours[i])),
        );

      const after = new Float32Array(new Uint8Array(readFileSync(join(sub, 'after.bin'))).buffer);
      const mine = new Float32Array(model.getWeights().flatMap((w) => Array.from(w.dataSync())));
      const before = new Float32Array(new Uint8Array(readFileSync(join(sub, 'weights.bin'))).buffer);
      expect(after.length).toBe(mine.length);
      expect(before.length).toBe(mine.length);
      // The two engines' weights differ by under 1% of how far the steps moved them (L2 norms). Not
      // elementwise: Adam moves every weight by about the learning rate whatever its gradient's size,
      // so a gradient that is ~0 up to rounding may step either way in either engine.
      let diff = 0;
      let moved = 0;
      for (let i = 0; i < mine.length; i++) {
        diff += (mine[i] - after[i]) ** 2;
        moved += (mine[i] - before[i]) ** 2;
      }
      expect(moved).toBeGreaterThan(0);
      expect(Math.sqrt(diff / moved), `|w_app - w_kit| ${Math.sqrt(diff)}, |w_app - w_0| ${Math.sqrt(moved)}`).toBeLessThan(1e-2);
    }, 60_000);
  });
});
