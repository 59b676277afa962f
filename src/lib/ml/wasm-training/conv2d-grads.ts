// Conv2D gradients for the WASM backend, built on its XNNPACK kernels:
// - Conv2DBackpropFilter (missing from tfjs-backend-wasm 4.22): dW [kh*kw*inC, outC] =
//   colsᵀ · dy over rows = batch x output pixels. Direct (outC % 4 == 0, WebAssembly SIMD):
//   row-major im2col (none for 1x1 convolutions) and the gemmTN kernel, float64 accumulation.
//   Otherwise: im2col in the transposed layout [kh*kw*inC, rows] (WebAssembly, JS fallback) and
//   one XNNPACK GEMM with dy [rows, outC].
// - Conv2DBackpropInput (the stock kernel is a scalar C++ loop): for stride 1 it is a forward
//   XNNPACK convolution of dy with the flipped filter; otherwise a GEMM dy · Wᵀ into columns,
//   then col2im (scatter-add; WebAssembly, JS as fallback).
// NHWC is computed natively; NCHW goes through transposes (filter grad) or the stock kernel.
import * as tf from '@tensorflow/tfjs';
import {
  addr,
  alloc,
  callWasm,
  free,
  heapF32,
  heapF64,
  requireF32,
  scratchLimit,
  simdKernels,
  view,
  type KernelArgs,
  type WasmBackendLike,
  type WasmKernelFunc,
} from './heap';
import type { SimdKernels } from './simd-kernels';
import { convGeometry, flippedConvPadding, type ConvGeometry } from './geometry';

type TensorInfo = tf.TensorInfo;

/** GEMM on the WASM backend: [1, m, k] x [1, k, n], both untransposed, which XNNPACK runs. */
export function gemm(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo, matMul?: WasmKernelFunc): TensorInfo {
  return callWasm('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false }, matMul);
}

/**
 * Transposed im2col of images [n0, n1) of x (NHWC): cols[k][r] with k = (kh*kW + kw)*inC + c
 * and r = ((b - n0)*outH + oh)*outW + ow. Out-of-image taps are zero.
 */
export function im2colTransposed(x: Float32Array, g: ConvGeometry, n0: number, n1: number, cols: Float32Array): void {
  const { inH, inW, inC, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const rows = (n1 - n0) * outH * outW;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const kBase = (kh * kW + kw) * inC;
      // Valid output columns for this tap: 0 <= ow*strideW + kw*dilationW - padLeft < inW.
      const off = kw * dilationW - padLeft;
      const owLo = Math.min(outW, Math.max(0, Math.ceil(-off / strideW)));
      const owHi = Math.max(owLo, Math.min(outW, Math.ceil((inW - off) / strideW)));
      for (let b = n0; b < n1; b++) {
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH + kh * dilationH - padTop;
          const r0 = ((b - n0) * outH + oh) * outW;
          if (ih < 0 || ih >= inH) {
            for (let c = 0; c < inC; c++) cols.fill(0, (kBase + c) * rows + r0, (kBase + c) * rows + r0 + outW);
            continue;
          }
          const rowBase = (b * inH + ih) * inW;
          for (let c = 0; c < inC; c++) {
            const dst = (kBase + c) * rows + r0;
            if (owLo > 0) cols.fill(0, dst, dst + owLo);
            if (owHi < outW) cols.fill(0, dst + owHi, dst + outW);
            let src = (rowBase + owLo * strideW + off) * inC + c;
            const step = strideW * inC;
            for (let ow = owLo; ow < owHi; ow++, src += step) cols[dst + ow] = x[src];
          }
        }
      }
    }
  }
}

function fillColumns(backend: WasmBackendLike, x: TensorInfo, g: ConvGeometry, n0: number, n1: number, cols: TensorInfo): void {
  const k = simdKernels(backend);
  if (k) {
    k.im2colT(
      addr(backend, x),
      addr(backend, cols),
      n0,
      n1,
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
  } else {
    im2colTransposed(heapF32(backend, x), g, n0, n1, heapF32(backend, cols));
  }
}

export type FilterGradPath = 'auto' | 'xnnpack' | 'direct';
let filterGradPath: FilterGradPath = 'auto';

/** Forces one Conv2DBackpropFilter strategy (tests and benchmarks); 'auto' picks per shape. */
export function setFilterGradPath(path: FilterGradPath): void {
  filterGradPath = path;
}

/**
 * The direct strategy (WebAssembly gemmTN over row-major x, or its row-major im2col; no
 * transpose, no packing) beat the XNNPACK one (transposed im2col, then XNNPACK packs dy as GEMM
 * weights at ~2 ns per element, since dy is new every step) on every layer of the app's CNN and
 * MobileNet measured on a 2-core x86 machine (Node 20): 1.2x (1x1, K=512) to 8x (1x1, K=16).
 * XNNPACK remains for outC % 4 != 0.
 */
function useDirect(g: ConvGeometry): boolean {
  if (g.outC % 4 !== 0) return false;
  return filterGradPath !== 'xnnpack';
}

/** A 1x1, stride-1, unpadded convolution: x itself is the (row-major) im2col. */
const isPointwise = (g: ConvGeometry): boolean =>
  g.kH === 1 &&
  g.kW === 1 &&
  g.strideH === 1 &&
  g.strideW === 1 &&
  g.padTop === 0 &&
  g.padLeft === 0 &&
  g.outH === g.inH &&
  g.outW === g.inW;

function conv2dFilterGradDirect(
  backend: WasmBackendLike,
  kernels: SimdKernels,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  filterShape: number[],
): TensorInfo {
  const k = g.kH * g.kW * g.inC;
  const n = g.outC;
  const perImage = g.outH * g.outW;
  const c64 = alloc(backend, [2 * k * n]);
  const tmp = alloc(backend, [32]);
  heapF32(backend, c64).fill(0);
  if (isPointwise(g)) {
    kernels.gemmTN(addr(backend, x), addr(backend, dy), addr(backend, c64), addr(backend, tmp), g.batch * perImage, k, n);
  } else {
    const chunk = Math.max(1, Math.min(g.batch, Math.floor(scratchLimit() / Math.max(1, k * perImage))));
    const cols = alloc(backend, [Math.min(chunk, g.batch) * perImage, k]);
    for (let n0 = 0; n0 < g.batch; n0 += chunk) {
      const n1 = Math.min(g.batch, n0 + chunk);
      kernels.im2col(
        addr(backend, x),
        addr(backend, cols),
        n0,
        n1,
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
        g.inC % 4 === 0 ? 1 : 0,
      );
      kernels.gemmTN(
        addr(backend, cols),
        addr(backend, dy) + n0 * perImage * n * 4,
        addr(backend, c64),
        addr(backend, tmp),
        (n1 - n0) * perImage,
        k,
        n,
      );
    }
    free(backend, cols);
  }
  free(backend, tmp);
  const out = alloc(backend, filterShape.slice());
  heapF32(backend, out).set(heapF64(backend, c64, k * n));
  free(backend, c64);
  return out;
}

/** dW for NHWC x and dy, as a new tensor of filterShape [kH, kW, inC, outC]. */
export function conv2dFilterGradNHWC(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  filterShape: number[],
  matMul?: WasmKernelFunc,
): TensorInfo {
  const k = g.kH * g.kW * g.inC;
  const perImage = g.outH * g.outW;
  if (g.batch * perImage === 0 || k * g.outC === 0) {
    const out = alloc(backend, filterShape.slice());
    heapF32(backend, out).fill(0);
    return out;
  }
  const kernels = simdKernels(backend);
  if (kernels && useDirect(g)) return conv2dFilterGradDirect(backend, kernels, x, dy, g, filterShape);
  const chunk = Math.max(1, Math.min(g.batch, Math.floor(scratchLimit() / Math.max(1, k * perImage))));
  if (chunk >= g.batch) {
    const rows = g.batch * perImage;
    const cols = alloc(backend, [1, k, rows]);
    fillColumns(backend, x, g, 0, g.batch, cols);
    const out = gemm(backend, cols, view(dy, [1, rows, g.outC]), matMul);
    free(backend, cols);
    out.shape = filterShape.slice();
    return out;
  }
  // Large inputs: bounded scratch, images in chunks, partial GEMMs summed in float64.
  const acc = new Float64Array(k * g.outC);
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const n1 = Math.min(g.batch, n0 + chunk);
    const rows = (n1 - n0) * perImage;
    const cols = alloc(backend, [1, k, rows]);
    const dyPart = alloc(backend, [1, rows, g.outC]);
    fillColumns(backend, x, g, n0, n1, cols);
    heapF32(backend, dyPart).set(heapF32(backend, dy).subarray(n0 * perImage * g.outC, n1 * perImage * g.outC));
    const part = gemm(backend, cols, dyPart, matMul);
    free(backend, cols);
    free(backend, dyPart);
    const p = heapF32(backend, part);
    for (let i = 0; i < acc.length; i++) acc[i] += p[i];
    free(backend, part);
  }
  const out = alloc(backend, filterShape.slice());
  heapF32(backend, out).set(acc);
  return out;
}

/** Spatially flipped filter with in/out channels swapped: [kH, kW, inC, outC] -> [kH, kW, outC, inC]. */
function flipFilter(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [kH, kW, inC, outC] = filter.shape;
  const out = alloc(backend, [kH, kW, outC, inC]);
  const w = heapF32(backend, filter);
  const f = heapF32(backend, out);
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const src = (kh * kW + kw) * inC * outC;
      const dst = ((kH - 1 - kh) * kW + (kW - 1 - kw)) * outC * inC;
      for (let ci = 0; ci < inC; ci++) {
        for (let co = 0; co < outC; co++) f[dst + co * inC + ci] = w[src + ci * outC + co];
      }
    }
  }
  return out;
}

/** Scatter-add of columns [rows, kH*kW*inC] for images [n0, n1) into dx (NHWC). */
export function col2imAdd(cols: Float32Array, g: ConvGeometry, n0: number, n1: number, dx: Float32Array): void {
  const { inH, inW, inC, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const k = kH * kW * inC;
  for (let b = n0; b < n1; b++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const r = ((b - n0) * outH + oh) * outW + ow;
        for (let kh = 0; kh < kH; kh++) {
          const ih = oh * strideH + kh * dilationH - padTop;
          if (ih < 0 || ih >= inH) continue;
          for (let kw = 0; kw < kW; kw++) {
            const iw = ow * strideW + kw * dilationW - padLeft;
            if (iw < 0 || iw >= inW) continue;
            const src = r * k + (kh * kW + kw) * inC;
            const dst = ((b * inH + ih) * inW + iw) * inC;
            for (let c = 0; c < inC; c++) dx[dst + c] += cols[src + c];
          }
        }
      }
    }
  }
}

/** dx for NHWC dy and filter [kH, kW, inC, outC], as a new tensor of shape [batch, inH, inW, inC]. */
export function conv2dInputGradNHWC(
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  matMul?: WasmKernelFunc,
): TensorInfo {
  const inShape = [g.batch, g.inH, g.inW, g.inC];
  if (g.batch * g.outH * g.outW * g.outC === 0 || g.inH * g.inW * g.inC === 0) {
    const out = alloc(backend, inShape);
    heapF32(backend, out).fill(0);
    return out;
  }
  const pads = flippedConvPadding(g);
  if (pads) {
    const flipped = flipFilter(backend, filter);
    const out = callWasm(
      'Conv2D',
      backend,
      { x: dy, filter: flipped },
      {
        strides: [1, 1],
        pad: pads,
        dataFormat: 'NHWC',
        dilations: [g.dilationH, g.dilationW],
        dimRoundingMode: undefined,
      },
    );
    free(backend, flipped);
    return out;
  }
  // General strides: cols = dy · Wᵀ (XNNPACK GEMM), then scatter-add the columns.
  const k = g.kH * g.kW * g.inC;
  const perImage = g.outH * g.outW;
  const wT = alloc(backend, [1, g.outC, k]);
  {
    const w = heapF32(backend, filter);
    const t = heapF32(backend, wT);
    for (let i = 0; i < k; i++) for (let o = 0; o < g.outC; o++) t[o * k + i] = w[i * g.outC + o];
  }
  const out = alloc(backend, inShape);
  heapF32(backend, out).fill(0);
  const chunk = Math.max(1, Math.min(g.batch, Math.floor(scratchLimit() / Math.max(1, k * perImage))));
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const n1 = Math.min(g.batch, n0 + chunk);
    const rows = (n1 - n0) * perImage;
    let a: TensorInfo;
    let temp: TensorInfo | null = null;
    if (n0 === 0 && n1 === g.batch) {
      a = view(dy, [1, rows, g.outC]);
    } else {
      temp = alloc(backend, [1, rows, g.outC]);
      heapF32(backend, temp).set(heapF32(backend, dy).subarray(n0 * perImage * g.outC, n1 * perImage * g.outC));
      a = temp;
    }
    const cols = gemm(backend, a, wT, matMul);
    if (temp) free(backend, temp);
    const kernels = simdKernels(backend);
    if (kernels) {
      kernels.col2imAdd(
        addr(backend, cols),
        addr(backend, out),
        n0,
        n1,
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
        g.inC % 4 === 0 ? 1 : 0,
      );
    } else {
      col2imAdd(heapF32(backend, cols), g, n0, n1, heapF32(backend, out));
    }
    free(backend, cols);
  }
  free(backend, wT);
  return out;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return callWasm('Transpose', backend, { x }, { perm });
}

export function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs, matMul?: WasmKernelFunc): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  let { x, dy } = inputs;
  requireF32('Conv2DBackpropFilter', x, dy);
  const nchw = dataFormat === 'NCHW';
  if (nchw) {
    x = transpose(backend, x, NCHW_TO_NHWC);
    dy = transpose(backend, dy, NCHW_TO_NHWC);
  }
  try {
    const g = convGeometry(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false);
    return conv2dFilterGradNHWC(backend, x, dy, g, filterShape, matMul);
  } finally {
    if (nchw) {
      free(backend, x);
      free(backend, dy);
    }
  }
}

export function conv2DBackpropInput(
  { inputs, backend, attrs }: KernelArgs,
  stock: WasmKernelFunc | undefined,
  matMul?: WasmKernelFunc,
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const { dy, filter } = inputs;
  requireF32('Conv2DBackpropInput', dy, filter);
  if (dataFormat === 'NCHW') {
    if (stock) return stock({ inputs, backend, attrs });
    const dyT = transpose(backend, dy, NCHW_TO_NHWC);
    const [n, c, h, w] = inputShape;
    const g = convGeometry([n, h, w, c], filter.shape, strides, 1, pad, dimRoundingMode, false);
    const dxT = conv2dInputGradNHWC(backend, dyT, filter, g, matMul);
    free(backend, dyT);
    const dx = transpose(backend, dxT, NHWC_TO_NCHW);
    free(backend, dxT);
    return dx;
  }
  const g = convGeometry(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false);
  return conv2dInputGradNHWC(backend, dy, filter, g, matMul);
}
