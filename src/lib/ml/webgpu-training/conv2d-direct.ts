// Conv2D and FusedConv2D forward for inputs with few channels (the stems of the app's models:
// 1 channel for digits, 3 for RGB), NHWC float32, on TF.js's WebGPU backend.
//
// The stock kernel runs these as an implicit GEMM (Conv2DMMProgram) whose inner dimension is
// kh*kw*inChannels = 9 or 27, padded to 32-wide tiles staged in workgroup memory behind
// barriers, with im2col index arithmetic per element: most of the tile work is padding. Here
// each invocation computes 4 adjacent output pixels x 4 output channels directly: per tap and
// input channel it loads one filter vec4 and reuses it for the 4 pixels. No workgroup memory.
// Bias (per channel) and linear/relu/relu6 activations are fused like the stock kernel's.
import * as tf from '@tensorflow/tfjs';
import { flatProgram, vecType, type KernelArgs, type WebGpuKernelFunc } from './program';

/** Inputs with more channels than this stay on the stock (tiled GEMM) kernel. */
export const DIRECT_CONV_MAX_IN_CHANNELS = 4;
/** Adjacent output pixels (along the width) per invocation. */
const PIXELS = 4;

const ACTIVATIONS = {
  linear: '',
  relu: 'acc = select(acc, zero, acc < zero);', // as the stock kernel: NaN stays NaN
  relu6: 'acc = clamp(acc, zero, zero + 6.0);',
} as const;
type Activation = keyof typeof ACTIVATIONS;

function directConvProgram(convInfo: tf.backend_util.Conv2DInfo, hasBias: boolean, activation: Activation) {
  const coBlock = convInfo.outChannels % 4 === 0 ? 4 : 1;
  const t = vecType(coBlock);
  const pixels = Array.from({ length: PIXELS }, (_, p) => p);
  const body = `
    fn main(index : i32) {
      let coBlocks = uniforms.outChannels / ${coBlock};
      let pixelBlocks = (uniforms.outWidth + ${PIXELS - 1}) / ${PIXELS};
      if (index >= uniforms.batch * uniforms.outHeight * pixelBlocks * coBlocks) { return; }
      let cob = index % coBlocks;
      var rest = index / coBlocks;
      let ox0 = (rest % pixelBlocks) * ${PIXELS};
      rest = rest / pixelBlocks;
      let oy = rest % uniforms.outHeight;
      let n = rest / uniforms.outHeight;
      ${pixels.map((p) => `var acc${p} = ${t}(0.0);`).join('\n      ')}
      for (var kh = 0; kh < uniforms.filterHeight; kh++) {
        let xr = oy * uniforms.strides.x - uniforms.pads.x + kh * uniforms.dilations.x;
        if (xr < 0 || xr >= uniforms.inHeight) { continue; }
        let rowBase = (n * uniforms.inHeight + xr) * uniforms.inWidth;
        for (var kw = 0; kw < uniforms.filterWidth; kw++) {
          let xc0 = ox0 * uniforms.strides.y - uniforms.pads.y + kw * uniforms.dilations.y;
          let wBase = (kh * uniforms.filterWidth + kw) * uniforms.inChannels;
          for (var ci = 0; ci < uniforms.inChannels; ci++) {
            let w = W[(wBase + ci) * coBlocks + cob];
            ${pixels
              .map(
                (p) => `{
              let xc = xc0 + ${p} * uniforms.strides.y;
              if (xc >= 0 && xc < uniforms.inWidth) {
                acc${p} = fma(${t}(x[(rowBase + xc) * uniforms.inChannels + ci]), w, acc${p});
              }
            }`,
              )
              .join('\n            ')}
          }
        }
      }
      let zero = ${t}(0.0);
      ${hasBias ? `let biasValue = bias[cob];` : ''}
      ${pixels
        .map(
          (p) => `if (ox0 + ${p} < uniforms.outWidth) {
        var acc = acc${p};
        ${hasBias ? 'acc = acc + biasValue;' : ''}
        ${ACTIVATIONS[activation]}
        result[((n * uniforms.outHeight + oy) * uniforms.outWidth + ox0 + ${p}) * coBlocks + cob] = acc;
      }`,
        )
        .join('\n      ')}
    }
  `;
  const threads = convInfo.batchSize * convInfo.outHeight * Math.ceil(convInfo.outWidth / PIXELS) * (convInfo.outChannels / coBlock);
  return flatProgram({
    shaderKey: `trainyardConv2DDirect_${coBlock}_${hasBias}_${activation}`,
    outputShape: convInfo.outShape,
    variableNames: hasBias ? ['x', 'W', 'bias'] : ['x', 'W'],
    variableComponents: hasBias ? [1, coBlock, coBlock] : [1, coBlock],
    outputComponent: coBlock,
    threads,
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, dilations : vec2<i32>, batch : i32, inHeight : i32, inWidth : i32, inChannels : i32, outHeight : i32, outWidth : i32, outChannels : i32, filterHeight : i32, filterWidth : i32,',
    body,
  });
}

type ConvAttrs = tf.FusedConv2DAttrs;

/** Conv2D ('fused' false) or FusedConv2D: the direct program where it applies, else the stock kernel. */
export function directConv2d(args: KernelArgs, stock: WebGpuKernelFunc, fused: boolean): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, filter, bias, preluActivationWeights } = inputs;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as ConvAttrs;
  const activation = (fused ? ((attrs as unknown as ConvAttrs).activation ?? 'linear') : 'linear') as string;
  const supported =
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    (dataFormat ?? 'NHWC') === 'NHWC' &&
    x.shape.length === 4 &&
    x.shape[3] <= DIRECT_CONV_MAX_IN_CHANNELS &&
    activation in ACTIVATIONS &&
    preluActivationWeights == null &&
    (bias == null || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]));
  if (!supported) return stock(args);
  const convInfo = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (tf.util.sizeFromShape(convInfo.outShape) === 0) return stock(args);
  const program = directConvProgram(convInfo, bias != null, activation as Activation);
  const ints = (...values: number[]) => values.map((v) => ({ type: 'int32' as const, data: [v] }));
  return backend.runWebGPUProgram(program, bias != null ? [x, filter, bias] : [x, filter], 'float32', [
    { type: 'int32', data: [convInfo.padInfo.top, convInfo.padInfo.left] },
    { type: 'int32', data: [convInfo.strideHeight, convInfo.strideWidth] },
    { type: 'int32', data: [convInfo.dilationHeight, convInfo.dilationWidth] },
    ...ints(
      convInfo.batchSize,
      convInfo.inHeight,
      convInfo.inWidth,
      convInfo.inChannels,
      convInfo.outHeight,
      convInfo.outWidth,
      convInfo.outChannels,
      convInfo.filterHeight,
      convInfo.filterWidth,
    ),
  ]);
}
