// Conv2DBackpropFilter for TF.js's WebGPU backend, NHWC float32.
//
// dW[kh, kw, ci, co] = sum over m = (n, oy, ox) of x[n, oy*sh - pt + kh, ox*sw - pl + kw, ci] * dy[m, co]
//
// The stock program (Conv2DDerFilterProgram) gives each filter element one invocation that walks
// all N*OH*OW output pixels alone: a 3x3x1x16 filter is 144 invocations each summing 50,176
// products, and every product costs two scalar loads with full 4D index arithmetic. That
// leaves a GPU almost idle and is the costliest kernel of a training step on SwiftShader too.
//
// Here the reduction is split (split-K): invocation (s, tap, ci-block, co-block) sums the pixels
// of chunk s for a 4 (ci) x 4 (co) block of the filter gradient, reading x and dy as vec4 (one
// vec4 of each feeds 16 multiply-adds), walking its chunk's pixels with incremental counters
// instead of divisions. A second pass adds the chunks' partial sums. No workgroup memory and no
// barriers: neighbouring invocations read the same x/dy vectors, which caches serve, and
// SwiftShader (where barriers are expensive) runs it as straight-line SIMD code.
import * as tf from '@tensorflow/tfjs';
import {
  flatProgram,
  lane,
  splitRows,
  sumChunksProgram,
  vecType,
  type KernelArgs,
  type WebGpuBackendLike,
  type WebGpuKernelFunc,
} from './program';

/** Invocations to aim for across all chunks (enough to fill a large GPU, a few per SwiftShader lane). */
const TARGET_INVOCATIONS = 1 << 16;
/** Fewest output pixels per chunk: below this, the partial sums cost more than they save. */
const MIN_CHUNK = 32;

export interface FilterGradPlan {
  /** Channels per invocation along ci and co (4 when that channel count is a multiple of 4). */
  ciBlock: 1 | 4;
  coBlock: 1 | 4;
  /** Invocations per chunk: taps x ci blocks x co blocks. */
  perChunk: number;
  /** Chunks the N*OH*OW pixels are split into, and pixels per chunk. */
  chunks: number;
  chunkSize: number;
}

export function planFilterGrad(convInfo: tf.backend_util.Conv2DInfo): FilterGradPlan {
  const { inChannels, outChannels, filterHeight, filterWidth, batchSize, outHeight, outWidth } = convInfo;
  const ciBlock = inChannels % 4 === 0 ? 4 : 1;
  const coBlock = outChannels % 4 === 0 ? 4 : 1;
  const perChunk = filterHeight * filterWidth * (inChannels / ciBlock) * (outChannels / coBlock);
  const pixels = batchSize * outHeight * outWidth;
  return { ciBlock, coBlock, perChunk, ...splitRows(pixels, perChunk, TARGET_INVOCATIONS, MIN_CHUNK) };
}

/** Pass 1: partial sums [chunks, kh*kw*ci*co] (or the gradient itself when there is one chunk). */
function partialSumsProgram(convInfo: tf.backend_util.Conv2DInfo, plan: FilterGradPlan, outputShape: number[]) {
  const { ciBlock, coBlock } = plan;
  const dyType = vecType(coBlock);
  // 1x1, stride 1, no padding (pointwise convolutions): every tap is inside the image.
  const pointwise =
    convInfo.filterHeight === 1 &&
    convInfo.filterWidth === 1 &&
    convInfo.strideHeight === 1 &&
    convInfo.strideWidth === 1 &&
    convInfo.padInfo.top === 0 &&
    convInfo.padInfo.left === 0;
  const accumulate = Array.from({ length: ciBlock }, (_, j) => `acc${j} = fma(${dyType}(${lane('xv', ciBlock, j)}), d, acc${j});`).join(
    '\n          ',
  );
  const body = `
    fn main(index : i32) {
      let s = index / uniforms.perChunk;
      if (s >= uniforms.chunks) { return; }
      let t = index - s * uniforms.perChunk;
      let coBlocks = uniforms.outChannels / ${coBlock};
      let ciBlocks = uniforms.inChannels / ${ciBlock};
      let cob = t % coBlocks;
      let rest = t / coBlocks;
      let cib = rest % ciBlocks;
      let tap = rest / ciBlocks;
      let kh = tap / uniforms.filterWidth;
      let kw = tap - kh * uniforms.filterWidth;
      let mStart = s * uniforms.chunkSize;
      let mEnd = min(uniforms.pixels, mStart + uniforms.chunkSize);
      var ox = mStart % uniforms.outWidth;
      var oy = (mStart / uniforms.outWidth) % uniforms.outHeight;
      var n = mStart / (uniforms.outWidth * uniforms.outHeight);
      ${Array.from({ length: ciBlock }, (_, j) => `var acc${j} = ${dyType}(0.0);`).join('\n      ')}
      for (var m = mStart; m < mEnd; m++) {
        let xr = oy * uniforms.strides.x - uniforms.pads.x + kh;
        let xc = ox * uniforms.strides.y - uniforms.pads.y + kw;
        ${pointwise ? '' : 'if (xr >= 0 && xr < uniforms.inHeight && xc >= 0 && xc < uniforms.inWidth) {'}
          let d = dy[m * coBlocks + cob];
          let xv = x[((n * uniforms.inHeight + xr) * uniforms.inWidth + xc) * ciBlocks + cib];
          ${accumulate}
        ${pointwise ? '' : '}'}
        ox++;
        if (ox == uniforms.outWidth) {
          ox = 0;
          oy++;
          if (oy == uniforms.outHeight) { oy = 0; n++; }
        }
      }
      // Output element (s, kh, kw, ci, co), stored ${coBlock === 4 ? 'as vec4 over co' : 'as scalars'}.
      let base = (s * uniforms.filterWidth * uniforms.filterHeight + tap) * uniforms.inChannels + cib * ${ciBlock};
      ${Array.from({ length: ciBlock }, (_, j) => `result[(base + ${j}) * coBlocks + cob] = acc${j};`).join('\n      ')}
    }
  `;
  return flatProgram({
    shaderKey: `trainyardConv2DBackpropFilter_${ciBlock}_${coBlock}_${pointwise}`,
    outputShape,
    variableNames: ['x', 'dy'],
    variableComponents: [ciBlock, coBlock],
    outputComponent: coBlock,
    threads: plan.chunks * plan.perChunk,
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, filterWidth : i32, filterHeight : i32, pixels : i32, chunkSize : i32, chunks : i32, perChunk : i32,',
    body,
  });
}

export function conv2DBackpropFilter(args: KernelArgs, stock: WebGpuKernelFunc): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || (dataFormat ?? 'NHWC') !== 'NHWC') return stock(args);
  const convInfo = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return filterGradNHWC(backend, x, dy, convInfo);
}

export function filterGradNHWC(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  convInfo: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const plan = planFilterGrad(convInfo);
  const filterShape = [convInfo.filterHeight, convInfo.filterWidth, convInfo.inChannels, convInfo.outChannels];
  const length = filterShape.reduce((a, b) => a * b, 1);
  const uniforms = [
    { type: 'int32' as const, data: [convInfo.padInfo.top, convInfo.padInfo.left] },
    { type: 'int32' as const, data: [convInfo.strideHeight, convInfo.strideWidth] },
    ...[
      convInfo.inHeight,
      convInfo.inWidth,
      convInfo.inChannels,
      convInfo.outHeight,
      convInfo.outWidth,
      convInfo.outChannels,
      convInfo.filterWidth,
      convInfo.filterHeight,
      convInfo.batchSize * convInfo.outHeight * convInfo.outWidth,
      plan.chunkSize,
      plan.chunks,
      plan.perChunk,
    ].map((v) => ({ type: 'int32' as const, data: [v] })),
  ];
  if (plan.chunks === 1) return backend.runWebGPUProgram(partialSumsProgram(convInfo, plan, filterShape), [x, dy], 'float32', uniforms);
  const partial = backend.runWebGPUProgram(partialSumsProgram(convInfo, plan, [plan.chunks, length]), [x, dy], 'float32', uniforms);
  const sum = sumChunksProgram(plan.chunks, length, filterShape, 1);
  const out = backend.runWebGPUProgram(sum.program, [partial], 'float32', sum.uniforms);
  backend.disposeData(partial.dataId);
  return out;
}
