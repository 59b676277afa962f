// Depthwise-convolution gradients for the WASM backend (missing from tfjs-backend-wasm 4.22).
// - Input gradient: for stride 1 and channel multiplier 1 (MobileNet's case) a forward XNNPACK
//   depthwise convolution of dy with the flipped filter; otherwise a direct loop over the heap
//   (WebAssembly SIMD, 4 channels at a time when the multiplier is 1 and channels % 4 == 0).
// - Filter gradient: a direct loop over the heap, channels innermost (contiguous in NHWC),
//   summed per output row in float32 and accumulated in float64.
// The JS loops below are the fallbacks where the WebAssembly module is unavailable.
// Unlike TF.js's CPU kernels these honour dilations (TF.js autodiff never asks for them, but
// the kernels can be called directly).
import * as tf from '@tensorflow/tfjs';
import { addr, alloc, callWasm, free, heapF32, requireF32, simdKernels, type KernelArgs, type WasmBackendLike } from './heap';
import { convGeometry, flippedConvPadding, type ConvGeometry } from './geometry';

type TensorInfo = tf.TensorInfo;

/** dW[kh, kw, c, m] = sum over b, oh, ow of x[b, ih, iw, c] * dy[b, oh, ow, c*mult + m]. */
export function depthwiseFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeometry, dw: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const mult = outC / inC;
  const acc = new Float64Array(kH * kW * outC);
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const wBase = (kh * kW + kw) * outC;
      const off = kw * dilationW - padLeft;
      const owLo = Math.min(outW, Math.max(0, Math.ceil(-off / strideW)));
      const owHi = Math.max(owLo, Math.min(outW, Math.ceil((inW - off) / strideW)));
      if (owHi <= owLo) continue;
      // One float64 accumulator per tap (outC values, stays in L1).
      const row = new Float64Array(outC);
      for (let b = 0; b < batch; b++) {
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH + kh * dilationH - padTop;
          if (ih < 0 || ih >= inH) continue;
          let xo = ((b * inH + ih) * inW + owLo * strideW + off) * inC;
          let yo = ((b * outH + oh) * outW + owLo) * outC;
          const xStep = strideW * inC;
          if (mult === 1) {
            for (let ow = owLo; ow < owHi; ow++, xo += xStep, yo += outC) {
              for (let c = 0; c < inC; c++) row[c] += x[xo + c] * dy[yo + c];
            }
          } else {
            for (let ow = owLo; ow < owHi; ow++, xo += xStep, yo += outC) {
              for (let c = 0; c < inC; c++) {
                const xv = x[xo + c];
                const o = c * mult;
                for (let m = 0; m < mult; m++) row[o + m] += xv * dy[yo + o + m];
              }
            }
          }
        }
      }
      for (let i = 0; i < outC; i++) acc[wBase + i] = row[i];
    }
  }
  dw.set(acc);
}

/** dx[b, ih, iw, c] = sum over taps and m of dy[b, oh, ow, c*mult + m] * w[kh, kw, c, m]. */
export function depthwiseInputGrad(dy: Float32Array, w: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const { batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const mult = outC / inC;
  dx.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let kh = 0; kh < kH; kh++) {
        const ih = oh * strideH + kh * dilationH - padTop;
        if (ih < 0 || ih >= inH) continue;
        for (let kw = 0; kw < kW; kw++) {
          const wo = (kh * kW + kw) * outC;
          const off = kw * dilationW - padLeft;
          const owLo = Math.min(outW, Math.max(0, Math.ceil(-off / strideW)));
          const owHi = Math.max(owLo, Math.min(outW, Math.ceil((inW - off) / strideW)));
          let xo = ((b * inH + ih) * inW + owLo * strideW + off) * inC;
          let yo = ((b * outH + oh) * outW + owLo) * outC;
          const xStep = strideW * inC;
          if (mult === 1) {
            for (let ow = owLo; ow < owHi; ow++, xo += xStep, yo += outC) {
              for (let c = 0; c < inC; c++) dx[xo + c] += dy[yo + c] * w[wo + c];
            }
          } else {
            for (let ow = owLo; ow < owHi; ow++, xo += xStep, yo += outC) {
              for (let c = 0; c < inC; c++) {
                const o = c * mult;
                let s = 0;
                for (let m = 0; m < mult; m++) s += dy[yo + o + m] * w[wo + o + m];
                dx[xo + c] += s;
              }
            }
          }
        }
      }
    }
  }
}

function flipSpatial(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [kH, kW, c, m] = filter.shape;
  const out = alloc(backend, filter.shape.slice());
  const w = heapF32(backend, filter);
  const f = heapF32(backend, out);
  const n = c * m;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      f.set(w.subarray((kh * kW + kw) * n, (kh * kW + kw + 1) * n), ((kH - 1 - kh) * kW + (kW - 1 - kw)) * n);
    }
  }
  return out;
}

export function depthwiseConv2dNativeBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const { x, dy } = inputs;
  requireF32('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const g = convGeometry(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  const out = alloc(backend, filterShape.slice());
  const k = simdKernels(backend);
  if (k) {
    const n = g.kH * g.kW * g.outC;
    const acc = alloc(backend, [2 * n]); // float64 accumulators
    const row = alloc(backend, [n]);
    const mult = g.outC / g.inC;
    k.dwFilterGrad(
      addr(backend, x),
      addr(backend, dy),
      addr(backend, out),
      addr(backend, acc),
      addr(backend, row),
      g.batch,
      g.inH,
      g.inW,
      g.inC,
      mult,
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
      mult === 1 && g.inC % 4 === 0 ? 1 : 0,
    );
    free(backend, acc);
    free(backend, row);
    return out;
  }
  depthwiseFilterGrad(heapF32(backend, x), heapF32(backend, dy), g, heapF32(backend, out));
  return out;
}

export function depthwiseConv2dNativeBackpropInput({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const { dy, filter } = inputs;
  requireF32('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const g = convGeometry(inputShape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
  const pads = g.outC === g.inC ? flippedConvPadding(g) : null;
  if (pads) {
    const flipped = flipSpatial(backend, filter);
    const out = callWasm(
      'DepthwiseConv2dNative',
      backend,
      { x: dy, filter: flipped },
      {
        strides: [1, 1],
        pad: pads,
        dilations: [g.dilationH, g.dilationW],
        dimRoundingMode: undefined,
      },
    );
    free(backend, flipped);
    return out;
  }
  const out = alloc(backend, inputShape.slice());
  const k = simdKernels(backend);
  if (k) {
    const mult = g.outC / g.inC;
    k.dwInputGrad(
      addr(backend, dy),
      addr(backend, filter),
      addr(backend, out),
      g.batch,
      g.inH,
      g.inW,
      g.inC,
      mult,
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
      mult === 1 && g.inC % 4 === 0 ? 1 : 0,
    );
    return out;
  }
  depthwiseInputGrad(heapF32(backend, dy), heapF32(backend, filter), g, heapF32(backend, out));
  return out;
}
