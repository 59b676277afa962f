import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  DEFAULT_CNN,
  defaultArchitecture,
  describeArchitecture,
  scaledFilters,
  validateArchitecture,
  type ArchitectureConfig,
} from '../../src/lib/ml/architectures';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Builds, predicts a batch of 2, checks the output and that nothing leaks; returns the param count. */
function check(config: ArchitectureConfig): number {
  const before = tf.memory().numTensors;
  const model = buildModel(config, 123);
  const params = model.countParams();
  const inputShape = config.kind === 'head' ? [2, config.embeddingSize] : [2, config.inputSize, config.inputSize, config.channels];
  const out = tf.tidy(() => {
    const y = model.predict(tf.randomUniform(inputShape, 0, 1, 'float32', 1)) as tf.Tensor;
    return [y.shape, Array.from(y.sum(-1).dataSync())] as const;
  });
  expect(out[0]).toEqual([2, config.numClasses]);
  for (const s of out[1]) expect(s).toBeCloseTo(1, 4); // softmax rows
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return params;
}

describe('architectures', () => {
  it('builds the default CNN with a sensible size', () => {
    const params = check(DEFAULT_CNN);
    // conv 3*3*1*16+16, conv 3*3*16*32+32, dense 7*7*32*64+64, dense 64*10+10
    expect(params).toBe(160 + 4640 + 100416 + 650);
    expect(describeArchitecture(DEFAULT_CNN)).toMatch(/CNN.*28×28×1.*10 classes/);
  });

  it('CNN adds conv blocks for larger input so Flatten stays small', () => {
    const params = check({ kind: 'cnn', inputSize: 96, channels: 3, numClasses: 4, dropout: 0.1, filters: 8 });
    expect(params).toBeLessThan(100_000);
    expect(describeArchitecture({ kind: 'cnn', inputSize: 96, channels: 3, numClasses: 4, dropout: 0 })).toMatch(/4 conv blocks/);
  });

  it('builds MobileNet-style models at 32 and 96 px', () => {
    const small = check({ kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 5, dropout: 0.2, widthMultiplier: 0.25 });
    const wide = check({ kind: 'mobilenet', inputSize: 96, channels: 1, numClasses: 3, dropout: 0, widthMultiplier: 0.5 });
    expect(small).toBeGreaterThan(100_000);
    expect(small).toBeLessThan(wide);
  });

  it('MobileNet at 224 px keeps a 7x7 map; at 32 px never goes below 2x2', () => {
    for (const [size, spatial] of [
      [224, 7],
      [32, 2],
    ] as const) {
      const model = buildModel({ kind: 'mobilenet', inputSize: size, channels: 3, numClasses: 2, dropout: 0, widthMultiplier: 0.25 }, 1);
      const gap = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D')!;
      expect((gap.input as tf.SymbolicTensor).shape.slice(1, 3)).toEqual([spatial, spatial]);
      expect(model.outputs[0].shape).toEqual([null, 2]);
      model.dispose();
    }
    expect(scaledFilters(32, 0.25)).toBe(8);
    expect(scaledFilters(1024, 0.75)).toBe(768);
  });

  it('builds an MLP and a transfer head', () => {
    expect(check({ kind: 'mlp', inputSize: 8, channels: 1, numClasses: 2, dropout: 0.2, hidden: [16, 8] })).toBe(
      64 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2,
    );
    expect(check({ kind: 'head', embeddingSize: 32, numClasses: 3, dropout: 0, hidden: 0 })).toBe(32 * 3 + 3);
    expect(check({ ...(defaultArchitecture('head', 4, 64) as ArchitectureConfig) })).toBe(64 * 100 + 100 + 100 * 4 + 4);
  });

  it('is reproducible from the seed, and layers get distinct seeds', () => {
    const cfg: ArchitectureConfig = { kind: 'mlp', inputSize: 4, channels: 1, numClasses: 3, dropout: 0, hidden: [16, 16] };
    const before = tf.memory().numTensors;
    const [a, b, c] = [buildModel(cfg, 7), buildModel(cfg, 7), buildModel(cfg, 8)];
    const kernels = (m: tf.LayersModel) =>
      m
        .getWeights()
        .filter((w) => w.shape.length === 2)
        .map((w) => Array.from(w.dataSync()));
    expect(kernels(a)).toEqual(kernels(b));
    expect(kernels(a)).not.toEqual(kernels(c));
    const [k1, k2] = kernels(a);
    expect(k1).not.toEqual(k2); // same shape, distinct seeds
    [a, b, c].forEach((m) => m.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates configs and refuses to build invalid ones', () => {
    const mn = defaultArchitecture('mobilenet', 3) as Extract<ArchitectureConfig, { kind: 'mobilenet' }>;
    expect(validateArchitecture(mn)).toBeNull();
    expect(validateArchitecture({ ...mn, inputSize: 16 })).toMatch(/32 to 224/);
    expect(validateArchitecture({ ...mn, inputSize: 256 })).toMatch(/32 to 224/);
    expect(validateArchitecture({ ...mn, widthMultiplier: 1.5 })).toMatch(/width multiplier/);
    expect(validateArchitecture({ ...mn, numClasses: 1 })).toMatch(/classes/);
    expect(validateArchitecture({ ...mn, dropout: 1 })).toMatch(/Dropout/);
    expect(validateArchitecture({ kind: 'mlp', inputSize: 8, channels: 1, numClasses: 2, dropout: 0, hidden: [0] })).toMatch(/hidden/);
    expect(() => buildModel({ ...mn, numClasses: 1 }, 1)).toThrow(/classes/);
    for (const kind of ['cnn', 'mobilenet', 'mlp', 'head'] as const) {
      const d = defaultArchitecture(kind, 2);
      expect(validateArchitecture(d)).toBeNull();
      expect(describeArchitecture(d).length).toBeGreaterThan(10);
    }
  });
});
