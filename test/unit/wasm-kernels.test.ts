// The WASM backend's training kernels (src/lib/ml/wasm-training) against TF.js's CPU backend,
// kernel by kernel, on random shapes, strides, paddings, channels and batch sizes; dilated
// depthwise kernels against a float64 reference (TF.js's CPU kernels ignore dilations there).
// Every case runs twice: with the WebAssembly SIMD inner loops and with the JS fallbacks.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/lib/ml/random';
import {
  registerWasmTrainingKernels,
  setFilterGradPath,
  setScratchLimit,
  setSimdKernelsEnabled,
  unregisterWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
} from '../../src/lib/ml/wasm-training';
import { buildKernelModule, simdKernelsFor } from '../../src/lib/ml/wasm-training/simd-kernels';
import { im2colTransposed } from '../../src/lib/ml/wasm-training/conv2d-grads';
import { convGeometry } from '../../src/lib/ml/wasm-training/geometry';
import { maxPoolGradInto } from '../../src/lib/ml/wasm-training/maxpool-grad';

type Attrs = Record<string, unknown>;
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

beforeAll(async () => {
  setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.setBackend('cpu');
}, 60_000);

afterAll(async () => {
  setSimdKernelsEnabled(true);
  await tf.setBackend('cpu');
});

const rand = mulberry32(20261127);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const randomData = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs one kernel on one backend from plain arrays; checks it left no tensor behind. */
async function runKernel(
  backend: 'cpu' | 'wasm',
  name: string,
  inputs: Record<string, [Float32Array, number[]]>,
  attrs: Attrs,
): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const b = tf.backend() as { numDataIds(): number };
  const ids = b.numDataIds();
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, [v, s]]) => [k, tf.tensor(v, s)]));
  const out = tf.engine().runKernel(name, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { values: (await out.data()) as Float32Array, shape: out.shape };
  out.dispose();
  Object.values(tensors).forEach((t) => t.dispose());
  expect(b.numDataIds(), `${backend} ${name} leaked heap tensors`).toBe(ids);
  return result;
}

function expectClose(
  actual: { values: Float32Array; shape: number[] },
  expected: { values: ArrayLike<number>; shape: number[] },
  label: string,
  rtol = 1e-4,
): void {
  expect(actual.shape, label).toEqual(expected.shape);
  let scale = 1e-6;
  for (let i = 0; i < expected.values.length; i++) scale = Math.max(scale, Math.abs(expected.values[i]));
  let worst = 0;
  for (let i = 0; i < expected.values.length; i++) worst = Math.max(worst, Math.abs(actual.values[i] - expected.values[i]));
  expect(worst / scale, `${label}: max error ${worst} (scale ${scale})`).toBeLessThanOrEqual(rtol);
}

async function compareWithCpu(name: string, inputs: Record<string, [Float32Array, number[]]>, attrs: Attrs, label: string): Promise<void> {
  const expected = await runKernel('cpu', name, inputs, attrs);
  for (const simd of [true, false]) {
    setSimdKernelsEnabled(simd);
    expectClose(await runKernel('wasm', name, inputs, attrs), expected, `${label} simd=${simd}`);
  }
  setSimdKernelsEnabled(true);
}

/** Output size of a conv/pool along one axis, as TF.js computes it (used to shape dy). */
function outShapeOf(
  inShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
  dilations: number | [number, number],
  depthwise: boolean,
  rounding?: 'floor' | 'round' | 'ceil',
): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    rounding,
    depthwise,
  );
  return info.outShape;
}

const explicitPad = (): Pad => [
  [0, 0],
  [int(0, 2), int(0, 2)],
  [int(0, 2), int(0, 2)],
  [0, 0],
];
const PADS: Array<() => Pad> = [() => 'same', () => 'valid', explicitPad, () => int(0, 2)];
const STRIDES: Array<number | [number, number]> = [1, 2, [1, 2], [2, 1]];

interface ConvCase {
  xShape: number[];
  filterShape: number[];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dyShape: number[];
}

/** A random conv case whose output is non-empty. */
function convCase(
  strides: number | [number, number],
  makePad: () => Pad,
  depthwise: boolean,
  dilations: number | [number, number] = 1,
  channels?: number,
): ConvCase {
  for (;;) {
    const inC = channels ?? pick([1, 2, 3, 4, 8]);
    const xShape = [int(1, 3), int(3, 9), int(3, 9), inC];
    const filterShape = [int(1, 4), int(1, 4), inC, depthwise ? pick([1, 1, 2]) : int(1, 6)];
    const pad = makePad();
    const dimRoundingMode = typeof pad === 'number' ? pick(['floor', 'round', 'ceil'] as const) : undefined;
    const dyShape = outShapeOf(xShape, filterShape, strides, pad, dilations, depthwise, dimRoundingMode);
    if (dyShape[1] >= 1 && dyShape[2] >= 1) return { xShape, filterShape, strides, pad, dimRoundingMode, dyShape };
  }
}

const describeCase = (c: ConvCase, extra = '') =>
  `x ${c.xShape} w ${c.filterShape} s ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)} ${c.dimRoundingMode ?? ''}${extra}`;

describe('registration', () => {
  it('adds the missing training kernels and replaces the slow ones, idempotently', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    for (const name of [...WASM_TRAINING_KERNELS.added, ...WASM_TRAINING_KERNELS.replaced])
      expect(tf.getKernel(name, 'wasm'), name).toBeTruthy();
  });

  it('restores the stock kernels when unregistered', () => {
    const stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm');
    unregisterWasmTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('MaxPoolGrad', 'wasm')).not.toBe(stockMaxPoolGrad);
    registerWasmTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeTruthy();
  });

  it('assembles a valid WebAssembly SIMD module for plain and shared memories', () => {
    expect(WebAssembly.validate(buildKernelModule(false) as BufferSource)).toBe(true);
    expect(WebAssembly.validate(buildKernelModule(true) as BufferSource)).toBe(true);
  });

  it('runs against a shared memory (the threaded build) like the JS loops', () => {
    // The threaded WASM binary cannot start in Node; its memory is a shared WebAssembly.Memory
    // with a 4 GiB maximum, which the module must import. Same kernels, same results.
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
    const k = simdKernelsFor(memory);
    expect(k).not.toBeNull();
    const heap = new Float32Array(memory.buffer);
    const g = convGeometry([2, 7, 6, 4], [3, 2, 4, 5], [2, 1], 1, 'same', undefined, false);
    const x = randomData(2 * 7 * 6 * 4);
    const rows = 2 * g.outH * g.outW;
    const xAt = 64; // float offsets in the shared heap
    const colsAt = xAt + x.length + 16;
    heap.set(x, xAt);
    k!.im2colT(
      xAt * 4,
      colsAt * 4,
      0,
      2,
      g.inH,
      g.inW,
      g.inC,
      g.outH,
      g.outW,
      g.kH,
      g.kW,
      g.strideH,
      g.strideW,
      g.dilationH,
      g.dilationW,
      g.padTop,
      g.padLeft,
    );
    const cols = new Float32Array(3 * 2 * 4 * rows);
    im2colTransposed(x, g, 0, 2, cols);
    expect(Array.from(heap.subarray(colsAt, colsAt + cols.length))).toEqual(Array.from(cols));

    const pool = { batch: 2, inH: 7, inW: 6, channels: 4, outH: 4, outW: 3, kH: 2, kW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 };
    const dy = randomData(2 * 4 * 3 * 4);
    const dyAt = colsAt + cols.length + 16;
    const dxAt = dyAt + dy.length + 16;
    heap.set(dy, dyAt);
    k!.maxPoolGradSimd(xAt * 4, dyAt * 4, dxAt * 4, 2, 7, 6, 4, 4, 3, 2, 2, 2, 2, 0, 0);
    const dx = new Float32Array(x.length);
    maxPoolGradInto(x, dy, pool, dx);
    expect(Array.from(heap.subarray(dxAt, dxAt + dx.length))).toEqual(Array.from(dx));
  });
});

describe('Conv2DBackpropFilter on wasm equals cpu', () => {
  for (const strides of STRIDES) {
    for (const makePad of PADS) {
      it(`strides ${JSON.stringify(strides)}, pad ${makePad.name || String(makePad())}`, async () => {
        for (let rep = 0; rep < 3; rep++) {
          const c = convCase(strides, makePad, false);
          await compareWithCpu(
            'Conv2DBackpropFilter',
            { x: [randomData(size(c.xShape)), c.xShape], dy: [randomData(size(c.dyShape)), c.dyShape] },
            { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode, filterShape: c.filterShape },
            describeCase(c),
          );
        }
      });
    }
  }

  it('both strategies (direct SIMD GEMM and XNNPACK GEMM) on outC % 4 == 0', async () => {
    try {
      for (const path of ['direct', 'xnnpack'] as const) {
        setFilterGradPath(path);
        for (const [strides, makePad] of [
          [1, () => 'same'],
          [2, () => 'valid'],
          [[2, 1], explicitPad],
          [1, () => 'valid'],
        ] as Array<[number | [number, number], () => Pad]>) {
          const c = convCase(strides, makePad, false);
          c.filterShape[3] = pick([4, 8, 12]);
          c.dyShape[3] = c.filterShape[3];
          await compareWithCpu(
            'Conv2DBackpropFilter',
            { x: [randomData(size(c.xShape)), c.xShape], dy: [randomData(size(c.dyShape)), c.dyShape] },
            { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filterShape },
            describeCase(c, ` ${path}`),
          );
        }
        // 1x1, stride 1, unpadded: x itself is the im2col.
        const xShape = [3, 5, 4, int(1, 9)];
        const filterShape = [1, 1, xShape[3], 8];
        const dyShape = [3, 5, 4, 8];
        await compareWithCpu(
          'Conv2DBackpropFilter',
          { x: [randomData(size(xShape)), xShape], dy: [randomData(size(dyShape)), dyShape] },
          { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape },
          `pointwise ${xShape} ${path}`,
        );
      }
    } finally {
      setFilterGradPath('auto');
    }
  });

  it('NCHW', async () => {
    const c = convCase(2, () => 'same', false);
    const [n, h, w, ch] = c.xShape;
    const [, oh, ow, oc] = c.dyShape;
    await compareWithCpu(
      'Conv2DBackpropFilter',
      { x: [randomData(size(c.xShape)), [n, ch, h, w]], dy: [randomData(size(c.dyShape)), [n, oc, oh, ow]] },
      { strides: c.strides, pad: c.pad, dataFormat: 'NCHW', filterShape: c.filterShape },
      describeCase(c, ' NCHW'),
    );
  });

  it('in batch chunks when the columns exceed the scratch limit', async () => {
    setScratchLimit(64);
    try {
      for (const strides of [1, 2] as const) {
        const c = convCase(strides, () => 'same', false);
        c.xShape[0] = 3;
        c.dyShape[0] = 3;
        await compareWithCpu(
          'Conv2DBackpropFilter',
          { x: [randomData(size(c.xShape)), c.xShape], dy: [randomData(size(c.dyShape)), c.dyShape] },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filterShape },
          describeCase(c, ' chunked'),
        );
      }
    } finally {
      setScratchLimit(1 << 22);
    }
  });

  it('the small CNN layer shapes (28x28x1 and 14x14x16, batch 64)', async () => {
    for (const [xShape, co] of [
      [[64, 28, 28, 1], 16],
      [[64, 14, 14, 16], 32],
    ] as const) {
      const dyShape = [xShape[0], xShape[1], xShape[2], co];
      await compareWithCpu(
        'Conv2DBackpropFilter',
        { x: [randomData(size([...xShape])), [...xShape]], dy: [randomData(size(dyShape)), dyShape] },
        { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, xShape[3], co] },
        `cnn ${xShape}`,
      );
    }
  }, 120_000);
});

describe('Conv2DBackpropInput on wasm equals cpu', () => {
  for (const strides of STRIDES) {
    for (const makePad of PADS) {
      it(`strides ${JSON.stringify(strides)}, pad ${makePad.name || String(makePad())}`, async () => {
        for (let rep = 0; rep < 3; rep++) {
          const c = convCase(strides, makePad, false);
          await compareWithCpu(
            'Conv2DBackpropInput',
            { dy: [randomData(size(c.dyShape)), c.dyShape], filter: [randomData(size(c.filterShape)), c.filterShape] },
            { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode, inputShape: c.xShape },
            describeCase(c),
          );
        }
      });
    }
  }

  it('explicit padding wider than the kernel (general path at stride 1)', async () => {
    const xShape = [2, 5, 6, 3];
    const filterShape = [2, 2, 3, 4];
    const pad: Pad = [
      [0, 0],
      [3, 2],
      [2, 3],
      [0, 0],
    ];
    const dyShape = outShapeOf(xShape, filterShape, 1, pad, 1, false);
    await compareWithCpu(
      'Conv2DBackpropInput',
      { dy: [randomData(size(dyShape)), dyShape], filter: [randomData(size(filterShape)), filterShape] },
      { strides: 1, pad, dataFormat: 'NHWC', inputShape: xShape },
      'wide explicit pad',
    );
  });

  it('in batch chunks (stride 2, tiny scratch limit)', async () => {
    setScratchLimit(64);
    try {
      const c = convCase(2, () => 'same', false);
      c.xShape[0] = 3;
      c.dyShape[0] = 3;
      await compareWithCpu(
        'Conv2DBackpropInput',
        { dy: [randomData(size(c.dyShape)), c.dyShape], filter: [randomData(size(c.filterShape)), c.filterShape] },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.xShape },
        describeCase(c, ' chunked'),
      );
    } finally {
      setScratchLimit(1 << 22);
    }
  });

  it('NCHW (stock kernel)', async () => {
    const c = convCase(1, () => 'same', false);
    const [n, h, w, ch] = c.xShape;
    const [, oh, ow, oc] = c.dyShape;
    await compareWithCpu(
      'Conv2DBackpropInput',
      { dy: [randomData(size(c.dyShape)), [n, oc, oh, ow]], filter: [randomData(size(c.filterShape)), c.filterShape] },
      { strides: c.strides, pad: c.pad, dataFormat: 'NCHW', inputShape: [n, ch, h, w] },
      describeCase(c, ' NCHW'),
    );
  });
});

describe('depthwise gradients on wasm equal cpu', () => {
  for (const strides of [1, 2, [1, 2]] as Array<number | [number, number]>) {
    for (const makePad of PADS) {
      it(`strides ${JSON.stringify(strides)}, pad ${makePad.name || String(makePad())}`, async () => {
        for (let rep = 0; rep < 3; rep++) {
          const c = convCase(strides, makePad, true);
          const x: [Float32Array, number[]] = [randomData(size(c.xShape)), c.xShape];
          const dy: [Float32Array, number[]] = [randomData(size(c.dyShape)), c.dyShape];
          const filter: [Float32Array, number[]] = [randomData(size(c.filterShape)), c.filterShape];
          const common = { strides: c.strides, pad: c.pad, dilations: 1, dimRoundingMode: c.dimRoundingMode };
          await compareWithCpu(
            'DepthwiseConv2dNativeBackpropFilter',
            { x, dy },
            { ...common, filterShape: c.filterShape },
            describeCase(c, ' filter'),
          );
          await compareWithCpu(
            'DepthwiseConv2dNativeBackpropInput',
            { dy, filter },
            { ...common, inputShape: c.xShape },
            describeCase(c, ' input'),
          );
        }
      });
    }
  }

  it('MobileNet-like shapes (channels multiple of 4, multiplier 1)', async () => {
    for (const [xShape, s] of [
      [[4, 12, 12, 16], 1],
      [[4, 12, 12, 16], 2],
      [[2, 7, 7, 32], 1],
    ] as const) {
      const filterShape = [3, 3, xShape[3], 1];
      const dyShape = outShapeOf([...xShape], filterShape, s, 'same', 1, true);
      const x: [Float32Array, number[]] = [randomData(size([...xShape])), [...xShape]];
      const dy: [Float32Array, number[]] = [randomData(size(dyShape)), dyShape];
      const filter: [Float32Array, number[]] = [randomData(size(filterShape)), filterShape];
      await compareWithCpu(
        'DepthwiseConv2dNativeBackpropFilter',
        { x, dy },
        { strides: s, pad: 'same', dilations: 1, filterShape },
        `${xShape} s${s} filter`,
      );
      await compareWithCpu(
        'DepthwiseConv2dNativeBackpropInput',
        { dy, filter },
        { strides: s, pad: 'same', dilations: 1, inputShape: [...xShape] },
        `${xShape} s${s} input`,
      );
    }
  });
});

/** float64 reference of both depthwise gradients, with dilations (from the definition). */
function depthwiseReference(
  x: Float32Array,
  xShape: number[],
  dy: Float32Array,
  w: Float32Array,
  filterShape: number[],
  c: ConvCase,
  dilations: [number, number],
) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    c.strides,
    dilations,
    c.pad,
    c.dimRoundingMode,
    true,
  );
  const [n, h, wd, ch] = xShape;
  const [kh, kw, , mult] = filterShape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const dW = new Float64Array(size(filterShape));
  const dX = new Float64Array(size(xShape));
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const ih = r * sh + i * dilations[0] - top;
            const iw = q * sw + j * dilations[1] - left;
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            for (let cc = 0; cc < ch; cc++)
              for (let m = 0; m < mult; m++) {
                const g = dy[((b * oh + r) * ow + q) * ch * mult + cc * mult + m];
                const xi = ((b * h + ih) * wd + iw) * ch + cc;
                const wi = ((i * kw + j) * ch + cc) * mult + m;
                dW[wi] += x[xi] * g;
                dX[xi] += w[wi] * g;
              }
          }
  return { dW, dX };
}

describe('dilated depthwise gradients on wasm equal a float64 reference', () => {
  for (const makePad of PADS) {
    for (const dilations of [
      [2, 2],
      [1, 2],
      [2, 1],
    ] as Array<[number, number]>) {
      it(`dilations ${dilations}, pad ${makePad.name || String(makePad())}`, async () => {
        for (let rep = 0; rep < 3; rep++) {
          const c = convCase(1, makePad, true, dilations);
          const xv = randomData(size(c.xShape));
          const dyv = randomData(size(c.dyShape));
          const wv = randomData(size(c.filterShape));
          const ref = depthwiseReference(xv, c.xShape, dyv, wv, c.filterShape, c, dilations);
          const common = { strides: 1, pad: c.pad, dilations, dimRoundingMode: c.dimRoundingMode };
          for (const simd of [true, false]) {
            setSimdKernelsEnabled(simd);
            const label = describeCase(c, ` d${dilations} simd=${simd}`);
            expectClose(
              await runKernel(
                'wasm',
                'DepthwiseConv2dNativeBackpropFilter',
                { x: [xv, c.xShape], dy: [dyv, c.dyShape] },
                { ...common, filterShape: c.filterShape },
              ),
              { values: ref.dW, shape: c.filterShape },
              `${label} filter`,
            );
            expectClose(
              await runKernel(
                'wasm',
                'DepthwiseConv2dNativeBackpropInput',
                { dy: [dyv, c.dyShape], filter: [wv, c.filterShape] },
                { ...common, inputShape: c.xShape },
              ),
              { values: ref.dX, shape: c.xShape },
              `${label} input`,
            );
          }
          setSimdKernelsEnabled(true);
        }
      });
    }
  }

  it('the reference agrees with the cpu backend at dilation 1', async () => {
    const c = convCase(2, () => 'same', true);
    const xv = randomData(size(c.xShape));
    const dyv = randomData(size(c.dyShape));
    const wv = randomData(size(c.filterShape));
    const ref = depthwiseReference(xv, c.xShape, dyv, wv, c.filterShape, c, [1, 1]);
    const common = { strides: c.strides, pad: c.pad, dilations: 1 };
    expectClose(
      await runKernel(
        'cpu',
        'DepthwiseConv2dNativeBackpropFilter',
        { x: [xv, c.xShape], dy: [dyv, c.dyShape] },
        { ...common, filterShape: c.filterShape },
      ),
      { values: ref.dW, shape: c.filterShape },
      'cpu filter',
    );
    expectClose(
      await runKernel(
        'cpu',
        'DepthwiseConv2dNativeBackpropInput',
        { dy: [dyv, c.dyShape], filter: [wv, c.filterShape] },
        { ...common, inputShape: c.xShape },
      ),
      { values: ref.dX, shape: c.xShape },
      'cpu input',
    );
  });
});

describe('MaxPoolGrad on wasm equals cpu', () => {
  for (const [filterSize, strides] of [
    [2, 2],
    [2, 1],
    [3, 2],
    [3, 1],
    [
      [2, 3],
      [1, 2],
    ],
    [3, 3],
  ] as Array<[number | [number, number], number | [number, number]]>) {
    for (const pad of ['same', 'valid', 1] as const) {
      it(`filter ${JSON.stringify(filterSize)}, strides ${JSON.stringify(strides)}, pad ${pad}`, async () => {
        for (let rep = 0; rep < 3; rep++) {
          const shape = [int(1, 3), int(3, 9), int(3, 9), pick([1, 3, 4, 8])];
          const info = tf.backend_util.computePool2DInfo(
            shape as [number, number, number, number],
            filterSize,
            strides,
            1,
            pad,
            pad === 1 ? 'floor' : undefined,
          );
          if (info.outHeight < 1 || info.outWidth < 1) continue;
          // Coarse values (many ties, like ReLU zeros) check that ties go to the first maximum.
          const x = Float32Array.from({ length: size(shape) }, () =>
            rep === 0 ? Math.max(0, Math.round(rand() * 4 - 2)) : rand() * 2 - 1,
          );
          await compareWithCpu(
            'MaxPoolGrad',
            {
              dy: [randomData(size(info.outShape)), info.outShape],
              input: [x, shape],
              output: [new Float32Array(size(info.outShape)), info.outShape],
            },
            { filterSize, strides, pad, dimRoundingMode: pad === 1 ? 'floor' : undefined },
            `x ${shape} rep ${rep}`,
          );
        }
      });
    }
  }
});

describe('BatchMatMul with transposed operands on wasm equals cpu', () => {
  for (const [transposeA, transposeB] of [
    [true, false],
    [false, true],
    [true, true],
    [false, false],
  ]) {
    it(`transposeA ${transposeA}, transposeB ${transposeB}`, async () => {
      for (const batch of [[], [1], [3], [], [1]]) {
        // n % 4 == 0 takes the SIMD GEMM for aᵀ·b; other n the transpose + XNNPACK path.
        const [m, k, n] = [int(1, 40), int(1, 40), pick([int(1, 40), 4 * int(1, 10)])];
        const aShape = [...batch, ...(transposeA ? [k, m] : [m, k])];
        const bShape = [...batch, ...(transposeB ? [n, k] : [k, n])];
        await compareWithCpu(
          'BatchMatMul',
          { a: [randomData(size(aShape)), aShape], b: [randomData(size(bShape)), bShape] },
          { transposeA, transposeB },
          `a ${aShape} b ${bShape}`,
        );
      }
    });
  }
});

describe('Sum, Mean and Tile on wasm equal cpu', () => {
  const shapes = [
    [4, 5, 6, 8],
    [3, 7, 5],
    [2, 3, 4, 5, 3],
    [10, 6],
    [3, 9, 2, 7],
  ];
  for (const name of ['Sum', 'Mean']) {
    it(`${name} over every kind of axis set`, async () => {
      for (const shape of shapes) {
        const rank = shape.length;
        const axisSets: Array<number | number[]> = [
          0,
          [0, 1],
          Array.from({ length: rank - 1 }, (_, i) => i),
          rank - 1,
          [rank - 2, rank - 1],
          Array.from({ length: rank }, (_, i) => i),
          [0, rank - 1],
          [1, 0],
          -rank,
        ];
        for (const axis of axisSets) {
          for (const keepDims of [false, true]) {
            await compareWithCpu(
              name,
              { x: [randomData(size(shape)), shape] },
              { axis, keepDims },
              `${name} ${shape} axis ${JSON.stringify(axis)} keepDims ${keepDims}`,
            );
          }
        }
      }
    });
  }

  it('Sum over the batch of a large gradient stays accurate (float64 accumulation)', async () => {
    const shape = [64, 24, 24, 12];
    const x = Float32Array.from({ length: size(shape) }, () => 1 + rand() * 1e-3);
    await compareWithCpu('Sum', { x: [x, shape] }, { axis: [0, 1, 2], keepDims: false }, 'large sum');
  });

  it('Tile with any reps (float32, int32, bool)', async () => {
    const cases: Array<[number[], number[]]> = [
      [
        [1, 1, 1, 8],
        [3, 4, 5, 1],
      ],
      [
        [2, 3],
        [2, 2],
      ],
      [
        [3, 1, 2],
        [1, 4, 1],
      ],
      [
        [2, 3, 4],
        [1, 1, 1],
      ],
      [
        [1, 2, 1, 3],
        [2, 1, 3, 2],
      ],
      [[5], [3]],
    ];
    for (const [shape, reps] of cases) {
      await compareWithCpu('Tile', { x: [randomData(size(shape)), shape] }, { reps }, `Tile ${shape} x ${reps}`);
      for (const dtype of ['int32', 'bool'] as const) {
        const values = Array.from({ length: size(shape) }, () => int(0, dtype === 'bool' ? 1 : 100));
        const results: number[][] = [];
        for (const backend of ['cpu', 'wasm'] as const) {
          await tf.setBackend(backend);
          const t = tf.tensor(values, shape, dtype);
          const out = tf.tile(t, reps);
          results.push(Array.from(await out.data()));
          t.dispose();
          out.dispose();
        }
        expect(results[1], `Tile ${dtype} ${shape} x ${reps}`).toEqual(results[0]);
      }
    }
  });
});

describe('element-wise kernels on wasm equal cpu', () => {
  const pairs: Array<[number[], number[]]> = [
    [
      [4, 5, 6, 8],
      [4, 5, 6, 8],
    ],
    [[], [4, 5, 6, 8]],
    [[3, 7, 5], [1]],
    [[4, 5, 6, 8], [8]],
    [
      [1, 1, 1, 8],
      [4, 5, 6, 8],
    ],
    [
      [2, 3, 5],
      [3, 5],
    ],
    [[2, 3, 5], [5]],
    [
      [1, 7],
      [3, 7],
    ],
    [
      [3, 1, 5],
      [3, 4, 5],
    ], // middle-axis broadcast: stock kernel
    [[7], [7]],
  ];
  for (const name of ['Minimum', 'Maximum', 'Greater', 'GreaterEqual', 'Less', 'LessEqual']) {
    it(name, async () => {
      for (const [sa, sb] of pairs) {
        for (const [aShape, bShape] of [
          [sa, sb],
          [sb, sa],
        ]) {
          // Coarse values make ties; a NaN checks propagation (min/max) and comparisons with NaN.
          // (The middle-axis case runs the stock kernel: no NaN or -0 there, see below.)
          const stockCase = aShape.length === 3 && bShape.length === 3 && (aShape[1] === 1 || bShape[1] === 1);
          const coarse = (n: number) =>
            Float32Array.from({ length: n }, (_, i) => (i === 1 && !stockCase ? NaN : Math.round(rand() * 6 - 3) / 2 + 0));
          const inputs = {
            a: [coarse(size(aShape)), aShape] as [Float32Array, number[]],
            b: [coarse(size(bShape)), bShape] as [Float32Array, number[]],
          };
          const expected = await runKernel('cpu', name, inputs, {});
          // Without SIMD Minimum/Maximum fall back to the stock kernel, which (unlike the CPU
          // backend and TF) drops a NaN in b and ignores the sign of zero: not checked here.
          for (const simd of name === 'Minimum' || name === 'Maximum' ? [true] : [true, false]) {
            setSimdKernelsEnabled(simd);
            const actual = await runKernel('wasm', name, inputs, {});
            expect(actual.shape, `${name} ${aShape} ${bShape}`).toEqual(expected.shape);
            expect(Array.from(actual.values), `${name} ${aShape} ${bShape} simd=${simd}`).toEqual(Array.from(expected.values));
          }
          setSimdKernelsEnabled(true);
        }
      }
    });
  }

  it('int32 comparisons and minimum go to the stock kernel unchanged', async () => {
    const results: number[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const a = tf.tensor([1, 5, 3, -2], [4], 'int32');
      const b = tf.tensor([2, 5, 1, -3], [4], 'int32');
      const outs = [tf.greater(a, b), tf.minimum(a, b)];
      for (const o of outs) results.push(Array.from(await o.data()));
      [a, b, ...outs].forEach((t) => t.dispose());
    }
    expect(results.slice(2)).toEqual(results.slice(0, 2));
  });

  it('FusedBatchNorm with per-channel and scalar parameters', async () => {
    for (const [xShape, c] of [
      [[4, 5, 6, 8], 8],
      [[3, 7, 5], 5],
      [[10, 3], 3],
    ] as const) {
      for (const paramSize of [c, 1]) {
        const param = (positive = false) =>
          [Float32Array.from({ length: paramSize }, () => (positive ? 0.5 + rand() : rand() * 2 - 1)), [paramSize]] as [
            Float32Array,
            number[],
          ];
        const x: [Float32Array, number[]] = [Float32Array.from({ length: size([...xShape]) }, () => 3 + rand() * 2), [...xShape]];
        await compareWithCpu(
          'FusedBatchNorm',
          { x, mean: param(), variance: param(true), offset: param(), scale: param() },
          { varianceEpsilon: 1e-3 },
          `bn ${xShape} params ${paramSize}`,
        );
        await compareWithCpu(
          'FusedBatchNorm',
          { x, mean: param(), variance: param(true) },
          { varianceEpsilon: 1e-3 },
          `bn ${xShape} no scale/offset`,
        );
      }
    }
  });
});

describe('arithmetic with a row-broadcast operand on wasm equals cpu', () => {
  const pairs: Array<[number[], number[]]> = [
    [[4, 5, 6, 8], [8]],
    [
      [1, 1, 1, 8],
      [4, 5, 6, 8],
    ],
    [
      [2, 3, 5],
      [3, 5],
    ],
    [[2, 3, 5], [5]],
    [
      [1, 7],
      [3, 7],
    ],
    [
      [4, 5, 6, 8],
      [4, 5, 6, 8],
    ], // equal shapes, scalars, middle axes: stock kernel
    [[], [4, 5, 6, 8]],
    [
      [3, 1, 5],
      [3, 4, 5],
    ],
  ];
  for (const name of ['Add', 'Sub', 'Multiply', 'RealDiv']) {
    it(name, async () => {
      for (const [sa, sb] of pairs) {
        for (const [aShape, bShape] of [
          [sa, sb],
          [sb, sa],
        ]) {
          const values = (n: number) => Float32Array.from({ length: n }, (_, i) => (i === 1 ? NaN : i === 2 ? 0 : rand() * 4 - 2));
          const inputs = {
            a: [values(size(aShape)), aShape] as [Float32Array, number[]],
            b: [values(size(bShape)), bShape] as [Float32Array, number[]],
          };
          const expected = await runKernel('cpu', name, inputs, {});
          for (const simd of [true, false]) {
            setSimdKernelsEnabled(simd);
            const actual = await runKernel('wasm', name, inputs, {});
            expect(actual.shape, `${name} ${aShape} ${bShape}`).toEqual(expected.shape);
            expect(Array.from(actual.values), `${name} ${aShape} ${bShape} simd=${simd}`).toEqual(Array.from(expected.values));
          }
          setSimdKernelsEnabled(true);
        }
      }
    });
  }
});

describe('Identity and same-dtype Cast on wasm alias their input', () => {
  it('share memory, survive the original being disposed, and free it with the last reference', async () => {
    await tf.setBackend('wasm');
    const b = tf.backend() as { numDataIds(): number };
    const ids = b.numDataIds();
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const x = tf.tensor([1, 0, 3, 4], [2, 2], dtype);
      const copies = [tf.clone(x), tf.cast(x, dtype)];
      expect(b.numDataIds(), dtype).toBe(ids + 1);
      x.dispose();
      for (const c of copies) {
        expect(c.dtype).toBe(dtype);
        expect(Array.from(await c.data()), dtype).toEqual(dtype === 'bool' ? [1, 0, 1, 1] : [1, 0, 3, 4]);
      }
      copies.forEach((c) => c.dispose());
      expect(b.numDataIds(), `${dtype} freed`).toBe(ids);
    }
    // A real conversion still converts.
    const f = tf.tensor([1.7, -2.2, 0], [3]);
    const i = tf.cast(f, 'int32');
    expect(Array.from(await i.data())).toEqual([1, -2, 0]);
    tf.dispose([f, i]);
    expect(b.numDataIds()).toBe(ids);
    await tf.setBackend('cpu');
  });
});

describe('batch norm and Mean gradients on wasm equal cpu', () => {
  /** Gradients of sum(f(inputs) * w) with respect to every input, on one backend. */
  async function gradsOn(
    backend: 'cpu' | 'wasm',
    f: (...xs: tf.Tensor[]) => tf.Tensor,
    inputs: Array<[Float32Array, number[]]>,
    weights: Float32Array,
  ): Promise<Array<{ values: Float32Array; shape: number[] }>> {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const xs = inputs.map(([v, s]) => tf.tensor(v, s));
    const w = tf.tensor(weights);
    const g = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(tf.reshape(f(...args), [-1]), w)));
    const out = g(xs);
    const result = await Promise.all(out.map(async (t) => ({ values: (await t.data()) as Float32Array, shape: t.shape })));
    tf.dispose([...xs, w, ...out]);
    expect(tf.memory().numTensors, `${backend} leaked tensors`).toBe(before);
    return result;
  }

  it('FusedBatchNorm with independent mean, variance, offset and scale (every input gets its gradient)', async () => {
    for (const xShape of [
      [4, 5, 6, 8],
      [3, 7, 5],
      [6, 3],
      [2, 3, 3, 12],
    ]) {
      const c = xShape[xShape.length - 1];
      const param = (positive = false): [Float32Array, number[]] => [
        Float32Array.from({ length: c }, () => (positive ? 0.5 + rand() : rand() * 2 - 1)),
        [c],
      ];
      const inputs: Array<[Float32Array, number[]]> = [[randomData(size(xShape)), xShape], param(), param(true), param(), param()];
      const weights = randomData(size(xShape));
      const bn = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
        tf.batchNorm(x, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3);
      const expected = await gradsOn('cpu', bn as (...xs: tf.Tensor[]) => tf.Tensor, inputs, weights);
      for (const simd of [true, false]) {
        setSimdKernelsEnabled(simd);
        const actual = await gradsOn('wasm', bn as (...xs: tf.Tensor[]) => tf.Tensor, inputs, weights);
        ['x', 'mean', 'variance', 'offset', 'scale'].forEach((name, i) =>
          expectClose(actual[i], expected[i], `bn grad ${name} ${xShape} simd=${simd}`, 1e-4),
        );
      }
      setSimdKernelsEnabled(true);
    }
  });

  it('batch norm in training (mean and variance from moments, as tf.layers does)', async () => {
    // (TF.js cannot record batchNorm without a scale on a gradient tape at all: its gradient
    // config saves 'scale' and the engine clones undefined. tf.layers always passes gamma.)
    for (const xShape of [
      [8, 6, 6, 16],
      [5, 4, 4, 3],
    ]) {
      const c = xShape[xShape.length - 1];
      const inputs: Array<[Float32Array, number[]]> = [
        [Float32Array.from({ length: size(xShape) }, () => 2 + rand() * 3), xShape],
        [randomData(c), [c]],
        [randomData(c), [c]],
      ];
      const weights = randomData(size(xShape));
      const train = (x: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => {
        const { mean, variance } = tf.moments(
          x,
          xShape.slice(0, -1).map((_, i) => i),
        );
        return tf.batchNorm(x, mean as tf.Tensor1D, variance as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3);
      };
      const expected = await gradsOn('cpu', train as (...xs: tf.Tensor[]) => tf.Tensor, inputs, weights);
      const actual = await gradsOn('wasm', train as (...xs: tf.Tensor[]) => tf.Tensor, inputs, weights);
      ['x', 'offset', 'scale'].forEach((name, i) => expectClose(actual[i], expected[i], `moments+bn d${name} ${xShape}`, 1e-3));
    }
  });

  it('Mean over every kind of axis set, with and without keepDims', async () => {
    for (const [shape, axis] of [
      [
        [4, 5, 6],
        [0, 1],
      ],
      [[4, 5, 6], [1]],
      [
        [4, 5, 6],
        [0, 2],
      ],
      [[4, 5, 6], null],
      [[7, 3], [1]],
      [
        [2, 3, 4, 5],
        [0, 1, 2],
      ],
    ] as Array<[number[], number[] | null]>) {
      for (const keepDims of [false, true]) {
        const inputs: Array<[Float32Array, number[]]> = [[randomData(size(shape)), shape]];
        const outSize = axis === null ? 1 : size(shape.filter((_, i) => !axis.includes(i)));
        const weights = randomData(outSize);
        const f = (x: tf.Tensor) => tf.mean(x, axis ?? undefined, keepDims);
        const expected = await gradsOn('cpu', f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, weights);
        const actual = await gradsOn('wasm', f as (...xs: tf.Tensor[]) => tf.Tensor, inputs, weights);
        expectClose(actual[0], expected[0], `mean grad ${shape} axis ${axis} keepDims ${keepDims}`, 1e-6);
      }
    }
  });

  it('other backends keep the stock gradients', async () => {
    // The replacements are registered for every backend (gradients are per kernel name): on the
    // CPU backend the fused kernel must never run.
    await tf.setBackend('cpu');
    const x = tf.randomNormal([2, 3, 4]);
    const scale = tf.tensor1d([1, 2, 3, 4]);
    const offset = tf.zeros([4]) as tf.Tensor1D;
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.batchNorm(t, tf.zeros([4]) as tf.Tensor1D, tf.ones([4]) as tf.Tensor1D, offset, scale)))(
      x,
    );
    expect(dx.shape).toEqual([2, 3, 4]);
    // d/dx sum(scale * (x - 0) / sqrt(1 + eps)) = scale / sqrt(1.001) on every row.
    const expected = [1, 2, 3, 4].map((s) => s / Math.sqrt(1.001));
    const values = Array.from(await dx.data());
    values.forEach((v, i) => expect(v).toBeCloseTo(expected[i % 4], 5));
    tf.dispose([x, dx, scale, offset]);
  });
});
