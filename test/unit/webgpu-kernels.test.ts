// The WebGPU training kernels (src/lib/ml/webgpu-training) against TF.js's CPU backend, in Node
// with Dawn (the `webgpu` package): each replaced kernel on random shapes, strides and paddings,
// including the cases it hands back to the stock kernel; then gradients and one SGD step of the
// app's CNN and MobileNet-style models. Without a GPU, Dawn runs on SwiftShader (Debian's
// chromium package). When WebGPU cannot start this file fails (beforeAll throws) rather than
// passing without having run anything.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradsAndStep } from './model-step';
import type { ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { registerWebGpuTrainingKernels, unregisterWebGpuTrainingKernels, WEBGPU_TRAINING_KERNELS } from '../../src/lib/ml/webgpu-training';
import { installNodeWebGpu } from '../node-webgpu';

let adapter = '';

beforeAll(async () => {
  adapter = (await installNodeWebGpu()).description;
  await import('@tensorflow/tfjs-backend-webgpu');
  registerWebGpuTrainingKernels();
  expect(await tf.setBackend('webgpu'), `WebGPU backend failed to start on ${adapter}`).toBe(true);
}, 60_000);

afterAll(async () => {
  unregisterWebGpuTrainingKernels();
  await tf.setBackend('cpu');
});

const rand = mulberry32(11);
const randomArray = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

type Input = { shape: number[]; values: Float32Array | Int32Array; dtype?: 'float32' | 'int32' };

/** Runs one kernel on a backend from plain arrays and reads the result back. */
async function runOn(
  backend: 'cpu' | 'webgpu',
  kernel: string,
  inputs: Record<string, Input>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array | Int32Array }> {
  await tf.setBackend(backend);
  const tensors: tf.NamedTensorMap = {};
  for (const [name, input] of Object.entries(inputs)) tensors[name] = tf.tensor(input.values, input.shape, input.dtype ?? 'float32');
  const out = tf.engine().runKernel(kernel, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const values = (await out.data()) as Float32Array | Int32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(tensors)]);
  return { shape, values };
}

/** max |a - b| relative to max |b| (the reference). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 1e-6;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst / scale;
}

async function expectKernelMatchesCpu(
  kernel: string,
  inputs: Record<string, Input>,
  attrs: Record<string, unknown>,
  label: string,
  rtol = 1e-5,
): Promise<void> {
  const gpu = await runOn('webgpu', kernel, inputs, attrs);
  const cpu = await runOn('cpu', kernel, inputs, attrs);
  expect(gpu.shape, `${label}: shape`).toEqual(cpu.shape);
  expect(gpu.values.length, `${label}: length`).toBe(cpu.values.length);
  expect(relativeError(gpu.values, cpu.values), `${label}: relative error`).toBeLessThanOrEqual(rtol);
}

const randomInput = (shape: number[]): Input => ({ shape, values: randomArray(tf.util.sizeFromShape(shape)) });

/** NHWC output shape of a (depthwise) convolution of that geometry. */
function convOutShape(
  x: number[],
  filter: number[],
  strides: [number, number],
  dilations: [number, number],
  pad: unknown,
  depthwise: boolean,
): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filter as [number, number, number, number],
    strides,
    dilations,
    pad as 'same',
    undefined,
    depthwise,
  );
  return info.outShape;
}

describe('WebGPU training kernels match the CPU backend', () => {
  it('registers every replacement (idempotently)', () => {
    registerWebGpuTrainingKernels();
    for (const name of WEBGPU_TRAINING_KERNELS) expect(tf.getKernel(name, 'webgpu'), name).toBeTruthy();
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')).toHaveProperty('__trainyardWebGpuTraining', true);
  });

  it('Conv2DBackpropFilter: random shapes, strides and paddings (same, valid, explicit), NHWC; NCHW via the stock kernel', async () => {
    const cases: Array<{ x: number[]; filter: number[]; strides: [number, number]; pad: unknown; dataFormat?: 'NHWC' | 'NCHW' }> = [
      // The models' own shapes, scaled down: 3x3 'same' stems with 1 or 3 channels, pointwise 1x1, stride 2.
      { x: [8, 28, 28, 1], filter: [3, 3, 1, 16], strides: [1, 1], pad: 'same' },
      { x: [2, 32, 32, 3], filter: [3, 3, 3, 8], strides: [2, 2], pad: 'same' },
      { x: [4, 6, 6, 32], filter: [1, 1, 32, 64], strides: [1, 1], pad: 'same' },
      { x: [3, 7, 7, 16], filter: [1, 1, 16, 12], strides: [2, 2], pad: 'valid' },
      {
        x: [2, 9, 11, 4],
        filter: [2, 3, 4, 4],
        strides: [2, 1],
        pad: [
          [0, 0],
          [1, 2],
          [0, 1],
          [0, 0],
        ],
      },
      { x: [2, 3, 6, 5], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dataFormat: 'NCHW' },
    ];
    for (let i = 0; i < 10; i++) {
      const inC = pick([1, 2, 3, 4, 8, 12]);
      const outC = pick([1, 3, 4, 5, 8, 16]);
      const kh = int(1, 3);
      const kw = int(1, 3);
      const pad = pick(['same', 'valid', 'explicit'] as const);
      cases.push({
        x: [int(1, 3), int(kh, 12), int(kw, 12), inC],
        filter: [kh, kw, inC, outC],
        strides: [int(1, 3), int(1, 3)],
        pad:
          pad === 'explicit'
            ? [
                [0, 0],
                [int(0, 2), int(0, 2)],
                [int(0, 2), int(0, 2)],
                [0, 0],
              ]
            : pad,
      });
    }
    for (const c of cases) {
      const dataFormat = c.dataFormat ?? 'NHWC';
      const xNhwc = dataFormat === 'NHWC' ? c.x : [c.x[0], c.x[2], c.x[3], c.x[1]];
      const outShape = convOutShape(xNhwc, c.filter, c.strides, [1, 1], c.pad, false);
      const dyShape = dataFormat === 'NHWC' ? outShape : [outShape[0], outShape[3], outShape[1], outShape[2]];
      await expectKernelMatchesCpu(
        'Conv2DBackpropFilter',
        { x: randomInput(c.x), dy: randomInput(dyShape) },
        { strides: c.strides, pad: c.pad, dataFormat, dimRoundingMode: undefined, filterShape: c.filter },
        `Conv2DBackpropFilter ${JSON.stringify(c)}`,
      );
    }
  }, 60_000);

  it('DepthwiseConv2dNativeBackpropFilter and -Input: random shapes, strides, paddings; channel multiplier 2 and dilations (which TF.js ignores here) via the stock kernel', async () => {
    type Case = { x: number[]; filter: number[]; strides: [number, number]; dilations: [number, number]; pad: unknown };
    const cases: Case[] = [
      { x: [4, 24, 24, 16], filter: [3, 3, 16, 1], strides: [1, 1], dilations: [1, 1], pad: 'same' },
      { x: [4, 24, 24, 32], filter: [3, 3, 32, 1], strides: [2, 2], dilations: [1, 1], pad: 'same' },
      { x: [2, 13, 11, 6], filter: [3, 2, 6, 1], strides: [1, 1], dilations: [1, 1], pad: 'valid' },
      { x: [2, 13, 11, 6], filter: [3, 2, 6, 1], strides: [1, 1], dilations: [2, 2], pad: 'valid' }, // dilated: stock
      {
        x: [2, 9, 10, 8],
        filter: [2, 3, 8, 1],
        strides: [2, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [1, 0],
          [2, 1],
          [0, 0],
        ],
      },
      { x: [2, 8, 8, 4], filter: [3, 3, 4, 2], strides: [1, 1], dilations: [1, 1], pad: 'same' }, // multiplier 2: stock
    ];
    for (let i = 0; i < 6; i++) {
      const channels = pick([1, 3, 4, 8, 12]);
      const kh = int(1, 3);
      const kw = int(1, 3);
      const pad = pick(['same', 'valid', 'explicit'] as const);
      cases.push({
        x: [int(1, 4), int(kh, 16), int(kw, 16), channels],
        filter: [kh, kw, channels, 1],
        strides: [int(1, 3), int(1, 3)],
        dilations: [1, 1],
        pad:
          pad === 'explicit'
            ? [
                [0, 0],
                [int(0, 2), int(0, 2)],
                [int(0, 2), int(0, 2)],
                [0, 0],
              ]
            : pad,
      });
    }
    for (const c of cases) {
      const dy = randomInput(convOutShape(c.x, c.filter, c.strides, c.dilations, c.pad, true));
      const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: undefined };
      await expectKernelMatchesCpu(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: randomInput(c.x), dy },
        { ...attrs, filterShape: c.filter },
        `DepthwiseConv2dNativeBackpropFilter ${JSON.stringify(c)}`,
      );
      await expectKernelMatchesCpu(
        'DepthwiseConv2dNativeBackpropInput',
        { dy, filter: randomInput(c.filter) },
        { ...attrs, inputShape: c.x },
        `DepthwiseConv2dNativeBackpropInput ${JSON.stringify(c)}`,
      );
    }
  }, 60_000);

  it('Conv2D and FusedConv2D (bias, relu/relu6): random shapes, strides, paddings, dilations; more input channels via the stock kernel', async () => {
    type Case = {
      x: number[];
      filter: number[];
      strides: [number, number];
      dilations: [number, number];
      pad: unknown;
      bias?: boolean;
      activation?: string;
    };
    const cases: Case[] = [
      { x: [8, 28, 28, 1], filter: [3, 3, 1, 16], strides: [1, 1], dilations: [1, 1], pad: 'same', bias: true, activation: 'relu' },
      { x: [2, 32, 32, 3], filter: [3, 3, 3, 16], strides: [2, 2], dilations: [1, 1], pad: 'same', activation: 'linear' },
      { x: [2, 13, 11, 3], filter: [3, 2, 3, 5], strides: [1, 1], dilations: [2, 3], pad: 'valid', bias: true, activation: 'relu6' },
      {
        x: [2, 9, 10, 2],
        filter: [2, 2, 2, 8],
        strides: [2, 3],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [1, 0],
          [2, 1],
          [0, 0],
        ],
      },
      { x: [2, 8, 8, 8], filter: [3, 3, 8, 8], strides: [1, 1], dilations: [1, 1], pad: 'same', bias: true, activation: 'relu' }, // 8 channels: stock
      { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: [1, 1], dilations: [1, 1], pad: 'same', bias: true, activation: 'elu' }, // elu: stock
    ];
    for (let i = 0; i < 8; i++) {
      const inC = int(1, 4);
      const kh = int(1, 3);
      const kw = int(1, 3);
      const dilated = rand() < 0.3;
      const pad = pick(['same', 'valid', 'explicit'] as const);
      cases.push({
        x: [int(1, 3), int(2 * kh, 14), int(2 * kw, 14), inC],
        filter: [kh, kw, inC, pick([1, 3, 4, 8, 16])],
        strides: dilated ? [1, 1] : [int(1, 3), int(1, 3)],
        dilations: dilated ? [int(1, 2), int(1, 2)] : [1, 1],
        pad:
          pad === 'explicit'
            ? [
                [0, 0],
                [int(0, 2), int(0, 2)],
                [int(0, 2), int(0, 2)],
                [0, 0],
              ]
            : pad,
        bias: rand() < 0.5,
        activation: pick(['linear', 'relu', 'relu6']),
      });
    }
    for (const c of cases) {
      const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations, dimRoundingMode: undefined };
      const inputs = { x: randomInput(c.x), filter: randomInput(c.filter) };
      await expectKernelMatchesCpu('Conv2D', inputs, common, `Conv2D ${JSON.stringify(c)}`);
      const fusedInputs = c.bias ? { ...inputs, bias: randomInput([c.filter[3]]) } : inputs;
      await expectKernelMatchesCpu(
        'FusedConv2D',
        fusedInputs,
        { ...common, activation: c.activation ?? 'linear', leakyreluAlpha: 0.2 },
        `FusedConv2D ${JSON.stringify(c)}`,
      );
    }
  }, 60_000);

  it('Sum and Mean over leading or middle axes (split into chunks or not), keepDims; innermost or scattered axes and int32 via the stock kernel', async () => {
    const cases: Array<{ shape: number[]; axis: number[] | number; keepDims?: boolean; dtype?: 'int32' }> = [
      { shape: [32, 12, 12, 16], axis: [0, 1, 2] },
      { shape: [40, 12, 12, 3], axis: [0, 1, 2], keepDims: true },
      { shape: [2000, 4], axis: 0 },
      { shape: [700, 7], axis: [0] },
      { shape: [30, 5, 40], axis: [0, 1] },
      { shape: [5, 7], axis: [0] }, // small: stock
      { shape: [8, 6, 6, 64], axis: [1, 2] }, // global average pooling
      { shape: [6, 50, 3, 7], axis: [1, 2], keepDims: true },
      { shape: [7, 300, 5], axis: 1 },
      { shape: [4, 6, 8], axis: [1, 2] }, // innermost: stock
      { shape: [4, 6, 8], axis: [0, 2] }, // not a prefix: stock
      { shape: [4, 6, 8], axis: [0, 1, 2] }, // everything: stock
      { shape: [64, 8], axis: 0, dtype: 'int32' },
    ];
    for (let i = 0; i < 6; i++) {
      const rank = int(2, 4);
      const shape = Array.from({ length: rank }, () => int(1, 40));
      const first = int(0, rank - 2);
      cases.push({ shape, axis: Array.from({ length: int(1, rank - 1 - first) }, (_, k) => first + k), keepDims: rand() < 0.5 });
    }
    for (const c of cases) {
      const size = tf.util.sizeFromShape(c.shape);
      const x: Input =
        c.dtype === 'int32'
          ? { shape: c.shape, values: Int32Array.from({ length: size }, () => int(-9, 9)), dtype: 'int32' }
          : randomInput(c.shape);
      for (const kernel of c.dtype === 'int32' ? ['Sum'] : ['Sum', 'Mean']) {
        await expectKernelMatchesCpu(kernel, { x }, { axis: c.axis, keepDims: c.keepDims ?? false }, `${kernel} ${JSON.stringify(c)}`);
      }
    }
  }, 60_000);

  it('Multiply, Add, Sub, RealDiv with a per-channel vector on either side; other broadcasts via the stock kernel', async () => {
    const cases: Array<{ a: number[]; b: number[] }> = [
      { a: [8, 12, 12, 16], b: [16] },
      { a: [16], b: [8, 12, 12, 16] },
      { a: [4, 10, 10, 24], b: [1, 1, 1, 24] },
      { a: [1, 1, 24], b: [4, 10, 10, 24] },
      { a: [6, 20, 20, 3], b: [3] }, // C % 4 != 0
      { a: [3, 50, 50, 5], b: [1, 5] },
      { a: [2, 3, 3, 8], b: [8] }, // small: stock
      { a: [8, 12, 12, 16], b: [8, 12, 12, 16] }, // same shape: stock
      { a: [8, 12, 12, 16], b: [8, 1, 1, 16] }, // not per-channel: stock
      { a: [8, 12, 12, 16], b: [] }, // scalar: stock
    ];
    for (const c of cases) {
      for (const kernel of ['Multiply', 'Add', 'Sub', 'RealDiv']) {
        const b = randomInput(c.b);
        // Keep divisors away from zero so the relative error means something.
        if (kernel === 'RealDiv') b.values = b.values.map((v) => (v < 0 ? v - 0.5 : v + 0.5));
        await expectKernelMatchesCpu(kernel, { a: randomInput(c.a), b }, {}, `${kernel} ${JSON.stringify(c)}`);
      }
    }
  }, 60_000);
});

function expectTensorsClose(actual: Float32Array[], expected: Float32Array[], label: string, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(relativeError(actual[i], e), `${label} #${i}`).toBeLessThanOrEqual(rtol));
}

async function compareModel(config: ArchitectureConfig, n: number, seed: number): Promise<void> {
  if (config.kind === 'head') throw new Error('not an image model');
  // Its own random stream: the data does not depend on which kernel tests ran before.
  const rand = mulberry32(seed);
  const side = config.inputSize;
  const x = Float32Array.from({ length: n * side * side * config.channels }, () => rand());
  const y = new Float32Array(n * config.numClasses);
  for (let i = 0; i < n; i++) y[i * config.numClasses + Math.floor(rand() * config.numClasses)] = 1;
  const cpu = await gradsAndStep('cpu', config, null, { x, y }, n);
  const gpu = await gradsAndStep('webgpu', config, cpu.weights, { x, y }, n);
  expect(Math.abs(gpu.loss - cpu.loss), 'loss').toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.loss)));
  expectTensorsClose(gpu.grads, cpu.grads, `${config.kind} gradient`, 2e-3);
  expectTensorsClose(gpu.after, cpu.after, `${config.kind} weights after one SGD step`, 1e-3);
}

describe('training on webgpu (with the replacements) matches cpu', () => {
  it('small CNN (conv2d + bias + max pool + dense): gradients and one SGD step', async () => {
    await compareModel({ kind: 'cnn', inputSize: 12, channels: 1, numClasses: 4, dropout: 0, filters: 8 }, 8, 5);
  }, 60_000);

  it('depthwise-separable MobileNet-style net (batch norm, ReLU6, stride 2): gradients and one SGD step', async () => {
    // Batch 8, not 4: the last blocks are 1x1 maps, so batch norm's statistics come from the batch
    // alone, and with 4 samples some draws are so ill-conditioned that the stock WebGPU kernels
    // already miss the CPU gradients by several percent (float32 summation order).
    await compareModel({ kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 5, dropout: 0, widthMultiplier: 0.25 }, 8, 7);
  }, 120_000);
});

describe('coverage of the replacements', () => {
  it('compiled and ran every replacement program (the tests above did not only hit stock fallbacks)', () => {
    const backend = tf.findBackend('webgpu') as unknown as { pipelineCache: Record<string, unknown> };
    const keys = Object.keys(backend.pipelineCache);
    for (const prefix of [
      'trainyardConv2DBackpropFilter_',
      'trainyardDepthwiseBackpropFilter_',
      'trainyardDepthwiseBackpropInput_',
      'trainyardConv2DDirect_',
      'trainyardColumnSums_',
      'trainyardSumChunks_',
      'trainyardChannelBinary_',
    ]) {
      expect(
        keys.some((k) => k.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
  });
});
