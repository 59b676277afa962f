// DepthwiseConv2dNativeBackpropInput for TF.js's WebGPU backend, NHWC float32, channel
// multiplier 1 (MobileNet's depthwise layers).
//
// dx[n, y, x, c] = sum over taps (kh, kw) with y + pt - kh = oy*sh and x + pl - kw = ox*sw
//                  (0 <= oy < OH, 0 <= ox < OW) of dy[n, oy, ox, c] * w[kh, kw, c, 0]
//
// The stock program computes one scalar per invocation, decoding its coordinates with divisions
// and testing every tap with float divisions and fract(). Here an invocation computes 4
// adjacent channels from vec4 loads of dy and of the filter, with integer tap tests.
import * as tf from '@tensorflow/tfjs';
import { flatProgram, vecType, type KernelArgs, type WebGpuKernelFunc } from './program';

function depthwiseInputGradProgram(convInfo: tf.backend_util.Conv2DInfo) {
  const c = convInfo.inChannels % 4 === 0 ? 4 : 1;
  const body = `
    fn main(index : i32) {
      let blocks = uniforms.channels / ${c};
      if (index >= uniforms.batch * uniforms.inHeight * uniforms.inWidth * blocks) { return; }
      let cb = index % blocks;
      let pixel = index / blocks;
      let x = pixel % uniforms.inWidth;
      let rest = pixel / uniforms.inWidth;
      let y = rest % uniforms.inHeight;
      let n = rest / uniforms.inHeight;
      var acc = ${vecType(c)}(0.0);
      for (var kh = 0; kh < uniforms.filterHeight; kh++) {
        let ty = y + uniforms.pads.x - kh;
        if (ty < 0 || ty % uniforms.strides.x != 0) { continue; }
        let oy = ty / uniforms.strides.x;
        if (oy >= uniforms.outHeight) { continue; }
        let dyRow = (n * uniforms.outHeight + oy) * uniforms.outWidth;
        for (var kw = 0; kw < uniforms.filterWidth; kw++) {
          let tx = x + uniforms.pads.y - kw;
          if (tx < 0 || tx % uniforms.strides.y != 0) { continue; }
          let ox = tx / uniforms.strides.y;
          if (ox >= uniforms.outWidth) { continue; }
          acc = fma(dy[(dyRow + ox) * blocks + cb], W[(kh * uniforms.filterWidth + kw) * blocks + cb], acc);
        }
      }
      result[index] = acc;
    }
  `;
  return flatProgram({
    shaderKey: `trainyardDepthwiseBackpropInput_${c}`,
    outputShape: convInfo.inShape,
    variableNames: ['dy', 'W'],
    variableComponents: [c, c],
    outputComponent: c,
    threads: tf.util.sizeFromShape(convInfo.inShape) / c,
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, batch : i32, inHeight : i32, inWidth : i32, channels : i32, outHeight : i32, outWidth : i32, filterHeight : i32, filterWidth : i32,',
    body,
  });
}

export function depthwiseConv2dNativeBackpropInput(args: KernelArgs, stock: WebGpuKernelFunc): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  // Dilations > 1: TF.js's gradients never ask for them and its kernels ignore them (as for the filter gradient).
  const dilated = tf.backend_util.tupleValuesAreOne(dilations ?? 1) === false;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || filter.shape[3] !== 1 || dilated) return stock(args);
  const convInfo = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  if (tf.util.sizeFromShape(convInfo.inShape) === 0) return stock(args);
  const ints = (...values: number[]) => values.map((v) => ({ type: 'int32' as const, data: [v] }));
  return backend.runWebGPUProgram(depthwiseInputGradProgram(convInfo), [dy, filter], 'float32', [
    { type: 'int32', data: [convInfo.padInfo.top, convInfo.padInfo.left] },
    { type: 'int32', data: [convInfo.strideHeight, convInfo.strideWidth] },
    ...ints(
      convInfo.batchSize,
      convInfo.inHeight,
      convInfo.inWidth,
      convInfo.inChannels,
      convInfo.outHeight,
      convInfo.outWidth,
      convInfo.filterHeight,
      convInfo.filterWidth,
    ),
  ]);
}
