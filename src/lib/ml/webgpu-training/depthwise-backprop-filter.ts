// DepthwiseConv2dNativeBackpropFilter for TF.js's WebGPU backend, NHWC float32, channel
// multiplier 1 (MobileNet's depthwise layers).
//
// dW[kh, kw, c, 0] = sum over m = (n, oy, ox) of x[n, oy*sh - pt + kh*dh, ox*sw - pl + kw*dw, c] * dy[m, c]
//
// The stock program gives each of the kh*kw*C filter elements one invocation that walks all
// N*OH*OW pixels serially: 144 invocations for a 3x3 filter over 16 channels, each summing
// ~74,000 products of a 32x48x48 batch. On a GPU that is a fraction of one percent occupancy
// for the whole kernel. Here the pixels are split into chunks (split-K): invocation (chunk,
// channel block) reads dy once per pixel as a vec4 of 4 channels and multiplies it into every
// tap's accumulator (the taps are unrolled at compile time), then a second pass adds the chunks.
import * as tf from '@tensorflow/tfjs';
import { flatProgram, splitRows, sumChunksProgram, vecType, type KernelArgs, type WebGpuKernelFunc } from './program';

const TARGET_INVOCATIONS = 1 << 16;
const MIN_CHUNK = 32;
/** Larger filters keep the stock kernel (the accumulators are unrolled registers). */
const MAX_TAPS = 25;

function depthwisePartialsProgram(
  convInfo: tf.backend_util.Conv2DInfo,
  plan: { chunks: number; chunkSize: number },
  outputShape: number[],
) {
  const c = convInfo.inChannels % 4 === 0 ? 4 : 1;
  const t = vecType(c);
  const { filterHeight: kH, filterWidth: kW } = convInfo;
  const taps: Array<[number, number]> = [];
  for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) taps.push([kh, kw]);
  const body = `
    fn main(index : i32) {
      let blocks = uniforms.channels / ${c};
      let s = index / blocks;
      if (s >= uniforms.chunks) { return; }
      let cb = index - s * blocks;
      let mStart = s * uniforms.chunkSize;
      let mEnd = min(uniforms.pixels, mStart + uniforms.chunkSize);
      var ox = mStart % uniforms.outWidth;
      var oy = (mStart / uniforms.outWidth) % uniforms.outHeight;
      var n = mStart / (uniforms.outWidth * uniforms.outHeight);
      ${taps.map((_, i) => `var acc${i} = ${t}(0.0);`).join('\n      ')}
      for (var m = mStart; m < mEnd; m++) {
        let d = dy[m * blocks + cb];
        let xr0 = oy * uniforms.strides.x - uniforms.pads.x;
        let xc0 = ox * uniforms.strides.y - uniforms.pads.y;
        let imageBase = n * uniforms.inHeight;
        ${Array.from({ length: kH }, (_, kh) => {
          const row = `xr${kh}`;
          return `{
          let ${row} = xr0 + ${kh} * uniforms.dilations.x;
          if (${row} >= 0 && ${row} < uniforms.inHeight) {
            let rowBase = (imageBase + ${row}) * uniforms.inWidth;
            ${Array.from({ length: kW }, (_, kw) => {
              const i = kh * kW + kw;
              return `{
              let xc = xc0 + ${kw} * uniforms.dilations.y;
              if (xc >= 0 && xc < uniforms.inWidth) { acc${i} = fma(x[(rowBase + xc) * blocks + cb], d, acc${i}); }
            }`;
            }).join('\n            ')}
          }
        }`;
        }).join('\n        ')}
        ox++;
        if (ox == uniforms.outWidth) {
          ox = 0;
          oy++;
          if (oy == uniforms.outHeight) { oy = 0; n++; }
        }
      }
      let base = s * ${taps.length};
      ${taps.map((_, i) => `result[(base + ${i}) * blocks + cb] = acc${i};`).join('\n      ')}
    }
  `;
  return flatProgram({
    shaderKey: `trainyardDepthwiseBackpropFilter_${c}_${kH}x${kW}`,
    outputShape,
    variableNames: ['x', 'dy'],
    variableComponents: [c, c],
    outputComponent: c,
    threads: plan.chunks * (convInfo.inChannels / c),
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, dilations : vec2<i32>, inHeight : i32, inWidth : i32, channels : i32, outHeight : i32, outWidth : i32, pixels : i32, chunkSize : i32, chunks : i32,',
    body,
  });
}

export function depthwiseConv2dNativeBackpropFilter(args: KernelArgs, stock: WebGpuKernelFunc): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  // Dilations > 1: TF.js's gradients never ask for them (depthwiseConv2d's gradient rejects
  // dilated convolutions) and its CPU and WebGPU kernels ignore them; keep that behaviour.
  const dilated = tf.backend_util.tupleValuesAreOne(dilations ?? 1) === false;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || filterShape[3] !== 1 || filterShape[0] * filterShape[1] > MAX_TAPS || dilated)
    return stock(args);
  const convInfo = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const channels = convInfo.inChannels;
  const perChunk = channels % 4 === 0 ? channels / 4 : channels;
  const pixels = convInfo.batchSize * convInfo.outHeight * convInfo.outWidth;
  if (pixels === 0) return stock(args);
  const plan = splitRows(pixels, perChunk, TARGET_INVOCATIONS, MIN_CHUNK);
  const uniforms = [
    { type: 'int32' as const, data: [convInfo.padInfo.top, convInfo.padInfo.left] },
    { type: 'int32' as const, data: [convInfo.strideHeight, convInfo.strideWidth] },
    { type: 'int32' as const, data: [convInfo.dilationHeight, convInfo.dilationWidth] },
    ...[convInfo.inHeight, convInfo.inWidth, channels, convInfo.outHeight, convInfo.outWidth, pixels, plan.chunkSize, plan.chunks].map(
      (v) => ({ type: 'int32' as const, data: [v] }),
    ),
  ];
  const length = tf.util.sizeFromShape(filterShape);
  if (plan.chunks === 1)
    return backend.runWebGPUProgram(depthwisePartialsProgram(convInfo, plan, filterShape), [x, dy], 'float32', uniforms);
  const partial = backend.runWebGPUProgram(depthwisePartialsProgram(convInfo, plan, [plan.chunks, length]), [x, dy], 'float32', uniforms);
  const sum = sumChunksProgram(plan.chunks, length, filterShape, 1);
  const out = backend.runWebGPUProgram(sum.program, [partial], 'float32', sum.uniforms);
  backend.disposeData(partial.dataId);
  return out;
}
